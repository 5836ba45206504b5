"""API for health checks: frameworks, rounds, results and submitting answers by token."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from partnerwell.api.core import Input
from partnerwell.core import access as core_access
from partnerwell.core.guessing import TooManyAttempts
from partnerwell.core.models import User
from partnerwell.healthcheck import access, services
from partnerwell.healthcheck.models import Audience, Framework, Round
from partnerwell.healthcheck.results import round_results
from partnerwell.healthcheck.scoring import SCALES

router = Router(tags=["health checks"])
# Answering by token needs no account: the token is the credential.
token_router = Router(tags=["health checks"])


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


class FrameworkOut(Schema):
    id: int
    key: str
    version: int
    title: str
    source: str
    builtin: bool
    partnership_id: int | None


class StatementOut(Schema):
    key: str
    text: str
    scale: str
    reverse: bool
    answers: list[int] = Field(description="Allowed answers; null means don't know.")


class PrincipleOut(Schema):
    key: str
    title: str
    statements: list[StatementOut]


class AreaOut(Schema):
    key: str
    title: str
    principles: list[PrincipleOut]


class FrameworkDetailOut(FrameworkOut):
    areas: list[AreaOut]


@router.get("/frameworks", response=list[FrameworkOut])
def list_frameworks(request: HttpRequest) -> QuerySet[Framework]:
    """Built-in frameworks and your partnerships' own, every version."""
    return access.visible_frameworks(_user(request)).order_by("title", "-version")


@router.get("/frameworks/{framework_id}", response=FrameworkDetailOut)
def get_framework(request: HttpRequest, framework_id: int) -> dict[str, Any]:
    framework = access.get_framework(_user(request), framework_id)
    areas = []
    for area in framework.areas.prefetch_related("principles__statements"):
        principles = [
            {
                "key": p.key,
                "title": p.title,
                "statements": [
                    {
                        "key": s.key,
                        "text": s.text,
                        "scale": s.scale,
                        "reverse": s.reverse,
                        "answers": list(SCALES[s.scale].answers),
                    }
                    for s in p.statements.all()
                ],
            }
            for p in area.principles.all()
        ]
        areas.append({"key": area.key, "title": area.title, "principles": principles})
    return {**FrameworkOut.from_orm(framework).dict(), "areas": areas}


class RoundOut(Schema):
    id: int
    partnership_id: int
    framework_id: int
    title: str
    audience: str
    status: str
    opens_at: dt.datetime
    closes_at: dt.datetime
    anonymity_floor: int
    invited: int = Field(alias="invited_count")
    sent: int = Field(alias="sent_count")


class RoundIn(Input):
    framework_id: int
    title: str = Field(min_length=1, max_length=200)
    audience: Audience = Audience.ALL
    side: str | None = Field(default=None, description="The side's name, for audience 'side'.")
    member_ids: list[int] = Field(default=[], description="Memberships, for audience 'chosen'.")
    opens_at: dt.datetime | None = None
    closes_at: dt.datetime
    anonymity_floor: int = Field(default=3, ge=3, le=50)
    ask_comments: bool = True
    reminder_days: list[int] = Field(default=[3], description="Days before closing to remind.")


def _aware(moment: dt.datetime) -> dt.datetime:
    """A date and time without a zone is read in the instance's time zone."""
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


@router.get("/partnerships/{partnership_id}/rounds", response=list[RoundOut])
def list_rounds(request: HttpRequest, partnership_id: int) -> QuerySet[Round]:
    partnership = core_access.get_partnership(_user(request), partnership_id)
    return Round.objects.filter(partnership=partnership).order_by("-opens_at")


@router.post("/partnerships/{partnership_id}/rounds", response={201: RoundOut})
def open_round(request: HttpRequest, partnership_id: int, payload: RoundIn) -> Status[Round]:
    """Open a round; invitations are made and emailed by the worker."""
    user = _user(request)
    partnership = core_access.get_partnership(user, partnership_id, manage=True)
    opens_at, closes_at = _aware(payload.opens_at or timezone.now()), _aware(payload.closes_at)
    if closes_at.year >= 2100 or opens_at.year < 2000:
        raise ValidationError({"closes_at": "Choose dates between 2000 and 2099."})
    framework = (
        access.visible_frameworks(user)
        .filter(pk=payload.framework_id)
        .filter(partnership__isnull=True)
        .first()
        or access.visible_frameworks(user)
        .filter(pk=payload.framework_id, partnership=partnership)
        .first()
    )
    if framework is None:
        raise ValidationError({"framework_id": "No framework you can use has that id."})
    side = None
    if payload.side:
        side = partnership.sides.filter(name__iexact=payload.side).first()
        if side is None:
            raise ValidationError({"side": f"“{payload.side}” is not a side of this partnership."})
    plan = services.RoundPlan(
        framework=framework,
        title=payload.title,
        audience=payload.audience,
        opens_at=opens_at,
        closes_at=closes_at,
        anonymity_floor=payload.anonymity_floor,
        ask_comments=payload.ask_comments,
        reminder_days=tuple(d for d in payload.reminder_days if 0 < d < 60),
        side=side,
        chosen=tuple(
            partnership.memberships.filter(pk__in=payload.member_ids).values_list("pk", flat=True)
        ),
    )
    return Status(201, services.round_open(by=user, partnership=partnership, plan=plan))


@router.get("/rounds/{round_id}", response=RoundOut)
def get_round(request: HttpRequest, round_id: int) -> Round:
    return access.get_round(_user(request), round_id)


class SendOut(Schema):
    message: str


