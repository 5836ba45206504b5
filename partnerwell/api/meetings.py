"""API for meetings, agenda items, attendance, decisions and minutes.

The same access rules as the pages: members read their partnerships' meetings,
submit agenda items and answer for their own attendance; managers plan, change
and cancel meetings, take the register and record decisions; chairs (and
managers) triage items, and only chairs sign off an agenda.

Bodies are JSON only: papers are uploaded on the agenda item's page.
"""

# No "from __future__ import annotations": ninja reads the query types of a paginated view
# from the function itself, so they must be real objects, not strings.
import datetime as dt
import zoneinfo
from typing import Annotated, Any, Literal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import AfterValidator, StringConstraints

from partnerwell.api.core import Input, Name, Pagination
from partnerwell.core import access as core_access
from partnerwell.core.models import Membership, Partnership, User
from partnerwell.meetings import access, agenda, attendance, minutes, services
from partnerwell.meetings.models import (
    AgendaApproval,
    AgendaItem,
    Ask,
    Attendance,
    Decision,
    ItemStatus,
    Meeting,
    MeetingStatus,
    MeetingType,
    MinuteEntry,
    Minutes,
    MinutesStatus,
    Nature,
    Paper,
    Presence,
    Reply,
    Standing,
)

router = Router(tags=["meetings"])

Text = Annotated[str, StringConstraints(max_length=10_000)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
# Bounded, so that an absurd id is a 422 rather than an overflow in the database driver.
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]

NAIVE_TIME = (
    "give the time with its offset from UTC, for example 2026-03-05T10:00:00+00:00 "
    "or 2026-06-05T10:00:00+01:00"
)


def _aware(value: dt.datetime) -> dt.datetime:
    # A time without an offset could be read in any time zone; guessing would move meetings.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(NAIVE_TIME)
    # Far-off years overflow when converted to UTC for the database.
    if not 2000 <= value.year <= 2200:
        raise ValueError("give a time between the years 2000 and 2200")
    return value


def _time_zone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"“{name}” is not a time zone name; use one such as Europe/London"
        ) from None
    return name


AwareTime = Annotated[dt.datetime, AfterValidator(_aware)]
TimeZoneName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(_time_zone),
]
DecidedOn = Annotated[dt.date, Field(ge=dt.date(2000, 1, 1), le=dt.date(2200, 12, 31))]


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _require_chair_or_manager(user: User, partnership: Partnership) -> None:
    if not access.runs_meetings(user, partnership):
        raise PermissionDenied("Only the partnership's chairs and managers can do that.")


# Meetings ---------------------------------------------------------------------------


class MeetingOut(Schema):
    id: int
    partnership_id: int
    title: str
    kind: MeetingType
    series_id: int | None
    series: str | None = Field(description="The series' name, if the meeting is in one.")
    starts_at: dt.datetime
    ends_at: dt.datetime
    time_zone: str
    place: str
    video_link: str
    status: MeetingStatus
    cancelled: bool = Field(alias="is_cancelled")
    cancelled_at: dt.datetime | None
    cancel_reason: str
    agenda_revision: int
    agenda_agreed_at: dt.datetime | None
    papers_published_at: dt.datetime | None
    quorum_met: bool | None
    decision_makers_present: int | None
    calendar_sequence: int = Field(alias="sequence")
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_series(obj: Meeting) -> str | None:
        return obj.series.name if obj.series else None


class MeetingIn(Input):
    title: Name
    kind: MeetingType = MeetingType.BOARD
    series: Name | None = Field(
        default=None, description="A series name such as Quarterly board; made if new."
    )
    starts_at: AwareTime = Field(description="ISO 8601 with an offset, e.g. …T10:00:00+01:00.")
    ends_at: AwareTime = Field(description="ISO 8601 with an offset; after starts_at.")
    time_zone: TimeZoneName = Field(
        default=settings.TIME_ZONE, description="Where the meeting's local times are shown."
    )
    place: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = ""
    video_link: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""


