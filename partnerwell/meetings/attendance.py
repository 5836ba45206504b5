"""Attendance: members' replies before a meeting, the register on the day, the quorum
and the attendance record over recent meetings.

Who counts: the partnership's current members on the day of the meeting, except
observers and advisers. A deputy membership is not a row of its own: the deputy is
listed under the member they stand in for, and counts for that member's organisation,
sector and side. A deputy counts as a decision-maker only when their own deputy
membership says they can take decisions.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from partnerwell.core.exports import safe_cell
from partnerwell.core.models import Membership, Partnership, Role, Sector, User
from partnerwell.meetings import access, services
from partnerwell.meetings.models import (
    LIFECYCLE,
    Attendance,
    Meeting,
    MeetingStatus,
    Presence,
    Reply,
)
from partnerwell.meetings.quorum import PresentMember, QuorumResult, QuorumRule, check_quorum

# Observers and advisers attend without counting; deputies are listed under their member.
NOT_COUNTED_ROLES = (Role.OBSERVER, Role.ADVISER, Role.DEPUTY)
COUNTS_AS_PRESENT = (Presence.PRESENT, Presence.DEPUTY)
HELD_STATUSES = LIFECYCLE[LIFECYCLE.index(MeetingStatus.HELD) :]

# What a reply before the meeting suggests for the register on the day.
PRESENCE_FROM_REPLY = {
    Reply.ATTENDING: Presence.PRESENT,
    Reply.APOLOGIES: Presence.APOLOGIES,
    Reply.DEPUTY: Presence.DEPUTY,
}

# The attendance warning rules, stated on the attendance record page.
FALL_POINTS = 15
LOW_RATE = 60


def meeting_day(meeting: Meeting) -> dt.date:
    return meeting.local_start.date()


def counting_members(meeting: Meeting) -> QuerySet[Membership]:
    """The members who count for this meeting: current on its day, not observers,
    advisers or deputies."""
    return (
        Membership.objects.current(on=meeting_day(meeting))
        .filter(partnership_id=meeting.partnership_id)
        .exclude(role__in=NOT_COUNTED_ROLES)
        .select_related("person", "organisation", "side")
        .order_by("person__name", "pk")
    )


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


# Replies before the meeting --------------------------------------------------------


def reply_closed_reason(meeting: Meeting) -> str:
    """Why replies are closed for this meeting, or "" while they are open."""
    if meeting.is_cancelled:
        return "This meeting was cancelled, so there is nothing to reply to."
    if meeting.is_past:
        return "This meeting has already taken place, so replies are closed."
    if meeting.starts_at <= timezone.now():
        return (
            "This meeting has started, so replies are closed; "
            "tell the chair in the meeting if your plans changed."
        )
    return ""


def counts_for_meetings(membership: Membership) -> bool:
    return membership.role not in NOT_COUNTED_ROLES


NOT_COUNTED_SENTENCE = (
    "Only members who count for the quorum reply; observers and advisers do not need to, "
    "and deputies are named by the member they stand in for."
)


@transaction.atomic
def attendance_reply(
    *,
    meeting: Meeting,
    membership: Membership,
    reply: str,
    deputy_name: str = "",
    note: str = "",
) -> Attendance:
    """Record (or change) a member's answer before the meeting."""
    if membership.partnership_id != meeting.partnership_id or not membership.is_current:
        raise ValidationError("Only current members of this partnership can reply.")
    if not counts_for_meetings(membership):
        raise ValidationError(NOT_COUNTED_SENTENCE)
    closed = reply_closed_reason(meeting)
    if closed:
        raise ValidationError(closed)
    if reply not in Reply.values:
        raise ValidationError(
            {"reply": "Choose whether you are attending, sending apologies or sending a deputy."}
        )
    name = " ".join(deputy_name.split())
    if reply == Reply.DEPUTY and not name:
        raise ValidationError({"deputy_name": "Give the name of the deputy you are sending."})
    attendance, _ = Attendance.objects.update_or_create(
        meeting=meeting,
        membership=membership,
        defaults={
            "reply": reply,
            "replied_at": timezone.now(),
            "deputy_name": name if reply == Reply.DEPUTY else "",
            "note": note.strip()[:300],
        },
    )
    return attendance


def my_reply(meeting: Meeting, membership: Membership | None) -> Attendance | None:
    if membership is None:
        return None
    return Attendance.objects.filter(meeting=meeting, membership=membership).first()


def registered_deputies(membership: Membership) -> list[Membership]:
    """The deputies registered for this member, to pick from when sending one."""
    return list(
        Membership.objects.current()
        .filter(deputy_for=membership, role=Role.DEPUTY)
        .select_related("person")
        .order_by("person__name")
    )


