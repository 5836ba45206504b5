"""Minutes, decisions and the actions minuted with them.

Minutes are written per agenda item once a meeting has started, circulated as a
draft, and approved under the standing item "Minutes of the last meeting" of the
next meeting once that meeting has started. Approved minutes are locked; a
correction is a new version (circulated at once, with its reason) that is approved
the same way, and the version it replaces is kept, marked superseded.

Decisions carry a reference numbered per partnership and year (D2026/01, D2026/02…);
actions minuted under a decision go straight into delivery's action log.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from partnerwell.core.access import can_manage
from partnerwell.core.exports import safe_cell
from partnerwell.core.models import Membership, Organisation, Partnership, User
from partnerwell.delivery.actions import Origin, action_create
from partnerwell.delivery.models import Action, ActionSource, ActionStatus
from partnerwell.meetings import access, services
from partnerwell.meetings.models import (
    LIFECYCLE,
    AgendaItem,
    Decision,
    ItemStatus,
    Meeting,
    MeetingStatus,
    MinuteEntry,
    Minutes,
    MinutesStatus,
)
from partnerwell.meetings.tasks import email_members

# How many times a decision's reference is chosen again when another save took it first.
REFERENCE_ATTEMPTS = 5

LOCKED = (
    "These minutes were approved and are locked. To change them, record a correction "
    "with the reason for it."
)
BACK_TO_DRAFT = (
    "The circulated minutes were changed, so they are a draft again: circulate them again "
    "so that members see the changes before they are approved."
)
# A version in one of these states has been sent to the members.
SENT = (MinutesStatus.CIRCULATED, MinutesStatus.APPROVED, MinutesStatus.SUPERSEDED)
# How far a decision's date may be from the day of the meeting that took it.
DECIDED_WITHIN_DAYS = 366


# Reading ---------------------------------------------------------------------------


def minutes_current(meeting: Meeting) -> Minutes | None:
    """The latest version of the meeting's minutes, or None before any are written."""
    return Minutes.objects.filter(meeting=meeting).order_by("-version").first()


def has_started(meeting: Meeting, now: dt.datetime | None = None) -> bool:
    """Whether minutes may be written: the meeting is held (or later) or has begun."""
    now = now or timezone.now()
    return meeting.reached_held or meeting.starts_at <= now


def minute_items(meeting: Meeting) -> list[AgendaItem]:
    """The accepted items of the meeting, in agenda order."""
    return list(
        AgendaItem.objects.filter(meeting=meeting, status=ItemStatus.ACCEPTED).order_by(
            "position", "pk"
        )
    )


def entry_texts(minutes: Minutes | None) -> dict[int, str]:
    """What each item's entry says in this version (item id -> text)."""
    if minutes is None:
        return {}
    return dict(MinuteEntry.objects.filter(minutes=minutes).values_list("item_id", "text"))


def decision_actions(decision_ids: list[int]) -> dict[int, list[Action]]:
    """The actions minuted under each decision, in one query."""
    found: dict[int, list[Action]] = {pk: [] for pk in decision_ids}
    actions = (
        Action.objects.filter(source=ActionSource.DECISION, source_decision_id__in=decision_ids)
        .select_related("owner__person", "organisation")
        .order_by("due_date", "pk")
    )
    for action in actions:
        assert action.source_decision_id is not None
        found[action.source_decision_id].append(action)
    return found


def is_correction(minutes: Minutes) -> bool:
    return minutes.version > 1


def approves_at(minutes: Minutes, meeting: Meeting, previous: Meeting | None) -> bool:
    """Whether `meeting` is where this version is approved (`previous` is the meeting
    before it, services.previous_meeting(meeting)).

    A first version is approved at the next meeting after the one it minutes. A
    correction is approved at the first meeting still to end when it was made.
    """
    minuted = minutes.meeting
    if (
        meeting.is_cancelled
        or meeting.partnership_id != minuted.partnership_id
        or meeting.starts_at <= minuted.starts_at
    ):
        return False
    if not is_correction(minutes):
        return previous is not None and previous.pk == minuted.pk
    if meeting.ends_at < minutes.created_at:
        return False
    # An earlier meeting after the minuted one, still going when the correction was made,
    # would have been the place to approve it.
    return (
        previous is None
        or previous.starts_at <= minuted.starts_at
        or previous.ends_at < minutes.created_at
    )


