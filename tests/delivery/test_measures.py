"""Measures: the trend chart, the CSV and XLSX exports, and the "measures current" evidence."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from partnerwell.core.models import Partnership
from partnerwell.delivery.measure_charts import trend_chart
from partnerwell.delivery.measures import measures_current
from partnerwell.delivery.models import Measure
from tests.delivery.test_outcomes import make_measure, make_outcome, monthly

D = dt.date
SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    # The markup is our own output under test, not untrusted input.
    return ET.fromstring(markup)  # noqa: S314


# The trend chart -------------------------------------------------------------------------

POINTS = monthly(D(2024, 1, 1), [200, 190, 185, 170, 160, 150])
TARGETS = [(D(2024, 12, 31), 100.0), (D(2025, 12, 31), 80.0)]
BASELINE = (D(2023, 12, 31), 200.0)


def charts() -> list[str]:
    return [
        str(
            trend_chart(
                POINTS,
                TARGETS,
                title="Falls",
                chart_id="falls",
                unit="per 100,000",
                baseline=BASELINE,
            )
        ),
        str(trend_chart([], [], title="Empty", chart_id="empty", unit="")),
        str(trend_chart([(D(2024, 3, 31), 5.0)], [], title="One", chart_id="1", unit="%")),
        str(
            trend_chart(
                [(D(2024, 3, 31), 5.0), (D(2024, 6, 30), 5.0)],
                [],
                title="Flat",
                chart_id="flat",
                unit="",
            )
        ),
        str(
            trend_chart(
                monthly(D(1990, 1, 1), [1e12, -1e12] * 60),
                [(D(2199, 12, 31), 0)],
                title="Huge",
                chart_id="huge",
                unit="",
            )
        ),
    ]


@pytest.mark.parametrize("index", range(5))
def test_it_draws_well_formed_accessible_svg_without_inline_styles(index: int) -> None:
    markup = charts()[index]
    root = parse(markup)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    labelled = root.get("aria-labelledby", "").split()
    ids = {el.get("id") for el in root.iter()}
    assert labelled and all(i in ids for i in labelled)
    assert root.find(f"{SVG}title") is not None and root.find(f"{SVG}desc") is not None
    assert not [el.tag for el in root.iter() if "style" in el.attrib]
    assert not list(root.iter(f"{SVG}style"))
    assert not re.search(r"(?<![\w-])style\s*=", markup)
    # Every number in a coordinate is finite.
    assert "nan" not in markup.lower() and "inf" not in markup.lower().replace("info", "")


def test_it_draws_a_point_per_value_and_a_marker_per_target() -> None:
    root = parse(charts()[0])
    points = [g for g in root.iter(f"{SVG}g") if g.get("class") == "pw-chart-point"]
    targets = [g for g in root.iter(f"{SVG}g") if g.get("class") == "pw-chart-target"]
    assert len(points) == 6
    assert [t.findtext(f"{SVG}title") for t in targets] == [
        "Target: 100 per 100,000 by 31 Dec 2024",
        "Target: 80 per 100,000 by 31 Dec 2025",
    ]
    assert points[0].findtext(f"{SVG}title") == "31 Jan 2024: 200 per 100,000"
    line = next(
        el for el in root.iter(f"{SVG}polyline") if el.get("class") == "pw-chart-target-line"
    )
    # Baseline and both targets: three points on the dashed line.
    assert len(line.get("points", "").split()) == 3
    assert line.get("stroke-dasharray")


def test_it_plots_later_values_lower_when_they_are_smaller() -> None:
    root = parse(charts()[0])
    circles = [
        g.find(f"{SVG}circle") for g in root.iter(f"{SVG}g") if g.get("class") == "pw-chart-point"
    ]
    xs = [float(c.get("cx", 0)) for c in circles if c is not None]
    ys = [float(c.get("cy", 0)) for c in circles if c is not None]
    assert xs == sorted(xs)
    assert ys == sorted(ys)  # SVG y grows downwards, so falling values go down the page


def test_it_describes_the_chart_in_words() -> None:
    desc = parse(charts()[0]).findtext(f"{SVG}desc") or ""
    assert "6 values from 31 Jan 2024 to 30 Jun 2024" in desc
    assert "latest 150 per 100,000" in desc
    assert "Baseline 200 per 100,000 on 31 Dec 2023" in desc
    assert "80 per 100,000 by 31 Dec 2025" in desc
    assert (parse(charts()[1]).findtext(f"{SVG}desc") or "") == "No values or targets yet."


def test_it_escapes_text() -> None:
    markup = str(trend_chart(POINTS, [], title="<script>x</script>", chart_id='a"b', unit="<b>"))
    assert "<script>" not in markup
    assert "&lt;b&gt;" in markup
    parse(markup)


# Exports ---------------------------------------------------------------------------------


@pytest.fixture
def measures(partnership_a: Partnership) -> list[Measure]:
    outcome = make_outcome(partnership_a, "Fewer falls")
    on_track = make_measure(outcome, "=Admissions", points=[(D(2024, 7, 2), 150.0)])
    bare = make_measure(outcome, "No data yet", baseline=None, targets=[])
    return [on_track, bare]


def test_it_exports_measures_as_csv(
    bob_client: Client, partnership_a: Partnership, measures: list[Measure]
) -> None:
    response = bob_client.get(reverse("delivery-export-measures-csv", args=[partnership_a.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="Alpha Forum measures.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["outcome", "measure", "kind"]
    assert rows[1] == [
        "Fewer falls",
        "'=Admissions",
        "Population indicator",
        "per 100,000",
        "Lower is better",
        "200.0",
        "2024-01-01",
        "2024-07-02",
        "150.0",
        "100.0",
        "2025-01-01",
        "On track",
    ]
    assert rows[2][1] == "No data yet"
    assert rows[2][-1] == "No status"
    assert rows[2][7:11] == ["", "", "", ""]


def test_it_exports_measures_as_xlsx_with_numbers_and_dates(
    bob_client: Client, partnership_a: Partnership, measures: list[Measure]
) -> None:
    response = bob_client.get(reverse("delivery-export-measures-xlsx", args=[partnership_a.pk]))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    rows: list[Any] = list(sheet.iter_rows(values_only=True))
    assert rows[1][8] == 150
    assert rows[1][7].date() == D(2024, 7, 2)
    assert rows[1][11] == "On track"


def test_it_keeps_exports_to_the_partnership(
    carol_client: Client, partnership_a: Partnership, measures: list[Measure]
) -> None:
    for name in ("delivery-export-measures-csv", "delivery-export-measures-xlsx"):
        assert carol_client.get(reverse(name, args=[partnership_a.pk])).status_code == 404


def test_it_exports_in_a_fixed_number_of_queries(
    bob_client: Client, partnership_a: Partnership, django_assert_max_num_queries: Any
) -> None:
    outcome = make_outcome(partnership_a)
    for n in range(20):
        make_measure(outcome, f"M{n}", points=monthly(D(2024, 1, 1), [1, 2, 3]))
    with django_assert_max_num_queries(8):
        response = bob_client.get(reverse("delivery-export-measures-csv", args=[partnership_a.pk]))
    assert response.content.decode().count("\n") == 21


# Evidence: measures kept up to date ------------------------------------------------------


def test_it_has_no_evidence_without_measures(partnership_a: Partnership) -> None:
    assert measures_current(partnership_a, D(2025, 1, 1)) is None


def test_it_counts_measures_whose_latest_value_is_recent_enough(
    partnership_a: Partnership, partnership_b: Partnership
) -> None:
    on = D(2025, 4, 1)
    outcome = make_outcome(partnership_a)
    # Quarterly, last value 90 days before: current.
    make_measure(outcome, "A", points=[(D(2024, 6, 30), 1), (on - dt.timedelta(days=90), 1)])
    # Quarterly, exactly 92 days before: still current ("no older than").
    make_measure(outcome, "B", points=[(on - dt.timedelta(days=92), 1)])
    # Quarterly, 93 days before: out of date.
    make_measure(outcome, "C", points=[(on - dt.timedelta(days=93), 1)])
    # Monthly, 40 days before: out of date.
    make_measure(outcome, "D", points=[(on - dt.timedelta(days=40), 1)], frequency_days=31)
    # No values at all: out of date.
    make_measure(outcome, "E")
    # Only a value after the date asked about: out of date as of that date.
    make_measure(outcome, "F", points=[(on + dt.timedelta(days=1), 1)])
    # Another partnership's measure does not count.
    make_measure(make_outcome(partnership_b), "Other", points=[(on, 1)])
    # 2 current of 6.
    assert measures_current(partnership_a, on) == pytest.approx(100 * 2 / 6)
    # A day later, B is 93 days old too; F's value (period to 2 April) is now current.
    assert measures_current(partnership_a, on + dt.timedelta(days=1)) == pytest.approx(100 * 2 / 6)
    assert measures_current(partnership_b, on) == 100.0