class MeetingPatch(Input):
    title: Name | None = None
    kind: MeetingType | None = None
    series: Name | None = Field(default=None, description="null takes it out of its series.")
    starts_at: AwareTime | None = None
    ends_at: AwareTime | None = None
    time_zone: TimeZoneName | None = None
    place: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    video_link: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = (
        None
    )
    status: Literal["agenda_open", "held"] | None = Field(
        default=None,
        description="Open the agenda, or mark the meeting held once it has started; "
        "the other steps follow from approving, publishing and minuting.",
    )


class CancelIn(Input):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


def _meetings() -> QuerySet[Meeting]:
    return Meeting.objects.select_related("series")


@router.get("/partnerships/{partnership_id}/meetings", response=list[MeetingOut])
@paginate(Pagination)
def list_meetings(
    request: HttpRequest,
    partnership_id: int,
    from_: Annotated[
        dt.date | None, Query(alias="from", description="Starting on or after.")
    ] = None,
    to: Annotated[dt.date | None, Query(description="Starting on or before.")] = None,
    status: MeetingStatus | None = None,
) -> QuerySet[Meeting]:
    """The partnership's meetings, earliest first; cancelled ones say so."""
    partnership = core_access.get_partnership(_user(request), partnership_id)
    meetings = _meetings().filter(partnership=partnership).order_by("starts_at", "pk")
    if from_ is not None:
        meetings = meetings.filter(starts_at__date__gte=from_)
    if to is not None:
        meetings = meetings.filter(starts_at__date__lte=to)
    return meetings.filter(status=status) if status else meetings


@router.post("/partnerships/{partnership_id}/meetings", response={201: MeetingOut})
def create_meeting(
    request: HttpRequest, partnership_id: int, payload: MeetingIn
) -> Status[Meeting]:
    """Plan a meeting (managers and chairs); it starts with the standing items."""
    user = _user(request)
    partnership = core_access.get_partnership(user, partnership_id, manage=True)
    data = payload.dict()
    data["new_series"] = data.pop("series") or ""
    meeting = services.meeting_create(partnership=partnership, by=user, **data)
    return Status(201, _meetings().get(pk=meeting.pk))


@router.get("/meetings/{meeting_id}", response=MeetingOut)
def get_meeting(request: HttpRequest, meeting_id: int) -> Meeting:
    return access.get_meeting(_user(request), meeting_id)


@router.patch("/meetings/{meeting_id}", response=MeetingOut)
def update_meeting(request: HttpRequest, meeting_id: int, payload: MeetingPatch) -> Meeting:
    """Change a meeting (managers and chairs); calendars see the change."""
    meeting = access.get_meeting(_user(request), meeting_id, manage=True)
    data = payload.dict(exclude_unset=True)
    status = data.pop("status", None)
    with transaction.atomic():
        if "series" in data:
            # A name puts the meeting in that series (made if new); null takes it out.
            name = data.pop("series")
            data["new_series" if name else "series"] = name or None
        fields = {k: v for k, v in data.items() if v is not None or k == "series"}
        if fields:
            meeting = services.meeting_update(meeting=meeting, **fields)
        if status is not None:
            services.meeting_advance(meeting=meeting, to=status)
    return _meetings().get(pk=meeting.pk)


@router.post("/meetings/{meeting_id}/cancel", response=MeetingOut)
def cancel_meeting(request: HttpRequest, meeting_id: int, payload: CancelIn) -> Meeting:
    """Cancel a meeting that has not happened (managers and chairs), saying why."""
    meeting = access.get_meeting(_user(request), meeting_id, manage=True)
    services.meeting_cancel(meeting=meeting, reason=payload.reason)
    return _meetings().get(pk=meeting.pk)


# Agenda items -----------------------------------------------------------------------


