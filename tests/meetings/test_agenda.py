"""Agenda items, the forward plan, triage, the agenda builder, balance and the printable agenda."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import zoneinfo

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import QuerySet
from django.shortcuts import resolve_url
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from partnerwell.core.models import Membership, Organisation, Partnership, User
from partnerwell.delivery.models import Action, ActionStatus, Risk, RiskStatus
from partnerwell.meetings import agenda, services
from partnerwell.meetings.models import AgendaItem, ItemStatus, Meeting, MeetingStatus
from tests.conftest import client_for
from tests.meetings.conftest import make_meeting

LONDON = zoneinfo.ZoneInfo("Europe/London")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def _item(
    meeting: Meeting | None,
    by: User,
    partnership: Partnership,
    title: str = "Pay policy",
    minutes: int = 20,
    nature: str = "strategic",
) -> AgendaItem:
    return agenda.item_submit(
        partnership=partnership,
        by=by,
        meeting=meeting,
        title=title,
        ask="decision",
        nature=nature,
        presenter="Pat Presenter",
        minutes_needed=minutes,
    )


def _form(**extra: object) -> dict[str, object]:
    data: dict[str, object] = {
        "title": "Staff survey results",
        "description": "What the survey says",
        "ask": "discussion",
        "nature": "strategic",
        "presenter": "Dave",
        "minutes_needed": "20",
    }
    data.update(extra)
    return data


def _titles(meeting: Meeting) -> list[str]:
    return [row["item"].title for row in agenda.agenda_rows(meeting)]


# Submitting ------------------------------------------------------------------------


def test_it_submits_an_item_for_a_meeting(meeting: Meeting, dave: User) -> None:
    response = client_for(dave).post(reverse("meetings-add-item", args=[meeting.pk]), _form())
    item = AgendaItem.objects.get(title="Staff survey results")
    assert response.status_code == 302 and response.url == item.get_absolute_url()
    assert item.meeting == meeting
    assert item.status == ItemStatus.SUBMITTED
    assert item.submitter_side is not None and item.submitter_side.name == "Staff side"
    assert item.submitted_by == dave
    assert item.late is False


def test_it_shows_the_submit_form(meeting: Meeting, bob_client: Client) -> None:
    page = bob_client.get(reverse("meetings-add-item", args=[meeting.pk]))
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.content.decode()


def test_it_says_what_is_missing(meeting: Meeting, bob_client: Client) -> None:
    response = bob_client.post(
        reverse("meetings-add-item", args=[meeting.pk]), _form(title="", minutes_needed="lots")
    )
    page = response.content.decode()
    assert "Enter a title." in page
    assert "Enter the time as a whole number of minutes" in page
    assert not AgendaItem.objects.filter(meeting=meeting, standing="").exists()


def test_it_hides_other_partnerships_from_submitters(
    meeting: Meeting, partnership_a: Partnership, carol_client: Client
) -> None:
    assert carol_client.get(reverse("meetings-add-item", args=[meeting.pk])).status_code == 404
    response = carol_client.post(reverse("meetings-add-item", args=[meeting.pk]), _form())
    assert response.status_code == 404
    url = reverse("meetings-add-plan-item", args=[partnership_a.pk])
    assert carol_client.post(url, _form()).status_code == 404
    url = reverse("meetings-list-forward-plan", args=[partnership_a.pk])
    assert carol_client.get(url).status_code == 404
    assert not AgendaItem.objects.filter(title="Staff survey results").exists()


def test_it_sends_items_for_a_planned_meeting_to_the_forward_plan(
    partnership_a: Partnership, alice: User, bob: User, bob_client: Client
) -> None:
    planned = make_meeting(partnership_a, alice, status=MeetingStatus.PLANNED)
    response = bob_client.get(reverse("meetings-add-item", args=[planned.pk]))
    assert response.url == reverse("meetings-add-plan-item", args=[partnership_a.pk])
    with pytest.raises(ValidationError, match="not open for items"):
        _item(planned, bob, partnership_a)


def test_it_refuses_items_for_held_or_cancelled_meetings(
    partnership_a: Partnership, alice: User, bob: User
) -> None:
    held = make_meeting(partnership_a, alice, days=-3, status=MeetingStatus.HELD)
    with pytest.raises(ValidationError, match="already been held"):
        _item(held, bob, partnership_a)
    cancelled = make_meeting(partnership_a, alice)
    services.meeting_cancel(meeting=cancelled, reason="Snow")
    with pytest.raises(ValidationError, match="cancelled"):
        _item(cancelled, bob, partnership_a)


def test_it_lists_the_forward_plan(
    partnership_a: Partnership, meeting: Meeting, bob: User, dave: User, bob_client: Client
) -> None:
    response = bob_client.post(
        reverse("meetings-add-plan-item", args=[partnership_a.pk]), _form(title="Away day idea")
    )
    planned = AgendaItem.objects.get(title="Away day idea")
    assert response.url == planned.get_absolute_url()
    assert planned.meeting is None and planned.late is False
    _item(meeting, dave, partnership_a, title="Rota changes")
    page = bob_client.get(reverse("meetings-list-forward-plan", args=[partnership_a.pk]))
    text = page.content.decode()
    assert "Away day idea" in text
    assert "Rota changes" in text
    assert meeting.title in text


# Deadlines -------------------------------------------------------------------------


def _meeting_on(partnership: Partnership, by: User, day: dt.date) -> Meeting:
    start = dt.datetime.combine(day, dt.time(10, 0), tzinfo=LONDON)
    meeting = services.meeting_create(
        partnership=partnership,
        by=by,
        title=f"Meeting on {day}",
        kind="forum",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
        time_zone="Europe/London",
        place="",
        video_link="",
    )
    Meeting.objects.filter(pk=meeting.pk).update(status=MeetingStatus.AGENDA_OPEN)
    meeting.refresh_from_db()
    return meeting


def test_it_does_not_mark_an_item_on_the_deadline_day_late(
    partnership_a: Partnership, alice: User, bob: User
) -> None:
    days = services.settings_for(partnership_a).submission_deadline_days
    today = timezone.localtime(timezone.now(), LONDON).date()
    meeting = _meeting_on(partnership_a, alice, today + dt.timedelta(days=days))
    assert _item(meeting, bob, partnership_a).late is False


def test_it_marks_an_item_after_the_deadline_day_late(
    partnership_a: Partnership, alice: User, bob: User, bob_client: Client
) -> None:
    days = services.settings_for(partnership_a).submission_deadline_days
    today = timezone.localtime(timezone.now(), LONDON).date()
    meeting = _meeting_on(partnership_a, alice, today + dt.timedelta(days=days - 1))
    item = _item(meeting, bob, partnership_a)
    assert item.late is True
    assert "Late" in bob_client.get(item.get_absolute_url()).content.decode()


# Triage ----------------------------------------------------------------------------


def test_it_accepts_an_item_before_any_other_business(
    meeting: Meeting, partnership_a: Partnership, dave: User, mgmt_chair_client: Client
) -> None:
    item = _item(meeting, dave, partnership_a)
    response = mgmt_chair_client.post(
        reverse("meetings-triage-item", args=[item.pk]), {"decision": "accept"}
    )
    assert response.url == meeting.get_absolute_url()
    item.refresh_from_db()
    assert item.status == ItemStatus.ACCEPTED
    assert _titles(meeting)[-2:] == ["Pay policy", "Any other business"]


def test_it_accepts_a_forward_plan_item_into_a_chosen_meeting(
    meeting: Meeting, partnership_a: Partnership, dave: User, mgmt_chair_client: Client
) -> None:
    item = _item(None, dave, partnership_a, title="From the plan")
    url = reverse("meetings-triage-item", args=[item.pk])
    refused = mgmt_chair_client.post(url, {"decision": "accept"})
    assert "Choose the meeting to accept this item into." in refused.content.decode()
    item.refresh_from_db()
    assert item.status == ItemStatus.SUBMITTED
    mgmt_chair_client.post(url, {"decision": "accept", "meeting": meeting.pk})
    item.refresh_from_db()
    assert item.meeting == meeting and item.status == ItemStatus.ACCEPTED
    assert "From the plan" in _titles(meeting)


def test_it_needs_a_reason_to_decline_and_shows_it_to_the_submitter(
    meeting: Meeting, partnership_a: Partnership, dave: User, mgmt_chair_client: Client
) -> None:
    item = _item(meeting, dave, partnership_a)
    url = reverse("meetings-triage-item", args=[item.pk])
    refused = mgmt_chair_client.post(url, {"decision": "decline", "reason": " "})
    assert "Say why the item is deferred or declined" in refused.content.decode()
    item.refresh_from_db()
    assert item.status == ItemStatus.SUBMITTED

    mgmt_chair_client.post(url, {"decision": "decline", "reason": "Covered by the JNCC."})
    item.refresh_from_db()
    assert item.status == ItemStatus.DECLINED
    page = client_for(dave).get(item.get_absolute_url()).content.decode()
    assert "Covered by the JNCC." in page
    assert "Declined" in page


def test_it_defers_to_a_later_meeting_or_the_forward_plan(
    meeting: Meeting,
    partnership_a: Partnership,
    alice: User,
    dave: User,
    mgmt_chair: User,
    mgmt_chair_client: Client,
) -> None:
    later = make_meeting(partnership_a, alice, days=60, title="Summer forum")
    item = _item(meeting, dave, partnership_a)
    agenda.item_triage(item=item, by=mgmt_chair, decision="accept")
    revision = Meeting.objects.get(pk=meeting.pk).agenda_revision
    url = reverse("meetings-triage-item", args=[item.pk])
    mgmt_chair_client.post(
        url, {"decision": "defer", "defer_to": later.pk, "reason": "Needs the audit first."}
    )
    item.refresh_from_db()
    assert item.meeting == later and item.deferred_from == meeting
    assert item.status == ItemStatus.DEFERRED
    # Taking an accepted item off an agenda changes that agenda.
    assert Meeting.objects.get(pk=meeting.pk).agenda_revision == revision + 1
    page = client_for(dave).get(item.get_absolute_url()).content.decode()
    assert "Needs the audit first." in page and "Summer forum" in page

    mgmt_chair_client.post(url, {"decision": "defer", "defer_to": "", "reason": "Next year."})
    item.refresh_from_db()
    assert item.meeting is None and item.status == ItemStatus.DEFERRED


def test_it_judges_lateness_again_when_an_item_is_deferred(
    partnership_a: Partnership, alice: User, bob: User, mgmt_chair: User
) -> None:
    days = services.settings_for(partnership_a).submission_deadline_days
    today = timezone.localtime(timezone.now(), LONDON).date()
    soon = _meeting_on(partnership_a, alice, today + dt.timedelta(days=days - 1))
    later = _meeting_on(partnership_a, alice, today + dt.timedelta(days=days + 30))
    item = _item(soon, bob, partnership_a)
    assert item.late is True
    # Its deadline for the later meeting is still ahead, so it is in good time for that one.
    agenda.item_triage(item=item, by=mgmt_chair, decision="defer", reason="No room", defer_to=later)
    item.refresh_from_db()
    assert item.meeting == later and item.late is False


def test_it_does_not_mark_an_item_placed_from_the_forward_plan_late(
    partnership_a: Partnership, alice: User, bob: User, mgmt_chair: User
) -> None:
    days = services.settings_for(partnership_a).submission_deadline_days
    today = timezone.localtime(timezone.now(), LONDON).date()
    soon = _meeting_on(partnership_a, alice, today + dt.timedelta(days=days - 1))
    item = _item(soon, bob, partnership_a)
    assert item.late is True
    agenda.item_triage(item=item, by=mgmt_chair, decision="defer", reason="Not yet")
    item.refresh_from_db()
    assert item.meeting is None and item.late is False
    # The chairs place it on the meeting whose deadline has passed: still not late.
    agenda.item_triage(item=item, by=mgmt_chair, decision="accept", defer_to=soon)
    item.refresh_from_db()
    assert item.meeting == soon and item.status == ItemStatus.ACCEPTED
    assert item.late is False


def test_it_hides_a_declined_item_from_other_members(
    meeting: Meeting,
    partnership_a: Partnership,
    dave: User,
    mgmt_chair: User,
    bob_client: Client,
    alice_client: Client,
) -> None:
    item = _item(meeting, dave, partnership_a, title="Confidential grievance")
    url = reverse("meetings-view-item", args=[item.pk])
    # While it waits, everyone sees what is proposed.
    assert bob_client.get(url).status_code == 200
    agenda.item_triage(item=item, by=mgmt_chair, decision="decline", reason="Not for here.")
    assert bob_client.get(url).status_code == 404
    assert bob_client.get(reverse("meetings-add-paper", args=[item.pk])).status_code == 404
    assert client_for(dave).get(url).status_code == 200
    assert alice_client.get(url).status_code == 200
    assert client_for(mgmt_chair).get(url).status_code == 200


def test_it_refuses_triage_to_members(
    meeting: Meeting, partnership_a: Partnership, dave: User, bob_client: Client
) -> None:
    item = _item(meeting, dave, partnership_a)
    url = reverse("meetings-triage-item", args=[item.pk])
    assert bob_client.get(url).status_code == 403
    assert bob_client.post(url, {"decision": "accept"}).status_code == 403
    item.refresh_from_db()
    assert item.status == ItemStatus.SUBMITTED


def test_it_hides_items_of_other_partnerships(
    meeting: Meeting, partnership_a: Partnership, dave: User, carol_client: Client
) -> None:
    item = _item(meeting, dave, partnership_a)
    for name in ("meetings-view-item", "meetings-edit-item", "meetings-triage-item"):
        assert carol_client.get(reverse(name, args=[item.pk])).status_code == 404
    url = reverse("meetings-triage-item", args=[item.pk])
    assert carol_client.post(url, {"decision": "accept"}).status_code == 404
    move = reverse("meetings-move-item", args=[item.pk])
    assert carol_client.post(move, {"direction": "up"}).status_code == 404


# Editing ---------------------------------------------------------------------------


def test_it_lets_the_submitter_change_a_waiting_item_only(
    meeting: Meeting, partnership_a: Partnership, dave: User, mgmt_chair: User
) -> None:
    item = _item(meeting, dave, partnership_a)
    dave_client = client_for(dave)
    url = reverse("meetings-edit-item", args=[item.pk])
    dave_client.post(url, _form(title="Pay policy (revised)"))
    item.refresh_from_db()
    assert item.title == "Pay policy (revised)"
    agenda.item_triage(item=item, by=mgmt_chair, decision="accept")
    assert dave_client.post(url, _form(title="Sneaky")).status_code == 403
    item.refresh_from_db()
    assert item.title == "Pay policy (revised)"


def test_it_needs_approval_again_when_an_accepted_item_changes(
    meeting: Meeting, partnership_a: Partnership, dave: User, alice_client: Client
) -> None:
    item = _item(meeting, dave, partnership_a)
    agenda.item_triage(item=item, by=User.objects.get(email="alice@example.org"), decision="accept")
    meeting.refresh_from_db()
    revision = meeting.agenda_revision
    alice_client.post(reverse("meetings-edit-item", args=[item.pk]), _form(title="Pay and grading"))
    meeting.refresh_from_db()
    assert meeting.agenda_revision == revision + 1
    # The printed agenda names the presenter, so changing it changes the agenda too.
    item.refresh_from_db()
    agenda.item_update(item=item, by=dave, presenter="Someone else")
    meeting.refresh_from_db()
    assert meeting.agenda_revision == revision + 2
    # A field the agenda does not show leaves the agreement alone.
    item.refresh_from_db()
    agenda.item_update(item=item, by=dave, description="More background")
    meeting.refresh_from_db()
    assert meeting.agenda_revision == revision + 2


def test_it_undoes_the_agreement_when_an_accepted_items_presenter_changes(
    meeting: Meeting,
    partnership_a: Partnership,
    dave: User,
    mgmt_chair: User,
    staff_chair: User,
    alice_client: Client,
) -> None:
    item = _item(meeting, dave, partnership_a)
    agenda.item_triage(item=item, by=mgmt_chair, decision="accept")
    agenda.agenda_approve(meeting=meeting, by=mgmt_chair)
    agenda.agenda_approve(meeting=meeting, by=staff_chair)
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.AGENDA_AGREED

    alice_client.post(
        reverse("meetings-edit-item", args=[item.pk]),
        _form(title="Pay policy", ask="decision", presenter="Head of HR"),
    )
    item.refresh_from_db()
    meeting.refresh_from_db()
    assert item.presenter == "Head of HR"
    assert meeting.status == MeetingStatus.AGENDA_OPEN
    assert meeting.agenda_agreed_at is None
    assert agenda.agenda_state(meeting)["agreed"] is False


# The agenda builder ----------------------------------------------------------------


def _new_york_meeting(partnership: Partnership, by: User) -> Meeting:
    """A meeting at 10:00–12:00 New York time on 15 July 2031 (14:00 UTC, 15:00 in
    London, the server's zone), with its agenda open."""
    start = dt.datetime(2031, 7, 15, 10, 0, tzinfo=NEW_YORK)
    meeting = services.meeting_create(
        partnership=partnership,
        by=by,
        title="Transatlantic forum",
        kind="forum",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
        time_zone="America/New_York",
        place="Conference call",
        video_link="",
    )
    Meeting.objects.filter(pk=meeting.pk).update(status=MeetingStatus.AGENDA_OPEN)
    meeting.refresh_from_db()
    assert settings.TIME_ZONE == "Europe/London"  # so the zones below really differ
    return meeting


def test_it_computes_start_times_in_the_meetings_time_zone(
    partnership_a: Partnership, dave: User, alice: User
) -> None:
    meeting = _new_york_meeting(partnership_a, alice)
    item = _item(meeting, dave, partnership_a, minutes=25)
    agenda.item_triage(item=item, by=alice, decision="accept")
    rows = agenda.agenda_rows(meeting)
    # Standing items 5 + 5 + 15 + 10 minutes, then the new item, then any other business.
    assert [row["number"] for row in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[4]["item"] == item
    assert rows[4]["start"] == dt.datetime(2031, 7, 15, 10, 35, tzinfo=NEW_YORK)
    assert rows[4]["end"] == dt.datetime(2031, 7, 15, 11, 0, tzinfo=NEW_YORK)
    assert rows[5]["start"] == dt.datetime(2031, 7, 15, 11, 0, tzinfo=NEW_YORK)
    # The rows carry New York's summer offset, not UTC's or London's.
    assert rows[4]["start"].utcoffset() == dt.timedelta(hours=-4)
    assert (rows[4]["start"].hour, rows[4]["start"].minute) == (10, 35)


def test_it_moves_items_up_and_down(
    meeting: Meeting, partnership_a: Partnership, dave: User, alice: User, alice_client: Client
) -> None:
    first = _item(meeting, dave, partnership_a, title="First")
    second = _item(meeting, dave, partnership_a, title="Second")
    agenda.item_triage(item=first, by=alice, decision="accept")
    agenda.item_triage(item=second, by=alice, decision="accept")
    response = alice_client.post(
        reverse("meetings-move-item", args=[second.pk]), {"direction": "up"}
    )
    assert response.url == reverse("meetings-edit-agenda", args=[meeting.pk])
    assert _titles(meeting)[-3:] == ["Second", "First", "Any other business"]
    alice_client.post(reverse("meetings-move-item", args=[second.pk]), {"direction": "down"})
    assert _titles(meeting)[-3:] == ["First", "Second", "Any other business"]
    # Moving past any other business is refused: it always stays last.
    page = alice_client.post(
        reverse("meetings-move-item", args=[second.pk]), {"direction": "down"}, follow=True
    )
    assert "cannot move further" in page.content.decode()
    assert _titles(meeting)[-1] == "Any other business"


def test_it_refuses_moves_by_get_and_by_members(
    meeting: Meeting, partnership_a: Partnership, dave: User, alice: User, bob_client: Client
) -> None:
    item = _item(meeting, dave, partnership_a)
    agenda.item_triage(item=item, by=alice, decision="accept")
    url = reverse("meetings-move-item", args=[item.pk])
    before = _titles(meeting)
    assert bob_client.get(url).status_code == 405
    assert bob_client.post(url, {"direction": "up"}).status_code == 403
    assert _titles(meeting) == before


def test_it_reorders_by_place_numbers(
    meeting: Meeting, alice_client: Client, bob_client: Client, carol_client: Client
) -> None:
    rows = agenda.agenda_rows(meeting)
    movable = [row["item"] for row in rows if row["item"].standing != "aob"]
    # Reverse the four standing items before any other business.
    data = {f"pos_{item.pk}": str(len(movable) - n) for n, item in enumerate(movable)}
    url = reverse("meetings-edit-agenda", args=[meeting.pk])
    assert bob_client.post(url, data).status_code == 403
    assert carol_client.get(url).status_code == 404
    assert alice_client.post(url, data).status_code == 302
    assert _titles(meeting) == [
        "Escalated risks",
        "Review of the action log",
        "Minutes of the last meeting",
        "Welcome and apologies",
        "Any other business",
    ]
    refused = alice_client.post(url, {**data, f"pos_{movable[0].pk}": "first"})
    assert "as a whole number" in refused.content.decode()


def test_it_lists_open_and_overdue_actions_and_escalated_risks(
    meeting: Meeting, partnership_a: Partnership, alice: User, council: Organisation
) -> None:
    owner = Membership.objects.get(person=alice, partnership=partnership_a)
    today = timezone.localdate()
    common = {"partnership": partnership_a, "owner": owner, "organisation": council}
    Action.objects.create(title="Late one", due_date=today - dt.timedelta(days=3), **common)
    Action.objects.create(title="On time", due_date=today + dt.timedelta(days=9), **common)
    Action.objects.create(
        title="Finished", due_date=today, status=ActionStatus.DONE, done_on=today, **common
    )
    risk = {
        "partnership": partnership_a,
        "likelihood": 4,
        "impact": 4,
        "target_likelihood": 1,
        "target_impact": 2,
        "review_on": today,
    }
    Risk.objects.create(title="Funding gap", escalate=True, **risk)
    Risk.objects.create(title="Quiet risk", escalate=False, **risk)
    Risk.objects.create(title="Old risk", escalate=True, status=RiskStatus.CLOSED, **risk)
    rows = {row["item"].standing: row for row in agenda.agenda_rows(meeting)}
    actions = rows["actions"]["actions"]
    assert [a.title for a in actions] == ["Late one", "On time"]
    assert [a.is_overdue for a in actions] == [True, False]
    assert [r.title for r in rows["risks"]["risks"]] == ["Funding gap"]
    assert rows["apologies"]["actions"] == [] and rows["apologies"]["risks"] == []

    page = client_for(alice).get(meeting.get_absolute_url()).content.decode()
    assert "Late one" in page and "Overdue" in page
    assert "Funding gap" in page and "Proposed automatically" in page
    assert "Quiet risk" not in page and "Finished" not in page


def test_it_computes_the_balance(
    meeting: Meeting, partnership_a: Partnership, alice: User, bob: User, dave: User
) -> None:
    # Management side raises two strategic items (30, 20 minutes); staff side one
    # operational item (25) and one strategic item that is declined (not counted in time).
    for title, by, minutes, nature in [
        ("A", bob, 30, "strategic"),
        ("B", bob, 20, "strategic"),
        ("C", dave, 25, "operational"),
    ]:
        item = _item(meeting, by, partnership_a, title=title, minutes=minutes, nature=nature)
        agenda.item_triage(item=item, by=alice, decision="accept")
    declined = _item(meeting, dave, partnership_a, title="D", minutes=10)
    agenda.item_triage(item=declined, by=alice, decision="decline", reason="Not ours.")
    balance = agenda.agenda_balance(meeting)
    assert balance["strategic_minutes"] == 50
    assert balance["operational_minutes"] == 25
    assert balance["strategic_percent"] == 67
    assert balance["operational_percent"] == 33
    assert balance["by_side"] == [
        {"name": "Management side", "raised": 2, "accepted": 2},
        {"name": "Staff side", "raised": 2, "accepted": 1},
    ]
    page = client_for(bob).get(meeting.get_absolute_url()).content.decode()
    assert "67%" in page and agenda.BALANCE_RULE in page


def test_it_refuses_an_agenda_longer_than_the_meeting(
    partnership_a: Partnership, alice: User, dave: User, alice_client: Client
) -> None:
    short = make_meeting(partnership_a, alice, hours=1)  # standing items take 40 minutes
    fits = _item(short, dave, partnership_a, title="Fits", minutes=15)
    agenda.item_triage(item=fits, by=alice, decision="accept")
    too_long = _item(short, dave, partnership_a, title="Too long", minutes=15)
    response = alice_client.post(
        reverse("meetings-triage-item", args=[too_long.pk]), {"decision": "accept"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "70 minutes long, 10 minutes longer than the meeting" in page
    assert "Defer or decline an item, or shorten" in page
    too_long.refresh_from_db()
    assert too_long.status == ItemStatus.SUBMITTED

    # Changing an accepted item's time past the end is refused, and the form keeps it.
    response = alice_client.post(
        reverse("meetings-edit-item", args=[fits.pk]),
        _form(title="Fits, renamed", minutes_needed="50"),
    )
    page = response.content.decode()
    assert "90 minutes long, 30 minutes longer than the meeting" in page
    assert 'value="Fits, renamed"' in page and 'value="50"' in page
    fits.refresh_from_db()
    assert fits.minutes_needed == 15 and fits.title == "Fits"


def _locked_models(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the models locked with select_for_update (SQLite ignores the SQL for it)."""
    locked: list[str] = []
    original = QuerySet.select_for_update

    def spy(self: QuerySet, *args: object, **kwargs: object) -> QuerySet:
        locked.append(self.model.__name__)
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(QuerySet, "select_for_update", spy)
    return locked


def test_it_locks_the_meeting_before_checking_the_agenda_fits(
    meeting: Meeting,
    partnership_a: Partnership,
    dave: User,
    alice: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    item = _item(meeting, dave, partnership_a)
    locked = _locked_models(monkeypatch)
    agenda.item_triage(item=item, by=alice, decision="accept")
    assert "Meeting" in locked

    locked.clear()
    agenda.item_update(item=item, by=alice, minutes_needed=25)
    assert "Meeting" in locked

    locked.clear()
    first = agenda.agenda_rows(meeting)[0]["item"]
    agenda.agenda_reorder(meeting=meeting, by=alice, positions={first.pk: 99})
    assert "Meeting" in locked


@pytest.mark.django_db(transaction=True)
def test_it_lets_only_one_of_two_accepts_at_once_fill_the_meeting(
    partnership_a: Partnership, alice: User, dave: User
) -> None:
    if not connection.features.has_select_for_update:
        pytest.skip("Needs a database with row locks (PostgreSQL).")
    short = make_meeting(partnership_a, alice, hours=1)  # standing items take 40 minutes
    first = _item(short, dave, partnership_a, title="First", minutes=15)
    second = _item(short, dave, partnership_a, title="Second", minutes=15)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    original = agenda._check_fits

    def slow_check(meeting: Meeting, total: int, field: str = "minutes_needed") -> None:
        # Both wait here; without the meeting's lock both would then see room. With it, the
        # second waits for the lock instead, so the first gives up waiting after 2 seconds.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=2)
        original(meeting, total, field)

    def accept(item: AgendaItem) -> None:
        try:
            agenda.item_triage(item=item, by=alice, decision="accept")
            outcomes.append("accepted")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(agenda, "_check_fits", slow_check)
        threads = [threading.Thread(target=accept, args=(each,)) for each in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
    assert sorted(outcomes) == ["accepted", "refused"]
    assert agenda.agenda_minutes(short) == 55


# Pages and query counts ------------------------------------------------------------


def test_it_prints_the_agenda_without_navigation(
    partnership_a: Partnership, dave: User, alice: User, bob_client: Client
) -> None:
    meeting = _new_york_meeting(partnership_a, alice)
    item = _item(meeting, dave, partnership_a, title="Printed item", minutes=25)
    agenda.item_triage(item=item, by=alice, decision="accept")
    response = bob_client.get(reverse("meetings-print-agenda", args=[meeting.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Printed item" in page and "Pat Presenter" in page and "Decision" in page
    # New York wall-clock times, not the server's (London, five hours ahead) nor UTC.
    assert "10:00 to 12:00 (America/New_York)" in page
    assert "10:35–11:00 (25 min)" in page
    for elsewhere in ("15:00", "15:35", "14:00", "14:35"):
        assert elsewhere not in page
    assert "govuk-service-navigation" not in page


def test_it_shows_the_builder_times_in_the_meetings_time_zone(
    partnership_a: Partnership, dave: User, alice: User, alice_client: Client
) -> None:
    meeting = _new_york_meeting(partnership_a, alice)
    item = _item(meeting, dave, partnership_a, title="Built item", minutes=25)
    agenda.item_triage(item=item, by=alice, decision="accept")
    response = alice_client.get(reverse("meetings-edit-agenda", args=[meeting.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Built item" in page
    assert "10:00–10:05" in page and "10:35–11:00" in page
    for elsewhere in ("15:00", "15:35", "14:00", "14:35"):
        assert elsewhere not in page


def test_it_hides_the_builder_and_print_from_others(
    meeting: Meeting, carol_client: Client, bob_client: Client, client: Client
) -> None:
    assert carol_client.get(reverse("meetings-print-agenda", args=[meeting.pk])).status_code == 404
    assert carol_client.get(reverse("meetings-edit-agenda", args=[meeting.pk])).status_code == 404
    assert bob_client.get(reverse("meetings-edit-agenda", args=[meeting.pk])).status_code == 403
    response = client.get(reverse("meetings-print-agenda", args=[meeting.pk]))
    assert response.status_code == 302
    assert response.url.startswith(resolve_url(settings.LOGIN_URL))


def _fill(meeting: Meeting, partnership: Partnership, by: User, alice: User, count: int) -> None:
    for n in range(count):
        item = _item(meeting, by, partnership, title=f"Item {n}", minutes=1)
        if n % 2:
            agenda.item_triage(item=item, by=alice, decision="accept")


@pytest.mark.parametrize("count", [3, 30])
def test_it_builds_the_section_in_a_constant_number_of_queries(
    count: int,
    partnership_a: Partnership,
    alice: User,
    dave: User,
    council: Organisation,
    django_assert_max_num_queries: object,
) -> None:
    meeting = make_meeting(partnership_a, alice, hours=3)
    _fill(meeting, partnership_a, dave, alice, count)
    owner = Membership.objects.get(person=alice, partnership=partnership_a)
    for n in range(count):
        Action.objects.create(
            partnership=partnership_a,
            title=f"Action {n}",
            owner=owner,
            organisation=council,
            due_date=timezone.localdate(),
        )
    with django_assert_max_num_queries(15):  # type: ignore[operator]
        section = agenda.meeting_section(meeting, alice)
    assert len(section["waiting"]) == count - count // 2


def test_it_renders_the_builder_with_the_same_queries_for_3_and_30_items(
    partnership_a: Partnership, alice: User, dave: User, alice_client: Client
) -> None:
    counts = []
    for count in (3, 30):
        meeting = make_meeting(partnership_a, alice, hours=3, title=f"Forum {count}")
        _fill(meeting, partnership_a, dave, alice, count)
        for name in ("meetings-edit-agenda", "meetings-view-meeting"):
            url = reverse(name, args=[meeting.pk])
            with CaptureQueriesContext(connection) as queries:
                assert alice_client.get(url).status_code == 200
            counts.append((name, count, len(queries)))
    builder = [n for name, _, n in counts if name == "meetings-edit-agenda"]
    page = [n for name, _, n in counts if name == "meetings-view-meeting"]
    assert builder[0] == builder[1], counts
    assert page[0] == page[1], counts
