"""Pages for outcomes, measures, targets and values."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from partnerwell.core.models import Membership, Partnership, User
from partnerwell.delivery.models import (
    Action,
    DataPoint,
    Measure,
    Outcome,
    Priority,
    PriorityStatus,
    Target,
)

D = dt.date


def make_outcome(partnership: Partnership, title: str = "Fewer falls") -> Outcome:
    return Outcome.objects.create(partnership=partnership, title=title, for_whom="People 65+")


def make_measure(
    outcome: Outcome,
    title: str = "Admissions after a fall",
    *,
    direction: str = "lower",
    baseline: tuple[dt.date, float] | None = (D(2024, 1, 1), 200.0),
    targets: list[tuple[dt.date, float]] | None = None,
    points: list[tuple[dt.date, float]] | None = None,
    frequency_days: int = 92,
) -> Measure:
    measure = Measure.objects.create(
        partnership=outcome.partnership,
        outcome=outcome,
        title=title,
        kind="population",
        unit="per 100,000",
        direction=direction,
        baseline_on=baseline[0] if baseline else None,
        baseline_value=baseline[1] if baseline else None,
        frequency_days=frequency_days,
    )
    for day, value in [(D(2025, 1, 1), 100.0)] if targets is None else targets:
        Target.objects.create(measure=measure, target_on=day, value=value)
    for day, value in points or []:
        DataPoint.objects.create(measure=measure, period_end=day, value=value)
    return measure


def monthly(start: dt.date, values: list[float]) -> list[tuple[dt.date, float]]:
    """Month-end dates from ``start``'s month, one per value."""
    out = []
    year, month = start.year, start.month
    for value in values:
        following = D(year + (month == 12), month % 12 + 1, 1)
        out.append((following - dt.timedelta(days=1), value))
        year, month = following.year, following.month
    return out


@pytest.fixture
def outcome_a(partnership_a: Partnership) -> Outcome:
    return make_outcome(partnership_a)


@pytest.fixture
def measure_a(outcome_a: Outcome) -> Measure:
    # 200 down to 100 over 2024: on 2 Jul 2024 the line expects 150.
    return make_measure(outcome_a, points=[(D(2024, 7, 2), 150.0)])


# Outcomes ---------------------------------------------------------------------------


