"""Decisions: numbering, the decision log and its exports, and actions minuted inline."""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
from typing import Any

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse

from partnerwell.core.models import Membership, Partnership, User
from partnerwell.delivery.models import Action, ActionSource, ActionStatus
from partnerwell.meetings import minutes as services
from partnerwell.meetings.models import (
    AgendaItem,
    Decision,
    ItemStatus,
    Meeting,
    MeetingStatus,
    Minutes,
    MinutesStatus,
)
from tests.meetings.conftest import make_meeting


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


def _on(meeting: Meeting, day: dt.date) -> Meeting:
    """Move the meeting to 10:00 on `day`, so fixed decision dates stay within a year."""
    start = dt.datetime.combine(day, dt.time(10), tzinfo=meeting.tz)
    Meeting.objects.filter(pk=meeting.pk).update(
        starts_at=start, ends_at=start + dt.timedelta(hours=2)
    )
    meeting.refresh_from_db()
    return meeting


def _circulate(meeting: Meeting, by: User) -> Minutes:
    """Write and circulate the meeting's minutes, so members see its decisions."""
    draft = services.minutes_save(meeting=meeting, by=by, summary="Chaired by Mia.", entries={})
    return services.minutes_circulate(minutes=draft, by=by)


def _decide(meeting: Meeting, by: User, text: str, **kwargs: Any) -> Decision:
    return services.decision_record(
        meeting=meeting, item=kwargs.pop("item", None), by=by, text=text, **kwargs
    )


# Recording and numbering ---------------------------------------------------------------


def test_it_records_a_decision_from_the_minutes_page(
    alice_client: Client, held: Meeting, item: AgendaItem
) -> None:
    response = alice_client.post(
        reverse("meetings-add-decision", args=[held.pk]),
        {"item": item.pk, "text": "Adopt the flexible working policy."},
    )
    assert response.status_code == 302
    decision = Decision.objects.get(meeting=held)
    assert decision.item == item
    assert decision.partnership == held.partnership
    # No date given: the day of the meeting.
    assert decision.decided_on == held.starts_at.astimezone(held.tz).date()
    year = decision.decided_on.year
    assert decision.reference == f"D{year}/01"


def test_it_refuses_a_decision_without_text(alice_client: Client, held: Meeting) -> None:
    response = alice_client.post(reverse("meetings-add-decision", args=[held.pk]), {"text": ""})
    assert response.status_code == 400
    assert "Write down what was decided." in response.content.decode()
    assert not Decision.objects.exists()


def test_it_refuses_a_decision_before_the_meeting(alice: User, meeting: Meeting) -> None:
    with pytest.raises(ValidationError, match="once the meeting has started"):
        _decide(meeting, alice, "Too soon")
    assert not Decision.objects.exists()


def test_it_refuses_an_item_of_another_meeting(
    alice_client: Client, held: Meeting, meeting: Meeting
) -> None:
    elsewhere = services.minute_items(meeting)[0]
    response = alice_client.post(
        reverse("meetings-add-decision", args=[held.pk]), {"item": elsewhere.pk, "text": "x"}
    )
    assert response.status_code == 400
    assert not Decision.objects.exists()


def test_it_numbers_decisions_per_partnership_and_year(
    alice: User, carol: User, held: Meeting, held_b: Meeting
) -> None:
    _on(held, dt.date(2026, 7, 1))
    _on(held_b, dt.date(2026, 7, 1))
    first = _decide(held, alice, "One", decided_on=dt.date(2026, 3, 1))
    second = _decide(held, alice, "Two", decided_on=dt.date(2026, 3, 1))
    other_year = _decide(held, alice, "Three", decided_on=dt.date(2027, 1, 5))
    third = _decide(held, alice, "Four", decided_on=dt.date(2026, 12, 1))
    elsewhere = _decide(held_b, carol, "B's first", decided_on=dt.date(2026, 3, 1))
    assert [first.reference, second.reference, third.reference] == [
        "D2026/01",
        "D2026/02",
        "D2026/03",
    ]
    assert other_year.reference == "D2027/01"
    assert elsewhere.reference == "D2026/01"


