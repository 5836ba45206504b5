"""A measure's trend as server-side SVG: its values over time and the line to its targets.

The rules of the health-check charts apply (see ``healthcheck/charts.py``):
every text escaped through ``format_html``; no ``style`` attribute or element,
because the Content-Security-Policy forbids inline styles, so colours are
presentation attributes; colour is never the only cue (the target line is
dashed, targets are squares, values are dots); ``role="img"`` with a title and
a description. The page puts the numbers in a table next to the chart.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from partnerwell.healthcheck.charts import FONT_FAMILY, MUTED_COLOUR, TEXT_COLOUR

__all__ = ["trend_chart"]

WIDTH = 640
HEIGHT = 320
LEFT = 76
RIGHT = 620
TOP = 44
BOTTOM = 270
ACTUAL_COLOUR = "#1d70b8"
TARGET_COLOUR = "#0b0c0c"
GRID_COLOUR = "#dddddd"

Point = tuple[dt.date, float]


def _num(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _safe_id(chart_id: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", str(chart_id)).strip("-")
    return cleaned if cleaned and cleaned[0].isalpha() else f"chart-{cleaned or 'x'}"


def _value(value: float, unit: str) -> str:
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0").rstrip(".")
    if not unit:
        return text
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}"


def _tick(value: float, unit: str) -> str:
    """A short axis label: 1.5bn, 250k; the exact values are in the table."""
    size = abs(value)
    for limit, suffix in ((1e12, "tn"), (1e9, "bn"), (1e6, "m"), (1e4, "k")):
        if size >= limit:
            text = f"{value / limit:.1f}".removesuffix(".0") + suffix
            return text + unit if unit == "%" else text
    return _value(round(value, 10), unit)


def _day(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def _join(parts: Iterable[SafeString]) -> SafeString:
    return format_html_join("", "{}", ((p,) for p in parts))


def _nice_step(span: float, ticks: int = 5) -> float:
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def _value_axis(values: Sequence[float]) -> tuple[float, float, list[float]]:
    low, high = min(values), max(values)
    if high == low:
        pad = abs(high) * 0.1 or 1.0
        low, high = low - pad, high + pad
    # Counts and rates usually start at zero; start there when it squeezes the data little.
    if low > 0 and low < (high - low) * 0.5:
        low = 0.0
    step = _nice_step(high - low)
    bottom = math.floor(low / step) * step
    top = math.ceil(high / step) * step
    ticks = [bottom + i * step for i in range(round((top - bottom) / step) + 1)]
    return bottom, top, ticks


def _month_ticks(first: dt.date, last: dt.date) -> list[dt.date]:
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    step = next((s for s in (1, 3, 6, 12, 24, 60, 120, 300) if months / s <= 8), 600)
    # Ticks on the first of a month that is a multiple of the step (January for years).
    index = first.year * 12 + first.month - 1
    index += -index % step
    ticks: list[dt.date] = []
    while True:
        day = dt.date(index // 12, index % 12 + 1, 1)
        if day > last:
            return ticks
        if day >= first:
            ticks.append(day)
        index += step


def _tick_label(day: dt.date, ticks: Sequence[dt.date]) -> str:
    yearly = len(ticks) > 1 and all(t.month == 1 for t in ticks)
    return str(day.year) if yearly else f"{day:%b %Y}"


def _summary(
    points: Sequence[Point], targets: Sequence[Point], baseline: Point | None, unit: str
) -> str:
    sentences = []
    if points:
        first, last = points[0], points[-1]
        sentences.append(
            f"{len(points)} value{'s' if len(points) != 1 else ''} from {_day(first[0])} to "
            f"{_day(last[0])}. First {_value(first[1], unit)}, latest {_value(last[1], unit)}."
        )
        high = max(points, key=lambda p: p[1])
        low = min(points, key=lambda p: p[1])
        if high is not low:
            sentences.append(
                f"Highest {_value(high[1], unit)} ({_day(high[0])}), lowest "
                f"{_value(low[1], unit)} ({_day(low[0])})."
            )
    else:
        sentences.append("No values yet.")
    if baseline:
        sentences.append(f"Baseline {_value(baseline[1], unit)} on {_day(baseline[0])}.")
    if targets:
        sentences.append(
            "Targets: "
            + "; ".join(f"{_value(v, unit)} by {_day(d)}" for d, v in targets)
            + ". The dashed line joins the baseline to the targets."
        )
    return " ".join(sentences)


def trend_chart(
    points: Sequence[Point],
    targets: Sequence[Point],
    *,
    title: str,
    chart_id: str,
    unit: str = "",
    baseline: Point | None = None,
) -> SafeString:
    """A line of values over time, with a dashed line from the baseline through the targets.

    ``points`` and ``targets`` are (date, value) pairs; both are sorted here.
    """
    cid = _safe_id(chart_id)
    points = sorted(points)
    targets = sorted(targets)
    plan = [baseline, *[t for t in targets if t[0] > baseline[0]]] if baseline else list(targets)
    everything = [*points, *targets, *([baseline] if baseline else [])]
    parts: list[SafeString] = [_legend()]
    if not everything:
        parts.append(
            format_html(
                '<text x="{}" y="{}" fill="{}">No values or targets yet.</text>',
                LEFT,
                _num((TOP + BOTTOM) / 2),
                MUTED_COLOUR,
            )
        )
        return _svg(cid, title, "No values or targets yet.", parts)

    first = min(d for d, _ in everything)
    last = max(d for d, _ in everything)
    if first == last:
        first, last = first - dt.timedelta(days=15), last + dt.timedelta(days=15)
    span = (last - first).days
    low, high, value_ticks = _value_axis([v for _, v in everything])

    def x(day: dt.date) -> float:
        return LEFT + (RIGHT - LEFT) * (day - first).days / span

    def y(value: float) -> float:
        return BOTTOM - (BOTTOM - TOP) * (value - low) / (high - low)

    for tick in value_ticks:
        parts.append(
            format_html(
                '<line class="pw-chart-grid" x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" '
                'stroke-width="1"/><text class="pw-chart-tick" x="{}" y="{}" '
                'text-anchor="end" font-size="11" fill="{}">{}</text>',
                LEFT,
                _num(y(tick)),
                RIGHT,
                _num(y(tick)),
                GRID_COLOUR,
                LEFT - 6,
                _num(y(tick) + 4),
                MUTED_COLOUR,
                # Ticks carry a short unit (%); a longer one is written once above the axis.
                _tick(tick, unit if len(unit) <= 2 else ""),
            )
        )
    if len(unit) > 2:
        parts.append(
            format_html(
                '<text class="pw-chart-unit" x="8" y="{}" font-size="11" fill="{}">{}</text>',
                TOP - 14,
                MUTED_COLOUR,
                unit,
            )
        )
    date_ticks = _month_ticks(first, last)
    for day_tick in date_ticks:
        parts.append(
            format_html(
                '<line class="pw-chart-grid" x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" '
                'stroke-width="1"/><text class="pw-chart-tick" x="{}" y="{}" '
                'text-anchor="middle" font-size="11" fill="{}">{}</text>',
                _num(x(day_tick)),
                BOTTOM,
                _num(x(day_tick)),
                BOTTOM + 5,
                MUTED_COLOUR,
                _num(x(day_tick)),
                BOTTOM + 19,
                MUTED_COLOUR,
                _tick_label(day_tick, date_ticks),
            )
        )
    parts.append(
        format_html(
            '<line class="pw-chart-axis" x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}"/>',
            LEFT,
            BOTTOM,
            RIGHT,
            BOTTOM,
            MUTED_COLOUR,
        )
    )
    if len(plan) > 1:
        parts.append(
            format_html(
                '<polyline class="pw-chart-target-line" points="{}" fill="none" stroke="{}" '
                'stroke-width="2" stroke-dasharray="6 4"/>',
                " ".join(f"{_num(x(d))},{_num(y(v))}" for d, v in plan),
                TARGET_COLOUR,
            )
        )
    if baseline:
        parts.append(
            format_html(
                '<g class="pw-chart-baseline"><title>Baseline: {} on {}</title>'
                '<circle cx="{}" cy="{}" r="5" fill="#ffffff" stroke="{}" stroke-width="2"/></g>',
                _value(baseline[1], unit),
                _day(baseline[0]),
                _num(x(baseline[0])),
                _num(y(baseline[1])),
                TARGET_COLOUR,
            )
        )
    for day, value in targets:
        parts.append(
            format_html(
                '<g class="pw-chart-target"><title>Target: {} by {}</title>'
                '<rect x="{}" y="{}" width="10" height="10" fill="#ffffff" stroke="{}" '
                'stroke-width="2"/></g>',
                _value(value, unit),
                _day(day),
                _num(x(day) - 5),
                _num(y(value) - 5),
                TARGET_COLOUR,
            )
        )
    if len(points) > 1:
        parts.append(
            format_html(
                '<polyline class="pw-chart-actual-line" points="{}" fill="none" stroke="{}" '
                'stroke-width="2.5"/>',
                " ".join(f"{_num(x(d))},{_num(y(v))}" for d, v in points),
                ACTUAL_COLOUR,
            )
        )
    for day, value in points:
        parts.append(
            format_html(
                '<g class="pw-chart-point"><title>{}: {}</title>'
                '<circle cx="{}" cy="{}" r="3.5" fill="{}"/></g>',
                _day(day),
                _value(value, unit),
                _num(x(day)),
                _num(y(value)),
                ACTUAL_COLOUR,
            )
        )
    if points:
        day, value = points[-1]
        # The label sits on the side of the latest point with more room.
        anchor = "end" if x(day) > (LEFT + RIGHT) / 2 else "start"
        parts.append(
            format_html(
                '<text class="pw-chart-value" x="{}" y="{}" text-anchor="{}" '
                'font-weight="bold" fill="{}">{}</text>',
                _num(x(day)),
                _num(max(y(value) - 9, TOP - 2)),
                anchor,
                ACTUAL_COLOUR,
                _value(value, unit),
            )
        )
    return _svg(cid, title, _summary(points, targets, baseline, unit), parts)


def _legend() -> SafeString:
    return format_html(
        '<g class="pw-chart-legend"><line x1="{}" y1="14" x2="{}" y2="14" stroke="{}" '
        'stroke-width="2.5"/><circle cx="{}" cy="14" r="3.5" fill="{}"/>'
        '<text x="{}" y="18">Actual values</text>'
        '<line x1="{}" y1="14" x2="{}" y2="14" stroke="{}" stroke-width="2" '
        'stroke-dasharray="6 4"/><rect x="{}" y="9" width="10" height="10" fill="#ffffff" '
        'stroke="{}" stroke-width="2"/><text x="{}" y="18">Baseline to targets</text></g>',
        LEFT,
        LEFT + 28,
        ACTUAL_COLOUR,
        LEFT + 14,
        ACTUAL_COLOUR,
        LEFT + 36,
        LEFT + 170,
        LEFT + 198,
        TARGET_COLOUR,
        LEFT + 179,
        TARGET_COLOUR,
        LEFT + 206,
    )


def _svg(chart_id: str, title: str, desc: str, parts: list[SafeString]) -> SafeString:
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="pw-chart pw-chart-trend" id="{}" '
        'role="img" aria-labelledby="{}-title {}-desc" viewBox="0 0 {} {}" width="100%" '
        'preserveAspectRatio="xMinYMin meet" font-family="{}" font-size="12" fill="{}">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}</svg>',
        chart_id,
        chart_id,
        chart_id,
        WIDTH,
        HEIGHT,
        FONT_FAMILY,
        TEXT_COLOUR,
        chart_id,
        title,
        chart_id,
        desc,
        _join(parts),
    )
