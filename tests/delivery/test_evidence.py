"""Risks reviewed on time as health-check evidence: the figure, its registration, and flags."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from partnerwell.core.models import Membership, Organisation, Partnership, User
from partnerwell.delivery.models import Risk, RiskStatus
from partnerwell.delivery.risks import risks_reviewed
from partnerwell.healthcheck.evidence import indicators
from partnerwell.healthcheck.models import Framework
from partnerwell.healthcheck.results import round_results
from tests.healthcheck.builders import add_member, answer, close_and_seal, make_round

ON = dt.date(2026, 3, 10)


def _risk(partnership: Partnership, review_on: dt.date, **fields: object) -> Risk:
    return Risk.objects.create(
        partnership=partnership,
        title=f"Risk due {review_on}",
        likelihood=3,
        impact=3,
        target_likelihood=2,
        target_impact=2,
        review_on=review_on,
        **fields,
    )


def test_it_has_no_figure_without_open_risks(partnership_a: Partnership) -> None:
    assert risks_reviewed(partnership_a, ON) is None
    _risk(partnership_a, ON - dt.timedelta(days=5), status=RiskStatus.CLOSED)
    assert risks_reviewed(partnership_a, ON) is None


def test_it_counts_the_share_of_open_risks_not_overdue(
    partnership_a: Partnership, partnership_b: Partnership
) -> None:
    _risk(partnership_a, ON)  # due that very day: on time
    _risk(partnership_a, ON + dt.timedelta(days=30))  # on time
    _risk(partnership_a, ON - dt.timedelta(days=1))  # a day overdue
    _risk(partnership_a, ON - dt.timedelta(days=200))  # long overdue
    _risk(partnership_a, ON - dt.timedelta(days=200), status=RiskStatus.CLOSED)  # left out
    _risk(partnership_b, ON - dt.timedelta(days=1))  # another partnership's: left out
    # Two of four open risks are on time.
    assert risks_reviewed(partnership_a, ON) == 50.0
    # A day later, the one due on ON is overdue too: one of four.
    assert risks_reviewed(partnership_a, ON + dt.timedelta(days=1)) == 25.0
    # Far back, none is overdue yet.
    assert risks_reviewed(partnership_a, ON - dt.timedelta(days=365)) == 100.0
    assert risks_reviewed(partnership_b, ON) == 0.0


def test_it_registers_the_three_delivery_indicators() -> None:
    registered = {i.key: i for i in indicators()}
    assert {"risks_reviewed", "action_on_time", "measures_current"} <= set(registered)
    assert registered["risks_reviewed"].compute is risks_reviewed
    for key in ("risks_reviewed", "action_on_time", "measures_current"):
        # Each rule is plain words people can check against the records.
        assert len(registered[key].rule.split()) > 10


# End to end: members' ratings against the register -----------------------------------


@pytest.fixture
def governance() -> Framework:
    return Framework.objects.get(scope="builtin", key="good-governance")


def _rated(partnership: Partnership, framework: Framework, organisation: Organisation, value: int):
    """A round where three members rate only the risk principle, all alike."""
    round = make_round(partnership, framework)
    # gg-rk-3 is a warning sign: agreeing with it is bad.
    answers = {"gg-rk-1": value, "gg-rk-2": value, "gg-rk-3": 6 - value}
    for _ in range(3):
        answer(round, add_member(partnership, organisation, side="Staff side"), answers)
    # Results appear once a round has closed (and its answers are sealed).
    close_and_seal(round)
    return round


def _risk_row(results: dict) -> dict:
    [row] = [r for r in results["evidence"] if r["indicator"] == "risks_reviewed"]
    return row


def test_it_flags_a_blind_spot_when_members_rate_risks_well_but_reviews_are_late(
    partnership_a: Partnership, governance: Framework, union: Organisation
) -> None:
    today = timezone.localdate()
    _risk(partnership_a, today + dt.timedelta(days=10))
    for days in (1, 20, 40):
        _risk(partnership_a, today - dt.timedelta(days=days))
    round = _rated(partnership_a, governance, union, 5)
    results = round_results(round)
    row = _risk_row(results)
    assert row["principle"] == "risk-management"
    assert row["value"] == 25.0  # one of four open risks reviewed on time
    assert row["band"] == "concern"
    assert row["flag"] == "blind_spot"
    [principle] = [
        p for a in results["areas"] for p in a["principles"] if p["key"] == "risk-management"
    ]
    assert principle["score"] == 100.0


def test_it_flags_an_unsung_strength_when_members_rate_risks_poorly_but_reviews_are_on_time(
    partnership_a: Partnership, governance: Framework, union: Organisation
) -> None:
    today = timezone.localdate()
    for days in (0, 10, 30):
        _risk(partnership_a, today + dt.timedelta(days=days))
    round = _rated(partnership_a, governance, union, 1)
    row = _risk_row(round_results(round))
    assert row["value"] == 100.0
    assert row["band"] == "strength"
    assert row["flag"] == "unsung_strength"


def test_it_shows_the_blind_spot_on_the_results_page(
    alice_client: Client,
    alice: User,
    partnership_a: Partnership,
    governance: Framework,
    union: Organisation,
) -> None:
    _risk(partnership_a, timezone.localdate() - dt.timedelta(days=3))
    round = _rated(partnership_a, governance, union, 5)
    page = alice_client.get(f"/rounds/{round.pk}/results/").content.decode()
    assert "Risks reviewed on time" in page
    assert "next review date had not passed" in page  # the rule, in words


def test_it_has_no_flag_without_open_risks(
    partnership_a: Partnership, governance: Framework, union: Organisation
) -> None:
    round = _rated(partnership_a, governance, union, 5)
    row = _risk_row(round_results(round))
    assert row["value"] is None
    assert row["flag"] is None
    assert Membership.objects.filter(partnership=partnership_a).count() == 3