def test_it_takes_the_next_number_when_a_save_at_the_same_moment_took_it(
    alice: User, held: Meeting, monkeypatch: pytest.MonkeyPatch
) -> None:
    _on(held, dt.date(2026, 7, 1))
    _decide(held, alice, "One", decided_on=dt.date(2026, 3, 1))
    real = services._next_reference
    calls = []

    def stale(partnership: Partnership, year: int) -> str:
        # The first try reads the number as it was before the other save.
        calls.append(year)
        return "D2026/01" if len(calls) == 1 else real(partnership, year)

    monkeypatch.setattr(services, "_next_reference", stale)
    second = _decide(held, alice, "Two", decided_on=dt.date(2026, 3, 1))
    assert len(calls) == 2
    assert second.reference == "D2026/02"
    assert Decision.objects.filter(reference="D2026/01").count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_gives_two_decisions_saved_at_once_different_numbers(
    partnership_a: Partnership, alice: User
) -> None:
    held = _on(
        make_meeting(partnership_a, alice, days=-14, status=MeetingStatus.HELD),
        dt.date(2026, 7, 1),
    )
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def save(text: str) -> None:
        try:
            barrier.wait(timeout=10)
            _decide(held, alice, text, decided_on=dt.date(2026, 5, 1))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(t,)) for t in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    references = sorted(Decision.objects.values_list("reference", flat=True))
    assert references == ["D2026/01", "D2026/02"]


# The decision log --------------------------------------------------------------------


def test_it_searches_by_word_and_reference_within_the_partnership(
    alice_client: Client,
    alice: User,
    carol: User,
    held: Meeting,
    held_b: Meeting,
    item: AgendaItem,
) -> None:
    policy = _decide(held, alice, "Adopt the Flexible working policy.", item=item)
    budget = _decide(held, alice, "Approve the training budget.")
    _decide(held_b, carol, "Adopt a flexible rota in Beta.")
    url = reverse("meetings-list-decisions", args=[held.partnership_id])

    page = alice_client.get(url, {"q": "FLEXIBLE"}).content.decode()
    assert "Adopt the Flexible working policy." in page
    assert "training budget" not in page
    assert "flexible rota in Beta" not in page

    page = alice_client.get(url, {"q": budget.reference}).content.decode()
    assert "training budget" in page
    assert policy.text not in page

    # Every word must match somewhere: the item title, the meeting title or the text.
    found = services.decision_search(held.partnership, "march working")
    assert list(found) == [policy]
    assert list(services.decision_search(held.partnership, "march nothing")) == []


def test_it_filters_by_year_newest_first(alice: User, held: Meeting) -> None:
    _on(held, dt.date(2026, 1, 1))
    old = _decide(held, alice, "Old", decided_on=dt.date(2025, 6, 1))
    new = _decide(held, alice, "New", decided_on=dt.date(2026, 6, 1))
    newer = _decide(held, alice, "Newer", decided_on=dt.date(2026, 7, 1))
    assert list(services.decision_search(held.partnership)) == [newer, new, old]
    assert list(services.decision_search(held.partnership, year=2025)) == [old]
    assert services.decision_years(alice, held.partnership) == [2026, 2025]


def test_it_reports_a_wrong_year_in_the_address(alice_client: Client, held: Meeting) -> None:
    url = reverse("meetings-list-decisions", args=[held.partnership_id])
    response = alice_client.get(url, {"year": "1900"})
    assert response.status_code == 200
    assert "Choose a year from the list." in response.content.decode()


def _many(meeting: Meeting, by: User, n: int) -> None:
    owner = Membership.objects.get(person=by, partnership=meeting.partnership)
    for i in range(n):
        decision = _decide(meeting, by, f"Decision number {i}")
        services.action_from_decision(
            decision=decision,
            by=by,
            title=f"Do thing {i}",
            owner=owner,
            organisation=None,
            due_date=dt.date.today() + dt.timedelta(days=30),
        )


@pytest.mark.parametrize("size", [3, 30])
def test_it_lists_the_log_in_constant_queries(
    alice_client: Client,
    alice: User,
    held: Meeting,
    size: int,
    django_assert_max_num_queries: Any,
) -> None:
    _many(held, alice, size)
    url = reverse("meetings-list-decisions", args=[held.partnership_id])
    with django_assert_max_num_queries(9):
        response = alice_client.get(url, {"q": "decision"})
    assert response.status_code == 200
    assert f"{size} decisions" in response.content.decode()
    with django_assert_max_num_queries(8):
        response = alice_client.get(
            reverse("meetings-export-decisions", args=[held.partnership_id]), {"format": "csv"}
        )
    assert response.status_code == 200


