"""The status rule for measures, at its boundaries (pure functions, no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from partnerwell.delivery.measures import (
    AT_RISK,
    OFF_TRACK,
    ON_TRACK,
    measure_status,
    status_missing,
    trajectory_at,
)

D = dt.date
# Baseline 100 on 1 Jan 2024, target 200 on 1 Jan 2025: 366 days apart (a leap year), so
# on 2 Jul 2024, 183 days in, the line is exactly halfway, at 150; the planned change is 100.
BASELINE = (D(2024, 1, 1), 100.0)
TARGET = (D(2025, 1, 1), 200.0)
HALFWAY = D(2024, 7, 2)


def status(
    latest: float,
    *,
    on: dt.date = HALFWAY,
    direction: str = "higher",
    baseline: tuple[dt.date, float] | None = BASELINE,
    targets: list[tuple[dt.date, float]] | None = None,
) -> str | None:
    result = measure_status(
        direction=direction,
        baseline=baseline,
        targets=[TARGET] if targets is None else targets,
        latest=(on, latest),
    )
    return result.status if result else None


def test_it_expects_the_straight_line_value_halfway() -> None:
    assert trajectory_at([BASELINE, TARGET], HALFWAY) == 150.0


def test_it_is_on_track_exactly_on_the_line() -> None:
    result = measure_status(
        direction="higher", baseline=BASELINE, targets=[TARGET], latest=(HALFWAY, 150.0)
    )
    assert result is not None
    assert result.expected == 150.0
    assert result.gap_share == 0
    assert result.status == ON_TRACK


def test_it_is_at_risk_just_behind_the_line() -> None:
    assert status(149.99) == AT_RISK


def test_it_is_at_risk_exactly_ten_percent_behind() -> None:
    # Planned change 100, so 10% is 10: 140 against the expected 150.
    assert status(140.0) == AT_RISK


def test_it_is_off_track_just_beyond_ten_percent_behind() -> None:
    assert status(139.99) == OFF_TRACK


def test_it_turns_the_gap_round_when_lower_is_better() -> None:
    baseline = (D(2024, 1, 1), 200.0)
    targets = [(D(2025, 1, 1), 100.0)]
    kwargs = {"direction": "lower", "baseline": baseline, "targets": targets}
    assert status(150.0, **kwargs) == ON_TRACK  # on the line
    assert status(145.0, **kwargs) == ON_TRACK  # lower than expected is ahead
    assert status(160.0, **kwargs) == AT_RISK  # exactly 10% of the planned fall behind
    assert status(160.01, **kwargs) == OFF_TRACK


def test_it_is_on_track_when_the_target_is_met_early() -> None:
    assert status(205.0, on=D(2024, 3, 31)) == ON_TRACK


def test_it_has_no_status_without_a_target() -> None:
    assert status(150.0, targets=[]) is None


def test_it_ignores_targets_dated_before_the_baseline() -> None:
    assert status(150.0, targets=[(D(2023, 6, 30), 500.0)]) is None


def test_it_has_no_status_without_a_baseline() -> None:
    assert status(150.0, baseline=None) is None


def test_it_has_no_status_without_data() -> None:
    assert (
        measure_status(direction="higher", baseline=BASELINE, targets=[TARGET], latest=None) is None
    )


def test_it_holds_the_last_target_after_its_date() -> None:
    # Two years on, the line stays at 200: 185 is 15% of the planned change behind.
    assert status(185.0, on=D(2026, 1, 1)) == OFF_TRACK
    assert status(190.0, on=D(2026, 1, 1)) == AT_RISK
    assert status(200.0, on=D(2026, 1, 1)) == ON_TRACK


def test_it_follows_the_line_between_consecutive_targets() -> None:
    targets = [(D(2025, 1, 1), 200.0), (D(2026, 1, 1), 300.0)]
    result = measure_status(
        direction="higher", baseline=BASELINE, targets=targets, latest=(D(2025, 7, 2), 240.0)
    )
    assert result is not None
    # 182 of 365 days from 200 to 300: 249.86…; the next target is 300, planned change 200.
    assert result.expected == pytest.approx(200 + 100 * 182 / 365)
    assert result.target_value == 300.0
    assert result.gap_share == pytest.approx((240 - result.expected) / 200, abs=1e-9)
    assert result.status == AT_RISK


def test_it_uses_the_baseline_itself_when_holding_steady() -> None:
    steady = [(D(2025, 1, 1), 100.0)]
    assert status(100.0, targets=steady) == ON_TRACK
    assert status(90.0, targets=steady) == AT_RISK  # 10% of the baseline of 100
    assert status(89.0, targets=steady) == OFF_TRACK


def test_it_explains_the_status_in_words() -> None:
    result = measure_status(
        direction="higher", baseline=BASELINE, targets=[TARGET], latest=(HALFWAY, 140.0)
    )
    assert result is not None
    assert result.label == "At risk"
    assert "10% of the planned change behind" in result.explanation
    assert "expected 150" in result.explanation


def test_it_says_what_is_missing_for_a_status() -> None:
    assert status_missing(has_baseline=False, targets=[], baseline_on=None, has_data=False) == [
        "a baseline value and date",
        "a target dated after the baseline",
        "at least one value",
    ]
    assert (
        status_missing(has_baseline=True, targets=[TARGET], baseline_on=BASELINE[0], has_data=True)
        == []
    )