def to_approve_at(meeting: Meeting, previous: Meeting | None) -> list[Minutes]:
    """Circulated minutes of earlier meetings that this meeting is the place to approve."""
    waiting = Minutes.objects.filter(
        status=MinutesStatus.CIRCULATED,
        meeting__partnership_id=meeting.partnership_id,
        meeting__starts_at__lt=meeting.starts_at,
    ).select_related("meeting")
    return [m for m in waiting if approves_at(m, meeting, previous)]


# Writing the minutes ---------------------------------------------------------------


def _check_entries(meeting: Meeting, entries: dict[int, str]) -> list[AgendaItem]:
    items = minute_items(meeting)
    known = {item.pk for item in items}
    if set(entries) - known:
        raise ValidationError("Minutes can only be written for the accepted items of this meeting.")
    return items


def _write_entries(minutes: Minutes, items: list[AgendaItem], entries: dict[int, str]) -> bool:
    """Create or change one entry per item named in `entries` (three queries at most);
    whether any text changed."""
    existing = {e.item_id: e for e in MinuteEntry.objects.filter(minutes=minutes)}
    changed, new = [], []
    for item in items:
        if item.pk not in entries:
            continue
        text = entries[item.pk].strip()
        entry = existing.get(item.pk)
        if entry is None:
            new.append(MinuteEntry(minutes=minutes, item=item, text=text))
        elif entry.text != text:
            entry.text = text
            changed.append(entry)
    MinuteEntry.objects.bulk_update(changed, ["text"])
    MinuteEntry.objects.bulk_create(new)
    return bool(changed or [e for e in new if e.text])


@transaction.atomic
def minutes_save(
    *, meeting: Meeting, by: User, summary: str = "", entries: dict[int, str]
) -> Minutes:
    """Create the first version of the minutes as a draft, or change the current one.

    Refused before the meeting has started and once the minutes are approved. Changing
    circulated minutes puts them back to draft: members were sent what they said, so
    they must be circulated again before they can be approved.
    """
    # Locked, so two people saving the first draft at once cannot both make version 1.
    locked_meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if locked_meeting.is_cancelled:
        raise ValidationError("This meeting was cancelled, so it has no minutes.")
    if not has_started(locked_meeting):
        raise ValidationError("Minutes can be written once the meeting has started.")
    items = _check_entries(locked_meeting, entries)
    current = minutes_current(locked_meeting)
    if current is not None and current.is_locked:
        raise ValidationError(LOCKED)
    if current is None:
        current = Minutes.objects.create(
            meeting=locked_meeting, version=1, summary=summary.strip(), created_by=by
        )
        _write_entries(current, items, entries)
        return current
    changed = current.summary != summary.strip()
    current.summary = summary.strip()
    changed = _write_entries(current, items, entries) or changed
    fields = ["summary", "updated_at"]
    if changed and current.status == MinutesStatus.CIRCULATED:
        current.status = MinutesStatus.DRAFT
        current.circulated_at = None
        fields += ["status", "circulated_at"]
    current.save(update_fields=fields)
    return current


@task()
def send_minutes_circulated(minutes_id: int) -> int:
    """Email every current member a link to the circulated minutes; returns how many."""
    minutes = Minutes.objects.select_related("meeting__partnership").filter(pk=minutes_id).first()
    if minutes is None or minutes.status != MinutesStatus.CIRCULATED:
        return 0
    meeting = minutes.meeting
    link = settings.SITE_URL + reverse("meetings-view-minutes", args=[minutes.pk])
    if is_correction(minutes):
        subject = f"Corrected minutes of {meeting.title}, for approval"
    else:
        subject = f"Draft minutes of {meeting.title}, for approval"
    return email_members(
        meeting.partnership_id,
        subject,
        "meetings/minutes/email_circulated.txt",
        {"minutes": minutes, "meeting": meeting, "link": link},
    )


def _tell_members(minutes: Minutes) -> None:
    # After the commit, so the worker never reads minutes that were rolled back.
    transaction.on_commit(lambda: send_minutes_circulated.enqueue(minutes_id=minutes.pk))


