"""Replies before a meeting, the register on the day and the quorum recorded with it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from partnerwell.core.models import Membership, Organisation, Partnership, Role, User
from partnerwell.meetings import attendance, services
from partnerwell.meetings.models import Attendance, Meeting, MeetingStatus
from tests.conftest import _join, _person, client_for
from tests.meetings.conftest import make_meeting

pytestmark = pytest.mark.django_db


def membership_of(user: User, partnership: Partnership) -> Membership:
    return Membership.objects.get(person=user, partnership=partnership)


def add_deputy(
    partnership: Partnership,
    member: User,
    organisation: Organisation,
    side: str,
    name: str = "Dee Deputy",
    *,
    decision_maker: bool = False,
) -> Membership:
    person = _person(f"{name.split()[0].lower()}@example.org", name)
    return _join(
        partnership,
        person,
        organisation,
        Role.DEPUTY,
        side,
        deputy_for=membership_of(member, partnership),
        decision_maker=decision_maker,
    )


@pytest.fixture
def past_meeting(partnership_a: Partnership, alice: User) -> Meeting:
    """Yesterday's meeting, papers published but not yet marked as held."""
    return make_meeting(partnership_a, alice, days=-1, status=MeetingStatus.PAPERS_PUBLISHED)


def each_side(partnership: Partnership) -> None:
    rules = services.settings_for(partnership)
    rules.quorum_each_side = True
    rules.save()


def register_data(entries: dict[int, tuple[str, str]], *, button: str = "save") -> dict[str, str]:
    data = {button: "1"}
    for pk, (presence, name) in entries.items():
        data[f"presence_{pk}"] = presence
        data[f"deputy_{pk}"] = name
    return data


# Replies --------------------------------------------------------------------------


def test_it_records_a_reply(bob_client: Client, bob: User, meeting: Meeting) -> None:
    url = reverse("meetings-reply-attendance", args=[meeting.pk])
    response = bob_client.post(url, {"reply": "apologies", "deputy_name": "", "note": "On leave"})
    assert response.status_code == 302 and response["Location"] == meeting.get_absolute_url()
    row = Attendance.objects.get(meeting=meeting, membership__person=bob)
    assert (row.reply, row.note, row.presence) == ("apologies", "On leave", "")
    assert row.replied_at is not None


def test_it_lets_a_member_change_their_reply_to_a_named_deputy(
    partnership_a: Partnership, union: Organisation, dave: User, meeting: Meeting
) -> None:
    add_deputy(partnership_a, dave, union, "Staff side")
    client = client_for(dave)
    url = reverse("meetings-reply-attendance", args=[meeting.pk])
    client.post(url, {"reply": "attending"})
    page = client.get(url).content.decode()
    # The registered deputy is offered to pick from.
    assert "Your registered deputies: Dee Deputy." in page
    assert '<option value="Dee Deputy">' in page
    response = client.post(url, {"reply": "deputy", "deputy_name": " Dee  Deputy "})
    assert response.status_code == 302
    row = Attendance.objects.get(meeting=meeting, membership__person=dave)
    assert (row.reply, row.deputy_name) == ("deputy", "Dee Deputy")
    assert Attendance.objects.filter(meeting=meeting).count() == 1


def test_it_needs_a_name_for_a_deputy(bob_client: Client, meeting: Meeting) -> None:
    url = reverse("meetings-reply-attendance", args=[meeting.pk])
    response = bob_client.post(url, {"reply": "deputy", "deputy_name": "  "})
    assert response.status_code == 200
    assert "Give the name of the deputy you are sending." in response.content.decode()
    assert not Attendance.objects.exists()


@pytest.mark.parametrize(
    ("days", "cancel", "sentence"),
    [
        (-1, False, "This meeting has already taken place, so replies are closed."),
        (30, True, "This meeting was cancelled, so there is nothing to reply to."),
    ],
)
def test_it_refuses_replies_to_past_or_cancelled_meetings(
    bob_client: Client,
    partnership_a: Partnership,
    alice: User,
    days: int,
    cancel: bool,
    sentence: str,
) -> None:
    meeting = make_meeting(partnership_a, alice, days=days)
    if cancel:
        services.meeting_cancel(meeting=meeting, reason="No business")
    url = reverse("meetings-reply-attendance", args=[meeting.pk])
    assert sentence in bob_client.get(url).content.decode()
    response = bob_client.post(url, {"reply": "attending"})
    assert response.status_code == 200
    assert sentence in response.content.decode()
    assert not Attendance.objects.exists()