def test_it_paginates_the_log(alice_client: Client, alice: User, held: Meeting) -> None:
    for i in range(55):
        _decide(held, alice, f"Decision {i}")
    url = reverse("meetings-list-decisions", args=[held.partnership_id])
    first = alice_client.get(url).content.decode()
    assert "Page 1 of 2" in first
    second = alice_client.get(url, {"page": 2}).content.decode()
    assert "Decision 0\n" in second or ">Decision 0<" in second


def test_it_shows_a_decision_with_its_meeting_item_and_actions(
    bob_client: Client, alice: User, held: Meeting, item: AgendaItem
) -> None:
    decision = _decide(held, alice, "Adopt the policy.", item=item)
    owner = Membership.objects.get(person=alice, partnership=held.partnership)
    services.action_from_decision(
        decision=decision,
        by=alice,
        title="Publish the policy on the intranet",
        owner=owner,
        organisation=None,
        due_date=dt.date.today() + dt.timedelta(days=10),
    )
    _circulate(held, alice)
    page = bob_client.get(reverse("meetings-view-decision", args=[decision.pk])).content.decode()
    assert decision.reference in page
    assert "March forum" in page
    assert "Flexible working policy" in page
    assert "Publish the policy on the intranet" in page


# Exports -----------------------------------------------------------------------------


