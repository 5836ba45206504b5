"""API for priorities and priority votes, with the same access rules as the pages."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate
from pydantic import AfterValidator

from partnerwell.api.core import Input, Name, Pagination
from partnerwell.core import access as core_access
from partnerwell.core.models import User
from partnerwell.delivery import access
from partnerwell.delivery import priorities as services
from partnerwell.delivery.models import Priority, PriorityStatus, PriorityVote, VoteMethod

router = Router(tags=["priorities"])


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _when(value: dt.datetime) -> dt.datetime:
    """A time between 1900 and 2199; one without a time zone is read as local time."""
    if not 1900 <= value.year <= 2199:
        raise ValueError("must be a time between 1900 and 2199")
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def _day(value: dt.date) -> dt.date:
    if not 1900 <= value.year <= 2199:
        raise ValueError("must be a date between 1900 and 2199")
    return value


When = Annotated[dt.datetime, AfterValidator(_when)]
Day = Annotated[dt.date, AfterValidator(_day)]
Description = Annotated[str, Field(max_length=10_000)]


# Priorities --------------------------------------------------------------------------


class PriorityOut(Schema):
    id: int
    partnership_id: int
    title: str
    description: str
    status: PriorityStatus
    agreed_on: dt.date | None
    proposed_by_member_id: int | None = Field(alias="proposed_by_id")


class PriorityIn(Input):
    title: Name
    description: Description = ""


class PriorityPatch(Input):
    title: Name | None = None
    description: Description | None = None
    status: PriorityStatus | None = Field(
        default=None, description="agreed needs agreed_on (today if left out)."
    )
    agreed_on: Day | None = None


@router.get("/partnerships/{partnership_id}/priorities", response=list[PriorityOut])
@paginate(Pagination)
def list_priorities(request: HttpRequest, partnership_id: int) -> QuerySet[Priority]:
    partnership = core_access.get_partnership(_user(request), partnership_id)
    return Priority.objects.filter(partnership=partnership).order_by("title", "pk")


@router.post("/partnerships/{partnership_id}/priorities", response={201: PriorityOut})
def propose_priority(
    request: HttpRequest, partnership_id: int, payload: PriorityIn
) -> Status[Priority]:
    """Propose a priority; any member may."""
    user = _user(request)
    partnership = core_access.get_partnership(user, partnership_id)
    priority = services.priority_propose(
        partnership=partnership, by=user, title=payload.title, description=payload.description
    )
    return Status(201, priority)


@router.get("/priorities/{priority_id}", response=PriorityOut)
def get_priority(request: HttpRequest, priority_id: int) -> Priority:
    return access.get_priority(_user(request), priority_id)


@router.patch("/priorities/{priority_id}", response=PriorityOut)
def update_priority(request: HttpRequest, priority_id: int, payload: PriorityPatch) -> Priority:
    """Change the wording, or record the decision (agreed with its date, or set aside)."""
    priority = access.get_priority(_user(request), priority_id, manage=True)
    data = payload.dict(exclude_unset=True)
    status = data.get("status") or priority.status
    agreed_on = data.get("agreed_on")
    if agreed_on is not None and status != PriorityStatus.AGREED:
        raise ValidationError(
            {"agreed_on": "Only an agreed priority has a date agreed; send status agreed too."}
        )
    with transaction.atomic():
        for field in ("title", "description"):
            if data.get(field) is not None:
                setattr(priority, field, data[field])
        priority.full_clean()
        priority.save()
        if "status" in data or "agreed_on" in data:
            if status == PriorityStatus.AGREED and agreed_on is None:
                agreed_on = priority.agreed_on or timezone.localdate()
            services.priority_decide(priority=priority, status=status, agreed_on=agreed_on)
    return priority


# Votes ---------------------------------------------------------------------------------


class VoteOut(Schema):
    id: int
    partnership_id: int
    title: str
    method: VoteMethod
    state: str = Field(description="scheduled, open or closed.")
    opens_at: dt.datetime
    closes_at: dt.datetime = Field(description="When it closes, or closed if closed early.")
    anonymity_floor: int
    candidate_ids: list[int]
    voted: int = Field(description="How many members have voted.")


def _vote_out(vote: PriorityVote) -> dict[str, Any]:
    voted = getattr(vote, "voted", None)
    return {
        "id": vote.pk,
        "partnership_id": vote.partnership_id,
        "title": vote.title,
        "method": vote.method,
        "state": services.vote_state(vote),
        "opens_at": vote.opens_at,
        "closes_at": vote.effective_close,
        "anonymity_floor": vote.anonymity_floor,
        "candidate_ids": sorted(p.pk for p in vote.candidates.all()),
        "voted": vote.participations.count() if voted is None else voted,
    }


class VoteIn(Input):
    title: Name
    method: VoteMethod = VoteMethod.POINTS
    candidate_ids: list[int] = Field(
        min_length=services.MIN_CANDIDATES,
        max_length=services.MAX_CANDIDATES,
        description="Proposed priorities of the partnership.",
    )
    opens_at: When | None = Field(default=None, description="Now if left out.")
    closes_at: When
    anonymity_floor: int = Field(default=3, ge=3, le=50)


@router.get("/partnerships/{partnership_id}/votes", response=list[VoteOut])
def list_votes(request: HttpRequest, partnership_id: int) -> list[dict[str, Any]]:
    partnership = core_access.get_partnership(_user(request), partnership_id)
    votes = (
        PriorityVote.objects.filter(partnership=partnership)
        .annotate(voted=Count("participations", distinct=True))
        .prefetch_related("candidates")
    )
    return [_vote_out(v) for v in votes]


@router.post("/partnerships/{partnership_id}/votes", response={201: VoteOut})
def open_vote(request: HttpRequest, partnership_id: int, payload: VoteIn) -> Status[dict[str, Any]]:
    """Open a vote among proposed priorities (managers and chairs)."""
    user = _user(request)
    partnership = core_access.get_partnership(user, partnership_id, manage=True)
    candidates = list(
        Priority.objects.filter(partnership=partnership, pk__in=payload.candidate_ids)
    )
    if len(candidates) != len(set(payload.candidate_ids)):
        raise ValidationError({"candidate_ids": "Use only ids of this partnership's priorities."})
    try:
        vote = services.vote_open(
            partnership=partnership,
            by=user,
            title=payload.title,
            method=payload.method,
            candidates=candidates,
            opens_at=payload.opens_at or timezone.now(),
            closes_at=payload.closes_at,
            anonymity_floor=payload.anonymity_floor,
        )
    except ValidationError as exc:
        fields = {"candidates": "candidate_ids"}
        raise ValidationError({fields.get(k, k): v for k, v in exc.message_dict.items()}) from None
    return Status(201, _vote_out(vote))


@router.get("/votes/{vote_id}", response=VoteOut)
def get_vote(request: HttpRequest, vote_id: int) -> dict[str, Any]:
    return _vote_out(access.get_vote(_user(request), vote_id))


class VotePatch(Input):
    title: Name | None = None
    closes_at: When | None = Field(default=None, description="A new closing time, while open.")
    close_now: bool = Field(default=False, description="true to close the vote now.")


@router.patch("/votes/{vote_id}", response=VoteOut)
def update_vote(request: HttpRequest, vote_id: int, payload: VotePatch) -> dict[str, Any]:
    """Rename a vote, move its closing time, or close it now (managers and chairs)."""
    vote = access.get_vote(_user(request), vote_id, manage=True)
    if payload.close_now and not vote.is_open:
        raise HttpError(409, "This vote is not open, so it cannot be closed.")
    if payload.closes_at is not None and services.vote_state(vote) == "closed":
        raise HttpError(409, "This vote has closed, so its closing time cannot change.")
    if payload.closes_at is not None:
        if payload.closes_at <= max(vote.opens_at, timezone.now()):
            raise ValidationError(
                {"closes_at": "Choose a closing time after the opening time and in the future."}
            )
        vote.closes_at = payload.closes_at
    if payload.title is not None:
        vote.title = payload.title
    vote.full_clean()
    vote.save()
    if payload.close_now:
        services.vote_close(vote=vote)
    return _vote_out(vote)


class ScoreIn(Schema):
    priority_id: int
    points: int | None = Field(default=None, ge=0, le=10, description="For a points vote.")
    importance: int | None = Field(default=None, ge=1, le=5, description="For a rating vote.")
    feasibility: int | None = Field(default=None, ge=1, le=5, description="For a rating vote.")


class BallotIn(Input):
    scores: list[ScoreIn] = Field(
        min_length=1,
        max_length=services.MAX_CANDIDATES,
        description="One entry for every candidate of the vote.",
    )


class Message(Schema):
    message: str


@router.post("/votes/{vote_id}/ballots", response={201: Message})
def cast_ballot(request: HttpRequest, vote_id: int, payload: BallotIn) -> Status[dict[str, str]]:
    """Vote once: spread 10 points, or rate importance and feasibility, for every candidate."""
    user = _user(request)
    vote = access.get_vote(user, vote_id)
    ids = [s.priority_id for s in payload.scores]
    if len(set(ids)) != len(ids):
        raise ValidationError({"scores": "Give each candidate one score only."})
    scores = {
        s.priority_id: services.Score(
            points=s.points, importance=s.importance, feasibility=s.feasibility
        )
        for s in payload.scores
    }
    if vote.method == VoteMethod.POINTS:
        # Left out means none, as an empty box does on the page.
        scores = {pk: services.Score(points=s.points or 0) for pk, s in scores.items()}
    try:
        services.ballot_cast(vote=vote, user=user, scores=scores)
    except (services.VoteNotOpen, services.AlreadyVoted) as problem:
        raise HttpError(409, str(problem)) from None
    return Status(201, {"message": "Your vote is counted. Thank you."})


class GroupScore(Schema):
    name: str
    n: int
    score: float | None


class CandidateResult(Schema):
    id: int
    title: str
    rank: int
    score: float = Field(description="Total points, or mean importance × mean feasibility.")
    mean_points: float | None
    importance: float | None
    feasibility: float | None
    groups: list[GroupScore]
    spread: float | None = Field(description="Highest minus lowest shown group.")


class GroupCount(Schema):
    name: str
    n: int


class Breakdown(Schema):
    by: str = Field(description="side, or sector when the partnership has no sides.")
    groups: list[GroupCount]
    hidden: int = Field(description="Groups hidden to protect anonymity.")
    hidden_groups: list[str] = Field(
        description="Names of the hidden groups: every group with members able to vote is "
        "listed, shown or hidden, whether or not anyone in it voted; hidden groups have no count."
    )
    measure: str


class VoteResults(Schema):
    published: bool
    reason: str = Field(description="Why there are no results yet, when not published.")
    ballots: int
    method: VoteMethod
    rule: str
    visibility: str
    anonymity_floor: int
    candidates: list[CandidateResult]
    breakdown: Breakdown | None


@router.get("/votes/{vote_id}/results", response=VoteResults)
def get_vote_results(request: HttpRequest, vote_id: int) -> dict[str, Any]:
    """The ranking and the spread between sides or sectors, once the vote has closed."""
    return services.vote_results(access.get_vote(_user(request), vote_id))
