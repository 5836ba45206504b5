"""API for actions and accountability, with the same access rules as the pages.

Members read their partnerships' actions; an action's owner or a manager adds
progress notes and moves its status; only managers add, change and reassign.
"""

# No "from __future__ import annotations": ninja reads the query types of a paginated view
# from the function itself, so they must be real objects, not strings.
import datetime as dt
from typing import Annotated, Any, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import StringConstraints

from partnerwell.api.core import Input, Pagination
from partnerwell.core import access as core_access
from partnerwell.core.models import Membership, Organisation, Partnership, User
from partnerwell.delivery import access
from partnerwell.delivery.actions import (
    ACCOUNTABILITY_RULES,
    Origin,
    accountability,
    action_create,
    action_log,
    action_update,
    actions_filter,
    my_organisation_ids,
    one_year_before,
    progress_note_add,
)
from partnerwell.delivery.models import (
    Action,
    ActionSource,
    ActionStatus,
    Issue,
    Measure,
    Priority,
    ProgressNote,
    Risk,
)
from partnerwell.healthcheck.models import Principle, Round, Statement

router = Router(tags=["actions"])

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=5000)]
# Bounded, so that an absurd id is a 422 rather than an overflow in the database driver.
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


class OwnerOut(Schema):
    member_id: int = Field(alias="pk")
    person_id: int
    name: str

    @staticmethod
    def resolve_name(obj: Membership) -> str:
        return obj.person.name


class OrganisationRef(Schema):
    id: int
    name: str


class NoteOut(Schema):
    id: int
    written_on: dt.date
    text: str
    status: str = Field(description="The status the action moved to with this note, or empty.")
    author: str | None

    @staticmethod
    def resolve_author(obj: ProgressNote) -> str | None:
        return obj.author.name if obj.author else None


class ActionOut(Schema):
    id: int
    partnership_id: int
    title: str
    detail: str
    owner: OwnerOut
    organisation: OrganisationRef
    due_date: dt.date
    status: ActionStatus
    overdue: bool = Field(alias="is_overdue")
    done_on: dt.date | None
    days_late: int | None
    drop_reason: str
    source: ActionSource
    source_round_id: int | None
    source_principle_id: int | None
    source_statement_id: int | None
    source_risk_id: int | None
    source_issue_id: int | None
    source_priority_id: int | None
    source_decision_id: int | None
    measure_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class ActionDetailOut(ActionOut):
    notes: list[NoteOut]

    @staticmethod
    def resolve_notes(obj: Action) -> list[ProgressNote]:
        return list(obj.notes.select_related("author"))


OpenStatus = Literal["proposed", "agreed", "in_progress"]


class ActionIn(Input):
    title: Title
    detail: Text = ""
    owner_id: Id = Field(description="The owner's membership id (see the members list).")
    organisation_id: Id | None = Field(
        default=None, description="The owning organisation; leave out for the owner's."
    )
    due_date: dt.date
    status: OpenStatus = "agreed"
    source: ActionSource = ActionSource.NONE
    round_id: Id | None = Field(default=None, description="For source health_check.")
    principle_id: Id | None = Field(default=None, description="For source health_check.")
    statement_id: Id | None = Field(default=None, description="Optional, for health_check.")
    risk_id: Id | None = Field(default=None, description="For source risk.")
    issue_id: Id | None = Field(default=None, description="For source issue.")
    priority_id: Id | None = Field(default=None, description="For source priority.")
    measure_id: Id | None = Field(default=None, description="A measure it should move.")


class ActionPatch(Input):
    """Managers may change anything; the owner only the status (with a note)."""

    title: Title | None = None
    detail: Text | None = None
    owner_id: Id | None = None
    organisation_id: Id | None = None
    due_date: dt.date | None = None
    measure_id: Id | None = Field(default=None, description="null unlinks the measure.")
    status: ActionStatus | None = None
    drop_reason: Text = ""
    note: Text = Field(default="", description="A progress note to record with the change.")


