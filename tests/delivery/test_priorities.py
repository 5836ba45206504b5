"""Pages for proposing, changing and deciding priorities."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from partnerwell.core.models import Membership, Partnership, User
from partnerwell.delivery.models import Action, Outcome, Priority, PriorityStatus


def make_priority(partnership: Partnership, title: str, **extra: object) -> Priority:
    return Priority.objects.create(partnership=partnership, title=title, **extra)


def test_it_lets_any_member_propose_a_priority(
    bob_client: Client, bob: User, partnership_a: Partnership
) -> None:
    response = bob_client.post(
        reverse("delivery-create-priority", args=[partnership_a.pk]),
        {"title": "  Warm   homes ", "description": "Fewer homes in fuel poverty."},
    )
    assert response.status_code == 302
    priority = Priority.objects.get()
    assert priority.title == "Warm homes"
    assert priority.status == PriorityStatus.CANDIDATE
    assert priority.proposed_by == Membership.objects.get(person=bob)
    assert priority.partnership == partnership_a


def test_it_asks_for_a_title(bob_client: Client, partnership_a: Partnership) -> None:
    response = bob_client.post(
        reverse("delivery-create-priority", args=[partnership_a.pk]), {"title": ""}
    )
    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert not Priority.objects.exists()


def test_it_lists_priorities_by_status(
    bob_client: Client, alice: User, partnership_a: Partnership
) -> None:
    make_priority(partnership_a, "Agreed one", status="agreed", agreed_on=dt.date(2025, 3, 4))
    make_priority(partnership_a, "Still proposed")
    make_priority(partnership_a, "Not now", status="set_aside")
    page = bob_client.get(
        reverse("delivery-list-priorities", args=[partnership_a.pk])
    ).content.decode()
    assert page.index("Agreed one") < page.index("Still proposed") < page.index("Not now")
    assert "4 March 2025" in page
    assert "Set up a vote" not in page  # bob is not a manager


def test_it_records_an_agreed_priority_with_its_date(
    alice_client: Client, partnership_a: Partnership
) -> None:
    priority = make_priority(partnership_a, "Warm homes")
    response = alice_client.post(
        reverse("delivery-decide-priority", args=[priority.pk]),
        {"status": "agreed", "agreed_on": "2025-05-20"},
    )
    assert response.status_code == 302
    priority.refresh_from_db()
    assert priority.status == PriorityStatus.AGREED
    assert priority.agreed_on == dt.date(2025, 5, 20)


def test_it_needs_the_date_a_priority_was_agreed(
    alice_client: Client, partnership_a: Partnership
) -> None:
    priority = make_priority(partnership_a, "Warm homes")
    response = alice_client.post(
        reverse("delivery-decide-priority", args=[priority.pk]), {"status": "agreed"}
    )
    assert response.status_code == 200
    assert "Give the date the priority was agreed." in response.content.decode()
    priority.refresh_from_db()
    assert priority.status == PriorityStatus.CANDIDATE


def test_it_refuses_an_agreed_date_in_the_future(
    alice_client: Client, partnership_a: Partnership
) -> None:
    priority = make_priority(partnership_a, "Warm homes")
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    response = alice_client.post(
        reverse("delivery-decide-priority", args=[priority.pk]),
        {"status": "agreed", "agreed_on": tomorrow.isoformat()},
    )
    assert "cannot be in the future" in response.content.decode()
    priority.refresh_from_db()
    assert priority.agreed_on is None


def test_it_clears_the_date_when_a_priority_is_set_aside(
    alice_client: Client, partnership_a: Partnership
) -> None:
    priority = make_priority(partnership_a, "Warm homes", status="agreed", agreed_on="2025-01-01")
    alice_client.post(
        reverse("delivery-decide-priority", args=[priority.pk]),
        {"status": "set_aside", "agreed_on": "2025-01-01"},
    )
    priority.refresh_from_db()
    assert (priority.status, priority.agreed_on) == (PriorityStatus.SET_ASIDE, None)


def test_it_decides_priorities_only_by_post(
    alice_client: Client, partnership_a: Partnership
) -> None:
    priority = make_priority(partnership_a, "Warm homes")
    assert (
        alice_client.get(reverse("delivery-decide-priority", args=[priority.pk])).status_code == 405
    )


def test_it_refuses_decisions_and_edits_from_a_plain_member(
    bob_client: Client, partnership_a: Partnership
) -> None:
    priority = make_priority(partnership_a, "Warm homes")
    response = bob_client.post(
        reverse("delivery-decide-priority", args=[priority.pk]),
        {"status": "agreed", "agreed_on": "2025-05-20"},
    )
    assert response.status_code == 403
    edit = bob_client.post(reverse("delivery-edit-priority", args=[priority.pk]), {"title": "X"})
    assert edit.status_code == 403
    priority.refresh_from_db()
    assert (priority.status, priority.title) == (PriorityStatus.CANDIDATE, "Warm homes")


def test_it_lets_a_manager_reword_a_priority(
    alice_client: Client, partnership_a: Partnership
) -> None:
    priority = make_priority(partnership_a, "Warm homes")
    response = alice_client.post(
        reverse("delivery-edit-priority", args=[priority.pk]),
        {"title": "Warm, dry homes", "description": "For everyone."},
    )
    assert response.status_code == 302
    priority.refresh_from_db()
    assert (priority.title, priority.description) == ("Warm, dry homes", "For everyone.")


def test_it_shows_the_outcomes_and_actions_of_a_priority(
    bob_client: Client, bob: User, partnership_a: Partnership
) -> None:
    priority = make_priority(partnership_a, "Older people", status="agreed", agreed_on="2025-01-01")
    Outcome.objects.create(partnership=partnership_a, title="Fewer falls", priority=priority)
    membership = Membership.objects.get(person=bob)
    Action.objects.create(
        partnership=partnership_a,
        title="Map falls clinics",
        owner=membership,
        organisation=membership.organisation,
        due_date=dt.date(2025, 9, 30),
        source_priority=priority,
    )
    page = bob_client.get(reverse("delivery-view-priority", args=[priority.pk])).content.decode()
    assert "Fewer falls" in page
    assert "Map falls clinics" in page
    assert "Bob Member" in page
    assert "Record the decision" not in page  # bob is not a manager
