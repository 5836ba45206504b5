"""Template tags for health-check results: the SVG charts and the words around numbers.

Load with ``{% load healthcheck_charts %}``. The chart tags are thin wrappers
round :mod:`partnerwell.healthcheck.charts`; the filters format numbers the
same way everywhere (pages, print, PDF).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from partnerwell.healthcheck import charts, scoring

register = template.Library()

BREAKDOWN_TITLES = {
    "side": "By side",
    "sector": "By sector",
    "organisation": "By organisation",
}
#: Print tables of group scores hold this many groups side by side, then start again.
GROUP_COLUMNS = 5


@register.simple_tag
def score_bars(rows: list[dict[str, Any]], title: str = "", chart_id: str = "scores") -> SafeString:
    """``{% score_bars area.principles|bar_rows title=area.title chart_id="area-1" %}``"""
    return charts.score_bars(list(rows), title=title, chart_id=chart_id)


@register.simple_tag
def distribution_bar(distribution: list[dict[str, Any]], label: str = "") -> SafeString:
    """``{% distribution_bar statement.distribution label=statement.text %}``"""
    return charts.distribution_bar(list(distribution), label=label)


@register.simple_tag
def group_bars(
    principles: list[dict[str, Any]],
    groups: list[dict[str, Any]],
    title: str = "",
    chart_id: str = "groups",
) -> SafeString:
    """``{% group_bars breakdown.principles breakdown.groups title=... chart_id=... %}``"""
    return charts.group_bars(list(principles), list(groups), title=title, chart_id=chart_id)


@register.filter
def bar_rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Areas or principles from the results as the rows :func:`charts.score_bars` draws."""
    return [
        {
            "label": item.get("title") or item.get("key", ""),
            "score": item.get("score"),
            "band": item.get("band"),
            "disputed": bool(item.get("disputed")),
        }
        for item in items or []
    ]


@register.filter
def band_label(band: str | None) -> str:
    """ "strength" becomes "Strength"; no band becomes "No score"."""
    return charts.BAND_WORDS.get(band or "", "No score")


@register.filter
def score(value: float | None) -> str:
    """A score in whole points ("72"), or an en dash when there is none."""
    return charts.format_score(value)


@register.filter
def decimal1(value: float | None) -> str:
    """A number with one decimal place ("12.5"), or an en dash when there is none."""
    return "\u2013" if value is None else f"{value:.1f}"


@register.filter
def signed(value: float | None) -> str:
    """A change in points with its sign ("+5.2", "\u22123.0"), or an en dash."""
    if value is None:
        return "\u2013"
    if round(value, 1) == 0:
        return "0.0"
    return f"+{value:.1f}" if value > 0 else f"\u2212{abs(value):.1f}"


@register.filter
def p_value(value: float | None) -> str:
    """A p-value to three places, or "< 0.001"."""
    if value is None:
        return "\u2013"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


@register.simple_tag
def breakdowns(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The results' groups, one entry per breakdown, ready for a chart and tables.

    ``{% breakdowns results as items %}`` gives for each breakdown: ``by``,
    ``title``, ``principles`` (key and title), ``groups`` (all, in order),
    ``shown`` and ``hidden`` groups, and ``tables``: the shown groups in slices
    of a few columns, each with a row of scores per principle, so that a table
    fits across a printed page.
    """
    areas = [
        {
            "key": area["key"],
            "title": area["title"],
            "principles": [
                {"key": p["key"], "title": p["title"]} for p in area.get("principles") or []
            ],
        }
        for area in results.get("areas") or []
    ]
    principles = [p for area in areas for p in area["principles"]]
    by_breakdown: dict[str, dict[str, Any]] = {}
    for g in results.get("groups") or []:
        item = by_breakdown.setdefault(
            g["by"],
            {
                "by": g["by"],
                "title": BREAKDOWN_TITLES.get(g["by"], str(g["by"]).title()),
                "areas": areas,
                "principles": principles,
                "groups": [],
            },
        )
        item["groups"].append(g)
    items = list(by_breakdown.values())
    for item in items:
        shown = [g for g in item["groups"] if not g.get("suppressed")]
        item["shown"] = shown
        # An area with many principles and many groups is drawn as several charts,
        # each short enough to fit on a printed page.
        per_chart = charts.group_bars_per_chart(item["groups"])
        item["charts"] = [
            {
                "title": area["title"],
                "key": f"{area['key']}-{start // per_chart + 1}",
                "principles": area["principles"][start : start + per_chart],
            }
            for area in areas
            for start in range(0, len(area["principles"]), per_chart)
        ]
        item["hidden"] = [g for g in item["groups"] if g.get("suppressed")]
        item["tables"] = []
        for start in range(0, len(shown), GROUP_COLUMNS):
            columns = shown[start : start + GROUP_COLUMNS]
            scores = [{p["key"]: p["score"] for p in g.get("principles") or []} for g in columns]
            item["tables"].append(
                {
                    "groups": columns,
                    "rows": [
                        {"title": p["title"], "scores": [s.get(p["key"]) for s in scores]}
                        for p in principles
                    ],
                }
            )
    return items


@register.simple_tag
def scoring_rules() -> dict[str, float]:
    """The thresholds behind the words, so explanations never drift from the code."""
    return {
        "strength": scoring.BAND_STRENGTH,
        "developing": scoring.BAND_DEVELOPING,
        "disputed_below": scoring.DISPUTED_BELOW,
        "disputed_min_n": scoring.DISPUTED_MIN_N,
        "gap": scoring.GAP_THRESHOLD,
    }