def _move_meeting(meeting: Meeting, to: str) -> None:
    """Move the meeting forward to `to`; a meeting already there or beyond stays."""
    earlier = LIFECYCLE[: LIFECYCLE.index(to)]
    Meeting.objects.filter(pk=meeting.pk, status__in=earlier).update(
        status=to, updated_at=timezone.now()
    )


@transaction.atomic
def minutes_circulate(*, minutes: Minutes, by: User, notify: bool = True) -> Minutes:
    """Send the draft to the members for approval at the next meeting.

    notify=False records the circulation without emailing anyone (the demo's history).
    """
    locked = Minutes.objects.select_for_update().select_related("meeting").get(pk=minutes.pk)
    if locked.status == MinutesStatus.CIRCULATED:
        raise ValidationError("These minutes have already been circulated.")
    if locked.status != MinutesStatus.DRAFT:
        raise ValidationError(LOCKED)
    locked.status = MinutesStatus.CIRCULATED
    locked.circulated_at = timezone.now()
    locked.save(update_fields=["status", "circulated_at", "updated_at"])
    _move_meeting(locked.meeting, MeetingStatus.MINUTES_DRAFTED)
    if notify:
        _tell_members(locked)
    return locked


@transaction.atomic
def minutes_approve(*, minutes: Minutes, by: User, at_meeting: Meeting) -> Minutes:
    """Approve circulated minutes under the standing item of the meeting they are
    approved at; allowed only once that meeting has started. Approved minutes lock."""
    locked = Minutes.objects.select_for_update().select_related("meeting").get(pk=minutes.pk)
    if locked.status == MinutesStatus.DRAFT:
        raise ValidationError("Circulate the draft minutes before they are approved.")
    if locked.status != MinutesStatus.CIRCULATED:
        raise ValidationError("This version of the minutes is already approved or replaced.")
    if not approves_at(locked, at_meeting, services.previous_meeting(at_meeting)):
        if is_correction(locked):
            where = "the first meeting after the correction was made"
        else:
            where = "the next meeting after the one they minute"
        raise ValidationError(
            {"meeting": f"Minutes are approved under the standing item of {where}."}
        )
    if at_meeting.starts_at > timezone.now():
        local = at_meeting.local_start
        raise ValidationError(
            f"The minutes can be approved once “{at_meeting.title}” has started, "
            f"on {local:%-d %B %Y at %H:%M}."
        )
    locked.status = MinutesStatus.APPROVED
    locked.approved_at = timezone.now()
    locked.approved_at_meeting = at_meeting
    locked.save(update_fields=["status", "approved_at", "approved_at_meeting", "updated_at"])
    _move_meeting(locked.meeting, MeetingStatus.MINUTES_APPROVED)
    return locked


@transaction.atomic
def minutes_correct(
    *, minutes: Minutes, by: User, reason: str, summary: str, entries: dict[int, str]
) -> Minutes:
    """Correct approved minutes: a new version, circulated at once with its reason for
    approval like any draft; the approved version is kept, marked superseded."""
    if not reason.strip():
        raise ValidationError(
            {"reason": "Say why the minutes are corrected, so readers know what changed."}
        )
    locked = Minutes.objects.select_for_update().select_related("meeting").get(pk=minutes.pk)
    if locked.status != MinutesStatus.APPROVED:
        if locked.status == MinutesStatus.SUPERSEDED:
            raise ValidationError("This version was already corrected; correct the latest one.")
        raise ValidationError("These minutes are not approved yet: change the draft instead.")
    items = _check_entries(locked.meeting, entries)
    # Items left out of the correction keep what the approved version said.
    texts = {**entry_texts(locked), **entries}
    now = timezone.now()
    locked.status = MinutesStatus.SUPERSEDED
    locked.save(update_fields=["status", "updated_at"])
    corrected = Minutes.objects.create(
        meeting=locked.meeting,
        version=locked.version + 1,
        status=MinutesStatus.CIRCULATED,
        summary=summary.strip(),
        correction_reason=reason.strip(),
        circulated_at=now,
        created_by=by,
    )
    _write_entries(corrected, items, texts)
    _tell_members(corrected)
    return corrected