class NoteIn(Input):
    """A note needs words; to move the status alone, PATCH the action."""

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
    status: ActionStatus | None = Field(
        default=None, description="Move the action to this status with the note."
    )
    drop_reason: Text = Field(default="", description="Needed when the status is dropped.")
    written_on: dt.date | None = Field(
        default=None, description="The note's date (not in the future); done is recorded then."
    )


DueFilter = Literal["", "overdue", "soon"]
StatusFilter = Literal["", "open", "proposed", "agreed", "in_progress", "done", "dropped"]
SourceFilter = Literal["", "none", "health_check", "decision", "risk", "issue", "priority"]
SortOrder = Literal["due", "status", "owner", "organisation"]


def _one(model: Any, pk: int | None, partnership: Partnership, name: str) -> Any:
    if pk is None:
        return None
    found = model.objects.filter(pk=pk, partnership=partnership).first()
    if found is None:
        raise ValidationError({f"{name}_id": f"This partnership has no {name} with that id."})
    return found


def _owner(partnership: Partnership, owner_id: int) -> Membership:
    owner = (
        Membership.objects.filter(pk=owner_id, partnership=partnership)
        .select_related("person", "organisation")
        .first()
    )
    if owner is None:
        raise ValidationError({"owner_id": "No member of this partnership has that id."})
    return owner


def _organisation(organisation_id: int | None) -> Organisation | None:
    if organisation_id is None:
        return None
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    if organisation is None:
        raise ValidationError({"organisation_id": "No organisation has that id."})
    return organisation


def _origin(partnership: Partnership, payload: ActionIn) -> Origin:
    round = _one(Round, payload.round_id, partnership, "round")
    principle = None
    if payload.principle_id is not None:
        principle = Principle.objects.filter(
            pk=payload.principle_id, framework_id=round.framework_id if round else 0
        ).first()
        if principle is None:
            raise ValidationError(
                {"principle_id": "Give a principle of the round's framework, with its round_id."}
            )
    statement = None
    if payload.statement_id is not None:
        statement = Statement.objects.filter(pk=payload.statement_id, principle=principle).first()
        if statement is None:
            raise ValidationError({"statement_id": "Give a statement of the chosen principle."})
    return Origin(
        source=payload.source,
        round=round,
        principle=principle,
        statement=statement,
        risk=_one(Risk, payload.risk_id, partnership, "risk"),
        issue=_one(Issue, payload.issue_id, partnership, "issue"),
        priority=_one(Priority, payload.priority_id, partnership, "priority"),
    )


def _fresh(action: Action) -> Action:
    return action_log(Action.objects.filter(pk=action.pk)).get()


@router.get(
    "/partnerships/{partnership_id}/actions", response=list[ActionOut], summary="List actions"
)
@paginate(Pagination)
def list_actions(
    request: HttpRequest,
    partnership_id: int,
    mine: bool = False,
    my_organisation: bool = False,
    organisation_id: Id | None = None,
    due: DueFilter = "",
    status: StatusFilter = "",
    source: SourceFilter = "",
    sort: SortOrder = "due",
) -> QuerySet[Action]:
    """The partnership's action log, filtered and sorted as on the page.

    mine: only actions you own; my_organisation: only your organisation's;
    due: overdue, or soon (within 7 days); status: open means not done or dropped.
    """
    user = _user(request)
    partnership = core_access.get_partnership(user, partnership_id)
    chosen = {
        "who": "mine" if mine else "my_organisation" if my_organisation else "",
        "organisation": organisation_id,
        "due": due,
        "status": status,
        "source": source,
        "sort": sort,
    }
    return actions_filter(
        action_log(Action.objects.filter(partnership=partnership)),
        chosen,
        user=user,
        my_organisation_ids=my_organisation_ids(user, partnership),
    )


@router.get("/actions/{action_id}", response=ActionDetailOut, summary="Get an action")
def get_action(request: HttpRequest, action_id: int) -> Action:
    """An action with its timeline of progress notes, newest first."""
    return access.get_action(_user(request), action_id)


