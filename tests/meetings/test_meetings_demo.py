"""The demo's meetings: a year of the forum's meetings and the next one, loaded once."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from partnerwell.delivery.models import Action, ActionSource
from partnerwell.meetings import attendance, papers
from partnerwell.meetings.demo import FORUM
from partnerwell.meetings.models import (
    ItemStatus,
    Meeting,
    MeetingStatus,
    MinutesStatus,
    PackStatus,
)


@pytest.mark.django_db
def test_it_carries_past_meetings_and_an_open_agenda_once(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo", verbosity=0)
    # Loading the demo's history emails nobody.
    assert mail.outbox == []
    now = timezone.now()
    meetings = Meeting.objects.filter(partnership__name=FORUM)
    past = list(meetings.filter(ends_at__lt=now).order_by("starts_at"))
    assert len(past) == 5
    # Past meetings: registers with a quorum recorded, decisions, approved minutes but the last.
    for meeting in past:
        assert meeting.quorum_met is not None and meeting.decision_makers_present is not None
        assert meeting.decisions.exists()
    assert [m.status for m in past[:-1]] == [MeetingStatus.MINUTES_APPROVED] * 4
    last = past[-1]
    assert last.status == MeetingStatus.MINUTES_DRAFTED
    assert last.minutes.get().status == MinutesStatus.CIRCULATED
    pack = papers.latest_ready_pack(last)
    assert pack is not None and pack.status == PackStatus.READY and pack.pages
    # Actions minuted at those meetings are in the action log.
    assert Action.objects.filter(
        partnership__name=FORUM, source=ActionSource.DECISION, source_decision_id__isnull=False
    ).exists()
    # The next meeting has its agenda open, with the staff side's item waiting for the chairs.
    coming = meetings.filter(starts_at__gt=now).order_by("starts_at").first()
    assert coming is not None and coming.status == MeetingStatus.AGENDA_OPEN
    waiting = coming.items.filter(status=ItemStatus.SUBMITTED).get()
    assert waiting.submitted_by is not None
    assert waiting.submitted_by.email == "member@example.org"
    assert waiting.submitter_side is not None and waiting.submitter_side.name == "Staff side"
    # The record shows the union whose members stopped coming.
    record = attendance.attendance_record(coming.partnership)
    gmb = next(row for row in record["organisations"] if row["name"].startswith("GMB"))
    assert gmb["warnings"]
    # Loading again changes nothing.
    counts = (meetings.count(), Action.objects.count())
    call_command("demo", verbosity=0)
    assert (meetings.count(), Action.objects.count()) == counts