class SendIn(Schema):
    reminders: bool = Field(
        default=False, description="True to remind everyone who has not answered yet."
    )


@router.post("/rounds/{round_id}/invitations", response={202: SendOut})
def send_invitations(
    request: HttpRequest, round_id: int, payload: SendIn
) -> Status[dict[str, str]]:
    """Send any invitations not yet sent, or remind those who have not answered."""
    from partnerwell.healthcheck.tasks import send_round_invitations, send_round_reminders

    round = access.get_round(_user(request), round_id, manage=True)
    if not round.is_open:
        raise ValidationError("The round is not open, so nothing can be sent.")
    if payload.reminders:
        send_round_reminders.enqueue(round_id=round.pk)
        return Status(202, {"message": "Reminders are queued for everyone who has not answered."})
    send_round_invitations.enqueue(round_id=round.pk, chosen=[])
    return Status(202, {"message": "Invitations not yet sent are queued."})


# Results ---------------------------------------------------------------------------


class FrameworkRef(Schema):
    key: str
    version: int
    title: str


class RoundSummary(Schema):
    id: int
    title: str
    framework: FrameworkRef
    status: str
    closes_at: dt.datetime
    invited: int
    responded: int = Field(description="How many have answered; while open, the only figure given.")


class Score(Schema):
    score: float | None
    band: Literal["strength", "developing", "concern"] | None


class Answer(Schema):
    answer: int | None = Field(description="The raw answer; null is don't know.")
    label: str
    count: int


class StatementResult(Schema):
    key: str
    text: str
    reverse: bool
    n: int
    dont_know: int
    score: float | None
    spread: float | None = Field(description="Sample standard deviation of the 0–100 scores.")
    agreement: float | None = Field(description="r_wg agreement index × 100 (extra field).")
    disputed: bool
    distribution: list[Answer]


class PrincipleResult(Schema):
    key: str
    title: str
    score: float | None
    band: str | None
    spread: float | None
    agreement: float | None
    disputed: bool
    statements: list[StatementResult]


class AreaResult(Schema):
    key: str
    title: str
    score: float | None
    band: str | None
    principles: list[PrincipleResult]


class GroupPrinciple(Schema):
    key: str
    score: float | None


class GroupResult(Schema):
    by: Literal["side", "sector", "organisation"]
    name: str
    n: int | None = Field(description="Null when the group is suppressed.")
    suppressed: bool
    overall: Score | None
    principles: list[GroupPrinciple]


class GapResult(Schema):
    by: str
    principle: str
    groups: list[str]
    difference: float
    p_value: float | None = Field(
        description="Welch's t-test between the groups' respondents, before Holm's correction."
    )
    beyond_noise: bool = Field(
        description="Always true: only gaps beyond noise after Holm's correction are listed."
    )


class PrincipleChange(Schema):
    key: str
    difference: float | None
    beyond_noise: bool
    p_value: float | None = Field(
        description="Welch's t-test, before Holm's correction (extra field)."
    )


class PreviousRound(Schema):
    id: int
    title: str
    framework_version: int


class Change(Schema):
    previous_round: PreviousRound | None
    principles: list[PrincipleChange]


class AreaComments(Schema):
    area: str
    title: str
    comments: list[str]


class EvidenceItem(Schema):
    principle: str
    indicator: str
    value: float | None = Field(description="0–100 from the records, by the indicator's rule.")
    band: str | None
    flag: Literal["blind_spot", "unsung_strength"] | None


class Results(Schema):
    round: RoundSummary
    anonymity_floor: int
    pending: bool = Field(
        description="True until the round closes: nothing but the number who answered is given."
    )
    suppressed: bool = Field(
        description="True when no scores are given: the round is still open, or fewer than "
        "the floor answered."
    )
    overall: Score
    areas: list[AreaResult]
    groups: list[GroupResult]
    gaps: list[GapResult]
    change: Change
    comments: list[AreaComments]
    evidence: list[EvidenceItem]


@router.get("/rounds/{round_id}/results", response=Results)
def get_results(request: HttpRequest, round_id: int) -> dict[str, Any]:
    """Scores, agreement, groups (small groups suppressed), gaps, change and comments.

    Only once the round has closed: until then, for everyone (managers included),
    the results give the number who have answered and nothing else.
    """
    return round_results(access.get_round(_user(request), round_id))


# Answering by token ----------------------------------------------------------------


class ResponseIn(Schema):
    token: str = Field(min_length=20, max_length=100)
    answers: dict[str, int | None] = Field(
        description="Every statement key of the framework; null for don't know."
    )
    comments: dict[str, str] = Field(default={}, description="Optional, by area key.")


class ResponseOut(Schema):
    message: str


@token_router.post("/responses", response={201: ResponseOut}, auth=None)
def submit_response(request: HttpRequest, payload: ResponseIn) -> Status[dict[str, str]]:
    """Submit a member's answers with their personal token (for in-room or offline collection)."""
    try:
        invitation = access.get_invitation(request, payload.token)
    except TooManyAttempts:
        raise services.TooManyAttemptsError() from None
    try:
        invitation = services.invitation_check(invitation)
    except services.InvitationProblem as problem:
        raise ValidationError({"token": str(problem)}) from None
    services.response_check(
        invitation=invitation, answers=payload.answers, comments=payload.comments
    )
    try:
        services.response_submit(
            invitation=invitation, answers=payload.answers, comments=payload.comments
        )
    except services.InvitationProblem as problem:
        raise ValidationError({"token": str(problem)}) from None
    return Status(201, {"message": "The answers are stored. Thank you."})
