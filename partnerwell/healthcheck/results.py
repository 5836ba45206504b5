"""A round's results, computed from SQL aggregates in a fixed number of queries.

The arithmetic lives in scoring.py (pure functions); this module only asks the
database for COUNT, SUM and SUM of squares and assembles the answer. Nothing
here loops over individual ratings.
"""

from __future__ import annotations

import builtins
from collections import defaultdict
from typing import Any

from django.db import connection
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from partnerwell.core.models import Sector
from partnerwell.healthcheck.access import results_visible
from partnerwell.healthcheck.disclosure import hidden_groups
from partnerwell.healthcheck.evidence import evidence_for
from partnerwell.healthcheck.models import (
    Framework,
    Invitation,
    Rating,
    Response,
    Round,
    Statement,
)
from partnerwell.healthcheck.scoring import (
    DONT_KNOW_LABEL,
    SCALES,
    GroupStats,
    StatementAgg,
    band,
    combine,
    compare_rounds,
    group_gaps,
    principle_result,
    statement_result,
)
from partnerwell.healthcheck.services import round_seal_due

BREAKDOWNS = ("side", "sector", "organisation")


def _round_number(value: float | None) -> float | None:
    """For display only: every score, band and mean is computed from unrounded values."""
    return None if value is None else builtins.round(value, 1)


def _group_label(by: str, name: str) -> str:
    if not name:
        return "Not recorded"
    if by == "sector":
        return str(Sector(name).label) if name in Sector.values else name
    return name


def _statement_stats(
    round: Round,
) -> tuple[dict[int, StatementAgg], dict[int, dict[int | None, int]]]:
    """COUNT, SUM and SUM of squares per statement and answer, in one query.

    The rows number at most statements × answer points, whatever the number of
    respondents; adding them up per statement is a few hundred additions.
    """
    sums: dict[int, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0])
    distribution: dict[int, dict[int | None, int]] = defaultdict(dict)
    rows = (
        Rating.objects.filter(round=round)
        .values("statement_id", "raw")
        .annotate(c=Count("id"), total=Sum("value"), total_sq=Sum(F("value") * F("value")))
    )
    for row in rows:
        entry = sums[row["statement_id"]]
        distribution[row["statement_id"]][row["raw"]] = row["c"]
        if row["raw"] is None:
            entry[3] += row["c"]
        else:
            entry[0] += row["c"]
            entry[1] += row["total"] or 0.0
            entry[2] += row["total_sq"] or 0.0
    stats = {
        key: StatementAgg(n=int(n), total=total, total_sq=total_sq, dont_know=int(dk))
        for key, (n, total, total_sq, dk) in sums.items()
    }
    return stats, distribution


def previous_round(round: Round) -> Round | None:
    """The latest earlier closed round of the same framework (any version) for the partnership.

    A round still open is never compared with: its results are not shown (access.results_visible).
    """
    now = timezone.now()
    return (
        Round.objects.filter(
            partnership_id=round.partnership_id,
            framework__scope=round.framework.scope,
            framework__key=round.framework.key,
            opens_at__lt=round.opens_at,
        )
        .filter(Q(closed_early_at__lte=now) | Q(closes_at__lte=now))
        .exclude(pk=round.pk)
        .select_related("framework")
        .order_by("-opens_at")
        .first()
    )


