"""Gaps between groups are listed only when large enough and beyond noise.

Seeded simulations with the pure scoring functions (no database), so they run
in seconds: forums of members answering a small framework on the five-point
agreement scale, summed per group exactly as the database sums them
(respondents' principle scores: COUNT, SUM, SUM of squares).
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable

from partnerwell.healthcheck.scoring import (
    GAP_THRESHOLD,
    GroupStats,
    combine,
    gap_test,
    group_gaps,
    smallest_exact_p,
)

Person = dict[str, str]
Answer = Callable[[random.Random, Person, str], int]
Stats = dict[str, dict[str, dict[str, GroupStats]]]
Scores = dict[str, dict[str, dict[str, float | None]]]

PRINCIPLES = ("split", "trust", "decisions", "delivery")
STATEMENTS = 3
ROUNDS = 200


def _likert(rng: random.Random, mean: float, sd: float = 0.8) -> int:
    return max(1, min(5, round(rng.gauss(mean, sd))))


def _forum_round(rng: random.Random, people: list[Person], answer: Answer) -> tuple[Stats, Scores]:
    """Per breakdown, group and principle: respondent sums, and the score a page shows."""
    rows = [
        (
            person,
            {
                p: [(answer(rng, person, p) - 1) * 25.0 for _ in range(STATEMENTS)]
                for p in PRINCIPLES
            },
        )
        for person in people
    ]
    stats: Stats = {}
    scores: Scores = {}
    for by in people[0]:
        stats[by], scores[by] = {}, {}
        for group in sorted({person[by] for person in people}):
            members = [a for person, a in rows if person[by] == group]
            stats[by][group] = {
                p: GroupStats.from_values(statistics.fmean(a[p]) for a in members)
                for p in PRINCIPLES
            }
            scores[by][group] = {
                p: combine(statistics.fmean(a[p][i] for a in members) for i in range(STATEMENTS))
                for p in PRINCIPLES
            }
    return stats, scores


def _noise_forum(rng: random.Random) -> list[Person]:
    """Six organisations of 3 to 5 members, three sectors, two sides."""
    return [
        {"side": "AB"[org // 3], "sector": f"sector {org % 3}", "organisation": f"org {org}"}
        for org in range(6)
        for _ in range(rng.randint(3, 5))
    ]


def _no_group_effect(rng: random.Random, person: Person, principle: str) -> int:
    # On "split" members split within every group: half disagree, half agree.
    if principle == "split":
        return rng.choice((1, 2, 4, 5))
    return _likert(rng, 3.5)


def _old_rule_gaps(scores: Scores) -> int:
    """How many gaps the fixed 20-point rule alone would list."""
    found = 0
    for groups in scores.values():
        names = list(groups)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                for p in PRINCIPLES:
                    x, y = groups[a][p], groups[b][p]
                    if x is not None and y is not None and abs(x - y) >= GAP_THRESHOLD:
                        found += 1
    return found


def test_it_lists_a_gap_in_under_5_percent_of_rounds_when_groups_do_not_differ() -> None:
    rng = random.Random(20261202)
    rounds_with_gap = 0
    old_rule = 0
    for _ in range(ROUNDS):
        stats, scores = _forum_round(rng, _noise_forum(rng), _no_group_effect)
        rounds_with_gap += bool(group_gaps(stats, scores))
        old_rule += _old_rule_gaps(scores)
    # Measured: about 2 rounds in 100 list a gap (Holm's bound is 5 in 100).
    assert rounds_with_gap / ROUNDS < 0.05
    # The same rounds under the fixed 20-point rule list several gaps each.
    assert old_rule / ROUNDS > 2


def _two_sides_of_eight(rng: random.Random) -> list[Person]:
    return [{"side": side, "organisation": f"{side} {i % 2}"} for side in "AB" for i in range(8)]


def _staff_thirty_points_lower(rng: random.Random, person: Person, principle: str) -> int:
    if principle == "trust":
        # 4.2 against 3.0 on the 1-5 scale: 30 points apart on 0-100.
        return _likert(rng, 4.2 if person["side"] == "A" else 3.0)
    return _likert(rng, 3.5)


def test_it_lists_a_real_30_point_side_difference_with_8_per_side() -> None:
    rng = random.Random(8)
    listed = elsewhere = 0
    for _ in range(ROUNDS):
        stats, scores = _forum_round(rng, _two_sides_of_eight(rng), _staff_thirty_points_lower)
        gaps = group_gaps(stats, scores)
        listed += any((g.by, g.principle, g.group_a) == ("side", "trust", "A") for g in gaps)
        elsewhere += any(g.principle != "trust" for g in gaps)
    # Measured: listed in about 9 rounds in 10; the rest fall under 20 points by chance.
    assert listed / ROUNDS >= 0.85
    assert elsewhere / ROUNDS < 0.05


def test_it_lists_a_planted_30_point_side_difference_with_its_p_value() -> None:
    # Eight per side: management 85, 80, 75, 75, 70, 70, 65, 60 (mean 72.5), the staff
    # side 30 points lower each (mean 42.5); sd 7.6 in both, so t = 7.9 on 14 df.
    management = [85.0, 80, 75, 75, 70, 70, 65, 60]
    stats = {
        "side": {
            "Management": {"trust": GroupStats.from_values(management)},
            "Staff": {"trust": GroupStats.from_values(v - 30 for v in management)},
        }
    }
    [gap] = group_gaps(stats)
    assert (gap.group_a, gap.group_b, gap.difference) == ("Management", "Staff", 30)
    assert gap.p_value is not None and gap.p_value < 0.001


def test_it_never_calls_two_groups_of_three_beyond_chance() -> None:
    # Everyone in one group says 100 and everyone in the other 0: there are only 20
    # ways to split six people into two threes, so chance gives this 2 times in 20.
    high = GroupStats.from_values([100.0] * 3)
    low = GroupStats.from_values([0.0] * 3)
    assert smallest_exact_p(3, 3) == 0.1
    assert gap_test(high, low) == 0.1
    assert group_gaps({"sector": {"a": {"p": high}, "b": {"p": low}}}) == []
    # Five against five agreeing within each group is beyond chance (2 in 252).
    high5 = GroupStats.from_values([100.0] * 5)
    low5 = GroupStats.from_values([0.0] * 5)
    [gap] = group_gaps({"sector": {"a": {"p": high5}, "b": {"p": low5}}})
    assert gap.p_value == smallest_exact_p(5, 5)


def test_it_keeps_a_large_gap_that_could_be_chance_off_the_list() -> None:
    # 25 points apart, but each group of four spreads from 20 to 100: t = 1.1.
    a = GroupStats.from_values([100.0, 100, 70, 40])
    b = GroupStats.from_values([95.0, 60, 20, 20])
    assert (a.mean or 0) - (b.mean or 0) == 28.75
    assert group_gaps({"organisation": {"a": {"p": a}, "b": {"p": b}}}) == []
