"""Which groups results may show: attacked with exact linear algebra, as a determined member would.

The attacker here is written apart from partnerwell.healthcheck.disclosure on
purpose: its own elimination, its own search over every set of cells. It sees
what results expose for each shown group (the count, each principle's mean,
hence its sum as mean × count, and the gaps between shown groups) and the
round's total, and knows which cells each group covers (the membership list
says so). A set of cells is derivable iff its indicator is a linear
combination of the exposed rows.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from fractions import Fraction
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partnerwell.core.models import Organisation, Partnership, Sector
from partnerwell.healthcheck.disclosure import find_attack, hidden_groups, protect
from partnerwell.healthcheck.models import Framework, Round
from partnerwell.healthcheck.scoring import suppress_groups
from tests.healthcheck.builders import add_member, answer, make_round

BREAKDOWNS = ("side", "sector", "organisation")
Cell = tuple[str, str, str]
Key = tuple[str, ...]


# The attacker ------------------------------------------------------------------------


def null_basis(rows: Sequence[Sequence[Fraction]], width: int) -> list[list[Fraction]]:
    """Vectors x with r · x = 0 for every row r (plain Gauss-Jordan)."""
    matrix = [list(r) for r in rows]
    pivot_of: dict[int, int] = {}
    line = 0
    for col in range(width):
        found = next((i for i in range(line, len(matrix)) if matrix[i][col]), None)
        if found is None:
            continue
        matrix[line], matrix[found] = matrix[found], matrix[line]
        head = matrix[line][col]
        matrix[line] = [x / head for x in matrix[line]]
        for i, other in enumerate(matrix):
            if i != line and other[col]:
                matrix[i] = [a - other[col] * b for a, b in zip(other, matrix[line], strict=True)]
        pivot_of[col] = line
        line += 1
    basis = []
    for free in range(width):
        if free in pivot_of:
            continue
        x = [Fraction(0)] * width
        x[free] = Fraction(1)
        for col, at in pivot_of.items():
            x[col] = -matrix[at][free]
        basis.append(x)
    return basis


def exposed_rows(cells: Sequence[Cell], results: Mapping[str, Any]) -> list[list[Fraction]]:
    """Every linear functional of per-cell sums the results let anyone compute.

    For each shown group: its count (a row of ones over its cells) and, per
    principle, its sum as mean × count (the same row). The total likewise.
    A gap is mean(a) - mean(b) = sum(a)/n(a) - sum(b)/n(b): a row too.
    """
    rows: list[list[Fraction]] = [[Fraction(1)] * len(cells)]
    shown = results["shown"]
    for by, name in shown:
        index = BREAKDOWNS.index(by)
        rows.append([Fraction(1 if cell[index] == name else 0) for cell in cells])
    for (by_a, a), (by_b, b), _principle, _difference in results["gaps"]:
        ia, ib = BREAKDOWNS.index(by_a), BREAKDOWNS.index(by_b)
        na, nb = shown[(by_a, a)]["n"], shown[(by_b, b)]["n"]
        rows.append(
            [
                Fraction(1 if cell[ia] == a else 0, na) - Fraction(1 if cell[ib] == b else 0, nb)
                for cell in cells
            ]
        )
    return rows


def derive_sum(
    cells: Sequence[Cell], results: Mapping[str, Any], target: set[Cell], principle: int
) -> float:
    """The attacker's arithmetic: the sum of `principle` over `target`, from shown sums alone."""
    shown = results["shown"]
    names = list(shown)
    rows = [[1] * len(cells)] + [
        [1 if cell[BREAKDOWNS.index(by)] == name else 0 for cell in cells] for by, name in names
    ]
    values = [results["total_sums"][principle]] + [
        shown[g]["means"][principle] * shown[g]["n"] for g in names
    ]
    # Solve sum_i a_i rows[i] = indicator of target, by elimination on the transposed system.
    system = [
        [Fraction(rows[i][c]) for i in range(len(rows))] + [Fraction(int(cells[c] in target))]
        for c in range(len(cells))
    ]
    width = len(rows)
    pivots: list[tuple[int, int]] = []
    line = 0
    for col in range(width):
        found = next((i for i in range(line, len(system)) if system[i][col]), None)
        if found is None:
            continue
        system[line], system[found] = system[found], system[line]
        head = system[line][col]
        system[line] = [x / head for x in system[line]]
        for i, other in enumerate(system):
            if i != line and other[col]:
                system[i] = [a - other[col] * b for a, b in zip(other, system[line], strict=True)]
        pivots.append((line, col))
        line += 1
    assert all(row[width] == 0 for row in system[line:]), "not derivable"
    return sum(float(system[at][width]) * values[col] for at, col in pivots)


