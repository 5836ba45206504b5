"""Tests for partnerwell.healthcheck.charts and the healthcheck_charts template tags."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from django.template import Context, Template

from partnerwell.healthcheck.charts import (
    distribution_bar,
    format_score,
    group_bars,
    group_bars_per_chart,
    score_bars,
)
from partnerwell.healthcheck.templatetags.healthcheck_charts import (
    band_label,
    bar_rows,
    breakdowns,
    score,
    signed,
)
from tests.healthcheck.sample_results import distribution, make_results

SVG = "{http://www.w3.org/2000/svg}"

ROWS: list[dict[str, Any]] = [
    {"label": "A shared vision", "score": 81.3, "band": "strength", "disputed": False},
    {"label": "Agreed priorities", "score": 64.5, "band": "developing", "disputed": True},
    {"label": "Honest conversations", "score": 41.6, "band": "concern", "disputed": False},
    {"label": "Nobody answered this", "score": None, "band": None, "disputed": False},
]
PRINCIPLES: list[dict[str, Any]] = [
    {"key": "vision", "title": "A shared vision"},
    {"key": "priorities", "title": "Agreed priorities"},
    {"key": "honesty", "title": "Honest conversations"},
]


def side_groups() -> list[dict[str, Any]]:
    return [g for g in make_results()["groups"] if g["by"] == "side"]


def all_charts() -> list[str]:
    return [
        str(score_bars(ROWS, title="Scores", chart_id="scores")),
        str(distribution_bar(distribution(1, 2, 3, 4, 5, dont_know=2), label="A statement")),
        str(distribution_bar(distribution(0, 0, 0, 0, 0), label="Nobody")),
        str(group_bars(PRINCIPLES, side_groups(), title="By side", chart_id="side")),
        str(group_bars(PRINCIPLES, [], title="Nothing", chart_id="none")),
    ]


def parse(markup: str) -> ET.Element:
    # The markup is our own output under test, not untrusted input.
    return ET.fromstring(markup)  # noqa: S314


def bars(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if "pw-chart-bar" in g.get("class", "").split()]


def child_attr(el: ET.Element, tag: str, name: str) -> str:
    child = el.find(f"{SVG}{tag}")
    assert child is not None, f"no <{tag}> in {el.get('class')}"
    return child.get(name, "") if name != "text" else (child.text or "")


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


@pytest.mark.parametrize("index", range(5))
def test_it_draws_well_formed_svg(index: int) -> None:
    root = parse(all_charts()[index])
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox", "").startswith("0 0 ")
    assert root.get("width") == "100%"


@pytest.mark.parametrize("index", range(5))
def test_it_has_no_style_attribute_or_element(index: int) -> None:
    markup = all_charts()[index]
    root = parse(markup)
    assert not [el.tag for el in root.iter() if "style" in el.attrib]
    assert not list(root.iter(f"{SVG}style"))
    # font-style="italic" is a presentation attribute, which the CSP allows.
    assert not re.search(r"(?<![\w-])style\s*=", markup)


@pytest.mark.parametrize("index", range(5))
def test_it_is_an_image_with_a_title(index: int) -> None:
    root = parse(all_charts()[index])
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title")
    assert title is not None and (title.text or "").strip()


def test_it_labels_the_chart_with_its_title_and_description() -> None:
    root = parse(str(score_bars(ROWS, title="Scores by principle", chart_id="area-1")))
    assert root.get("aria-labelledby") == "area-1-title area-1-desc"
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")
    assert title is not None and title.get("id") == "area-1-title"
    assert title.text == "Scores by principle"
    assert desc is not None and desc.get("id") == "area-1-desc"
    # The description summarises the chart for someone who cannot see it.
    assert "Highest: A shared vision, 81, strength." in (desc.text or "")
    assert "Lowest: Honest conversations, 41, concern." in (desc.text or "")
    assert "1 disputed" in (desc.text or "")
    assert "1 with no answers" in (desc.text or "")


def test_it_draws_one_bar_per_scored_row() -> None:
    root = parse(str(score_bars(ROWS, title="Scores", chart_id="scores")))
    drawn = bars(root)
    assert len(drawn) == 3
    widths = [float(child_attr(g, "rect", "width")) for g in drawn]
    # 81.3, 64.5 and 41.6 out of 100 on a 440-unit plot.
    assert widths == pytest.approx([440 * 0.813, 440 * 0.645, 440 * 0.416], abs=0.1)


def test_it_writes_no_answers_instead_of_a_bar() -> None:
    root = parse(str(score_bars(ROWS[3:], title="Scores", chart_id="scores")))
    assert bars(root) == []
    assert "No answers" in texts(root)


def test_it_colours_bars_by_band_and_says_the_band_in_words() -> None:
    root = parse(str(score_bars(ROWS[:3], title="Scores", chart_id="scores")))
    classes = [g.get("class") for g in bars(root)]
    assert classes == [
        "pw-chart-bar pw-band-strength",
        "pw-chart-bar pw-band-developing",
        "pw-chart-bar pw-band-concern",
    ]
    fills = [child_attr(g, "rect", "fill") for g in bars(root)]
    assert fills == ["#00703c", "#ffdd00", "#d4351c"]
    # Colour is not the only cue: each bar ends with its number and band in words.
    assert {"81 Strength", "64 Developing", "41 Concern"} <= set(texts(root))
    assert "\u25c6 disputed" in texts(root)


def test_it_draws_dashed_reference_lines_at_50_and_75() -> None:
    root = parse(str(score_bars(ROWS, title="Scores", chart_id="scores")))
    dashed = [line for line in root.iter(f"{SVG}line") if line.get("stroke-dasharray")]
    # 12 + 440 * 0.5 and 12 + 440 * 0.75
    assert sorted(float(line.get("x1", 0)) for line in dashed) == [232.0, 342.0]
    assert {"Developing from 50", "Strength from 75"} <= set(texts(root))


def test_it_escapes_a_label_containing_script() -> None:
    rows = [{"label": "<script>alert(1)</script>", "score": 50.0, "band": "developing"}]
    markup = str(score_bars(rows, title="<b>Title</b>", chart_id="x"))
    assert "<script>" not in markup and "<b>" not in markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup
    assert "<script>alert(1)</script>" in texts(parse(markup))


def test_it_escapes_text_in_distribution_and_group_charts() -> None:
    dist = distribution(1, 0, 0, 0, 0)
    dist[0]["label"] = "<img src=x onerror=alert(1)>"
    groups = side_groups()
    groups[0]["name"] = "<script>x</script>"
    for markup in (
        str(distribution_bar(dist, label="<script>y</script>")),
        str(group_bars(PRINCIPLES, groups, title="t", chart_id="g")),
    ):
        parse(markup)
        assert "<script>" not in markup and "<img" not in markup


def test_it_makes_a_safe_id_from_any_chart_id() -> None:
    root = parse(str(score_bars(ROWS, title="t", chart_id='1 "bad" id')))
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", root.get("id", ""))


def test_it_stacks_the_answer_counts_to_the_full_width() -> None:
    root = parse(str(distribution_bar(distribution(1, 2, 3, 4, 0, dont_know=2), label="s")))
    segments = [g for g in root.iter(f"{SVG}g") if "pw-dist-segment" in g.get("class", "")]
    # Five answers were given a count (zero counts are not drawn): 1, 2, 3, 4 and 2 don't know.
    assert len(segments) == 5
    widths = [float(child_attr(g, "rect", "width")) for g in segments]
    assert widths == pytest.approx([20, 40, 60, 80, 40], abs=0.1)
    dont_know = segments[-1]
    assert "pw-dist-dontknow" in dont_know.get("class", "")
    assert child_attr(dont_know, "rect", "fill") == "#b1b4b6"
    assert child_attr(dont_know, "title", "text") == "Don't know: 2 (17%)"


def test_it_shows_an_empty_distribution_as_no_answers() -> None:
    root = parse(str(distribution_bar(distribution(0, 0, 0, 0, 0), label="s")))
    assert "pw-chart-empty" in root.get("class", "")
    assert texts(root) == ["No answers"]
    assert root.get("aria-label") == "s: no answers"


def test_it_draws_no_suppressed_group() -> None:
    groups = side_groups()
    assert [g["name"] for g in groups if g["suppressed"]] == ["Secret Small Side"]
    markup = str(group_bars(PRINCIPLES, groups, title="By side", chart_id="side"))
    root = parse(markup)
    assert "Secret Small Side" not in markup
    # Three principles times the two groups that are shown.
    assert len(bars(root)) == 6
    legend = [g for g in root.iter(f"{SVG}g") if "pw-chart-legend" in g.get("class", "")]
    assert ["".join(g.itertext()) for g in legend] == ["Commissioners (9)", "Providers (6)"]
    desc = root.find(f"{SVG}desc")
    assert desc is not None and "1 group is hidden" in (desc.text or "")


def test_it_draws_nothing_but_a_message_when_every_group_is_hidden() -> None:
    groups = [g for g in side_groups() if g["suppressed"]]
    markup = str(group_bars(PRINCIPLES, groups, title="By side", chart_id="side"))
    root = parse(markup)
    assert bars(root) == []
    assert "Secret Small Side" not in markup
    assert any("No group is large enough" in t for t in texts(root))


def test_it_labels_each_group_bar_with_score_and_name() -> None:
    root = parse(str(group_bars(PRINCIPLES, side_groups(), title="t", chart_id="g")))
    assert {"85 Commissioners", "77 Providers", "29 Providers"} <= set(texts(root))


def test_it_formats_scores_without_contradicting_the_band() -> None:
    assert format_score(None) == "\u2013"
    assert format_score(72.4) == "72"
    # Rounded down: 74.6 is "developing", so it must not read as 75.
    assert format_score(74.6) == "74"
    assert format_score(75.0) == "75"
    assert score(100.0) == "100"
    assert score(None) == "\u2013"


def test_it_names_bands_in_words() -> None:
    assert band_label("strength") == "Strength"
    assert band_label("developing") == "Developing"
    assert band_label("concern") == "Concern"
    assert band_label(None) == "No score"


def test_it_signs_changes() -> None:
    assert signed(5.24) == "+5.2"
    assert signed(-3.0) == "\u22123.0"
    assert signed(0.01) == "0.0"
    assert signed(None) == "\u2013"


def test_it_turns_principles_into_chart_rows() -> None:
    principles = make_results()["areas"][0]["principles"]
    assert bar_rows(principles) == [
        {"label": "A shared vision", "score": 81.3, "band": "strength", "disputed": False},
        {"label": "Agreed priorities", "score": 64.5, "band": "developing", "disputed": True},
    ]


def test_it_splits_groups_into_breakdowns_with_only_shown_groups_in_tables() -> None:
    items = breakdowns(make_results())
    assert [i["by"] for i in items] == ["side", "organisation"]
    side = items[0]
    assert [g["name"] for g in side["hidden"]] == ["Secret Small Side"]
    assert [g["name"] for g in side["tables"][0]["groups"]] == ["Commissioners", "Providers"]
    assert side["tables"][0]["rows"][2] == {"title": "Honest conversations", "scores": [52.5, 29.2]}


def test_it_renders_the_chart_tags_in_a_template() -> None:
    template = Template(
        "{% load healthcheck_charts %}"
        '{% score_bars area.principles|bar_rows title=area.title chart_id="area-"|add:area.key %}'
        "{% distribution_bar statement.distribution label=statement.text %}"
        '{% group_bars principles groups title="By side" chart_id="side" %}'
        "{{ area.score|score }} {{ area.band|band_label }}"
    )
    results = make_results()
    area = results["areas"][0]
    html = template.render(
        Context(
            {
                "area": area,
                "statement": area["principles"][0]["statements"][0],
                "principles": PRINCIPLES,
                "groups": side_groups(),
            }
        )
    )
    assert html.count('role="img"') == 3
    assert 'id="area-purpose"' in html
    assert html.endswith("72 Developing")
    assert "Secret Small Side" not in html


def test_it_splits_group_charts_so_each_fits_on_a_page() -> None:
    groups = [
        {
            "by": "organisation",
            "name": f"Organisation {i}",
            "n": 5,
            "suppressed": False,
            "principles": [{"key": p["key"], "score": 50.0} for p in PRINCIPLES * 4],
        }
        for i in range(9)
    ]
    per_chart = group_bars_per_chart(groups)
    assert 1 <= per_chart < 12
    principles = [{"key": f"p{i}", "title": f"Principle {i}"} for i in range(per_chart)]
    root = parse(str(group_bars(principles, groups, title="t", chart_id="g")))
    height = float(root.get("viewBox", "").split()[3])
    assert height <= 860
    # One more principle would not have fitted.
    principles.append({"key": "extra", "title": "One too many"})
    root = parse(str(group_bars(principles, groups, title="t", chart_id="g")))
    assert float(root.get("viewBox", "").split()[3]) > 860