# Decisions -------------------------------------------------------------------------

# Any number of digits in the year, so one odd reference cannot stop the numbering.
_NUMBER = re.compile(r"^D\d+/(\d+)$")


def decided_on_problem(meeting: Meeting, decided_on: dt.date) -> str:
    """Why `decided_on` cannot be the date of a decision of `meeting`, or ""."""
    day = meeting.local_start.date()
    if abs((decided_on - day).days) <= DECIDED_WITHIN_DAYS:
        return ""
    return (
        f"The date of the decision must be within a year of the meeting, which was on "
        f"{day:%-d %B %Y}; leave it empty for the day of the meeting."
    )


def sees_every_decision(user: User, partnership: Partnership) -> bool:
    """Managers and chairs see decisions before the minutes are circulated."""
    return access.runs_meetings(user, partnership)


def visible_decisions(
    user: User, partnership: Partnership, decisions: QuerySet[Decision]
) -> QuerySet[Decision]:
    """The decisions the person may see: all for managers and chairs; for everyone
    else only those of meetings whose minutes have been circulated (any version sent
    out), as draft minutes and what they record are not shown to members."""
    if sees_every_decision(user, partnership):
        return decisions
    sent = Minutes.objects.filter(meeting_id=OuterRef("meeting_id"), status__in=SENT)
    return decisions.filter(Exists(sent))


def get_visible_decision(user: User, pk: int) -> Decision:
    """A decision of the person's partnership that they may see; 404 otherwise."""
    decision = access.get_decision(user, pk)
    found = Decision.objects.filter(pk=decision.pk)
    if not visible_decisions(user, decision.partnership, found).exists():
        raise Http404("No decision found.")
    return decision


def _next_reference(partnership: Partnership, year: int) -> str:
    prefix = f"D{year}/"
    taken = Decision.objects.filter(
        partnership=partnership, reference__startswith=prefix
    ).values_list("reference", flat=True)
    numbers = [int(m.group(1)) for ref in taken if (m := _NUMBER.match(ref))]
    return f"{prefix}{max(numbers, default=0) + 1:02d}"


@transaction.atomic
def decision_record(
    *,
    meeting: Meeting,
    item: AgendaItem | None,
    by: User,
    text: str,
    decided_on: dt.date | None = None,
) -> Decision:
    """A decision of the meeting, against one of its items, numbered D<year>/<n>."""
    if meeting.is_cancelled:
        raise ValidationError("This meeting was cancelled, so it took no decisions.")
    if not has_started(meeting):
        raise ValidationError("Decisions can be recorded once the meeting has started.")
    if not text.strip():
        raise ValidationError({"text": "Write down what was decided."})
    current = minutes_current(meeting)
    if current is not None and current.is_locked:
        raise ValidationError(LOCKED)
    if item is not None and (item.meeting_id != meeting.pk or item.status != ItemStatus.ACCEPTED):
        raise ValidationError({"item": "Choose an item on this meeting's agenda."})
    decided_on = decided_on or meeting.local_start.date()
    if problem := decided_on_problem(meeting, decided_on):
        raise ValidationError({"decided_on": problem})
    # Two decisions saved at once would otherwise both take the next number; the lock
    # queues them on PostgreSQL, and the retry covers databases without row locks.
    partnership = Partnership.objects.select_for_update().get(pk=meeting.partnership_id)
    for _ in range(REFERENCE_ATTEMPTS):
        try:
            with transaction.atomic():
                return Decision.objects.create(
                    partnership=partnership,
                    meeting=meeting,
                    item=item,
                    reference=_next_reference(partnership, decided_on.year),
                    text=text.strip(),
                    decided_on=decided_on,
                    created_by=by,
                )
        except IntegrityError:
            continue
    raise ValidationError("Another decision was being saved at the same moment; save it again.")


