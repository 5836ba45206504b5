"""Agenda items, the forward plan, triage, joint sign-off, the agenda builder and papers.

Every function that changes more than one row is atomic. Refusals are ValidationErrors
with a sentence a person can act on; acting without the right role is PermissionDenied.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.utils import timezone

from partnerwell.core.access import can_manage
from partnerwell.core.models import MANAGING_ROLES, Membership, Partnership, Side, User
from partnerwell.delivery.models import (
    OPEN_STATUSES,
    Action,
    ActionStatus,
    Risk,
    RiskStatus,
)
from partnerwell.meetings import access, services, uploads
from partnerwell.meetings.models import (
    AgendaApproval,
    AgendaItem,
    ItemStatus,
    Meeting,
    MeetingStatus,
    Nature,
    Paper,
    Standing,
)

# Items the chairs have not yet accepted or declined: new ones and ones deferred to here.
WAITING = (ItemStatus.SUBMITTED, ItemStatus.DEFERRED)

# Fields that change what the agreed agenda says; changing them needs approval again.
AGENDA_FIELDS = ("title", "minutes_needed", "ask", "nature", "presenter")
EDITABLE_FIELDS = ("title", "description", "ask", "nature", "presenter", "minutes_needed")

BALANCE_RULE = (
    "Share of time counts the minutes given to the accepted items other than the standing "
    "items (apologies, minutes, action log, escalated risks and any other business)."
)

logger = logging.getLogger(__name__)

TRIAGERS_ONLY = "Only the partnership's chairs and managers can do that."
SIGNOFF_ONLY = (
    "Only a chair or co-chair can approve the agenda for their side; a vice-chair can "
    "triage items but not sign the agenda off."
)
SIGNOFF_ONLY_NO_SIDES = (
    "Only the partnership's chairs, co-chairs and managers can approve the agenda; a "
    "vice-chair can triage items but not sign the agenda off."
)


# Who may do what ---------------------------------------------------------------------


def can_triage(user: Any, partnership: Partnership) -> bool:
    """Chairs (including vice-chairs) and managers triage items and build the agenda."""
    return access.runs_meetings(user, partnership)


def require_triage(user: Any, partnership: Partnership) -> None:
    if not can_triage(user, partnership):
        raise PermissionDenied(TRIAGERS_ONLY)


def can_add_paper(user: Any, item: AgendaItem) -> bool:
    return item.submitted_by_id == user.pk or can_triage(user, item.partnership)


def open_for_items(meeting: Meeting) -> bool:
    """Whether the meeting takes items: agenda open or later, not held and not cancelled."""
    return (
        not meeting.is_cancelled
        and meeting.status != MeetingStatus.PLANNED
        and not meeting.reached(MeetingStatus.HELD)
    )


def meetings_open_for_items(partnership: Partnership) -> QuerySet[Meeting]:
    """Coming meetings items can be placed on, soonest first."""
    return services.upcoming(partnership).exclude(
        status__in=[
            MeetingStatus.PLANNED,
            MeetingStatus.HELD,
            MeetingStatus.MINUTES_DRAFTED,
            MeetingStatus.MINUTES_APPROVED,
        ]
    )


def _check_meeting_open(meeting: Meeting, partnership: Partnership, field: str) -> None:
    if meeting.partnership_id != partnership.pk:
        raise ValidationError({field: "Choose one of this partnership's meetings."})
    if meeting.is_cancelled:
        raise ValidationError({field: f"“{meeting.title}” is cancelled; choose another meeting."})
    if meeting.status == MeetingStatus.PLANNED:
        raise ValidationError(
            {
                field: f"The agenda of “{meeting.title}” is not open for items yet; "
                "submit the item to the forward plan instead."
            }
        )
    if meeting.reached(MeetingStatus.HELD):
        raise ValidationError(
            {field: f"“{meeting.title}” has already been held; choose a later meeting."}
        )


# Time on the agenda ------------------------------------------------------------------


def _accepted(meeting: Meeting) -> QuerySet[AgendaItem]:
    return AgendaItem.objects.filter(meeting=meeting, status=ItemStatus.ACCEPTED)


def agenda_minutes(meeting: Meeting) -> int:
    return _accepted(meeting).aggregate(total=Sum("minutes_needed"))["total"] or 0


def _check_fits(meeting: Meeting, total: int, field: str = "minutes_needed") -> None:
    """Refuse a change that would make the accepted items run past the meeting's end."""
    over = total - meeting.length_minutes
    if over > 0:
        raise ValidationError(
            {
                field: f"That would make the agenda {total} minutes long, {over} minutes "
                f"longer than the meeting ({meeting.length_minutes} minutes). Defer or "
                f"decline an item, or shorten the time given to items by {over} minutes, "
                "first."
            }
        )