def _respondent_principle_stats(
    round_ids: list[int], statement_keys: set[str]
) -> dict[int, dict[str, GroupStats]]:
    """Per round and principle key: COUNT, SUM, SUM of squares of respondents' principle scores.

    Each respondent's principle score is the mean of their answers to the
    statements both rounds share (matched by stable key across versions).
    """
    rating = Rating._meta.db_table
    statement = Statement._meta.db_table
    principle = Statement._meta.get_field("principle").related_model._meta.db_table  # type: ignore[union-attr]
    round_marks = ", ".join(["%s"] * len(round_ids))
    key_marks = ", ".join(["%s"] * len(statement_keys))
    sql = f"""
        SELECT t.round_id, p.key, COUNT(*), SUM(t.ps), SUM(t.ps * t.ps)
        FROM (
            SELECT r.round_id, r.response_id, r.principle_id, AVG(r.value) AS ps
            FROM {rating} r JOIN {statement} s ON s.id = r.statement_id
            WHERE r.round_id IN ({round_marks}) AND r.value IS NOT NULL
              AND s.key IN ({key_marks})
            GROUP BY r.round_id, r.response_id, r.principle_id
        ) t JOIN {principle} p ON p.id = t.principle_id
        GROUP BY t.round_id, p.key
    """  # noqa: S608 - table names come from our models; values are parameters
    stats: dict[int, dict[str, GroupStats]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*round_ids, *sorted(statement_keys)])
        for round_id, key, n, total, total_sq in cursor.fetchall():
            stats[round_id][key] = GroupStats(n=n, total=float(total), total_sq=float(total_sq))
    return stats


def round_results(round: Round, *, headline: bool = False) -> dict[str, Any]:
    """Everything the results page, the API and the exports show for a round.

    headline=True leaves out groups, gaps, comments and evidence, for the
    partnership page, which shows only the scores and the change.
    """
    # A closed round's held answers go into the results (in random order) before any reading.
    round_seal_due(round)
    if not results_visible(round):
        return _pending(round)
    framework = round.framework
    statements = list(
        Statement.objects.filter(framework=framework).select_related("principle__area")
    )
    # One pass over the round's ratings gives both the statement sums and the answer counts.
    stats, distribution = _statement_stats(round)
    combos = list(Response.objects.filter(round=round).values(*BREAKDOWNS).annotate(n=Count("id")))
    responded = sum(c["n"] for c in combos)
    floor = round.anonymity_floor
    visible = responded >= floor
    invited = round.invited_count

    areas, overall, exact = _score_items(statements, stats, distribution, visible)
    change = _change(round, statements, visible)
    groups: list[dict[str, Any]] = []
    gaps: list[dict[str, Any]] = []
    comments: list[dict[str, Any]] = []
    evidence: list[dict[str, Any]] = []
    if not headline:
        groups, gaps = _groups(round, statements, combos, floor, visible)
        comments = _comments(round, framework, visible)
        as_of = min(timezone.localdate(), timezone.localdate(round.effective_close))
        evidence = evidence_for(round.partnership, areas, as_of, exact) if visible else []
    return {
        "round": _summary(round, invited, responded),
        "anonymity_floor": floor,
        "pending": False,
        "suppressed": not visible,
        "overall": {"score": _round_number(overall), "band": band(overall)},
        "areas": areas,
        "groups": groups,
        "gaps": gaps,
        "change": change,
        "comments": comments,
        "evidence": evidence,
    }


def _summary(round: Round, invited: int, responded: int) -> dict[str, Any]:
    framework = round.framework
    return {
        "id": round.pk,
        "title": round.title,
        "framework": {
            "key": framework.key,
            "version": framework.version,
            "title": framework.title,
        },
        "status": round.status,
        "closes_at": round.effective_close,
        "invited": invited,
        "responded": responded,
    }


def _pending(round: Round) -> dict[str, Any]:
    """What anyone may see of a round not yet closed: how many have answered, nothing else.

    No score, answer count, group, gap, comment or change: compared before and
    after one person answers, any of them would give that person's answers away.
    """
    return {
        "round": _summary(round, round.invited_count, round.answered_count),
        "anonymity_floor": round.anonymity_floor,
        "pending": True,
        "suppressed": True,
        "overall": {"score": None, "band": None},
        "areas": [],
        "groups": [],
        "gaps": [],
        "change": {"previous_round": None, "principles": []},
        "comments": [],
        "evidence": [],
    }