class PaperOut(Schema):
    id: int
    title: str
    kind: str
    original_name: str
    size: int
    pages: int | None
    uploaded_at: dt.datetime
    replaced_at: dt.datetime | None
    download: str = Field(description="The access-checked download page (signed-in browser).")

    @staticmethod
    def resolve_download(obj: Paper) -> str:
        return obj.get_absolute_url()


class ItemOut(Schema):
    id: int
    partnership_id: int
    meeting_id: int | None = Field(description="None: on the forward plan.")
    title: str
    description: str
    ask: Ask
    nature: Nature
    presenter: str
    minutes_needed: int
    standing: Standing
    status: ItemStatus
    late: bool
    position: int
    submitted_by: str | None
    submitter_side: str | None
    submitted_at: dt.datetime
    triage_reason: str
    triaged_at: dt.datetime | None
    deferred_from_id: int | None
    papers: list[PaperOut]

    @staticmethod
    def resolve_submitted_by(obj: AgendaItem) -> str | None:
        return obj.submitted_by.name if obj.submitted_by else None

    @staticmethod
    def resolve_submitter_side(obj: AgendaItem) -> str | None:
        return obj.submitter_side.name if obj.submitter_side else None

    @staticmethod
    def resolve_papers(obj: AgendaItem) -> list[Paper]:
        return list(obj.papers.all())


class AgendaRowOut(ItemOut):
    number: int | None = Field(description="Its number on the agenda, if accepted.")
    start: dt.datetime | None = Field(description="Computed local start time, if accepted.")
    end: dt.datetime | None = Field(description="Computed local end time, if accepted.")


class ItemIn(Input):
    title: Name
    description: Text = ""
    ask: Ask = Field(description="What the meeting is asked for.")
    nature: Nature
    presenter: Short = ""
    minutes_needed: int = Field(ge=1, le=480, description="Time needed, in minutes.")


class TriageIn(Input):
    decision: Literal["accept", "defer", "decline"]
    reason: Text = Field(
        default="", description="Needed to defer or decline; the submitter sees it."
    )
    defer_to: Id | None = Field(
        default=None,
        description="To defer: a later meeting's id, or leave out for the forward plan. "
        "To accept an item from the forward plan: the meeting to put it on.",
    )


class ApprovalIn(Input):
    revision: int = Field(
        ge=0,
        le=2**31 - 1,
        description="The agenda revision you approve (from agenda-state), so that a change "
        "made while you read it is not approved unseen.",
    )


class SideOut(Schema):
    id: int
    name: str


class ApprovalOut(Schema):
    side: SideOut | None
    approved_by: str
    revision: int
    approved_at: dt.datetime

    @staticmethod
    def resolve_approved_by(obj: AgendaApproval) -> str:
        return obj.approved_by.name


class AgendaStateOut(Schema):
    agreed: bool
    revision: int
    needed_sides: list[SideOut]
    approved_sides: list[SideOut]
    approvals: list[ApprovalOut]


def _items() -> QuerySet[AgendaItem]:
    return AgendaItem.objects.select_related("submitted_by", "submitter_side").prefetch_related(
        Prefetch("papers", Paper.objects.filter(replaced_at__isnull=True))
    )


@router.get("/meetings/{meeting_id}/agenda-items", response=list[AgendaRowOut])
@paginate(Pagination)
def list_agenda_items(
    request: HttpRequest, meeting_id: int, status: ItemStatus | None = None
) -> list[AgendaItem]:
    """The agenda in order with computed times, then the items not (yet) on it."""
    meeting = access.get_meeting(_user(request), meeting_id)
    rows = {row["item"].pk: row for row in agenda.agenda_rows(meeting)}
    items = _items().filter(meeting=meeting)
    if status is not None:
        items = items.filter(status=status)
    # Declined items are for their submitter, the managers and the chairs (access.py).
    user = _user(request)
    if not access.runs_meetings(user, meeting.partnership):
        items = items.filter(~Q(status=ItemStatus.DECLINED) | Q(submitted_by=user))
    found = list(items.order_by("position", "pk"))
    for item in found:
        row = rows.get(item.pk, {})
        item.number = row.get("number")  # type: ignore[attr-defined]
        item.start = row.get("start")  # type: ignore[attr-defined]
        item.end = row.get("end")  # type: ignore[attr-defined]
    order = list(rows)
    return sorted(
        found,
        key=lambda i: (0, order.index(i.pk)) if i.pk in rows else (1, i.submitted_at, i.pk),
    )