def _lock_meeting(meeting: Meeting) -> Meeting:
    """Lock the meeting's row until the transaction ends, so changes to its agenda's length
    take turns: without it, two accepts at once could each see room for their item.

    Always taken after the item rows, never before, so that two changes cannot wait on
    each other.
    """
    return Meeting.objects.select_for_update().get(pk=meeting.pk)


def _check_not_over(meeting: Meeting) -> None:
    total = agenda_minutes(meeting)
    over = total - meeting.length_minutes
    if over > 0:
        raise ValidationError(
            f"The agenda is {total} minutes long, {over} minutes longer than the meeting "
            f"({meeting.length_minutes} minutes). Defer or decline an item, or shorten the "
            f"time given to items by {over} minutes, then approve it."
        )


# Submitting and changing items -------------------------------------------------------


def _save_paper(*, item: AgendaItem, by: User, upload: UploadedFile, title: str) -> Paper:
    checked = uploads.check_upload(upload)
    return _store(item=item, by=by, upload=upload, title=title, checked=checked)


def _store(
    *,
    item: AgendaItem,
    by: User,
    upload: UploadedFile,
    title: str,
    checked: uploads.CheckedPaper,
) -> Paper:
    paper = Paper(
        item=item,
        title=(title.strip() or item.title)[:200],
        original_name=checked.original_name,
        kind=checked.kind,
        size=checked.size,
        pages=checked.pages,
        uploaded_by=by,
    )
    upload.seek(0)
    paper.file.save(uploads.stored_name(checked), upload, save=False)
    paper.save()
    return paper


def item_submit(
    *,
    partnership: Partnership,
    by: User,
    meeting: Meeting | None,
    title: str,
    description: str = "",
    ask: str,
    nature: str,
    presenter: str = "",
    minutes_needed: int,
    paper: UploadedFile | None = None,
    paper_title: str = "",
) -> AgendaItem:
    """A new item from any current member, for a meeting or (meeting None) the forward plan."""
    membership = access.my_membership(by, partnership)
    if membership is None:
        raise PermissionDenied("Only current members of the partnership can submit items.")
    if meeting is not None:
        _check_meeting_open(meeting, partnership, "meeting")
    # Check the file before anything is saved, so a refusal leaves nothing behind.
    checked = uploads.check_upload(paper) if paper is not None else None
    now = timezone.now()
    late = meeting is not None and now > services.submission_deadline(
        meeting, services.settings_for(partnership)
    )
    item = AgendaItem(
        partnership=partnership,
        meeting=meeting,
        title=title.strip(),
        description=description.strip(),
        ask=ask,
        nature=nature,
        presenter=presenter.strip(),
        minutes_needed=minutes_needed,
        late=late,
        submitted_by=by,
        submitter_side=membership.side,
        submitted_at=now,
    )
    item.full_clean(exclude=["position"])
    with transaction.atomic():
        item.save()
        if paper is not None and checked is not None:
            _store(item=item, by=by, upload=paper, title=paper_title, checked=checked)
    return item