def test_it_refuses_replies_from_observers(
    partnership_a: Partnership, council: Organisation, meeting: Meeting
) -> None:
    olly = _person("olly@example.org", "Olly Observer")
    _join(partnership_a, olly, council, Role.OBSERVER, "Management side")
    response = client_for(olly).post(
        reverse("meetings-reply-attendance", args=[meeting.pk]), {"reply": "attending"}
    )
    assert response.status_code == 403
    assert not Attendance.objects.exists()


def test_it_refuses_a_reply_from_another_partnerships_member(
    carol_client: Client, meeting: Meeting
) -> None:
    url = reverse("meetings-reply-attendance", args=[meeting.pk])
    assert carol_client.get(url).status_code == 404
    assert carol_client.post(url, {"reply": "attending"}).status_code == 404
    assert not Attendance.objects.exists()


# The register ---------------------------------------------------------------------


def test_it_prefills_the_register_from_replies(
    alice_client: Client, bob: User, dave: User, meeting: Meeting, partnership_a: Partnership
) -> None:
    attendance.attendance_reply(
        meeting=meeting, membership=membership_of(bob, partnership_a), reply="apologies"
    )
    attendance.attendance_reply(
        meeting=meeting,
        membership=membership_of(dave, partnership_a),
        reply="deputy",
        deputy_name="Dee Deputy",
    )
    rows = {r.membership.person.name: r for r in attendance.register_rows(meeting)}
    assert rows["Bob Member"].initial_presence == "apologies"
    assert rows["Dave Staffside"].initial_presence == "deputy"
    assert rows["Dave Staffside"].initial_deputy_name == "Dee Deputy"
    assert rows["Alice Manager"].initial_presence == ""
    page = alice_client.get(reverse("meetings-take-register", args=[meeting.pk])).content.decode()
    dave_pk = membership_of(dave, partnership_a).pk
    assert f'name="presence_{dave_pk}" type="radio" value="deputy" checked' in page
    assert 'value="Dee Deputy"' in page


def test_it_lists_a_deputy_under_their_member_and_leaves_out_observers(
    partnership_a: Partnership,
    council: Organisation,
    union: Organisation,
    alice: User,
    dave: User,
    meeting: Meeting,
) -> None:
    deputy = add_deputy(partnership_a, dave, union, "Staff side")
    olly = _person("olly@example.org", "Olly Observer")
    _join(partnership_a, olly, council, Role.OBSERVER, "Management side")
    rows = attendance.register_rows(meeting)
    names = [r.membership.person.name for r in rows]
    assert names == ["Alice Manager", "Dave Staffside"]
    assert rows[1].deputies == [deputy]


def test_it_saves_the_register_with_a_deputy_counting_for_their_side(
    alice_client: Client,
    alice: User,
    bob: User,
    dave: User,
    union: Organisation,
    partnership_a: Partnership,
    past_meeting: Meeting,
) -> None:
    add_deputy(partnership_a, dave, union, "Staff side")
    each_side(partnership_a)
    a, b, d = (membership_of(u, partnership_a).pk for u in (alice, bob, dave))
    data = register_data({a: ("present", ""), b: ("absent", ""), d: ("deputy", "Dee Deputy")})
    response = alice_client.post(reverse("meetings-take-register", args=[past_meeting.pk]), data)
    assert response.status_code == 302
    past_meeting.refresh_from_db()
    dave_row = Attendance.objects.get(meeting=past_meeting, membership_id=d)
    assert (dave_row.presence, dave_row.deputy_name) == ("deputy", "Dee Deputy")
    assert Attendance.objects.get(meeting=past_meeting, membership_id=b).presence == "absent"
    # The staff side is represented only through Dave's deputy.
    assert past_meeting.quorum_met is True
    assert past_meeting.quorum_detail["checks"][0]["missing"] == []
    assert past_meeting.quorum_detail["recorded_by"] == "Alice Manager"
    # Alice decides; Dave's deputy is not a decision-maker.
    assert past_meeting.decision_makers_present == 1
    assert past_meeting.status == MeetingStatus.HELD


