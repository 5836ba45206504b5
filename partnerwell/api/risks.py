"""API for the risk register, the issues log and wins, with the same access rules as the pages.

Members read everything of their partnerships, raise issues and record wins;
managers add and change risks, resolve issues and change wins; a risk's owner
records its reviews and marks it for the next meeting.
"""

import datetime as dt
from typing import Annotated, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import StringConstraints

from partnerwell.api.core import Input, Name, Pagination
from partnerwell.core import access as core_access
from partnerwell.core.models import Partnership, User
from partnerwell.delivery import access
from partnerwell.delivery import risks as services
from partnerwell.delivery.models import (
    Issue,
    IssueStatus,
    Outcome,
    Risk,
    RiskCategory,
    RiskStatus,
    Win,
)

router = Router(tags=["risks, issues and wins"])

Score = Annotated[int, Field(ge=1, le=5)]
Text = Annotated[str, StringConstraints(max_length=10_000)]


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


# Risks -----------------------------------------------------------------------------


class RiskOut(Schema):
    id: int
    partnership_id: int
    title: str
    description: str
    cause: str
    effect: str
    category: RiskCategory
    owner_id: int | None = Field(description="The owner's membership id.")
    owner_name: str | None
    organisation_id: int | None
    likelihood: int
    impact: int
    rating: int
    rating_band: str
    controls: str
    target_likelihood: int
    target_impact: int
    target_rating: int
    above_target: bool
    review_on: dt.date
    review_overdue: bool
    last_reviewed_on: dt.date | None
    status: RiskStatus
    escalate: bool = Field(description="Marked to be brought to the next meeting.")

    @staticmethod
    def resolve_owner_name(obj: Risk) -> str | None:
        return obj.owner.person.name if obj.owner else None

    @staticmethod
    def resolve_rating_band(obj: Risk) -> str:
        return services.rating_band(obj.rating).key

    @staticmethod
    def resolve_above_target(obj: Risk) -> bool:
        return obj.status == RiskStatus.OPEN and obj.rating > obj.target_rating


class RiskIn(Input):
    title: Name
    description: Text = ""
    cause: Text = ""
    effect: Text = ""
    category: RiskCategory = RiskCategory.OTHER
    owner_id: int = Field(description="The membership id of a current member who owns the risk.")
    organisation_id: int | None = Field(
        default=None, description="Leave out to use the owner's organisation."
    )
    likelihood: Score
    impact: Score
    controls: Text = ""
    target_likelihood: Score
    target_impact: Score
    review_on: dt.date = Field(description="When the risk is next due for review.")
    escalate: bool = False


class RiskPatch(Input):
    title: Name | None = None
    description: Text | None = None
    cause: Text | None = None
    effect: Text | None = None
    category: RiskCategory | None = None
    owner_id: int | None = None
    organisation_id: int | None = None
    likelihood: Score | None = None
    impact: Score | None = None
    controls: Text | None = None
    target_likelihood: Score | None = None
    target_impact: Score | None = None
    review_on: dt.date | None = None
    status: RiskStatus | None = None
    escalate: bool | None = Field(
        default=None, description="The risk's owner may change this field alone."
    )


class ReviewIn(Input):
    reviewed_on: dt.date | None = Field(default=None, description="Today if left out.")
    next_review_on: dt.date
    likelihood: Score | None = Field(default=None, description="Leave out if unchanged.")
    impact: Score | None = Field(default=None, description="Leave out if unchanged.")
    controls: Text | None = None


def _risks() -> QuerySet[Risk]:
    return Risk.objects.select_related("owner__person")


def _risk_refs(partnership: Partnership, data: dict[str, Any]) -> dict[str, Any]:
    """Owner and organisation ids turned into objects of this partnership."""
    refs: dict[str, Any] = {}
    if data.get("owner_id") is not None:
        owner = services.owner_choices(partnership).filter(pk=data["owner_id"]).first()
        if owner is None:
            raise ValidationError(
                {"owner_id": "No current member of this partnership has that id."}
            )
        refs["owner"] = owner
    if "organisation_id" in data:
        organisation = None
        if data["organisation_id"] is not None:
            organisations = services.organisation_choices(partnership)
            organisation = organisations.filter(pk=data["organisation_id"]).first()
            if organisation is None:
                raise ValidationError(
                    {"organisation_id": "No organisation on this partnership has that id."}
                )
        refs["organisation"] = organisation
    return refs