@transaction.atomic
def item_update(*, item: AgendaItem, by: User, **fields: Any) -> AgendaItem:
    """Change an item; a change to what an accepted item says needs the agenda approved again."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Cannot change {', '.join(sorted(unknown))} of an item.")
    locked = (
        AgendaItem.objects.select_for_update(of=("self",)).select_related("meeting").get(pk=item.pk)
    )
    changed = [name for name, value in fields.items() if getattr(locked, name) != value]
    for name in changed:
        setattr(locked, name, fields[name])
    locked.full_clean(exclude=["position"])
    on_agenda = locked.meeting is not None and locked.status == ItemStatus.ACCEPTED
    if on_agenda and "minutes_needed" in changed:
        assert locked.meeting is not None
        # Lock the meeting so two changes at once cannot both pass the check below.
        current = _lock_meeting(locked.meeting)
        others = _accepted(current).exclude(pk=locked.pk)
        total = (others.aggregate(t=Sum("minutes_needed"))["t"] or 0) + locked.minutes_needed
        _check_fits(current, total)
    locked.save()
    if on_agenda and any(name in AGENDA_FIELDS for name in changed):
        assert locked.meeting is not None
        agenda_changed(locked.meeting, f"“{locked.title}” changed")
    return locked


# Triage ------------------------------------------------------------------------------


def _place_before_aob(meeting: Meeting, item: AgendaItem) -> None:
    """Put the item last on the agenda but before any other business, which stays last."""
    aob = _accepted(meeting).filter(standing=Standing.AOB).first()
    highest = (
        _accepted(meeting)
        .exclude(standing=Standing.AOB)
        .exclude(pk=item.pk)
        .aggregate(top=Max("position"))["top"]
        or 0
    )
    item.position = highest + 10
    if aob is not None and aob.position <= item.position:
        AgendaItem.objects.filter(pk=aob.pk).update(position=item.position + 10)


def _triage_target(item: AgendaItem, defer_to: Meeting | None) -> Meeting:
    target = item.meeting or defer_to
    if target is None:
        raise ValidationError({"meeting": "Choose the meeting to accept this item into."})
    _check_meeting_open(target, item.partnership, "meeting")
    return target


@transaction.atomic
def item_triage(
    *,
    item: AgendaItem,
    by: User,
    decision: str,
    reason: str = "",
    defer_to: Meeting | None = None,
) -> AgendaItem:
    """Accept, defer or decline an item. Defer and decline need a reason the submitter sees."""
    require_triage(by, item.partnership)
    locked = (
        AgendaItem.objects.select_for_update(of=("self",)).select_related("meeting").get(pk=item.pk)
    )
    if locked.standing:
        raise ValidationError("Standing items stay on every agenda; change their time instead.")
    reason = reason.strip()
    was_on = locked.meeting if locked.status == ItemStatus.ACCEPTED else None
    if decision in ("defer", "decline") and not reason:
        raise ValidationError(
            {"reason": f"Say why the item is {decision}d; the person who raised it sees this."}
        )
    if decision == "accept":
        if locked.status == ItemStatus.ACCEPTED:
            raise ValidationError("This item is already on the agenda.")
        target = _triage_target(locked, defer_to)
        # Checked against the locked row, so its length is the current one too.
        current = _lock_meeting(target)
        _check_fits(current, agenda_minutes(current) + locked.minutes_needed, "meeting")
        if locked.meeting is None:
            # Taken from the forward plan: the member submitted it in time (the plan has
            # no deadline) and the chairs chose the meeting, so it is not late for it.
            locked.late = False
        locked.meeting = target
        locked.status = ItemStatus.ACCEPTED
        _place_before_aob(target, locked)
    elif decision == "defer":
        if defer_to is not None:
            _check_meeting_open(defer_to, locked.partnership, "defer_to")
            if locked.meeting is not None and (
                defer_to.pk == locked.meeting_id or defer_to.starts_at <= locked.meeting.starts_at
            ):
                raise ValidationError(
                    {"defer_to": "Choose a meeting later than the one the item is on now."}
                )
        if locked.meeting is None and defer_to is None:
            raise ValidationError(
                {"defer_to": "The item is already on the forward plan; choose a meeting."}
            )
        locked.deferred_from = locked.meeting
        locked.meeting = defer_to
        locked.status = ItemStatus.DEFERRED
        # Late means late for the meeting the item is on: judge it again against the new
        # meeting's deadline (an item late for one meeting may be in good time for a later
        # one). The forward plan has no deadline, so an item deferred there is not late.
        locked.late = defer_to is not None and locked.submitted_at > services.submission_deadline(
            defer_to, services.settings_for(locked.partnership)
        )
    elif decision == "decline":
        locked.status = ItemStatus.DECLINED
    else:
        raise ValidationError({"decision": "Choose to accept, defer or decline the item."})
    locked.triage_reason = reason
    locked.triaged_by = by
    locked.triaged_at = timezone.now()
    locked.save()
    if decision == "accept":
        assert locked.meeting is not None
        agenda_changed(locked.meeting, f"“{locked.title}” added")
    elif was_on is not None:
        agenda_changed(was_on, f"“{locked.title}” {decision}d")
    return locked


# Ordering ----------------------------------------------------------------------------


def _renumber(items: list[AgendaItem]) -> None:
    for n, each in enumerate(items, start=1):
        each.position = n * 10
    AgendaItem.objects.bulk_update(items, ["position"])


def _movable(meeting: Meeting) -> list[AgendaItem]:
    """Accepted items in order, except any other business, which always comes last."""
    return list(
        _accepted(meeting)
        .exclude(standing=Standing.AOB)
        .select_for_update()
        .order_by("position", "pk")
    )


@transaction.atomic
def item_move(*, item: AgendaItem, by: User, direction: str) -> None:
    require_triage(by, item.partnership)
    if item.meeting is None or item.status != ItemStatus.ACCEPTED:
        raise ValidationError("Only items on a meeting's agenda can be moved.")
    if item.standing == Standing.AOB:
        raise ValidationError("Any other business always comes last.")
    items = _movable(item.meeting)
    index = next(i for i, each in enumerate(items) if each.pk == item.pk)
    other = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= other < len(items):
        raise ValidationError("The item cannot move further that way.")
    items[index], items[other] = items[other], items[index]
    _renumber(items)
    agenda_changed(item.meeting, f"“{item.title}” moved {direction}")


@transaction.atomic
def agenda_reorder(*, meeting: Meeting, by: User, positions: dict[int, int]) -> None:
    """Put the items in the order of the numbers given (item id -> place, 1 first)."""
    require_triage(by, meeting.partnership)
    items = _movable(meeting)
    # Reordering keeps the length, but take the meeting's lock (after the items', as
    # everywhere) so it takes turns with accepts, time changes and sign-off.
    _lock_meeting(meeting)
    if set(positions) - {each.pk for each in items}:
        raise ValidationError("The agenda changed while you were ordering it; try again.")
    current = {each.pk: n for n, each in enumerate(items, start=1)}
    ordered = sorted(
        items, key=lambda each: (positions.get(each.pk, current[each.pk]), current[each.pk])
    )
    if ordered == items:
        return
    _renumber(ordered)
    agenda_changed(meeting, "Items reordered")


# Sign-off ----------------------------------------------------------------------------


def agenda_changed(meeting: Meeting, what: str) -> None:
    """The agenda changed: earlier approvals stop counting and it must be approved again.

    An agreed agenda goes back to open; a meeting further along keeps its stage and its
    page says the changed agenda needs approval again.
    """
    logger.info("Agenda of meeting %s changed: %s", meeting.pk, what)
    Meeting.objects.filter(pk=meeting.pk).update(
        agenda_revision=F("agenda_revision") + 1,
        agenda_agreed_at=None,
        status=Case(
            When(status=MeetingStatus.AGENDA_AGREED, then=Value(MeetingStatus.AGENDA_OPEN)),
            default=F("status"),
        ),
        updated_at=timezone.now(),
    )
    meeting.refresh_from_db(fields=["agenda_revision", "agenda_agreed_at", "status", "updated_at"])


def agenda_state(meeting: Meeting) -> dict[str, Any]:
    """Who has approved the current revision and whether every side has."""
    sides = list(Side.objects.filter(partnership_id=meeting.partnership_id))
    # Only a chair's or co-chair's approval counts (SIGNOFF_ROLES; a manager's too where
    # there are no sides); one recorded by anyone else, such as a vice-chair, is ignored.
    # Any of their memberships counts, ended or not, so an approval stands after its
    # chair steps down.
    roles = access.SIGNOFF_ROLES if sides else access.SIGNOFF_ROLES | MANAGING_ROLES
    signs_off = Membership.objects.filter(
        partnership_id=meeting.partnership_id,
        person_id=OuterRef("approved_by_id"),
        role__in=roles,
    )
    approvals = list(
        AgendaApproval.objects.filter(meeting=meeting, revision=meeting.agenda_revision)
        .filter(Exists(signs_off))
        .select_related("side", "approved_by")
        .order_by("approved_at", "pk")
    )
    approved_ids = {a.side_id for a in approvals}
    approved_sides = [s for s in sides if s.pk in approved_ids]
    waiting_sides = [s for s in sides if s.pk not in approved_ids]
    agreed = not waiting_sides if sides else bool(approvals)
    return {
        "agreed": agreed,
        "needed_sides": sides,
        "approved_sides": approved_sides,
        "waiting_sides": waiting_sides,
        "approvals": approvals,
        "revision": meeting.agenda_revision,
    }


def _approver_side(meeting: Meeting, by: User) -> Side | None:
    partnership = meeting.partnership
    chairing = (
        access.chair_memberships(by, partnership, access.SIGNOFF_ROLES)
        .select_related("side")
        .first()
    )
    if not Side.objects.filter(partnership=partnership).exists():
        if chairing is None and not can_manage(by, partnership):
            raise PermissionDenied(SIGNOFF_ONLY_NO_SIDES)
        return None
    if chairing is None:
        raise PermissionDenied(SIGNOFF_ONLY)
    if chairing.side is None:
        raise ValidationError(
            "Your membership has no side, so your approval cannot count for a side. Ask a "
            "manager to record your side, then approve again."
        )
    return chairing.side


@transaction.atomic
def agenda_approve(*, meeting: Meeting, by: User, revision: int | None = None) -> AgendaApproval:
    """A chair's sign-off; the agenda is agreed once a chair of every side has signed off.

    `revision` is the version of the agenda the chair read: if it has changed since,
    the approval is refused so nobody signs off what they have not seen.
    """
    side = _approver_side(meeting, by)
    locked = Meeting.objects.select_for_update().select_related("partnership").get(pk=meeting.pk)
    if revision is not None and revision != locked.agenda_revision:
        raise ValidationError(
            {
                "revision": "The agenda has changed since you read it (it is now revision "
                f"{locked.agenda_revision}): read the current agenda and approve that."
            }
        )
    if locked.is_cancelled or locked.status == MeetingStatus.PLANNED or locked.reached_held:
        raise ValidationError(
            "The agenda can be approved only while it is open and the meeting is to come."
        )
    _check_not_over(locked)
    if AgendaApproval.objects.filter(
        meeting=locked, revision=locked.agenda_revision, approved_by=by
    ).exists():
        raise ValidationError("You have already approved this version of the agenda.")
    approval = AgendaApproval.objects.create(
        meeting=locked, side=side, approved_by=by, revision=locked.agenda_revision
    )
    state = agenda_state(locked)
    if state["agreed"] and locked.agenda_agreed_at is None:
        Meeting.objects.filter(pk=locked.pk).update(
            agenda_agreed_at=timezone.now(),
            status=Case(
                When(status=MeetingStatus.AGENDA_OPEN, then=Value(MeetingStatus.AGENDA_AGREED)),
                default=F("status"),
            ),
            updated_at=timezone.now(),
        )
        if locked.reached(MeetingStatus.PAPERS_PUBLISHED):
            # Imported here: the papers area reads the agenda, so a top-level import would loop.
            from partnerwell.meetings import papers

            papers.pack_request_rebuild(
                locked,
                f"Agenda changed: version {locked.agenda_revision + 1} agreed by all sides.",
            )
    meeting.refresh_from_db()
    return approval


# Reading the agenda ------------------------------------------------------------------


def agenda_rows(meeting: Meeting) -> list[dict[str, Any]]:
    """The accepted items in order, each with its computed start and end time (local),
    its papers and, for the standing items, the actions and risks they list.

    Each row: {"item": AgendaItem, "number": int, "start": datetime, "end": datetime,
    "papers": list[Paper], "actions": list[Action] (action-log review only),
    "risks": list[Risk] (escalated risks only)}. A constant number of queries.
    """
    items = list(
        _accepted(meeting)
        .select_related("submitter_side", "submitted_by")
        .prefetch_related(
            Prefetch(
                "papers",
                queryset=Paper.objects.filter(replaced_at__isnull=True).order_by(
                    "uploaded_at", "pk"
                ),
                to_attr="current_papers",
            )
        )
        .order_by(
            Case(When(standing=Standing.AOB, then=Value(1)), default=Value(0)), "position", "pk"
        )
    )
    standings = {each.standing for each in items}
    actions: list[Action] = []
    risks: list[Risk] = []
    if Standing.ACTIONS in standings:
        actions = _actions_for_review(meeting)
    if Standing.RISKS in standings:
        risks = list(
            Risk.objects.filter(
                partnership_id=meeting.partnership_id, status=RiskStatus.OPEN, escalate=True
            ).select_related("owner__person")
        )
    start = meeting.local_start
    rows = []
    for number, each in enumerate(items, start=1):
        end = start + dt.timedelta(minutes=each.minutes_needed)
        rows.append(
            {
                "item": each,
                "number": number,
                "start": start,
                "end": end,
                "papers": each.current_papers,
                "actions": actions if each.standing == Standing.ACTIONS else [],
                "risks": risks if each.standing == Standing.RISKS else [],
                "over": end > meeting.ends_at,
            }
        )
        start = end
    return rows


def _actions_for_review(meeting: Meeting) -> list[Action]:
    """The actions the action-log review covers: open now for a meeting to come; for a
    meeting that has started, those open when it started (so its agenda stays as it was).

    Each carries `overdue_then`: past its due date on the meeting's day (or today, if sooner).
    """
    actions = Action.objects.filter(partnership_id=meeting.partnership_id)
    day = meeting.local_start.date()
    if meeting.starts_at <= timezone.now():
        actions = actions.filter(created_at__lte=meeting.starts_at).filter(
            Q(status__in=OPEN_STATUSES)
            | Q(status=ActionStatus.DONE, done_on__gte=day)
            | Q(status=ActionStatus.DROPPED, updated_at__gte=meeting.starts_at)
        )
    else:
        actions = actions.open()
    found = list(actions.select_related("owner__person", "organisation").order_by("due_date", "pk"))
    as_at = min(day, timezone.localdate())
    for action in found:
        action.overdue_then = action.due_date < as_at  # type: ignore[attr-defined]
    return found


def agenda_balance(meeting: Meeting) -> dict[str, Any]:
    """Time on strategic vs operational items, and the items raised by each side."""
    time = AgendaItem.objects.filter(
        meeting=meeting, status=ItemStatus.ACCEPTED, standing=""
    ).aggregate(
        strategic=Sum("minutes_needed", filter=Q(nature=Nature.STRATEGIC), default=0),
        operational=Sum("minutes_needed", filter=Q(nature=Nature.OPERATIONAL), default=0),
    )
    strategic, operational = time["strategic"], time["operational"]
    total = strategic + operational
    raised = {
        row["submitter_side"]: row
        for row in AgendaItem.objects.filter(meeting=meeting, standing="")
        .values("submitter_side")
        .annotate(raised=Count("pk"), accepted=Count("pk", filter=Q(status=ItemStatus.ACCEPTED)))
        .order_by()
    }
    sides = list(Side.objects.filter(partnership_id=meeting.partnership_id))
    by_side = [
        {
            "name": side.name,
            "raised": raised.get(side.pk, {}).get("raised", 0),
            "accepted": raised.get(side.pk, {}).get("accepted", 0),
        }
        for side in sides
    ]
    no_side = raised.get(None)
    if no_side or not sides:
        label = "No side recorded" if sides else "All members"
        by_side.append(
            {
                "name": label,
                "raised": (no_side or {}).get("raised", 0),
                "accepted": (no_side or {}).get("accepted", 0),
            }
        )
    return {
        "strategic_minutes": strategic,
        "operational_minutes": operational,
        "total_minutes": total,
        "strategic_percent": round(100 * strategic / total) if total else None,
        "operational_percent": round(100 * operational / total) if total else None,
        "by_side": by_side,
        "rule": BALANCE_RULE,
    }


def waiting_items(meeting: Meeting) -> list[AgendaItem]:
    return list(
        AgendaItem.objects.filter(meeting=meeting, status__in=WAITING)
        .select_related("submitted_by", "submitter_side")
        .order_by("submitted_at", "pk")
    )


def forward_plan(partnership: Partnership) -> dict[str, Any]:
    """Items with no meeting yet, and each coming meeting's items waiting for the chairs."""
    unplaced = list(
        AgendaItem.objects.filter(partnership=partnership, meeting__isnull=True, status__in=WAITING)
        .select_related("submitted_by", "submitter_side")
        .order_by("submitted_at", "pk")
    )
    meetings = list(services.upcoming(partnership))
    by_meeting: dict[int, list[AgendaItem]] = defaultdict(list)
    for each in (
        AgendaItem.objects.filter(meeting__in=meetings, status__in=WAITING)
        .select_related("submitted_by", "submitter_side")
        .order_by("submitted_at", "pk")
    ):
        assert each.meeting_id is not None
        by_meeting[each.meeting_id].append(each)
    return {
        "unplaced": unplaced,
        "meetings": [{"meeting": m, "items": by_meeting.get(m.pk, [])} for m in meetings],
    }