def _submit(
    request: HttpRequest, partnership: Partnership, meeting: Meeting | None, payload: ItemIn
) -> Status[AgendaItem]:
    item = agenda.item_submit(
        partnership=partnership, by=_user(request), meeting=meeting, **payload.dict()
    )
    return Status(201, _items().get(pk=item.pk))


@router.post("/meetings/{meeting_id}/agenda-items", response={201: ItemOut})
def submit_item(request: HttpRequest, meeting_id: int, payload: ItemIn) -> Status[AgendaItem]:
    """Submit an item for this meeting: any member may. Papers are added on its page."""
    meeting = access.get_meeting(_user(request), meeting_id)
    return _submit(request, meeting.partnership, meeting, payload)


@router.get("/partnerships/{partnership_id}/forward-plan", response=list[ItemOut])
@paginate(Pagination)
def list_forward_plan(request: HttpRequest, partnership_id: int) -> QuerySet[AgendaItem]:
    """Items raised for no meeting yet (or deferred to none), oldest first."""
    partnership = core_access.get_partnership(_user(request), partnership_id)
    items = _items().filter(partnership=partnership, meeting__isnull=True)
    return items.exclude(status=ItemStatus.DECLINED).order_by("submitted_at", "pk")


@router.post("/partnerships/{partnership_id}/forward-plan", response={201: ItemOut})
def submit_forward_plan_item(
    request: HttpRequest, partnership_id: int, payload: ItemIn
) -> Status[AgendaItem]:
    """Put an item on the forward plan, for no meeting yet: any member may."""
    partnership = core_access.get_partnership(_user(request), partnership_id)
    return _submit(request, partnership, None, payload)


@router.get("/agenda-items/{item_id}", response=ItemOut)
def get_agenda_item(request: HttpRequest, item_id: int) -> AgendaItem:
    item = access.get_item(_user(request), item_id)
    return _items().get(pk=item.pk)


@router.post("/agenda-items/{item_id}/triage", response=ItemOut)
def triage_item(request: HttpRequest, item_id: int, payload: TriageIn) -> AgendaItem:
    """Accept, defer or decline an item (chairs and managers), with a reason to defer or
    decline."""
    user = _user(request)
    item = access.get_item(user, item_id)
    agenda.require_triage(user, item.partnership)
    defer_to = None
    if payload.defer_to is not None:
        defer_to = Meeting.objects.filter(
            pk=payload.defer_to, partnership_id=item.partnership_id
        ).first()
        if defer_to is None:
            raise ValidationError({"defer_to": "This partnership has no meeting with that id."})
    try:
        agenda.item_triage(
            item=item, by=user, decision=payload.decision, reason=payload.reason, defer_to=defer_to
        )
    except ValidationError as exc:
        # The service names the page's meeting field; here the meeting is given as defer_to.
        if hasattr(exc, "error_dict") and "meeting" in exc.error_dict:
            raise ValidationError({"defer_to": exc.message_dict["meeting"]}) from exc
        raise
    return _items().get(pk=item.pk)


def _state(meeting: Meeting) -> dict[str, Any]:
    state = agenda.agenda_state(meeting)
    return {**state, "approvals": list(state["approvals"])}


@router.get("/meetings/{meeting_id}/agenda-state", response=AgendaStateOut)
def get_agenda_state(request: HttpRequest, meeting_id: int) -> dict[str, Any]:
    """Whether the agenda is agreed: a chair of every side must approve its revision."""
    return _state(access.get_meeting(_user(request), meeting_id))