def _score_items(
    statements: list[Statement],
    stats: dict[Any, StatementAgg],
    distribution: dict[int, dict[int | None, int]],
    visible: bool,
) -> tuple[list[dict[str, Any]], float | None, dict[str, float | None]]:
    """The areas with their principles and statements, the overall score, and each
    principle's unrounded score. Every level is computed from the unrounded level
    below, and every band from the unrounded score; rounding is for display only."""
    empty = StatementAgg(n=0, total=0.0, total_sq=0.0, dont_know=0)
    by_principle: dict[int, list[tuple[Statement, Any]]] = defaultdict(list)
    for s in statements:
        result = statement_result(stats.get(s.pk, empty) if visible else empty, s.scale)
        by_principle[s.principle_id].append((s, result))
    areas: dict[int, dict[str, Any]] = {}
    exact: dict[int, float | None] = {}
    for s in statements:
        principle = s.principle
        area = principle.area
        if area.pk not in areas:
            areas[area.pk] = {"key": area.key, "title": area.title, "principles": {}}
        principles = areas[area.pk]["principles"]
        if principle.pk in principles:
            continue
        items = by_principle[principle.pk]
        p_result = principle_result(r for _, r in items)
        exact[principle.pk] = p_result.score
        principles[principle.pk] = {
            "id": principle.pk,
            "key": principle.key,
            "title": principle.title,
            "score": _round_number(p_result.score),
            "band": p_result.band,
            "spread": _round_number(p_result.spread),
            "agreement": _round_number(p_result.agreement and p_result.agreement * 100),
            "disputed": p_result.disputed,
            "evidence_keys": list(principle.evidence),
            "statements": [
                _statement(st, r, distribution.get(st.pk, {}) if visible else {}) for st, r in items
            ],
        }
    scored: list[dict[str, Any]] = []
    area_scores: list[float | None] = []
    for entry in areas.values():
        listed = list(entry["principles"].values())
        score = combine(exact[p["id"]] for p in listed)
        area_scores.append(score)
        scored.append(
            {**entry, "score": _round_number(score), "band": band(score), "principles": listed}
        )
    overall = combine(area_scores)
    by_key = {p["key"]: exact[p["id"]] for a in scored for p in a["principles"]}
    return scored, overall, by_key


def _statement(s: Statement, r: Any, counts: dict[int | None, int]) -> dict[str, Any]:
    scale = SCALES[s.scale]
    labels = dict(scale.labels)
    if s.scale == "maturity" and s.anchors:
        labels = {int(k): v for k, v in s.anchors.items()}
    dist = [
        {"answer": a, "label": labels.get(a, str(a)), "count": counts.get(a, 0)}
        for a in scale.answers
    ]
    dist.append({"answer": None, "label": DONT_KNOW_LABEL, "count": counts.get(None, 0)})
    return {
        "id": s.pk,
        "key": s.key,
        "text": s.text,
        "scale": s.scale,
        "reverse": s.reverse,
        "n": r.n,
        "dont_know": r.dont_know,
        "score": _round_number(r.score),
        "band": r.band,
        "spread": _round_number(r.spread),
        "agreement": _round_number(r.agreement and r.agreement * 100),
        "disputed": r.disputed,
        "distribution": dist,
    }