def meeting_section(meeting: Meeting, user: User) -> dict[str, Any]:
    """What the meeting page shows of this area (template meetings/sections/agenda.html)."""
    partnership = meeting.partnership
    rows = agenda_rows(meeting)
    total = sum(row["item"].minutes_needed for row in rows)
    state = agenda_state(meeting)
    triager = can_triage(user, partnership)
    chairing = access.can_sign_off(user, partnership)
    no_sides = not state["needed_sides"]
    mine = {a.approved_by_id for a in state["approvals"]}
    return {
        "rows": rows,
        "total_minutes": total,
        "over_minutes": max(0, total - meeting.length_minutes),
        "state": state,
        "balance": agenda_balance(meeting),
        # Everyone sees what waits for the chairs, as on the forward plan; only chairs triage.
        "waiting": waiting_items(meeting),
        "can_triage": triager,
        "can_approve": (chairing or (no_sides and triager)) and user.pk not in mine,
        "can_submit": open_for_items(meeting),
        "deadline": services.submission_deadline(
            meeting, services.settings_for(meeting.partnership)
        ),
        "open": open_for_items(meeting),
        "needs_reapproval": meeting.reached(MeetingStatus.PAPERS_PUBLISHED)
        and not state["agreed"]
        and meeting.agenda_revision > 0,
    }