@router.post("/meetings/{meeting_id}/agenda-approvals", response={201: AgendaStateOut})
def approve_agenda(
    request: HttpRequest, meeting_id: int, payload: ApprovalIn
) -> Status[dict[str, Any]]:
    """Sign off the agenda as a chair or co-chair, for your side."""
    user = _user(request)
    meeting = access.get_meeting(user, meeting_id)
    if not access.can_sign_off(user, meeting.partnership):
        raise PermissionDenied("Only a chair or co-chair can approve the agenda.")
    agenda.agenda_approve(meeting=meeting, by=user, revision=payload.revision)
    return Status(201, _state(meeting))


# Attendance -------------------------------------------------------------------------


class AttendanceOut(Schema):
    membership_id: int
    name: str
    organisation: str
    side: str | None
    role: str
    decision_maker: bool
    reply: Reply | Literal[""]
    replied_at: dt.datetime | None
    deputy_name: str
    note: str
    presence: Presence | Literal[""]


class QuorumOut(Schema):
    met: bool | None
    detail: dict[str, Any]
    decision_makers_present: int | None


class ReplyCountsOut(Schema):
    members: int
    attending: int
    deputy: int
    apologies: int
    no_reply: int


class AttendanceListOut(Schema):
    meeting_id: int
    counts: ReplyCountsOut = Field(description="How the members who count replied.")
    members: list[AttendanceOut] = Field(
        description="Everyone for managers and chairs; only your own row for other members."
    )
    quorum: QuorumOut = Field(description="As recorded with the register, if taken.")


class ReplyIn(Input):
    reply: Reply
    deputy_name: Short = Field(default="", description="Needed when sending a deputy.")
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = ""


class RegisterEntryIn(Input):
    membership: Id = Field(description="The member's membership id.")
    presence: Presence
    deputy_name: Short = Field(default="", description="Who attended as the member's deputy.")


class RegisterIn(Input):
    entries: Annotated[list[RegisterEntryIn], Field(min_length=1, max_length=500)]


def _attendance_row(membership: Membership, entry: Attendance | None) -> dict[str, Any]:
    return {
        "membership_id": membership.pk,
        "name": membership.person.name,
        "organisation": membership.organisation.name,
        "side": membership.side.name if membership.side else None,
        "role": membership.role,
        "decision_maker": membership.decision_maker,
        "reply": entry.reply if entry else "",
        "replied_at": entry.replied_at if entry else None,
        "deputy_name": entry.deputy_name if entry else "",
        "note": entry.note if entry else "",
        "presence": entry.presence if entry else "",
    }


def _quorum(meeting: Meeting) -> dict[str, Any]:
    return {
        "met": meeting.quorum_met,
        "detail": meeting.quorum_detail or {},
        "decision_makers_present": meeting.decision_makers_present,
    }


@router.get("/meetings/{meeting_id}/attendance", response=AttendanceListOut)
def get_attendance(request: HttpRequest, meeting_id: int) -> dict[str, Any]:
    """How the members who count replied and, for managers and chairs (who keep the
    register), every such member with their reply and place on the register; other
    members see only their own row. Observers, advisers and deputies do not count; a
    deputy is named in the entry of the member they stand in for."""
    user = _user(request)
    meeting = access.get_meeting(user, meeting_id)
    entries = {a.membership_id: a for a in Attendance.objects.filter(meeting=meeting)}
    # Someone who has since left still shows if the register recorded them.
    members = (
        Membership.objects.filter(
            Q(pk__in=attendance.counting_members(meeting).values("pk"))
            | Q(pk__in=Attendance.objects.filter(meeting=meeting).values("membership_id"))
        )
        .select_related("person", "organisation", "side")
        .order_by("person__name", "pk")
    )
    # Replies, deputies' names and notes are for those who keep the register, as on
    # the web; everyone else sees the counts and their own reply.
    if not attendance.can_keep_register(user, meeting):
        members = members.filter(person_id=user.pk)
    return {
        "meeting_id": meeting.pk,
        "counts": attendance.reply_counts(meeting),
        "members": [_attendance_row(m, entries.get(m.pk)) for m in members],
        "quorum": _quorum(meeting),
    }