def derivable_small_sets(
    cells: Sequence[Cell], counts: Sequence[int], rows: Sequence[Sequence[Fraction]], floor: int
) -> list[tuple[frozenset[int], int]]:
    """Every non-empty set of cells with fewer than `floor` respondents in the rows' span."""
    basis = null_basis(rows, len(cells))
    found: list[tuple[frozenset[int], int]] = []

    def walk(start: int, chosen: list[int], people: int, sums: list[Fraction]) -> None:
        for c in range(start, len(cells)):
            more = people + counts[c]
            if more >= floor:
                continue
            new = [s + b[c] for s, b in zip(sums, basis, strict=True)]
            if all(v == 0 for v in new):
                found.append((frozenset([*chosen, c]), more))
            walk(c + 1, [*chosen, c], more, new)

    walk(0, [], 0, [Fraction(0)] * len(basis))
    return found


# Random forums ---------------------------------------------------------------------


@st.composite
def forums(draw: st.DrawFn) -> dict[str, Any]:
    """Sides, sectors and organisations of random sizes; some invited people do not answer."""
    floor = draw(st.integers(3, 6))
    sides = [f"Side {i}" for i in range(draw(st.integers(1, 3)))]
    sectors = [f"Sector {i}" for i in range(draw(st.integers(1, 3)))]
    organisations = {
        f"Org {i}": draw(st.sampled_from(sectors)) for i in range(draw(st.integers(1, 5)))
    }
    people = draw(
        st.lists(
            st.tuples(
                st.sampled_from(sides),
                st.sampled_from(sorted(organisations)),
                st.booleans() | st.just(True),
            ),
            min_size=1,
            max_size=40,
        )
    )
    cells: dict[Cell, int] = {}
    for side, organisation, answered in people:
        key = (side, organisations[organisation], organisation)
        cells[key] = cells.get(key, 0) + int(answered)
    seed = draw(st.integers(0, 2**32 - 1))
    return {"floor": floor, "cells": cells, "seed": seed}


def show(
    cells: Mapping[Cell, int], floor: int, hidden: AbstractSet[Key], seed: int
) -> dict[str, Any]:
    """What results expose: each shown group's count and principle means, the total, the gaps.

    Each respondent gets a random score (0-100) on two principles; a group's
    principle score is the mean over its respondents, as results compute it.
    Gaps are listed between every two shown groups of a breakdown, more than
    results ever list, so the attacker has everything.
    """
    rng = random.Random(seed)
    people = [
        (cell, [rng.randint(0, 100), rng.randint(0, 100)])
        for cell, n in cells.items()
        for _ in range(n)
    ]
    groups = sorted({(by, cell[i]) for cell in cells for i, by in enumerate(BREAKDOWNS)})
    shown: dict[Key, dict[str, Any]] = {}
    for by, name in groups:
        if (by, name) in hidden:
            continue
        scores = [s for cell, s in people if cell[BREAKDOWNS.index(by)] == name]
        shown[(by, name)] = {
            "n": len(scores),
            "means": [sum(s[p] for s in scores) / len(scores) for p in (0, 1)],
        }
    gaps = [
        (a, b, p, shown[a]["means"][p] - shown[b]["means"][p])
        for a in shown
        for b in shown
        if a < b and a[0] == b[0]
        for p in (0, 1)
    ]
    return {
        "shown": shown,
        "gaps": gaps,
        "total": len(people),
        "total_sums": [sum(s[p] for _, s in people) for p in (0, 1)],
        "people": people,
    }


@settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(forums())
def test_it_leaves_no_set_below_the_floor_derivable_in_random_forums(
    forum: dict[str, Any],
) -> None:
    cells, floor = forum["cells"], forum["floor"]
    candidates = sorted({(by, cell[i]) for cell in cells for i, by in enumerate(BREAKDOWNS)})

    hidden = hidden_groups(cells, BREAKDOWNS, candidates, floor)

    results = show(cells, floor, hidden, forum["seed"])
    if results["total"] < floor:
        assert hidden == set(candidates)
        return
    keys = list(cells)
    counts = [cells[k] for k in keys]
    leaks = derivable_small_sets(keys, counts, exposed_rows(keys, results), floor)
    assert leaks == [], [([keys[c] for c in s], n) for s, n in leaks]
    assert all(g["n"] >= floor for g in results["shown"].values())


@settings(max_examples=150, derandomize=True, database=None, deadline=None)
@given(
    st.integers(3, 6),
    st.lists(st.integers(0, 7), min_size=1, max_size=9),
    st.lists(st.lists(st.booleans(), min_size=9, max_size=9), max_size=6),
)
def test_it_finds_an_attack_exactly_when_the_attacker_does(
    floor: int, sizes: list[int], masks: list[list[bool]]
) -> None:
    # Atoms are cells no shown row tells apart; merge any the random rows do not.
    patterns: dict[tuple[bool, ...], int] = {}
    for cell, n in enumerate(sizes):
        key = tuple(mask[cell] for mask in masks)
        patterns[key] = patterns.get(key, 0) + n
    counts = list(patterns.values())
    rows = [[int(p[i]) for p in patterns] for i in range(len(masks))] + [[1] * len(counts)]
    cells = [("", "", str(a)) for a in range(len(counts))]

    attack = find_attack(counts, rows, floor)

    leaks = derivable_small_sets(cells, counts, [[Fraction(x) for x in row] for row in rows], floor)
    assert (attack is None) == (leaks == [])
    if attack is not None:
        assert (attack.atoms, attack.respondents) in leaks


# The attacker has teeth ---------------------------------------------------------------

# The issue's forum: a staff side of 8 with a trade-union sector of 7 and one voluntary-sector
# member; management side - local authority - NHS provider = the one police member.
ISSUE_FORUM: dict[Cell, int] = {
    ("Staff side", "trade_union", "UNISON"): 4,
    ("Staff side", "trade_union", "GMB"): 3,
    ("Staff side", "voluntary", "Carers"): 1,
    ("Management side", "local_authority", "Council"): 4,
    ("Management side", "nhs_provider", "Hospital Trust"): 3,
    ("Management side", "police", "Police"): 1,
}


def per_breakdown_hidden(cells: Mapping[Cell, int], floor: int) -> set[Key]:
    """The old way: suppress_groups on each breakdown alone."""
    hidden: set[Key] = set()
    for i, by in enumerate(BREAKDOWNS):
        counts: dict[str, int] = {}
        for cell, n in cells.items():
            counts[cell[i]] = counts.get(cell[i], 0) + n
        hidden |= {(by, name) for name in suppress_groups(counts, floor)}
    return hidden


def test_it_recovers_one_persons_scores_when_breakdowns_are_suppressed_alone() -> None:
    hidden = per_breakdown_hidden(ISSUE_FORUM, 3)
    results = show(ISSUE_FORUM, 3, hidden, seed=3)
    keys = list(ISSUE_FORUM)

    leaks = derivable_small_sets(
        keys, [ISSUE_FORUM[k] for k in keys], exposed_rows(keys, results), 3
    )

    found = {frozenset(keys[c] for c in s) for s, _ in leaks}
    for lone in (("Staff side", "voluntary", "Carers"), ("Management side", "police", "Police")):
        assert frozenset([lone]) in found
        truth = next(s for cell, s in results["people"] if cell == lone)
        derived = [derive_sum(keys, results, {lone}, p) for p in (0, 1)]
        assert derived == pytest.approx(truth, abs=1e-9)


