"""Which groups a round's results may show, audited across every breakdown at once.

The problem. Results show each side, sector and organisation that is large
enough, side by side, with its number of respondents, its principle scores and
its overall score, next to the whole round's figures. Each of those numbers is,
or gives with the count, a sum over the group's respondents (mean × count). So
anyone can add and subtract them: "staff side − trade-union sector" is the
staff-side members from other sectors, and if that is one person, their scores
come out. Hiding small groups one breakdown at a time does not stop this.

The method (complementary suppression across linked tables):

1. Cells. Split the round's people into the finest cells: distinct
   (side, sector, organisation) combinations, taken from the invited members
   and from the responses (which record their groups as at submission). Each
   cell has a number of respondents, possibly 0.
2. Rows. Every group that could be shown is the set of cells it covers (a 0/1
   vector over cells); the round's total covers every cell. An attacker can
   compute, for the respondents' counts and for every score sum, any linear
   combination of shown rows: the row space.
3. What must not be derivable. Any non-empty set of cells with fewer
   respondents than the floor, *including none*: learning that "nobody from the
   police answered" is learning who answered, and deciding what to hide from it
   would let the hidden list itself betray that one person answered.
4. Atoms. Every vector in the row space is constant on cells that belong to
   exactly the same shown rows (an atom), so a derivable 0/1 vector is a union
   of atoms. Working on atoms, the set is derivable iff its indicator y lies in
   the row space of the rows restricted to atoms (exact whole-number
   arithmetic, no rounding). Only atoms with fewer respondents than the floor
   can be part of a small set, so y is zero on every other atom; see
   :func:`find_attack` for how those vectors are enumerated and pruned.
5. Suppress and repeat. Primary suppression hides every group with fewer
   respondents than the floor (including groups nobody from answered). While a
   derivable small set exists, one more group is hidden: among the shown
   groups used to derive it, the one with fewest respondents, then by
   breakdown and name so the choice is repeatable. The total is shown only if
   at least the floor answered; otherwise every group is hidden.
   If a search ever grew past a fixed budget, the smallest shown group is
   hidden as though an attack had been found: slower to err, never to leak.

What this covers. Results show, per shown group, only its count, its
principle scores, its overall score and gaps between two shown groups (a
difference of two rows). Answer distributions per statement, "don't know"
counts, comments and change since last time are shown only for the whole
round (the total row), never per group. Everything shown is therefore a
function of shown rows, and any combination of sums and differences of them
reaches only sets in the row space, none of which is a non-empty set of fewer
than the floor respondents. Within a shown group, respondents who answered a
statement (rather than "don't know") are a subset of the group's respondents;
a set of fewer than the floor stays fewer than the floor, so the
respondent-level audit covers them.

What it does not claim: protection against inference from bounds (scores lie
between 0 and 100, counts are whole numbers of 0 or more), which can narrow a
hidden value without pinning it down.

This module is pure Python with no Django imports, so it can be tested alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TypeVar

__all__ = ["Attack", "find_attack", "hidden_groups", "protect"]

#: A group's name: (breakdown, name) in results, any tuple of strings in tests.
Key = tuple[str, ...]
G = TypeVar("G", bound=Key)
C = TypeVar("C", bound=Key)

# Nodes a single search may visit before it gives up and hides one more group instead.
SEARCH_BUDGET = 200_000


@dataclass(frozen=True)
class Attack:
    """A set of atoms an attacker can derive, and the shown rows used to derive it.

    ``atoms`` index the ``counts`` given to :func:`find_attack`; ``respondents``
    is how many answered in them (fewer than the floor); ``rows`` index the
    shown rows with a non-zero coefficient in one way to derive the set.
    """

    atoms: frozenset[int]
    respondents: int
    rows: tuple[int, ...]


class _TooComplex(Exception):
    """The search outgrew its budget."""


def _rref(matrix: Sequence[Sequence[int]]) -> tuple[list[list[int]], list[int]]:
    """Reduced row echelon form and pivot columns, in exact whole-number arithmetic.

    Each row is kept divided by the greatest common divisor of its entries,
    which is many times faster than fractions; row i of the true reduced form
    is the returned row i divided by its entry at pivots[i].
    """
    rows = [list(r) for r in matrix]
    width = len(rows[0]) if rows else 0
    pivots: list[int] = []
    top = 0
    for col in range(width):
        pick = next((i for i in range(top, len(rows)) if rows[i][col] != 0), None)
        if pick is None:
            continue
        rows[top], rows[pick] = rows[pick], rows[top]
        head = rows[top]
        lead = head[col]
        for i, row in enumerate(rows):
            factor = row[col]
            if i == top or factor == 0:
                continue
            row = [lead * x - factor * y for x, y in zip(row, head, strict=True)]
            common = math.gcd(*row)
            rows[i] = [x // common for x in row] if common > 1 else row
        pivots.append(col)
        top += 1
        if top == len(rows):
            break
    return rows[:top], pivots


def _solve(rows: Sequence[Sequence[int]], target: Sequence[int]) -> list[Fraction]:
    """Coefficients a with sum a_i · rows[i] = target (target is known to be in the span)."""
    width = len(rows)
    augmented = [[rows[i][j] for i in range(width)] + [target[j]] for j in range(len(target))]
    reduced, pivots = _rref(augmented)
    coefficients = [Fraction(0)] * width
    for row, pivot in zip(reduced, pivots, strict=True):
        if pivot < width:
            coefficients[pivot] = Fraction(row[width], row[pivot])
    return coefficients


def find_attack(counts: Sequence[int], rows: Sequence[Sequence[int]], floor: int) -> Attack | None:
    """A non-empty union of atoms with fewer than ``floor`` respondents in the rows' span.

    ``counts`` are the respondents per atom (0 allowed) and ``rows`` the shown
    rows as 0/1 vectors over the same atoms. Atoms are assumed distinct (no
    two with the same membership in every row); :func:`protect` merges cells
    into atoms before calling this. Returns None when no such set exists.

    How: only atoms with fewer than ``floor`` respondents ("small") can be in
    such a set. Reduce the rows to echelon form with the other atoms' columns
    first: the span's vectors that are zero on every other atom are exactly the
    combinations of the reduced rows whose pivot is a small atom. Each such
    vector is fixed by its values on those pivots, which must be 0 or 1; the
    search tries sets of pivots, pruning any that would push a value outside
    0..1 or the respondents to the floor.
    """
    width = len(counts)
    small = [a for a in range(width) if counts[a] < floor]
    if not small:
        return None
    order = [a for a in range(width) if counts[a] >= floor] + small
    first_small = width - len(small)
    reduced, pivots = _rref([[row[a] for a in order] for row in rows])
    # Rows whose pivot is a small atom, restricted to the small atoms' columns.
    basis = [
        (pivot - first_small, [Fraction(x, row[pivot]) for x in row[first_small:]])
        for row, pivot in zip(reduced, pivots, strict=True)
        if pivot >= first_small
    ]
    chosen_pivots = [p for p, _ in basis]
    others = [c for c in range(len(small)) if c not in chosen_pivots]
    # Whole numbers for speed: every coefficient times the common denominator, so a
    # value of 0 or 1 reads 0 or `scale`.
    exact = [[row[c] for _, row in basis] for c in others]
    scale = math.lcm(*(x.denominator for column in exact for x in column)) if exact else 1
    coef = [[int(x * scale) for x in column] for column in exact]
    steps = len(basis)
    suffix_lo = [[0] * (steps + 1) for _ in others]
    suffix_hi = [[0] * (steps + 1) for _ in others]
    for i, column in enumerate(coef):
        for j in range(steps - 1, -1, -1):
            suffix_lo[i][j] = suffix_lo[i][j + 1] + min(column[j], 0)
            suffix_hi[i][j] = suffix_hi[i][j + 1] + max(column[j], 0)
    visited = 0

    def search(start: int, chosen: list[int], people: int, values: list[int]) -> list[int]:
        nonlocal visited
        for j in range(start, steps):
            visited += 1
            if visited > SEARCH_BUDGET:
                raise _TooComplex
            added = people + counts[small[chosen_pivots[j]]]
            if added >= floor:
                continue
            new = [v + column[j] for v, column in zip(values, coef, strict=True)]
            if any(
                v + suffix_lo[i][j + 1] > scale or v + suffix_hi[i][j + 1] < 0
                for i, v in enumerate(new)
            ):
                continue
            picked = [*chosen, chosen_pivots[j]]
            if all(v == 0 or v == scale for v in new):
                extra = [others[i] for i, v in enumerate(new) if v == scale]
                if added + sum(counts[small[c]] for c in extra) < floor:
                    return picked + extra
            found = search(j + 1, picked, added, new)
            if found:
                return found
        return []

    try:
        found = search(0, [], 0, [0] * len(others))
    except _TooComplex:
        return Attack(atoms=frozenset(), respondents=0, rows=tuple(range(len(rows))))
    if not found:
        return None
    atoms = frozenset(small[c] for c in found)
    target = [1 if a in atoms else 0 for a in range(width)]
    coefficients = _solve(rows, target)
    return Attack(
        atoms=atoms,
        respondents=sum(counts[a] for a in atoms),
        rows=tuple(i for i, c in enumerate(coefficients) if c != 0),
    )


def protect(counts: Sequence[int], groups: Mapping[G, Iterable[int]], floor: int) -> set[G]:
    """The groups to hide so no small set of cells can be derived from the rest.

    ``counts`` are respondents per cell (0 allowed: a cell of invited members
    nobody from answered); ``groups`` maps each candidate group to the cells it
    covers. The round's total is treated as always shown when at least
    ``floor`` answered; below that every group is hidden. Group keys must be
    sortable: they break ties between equally small groups.
    """
    if isinstance(floor, bool) or not isinstance(floor, int) or floor < 1:
        raise ValueError(
            f"The anonymity floor must be a whole number of at least 1; got {floor!r}."
        )
    if any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in counts):
        raise ValueError("Every cell's count must be a whole number of 0 or more.")
    members = {key: frozenset(cells) for key, cells in groups.items()}
    size = {key: sum(counts[c] for c in cells) for key, cells in members.items()}
    if sum(counts) < floor:
        return set(members)
    hidden = {key for key, n in size.items() if n < floor}
    while True:
        shown = sorted((key for key in members if key not in hidden), key=_order(size))
        # Cells in the same shown groups form one atom: nothing shown can tell them apart.
        atoms: dict[tuple[bool, ...], int] = {}
        atom_of = []
        for cell in range(len(counts)):
            pattern = tuple(cell in members[key] for key in shown)
            atom_of.append(atoms.setdefault(pattern, len(atoms)))
        atom_counts = [0] * len(atoms)
        for cell, atom in enumerate(atom_of):
            atom_counts[atom] += counts[cell]
        rows = [[1 if pattern[i] else 0 for pattern in atoms] for i in range(len(shown))]
        rows.append([1] * len(atoms))  # the total
        attack = find_attack(atom_counts, rows, floor)
        if attack is None:
            return hidden
        used = [shown[i] for i in attack.rows if i < len(shown)] or shown
        if not used:
            return hidden
        hidden.add(min(used, key=_order(size)))


def _order(size: Mapping[G, int]) -> Callable[[G], tuple[int, G]]:
    """Smallest group first, then by key, so every choice is repeatable."""
    return lambda key: (size[key], key)


def hidden_groups(
    cells: Mapping[C, int],
    breakdowns: Sequence[str],
    groups: Iterable[tuple[str, str]],
    floor: int,
) -> set[tuple[str, str]]:
    """:func:`protect` for cells named by their value in each breakdown.

    ``cells`` maps (side, sector, organisation) — in ``breakdowns`` order — to
    respondents (0 for invited cells nobody answered from); ``groups`` are the
    (breakdown, name) pairs that could be shown. A group covers the cells whose
    value in its breakdown is its name.
    """
    keys = list(cells)
    position = {by: i for i, by in enumerate(breakdowns)}
    members: dict[tuple[str, str], list[int]] = {
        (by, name): [c for c, cell in enumerate(keys) if cell[position[by]] == name]
        for by, name in groups
    }
    return protect([cells[k] for k in keys], members, floor)