# The register on the day -----------------------------------------------------------


@dataclass
class RegisterRow:
    """One member on the register, with their registered deputies and what is recorded."""

    membership: Membership
    deputies: list[Membership] = field(default_factory=list)
    attendance: Attendance | None = None

    @property
    def initial_presence(self) -> str:
        if self.attendance is None:
            return ""
        if self.attendance.presence:
            return self.attendance.presence
        return (
            PRESENCE_FROM_REPLY.get(Reply(self.attendance.reply), "")
            if self.attendance.reply
            else ""
        )

    @property
    def initial_deputy_name(self) -> str:
        return self.attendance.deputy_name if self.attendance else ""

    @property
    def reply_label(self) -> str:
        if self.attendance is None or not self.attendance.reply:
            return "No reply"
        return Reply(self.attendance.reply).label


def register_rows(meeting: Meeting) -> list[RegisterRow]:
    """Every member who counts, in name order (three queries whatever the size)."""
    members = list(counting_members(meeting))
    deputies: dict[int, list[Membership]] = defaultdict(list)
    for deputy in (
        Membership.objects.current(on=meeting_day(meeting))
        .filter(partnership_id=meeting.partnership_id, role=Role.DEPUTY, deputy_for__isnull=False)
        .select_related("person")
        .order_by("person__name")
    ):
        assert deputy.deputy_for_id is not None
        deputies[deputy.deputy_for_id].append(deputy)
    recorded = {a.membership_id: a for a in Attendance.objects.filter(meeting=meeting)}
    return [RegisterRow(m, deputies.get(m.pk, []), recorded.get(m.pk)) for m in members]


def quorum_rule_for(partnership: Partnership) -> QuorumRule:
    """The partnership's quorum rule from its meeting settings, with names for display."""
    rules = services.settings_for(partnership)
    # Unsaved default rules have no organisations (and cannot be asked for them).
    organisations = (
        {o.pk: o.name for o in rules.quorum_organisations.order_by("name")} if rules.pk else {}
    )
    sectors = {
        value: Sector(value).label if value in Sector.values else value
        for value in rules.quorum_sectors or []
    }
    sides = (
        {s.pk: s.name for s in partnership.sides.order_by("order", "name")}
        if rules.quorum_each_side
        else {}
    )
    return QuorumRule(
        min_members=rules.quorum_min_members or None,
        organisations=organisations,
        sectors=sectors,
        sides=sides,
    )


Choices = dict[int, tuple[str, str]]


def evaluate(
    rule: QuorumRule, rows: list[RegisterRow], choices: Choices
) -> tuple[QuorumResult, int]:
    """The quorum and the number of decision-makers present for these register choices."""
    present: list[PresentMember] = []
    decision_makers = 0
    for row in rows:
        presence, deputy_name = choices.get(row.membership.pk, ("", ""))
        if presence not in COUNTS_AS_PRESENT:
            continue
        member = row.membership
        # A deputy counts for their member's organisation, sector and side.
        present.append(
            PresentMember(member.organisation_id, member.organisation.sector, member.side_id)
        )
        if presence == Presence.PRESENT:
            decision_makers += member.decision_maker
        elif any(d.decision_maker and _same_name(d.person.name, deputy_name) for d in row.deputies):
            decision_makers += 1
    return check_quorum(rule, present), decision_makers


def _recorded_choices(rows: list[RegisterRow]) -> Choices:
    return {
        row.membership.pk: (row.attendance.presence, row.attendance.deputy_name)
        for row in rows
        if row.attendance is not None and row.attendance.presence
    }


def quorum_for(meeting: Meeting) -> QuorumResult:
    """The quorum from what the register records now."""
    rows = register_rows(meeting)
    result, _ = evaluate(quorum_rule_for(meeting.partnership), rows, _recorded_choices(rows))
    return result


def quorum_preview(
    meeting: Meeting,
    entries: list[tuple[int, str, str]],
    rows: list[RegisterRow] | None = None,
) -> tuple[QuorumResult, int]:
    """The quorum for choices on the register that are not saved yet (unknown rows ignored)."""
    rows = register_rows(meeting) if rows is None else rows
    choices = {pk: (presence, name) for pk, presence, name in entries}
    return evaluate(quorum_rule_for(meeting.partnership), rows, choices)


def can_keep_register(user: User, meeting: Meeting) -> bool:
    return access.runs_meetings(user, meeting.partnership)


