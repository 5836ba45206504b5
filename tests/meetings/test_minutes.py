"""Minutes: writing per item, circulating, approval at the next meeting, locking, corrections."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from partnerwell.core.models import Partnership, User
from partnerwell.meetings import minutes as services
from partnerwell.meetings.models import (
    AgendaItem,
    ItemStatus,
    Meeting,
    MeetingStatus,
    MinuteEntry,
    Minutes,
    MinutesStatus,
)
from tests.meetings.conftest import make_meeting


def in_progress(meeting: Meeting) -> Meeting:
    """Make the meeting one that started an hour ago and ends in an hour."""
    now = timezone.now()
    Meeting.objects.filter(pk=meeting.pk).update(
        starts_at=now - dt.timedelta(hours=1), ends_at=now + dt.timedelta(hours=1)
    )
    meeting.refresh_from_db()
    return meeting


@pytest.fixture
def next_started(partnership_a: Partnership, alice: User, held: Meeting) -> Meeting:
    """The meeting after `held`, going on now."""
    return in_progress(
        make_meeting(
            partnership_a, alice, days=0, status=MeetingStatus.PAPERS_PUBLISHED, title="April forum"
        )
    )


@pytest.fixture
def item(held: Meeting, alice: User) -> AgendaItem:
    return AgendaItem.objects.create(
        partnership=held.partnership,
        meeting=held,
        title="Flexible working policy",
        status=ItemStatus.ACCEPTED,
        position=55,
        submitted_by=alice,
    )


def _entries(meeting: Meeting, text: str) -> dict[str, str]:
    """POST data writing `text` for every accepted item of the meeting."""
    return {f"entry_{i.pk}": f"{text} ({i.title})" for i in services.minute_items(meeting)}


def _draft(meeting: Meeting, by: User, **texts: str) -> Minutes:
    entries = {i.pk: texts.get("text", "Discussed.") for i in services.minute_items(meeting)}
    return services.minutes_save(meeting=meeting, by=by, summary="Chaired by Mia.", entries=entries)


def _approved(meeting: Meeting, next_meeting: Meeting, by: User) -> Minutes:
    minutes = services.minutes_circulate(minutes=_draft(meeting, by), by=by)
    return services.minutes_approve(minutes=minutes, by=by, at_meeting=next_meeting)


# Writing -----------------------------------------------------------------------------


def test_it_lists_accepted_items_in_agenda_order(
    alice_client: Client, held: Meeting, item: AgendaItem, alice: User
) -> None:
    AgendaItem.objects.create(
        partnership=held.partnership,
        meeting=held,
        title="A declined idea",
        status=ItemStatus.DECLINED,
        position=56,
        submitted_by=alice,
    )
    response = alice_client.get(reverse("meetings-edit-minutes", args=[held.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Flexible working policy" in page
    assert "A declined idea" not in page
    # Standing items are at 10, 20…, the policy at 55, any other business last.
    assert page.index("Minutes of the last meeting") < page.index("Flexible working policy")
    assert page.index("Flexible working policy") < page.index("Any other business")


def test_it_saves_a_first_draft_then_updates_it(
    alice_client: Client, held: Meeting, item: AgendaItem
) -> None:
    url = reverse("meetings-edit-minutes", args=[held.pk])
    data = {"summary": "Mia chaired.", **_entries(held, "First")}
    response = alice_client.post(url, data)
    assert response.status_code == 302
    minutes = Minutes.objects.get(meeting=held)
    assert (minutes.version, minutes.status, minutes.summary) == (1, "draft", "Mia chaired.")
    assert MinuteEntry.objects.get(minutes=minutes, item=item).text == (
        "First (Flexible working policy)"
    )

    alice_client.post(url, {"summary": "Mia chaired.", **_entries(held, "Second")})
    assert Minutes.objects.filter(meeting=held).count() == 1
    assert MinuteEntry.objects.get(minutes=minutes, item=item).text == (
        "Second (Flexible working policy)"
    )
    assert MinuteEntry.objects.filter(minutes=minutes).count() == 6


def test_it_refuses_minutes_before_the_meeting_starts(
    alice_client: Client, meeting: Meeting
) -> None:
    response = alice_client.post(
        reverse("meetings-edit-minutes", args=[meeting.pk]), {"summary": "Too early"}
    )
    assert response.status_code == 409
    assert "once the meeting has started" in response.content.decode()
    assert not Minutes.objects.filter(meeting=meeting).exists()


def test_it_allows_minutes_once_the_start_time_has_passed(
    alice: User, partnership_a: Partnership
) -> None:
    # Not marked as held, but it started an hour ago.
    today = in_progress(
        make_meeting(partnership_a, alice, days=0, status=MeetingStatus.PAPERS_PUBLISHED)
    )
    minutes = services.minutes_save(meeting=today, by=alice, summary="Under way", entries={})
    assert minutes.version == 1


def test_it_refuses_entries_for_items_not_on_the_agenda(
    alice: User, held: Meeting, meeting: Meeting
) -> None:
    elsewhere = services.minute_items(meeting)[0]
    with pytest.raises(ValidationError, match="accepted items of this meeting"):
        services.minutes_save(meeting=held, by=alice, entries={elsewhere.pk: "Sneaky"})
    assert not Minutes.objects.filter(meeting=held).exists()


# Circulating -------------------------------------------------------------------------


def test_it_circulates_the_draft_and_emails_members(
    alice_client: Client,
    alice: User,
    bob: User,
    dave: User,
    carol: User,
    held: Meeting,
    django_capture_on_commit_callbacks: Any,
) -> None:
    minutes = _draft(held, alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("meetings-circulate-minutes", args=[minutes.pk]))
    assert response.status_code == 302
    minutes.refresh_from_db()
    held.refresh_from_db()
    assert minutes.status == MinutesStatus.CIRCULATED
    assert minutes.circulated_at is not None
    assert held.status == MeetingStatus.MINUTES_DRAFTED
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == ["alice@example.org", "bob@example.org", "dave@example.org"]
    assert reverse("meetings-view-minutes", args=[minutes.pk]) in mail.outbox[0].body


def test_it_refuses_to_circulate_twice(alice: User, held: Meeting) -> None:
    minutes = services.minutes_circulate(minutes=_draft(held, alice), by=alice)
    with pytest.raises(ValidationError, match="already been circulated"):
        services.minutes_circulate(minutes=minutes, by=alice)


def test_it_lets_members_read_circulated_minutes_but_not_drafts(
    bob_client: Client, alice: User, held: Meeting, item: AgendaItem
) -> None:
    minutes = _draft(held, alice, text="Agreed to consult")
    url = reverse("meetings-view-minutes", args=[minutes.pk])
    assert bob_client.get(url).status_code == 403
    services.minutes_circulate(minutes=minutes, by=alice)
    response = bob_client.get(url)
    assert response.status_code == 200
    assert "Agreed to consult" in response.content.decode()


# Approving at the next meeting ---------------------------------------------------------


def _section(meeting: Meeting, user: User) -> str:
    """The minutes part of the meeting page, as view_meeting includes it."""
    context = {"meeting": meeting, "minutes": services.meeting_section(meeting, user)}
    return render_to_string("meetings/sections/minutes.html", context)


def test_it_offers_approval_on_the_next_meetings_page(
    alice: User, bob: User, held: Meeting, next_started: Meeting
) -> None:
    services.minutes_circulate(minutes=_draft(held, alice), by=alice)
    page = _section(next_started, alice)
    assert "Minutes of the previous meeting: approve" in page
    assert "Approve the minutes of March forum" in page
    # Members see what is to be approved, without the button.
    assert "Approve the minutes of" not in _section(next_started, bob)
    # Not on the minuted meeting's own page.
    assert "Minutes of the previous meeting: approve" not in _section(held, alice)


def test_it_approves_at_the_next_meeting_once_started(
    alice_client: Client, alice: User, held: Meeting, next_started: Meeting
) -> None:
    minutes = services.minutes_circulate(minutes=_draft(held, alice), by=alice)
    response = alice_client.post(
        reverse("meetings-approve-minutes", args=[minutes.pk]), {"meeting": next_started.pk}
    )
    assert response.status_code == 302
    minutes.refresh_from_db()
    held.refresh_from_db()
    assert minutes.status == MinutesStatus.APPROVED
    assert minutes.approved_at is not None
    assert minutes.approved_at_meeting == next_started
    assert held.status == MeetingStatus.MINUTES_APPROVED


def test_it_refuses_approval_before_the_next_meeting_starts(
    alice_client: Client, alice: User, held: Meeting, partnership_a: Partnership
) -> None:
    coming = make_meeting(partnership_a, alice, days=20, title="May forum")
    minutes = services.minutes_circulate(minutes=_draft(held, alice), by=alice)
    assert "once this meeting has started" in _section(coming, alice)
    response = alice_client.post(
        reverse("meetings-approve-minutes", args=[minutes.pk]),
        {"meeting": coming.pk},
        follow=True,
    )
    assert "can be approved once “May forum” has started" in response.content.decode()
    minutes.refresh_from_db()
    assert minutes.status == MinutesStatus.CIRCULATED
    assert minutes.approved_at_meeting is None


def test_it_refuses_approval_at_a_meeting_other_than_the_next(
    alice: User, held: Meeting, next_started: Meeting, partnership_a: Partnership
) -> None:
    minutes = services.minutes_circulate(minutes=_draft(held, alice), by=alice)
    with pytest.raises(ValidationError, match="next meeting after the one they minute"):
        services.minutes_approve(minutes=minutes, by=alice, at_meeting=held)
    earlier = make_meeting(partnership_a, alice, days=-40, status=MeetingStatus.HELD)
    with pytest.raises(ValidationError, match="next meeting after the one they minute"):
        services.minutes_approve(minutes=minutes, by=alice, at_meeting=earlier)
    minutes.refresh_from_db()
    assert minutes.status == MinutesStatus.CIRCULATED


def test_it_refuses_to_approve_a_draft_not_circulated(
    alice: User, held: Meeting, next_started: Meeting
) -> None:
    with pytest.raises(ValidationError, match="Circulate the draft"):
        services.minutes_approve(minutes=_draft(held, alice), by=alice, at_meeting=next_started)


# Locking -------------------------------------------------------------------------------


def test_it_refuses_edits_to_approved_minutes(
    alice_client: Client, alice: User, held: Meeting, next_started: Meeting, item: AgendaItem
) -> None:
    minutes = _approved(held, next_started, alice)
    response = alice_client.post(
        reverse("meetings-edit-minutes", args=[held.pk]),
        {"summary": "Rewritten", **_entries(held, "Rewritten")},
    )
    assert response.status_code == 409
    assert "approved and are locked" in response.content.decode()
    minutes.refresh_from_db()
    assert minutes.summary == "Chaired by Mia."
    assert MinuteEntry.objects.get(minutes=minutes, item=item).text == "Discussed."
    assert Minutes.objects.filter(meeting=held).count() == 1


def test_it_refuses_new_decisions_once_the_minutes_are_approved(
    alice: User, held: Meeting, next_started: Meeting
) -> None:
    _approved(held, next_started, alice)
    with pytest.raises(ValidationError, match="locked"):
        services.decision_record(meeting=held, item=None, by=alice, text="Late decision")


# Corrections and versions ---------------------------------------------------------------


def test_it_refuses_a_correction_without_a_reason(
    alice_client: Client, alice: User, held: Meeting, next_started: Meeting
) -> None:
    minutes = _approved(held, next_started, alice)
    response = alice_client.post(
        reverse("meetings-correct-minutes", args=[minutes.pk]),
        {"reason": "  ", "summary": "Changed", **_entries(held, "Changed")},
    )
    assert response.status_code == 400
    assert "Say why the minutes are corrected" in response.content.decode()
    minutes.refresh_from_db()
    assert minutes.status == MinutesStatus.APPROVED
    assert Minutes.objects.filter(meeting=held).count() == 1
    with pytest.raises(ValidationError, match="Say why the minutes are corrected"):
        services.minutes_correct(minutes=minutes, by=alice, reason="", summary="x", entries={})


def test_it_makes_a_new_version_for_a_correction_and_keeps_the_old(
    alice_client: Client,
    bob_client: Client,
    alice: User,
    held: Meeting,
    next_started: Meeting,
    item: AgendaItem,
) -> None:
    v1 = _approved(held, next_started, alice)
    response = alice_client.post(
        reverse("meetings-correct-minutes", args=[v1.pk]),
        {
            "reason": "Dave's objection was left out.",
            "summary": "Chaired by Mia.",
            f"entry_{item.pk}": "Agreed, with Dave objecting.",
        },
    )
    assert response.status_code == 302
    v1.refresh_from_db()
    v2 = Minutes.objects.get(meeting=held, version=2)
    assert v1.status == MinutesStatus.SUPERSEDED
    assert v2.status == MinutesStatus.CIRCULATED
    assert v2.correction_reason == "Dave's objection was left out."
    assert MinuteEntry.objects.get(minutes=v2, item=item).text == "Agreed, with Dave objecting."
    # The old version keeps its words and can still be read.
    assert MinuteEntry.objects.get(minutes=v1, item=item).text == "Discussed."
    old_page = bob_client.get(reverse("meetings-view-minutes", args=[v1.pk])).content.decode()
    assert "This version was corrected" in old_page
    assert "Discussed." in old_page
    versions = bob_client.get(reverse("meetings-list-minutes-versions", args=[held.pk]))
    text = versions.content.decode()
    assert "Version 1" in text and "Version 2" in text
    assert "Dave&#x27;s objection was left out." in text
    # The superseded version is read-only: no correcting it again.
    with pytest.raises(ValidationError, match="already corrected"):
        services.minutes_correct(
            minutes=v1, by=alice, reason="Again", summary="", entries={item.pk: "x"}
        )


def test_it_approves_a_correction_at_the_next_meeting_after_it(
    alice: User, held: Meeting, next_started: Meeting, partnership_a: Partnership
) -> None:
    v1 = _approved(held, next_started, alice)
    v2 = services.minutes_correct(
        minutes=v1, by=alice, reason="Typo in the names.", summary="Fixed", entries={}
    )
    # next_started is still going (it ends later today), so the correction comes to it.
    later = make_meeting(partnership_a, alice, days=30, title="June forum")
    with pytest.raises(ValidationError, match="first meeting after the correction was made"):
        services.minutes_approve(minutes=v2, by=alice, at_meeting=later)
    approved = services.minutes_approve(minutes=v2, by=alice, at_meeting=next_started)
    assert approved.status == MinutesStatus.APPROVED
    assert approved.approved_at_meeting == next_started


def test_it_prints_the_minutes(
    bob_client: Client, alice: User, held: Meeting, next_started: Meeting, item: AgendaItem
) -> None:
    minutes = _approved(held, next_started, alice)
    response = bob_client.get(reverse("meetings-print-minutes", args=[minutes.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Minutes of March forum" in page
    assert "Flexible working policy" in page
    assert "approved" in page


# Access ------------------------------------------------------------------------------


POST_ONLY = ("circulate", "approve", "decision", "action")


def _urls(meeting: Meeting, minutes: Minutes) -> dict[str, str]:
    return {
        "edit": reverse("meetings-edit-minutes", args=[meeting.pk]),
        "versions": reverse("meetings-list-minutes-versions", args=[meeting.pk]),
        "view": reverse("meetings-view-minutes", args=[minutes.pk]),
        "print": reverse("meetings-print-minutes", args=[minutes.pk]),
        "circulate": reverse("meetings-circulate-minutes", args=[minutes.pk]),
        "approve": reverse("meetings-approve-minutes", args=[minutes.pk]),
        "correct": reverse("meetings-correct-minutes", args=[minutes.pk]),
        "decision": reverse("meetings-add-decision", args=[meeting.pk]),
        "action": reverse("meetings-add-decision-action", args=[meeting.pk]),
    }


def test_it_hides_every_minutes_url_from_other_partnerships(
    carol_client: Client, alice: User, held: Meeting
) -> None:
    minutes = _draft(held, alice)
    for name, url in _urls(held, minutes).items():
        if name not in POST_ONLY:
            assert carol_client.get(url).status_code == 404, name
        assert carol_client.post(url, {"summary": "x"}).status_code == 404, name


def test_it_refuses_members_who_do_not_manage(
    bob_client: Client, alice: User, held: Meeting
) -> None:
    minutes = _draft(held, alice)
    urls = _urls(held, minutes)
    for name in ("edit", "circulate", "approve", "correct", "decision", "action"):
        assert bob_client.post(urls[name], {"summary": "Bob's"}).status_code == 403, name
    assert bob_client.get(urls["edit"]).status_code == 403
    minutes.refresh_from_db()
    assert minutes.summary == "Chaired by Mia."
    assert minutes.status == MinutesStatus.DRAFT


def test_it_answers_get_on_state_changes_with_405(
    alice_client: Client, alice: User, held: Meeting
) -> None:
    minutes = _draft(held, alice)
    urls = _urls(held, minutes)
    for name in POST_ONLY:
        assert alice_client.get(urls[name]).status_code == 405, name


def test_it_lets_a_chair_minute_the_meeting(
    mgmt_chair_client: Client, held: Meeting, item: AgendaItem
) -> None:
    response = mgmt_chair_client.post(
        reverse("meetings-edit-minutes", args=[held.pk]),
        {"summary": "Mia chaired.", **_entries(held, "By the chair")},
    )
    assert response.status_code == 302
    assert Minutes.objects.get(meeting=held).summary == "Mia chaired."


# Query counts ------------------------------------------------------------------------


# Measured queries for the edit and view pages; they must not grow with the number of items.
EDIT_QUERIES = 12
VIEW_QUERIES = 9


def _add_items(meeting: Meeting, by: User, n: int, *, first: int = 0) -> None:
    AgendaItem.objects.bulk_create(
        AgendaItem(
            partnership=meeting.partnership,
            meeting=meeting,
            title=f"Item {i}",
            status=ItemStatus.ACCEPTED,
            position=100 + i,
            submitted_by=by,
        )
        for i in range(first, first + n)
    )


def _decide(meeting: Meeting, by: User, n: int) -> None:
    items = services.minute_items(meeting)
    for i in range(n):
        services.decision_record(
            meeting=meeting, item=items[i % len(items)], by=by, text=f"Decision {i}"
        )


def test_it_shows_the_minutes_page_in_constant_queries(
    alice_client: Client, alice: User, held: Meeting, next_started: Meeting
) -> None:
    def queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as edit:
            response = alice_client.get(reverse("meetings-edit-minutes", args=[held.pk]))
            assert response.status_code == 200
        minutes = services.minutes_current(held)
        assert minutes is not None
        with CaptureQueriesContext(connection) as view:
            response = alice_client.get(reverse("meetings-view-minutes", args=[minutes.pk]))
            assert response.status_code == 200
        return len(edit.captured_queries), len(view.captured_queries)

    _add_items(held, alice, 3)
    _decide(held, alice, 3)
    _draft(held, alice)
    three = queries()
    _add_items(held, alice, 27, first=3)
    _decide(held, alice, 27)
    _draft(held, alice)
    assert len(services.minute_items(held)) == 35  # five standing items and thirty more
    thirty = queries()
    assert thirty == three
    assert three[0] <= EDIT_QUERIES and three[1] <= VIEW_QUERIES, three


def test_it_brings_a_later_correction_to_the_first_meeting_after_it(
    alice: User, held: Meeting, partnership_a: Partnership
) -> None:
    approving = make_meeting(partnership_a, alice, days=-7, status=MeetingStatus.HELD)
    v1 = _approved(held, approving, alice)
    v2 = services.minutes_correct(
        minutes=v1, by=alice, reason="A name was misspelt.", summary="", entries={}
    )
    # The meeting that approved v1 ended before the correction, so it is not the place.
    with pytest.raises(ValidationError, match="first meeting after the correction"):
        services.minutes_approve(minutes=v2, by=alice, at_meeting=approving)
    following = in_progress(make_meeting(partnership_a, alice, days=0, title="July forum"))
    assert "Minutes of the previous meeting: approve" in _section(following, alice)
    assert services.minutes_approve(minutes=v2, by=alice, at_meeting=following).version == 2


# Changing circulated minutes ------------------------------------------------------------


def test_it_puts_changed_circulated_minutes_back_to_draft(
    alice_client: Client, alice: User, held: Meeting, item: AgendaItem
) -> None:
    minutes = services.minutes_circulate(minutes=_draft(held, alice), by=alice)
    url = reverse("meetings-edit-minutes", args=[held.pk])
    page = alice_client.get(url).content.decode()
    assert "Changing them makes them a draft again" in page
    response = alice_client.post(url, {"summary": "Chaired by Mia.", **_entries(held, "Later")})
    assert response.status_code == 302
    minutes.refresh_from_db()
    assert (minutes.status, minutes.circulated_at) == (MinutesStatus.DRAFT, None)
    assert MinuteEntry.objects.get(minutes=minutes, item=item).text.startswith("Later")
    page = alice_client.get(url).content.decode()
    assert "circulate them again" in page
    assert "Circulate the draft to members" in page


def test_it_keeps_circulated_minutes_circulated_when_nothing_changed(
    alice: User, held: Meeting, item: AgendaItem
) -> None:
    minutes = services.minutes_circulate(minutes=_draft(held, alice), by=alice)
    _draft(held, alice)
    minutes.refresh_from_db()
    assert minutes.status == MinutesStatus.CIRCULATED
    assert minutes.circulated_at is not None


def test_it_refuses_to_approve_minutes_changed_after_circulation(
    alice: User, held: Meeting, next_started: Meeting, item: AgendaItem
) -> None:
    circulated = services.minutes_circulate(minutes=_draft(held, alice), by=alice)
    _draft(held, alice, text="Changed after circulation.")
    with pytest.raises(ValidationError, match="Circulate the draft"):
        services.minutes_approve(minutes=circulated, by=alice, at_meeting=next_started)
    circulated.refresh_from_db()
    assert circulated.status == MinutesStatus.DRAFT
    assert circulated.approved_at is None


def test_it_approves_minutes_circulated_again_after_a_change(
    alice: User, held: Meeting, next_started: Meeting, item: AgendaItem
) -> None:
    minutes = services.minutes_circulate(minutes=_draft(held, alice), by=alice)
    _draft(held, alice, text="Changed after circulation.")
    services.minutes_circulate(minutes=minutes, by=alice)
    approved = services.minutes_approve(minutes=minutes, by=alice, at_meeting=next_started)
    assert approved.status == MinutesStatus.APPROVED