def test_it_counts_a_deputy_who_can_decide_as_a_decision_maker(
    alice: User, dave: User, union: Organisation, partnership_a: Partnership, past_meeting: Meeting
) -> None:
    add_deputy(partnership_a, dave, union, "Staff side", decision_maker=True)
    a, d = (membership_of(u, partnership_a).pk for u in (alice, dave))
    attendance.register_record(
        meeting=past_meeting,
        by=alice,
        entries=[(a, "present", ""), (d, "deputy", "dee deputy")],
    )
    past_meeting.refresh_from_db()
    assert past_meeting.decision_makers_present == 2
    # No quorum rule set: neither met nor missed.
    assert past_meeting.quorum_met is None


def test_it_records_a_missed_quorum_with_what_was_missing(
    alice: User, bob: User, dave: User, partnership_a: Partnership, past_meeting: Meeting
) -> None:
    each_side(partnership_a)
    a, b, d = (membership_of(u, partnership_a).pk for u in (alice, bob, dave))
    result = attendance.register_record(
        meeting=past_meeting,
        by=alice,
        entries=[(a, "present", ""), (b, "present", ""), (d, "apologies", "")],
    )
    past_meeting.refresh_from_db()
    assert result.met is False
    assert past_meeting.quorum_met is False
    assert past_meeting.quorum_detail["checks"][0]["missing"] == ["Staff side"]
    assert attendance.quorum_for(past_meeting).met is False


def test_it_refuses_a_deputy_without_a_name(
    alice_client: Client, alice: User, dave: User, partnership_a: Partnership, past_meeting: Meeting
) -> None:
    a, d = (membership_of(u, partnership_a).pk for u in (alice, dave))
    data = register_data({a: ("present", ""), d: ("deputy", " ")})
    response = alice_client.post(reverse("meetings-take-register", args=[past_meeting.pk]), data)
    assert response.status_code == 200
    assert (
        "Give the name of the deputy who attended for Dave Staffside." in response.content.decode()
    )
    assert not Attendance.objects.exists()
    past_meeting.refresh_from_db()
    assert past_meeting.status == MeetingStatus.PAPERS_PUBLISHED


def test_it_refuses_an_unknown_membership(
    alice_client: Client,
    alice: User,
    carol: User,
    partnership_b: Partnership,
    partnership_a: Partnership,
    past_meeting: Meeting,
) -> None:
    a = membership_of(alice, partnership_a).pk
    stranger = membership_of(carol, partnership_b).pk
    data = register_data({a: ("present", ""), stranger: ("present", "")})
    response = alice_client.post(reverse("meetings-take-register", args=[past_meeting.pk]), data)
    assert response.status_code == 200
    assert "not a member who counts at this meeting" in response.content.decode()
    assert not Attendance.objects.exists()
    with pytest.raises(ValidationError, match="not a member who counts"):
        attendance.register_record(
            meeting=past_meeting, by=alice, entries=[(a, "present", ""), (stranger, "present", "")]
        )
    assert not Attendance.objects.exists()


def test_it_refuses_the_register_before_the_day(
    alice: User, partnership_a: Partnership, meeting: Meeting
) -> None:
    a = membership_of(alice, partnership_a).pk
    with pytest.raises(ValidationError, match="taken on the day of the meeting"):
        attendance.register_record(meeting=meeting, by=alice, entries=[(a, "present", "")])
    assert not Attendance.objects.exists()