def test_it_hides_enough_in_the_issues_forum_and_keeps_the_sides() -> None:
    groups = sorted({(by, cell[i]) for cell in ISSUE_FORUM for i, by in enumerate(BREAKDOWNS)})

    hidden = hidden_groups(ISSUE_FORUM, BREAKDOWNS, groups, 3)

    assert ("side", "Staff side") not in hidden
    assert ("side", "Management side") not in hidden
    assert {("organisation", "Carers"), ("organisation", "Police")} <= hidden
    keys = list(ISSUE_FORUM)
    rows = exposed_rows(keys, show(ISSUE_FORUM, 3, hidden, seed=3))
    assert derivable_small_sets(keys, [ISSUE_FORUM[k] for k in keys], rows, 3) == []


def test_it_decides_the_same_whether_or_not_the_one_police_member_answered() -> None:
    groups = sorted({(by, cell[i]) for cell in ISSUE_FORUM for i, by in enumerate(BREAKDOWNS)})
    silent = {**ISSUE_FORUM, ("Management side", "police", "Police"): 0}

    assert hidden_groups(silent, BREAKDOWNS, groups, 3) == hidden_groups(
        ISSUE_FORUM, BREAKDOWNS, groups, 3
    )


def test_it_treats_nobody_answered_as_something_to_protect() -> None:
    # Two sides of 4; the staff side's only charity member did not answer. Showing the staff
    # side and the trade-union sector would say "staff side - trade union = 0 answers".
    cells = [4, 4, 0]  # management, staff-union, staff-charity
    groups = {("side", "M"): [0], ("side", "S"): [1, 2], ("sector", "TU"): [1]}

    hidden = protect(cells, groups, 3)

    assert hidden == {("sector", "TU")}


def test_it_finds_a_single_person_spread_over_several_groups() -> None:
    # Atoms: a (3 people), b (1 person, the attack), c (5). Rows: {a, b}, {b, c}, total.
    # {a,b} + {b,c} - total = {b}.
    attack = find_attack([3, 1, 5], [[1, 1, 0], [0, 1, 1], [1, 1, 1]], 3)

    assert attack is not None
    assert attack.atoms == frozenset({1})
    assert attack.respondents == 1
    assert set(attack.rows) == {0, 1, 2}


def test_it_finds_nothing_when_only_large_unions_are_derivable() -> None:
    assert find_attack([4, 5, 6], [[1, 0, 0], [1, 1, 1]], 3) is None


def test_it_hides_every_group_when_too_few_answered() -> None:
    assert protect([1, 1], {("side", "A"): [0], ("side", "B"): [1]}, 3) == {
        ("side", "A"),
        ("side", "B"),
    }


@pytest.mark.parametrize("floor", [0, 2.5, True])
def test_it_refuses_a_floor_that_is_not_a_whole_positive_number(floor: object) -> None:
    with pytest.raises(ValueError, match="anonymity floor"):
        protect([5], {("side", "A"): [0]}, floor)  # type: ignore[arg-type]


# The issue's forum in the database, and the attack on what the API returns -------------

ISSUE_PEOPLE = [
    # side, organisation, sector, members
    ("Staff side", "UNISON branch", Sector.TRADE_UNION, 4),
    ("Staff side", "GMB branch", Sector.TRADE_UNION, 3),
    ("Staff side", "Carers Centre", Sector.VOLUNTARY, 1),
    ("Management side", "County Council", Sector.LOCAL_AUTHORITY, 4),
    ("Management side", "Hospital Trust", Sector.NHS_PROVIDER, 3),
    ("Management side", "Constabulary", Sector.POLICE, 1),
]