@router.put("/meetings/{meeting_id}/attendance/me", response=AttendanceOut)
def reply_attendance(request: HttpRequest, meeting_id: int, payload: ReplyIn) -> dict[str, Any]:
    """Say whether you will attend, send apologies or send a named deputy."""
    user = _user(request)
    meeting = access.get_meeting(user, meeting_id)
    membership = access.my_membership(user, meeting.partnership)
    if membership is None:
        raise PermissionDenied("Only current members of the partnership can answer.")
    entry = attendance.attendance_reply(
        meeting=meeting,
        membership=membership,
        reply=payload.reply,
        deputy_name=payload.deputy_name,
        note=payload.note,
    )
    member = Membership.objects.select_related("person", "organisation", "side").get(
        pk=membership.pk
    )
    return _attendance_row(member, entry)


@router.put("/meetings/{meeting_id}/register", response=QuorumOut)
def record_register(request: HttpRequest, meeting_id: int, payload: RegisterIn) -> dict[str, Any]:
    """Take the register (managers and chairs); answers whether the meeting is quorate."""
    user = _user(request)
    meeting = access.get_meeting(user, meeting_id)
    if not attendance.can_keep_register(user, meeting):
        raise PermissionDenied("Only the partnership's chairs and managers can take the register.")
    seen = [e.membership for e in payload.entries]
    if len(set(seen)) != len(seen):
        raise ValidationError({"entries": "List each member once."})
    try:
        attendance.register_record(
            meeting=meeting,
            by=user,
            entries=[(e.membership, e.presence, e.deputy_name) for e in payload.entries],
        )
    except ValidationError as exc:
        raise _register_error(exc, seen) from exc
    meeting.refresh_from_db()
    return _quorum(meeting)


def _register_error(exc: ValidationError, seen: list[int]) -> ValidationError:
    """The service names the register page's fields (deputy_12); here they are entries.N."""
    if not hasattr(exc, "error_dict"):
        return exc
    fields = {"presence": "presence", "deputy": "deputy_name"}
    errors: dict[str, list[str]] = {}
    for key, messages in exc.message_dict.items():
        kind, _, pk = key.partition("_")
        if kind in fields and pk.isdigit() and int(pk) in seen:
            key = f"entries.{seen.index(int(pk))}.{fields[kind]}"
        errors.setdefault(key, []).extend(messages)
    return ValidationError(errors)


# Decisions --------------------------------------------------------------------------


class DecisionOut(Schema):
    id: int
    partnership_id: int
    meeting_id: int
    meeting_title: str
    item_id: int | None
    item_title: str | None
    reference: str
    text: str
    decided_on: dt.date
    created_at: dt.datetime

    @staticmethod
    def resolve_meeting_title(obj: Decision) -> str:
        return obj.meeting.title

    @staticmethod
    def resolve_item_title(obj: Decision) -> str | None:
        return obj.item.title if obj.item else None


class DecisionIn(Input):
    item: Id | None = Field(default=None, description="The agenda item's id, on this meeting.")
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]
    decided_on: DecidedOn | None = Field(default=None, description="The meeting's day if left out.")


def _decisions() -> QuerySet[Decision]:
    return Decision.objects.select_related("meeting", "item")


@router.get("/partnerships/{partnership_id}/decisions", response=list[DecisionOut])
@paginate(Pagination)
def list_decisions(
    request: HttpRequest,
    partnership_id: int,
    q: Annotated[str, Query(description="Words in the decision or its reference.")] = "",
    year: Annotated[int | None, Query(ge=2000, le=2200)] = None,
) -> QuerySet[Decision]:
    """The decision log across meetings, newest first."""
    user = _user(request)
    partnership = core_access.get_partnership(user, partnership_id)
    # PostgreSQL cannot compare text holding NUL, and no decision holds one.
    decisions = minutes.decision_search(partnership, q[:200].replace("\x00", ""))
    # Members see a meeting's decisions once its minutes are circulated.
    decisions = minutes.visible_decisions(user, partnership, decisions)
    decisions = decisions.select_related("meeting", "item")
    return decisions.filter(decided_on__year=year) if year else decisions