def _checked_entries(entries: list[tuple[int, str, str]], rows: dict[int, RegisterRow]) -> Choices:
    choices: Choices = {}
    for membership_id, presence, deputy_name in entries:
        row = rows.get(membership_id)
        if row is None:
            raise ValidationError(
                "One of the rows is not a member who counts at this meeting; "
                "open the register again and record it afresh."
            )
        person = row.membership.person.name
        if membership_id in choices:
            raise ValidationError(f"{person} is on the register twice; record them once.")
        if presence not in Presence.values:
            raise ValidationError(
                {
                    f"presence_{membership_id}": f"Choose whether {person} was present, absent, "
                    "sent apologies or sent a deputy."
                }
            )
        name = " ".join(deputy_name.split())
        if presence == Presence.DEPUTY and not name:
            raise ValidationError(
                {
                    f"deputy_{membership_id}": f"Give the name of the deputy who attended for {person}."
                }
            )
        choices[membership_id] = (presence, name)
    return choices


@transaction.atomic
def register_record(
    *, meeting: Meeting, by: User, entries: list[tuple[int, str, str]]
) -> QuorumResult:
    """Save the register, then check and record the quorum and decision-makers present.

    Once the meeting has started, taking the register marks it as held.
    """
    locked = Meeting.objects.select_for_update().select_related("partnership").get(pk=meeting.pk)
    if locked.is_cancelled:
        raise ValidationError("This meeting was cancelled, so there is no register to take.")
    if timezone.now().astimezone(locked.tz).date() < meeting_day(locked):
        raise ValidationError(
            "The register is taken on the day of the meeting; until then members reply."
        )
    rows = register_rows(locked)
    by_id = {row.membership.pk: row for row in rows}
    choices = _checked_entries(entries, by_id)
    objs = []
    for membership_id, (presence, name) in choices.items():
        current = by_id[membership_id].attendance
        # Keep the name from a deputy reply unless the register names someone.
        if presence != Presence.DEPUTY and current is not None and current.reply == Reply.DEPUTY:
            name = current.deputy_name
        elif presence != Presence.DEPUTY:
            name = ""
        objs.append(
            Attendance(
                meeting=locked, membership_id=membership_id, presence=presence, deputy_name=name
            )
        )
    Attendance.objects.bulk_create(
        objs,
        update_conflicts=True,
        unique_fields=["meeting", "membership"],
        update_fields=["presence", "deputy_name"],
    )
    # What the register now holds: earlier rows not sent this time stay as they were.
    all_choices = {**_recorded_choices(rows), **choices}
    result, decision_makers = evaluate(quorum_rule_for(locked.partnership), rows, all_choices)
    detail = result.as_dict() | {
        "recorded_at": timezone.now().isoformat(),
        "recorded_by": by.name,
    }
    update: dict[str, Any] = {
        "quorum_met": result.met,
        "quorum_detail": detail,
        "decision_makers_present": decision_makers,
        "updated_at": timezone.now(),
    }
    started = locked.starts_at <= timezone.now()
    if started and LIFECYCLE.index(locked.status) < LIFECYCLE.index(MeetingStatus.HELD):
        update["status"] = MeetingStatus.HELD
    Meeting.objects.filter(pk=locked.pk).update(**update)
    meeting.refresh_from_db()
    return result


# The attendance record over recent meetings ----------------------------------------


def rate(attended: int, expected: int) -> Fraction | None:
    """The attendance rate in per cent, exact (so the warning boundaries are exact)."""
    return Fraction(100 * attended, expected) if expected else None


def attendance_warnings(now: Fraction | None, before: Fraction | None) -> list[str]:
    """Warn when the rate is below 60%, or fell by 15 points or more since the window before."""
    warnings: list[str] = []
    if now is None:
        return warnings
    if now < LOW_RATE:
        warnings.append(f"Attendance is below {LOW_RATE}%.")
    if before is not None and before - now >= FALL_POINTS:
        warnings.append(
            f"Attendance fell by {round(before - now)} points, "
            f"from {round(before)}% to {round(now)}%."
        )
    return warnings


def _window_counts(recent: list[int], before: list[int]) -> dict[str, Count]:
    # Empty id lists would make the database compare with nothing; 0 is never a pk.
    in_recent = Q(meeting_id__in=recent or [0])
    in_before = Q(meeting_id__in=before or [0])
    present = Q(presence__in=COUNTS_AS_PRESENT)
    return {
        "expected": Count("pk", filter=in_recent),
        "attended": Count("pk", filter=in_recent & present),
        "apologies": Count("pk", filter=in_recent & Q(presence=Presence.APOLOGIES)),
        "absent": Count("pk", filter=in_recent & Q(presence=Presence.ABSENT)),
        "expected_before": Count("pk", filter=in_before),
        "attended_before": Count("pk", filter=in_before & present),
    }