@router.get("/partnerships/{partnership_id}/risks", response=list[RiskOut])
@paginate(Pagination)
def list_risks(
    request: HttpRequest, partnership_id: int, status: RiskStatus | None = None
) -> QuerySet[Risk]:
    """The risk register, highest rating first."""
    partnership = core_access.get_partnership(_user(request), partnership_id)
    risks = services.register_risks(partnership).order_by("-rating_value", "review_on", "pk")
    return risks.filter(status=status) if status else risks


@router.post("/partnerships/{partnership_id}/risks", response={201: RiskOut})
def create_risk(request: HttpRequest, partnership_id: int, payload: RiskIn) -> Status[Risk]:
    partnership = core_access.get_partnership(_user(request), partnership_id, manage=True)
    data = payload.dict()
    refs = _risk_refs(partnership, data)
    fields = {k: v for k, v in data.items() if k not in ("owner_id", "organisation_id")}
    risk = services.risk_save(risk=Risk(partnership=partnership, **fields, **refs))
    return Status(201, risk)


@router.get("/risks/{risk_id}", response=RiskOut)
def get_risk(request: HttpRequest, risk_id: int) -> Risk:
    return access.get_risk(_user(request), risk_id)


@router.patch("/risks/{risk_id}", response=RiskOut)
def update_risk(request: HttpRequest, risk_id: int, payload: RiskPatch) -> Risk:
    """Managers change any field; the risk's owner may change only `escalate`."""
    user = _user(request)
    risk = access.get_risk(user, risk_id)
    data = payload.dict(exclude_unset=True)
    if not core_access.can_manage(user, risk.partnership):
        if set(data) - {"escalate"}:
            raise PermissionDenied(
                "Only the partnership's managers and chairs can change a risk; "
                "its owner may only mark it for the next meeting."
            )
        risk = services.get_risk_to_review(user, risk_id)
        if data.get("escalate") is not None:
            services.risk_set_escalation(risk=risk, escalate=data["escalate"])
        return risk
    with transaction.atomic():
        refs = _risk_refs(risk.partnership, data)
        for field, value in data.items():
            if field not in ("owner_id", "organisation_id") and value is not None:
                setattr(risk, field, value)
        for field, value in refs.items():
            setattr(risk, field, value)
        services.risk_save(risk=risk)
    return _risks().get(pk=risk.pk)


@router.post("/risks/{risk_id}/reviews", response={201: RiskOut})
def review_risk(request: HttpRequest, risk_id: int, payload: ReviewIn) -> Status[Risk]:
    """Record a review: the risk's owner or a manager."""
    risk = services.get_risk_to_review(_user(request), risk_id)
    services.risk_review(
        risk=risk,
        reviewed_on=payload.reviewed_on or timezone.localdate(),
        next_review_on=payload.next_review_on,
        likelihood=payload.likelihood,
        impact=payload.impact,
        controls=payload.controls,
    )
    return Status(201, _risks().get(pk=risk.pk))


# Issues ----------------------------------------------------------------------------


class IssueOut(Schema):
    id: int
    partnership_id: int
    title: str
    detail: str
    raised_by_id: int | None = Field(description="The membership id of whoever raised it.")
    raised_by_name: str | None
    raised_on: dt.date
    status: IssueStatus
    resolution: str
    resolved_on: dt.date | None

    @staticmethod
    def resolve_raised_by_name(obj: Issue) -> str | None:
        return obj.raised_by.person.name if obj.raised_by else None


class IssueIn(Input):
    title: Name
    detail: Text = ""
    raised_on: dt.date | None = Field(default=None, description="Today if left out.")


class IssuePatch(Input):
    title: Name | None = None
    detail: Text | None = None
    status: IssueStatus | None = Field(
        default=None, description="'resolved' needs a resolution; 'open' reopens the issue."
    )
    resolution: Text | None = None
    resolved_on: dt.date | None = Field(default=None, description="Today if left out.")


def _issues() -> QuerySet[Issue]:
    return Issue.objects.select_related("raised_by__person")


@router.get("/partnerships/{partnership_id}/issues", response=list[IssueOut])
@paginate(Pagination)
def list_issues(
    request: HttpRequest, partnership_id: int, status: IssueStatus | None = None
) -> QuerySet[Issue]:
    """The issues log, open issues first, oldest first."""
    partnership = core_access.get_partnership(_user(request), partnership_id)
    issues = _issues().filter(partnership=partnership).order_by("status", "raised_on", "pk")
    return issues.filter(status=status) if status else issues


@router.post("/partnerships/{partnership_id}/issues", response={201: IssueOut})
def create_issue(request: HttpRequest, partnership_id: int, payload: IssueIn) -> Status[Issue]:
    """Raise an issue: any member may."""
    user = _user(request)
    partnership = core_access.get_partnership(user, partnership_id)
    issue = services.issue_raise(partnership=partnership, by=user, **payload.dict())
    return Status(201, _issues().get(pk=issue.pk))