# Papers ------------------------------------------------------------------------------


def _papers_changed(item: AgendaItem, note: str) -> None:
    meeting = item.meeting
    if meeting is not None and meeting.reached(MeetingStatus.PAPERS_PUBLISHED):
        from partnerwell.meetings import papers

        papers.pack_request_rebuild(meeting, note)


def _check_can_add(item: AgendaItem, by: User) -> None:
    if not can_add_paper(by, item):
        raise PermissionDenied(
            "Only the person who raised the item, or a chair or manager, can add its papers."
        )
    if item.meeting is not None and item.meeting.reached_held:
        raise ValidationError({"paper": "The meeting has been held, so its papers are final."})


def paper_add(*, item: AgendaItem, by: User, upload: UploadedFile, title: str = "") -> Paper:
    _check_can_add(item, by)
    paper = _save_paper(item=item, by=by, upload=upload, title=title)
    _papers_changed(item, f"Paper ‘{paper.title}’ added")
    return paper


def paper_replace(*, paper: Paper, by: User, upload: UploadedFile) -> Paper:
    """A new version of a paper; the old one is kept, marked as replaced."""
    item = paper.item
    _check_can_add(item, by)
    if paper.replaced_at is not None:
        raise ValidationError(
            {"replace": "That paper has already been replaced; choose the current one."}
        )
    checked = uploads.check_upload(upload)
    with transaction.atomic():
        new = _store(item=item, by=by, upload=upload, title=paper.title, checked=checked)
        Paper.objects.filter(pk=paper.pk).update(replaced_at=timezone.now())
    _papers_changed(item, f"Paper ‘{new.title}’ replaced")
    return new
