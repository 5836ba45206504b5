"""The meetings sections of the email digest: new papers, agendas agreed, minutes to approve.

The digest itself (who gets it, when, unsubscribing) belongs to delivery; this module
only says what is new in a person's meetings since their last digest. Each provider is
one query, whatever the number of meetings.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet

from partnerwell.core.digest import DigestItem, register_section
from partnerwell.core.models import Membership, User
from partnerwell.meetings.models import Meeting, Minutes, MinutesStatus, PackStatus, PapersPack


def _my_partnerships(person: User, today: dt.date) -> QuerySet[Membership, Any]:
    # Only partnerships the person belongs to on the day of the digest.
    return Membership.objects.current(today).filter(person=person).values("partnership_id")


def _when(meeting: Meeting) -> str:
    local = meeting.local_start
    return f"{local:%-d %B %Y} at {local:%H:%M}"


def new_papers(person: User, since: dt.datetime, today: dt.date) -> list[DigestItem]:
    """Papers packs built since the last digest; the latest build of each meeting only."""
    packs = (
        PapersPack.objects.filter(
            status=PackStatus.READY,
            built_at__gt=since,
            meeting__partnership_id__in=_my_partnerships(person, today),
            meeting__cancelled_at__isnull=True,
        )
        .select_related("meeting__partnership")
        .order_by("meeting__starts_at", "meeting_id", "-version")
    )
    items = []
    seen: set[int] = set()
    for pack in packs:
        if pack.meeting_id in seen:
            continue
        seen.add(pack.meeting_id)
        meeting = pack.meeting
        detail = f"{meeting.partnership.name}. Meeting on {_when(meeting)}."
        if pack.version > 1:
            detail += f" Updated pack (version {pack.version})"
            detail += f": {pack.change_note}" if pack.change_note else "."
        items.append(
            DigestItem(
                title=f"Papers for {meeting.title}",
                detail=detail,
                path=meeting.get_absolute_url(),
            )
        )
    return items


def agendas_agreed(person: User, since: dt.datetime, today: dt.date) -> list[DigestItem]:
    meetings = (
        Meeting.objects.filter(
            agenda_agreed_at__gt=since,
            partnership_id__in=_my_partnerships(person, today),
            cancelled_at__isnull=True,
        )
        .select_related("partnership")
        .order_by("starts_at", "pk")
    )
    return [
        DigestItem(
            title=f"Agenda agreed for {meeting.title}",
            detail=f"{meeting.partnership.name}. Meeting on {_when(meeting)}.",
            path=meeting.get_absolute_url(),
        )
        for meeting in meetings
    ]


def minutes_to_approve(person: User, since: dt.datetime, today: dt.date) -> list[DigestItem]:
    minutes = (
        Minutes.objects.filter(
            status=MinutesStatus.CIRCULATED,
            circulated_at__gt=since,
            meeting__partnership_id__in=_my_partnerships(person, today),
        )
        .select_related("meeting__partnership")
        .order_by("meeting__starts_at", "pk")
    )
    return [
        DigestItem(
            title=f"Draft minutes of {m.meeting.title}",
            detail=(
                f"{m.meeting.partnership.name}. Meeting of {_when(m.meeting)}. "
                "Read them before the next meeting, which approves them."
            ),
            path=m.meeting.get_absolute_url(),
        )
        for m in minutes
    ]


def register() -> None:
    """Called once from AppConfig.ready(): the meetings sections of everyone's digest."""
    register_section(
        kind="papers",
        label="New meeting papers",
        heading="New meeting papers",
        nouns=("new papers pack", "new papers packs"),
        provider=new_papers,
        order=30,
    )
    register_section(
        kind="agendas",
        label="Agendas agreed",
        heading="Agendas agreed",
        nouns=("agenda agreed", "agendas agreed"),
        provider=agendas_agreed,
        order=40,
    )
    register_section(
        kind="minutes",
        label="Draft minutes to approve",
        heading="Draft minutes to approve",
        nouns=("set of draft minutes", "sets of draft minutes"),
        provider=minutes_to_approve,
        order=50,
    )