def test_it_exports_the_filtered_log_as_csv(
    alice_client: Client, alice: User, held: Meeting
) -> None:
    _decide(held, alice, "=HYPERLINK('http://evil')")
    wanted = _decide(held, alice, "Approve the budget.")
    _decide(held, alice, "Something else.")
    response = alice_client.get(
        reverse("meetings-export-decisions", args=[held.partnership_id]),
        {"format": "csv", "q": "budget"},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == services.EXPORT_HEADER
    assert [r[0] for r in rows[1:]] == [wanted.reference]
    assert rows[1][2] == "Approve the budget."

    everything = alice_client.get(
        reverse("meetings-export-decisions", args=[held.partnership_id]), {"format": "csv"}
    )
    texts = [r[2] for r in csv.reader(io.StringIO(everything.content.decode()))]
    assert "'=HYPERLINK('http://evil')" in texts


def test_it_exports_the_log_as_xlsx(alice_client: Client, alice: User, held: Meeting) -> None:
    decision = _decide(held, alice, "+1 for the plan")
    response = alice_client.get(
        reverse("meetings-export-decisions", args=[held.partnership_id]), {"format": "xlsx"}
    )
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book["Decisions"]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == services.EXPORT_HEADER
    assert rows[1][0] == decision.reference
    assert rows[1][2] == "'+1 for the plan"


def test_it_refuses_an_unknown_export_format(alice_client: Client, held: Meeting) -> None:
    response = alice_client.get(
        reverse("meetings-export-decisions", args=[held.partnership_id]), {"format": "pdf"}
    )
    assert response.status_code == 400
    assert "format=csv" in response.content.decode()


# Actions minuted inline ----------------------------------------------------------------


def test_it_minutes_an_action_under_a_decision_into_the_action_log(
    alice_client: Client, alice: User, dave: User, held: Meeting, item: AgendaItem
) -> None:
    decision = _decide(held, alice, "Adopt the policy.", item=item)
    owner = Membership.objects.get(person=dave, partnership=held.partnership)
    due = dt.date.today() + dt.timedelta(days=21)
    response = alice_client.post(
        reverse("meetings-add-decision-action", args=[held.pk]),
        {
            "about": f"decision-{decision.pk}",
            "title": "Brief the staff side on the policy",
            "owner": owner.pk,
            "due_date": due.isoformat(),
            "detail": "Before the summer.",
        },
    )
    assert response.status_code == 302
    action = Action.objects.get(title="Brief the staff side on the policy")
    assert action.source == ActionSource.DECISION
    assert action.source_decision_id == decision.pk
    assert action.status == ActionStatus.AGREED
    assert action.owner == owner
    # The owning organisation defaults to the owner's.
    assert action.organisation == owner.organisation
    assert action.due_date == due
    assert action.created_by == alice

    log = alice_client.get(reverse("delivery-list-actions", args=[held.partnership_id]))
    assert "Brief the staff side on the policy" in log.content.decode()
    page = alice_client.get(reverse("delivery-view-action", args=[action.pk])).content.decode()
    assert reverse("meetings-view-decision", args=[decision.pk]) in page
    minutes_page = alice_client.get(reverse("meetings-edit-minutes", args=[held.pk]))
    assert "Brief the staff side on the policy" in minutes_page.content.decode()


def test_it_records_a_decision_for_an_action_under_an_item_without_one(
    alice_client: Client, alice: User, held: Meeting, item: AgendaItem, charity: Any
) -> None:
    owner = Membership.objects.get(person=alice, partnership=held.partnership)
    response = alice_client.post(
        reverse("meetings-add-decision-action", args=[held.pk]),
        {
            "about": f"item-{item.pk}",
            "title": "Draft the consultation letter",
            "owner": owner.pk,
            "due_date": (dt.date.today() + dt.timedelta(days=7)).isoformat(),
        },
    )
    assert response.status_code == 302
    decision = Decision.objects.get(meeting=held)
    assert decision.item == item
    assert decision.text == "Agreed action: Draft the consultation letter"
    action = Action.objects.get(source_decision_id=decision.pk)
    assert action.title == "Draft the consultation letter"


def test_it_refuses_an_owner_from_another_partnership(
    alice_client: Client, carol: User, held: Meeting, item: AgendaItem
) -> None:
    decision = _decide(held, held.created_by, "Adopt.", item=item)  # type: ignore[arg-type]
    outsider = Membership.objects.get(person=carol)
    response = alice_client.post(
        reverse("meetings-add-decision-action", args=[held.pk]),
        {
            "about": f"decision-{decision.pk}",
            "title": "Sneak in",
            "owner": outsider.pk,
            "due_date": (dt.date.today() + dt.timedelta(days=7)).isoformat(),
        },
    )
    assert response.status_code == 400
    assert "Choose the member who owns the action from the list." in response.content.decode()
    assert not Action.objects.exists()


def test_it_refuses_a_due_date_before_the_decision(
    alice_client: Client, alice: User, held: Meeting, item: AgendaItem
) -> None:
    decision = _decide(held, alice, "Adopt.", item=item)
    owner = Membership.objects.get(person=alice, partnership=held.partnership)
    response = alice_client.post(
        reverse("meetings-add-decision-action", args=[held.pk]),
        {
            "about": f"decision-{decision.pk}",
            "title": "Back-dated",
            "owner": owner.pk,
            "due_date": (decision.decided_on - dt.timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 409
    assert "cannot be before the day of the decision" in response.content.decode()
    assert not Action.objects.exists()


def test_it_refuses_a_decision_of_another_meeting(
    alice_client: Client, alice: User, held: Meeting, partnership_a: Partnership
) -> None:
    other = make_meeting(partnership_a, alice, days=-40, status=MeetingStatus.HELD)
    decision = _decide(other, alice, "Elsewhere")
    owner = Membership.objects.get(person=alice, partnership=held.partnership)
    response = alice_client.post(
        reverse("meetings-add-decision-action", args=[held.pk]),
        {
            "about": f"decision-{decision.pk}",
            "title": "Crossed wires",
            "owner": owner.pk,
            "due_date": (dt.date.today() + dt.timedelta(days=7)).isoformat(),
        },
    )
    assert response.status_code == 400
    assert not Action.objects.exists()


# Access ------------------------------------------------------------------------------


def test_it_hides_decisions_from_other_partnerships(
    carol_client: Client, alice: User, held: Meeting
) -> None:
    decision = _decide(held, alice, "Secret")
    for url in (
        reverse("meetings-view-decision", args=[decision.pk]),
        reverse("meetings-list-decisions", args=[held.partnership_id]),
        reverse("meetings-export-decisions", args=[held.partnership_id]) + "?format=csv",
    ):
        assert carol_client.get(url).status_code == 404, url


def test_it_refuses_decisions_and_actions_from_plain_members(
    bob_client: Client, bob: User, alice: User, held: Meeting
) -> None:
    decision = _decide(held, alice, "Adopt.")
    owner = Membership.objects.get(person=bob, partnership=held.partnership)
    response = bob_client.post(
        reverse("meetings-add-decision", args=[held.pk]), {"text": "Bob decides"}
    )
    assert response.status_code == 403
    response = bob_client.post(
        reverse("meetings-add-decision-action", args=[held.pk]),
        {
            "about": f"decision-{decision.pk}",
            "title": "Bob acts",
            "owner": owner.pk,
            "due_date": (dt.date.today() + dt.timedelta(days=7)).isoformat(),
        },
    )
    assert response.status_code == 403
    assert Decision.objects.count() == 1
    assert not Action.objects.exists()
    # Members can still read the log once the minutes are circulated.
    _circulate(held, alice)
    assert bob_client.get(reverse("meetings-view-decision", args=[decision.pk])).status_code == 200


# Decisions and the numbering ---------------------------------------------------------


def test_it_refuses_a_decision_date_far_from_the_meeting(
    alice_client: Client, alice: User, held: Meeting
) -> None:
    url = reverse("meetings-add-decision", args=[held.pk])
    response = alice_client.post(url, {"text": "Adopt.", "decided_on": "1/1/0999"})
    assert response.status_code == 400
    assert "within a year of the meeting" in response.content.decode()
    day = held.starts_at.astimezone(held.tz).date()
    with pytest.raises(ValidationError, match="within a year of the meeting"):
        _decide(held, alice, "Later", decided_on=day + dt.timedelta(days=367))
    assert not Decision.objects.exists()
    within = _decide(held, alice, "Soon after", decided_on=day + dt.timedelta(days=366))
    assert within.reference == f"D{within.decided_on.year}/01"


def test_it_keeps_numbering_past_a_reference_with_an_odd_year(alice: User, held: Meeting) -> None:
    # A reference with a year of other than four digits, as an old bug could save.
    Decision.objects.create(
        partnership=held.partnership,
        meeting=held,
        reference="D999/07",
        text="Old",
        decided_on=dt.date(999, 1, 1),
    )
    assert services._next_reference(held.partnership, 999) == "D999/08"
    day = held.starts_at.astimezone(held.tz).date()
    assert _decide(held, alice, "New", decided_on=day).reference == f"D{day.year}/01"


# Decisions wait for the minutes --------------------------------------------------------


def test_it_hides_decisions_from_members_until_the_minutes_are_circulated(
    bob_client: Client, alice_client: Client, alice: User, held: Meeting
) -> None:
    decision = _decide(held, alice, "Close the depot.")
    services.minutes_save(meeting=held, by=alice, summary="Draft.", entries={})
    view = reverse("meetings-view-decision", args=[decision.pk])
    log = reverse("meetings-list-decisions", args=[held.partnership_id])
    export = reverse("meetings-export-decisions", args=[held.partnership_id])
    meeting_page = held.get_absolute_url()

    assert bob_client.get(view).status_code == 404
    assert "Close the depot." not in bob_client.get(log).content.decode()
    assert "Close the depot." not in bob_client.get(export, {"format": "csv"}).content.decode()
    assert decision.reference not in bob_client.get(meeting_page).content.decode()
    # Managers see them all along.
    assert alice_client.get(view).status_code == 200
    assert "Close the depot." in alice_client.get(log).content.decode()
    assert "Close the depot." in alice_client.get(export, {"format": "csv"}).content.decode()
    assert decision.reference in alice_client.get(meeting_page).content.decode()

    minutes = Minutes.objects.get(meeting=held)
    services.minutes_circulate(minutes=minutes, by=alice)
    assert bob_client.get(view).status_code == 200
    assert "Close the depot." in bob_client.get(log).content.decode()
    assert "Close the depot." in bob_client.get(export, {"format": "csv"}).content.decode()
    assert decision.reference in bob_client.get(meeting_page).content.decode()


def test_it_shows_decisions_of_approved_and_superseded_minutes(
    bob: User, alice: User, held: Meeting
) -> None:
    decision = _decide(held, alice, "Close the depot.")
    minutes = Minutes.objects.create(meeting=held, status=MinutesStatus.SUPERSEDED)
    found = Decision.objects.filter(pk=decision.pk)
    assert list(services.visible_decisions(bob, held.partnership, found)) == [decision]
    Minutes.objects.filter(pk=minutes.pk).update(status=MinutesStatus.DRAFT)
    assert list(services.visible_decisions(bob, held.partnership, found)) == []
    assert services.decision_years(bob, held.partnership) == []
    assert list(services.visible_decisions(alice, held.partnership, found)) == [decision]


def test_it_shows_decisions_to_a_chair_before_circulation(
    staff_chair: User, alice: User, held: Meeting
) -> None:
    decision = _decide(held, alice, "Close the depot.")
    found = Decision.objects.filter(pk=decision.pk)
    assert list(services.visible_decisions(staff_chair, held.partnership, found)) == [decision]
