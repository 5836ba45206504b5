"""Accountability figures per organisation and in total, and the on-time evidence indicator,
checked against figures worked out by hand."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from partnerwell.core.models import Organisation, Partnership, User
from partnerwell.delivery.actions import accountability, action_on_time
from partnerwell.delivery.models import ActionStatus
from tests.api.conftest import api_client_for, assert_error
from tests.delivery.test_actions import make_action

D = dt.date
START, END, TODAY = D(2026, 1, 1), D(2026, 6, 30), D(2026, 6, 30)


@pytest.fixture
def record(
    alice: User,
    bob: User,
    dave: User,
    carol: User,
    partnership_a: Partnership,
    partnership_b: Partnership,
    charity: Organisation,
) -> None:
    """Actions of partnership A, with the figures each should give written beside it."""

    def done(owner: User, due: D, on: D, **extra: Any) -> None:
        make_action(owner, partnership_a, due=due, status=ActionStatus.DONE, done_on=on, **extra)

    # Testshire Council (alice and bob).
    done(alice, D(2026, 2, 1), D(2026, 1, 30))  # on time
    done(bob, D(2026, 3, 1), D(2026, 3, 1))  # on time: done on the due date
    done(alice, D(2026, 3, 10), D(2026, 3, 14))  # 4 days late
    done(bob, D(2026, 4, 1), D(2026, 4, 11))  # 10 days late
    make_action(alice, partnership_a, due=D(2026, 5, 1))  # overdue
    make_action(bob, partnership_a, due=D(2026, 6, 30), status="in_progress")  # not yet due
    make_action(
        alice, partnership_a, due=D(2026, 2, 15), status="dropped", drop_reason="Not needed"
    )
    done(alice, D(2025, 12, 31), D(2026, 1, 20))  # due before the period
    make_action(bob, partnership_a, due=D(2026, 7, 1))  # due after the period
    # Testshire UNISON (dave).
    done(dave, D(2026, 1, 10), D(2026, 1, 12))  # 2 days late
    done(dave, D(2026, 2, 10), D(2026, 2, 1))  # on time
    make_action(dave, partnership_a, due=D(2026, 6, 1), status="proposed")  # overdue
    # Testshire Carers owns one action through bob, though bob represents the council.
    done(bob, D(2026, 3, 3), D(2026, 3, 20), organisation=charity)  # 17 days late
    # Another partnership's action never counts.
    make_action(carol, partnership_b, due=D(2026, 3, 1))


def _figures(row: dict[str, object]) -> tuple[object, ...]:
    keys = ("due", "done", "done_on_time", "on_time_percent", "overdue", "median_days_late")
    return (*(row[k] for k in keys), row["dropped"])


def test_it_works_out_each_organisations_figures(record: None, partnership_a: Partnership) -> None:
    result = accountability(partnership_a, start=START, end=END, today=TODAY)
    rows = {r.name: _figures(r.as_dict()) for r in result.organisations}
    # due, done, on time, on-time %, overdue now, median days late, dropped
    assert rows == {
        # 6 due, the one due today left out of the share: 2 on time of 5 = 40%.
        "Testshire Council": (6, 4, 2, 40.0, 1, 7, 1),
        # 1 on time of 3 = 33.3%; the only late one was 2 days late.
        "Testshire UNISON": (3, 2, 1, 33.3, 1, 2, 0),
        "Testshire Carers": (1, 1, 0, 0.0, 0, 17, 0),
    }
    assert [r.name for r in result.organisations] == [
        "Testshire Carers",
        "Testshire Council",
        "Testshire UNISON",
    ]


def test_it_works_out_the_partnerships_total(record: None, partnership_a: Partnership) -> None:
    total = accountability(partnership_a, start=START, end=END, today=TODAY).total
    # 3 on time of 9 whose outcome is known; days late 2, 4, 10, 17 have median 7.
    assert _figures(total.as_dict()) == (10, 7, 3, 33.3, 2, 7.0, 1)
    assert total.on_time_percent == pytest.approx(100 / 3)


def test_it_counts_nothing_due_as_no_share(
    alice: User, dave: User, partnership_a: Partnership
) -> None:
    result = accountability(partnership_a, start=START, end=END, today=TODAY)
    # The two organisations on the partnership are listed, with nothing to measure.
    assert [(r.name, r.due, r.on_time_percent) for r in result.organisations] == [
        ("Testshire Council", 0, None),
        ("Testshire UNISON", 0, None),
    ]
    assert result.total.median_days_late is None


def test_it_shows_the_figures_chart_and_rules_on_the_page(
    record: None, bob_client: Client, partnership_a: Partnership
) -> None:
    response = bob_client.get(
        f"/partnerships/{partnership_a.pk}/accountability/?start=2026-01-01&end=2026-06-30"
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "<svg" in content and 'id="on-time"' in content
    assert "Testshire Carers" in content
    # Today the action due on 30 June is overdue too, so the council has 2 on time of 6
    # and the partnership 3 of 10; shares are floored, as scores are.
    assert "33%" in content and "30%" in content
    assert "40%" not in content
    assert "Median days late" in content and "middle number of days" in content


def test_it_explains_a_period_that_ends_before_it_starts(
    bob_client: Client, partnership_a: Partnership
) -> None:
    response = bob_client.get(
        f"/partnerships/{partnership_a.pk}/accountability/?start=2026-06-01&end=2026-01-01"
    )
    assert response.status_code == 200
    assert b"The start date must be on or before the end date." in response.content


def _queries(client: Client, partnership: Partnership) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(
            f"/partnerships/{partnership.pk}/accountability/?start=2026-01-01&end=2026-06-30"
        )
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_it_costs_the_same_queries_whatever_the_number_of_actions(
    record: None, bob_client: Client, bob: User, dave: User, partnership_a: Partnership
) -> None:
    few = _queries(bob_client, partnership_a)
    for day in range(1, 28):
        make_action(bob, partnership_a, due=D(2026, 2, day), status="done", done_on=D(2026, 3, 1))
        make_action(dave, partnership_a, due=D(2026, 3, day))
    assert _queries(bob_client, partnership_a) == few
    assert few <= 10


def test_it_gives_the_figures_in_the_api(
    record: None, bob: User, carol: User, partnership_a: Partnership
) -> None:
    response = api_client_for(bob).get(
        f"/partnerships/{partnership_a.pk}/accountability?start=2026-01-01&end=2026-06-30"
    )
    assert response.status_code == 200
    body = json.loads(response.content)
    assert (body["start"], body["end"]) == ("2026-01-01", "2026-06-30")
    council = next(r for r in body["organisations"] if r["name"] == "Testshire Council")
    assert council["due"] == 6 and council["done_on_time"] == 2
    assert body["total"]["median_days_late"] == 7.0
    assert {r["figure"] for r in body["rules"]} >= {"On time", "Median days late"}
    refused = api_client_for(carol).get(f"/partnerships/{partnership_a.pk}/accountability")
    assert_error(refused, 404)
    wrong = api_client_for(bob).get(
        f"/partnerships/{partnership_a.pk}/accountability?start=2026-06-01&end=2026-01-01"
    )
    assert "start" in assert_error(wrong, 422)["message"]
    garbled = api_client_for(bob).get(f"/partnerships/{partnership_a.pk}/accountability?start=x")
    assert_error(garbled, 422)


# The evidence indicator -----------------------------------------------------------------

ON = D(2026, 7, 1)


def test_it_gives_the_share_of_actions_done_on_time_in_the_year_before(
    alice: User, carol: User, partnership_a: Partnership, partnership_b: Partnership
) -> None:
    def add(due: D, status: str = "done", done_on: D | None = None, **extra: Any) -> None:
        make_action(alice, partnership_a, due=due, status=status, done_on=done_on, **extra)

    add(D(2026, 6, 21), done_on=D(2026, 6, 19))  # on time
    add(D(2026, 6, 11), done_on=D(2026, 6, 16))  # late
    add(D(2026, 6, 26), status="agreed")  # due, still open: not on time
    add(D(2026, 6, 1), status="dropped", drop_reason="x")  # left out
    add(D(2026, 7, 1), done_on=D(2026, 6, 20))  # due on the day itself: not before it
    add(D(2025, 7, 1), done_on=D(2025, 6, 30))  # exactly a year before: counted, on time
    add(D(2025, 6, 30), done_on=D(2025, 6, 1))  # a day too early: left out
    make_action(carol, partnership_b, due=D(2026, 6, 2), status="done", done_on=D(2026, 6, 1))
    # On time: 2 (21 June, 1 July 2025) of 4 counted.
    assert action_on_time(partnership_a, ON) == 50.0


def test_it_gives_a_share_in_whole_and_fractional_percentages(
    alice: User, partnership_a: Partnership
) -> None:
    for day in (1, 2, 3):
        make_action(alice, partnership_a, due=D(2026, 5, day), status="done", done_on=D(2026, 5, 1))
    assert action_on_time(partnership_a, ON) == 100.0
    make_action(alice, partnership_a, due=D(2026, 5, 9), status="in_progress")
    assert action_on_time(partnership_a, ON) == 75.0
    make_action(alice, partnership_a, due=D(2026, 5, 10), status="done", done_on=D(2026, 5, 30))
    make_action(alice, partnership_a, due=D(2026, 5, 11), status="proposed")
    assert action_on_time(partnership_a, ON) == pytest.approx(50.0)


def test_it_says_nothing_with_fewer_than_three_actions(
    alice: User, partnership_a: Partnership
) -> None:
    make_action(alice, partnership_a, due=D(2026, 5, 1), status="done", done_on=D(2026, 5, 1))
    make_action(alice, partnership_a, due=D(2026, 5, 2), status="agreed")
    make_action(alice, partnership_a, due=D(2026, 5, 3), status="dropped", drop_reason="x")
    assert action_on_time(partnership_a, ON) is None
    make_action(alice, partnership_a, due=D(2026, 5, 4), status="done", done_on=D(2026, 5, 9))
    assert action_on_time(partnership_a, ON) == pytest.approx(100 / 3)