def _groups(
    round: Round,
    statements: list[Statement],
    combos: list[dict[str, Any]],
    floor: int,
    visible: bool,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    principles = _principles(statements)
    principle_of = {s.pk: s.principle for s in statements}
    counts_by, hidden_by = _group_selection(round, combos, floor, visible)
    needed = any(set(c) - hidden_by[b] for b, c in counts_by.items())
    sums = _group_sums(round, needed)
    spreads = _group_respondent_stats(round, needed)

    groups: list[dict[str, Any]] = []
    gaps: list[dict[str, Any]] = []
    titles = {p.key: p.title for p in principles}
    shown_scores: dict[str, dict[str, dict[str, float | None]]] = {}
    shown_stats: dict[str, dict[str, dict[str, GroupStats]]] = {}
    for by, counts in counts_by.items():
        hidden = hidden_by[by]
        scores = {
            name: _group_principle_scores(sums[by].get(name, {}), principle_of, principles)
            for name in counts
            if name not in hidden
        }
        # Shown groups by size, then hidden ones by name: a hidden group's place says nothing.
        for name in sorted(
            counts, key=lambda g: (g in hidden, -counts[g] if g in scores else 0, g)
        ):
            groups.append(_group_entry(by, name, counts[name], scores.get(name), principles))
        shown_scores[by] = {_group_label(by, g): scores[g] for g in scores}
        shown_stats[by] = {_group_label(by, g): _sum_cells(spreads, by, g) for g in scores}
    # One family for the whole round: Holm's correction runs over every gap tested.
    for gap in group_gaps(shown_stats, shown_scores):
        gaps.append(
            {
                "by": gap.by,
                "principle": gap.principle,
                "principle_title": titles.get(gap.principle, gap.principle),
                "groups": [gap.group_a, gap.group_b],
                "difference": _round_number(gap.difference),
                "p_value": None if gap.p_value is None else builtins.round(gap.p_value, 4),
                "beyond_noise": True,
            }
        )
    return groups, gaps


def _sum_cells(
    spreads: dict[tuple[str, str, str], dict[str, GroupStats]], by: str, name: str
) -> dict[str, GroupStats]:
    """A group's respondent principle-score sums: the sums of its finest cells."""
    index = BREAKDOWNS.index(by)
    totals: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for cell, per_principle in spreads.items():
        if cell[index] != name:
            continue
        for key, st in per_principle.items():
            entry = totals[key]
            entry[0] += st.n
            entry[1] += st.total
            entry[2] += st.total_sq
    return {k: GroupStats(n=int(n), total=t, total_sq=sq) for k, (n, t, sq) in totals.items()}


def _group_respondent_stats(
    round: Round, needed: bool
) -> dict[tuple[str, str, str], dict[str, GroupStats]]:
    """Per (side, sector, organisation) and principle key: COUNT, SUM and SUM of squares
    of the respondents' principle scores, from one grouped query; the gap tests use them.

    A respondent's principle score is the mean of their own answers to the
    principle's statements ("don't know" left out).
    """
    if not needed:
        return {}
    rating = Rating._meta.db_table
    response = Response._meta.db_table
    principle = Statement._meta.get_field("principle").related_model._meta.db_table  # type: ignore[union-attr]
    sql = f"""
        WITH resp AS MATERIALIZED (
            SELECT id, side, sector, organisation FROM {response} WHERE round_id = %s
        )
        SELECT resp.side, resp.sector, resp.organisation, p.key,
               COUNT(*), SUM(t.ps), SUM(t.ps * t.ps)
        FROM (
            SELECT r.response_id, r.principle_id, AVG(r.value) AS ps
            FROM {rating} r
            WHERE r.round_id = %s AND r.value IS NOT NULL
            GROUP BY r.response_id, r.principle_id
        ) t
        JOIN resp ON resp.id = t.response_id
        JOIN {principle} p ON p.id = t.principle_id
        GROUP BY resp.side, resp.sector, resp.organisation, p.key
    """  # noqa: S608 - table names come from our models; values are parameters
    stats: dict[tuple[str, str, str], dict[str, GroupStats]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(sql, [round.pk, round.pk])
        for side, sector, organisation, key, n, total, total_sq in cursor.fetchall():
            stats[(side or "", sector or "", organisation or "")][key] = GroupStats(
                n=int(n), total=float(total), total_sq=float(total_sq)
            )
    return stats


def group_counts(round: Round) -> dict[str, list[tuple[str, int | None]]]:
    """Per breakdown, every listed group's label and count (None where hidden), by label.

    The same groups and the same hiding as the results, for the round page:
    showing a count there that the results hide would undo the results' check.
    """
    combos = list(Response.objects.filter(round=round).values(*BREAKDOWNS).annotate(n=Count("id")))
    floor = round.anonymity_floor
    visible = sum(c["n"] for c in combos) >= floor
    counts_by, hidden_by = _group_selection(round, combos, floor, visible)
    return {
        by: sorted(
            (_group_label(by, name), None if name in hidden_by[by] else n)
            for name, n in counts.items()
        )
        for by, counts in counts_by.items()
    }


def _audience(round: Round) -> set[tuple[str, str, str]]:
    """The (side, sector, organisation) of every invited member, whether they answered or not.

    Read from each invitation's membership as it is now: invitations keep no
    copy of the member's groups, and storing one beside "answered" would only
    add to what a database copy holds. A member who has since moved keeps
    their answers under the groups recorded at submission; those count in the
    round's total and in any listed group they match.
    """
    rows = (
        Invitation.objects.filter(round=round)
        .values_list(
            "membership__side__name",
            "membership__organisation__sector",
            "membership__organisation__name",
        )
        .distinct()
    )
    return {(side or "", sector or "", organisation or "") for side, sector, organisation in rows}


def _group_selection(
    round: Round, combos: list[dict[str, Any]], floor: int, visible: bool
) -> tuple[dict[str, dict[str, int]], dict[str, set[str]]]:
    """Per breakdown: every group to list with its respondents, and those to hide.

    The list comes from the invited members, not the responses, so which groups
    appear never depends on who answered. What is hidden is decided across all
    breakdowns at once (healthcheck.disclosure): no sum or difference of shown
    groups and the total can single out fewer than the floor, or nobody.
    """
    audience = _audience(round)
    cells: dict[tuple[str, ...], int] = dict.fromkeys(audience, 0)
    for combo in combos:
        cell = tuple(combo[by] or "" for by in BREAKDOWNS)
        cells[cell] = cells.get(cell, 0) + combo["n"]
    counts_by: dict[str, dict[str, int]] = {}
    for index, by in enumerate(BREAKDOWNS):
        names = {cell[index] for cell in audience}
        if not names or (by == "side" and names <= {""}):
            continue  # a partnership without sides has nothing to compare here
        counts_by[by] = {
            name: sum(n for cell, n in cells.items() if cell[index] == name) for name in names
        }
    candidates = [(by, name) for by, counts in counts_by.items() for name in counts]
    hidden = hidden_groups(cells, BREAKDOWNS, candidates, floor) if visible else set(candidates)
    hidden_by = {
        by: {name for name in counts if (by, name) in hidden} for by, counts in counts_by.items()
    }
    return counts_by, hidden_by


def _group_sums(round: Round, needed: bool) -> dict[str, dict[str, dict[int, tuple[int, float]]]]:
    """Per breakdown, group and statement: (answers, sum), from one grouped query.

    Filtering the responses by round as well as the ratings keeps the join to
    this round's responses, whatever else the database holds.
    """
    sums: dict[str, dict[str, dict[int, list[float]]]] = {
        by: defaultdict(lambda: defaultdict(lambda: [0, 0.0])) for by in BREAKDOWNS
    }
    if needed:
        for side, sector, organisation, statement_id, n, total in _group_rows(round):
            for by, name in zip(BREAKDOWNS, (side, sector, organisation), strict=True):
                entry = sums[by][name or ""][statement_id]
                entry[0] += n
                entry[1] += total or 0.0
    return {
        by: {g: {k: (int(v[0]), v[1]) for k, v in st.items()} for g, st in groups.items()}
        for by, groups in sums.items()
    }


def _group_rows(round: Round) -> list[tuple[Any, ...]]:
    """(side, sector, organisation, statement, answers, sum) for the round, in one statement.

    The round's responses are read first, into a materialised CTE, and joined
    to the round's ratings. Joining the two tables directly, each filtered by
    round, left PostgreSQL expecting one response where there are thousands, so
    it looped over the ratings once per response and slowed down as the
    database grew; the CTE keeps the work to this round's rows.
    """
    rating = Rating._meta.db_table
    response = Response._meta.db_table
    sql = f"""
        WITH resp AS MATERIALIZED (
            SELECT id, side, sector, organisation FROM {response} WHERE round_id = %s
        )
        SELECT resp.side, resp.sector, resp.organisation, r.statement_id,
               COUNT(r.value), SUM(r.value)
        FROM {rating} r JOIN resp ON resp.id = r.response_id
        WHERE r.round_id = %s
        GROUP BY resp.side, resp.sector, resp.organisation, r.statement_id
    """  # noqa: S608 - table names come from our models; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [round.pk, round.pk])
        return list(cursor.fetchall())


def _group_principle_scores(
    per_statement: dict[int, tuple[int, float]],
    principle_of: dict[int, Any],
    principles: list[Any],
) -> dict[str, float | None]:
    """A group's principle scores: the mean of its statement means, in framework order."""
    means: dict[int, list[float | None]] = defaultdict(list)
    for statement_id, (n, total) in per_statement.items():
        if n:
            means[principle_of[statement_id].pk].append(total / n)
    return {p.key: combine(means.get(p.pk, [])) for p in principles}


def _group_entry(
    by: str,
    name: str,
    n: int,
    scores: dict[str, float | None] | None,
    principles: list[Any],
) -> dict[str, Any]:
    suppressed = scores is None
    overall = None
    if scores is not None:
        by_area: dict[int, list[float | None]] = defaultdict(list)
        for p in principles:
            by_area[p.area_id].append(scores.get(p.key))
        overall = combine(combine(v) for v in by_area.values())
    return {
        "by": by,
        "name": _group_label(by, name),
        "n": None if suppressed else n,
        "suppressed": suppressed,
        "overall": None if suppressed else {"score": _round_number(overall), "band": band(overall)},
        "principles": [
            {
                "key": p.key,
                "score": None if scores is None else _round_number(scores.get(p.key)),
            }
            for p in principles
        ],
    }


def _principles(statements: list[Statement]) -> list[Any]:
    seen: dict[int, Any] = {}
    for s in statements:
        seen.setdefault(s.principle_id, s.principle)
    return list(seen.values())


def _change(round: Round, statements: list[Statement], visible: bool) -> dict[str, Any]:
    previous = previous_round(round)
    if previous is None:
        return {"previous_round": None, "principles": []}
    summary = {
        "id": previous.pk,
        "title": previous.title,
        "framework_version": previous.framework.version,
    }
    if not visible:
        return {"previous_round": summary, "principles": []}
    shared = set(
        Statement.objects.filter(framework=previous.framework).values_list("key", flat=True)
    ) & {s.key for s in statements}
    if not shared:
        return {"previous_round": summary, "principles": []}
    stats = _respondent_principle_stats([previous.pk, round.pk], shared)
    prev_stats = stats.get(previous.pk, {})
    # Rounds below the floor are never compared, so nothing is revealed by the difference.
    if (
        sum(
            1
            for _ in Response.objects.filter(round=previous).values("pk")[
                : previous.anonymity_floor
            ]
        )
        < previous.anonymity_floor
    ):
        return {"previous_round": summary, "principles": []}
    changes = compare_rounds(prev_stats, stats.get(round.pk, {}))
    titles = {s.principle.key: s.principle.title for s in statements}
    # The SQL groups in no useful order; show principles in the framework's order.
    order = {p.key: i for i, p in enumerate(_principles(statements))}
    return {
        "previous_round": summary,
        "principles": [
            {
                "key": key,
                "title": titles.get(key, key),
                "previous_score": _round_number(prev_stats[key].mean),
                "difference": _round_number(c.difference),
                "p_value": None if c.p_value is None else builtins.round(c.p_value, 4),
                "beyond_noise": c.beyond_noise,
            }
            for key, c in sorted(changes.items(), key=lambda kc: order.get(kc[0], len(order)))
        ],
    }


def _comments(round: Round, framework: Framework, visible: bool) -> list[dict[str, Any]]:
    if not visible or not round.ask_comments:
        return []
    areas = list(framework.areas.values_list("key", "title"))
    texts: dict[str, list[str]] = defaultdict(list)
    # Ordering by the random response id scatters comments away from submission order.
    for comments in (
        Response.objects.filter(round=round)
        .exclude(comments={})
        .order_by("id")
        .values_list("comments", flat=True)
    ):
        for key, text in comments.items():
            texts[key].append(text)
    return [
        {"area": key, "title": title, "comments": texts[key]} for key, title in areas if texts[key]
    ]