@router.get("/decisions/{decision_id}", response=DecisionOut)
def get_decision(request: HttpRequest, decision_id: int) -> Decision:
    return minutes.get_visible_decision(_user(request), decision_id)


@router.post("/meetings/{meeting_id}/decisions", response={201: DecisionOut})
def record_decision(request: HttpRequest, meeting_id: int, payload: DecisionIn) -> Status[Decision]:
    """Record a decision against one of the meeting's items (managers and chairs)."""
    user = _user(request)
    meeting = access.get_meeting(user, meeting_id)
    _require_chair_or_manager(user, meeting.partnership)
    item = None
    if payload.item is not None:
        item = AgendaItem.objects.filter(pk=payload.item, meeting=meeting).first()
        if item is None:
            raise ValidationError({"item": "This meeting has no agenda item with that id."})
    decision = minutes.decision_record(
        meeting=meeting, item=item, by=user, text=payload.text, decided_on=payload.decided_on
    )
    return Status(201, _decisions().get(pk=decision.pk))


# Minutes ----------------------------------------------------------------------------


class EntryOut(Schema):
    item_id: int
    item_title: str
    text: str

    @staticmethod
    def resolve_item_title(obj: MinuteEntry) -> str:
        return obj.item.title


class VersionOut(Schema):
    id: int
    version: int
    status: MinutesStatus
    correction_reason: str
    circulated_at: dt.datetime | None
    approved_at: dt.datetime | None
    approved_at_meeting_id: int | None
    created_at: dt.datetime


class MinutesOut(VersionOut):
    meeting_id: int
    summary: str
    entries: list[EntryOut]

    @staticmethod
    def resolve_entries(obj: Minutes) -> list[MinuteEntry]:
        return list(obj.entries.all())


class MeetingMinutesOut(Schema):
    meeting_id: int
    current: MinutesOut | None = Field(description="None until minutes are written.")
    versions: list[VersionOut] = Field(description="Every version, newest first.")


def _minutes() -> QuerySet[Minutes]:
    return Minutes.objects.prefetch_related(
        Prefetch("entries", MinuteEntry.objects.select_related("item"))
    )


def _readable(user: User, found: Minutes) -> None:
    # A draft is the minute-taker's working copy until it is circulated.
    if found.status == MinutesStatus.DRAFT and not core_access.can_manage(
        user, found.meeting.partnership
    ):
        raise PermissionDenied("These minutes are a draft; members see them once circulated.")


@router.get("/meetings/{meeting_id}/minutes", response=MeetingMinutesOut)
def get_meeting_minutes(request: HttpRequest, meeting_id: int) -> dict[str, Any]:
    """The current version of the minutes with an entry per item, and the version list.

    Members see minutes once circulated; managers see drafts too.
    """
    user = _user(request)
    meeting = access.get_meeting(user, meeting_id)
    current = minutes.minutes_current(meeting)
    versions = Minutes.objects.filter(meeting=meeting).order_by("-version")
    if not core_access.can_manage(user, meeting.partnership):
        versions = versions.exclude(status=MinutesStatus.DRAFT)
        if current is not None and current.status == MinutesStatus.DRAFT:
            current = None
    return {
        "meeting_id": meeting.pk,
        "current": _minutes().get(pk=current.pk) if current else None,
        "versions": list(versions),
    }


@router.get("/minutes/{minutes_id}", response=MinutesOut)
def get_minutes(request: HttpRequest, minutes_id: int) -> Minutes:
    """One version of a meeting's minutes."""
    user = _user(request)
    found = access.get_minutes(user, minutes_id)
    _readable(user, found)
    return _minutes().get(pk=found.pk)