def test_it_lists_outcomes_with_each_measures_status(
    bob_client: Client, measure_a: Measure, partnership_a: Partnership
) -> None:
    response = bob_client.get(reverse("delivery-list-outcomes", args=[partnership_a.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Fewer falls" in page
    assert "Admissions after a fall" in page
    assert "On track" in page
    assert "<strong>1</strong> on track" in page
    assert "Add an outcome" not in page  # bob is not a manager


def test_it_adds_an_outcome_linked_to_a_priority(
    alice_client: Client, partnership_a: Partnership
) -> None:
    priority = Priority.objects.create(
        partnership=partnership_a, title="Older people", status=PriorityStatus.AGREED
    )
    response = alice_client.post(
        reverse("delivery-create-outcome", args=[partnership_a.pk]),
        {"title": "Fewer falls", "for_whom": "People 65+", "priority": priority.pk},
    )
    outcome = Outcome.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("delivery-view-outcome", args=[outcome.pk])
    assert outcome.priority == priority
    assert outcome.partnership == partnership_a


def test_it_refuses_outcomes_from_a_plain_member(
    bob_client: Client, partnership_a: Partnership
) -> None:
    url = reverse("delivery-create-outcome", args=[partnership_a.pk])
    assert bob_client.get(url).status_code == 403
    assert bob_client.post(url, {"title": "Sneaky"}).status_code == 403
    assert not Outcome.objects.exists()


def test_it_refuses_a_priority_of_another_partnership(
    alice_client: Client, partnership_a: Partnership, partnership_b: Partnership
) -> None:
    other = Priority.objects.create(partnership=partnership_b, title="Theirs")
    response = alice_client.post(
        reverse("delivery-create-outcome", args=[partnership_a.pk]),
        {"title": "Fewer falls", "priority": other.pk},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Outcome.objects.exists()


def test_it_edits_an_outcome(alice_client: Client, outcome_a: Outcome) -> None:
    response = alice_client.post(
        reverse("delivery-edit-outcome", args=[outcome_a.pk]),
        {"title": "Fewer serious falls", "for_whom": "People 65+", "description": ""},
    )
    assert response.status_code == 302
    outcome_a.refresh_from_db()
    assert outcome_a.title == "Fewer serious falls"


def test_it_deletes_an_outcome_by_post_only(
    alice_client: Client, bob_client: Client, measure_a: Measure
) -> None:
    url = reverse("delivery-delete-outcome", args=[measure_a.outcome_id])
    assert alice_client.get(url).status_code == 405
    assert bob_client.post(url).status_code == 403
    assert Outcome.objects.exists()
    assert alice_client.post(url).status_code == 302
    assert not Outcome.objects.exists()
    assert not Measure.objects.exists()


# Measures -----------------------------------------------------------------------------


def _measure_data(**extra: Any) -> dict[str, Any]:
    data = {
        "title": "Falls admissions",
        "kind": "population",
        "unit": "per 100,000",
        "direction": "lower",
        "baseline_value": "2,100",
        "baseline_on": "2024-03-31",
        "frequency_days": "92",
    }
    data.update(extra)
    return data


def test_it_adds_a_measure_to_an_outcome(alice_client: Client, outcome_a: Outcome) -> None:
    response = alice_client.post(
        reverse("delivery-create-measure", args=[outcome_a.pk]),
        _measure_data(baseline_value="2100.5"),
    )
    measure = Measure.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("delivery-view-measure", args=[measure.pk])
    assert measure.partnership_id == outcome_a.partnership_id
    assert measure.baseline_value == 2100.5
    assert measure.baseline_on == D(2024, 3, 31)
    assert measure.direction == "lower"


def test_it_needs_both_baseline_value_and_date(alice_client: Client, outcome_a: Outcome) -> None:
    response = alice_client.post(
        reverse("delivery-create-measure", args=[outcome_a.pk]),
        _measure_data(baseline_value="100", baseline_on=""),
    )
    assert response.status_code == 200
    assert "Give the date of the baseline value." in response.content.decode()
    assert not Measure.objects.exists()


def test_it_refuses_a_value_too_large_to_chart(alice_client: Client, outcome_a: Outcome) -> None:
    response = alice_client.post(
        reverse("delivery-create-measure", args=[outcome_a.pk]),
        _measure_data(baseline_value="1e300"),
    )
    assert response.status_code == 200
    assert "The baseline value must be between" in response.content.decode()
    assert not Measure.objects.exists()


def test_it_refuses_measures_from_a_plain_member(bob_client: Client, outcome_a: Outcome) -> None:
    url = reverse("delivery-create-measure", args=[outcome_a.pk])
    assert bob_client.post(url, _measure_data()).status_code == 403
    assert not Measure.objects.exists()


def test_it_shows_the_measure_with_chart_table_status_and_rule(
    bob_client: Client, measure_a: Measure, partnership_a: Partnership, bob: User
) -> None:
    Action.objects.create(
        partnership=partnership_a,
        title="Strength and balance classes in every library",
        owner=Membership.objects.get(person=bob),
        organisation=Membership.objects.get(person=bob).organisation,
        due_date=D(2025, 6, 30),
        measure=measure_a,
    )
    response = bob_client.get(reverse("delivery-view-measure", args=[measure_a.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'role="img"' in page
    assert "<caption" in page and "Values" in page
    assert "2 Jul 2024" in page  # the data point in the table
    assert "On track" in page
    assert "How the status is worked out" in page
    assert "a tenth (10%)" in page
    assert "Strength and balance classes in every library" in page
    assert "Save the value" not in page  # only managers enter values


def test_it_explains_why_a_measure_has_no_status(bob_client: Client, outcome_a: Outcome) -> None:
    measure = make_measure(outcome_a, baseline=None, targets=[])
    page = bob_client.get(reverse("delivery-view-measure", args=[measure.pk])).content.decode()
    assert "No status yet: the measure needs a baseline value and date" in page


def test_it_edits_a_measure(alice_client: Client, measure_a: Measure) -> None:
    response = alice_client.post(
        reverse("delivery-edit-measure", args=[measure_a.pk]),
        _measure_data(title="Falls admissions, 65+", direction="lower"),
    )
    assert response.status_code == 302
    measure_a.refresh_from_db()
    assert measure_a.title == "Falls admissions, 65+"
    assert measure_a.baseline_value == 2100


def test_it_deletes_a_measure(alice_client: Client, measure_a: Measure) -> None:
    url = reverse("delivery-delete-measure", args=[measure_a.pk])
    assert alice_client.get(url).status_code == 405
    assert alice_client.post(url).status_code == 302
    assert not Measure.objects.exists()
    assert not DataPoint.objects.exists()


# Targets and values -------------------------------------------------------------------


def test_it_adds_a_target_and_changes_it_on_the_same_date(
    alice_client: Client, measure_a: Measure
) -> None:
    url = reverse("delivery-add-target", args=[measure_a.pk])
    body = {"target-value": "120", "target-target_on": "2026-03-31"}
    assert alice_client.post(url, body).status_code == 302
    assert alice_client.post(url, {**body, "target-value": "110"}).status_code == 302
    target = measure_a.targets.get(target_on=D(2026, 3, 31))
    target.refresh_from_db()
    assert target.value == 110


def test_it_refuses_a_target_before_the_baseline(alice_client: Client, measure_a: Measure) -> None:
    response = alice_client.post(
        reverse("delivery-add-target", args=[measure_a.pk]),
        {"target-value": "120", "target-target_on": "2023-12-31"},
    )
    assert response.status_code == 200
    assert "The target date must be after the baseline date, 1 January 2024." in (
        response.content.decode()
    )
    assert measure_a.targets.count() == 1


def test_it_takes_target_and_value_changes_by_post_only_from_managers(
    alice_client: Client, bob_client: Client, measure_a: Measure
) -> None:
    target = measure_a.targets.get()
    point = measure_a.data_points.get()
    urls = [
        reverse("delivery-add-target", args=[measure_a.pk]),
        reverse("delivery-delete-target", args=[measure_a.pk, target.pk]),
        reverse("delivery-add-data-point", args=[measure_a.pk]),
        reverse("delivery-delete-data-point", args=[measure_a.pk, point.pk]),
    ]
    for url in urls:
        assert alice_client.get(url).status_code == 405, url
        assert (
            bob_client.post(url, {"point-period_end": "2024-08-31", "point-value": "1"}).status_code
            == 403
        ), url
    assert measure_a.targets.count() == 1
    assert measure_a.data_points.count() == 1


def test_it_records_a_value_and_updates_a_known_period(
    alice_client: Client, alice: User, measure_a: Measure
) -> None:
    url = reverse("delivery-add-data-point", args=[measure_a.pk])
    body = {"point-period_end": "2024-09-30", "point-value": "140", "point-note": "Provisional"}
    assert alice_client.post(url, body).status_code == 302
    point = measure_a.data_points.get(period_end=D(2024, 9, 30))
    assert (point.value, point.note, point.entered_by) == (140, "Provisional", alice)
    assert (
        alice_client.post(url, {**body, "point-value": "138", "point-note": ""}).status_code == 302
    )
    point.refresh_from_db()
    assert (point.value, point.note) == (138, "")
    assert measure_a.data_points.count() == 2


def test_it_explains_a_bad_value(alice_client: Client, measure_a: Measure) -> None:
    response = alice_client.post(
        reverse("delivery-add-data-point", args=[measure_a.pk]),
        {"point-period_end": "31/02/2024", "point-value": "lots"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in page
    assert "Enter a valid date." in page
    assert "Enter a number, like 42" in page
    assert measure_a.data_points.count() == 1


def test_it_deletes_a_target_and_a_value(alice_client: Client, measure_a: Measure) -> None:
    target = measure_a.targets.get()
    point = measure_a.data_points.get()
    alice_client.post(reverse("delivery-delete-target", args=[measure_a.pk, target.pk]))
    alice_client.post(reverse("delivery-delete-data-point", args=[measure_a.pk, point.pk]))
    assert not measure_a.targets.exists()
    assert not measure_a.data_points.exists()


def test_it_will_not_delete_another_measures_target_through_this_one(
    alice_client: Client, measure_a: Measure, outcome_a: Outcome
) -> None:
    other = make_measure(outcome_a, "Other")
    target = other.targets.get()
    response = alice_client.post(reverse("delivery-delete-target", args=[measure_a.pk, target.pk]))
    assert response.status_code == 404
    assert Target.objects.filter(pk=target.pk).exists()


# Query counts -------------------------------------------------------------------------


def test_it_lists_many_outcomes_in_a_fixed_number_of_queries(
    bob_client: Client,
    partnership_a: Partnership,
    django_assert_max_num_queries: Any,
) -> None:
    url = reverse("delivery-list-outcomes", args=[partnership_a.pk])
    outcome = make_outcome(partnership_a, "First")
    make_measure(outcome, points=monthly(D(2024, 1, 1), [180, 170]))
    with django_assert_max_num_queries(12) as few:
        bob_client.get(url)
    for n in range(8):
        outcome = make_outcome(partnership_a, f"Outcome {n}")
        for m in range(4):
            make_measure(outcome, f"Measure {m}", points=monthly(D(2024, 1, 1), [190, 180, 175]))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = bob_client.get(url)
    assert response.content.decode().count("Measure 3") == 8


def test_it_shows_a_measure_with_many_values_in_a_fixed_number_of_queries(
    bob_client: Client, outcome_a: Outcome, django_assert_max_num_queries: Any
) -> None:
    small = make_measure(outcome_a, points=monthly(D(2024, 1, 1), [190]))
    big = make_measure(outcome_a, "Big", points=monthly(D(2010, 1, 1), [150.0] * 180))
    with django_assert_max_num_queries(12) as few:
        bob_client.get(reverse("delivery-view-measure", args=[small.pk]))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = bob_client.get(reverse("delivery-view-measure", args=[big.pk]))
    assert response.content.decode().count('class="pw-chart-point"') == 180