def build_issue_forum(partnership: Partnership, framework: Framework) -> Round:
    """A closed round where all 16 of the issue's forum answered, each with their own value.

    Person i answers (i mod 5) + 1 to every statement, so their principle
    scores are all 25 × (i mod 5) and anyone can check a derived score.
    """
    round = make_round(partnership, framework)
    number = 0
    for side, name, sector, members in ISSUE_PEOPLE:
        organisation = Organisation.objects.create(name=name, sector=sector)
        for _ in range(members):
            answer(round, add_member(partnership, organisation, side=side), number % 5 + 1)
            number += 1
    Round.objects.filter(pk=round.pk).update(closed_early_at=timezone.now())
    round.refresh_from_db()
    return round


def issue_cells() -> dict[Cell, int]:
    """What any member knows from the membership list: who sits in which cell."""
    return {(side, str(sector.label), name): n for side, name, sector, n in ISSUE_PEOPLE}


def issue_truth() -> dict[Cell, list[float]]:
    truth: dict[Cell, list[float]] = {}
    number = 0
    for side, name, sector, members in ISSUE_PEOPLE:
        for _ in range(members):
            truth.setdefault((side, str(sector.label), name), []).append(25.0 * (number % 5))
            number += 1
    return truth


def attack_results(data: Mapping[str, Any], cells: Mapping[Cell, int]) -> list[str]:
    """Every set of fewer than the floor that the results let a member work out, with its score.

    Uses only the results' JSON (shown groups' counts and principle scores, the
    gaps, the total) and the membership list.
    """
    keys = [p["key"] for a in data["areas"] for p in a["principles"]]
    shown = {
        (g["by"], g["name"]): {
            "n": g["n"],
            "means": [{p["key"]: p["score"] for p in g["principles"]}[k] for k in keys],
        }
        for g in data["groups"]
        if not g["suppressed"]
    }
    gaps = [
        ((gap["by"], gap["groups"][0]), (gap["by"], gap["groups"][1]), gap["principle"], 0)
        for gap in data["gaps"]
    ]
    scores = {p["key"]: p["score"] for a in data["areas"] for p in a["principles"]}
    results = {
        "shown": shown,
        "gaps": gaps,
        "total_sums": [scores[k] * data["round"]["responded"] for k in keys],
    }
    names = list(cells)
    floor = data["anonymity_floor"]
    leaks = derivable_small_sets(
        names, [cells[c] for c in names], exposed_rows(names, results), floor
    )
    found = []
    for atoms, people in leaks:
        target = {names[c] for c in atoms}
        if people:
            derived = derive_sum(names, results, target, 0) / people
            found.append(f"{sorted(target)}: {people} answered, first principle {derived:.1f}")
        else:
            found.append(f"{sorted(target)}: nobody answered")
    return found


@pytest.mark.django_db
def test_it_still_shows_the_demo_forum_a_side_gap_a_disputed_item_and_hidden_groups() -> None:
    from partnerwell.core.management.commands.demo import Command
    from partnerwell.core.models import PartnershipType
    from partnerwell.healthcheck.demo import load_demo
    from partnerwell.healthcheck.results import round_results

    # The demo's people and partnerships, then its health checks (other apps' parts left out).
    Command()._load()
    load_demo()
    forum = Partnership.objects.get(kind=PartnershipType.FORUM)
    closed = [r for r in Round.objects.filter(partnership=forum) if r.status == "closed"]

    assert len(closed) == 2
    for round in closed:
        results = round_results(round)
        assert any(g["by"] == "side" for g in results["gaps"]), round.title
        assert any(
            s["disputed"]
            for a in results["areas"]
            for p in a["principles"]
            for s in p["statements"]
        )
        assert any(g["suppressed"] for g in results["groups"])
        assert {
            g["name"] for g in results["groups"] if g["by"] == "side" and not g["suppressed"]
        } == {
            "Management side",
            "Staff side",
        }