def test_it_checks_the_quorum_without_saving(
    alice_client: Client, alice: User, dave: User, partnership_a: Partnership, past_meeting: Meeting
) -> None:
    each_side(partnership_a)
    a, d = (membership_of(u, partnership_a).pk for u in (alice, dave))
    url = reverse("meetings-take-register", args=[past_meeting.pk])
    missed = alice_client.post(url, register_data({a: ("present", "")}, button="check"))
    assert missed.status_code == 200
    assert "Not quorate" in missed.content.decode()
    assert "Missing: Staff side." in missed.content.decode()
    met = alice_client.post(
        url, register_data({a: ("present", ""), d: ("present", "")}, button="check")
    )
    assert "Quorate" in met.content.decode() and "Not quorate" not in met.content.decode()
    assert not Attendance.objects.exists()
    past_meeting.refresh_from_db()
    assert past_meeting.quorum_detail == {} and past_meeting.status == "papers_published"


def test_it_answers_the_live_check_with_a_fragment(
    alice_client: Client, alice: User, dave: User, partnership_a: Partnership, past_meeting: Meeting
) -> None:
    each_side(partnership_a)
    d = membership_of(dave, partnership_a).pk
    url = reverse("meetings-check-quorum", args=[past_meeting.pk])
    response = alice_client.post(
        url, register_data({d: ("deputy", "Dee Deputy")}, button="check"), HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.startswith('<div id="quorum-status"') and "<html" not in body
    assert "Missing: Management side." in body
    assert not Attendance.objects.exists()
    assert alice_client.get(url).status_code == 405


def test_it_lets_only_managers_and_chairs_take_the_register(
    bob_client: Client, bob: User, partnership_a: Partnership, past_meeting: Meeting
) -> None:
    b = membership_of(bob, partnership_a).pk
    data = register_data({b: ("present", "")})
    register = reverse("meetings-take-register", args=[past_meeting.pk])
    check = reverse("meetings-check-quorum", args=[past_meeting.pk])
    assert bob_client.get(register).status_code == 403
    assert bob_client.post(register, data).status_code == 403
    assert bob_client.post(check, data).status_code == 403
    assert not Attendance.objects.exists()


def test_it_lets_a_vice_chair_take_the_register(
    partnership_a: Partnership, council: Organisation, alice: User, past_meeting: Meeting
) -> None:
    vic = _person("vic@example.org", "Vic Vicechair")
    _join(partnership_a, vic, council, Role.VICE_CHAIR, "Management side")
    url = reverse("meetings-take-register", args=[past_meeting.pk])
    v, a = membership_of(vic, partnership_a).pk, membership_of(alice, partnership_a).pk
    response = client_for(vic).post(url, register_data({v: ("present", ""), a: ("absent", "")}))
    assert response.status_code == 302
    assert Attendance.objects.get(membership_id=v).presence == "present"


def test_it_hides_the_register_from_other_partnerships(
    carol_client: Client, alice: User, partnership_a: Partnership, past_meeting: Meeting
) -> None:
    a = membership_of(alice, partnership_a).pk
    data = register_data({a: ("present", "")})
    for name in ("meetings-take-register", "meetings-check-quorum"):
        url = reverse(name, args=[past_meeting.pk])
        assert carol_client.post(url, data).status_code == 404
    assert (
        carol_client.get(reverse("meetings-take-register", args=[past_meeting.pk])).status_code
        == 404
    )
    assert not Attendance.objects.exists()


def test_it_costs_the_same_queries_for_more_members(
    alice_client: Client,
    partnership_a: Partnership,
    council: Organisation,
    alice: User,
    past_meeting: Meeting,
) -> None:
    url = reverse("meetings-take-register", args=[past_meeting.pk])

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert alice_client.get(url).status_code == 200
        return len(ctx.captured_queries)

    replies = ("attending", "deputy", "apologies")

    def add_members(numbers: range) -> None:
        """Members who have all replied; those sending a deputy have one registered."""
        for n in numbers:
            membership = _join(
                partnership_a,
                _person(f"m{n}@example.org", f"Member {n}"),
                council,
                Role.MEMBER,
                "Management side",
            )
            reply = replies[n % 3]
            Attendance.objects.create(
                meeting=past_meeting,
                membership=membership,
                reply=reply,
                replied_at=timezone.now(),
                deputy_name=f"Deputy {n}" if reply == "deputy" else "",
            )
            if reply == "deputy":
                _join(
                    partnership_a,
                    _person(f"d{n}@example.org", f"Deputy {n}"),
                    council,
                    Role.DEPUTY,
                    "Management side",
                    deputy_for=membership,
                )

    add_members(range(2))
    # The first visit creates the meeting settings; measure from the second.
    queries()
    few = queries()
    add_members(range(2, 12))
    page = alice_client.get(url).content.decode()
    # The rows really carry the replies and the registered deputies.
    assert "Deputy 1" in page and "Deputy 10" in page
    assert queries() == few


# The meeting page -----------------------------------------------------------------


def test_it_shows_the_section_for_members_and_register_keepers(
    alice: User, bob: User, dave: User, partnership_a: Partnership, past_meeting: Meeting
) -> None:
    future = make_meeting(partnership_a, alice, days=7)
    attendance.attendance_reply(
        meeting=future, membership=membership_of(bob, partnership_a), reply="attending"
    )
    for_bob = attendance.meeting_section(future, bob)
    assert for_bob["my_reply"].reply == "attending"
    assert for_bob["closed"] == ""
    assert for_bob["counts"] == {
        "attending": 1,
        "apologies": 0,
        "deputy": 0,
        "members": 3,
        "no_reply": 2,
    }
    assert for_bob["can_keep_register"] is False and for_bob["quorum"] is None
    a = membership_of(alice, partnership_a).pk
    attendance.register_record(meeting=past_meeting, by=alice, entries=[(a, "present", "")])
    past_meeting.refresh_from_db()
    for_alice = attendance.meeting_section(past_meeting, alice)
    assert for_alice["can_keep_register"] is True
    assert for_alice["quorum"] is not None and for_alice["quorum"].present == 1
    assert for_alice["closed"] == "This meeting has already taken place, so replies are closed."


def test_it_shows_replies_and_the_recorded_quorum_on_the_meeting_page(
    alice_client: Client, alice: User, partnership_a: Partnership, past_meeting: Meeting
) -> None:
    each_side(partnership_a)
    a = membership_of(alice, partnership_a).pk
    attendance.register_record(meeting=past_meeting, by=alice, entries=[(a, "present", "")])
    page = alice_client.get(past_meeting.get_absolute_url()).content.decode()
    assert "Not quorate" in page
    assert "Missing: Staff side." in page
    assert reverse("meetings-take-register", args=[past_meeting.pk]) in page
    assert "Change the register" in page


def test_it_tells_a_member_what_the_register_recorded(
    bob_client: Client, alice: User, bob: User, partnership_a: Partnership, past_meeting: Meeting
) -> None:
    each_side(partnership_a)
    b = membership_of(bob, partnership_a).pk
    attendance.register_record(meeting=past_meeting, by=alice, entries=[(b, "apologies", "")])
    page = " ".join(bob_client.get(past_meeting.get_absolute_url()).content.decode().split())
    assert "The register records you as: <strong>apologies</strong>" in page
    assert "the meeting was <strong>not quorate</strong>" in page
    # Replies no longer matter once the register is taken.
    assert "You have not replied yet." not in page and "No reply yet" not in page
    # The detail of what was missing stays with those who keep the register.
    assert "Missing:" not in page


def test_it_invites_a_member_to_reply_on_the_meeting_page(
    bob_client: Client, meeting: Meeting
) -> None:
    page = bob_client.get(meeting.get_absolute_url()).content.decode()
    assert "You have not replied yet." in page
    assert reverse("meetings-reply-attendance", args=[meeting.pk]) in page
    assert reverse("meetings-take-register", args=[meeting.pk]) not in page


def test_it_closes_replies_once_the_meeting_has_started(
    bob_client: Client, bob: User, partnership_a: Partnership, meeting: Meeting
) -> None:
    now = timezone.now()
    Meeting.objects.filter(pk=meeting.pk).update(
        starts_at=now - dt.timedelta(minutes=10), ends_at=now + dt.timedelta(hours=1)
    )
    url = reverse("meetings-reply-attendance", args=[meeting.pk])
    response = bob_client.post(url, {"reply": "apologies"})
    assert "This meeting has started, so replies are closed" in response.content.decode()
    assert not Attendance.objects.exists()
