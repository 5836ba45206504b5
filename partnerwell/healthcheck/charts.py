"""Health-check charts as server-side SVG: pure functions that return escaped markup.

The same markup goes into pages, print and PDFs (WeasyPrint draws inline SVG
itself), so the charts follow a few rules:

* every piece of text is escaped through ``format_html``;
* no ``style`` attribute and no ``<style>`` element, because the site's
  Content-Security-Policy forbids inline styles. Colours are presentation
  attributes (``fill``, ``stroke``), which WeasyPrint needs because it does not
  apply the page's stylesheets inside an inline SVG, plus classes that the
  site's CSS can use to override them;
* colour is never the only cue: every bar carries its number and band in words,
  and a disputed result says so in words next to a marker;
* each chart is ``role="img"`` with a ``<title>`` and a ``<desc>`` that
  summarise it. The full numbers belong in a data table next to the chart.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

__all__ = [
    "BAND_COLOURS",
    "BAND_WORDS",
    "distribution_bar",
    "format_score",
    "group_bars",
    "group_bars_per_chart",
    "score_bars",
]

#: Bar colours by band; "none" is for a score nobody gave.
BAND_COLOURS: Mapping[str, str] = {
    "strength": "#00703c",
    "developing": "#ffdd00",
    "concern": "#d4351c",
    "none": "#b1b4b6",
}
BAND_WORDS: Mapping[str, str] = {
    "strength": "Strength",
    "developing": "Developing",
    "concern": "Concern",
}
#: Colour-blind-safe colours (Okabe & Ito) for groups, all 3:1 or more against white.
GROUP_COLOURS: Sequence[str] = (
    "#0072b2",
    "#d55e00",
    "#009e73",
    "#cc79a7",
    "#000000",
    "#e69f00",
    "#56b4e9",
    "#7a5195",
)
DONT_KNOW_COLOUR = "#b1b4b6"
TEXT_COLOUR = "#0b0c0c"
MUTED_COLOUR = "#505a5f"
FONT_FAMILY = "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif"
DISPUTED_MARK = "\u25c6"  # a black diamond, in DejaVu Sans and every system font

# One width for every chart, so that charts on a page line up when scaled.
WIDTH = 640
PLOT_LEFT = 12
PLOT_RIGHT = 452
MAX_LABEL_CHARS = 90


def format_score(score: float | None) -> str:
    """A score for people: whole points, or an en dash for no score.

    Rounds down, so that the number never contradicts the band: 74.6 is
    "developing" and is shown as 74, not as 75.
    """
    if score is None:
        return "\u2013"
    # The small nudge keeps 74.99999999 (floating-point noise for 75) at 75.
    return str(math.floor(score + 1e-9))


def _num(value: float) -> str:
    """A coordinate with at most one decimal, no trailing zeros."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _x(score: float) -> float:
    clamped = min(max(score, 0.0), 100.0)
    return PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * clamped / 100.0