def decision_search(
    partnership: Partnership, q: str = "", year: int | None = None
) -> QuerySet[Decision]:
    """The partnership's decisions, newest first, each word of `q` found in the text,
    reference, item title or meeting title (any case), with their number of actions."""
    found = Decision.objects.filter(partnership=partnership)
    for word in q.split()[:10]:
        found = found.filter(
            Q(text__icontains=word)
            | Q(reference__icontains=word)
            | Q(item__title__icontains=word)
            | Q(meeting__title__icontains=word)
        )
    if year is not None:
        found = found.filter(decided_on__year=year)
    actions = (
        Action.objects.filter(
            partnership_id=OuterRef("partnership_id"),
            source=ActionSource.DECISION,
            source_decision_id=OuterRef("pk"),
        )
        .order_by()
        .values("source_decision_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        found.select_related("meeting", "item")
        .annotate(action_count=Coalesce(Subquery(actions, output_field=IntegerField()), 0))
        .order_by("-decided_on", "-pk")
    )


def decision_years(user: User, partnership: Partnership) -> list[int]:
    """The years of the decisions the person may see, newest first."""
    decisions = visible_decisions(
        user, partnership, Decision.objects.filter(partnership=partnership)
    )
    return [d.year for d in decisions.dates("decided_on", "year", order="DESC")]


EXPORT_HEADER = [
    "reference",
    "decided on",
    "decision",
    "meeting",
    "meeting date",
    "agenda item",
    "actions",
    "link",
]


def decision_export_rows(decisions: Any) -> list[list[str]]:
    """The decision log as text cells, each made safe from spreadsheet formulas."""
    rows = []
    for d in decisions:
        values = (
            d.reference,
            d.decided_on.isoformat(),
            d.text,
            d.meeting.title,
            d.meeting.starts_at.astimezone(d.meeting.tz).date().isoformat(),
            d.item.title if d.item else "",
            str(getattr(d, "action_count", 0)),
            settings.SITE_URL + d.get_absolute_url(),
        )
        rows.append([safe_cell(str(v)) for v in values])
    return rows


# Actions minuted with decisions -----------------------------------------------------


def action_from_decision(
    *,
    decision: Decision,
    by: User,
    title: str,
    owner: Membership,
    organisation: Organisation | None,
    due_date: dt.date,
    detail: str = "",
) -> Action:
    """An agreed action in the action log, coming from the decision."""
    if due_date < decision.decided_on:
        raise ValidationError(
            {"due_date": "The due date cannot be before the day of the decision."}
        )
    if not title.strip():
        raise ValidationError({"title": "Say what is to be done."})
    return action_create(
        by=by,
        partnership=decision.partnership,
        title=title,
        owner=owner,
        due_date=due_date,
        detail=detail,
        organisation=organisation,
        status=ActionStatus.AGREED,
        origin=Origin(source=ActionSource.DECISION, decision_id=decision.pk),
    )


@transaction.atomic
def action_minute(
    *,
    meeting: Meeting,
    by: User,
    decision: Decision | None,
    item: AgendaItem | None,
    title: str,
    owner: Membership,
    organisation: Organisation | None,
    due_date: dt.date,
    detail: str = "",
) -> Action:
    """An action minuted under a decision or, where the item has none, under a decision
    recorded from the action itself ("Agreed action: <title>"), since every minuted
    action answers a decision."""
    if decision is None:
        decision = decision_record(
            meeting=meeting, item=item, by=by, text=f"Agreed action: {title.strip()}"
        )
    elif decision.meeting_id != meeting.pk:
        raise ValidationError({"about": "Choose a decision of this meeting."})
    return action_from_decision(
        decision=decision,
        by=by,
        title=title,
        owner=owner,
        organisation=organisation,
        due_date=due_date,
        detail=detail,
    )


# The meeting page ------------------------------------------------------------------


def meeting_section(meeting: Meeting, user: User) -> dict[str, Any]:
    """What the meeting page shows of this area (template meetings/sections/minutes.html)."""
    previous = services.previous_meeting(meeting)
    waiting = to_approve_at(meeting, previous)
    now = timezone.now()
    return {
        "current": minutes_current(meeting),
        "can_manage": can_manage(user, meeting.partnership),
        "started": has_started(meeting, now) and not meeting.is_cancelled,
        "decisions": list(
            visible_decisions(user, meeting.partnership, Decision.objects.filter(meeting=meeting))
            .select_related("item")
            .order_by("pk")
        ),
        "to_approve": waiting,
        "approval_open": meeting.starts_at <= now and not meeting.is_cancelled,
    }