@router.get("/issues/{issue_id}", response=IssueOut)
def get_issue(request: HttpRequest, issue_id: int) -> Issue:
    return access.get_issue(_user(request), issue_id)


@router.patch("/issues/{issue_id}", response=IssueOut)
def update_issue(request: HttpRequest, issue_id: int, payload: IssuePatch) -> Issue:
    """Change, resolve or reopen an issue: managers only."""
    issue = access.get_issue(_user(request), issue_id, manage=True)
    data = payload.dict(exclude_unset=True)
    status = data.get("status") or issue.status
    with transaction.atomic():
        for field in ("title", "detail"):
            if data.get(field) is not None:
                setattr(issue, field, data[field])
        services.issue_save(issue=issue)
        if status == IssueStatus.RESOLVED and (
            issue.status == IssueStatus.OPEN or {"resolution", "resolved_on"} & set(data)
        ):
            services.issue_resolve(
                issue=issue,
                resolution=data.get("resolution") or issue.resolution,
                resolved_on=data.get("resolved_on") or issue.resolved_on or timezone.localdate(),
            )
        elif status == IssueStatus.OPEN:
            if data.get("resolution") or data.get("resolved_on"):
                raise ValidationError(
                    {"status": "To record a resolution, set status to “resolved” as well."}
                )
            if issue.status == IssueStatus.RESOLVED:
                services.issue_reopen(issue=issue)
    return _issues().get(pk=issue.pk)


# Wins ------------------------------------------------------------------------------


class WinOut(Schema):
    id: int
    partnership_id: int
    title: str
    detail: str
    won_on: dt.date
    outcome_id: int | None
    recorded_by_name: str | None

    @staticmethod
    def resolve_recorded_by_name(obj: Win) -> str | None:
        return obj.recorded_by.name if obj.recorded_by else None


class WinIn(Input):
    title: Name
    detail: Text = ""
    won_on: dt.date | None = Field(default=None, description="Today if left out.")
    outcome_id: int | None = Field(default=None, description="One of the partnership's outcomes.")


class WinPatch(Input):
    title: Name | None = None
    detail: Text | None = None
    won_on: dt.date | None = None
    outcome_id: int | None = None


def _wins() -> QuerySet[Win]:
    return Win.objects.select_related("recorded_by")


def _outcome(partnership: Partnership, outcome_id: int | None) -> Outcome | None:
    if outcome_id is None:
        return None
    outcome = Outcome.objects.filter(pk=outcome_id, partnership=partnership).first()
    if outcome is None:
        raise ValidationError({"outcome_id": "This partnership has no outcome with that id."})
    return outcome


@router.get("/partnerships/{partnership_id}/wins", response=list[WinOut])
@paginate(Pagination)
def list_wins(request: HttpRequest, partnership_id: int) -> QuerySet[Win]:
    """Wins to celebrate, most recent first."""
    partnership = core_access.get_partnership(_user(request), partnership_id)
    return _wins().filter(partnership=partnership).order_by("-won_on", "-pk")


@router.post("/partnerships/{partnership_id}/wins", response={201: WinOut})
def create_win(request: HttpRequest, partnership_id: int, payload: WinIn) -> Status[Win]:
    """Record a win: any member may."""
    user = _user(request)
    partnership = core_access.get_partnership(user, partnership_id)
    win = services.win_record(
        partnership=partnership,
        by=user,
        title=payload.title,
        detail=payload.detail,
        won_on=payload.won_on,
        outcome=_outcome(partnership, payload.outcome_id),
    )
    return Status(201, _wins().get(pk=win.pk))


@router.get("/wins/{win_id}", response=WinOut)
def get_win(request: HttpRequest, win_id: int) -> Win:
    return access.get_win(_user(request), win_id)


@router.patch("/wins/{win_id}", response=WinOut)
def update_win(request: HttpRequest, win_id: int, payload: WinPatch) -> Win:
    """Change a win: managers only. Send outcome_id null to unlink its outcome."""
    win = access.get_win(_user(request), win_id, manage=True)
    data = payload.dict(exclude_unset=True)
    for field in ("title", "detail", "won_on"):
        if data.get(field) is not None:
            setattr(win, field, data[field])
    if "outcome_id" in data:
        win.outcome = _outcome(win.partnership, data["outcome_id"])
    services.win_save(win=win)
    return _wins().get(pk=win.pk)