@router.post(
    "/partnerships/{partnership_id}/actions",
    response={201: ActionDetailOut},
    summary="Add an action",
)
def create_action(request: HttpRequest, partnership_id: int, payload: ActionIn) -> Status[Action]:
    """Managers and chairs add actions; the organisation defaults to the owner's."""
    user = _user(request)
    partnership = core_access.get_partnership(user, partnership_id, manage=True)
    action = action_create(
        by=user,
        partnership=partnership,
        title=payload.title,
        detail=payload.detail,
        owner=_owner(partnership, payload.owner_id),
        organisation=_organisation(payload.organisation_id),
        due_date=payload.due_date,
        status=payload.status,
        origin=_origin(partnership, payload),
        measure=_one(Measure, payload.measure_id, partnership, "measure"),
    )
    return Status(201, _fresh(action))


@router.patch("/actions/{action_id}", response=ActionDetailOut, summary="Change an action")
def update_action(request: HttpRequest, action_id: int, payload: ActionPatch) -> Action:
    """Managers change or reassign; the owner may only move the status (with a note)."""
    user = _user(request)
    action = access.get_action_to_update(user, action_id)
    data = payload.dict(exclude_unset=True)
    details = {"title", "detail", "owner_id", "organisation_id", "due_date", "measure_id"} & set(
        data
    )
    if details and not core_access.can_manage(user, action.partnership):
        raise PermissionDenied(
            "As the owner you can change only the status; ask a manager to change the rest."
        )
    with transaction.atomic():
        if details:
            # A new owner without an organisation brings their own organisation.
            organisation_id = data.get("organisation_id") or (
                None if data.get("owner_id") else action.organisation_id
            )
            action_update(
                by=user,
                action=action,
                title=data.get("title") or action.title,
                detail=action.detail if data.get("detail") is None else data["detail"],
                owner=_owner(action.partnership, data.get("owner_id") or action.owner_id),
                organisation=_organisation(organisation_id),
                due_date=data.get("due_date") or action.due_date,
                measure=_one(Measure, data["measure_id"], action.partnership, "measure")
                if "measure_id" in data
                else action.measure,
            )
        if data.get("status") or data.get("note"):
            progress_note_add(
                by=user,
                action=action,
                text=payload.note,
                status=payload.status or "",
                drop_reason=payload.drop_reason,
            )
    return _fresh(action)


@router.post("/actions/{action_id}/notes", response={201: NoteOut}, summary="Add a progress note")
def add_note(request: HttpRequest, action_id: int, payload: NoteIn) -> Status[ProgressNote]:
    """The owner or a manager adds a dated note, which may move the status."""
    user = _user(request)
    action = access.get_action_to_update(user, action_id)
    note = progress_note_add(
        by=user,
        action=action,
        text=payload.text,
        status=payload.status or "",
        drop_reason=payload.drop_reason,
        written_on=payload.written_on,
    )
    return Status(201, note)


class AccountabilityRowOut(Schema):
    organisation_id: int | None
    name: str
    due: int
    done: int
    done_on_time: int
    on_time_percent: float | None
    overdue: int
    not_yet_due: int
    dropped: int
    median_days_late: float | None


class RuleOut(Schema):
    figure: str
    rule: str


class AccountabilityOut(Schema):
    start: dt.date
    end: dt.date
    organisations: list[AccountabilityRowOut]
    total: AccountabilityRowOut
    rules: list[RuleOut]


@router.get(
    "/partnerships/{partnership_id}/accountability",
    response=AccountabilityOut,
    summary="Accountability figures",
)
def get_accountability(
    request: HttpRequest,
    partnership_id: int,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> dict[str, Any]:
    """Actions due from start to end (default: the last 12 months), per organisation."""
    partnership = core_access.get_partnership(_user(request), partnership_id)
    end = end or timezone.localdate()
    start = start or one_year_before(end) + dt.timedelta(days=1)
    if start > end:
        raise ValidationError({"start": "The start date must be on or before the end date."})
    result = accountability(partnership, start=start, end=end)
    return {
        "start": start,
        "end": end,
        "organisations": [row.as_dict() for row in result.organisations],
        "total": result.total.as_dict(),
        "rules": [{"figure": f, "rule": r} for f, r in ACCOUNTABILITY_RULES],
    }
