"""Joint sign-off of a meeting's agenda: a chair of every side must approve the same version."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from partnerwell.core.models import Organisation, Partnership, Role, User
from partnerwell.meetings import agenda, papers
from partnerwell.meetings.models import AgendaApproval, AgendaItem, Meeting, MeetingStatus
from tests.conftest import _join, _person, client_for
from tests.meetings.conftest import make_meeting


def _approve_url(meeting: Meeting) -> str:
    return reverse("meetings-approve-agenda", args=[meeting.pk])


def _seen(meeting: Meeting) -> dict[str, int]:
    """What the approve button sends: the revision of the agenda on the page."""
    return {"revision": Meeting.objects.get(pk=meeting.pk).agenda_revision}


def _item(meeting: Meeting, by: User, title: str = "Pay policy", minutes: int = 20) -> AgendaItem:
    return agenda.item_submit(
        partnership=meeting.partnership,
        by=by,
        meeting=meeting,
        title=title,
        ask="decision",
        nature="strategic",
        minutes_needed=minutes,
    )


def test_it_needs_every_side_before_the_agenda_is_agreed(
    meeting: Meeting, mgmt_chair_client: Client, staff_chair_client: Client
) -> None:
    response = mgmt_chair_client.post(_approve_url(meeting), _seen(meeting), follow=True)
    meeting.refresh_from_db()
    assert meeting.agenda_agreed_at is None
    assert meeting.status == MeetingStatus.AGENDA_OPEN
    assert "waiting for approval from the staff side" in response.content.decode()
    assert AgendaApproval.objects.get(meeting=meeting).side.name == "Management side"

    staff_chair_client.post(_approve_url(meeting), _seen(meeting))
    meeting.refresh_from_db()
    assert meeting.agenda_agreed_at is not None
    assert meeting.status == MeetingStatus.AGENDA_AGREED
    assert agenda.agenda_state(meeting)["agreed"] is True


def test_it_shows_whose_approval_is_awaited_on_the_meeting_page(
    meeting: Meeting, mgmt_chair: User, mgmt_chair_client: Client
) -> None:
    agenda.agenda_approve(meeting=meeting, by=mgmt_chair)
    page = mgmt_chair_client.get(meeting.get_absolute_url()).content.decode()
    assert "Approved by Mia Chair (management side); waiting for the staff side" in page
    # She has approved this version, so the button is gone for her.
    assert "Approve this agenda" not in page


def test_it_resets_the_agreement_when_the_agenda_changes(
    meeting: Meeting, mgmt_chair: User, staff_chair: User, dave: User
) -> None:
    agenda.agenda_approve(meeting=meeting, by=mgmt_chair)
    agenda.agenda_approve(meeting=meeting, by=staff_chair)
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.AGENDA_AGREED
    revision = meeting.agenda_revision

    item = _item(meeting, dave)
    agenda.item_triage(item=item, by=mgmt_chair, decision="accept")
    meeting.refresh_from_db()
    assert meeting.agenda_revision == revision + 1
    assert meeting.agenda_agreed_at is None
    assert meeting.status == MeetingStatus.AGENDA_OPEN

    # One side approving the changed agenda is not enough again.
    agenda.agenda_approve(meeting=meeting, by=staff_chair)
    meeting.refresh_from_db()
    assert meeting.agenda_agreed_at is None
    agenda.agenda_approve(meeting=meeting, by=mgmt_chair)
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.AGENDA_AGREED


def test_it_does_not_count_an_approval_of_an_older_version(
    meeting: Meeting, mgmt_chair: User, staff_chair: User, alice: User
) -> None:
    agenda.agenda_approve(meeting=meeting, by=mgmt_chair)
    agenda.agenda_changed(meeting, "Items reordered")
    agenda.agenda_approve(meeting=meeting, by=staff_chair)
    meeting.refresh_from_db()
    state = agenda.agenda_state(meeting)
    assert state["agreed"] is False
    assert [s.name for s in state["waiting_sides"]] == ["Management side"]
    assert meeting.agenda_agreed_at is None


def test_it_refuses_approval_from_someone_who_is_not_a_chair(
    meeting: Meeting, alice_client: Client, bob_client: Client
) -> None:
    assert alice_client.post(_approve_url(meeting), _seen(meeting)).status_code == 403
    assert bob_client.post(_approve_url(meeting), _seen(meeting)).status_code == 403
    assert not AgendaApproval.objects.filter(meeting=meeting).exists()


def test_it_refuses_get(meeting: Meeting, mgmt_chair_client: Client) -> None:
    assert mgmt_chair_client.get(_approve_url(meeting)).status_code == 405


def test_it_hides_other_partnerships_meetings(meeting: Meeting, carol_client: Client) -> None:
    assert carol_client.post(_approve_url(meeting), _seen(meeting)).status_code == 404


def test_it_refuses_a_second_approval_of_the_same_version(
    meeting: Meeting, mgmt_chair: User
) -> None:
    agenda.agenda_approve(meeting=meeting, by=mgmt_chair)
    with pytest.raises(ValidationError, match="already approved"):
        agenda.agenda_approve(meeting=meeting, by=mgmt_chair)


def test_it_refuses_approval_while_the_agenda_runs_over(
    partnership_a: Partnership, alice: User, mgmt_chair: User, mgmt_chair_client: Client
) -> None:
    short = make_meeting(partnership_a, alice, hours=1)
    # The standing items take 40 of the 60 minutes; stretch one past the end.
    standing = AgendaItem.objects.get(meeting=short, standing="actions")
    AgendaItem.objects.filter(pk=standing.pk).update(minutes_needed=45)
    response = mgmt_chair_client.post(_approve_url(short), _seen(short), follow=True)
    assert "10 minutes longer than the meeting" in response.content.decode()
    assert not AgendaApproval.objects.filter(meeting=short).exists()


def test_it_needs_one_approval_where_there_are_no_sides(
    partnership_b: Partnership, carol: User, carol_client: Client
) -> None:
    meeting = make_meeting(partnership_b, carol)
    carol_client.post(_approve_url(meeting), _seen(meeting))
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.AGENDA_AGREED
    assert AgendaApproval.objects.get(meeting=meeting).side is None


def test_it_keeps_a_later_stage_but_asks_for_approval_again(
    meeting: Meeting,
    mgmt_chair: User,
    staff_chair: User,
    mgmt_chair_client: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rebuilds: list[str] = []
    monkeypatch.setattr(papers, "pack_request_rebuild", lambda m, note: rebuilds.append(note))
    agenda.agenda_approve(meeting=meeting, by=mgmt_chair)
    agenda.agenda_approve(meeting=meeting, by=staff_chair)
    Meeting.objects.filter(pk=meeting.pk).update(status=MeetingStatus.PAPERS_PUBLISHED)
    meeting.refresh_from_db()

    agenda.agenda_changed(meeting, "Items reordered")
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.PAPERS_PUBLISHED
    page = mgmt_chair_client.get(meeting.get_absolute_url()).content.decode()
    assert "The changed agenda needs approval again" in page
    assert rebuilds == []

    agenda.agenda_approve(meeting=meeting, by=mgmt_chair)
    agenda.agenda_approve(meeting=meeting, by=staff_chair)
    meeting.refresh_from_db()
    assert meeting.agenda_agreed_at is not None
    assert meeting.status == MeetingStatus.PAPERS_PUBLISHED
    assert len(rebuilds) == 1 and rebuilds[0].startswith("Agenda changed")


def test_it_refuses_a_chair_with_no_side(
    meeting: Meeting, mgmt_chair: User, partnership_a: Partnership
) -> None:
    mgmt_chair.memberships.filter(partnership=partnership_a).update(side=None)
    with pytest.raises(ValidationError, match="no side"):
        agenda.agenda_approve(meeting=meeting, by=mgmt_chair)


def test_it_refuses_a_member_in_the_service_too(meeting: Meeting, dave: User) -> None:
    with pytest.raises(PermissionDenied):
        agenda.agenda_approve(meeting=meeting, by=dave)
    # The view answers the same way for dave.
    assert client_for(dave).post(_approve_url(meeting), _seen(meeting)).status_code == 403


@pytest.fixture
def staff_vice_chair(partnership_a: Partnership, union: Organisation) -> User:
    """Vice-chair of partnership A, on the staff side: triages, but cannot sign off."""
    user = _person("vic@example.org", "Vic Vicechair")
    _join(partnership_a, user, union, Role.VICE_CHAIR, "Staff side")
    return user


def test_it_does_not_count_a_vice_chair_for_sign_off(
    meeting: Meeting, mgmt_chair: User, staff_vice_chair: User
) -> None:
    agenda.agenda_approve(meeting=meeting, by=mgmt_chair)
    with pytest.raises(PermissionDenied, match="vice-chair can triage items but not sign"):
        agenda.agenda_approve(meeting=meeting, by=staff_vice_chair)
    meeting.refresh_from_db()
    assert meeting.agenda_agreed_at is None
    assert meeting.status == MeetingStatus.AGENDA_OPEN
    state = agenda.agenda_state(meeting)
    assert state["agreed"] is False
    assert [s.name for s in state["waiting_sides"]] == ["Staff side"]


def test_it_ignores_an_approval_recorded_for_a_vice_chair(
    meeting: Meeting, mgmt_chair: User, staff_vice_chair: User, partnership_a: Partnership
) -> None:
    agenda.agenda_approve(meeting=meeting, by=mgmt_chair)
    # Say one was recorded before vice-chairs stopped counting.
    AgendaApproval.objects.create(
        meeting=meeting,
        side=partnership_a.sides.get(name="Staff side"),
        approved_by=staff_vice_chair,
        revision=meeting.agenda_revision,
    )
    state = agenda.agenda_state(meeting)
    assert state["agreed"] is False
    assert [a.approved_by for a in state["approvals"]] == [mgmt_chair]


def test_it_refuses_a_vice_chair_on_the_page_with_a_reason(
    meeting: Meeting, staff_vice_chair: User
) -> None:
    vice = client_for(staff_vice_chair)
    # The meeting page offers her no approve button...
    assert "Approve this agenda" not in vice.get(meeting.get_absolute_url()).content.decode()
    # ...and posting anyway is refused with a sentence saying why.
    response = vice.post(_approve_url(meeting), _seen(meeting))
    assert response.status_code == 403
    assert "a vice-chair can triage items but not sign the agenda off" in (
        response.content.decode()
    )
    assert not AgendaApproval.objects.filter(meeting=meeting).exists()


def test_it_still_lets_a_vice_chair_triage(
    meeting: Meeting, dave: User, staff_vice_chair: User
) -> None:
    item = _item(meeting, dave)
    agenda.item_triage(item=item, by=staff_vice_chair, decision="accept")
    item.refresh_from_db()
    assert item.status == "accepted"


def test_it_refuses_an_approval_of_an_agenda_changed_since_it_was_read(
    mgmt_chair_client: Client, mgmt_chair: User, meeting: Meeting, bob: User
) -> None:
    read = _seen(meeting)
    # Someone changes the agenda while the chair reads it.
    agenda.agenda_changed(meeting, "an item was added")
    response = mgmt_chair_client.post(_approve_url(meeting), read, follow=True)
    assert "The agenda has changed since you read it" in response.content.decode()
    assert not AgendaApproval.objects.filter(meeting=meeting).exists()
    # Without the revision the page showed, nothing is approved either.
    mgmt_chair_client.post(_approve_url(meeting))
    assert not AgendaApproval.objects.filter(meeting=meeting).exists()