def _with_rates(row: dict[str, Any]) -> dict[str, Any]:
    now = rate(row["attended"], row["expected"])
    before = rate(row["attended_before"], row["expected_before"])
    return row | {
        "rate": None if now is None else round(now),
        "rate_before": None if before is None else round(before),
        "warnings": attendance_warnings(now, before),
    }


def attendance_record(partnership: Partnership, window: int | None = None) -> dict[str, Any]:
    """Attendance by person and by organisation over the last N held meetings, compared
    with the N before; decision-makers present at each meeting. Four queries."""
    n = window or services.settings_for(partnership).attendance_window
    held = list(
        Meeting.objects.filter(
            partnership=partnership, cancelled_at__isnull=True, status__in=HELD_STATUSES
        )
        .order_by("-starts_at", "-pk")
        .only("pk", "title", "starts_at", "time_zone", "quorum_met", "decision_makers_present")[
            : 2 * n
        ]
    )
    recent, earlier = held[:n], held[n:]
    recent_ids, earlier_ids = [m.pk for m in recent], [m.pk for m in earlier]
    people: list[dict[str, Any]] = []
    organisations: list[dict[str, Any]] = []
    if recent:
        rows = Attendance.objects.filter(meeting_id__in=recent_ids + earlier_ids).exclude(
            presence=""
        )
        counts = _window_counts(recent_ids, earlier_ids)
        by_person = (
            rows.values(
                "membership_id",
                name=F("membership__person__name"),
                organisation=F("membership__organisation__name"),
            )
            .annotate(**counts)
            .order_by("name", "membership_id")
        )
        by_organisation = (
            rows.values(
                "membership__organisation_id",
                name=F("membership__organisation__name"),
            )
            .annotate(**counts)
            .order_by("name", "membership__organisation_id")
        )
        people = [_with_rates(row) for row in by_person if row["expected"]]
        organisations = [_with_rates(row) for row in by_organisation if row["expected"]]
    return {
        "window": n,
        "meetings": recent,
        "earlier_meetings": earlier,
        "people": people,
        "organisations": organisations,
        "warnings": sum(1 for row in people if row["warnings"]),
    }


EXPORT_HEADER = [
    "type",
    "name",
    "organisation",
    "meetings expected",
    "attended (present or deputy)",
    "apologies",
    "absent",
    "rate %",
    "rate % in the meetings before",
    "warning",
]


def export_rows(record: dict[str, Any]) -> list[list[str]]:
    """The attendance record as spreadsheet rows, formula-looking text made safe."""

    def line(kind: str, row: dict[str, Any], organisation: str) -> list[str]:
        values = [
            kind,
            row["name"],
            organisation,
            row["expected"],
            row["attended"],
            row["apologies"],
            row["absent"],
            "" if row["rate"] is None else row["rate"],
            "" if row["rate_before"] is None else row["rate_before"],
            " ".join(row["warnings"]),
        ]
        return [safe_cell(str(v)) for v in values]

    return [line("person", row, row["organisation"]) for row in record["people"]] + [
        line("organisation", row, row["name"]) for row in record["organisations"]
    ]


# The meeting page ------------------------------------------------------------------


def reply_counts(meeting: Meeting) -> dict[str, int]:
    """How many members replied each way, and how many have not (two queries)."""
    members = counting_members(meeting).values("pk")
    replies = Attendance.objects.filter(meeting=meeting, membership__in=members).aggregate(
        attending=Count("pk", filter=Q(reply=Reply.ATTENDING)),
        apologies=Count("pk", filter=Q(reply=Reply.APOLOGIES)),
        deputy=Count("pk", filter=Q(reply=Reply.DEPUTY)),
    )
    total = counting_members(meeting).count()
    answered = replies["attending"] + replies["apologies"] + replies["deputy"]
    return replies | {"members": total, "no_reply": total - answered}


def meeting_section(meeting: Meeting, user: User) -> dict[str, Any]:
    """What the meeting page shows of this area (template meetings/sections/attendance.html)."""
    membership = access.my_membership(user, meeting.partnership)
    counted = membership is not None and counts_for_meetings(membership)
    keeper = can_keep_register(user, meeting)
    detail = QuorumResult.from_dict(meeting.quorum_detail) if meeting.quorum_detail else None
    return {
        "counted": counted,
        "my_reply": my_reply(meeting, membership) if counted else None,
        "closed": reply_closed_reason(meeting),
        "counts": reply_counts(meeting),
        "can_keep_register": keeper and not meeting.is_cancelled,
        "quorum": detail if keeper else None,
        "register_taken": bool(meeting.quorum_detail),
    }