def _safe_id(chart_id: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", str(chart_id)).strip("-")
    return cleaned if cleaned and cleaned[0].isalpha() else f"chart-{cleaned or 'x'}"


def _shorten(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _join(parts: Iterable[SafeString]) -> SafeString:
    return format_html_join("", "{}", ((p,) for p in parts))


def _band_word(band: str | None) -> str:
    return BAND_WORDS.get(band or "", "No band")


def _svg(
    chart_id: str, height: float, title: str, desc: str, body: Iterable[SafeString], css: str
) -> SafeString:
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="pw-chart {}" id="{}" role="img" '
        'aria-labelledby="{}-title {}-desc" viewBox="0 0 {} {}" width="100%" '
        'preserveAspectRatio="xMinYMin meet" font-family="{}" font-size="12" fill="{}">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}</svg>',
        css,
        chart_id,
        chart_id,
        chart_id,
        WIDTH,
        _num(height),
        FONT_FAMILY,
        TEXT_COLOUR,
        chart_id,
        title,
        chart_id,
        desc,
        _join(body),
    )


def _backing(x: float, y: float, width: float, height: float) -> SafeString:
    """A white box behind a label, so that gridlines do not run through its text."""
    return format_html(
        '<rect class="pw-chart-backing" x="{}" y="{}" width="{}" height="{}" fill="#ffffff"/>',
        _num(x),
        _num(y),
        _num(width),
        _num(height),
    )


def _axis(top: float, bottom: float) -> list[SafeString]:
    """Gridlines at 0, 25 and 100, dashed reference lines at the band edges, labels below."""
    parts: list[SafeString] = []
    for tick in (0, 25, 50, 75, 100):
        x = _num(_x(tick))
        if tick in (50, 75):
            parts.append(
                format_html(
                    '<line class="pw-chart-reference" x1="{}" y1="{}" x2="{}" y2="{}" '
                    'stroke="{}" stroke-width="1" stroke-dasharray="4 3"/>',
                    x,
                    _num(top - 4),
                    x,
                    _num(bottom),
                    MUTED_COLOUR,
                )
            )
        else:
            parts.append(
                format_html(
                    '<line class="pw-chart-grid" x1="{}" y1="{}" x2="{}" y2="{}" '
                    'stroke="#dddddd" stroke-width="1"/>',
                    x,
                    _num(top),
                    x,
                    _num(bottom),
                )
            )
        parts.append(
            format_html(
                '<text class="pw-chart-tick" x="{}" y="{}" text-anchor="middle" '
                'font-size="11" fill="{}">{}</text>',
                x,
                _num(bottom + 14),
                MUTED_COLOUR,
                tick,
            )
        )
    for edge, word in ((50, "Developing from 50"), (75, "Strength from 75")):
        parts.append(
            format_html(
                '<text class="pw-chart-reference-label" x="{}" y="{}" text-anchor="middle" '
                'font-size="10" fill="{}">{}</text>',
                _num(_x(edge)),
                _num(top - 7),
                MUTED_COLOUR,
                word,
            )
        )
    parts.append(
        format_html(
            '<line class="pw-chart-axis" x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" '
            'stroke-width="1"/>',
            PLOT_LEFT,
            _num(bottom),
            PLOT_RIGHT,
            _num(bottom),
            MUTED_COLOUR,
        )
    )
    return parts


def _score_summary(rows: Sequence[Mapping[str, Any]]) -> str:
    scored = [r for r in rows if r.get("score") is not None]
    sentences = [
        f"Scores out of 100 for {len(rows)} item{'s' if len(rows) != 1 else ''}. "
        "Strength is 75 and above, developing 50 to 74, concern below 50."
    ]
    if scored:
        high = max(scored, key=lambda r: r["score"])
        low = min(scored, key=lambda r: r["score"])
        sentences.append(
            f"Highest: {high.get('label', '')}, {format_score(high['score'])}, "
            f"{_band_word(high.get('band')).lower()}."
        )
        if low is not high:
            sentences.append(
                f"Lowest: {low.get('label', '')}, {format_score(low['score'])}, "
                f"{_band_word(low.get('band')).lower()}."
            )
        counts = [
            f"{sum(1 for r in scored if r.get('band') == b)} {BAND_WORDS[b].lower()}"
            for b in BAND_WORDS
        ]
        sentences.append("In all: " + ", ".join(counts) + ".")
    disputed = sum(1 for r in rows if r.get("disputed"))
    if disputed:
        sentences.append(f"{disputed} disputed: people's answers disagreed widely.")
    missing = len(rows) - len(scored)
    if missing:
        sentences.append(f"{missing} with no answers.")
    return " ".join(sentences)


def score_bars(rows: list[dict[str, Any]], *, title: str, chart_id: str) -> SafeString:
    """A horizontal bar for each row's score out of 100, coloured and labelled by band.

    ``rows`` are dicts with ``label``, ``score`` (float or None), ``band`` and
    ``disputed``. Each label sits above its bar, so long principle names fit;
    the bar ends with its score and band in words, then "disputed" if it is.
    """
    cid = _safe_id(chart_id)
    top = 30.0
    row_height = 40.0
    bottom = top + row_height * max(len(rows), 1)
    # The axis goes first, so that bars and their labels are drawn over the gridlines.
    parts: list[SafeString] = _axis(top, bottom)
    if not rows:
        parts.append(
            format_html(
                '<text x="{}" y="{}" fill="{}">Nothing to show.</text>',
                PLOT_LEFT,
                _num(top + 24),
                MUTED_COLOUR,
            )
        )
    for i, row in enumerate(rows):
        y = top + i * row_height
        label = _shorten(row.get("label", ""))
        score = row.get("score")
        band = row.get("band") if score is not None else None
        parts.append(_backing(PLOT_LEFT, y + 2, 7 * len(label) + 4, 14))
        parts.append(
            format_html(
                '<text class="pw-chart-label" x="{}" y="{}" font-size="12">{}</text>',
                PLOT_LEFT,
                _num(y + 13),
                label,
            )
        )
        bar_y = y + 18
        if score is None:
            parts.append(_backing(PLOT_LEFT + 1, bar_y, 80, 16))
            parts.append(
                format_html(
                    '<text class="pw-chart-none" x="{}" y="{}" font-style="italic" '
                    'fill="{}">No answers</text>',
                    PLOT_LEFT + 2,
                    _num(bar_y + 12),
                    MUTED_COLOUR,
                )
            )
            continue
        end = _x(score)
        colour = BAND_COLOURS.get(band or "none", BAND_COLOURS["none"])
        tooltip = f"{label}: {format_score(score)} out of 100, {_band_word(band).lower()}"
        if row.get("disputed"):
            tooltip += ", disputed"
        parts.append(
            format_html(
                '<g class="pw-chart-bar pw-band-{}"><title>{}</title>'
                '<rect x="{}" y="{}" width="{}" height="16" fill="{}" stroke="{}" '
                'stroke-width="1"/></g>',
                band or "none",
                tooltip,
                PLOT_LEFT,
                _num(bar_y),
                _num(max(end - PLOT_LEFT, 1.5)),
                colour,
                TEXT_COLOUR,
            )
        )
        value = f"{format_score(score)} {_band_word(band)}"
        disputed = f"{DISPUTED_MARK} disputed" if row.get("disputed") else ""
        # A bold label is about 7.5 units a character at this size, a plain one 7.
        value_width = 7.5 * len(value)
        parts.append(_backing(end + 3, bar_y, value_width + 10 + 7 * len(disputed), 16))
        parts.append(
            format_html(
                '<text class="pw-chart-value" x="{}" y="{}" font-weight="bold">{}</text>',
                _num(end + 6),
                _num(bar_y + 12),
                value,
            )
        )
        if disputed:
            parts.append(
                format_html(
                    '<text class="pw-chart-disputed" x="{}" y="{}">{}</text>',
                    _num(end + 12 + value_width),
                    _num(bar_y + 12),
                    disputed,
                )
            )
    return _svg(cid, bottom + 22, title, _score_summary(rows), parts, "pw-chart-scores")


def _mix(light: tuple[int, int, int], dark: tuple[int, int, int], t: float) -> str:
    r, g, b = (round(a + (b - a) * t) for a, b in zip(light, dark, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def _answer_colours(points: int) -> list[tuple[str, str]]:
    """Light to dark blue for the answers in scale order, with a readable text colour.

    Blue, not red to green, because on a reverse-scored statement the top
    answer is the bad one: the shade shows where on the scale, not good or bad.
    """
    light, dark = (222, 235, 247), (8, 48, 107)
    colours = []
    for i in range(points):
        t = i / (points - 1) if points > 1 else 1.0
        colours.append((_mix(light, dark, t), "#ffffff" if t > 0.5 else TEXT_COLOUR))
    return colours


def distribution_bar(distribution: list[dict[str, Any]], *, label: str) -> SafeString:
    """A compact 100% bar of how many people gave each answer, "Don't know" in grey.

    ``distribution`` is a statement's list of ``{"answer", "label", "count"}``
    in scale order, with "Don't know" as ``answer`` None.
    """
    width, height = 240.0, 18.0
    total = sum(int(d.get("count") or 0) for d in distribution)
    summary = "; ".join(f"{d.get('label', '')}: {int(d.get('count') or 0)}" for d in distribution)
    if total == 0:
        return format_html(
            '<svg xmlns="http://www.w3.org/2000/svg" class="pw-chart pw-chart-distribution '
            'pw-chart-empty" role="img" aria-label="{}" viewBox="0 0 {} {}" width="100%" '
            'font-family="{}" font-size="11"><title>{}</title>'
            '<rect x="0.5" y="0.5" width="{}" height="{}" fill="#ffffff" stroke="{}" '
            'stroke-dasharray="3 2"/><text x="6" y="13" fill="{}">No answers</text></svg>',
            f"{label}: no answers",
            _num(width),
            _num(height),
            FONT_FAMILY,
            f"{label}: no answers",
            _num(width - 1),
            _num(height - 1),
            MUTED_COLOUR,
            MUTED_COLOUR,
        )
    answers = [d for d in distribution if d.get("answer") is not None]
    colours = iter(_answer_colours(len(answers)))
    parts: list[SafeString] = []
    x = 0.0
    for d in distribution:
        count = int(d.get("count") or 0)
        fill, ink = (DONT_KNOW_COLOUR, TEXT_COLOUR) if d.get("answer") is None else next(colours)
        if not count:
            continue
        share = count / total
        w = width * share
        css = "pw-dist-dontknow" if d.get("answer") is None else "pw-dist-answer"
        parts.append(
            format_html(
                '<g class="pw-dist-segment {}"><title>{}: {} ({}%)</title>'
                '<rect x="{}" y="0" width="{}" height="{}" fill="{}" stroke="#ffffff" '
                'stroke-width="1"/>{}</g>',
                css,
                d.get("label", ""),
                count,
                round(share * 100),
                _num(x),
                _num(w),
                _num(height),
                fill,
                # Counts only where they fit; the title and the table carry them all.
                format_html(
                    '<text x="{}" y="13" text-anchor="middle" fill="{}">{}</text>',
                    _num(x + w / 2),
                    ink,
                    count,
                )
                if w >= 8 + 7 * len(str(count))
                else "",
            )
        )
        x += w
    # An outline, because the palest answer colour is faint against a white page.
    parts.append(
        format_html(
            '<rect x="0.5" y="0.5" width="{}" height="{}" fill="none" stroke="{}"/>',
            _num(width - 1),
            _num(height - 1),
            MUTED_COLOUR,
        )
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="pw-chart pw-chart-distribution" '
        'role="img" aria-label="{}" viewBox="0 0 {} {}" width="100%" font-family="{}" '
        'font-size="11"><title>{}</title>{}</svg>',
        f"{label}. Answers: {summary}",
        _num(width),
        _num(height),
        FONT_FAMILY,
        f"{label}. Answers: {summary}",
        _join(parts),
    )


def group_bars(
    principles: list[dict[str, Any]],
    groups: list[dict[str, Any]],
    *,
    title: str,
    chart_id: str,
) -> SafeString:
    """For each principle, one bar per group that is shown, named at the bar's end.

    ``principles`` are ``{"key", "title"}`` dicts in order; ``groups`` are one
    breakdown's groups from the results. A suppressed group is never drawn,
    not even its name: it is only counted in the description.
    """
    cid = _safe_id(chart_id)
    shown = [g for g in groups if not g.get("suppressed")]
    hidden = len(groups) - len(shown)
    colour_of = {id(g): GROUP_COLOURS[i % len(GROUP_COLOURS)] for i, g in enumerate(shown)}
    parts: list[SafeString] = []

    # Legend: a swatch and the name of each group, wrapped onto as many lines as needed.
    legend = _legend_layout(shown)
    for i, (g, (text, legend_x, y)) in enumerate(zip(shown, legend, strict=True)):
        parts.append(
            format_html(
                '<g class="pw-chart-legend pw-group-{}"><rect x="{}" y="{}" width="14" '
                'height="10" fill="{}"/><text x="{}" y="{}">{}</text></g>',
                i % len(GROUP_COLOURS),
                _num(legend_x),
                _num(y - 9),
                colour_of[id(g)],
                _num(legend_x + 20),
                _num(y),
                text,
            )
        )
    top = _group_chart_top(legend) if shown else 30.0
    bar_h, gap = GROUP_BAR_HEIGHT, GROUP_BAR_GAP
    cluster = _cluster_height(len(shown))
    bottom = top + (cluster * len(principles) if shown else 40)
    if shown:
        # The axis goes first, so that bars and their labels are drawn over the gridlines.
        parts.extend(_axis(top, bottom))
    y = top
    if not shown:
        parts.append(
            format_html(
                '<text x="{}" y="{}" fill="{}">No group is large enough to show without '
                "risking anonymity.</text>",
                PLOT_LEFT,
                _num(top + 24),
                MUTED_COLOUR,
            )
        )
        y += 40
    else:
        for p in principles:
            label = _shorten(p.get("title") or p.get("key", ""))
            parts.append(_backing(PLOT_LEFT, y + 2, 7 * len(label) + 4, 14))
            parts.append(
                format_html(
                    '<text class="pw-chart-label" x="{}" y="{}">{}</text>',
                    PLOT_LEFT,
                    _num(y + 13),
                    label,
                )
            )
            for j, g in enumerate(shown):
                score = _group_score(g, p.get("key"))
                bar_y = y + 19 + j * (bar_h + gap)
                name = _shorten(g.get("name", ""), 30)
                if score is None:
                    parts.append(
                        _backing(PLOT_LEFT + 1, bar_y - 1, 6.4 * (len(name) + 12) + 4, bar_h + 2)
                    )
                    parts.append(
                        format_html(
                            '<text x="{}" y="{}" font-size="10" font-style="italic" '
                            'fill="{}">{}: no answers</text>',
                            PLOT_LEFT + 2,
                            _num(bar_y + 10),
                            MUTED_COLOUR,
                            name,
                        )
                    )
                    continue
                end = _x(score)
                text = f"{format_score(score)} {name}"
                parts.append(_backing(end + 2, bar_y - 1, 6.4 * len(text) + 6, bar_h + 2))
                parts.append(
                    format_html(
                        '<g class="pw-chart-bar pw-group-{}"><title>{}: {}, {} out of 100'
                        '</title><rect x="{}" y="{}" width="{}" height="{}" fill="{}"/></g>'
                        '<text x="{}" y="{}" font-size="10">{}</text>',
                        j % len(GROUP_COLOURS),
                        p.get("title") or p.get("key", ""),
                        name,
                        format_score(score),
                        PLOT_LEFT,
                        _num(bar_y),
                        _num(max(end - PLOT_LEFT, 1.5)),
                        _num(bar_h),
                        colour_of[id(g)],
                        _num(end + 5),
                        _num(bar_y + 10),
                        text,
                    )
                )
            y += cluster
    desc = (
        f"Scores out of 100 for {len(principles)} principles, one bar for each of "
        f"{len(shown)} group{'s' if len(shown) != 1 else ''}: "
        + ", ".join(str(g.get("name", "")) for g in shown)
        + "."
    )
    if hidden:
        desc += (
            f" {hidden} group{'s are' if hidden != 1 else ' is'} hidden because too few "
            "people in it answered."
        )
    return _svg(cid, bottom + 22, title, desc, parts, "pw-chart-groups")


GROUP_BAR_HEIGHT = 12.0
GROUP_BAR_GAP = 3.0


def _legend_layout(shown: Sequence[Mapping[str, Any]]) -> list[tuple[str, float, float]]:
    """Each legend entry's text and where it goes, wrapping at the chart's width."""
    placed = []
    legend_x, line = float(PLOT_LEFT), 0
    for g in shown:
        name = _shorten(g.get("name", ""), 30)
        text = f"{name} ({g.get('n')})" if g.get("n") is not None else name
        item_width = 22 + 6.6 * len(text) + 16
        if legend_x + item_width > WIDTH and legend_x > PLOT_LEFT:
            legend_x, line = float(PLOT_LEFT), line + 1
        placed.append((text, legend_x, 14.0 + line * 18))
        legend_x += item_width
    return placed


def _group_chart_top(legend: Sequence[tuple[str, float, float]]) -> float:
    return (legend[-1][2] if legend else 14.0) + 40


def _cluster_height(groups: int) -> float:
    return 30 + groups * (GROUP_BAR_HEIGHT + GROUP_BAR_GAP)


def group_bars_per_chart(groups: list[dict[str, Any]], *, max_height: float = 860) -> int:
    """How many principles one :func:`group_bars` chart can hold and still fit on a page.

    ``max_height`` is in chart units: the chart is 640 units wide, so on an A4
    page with 18 mm margins one unit is about 0.27 mm and 860 units about 235 mm.
    """
    shown = [g for g in groups if not g.get("suppressed")]
    room = max_height - _group_chart_top(_legend_layout(shown)) - 22
    return max(1, int(room // _cluster_height(len(shown))))


def _group_score(group: Mapping[str, Any], key: object) -> float | None:
    for p in group.get("principles") or []:
        if p.get("key") == key:
            score = p.get("score")
            return None if score is None else float(score)
    return None
