"""Tests for partnerwell.healthcheck.exports: the results as a spreadsheet and as a PDF."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from django.template.loader import render_to_string
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

from partnerwell.healthcheck.exports import _make_fetcher, results_pdf, results_xlsx
from tests.healthcheck.sample_results import make_results

PARTNERSHIP = "Testshire Health & Care Partnership"
PDFTOPPM = shutil.which("pdftoppm") or "/usr/bin/pdftoppm"
PDFTOTEXT = shutil.which("pdftotext") or "/usr/bin/pdftotext"


def workbook(results: dict[str, Any] | None = None) -> Workbook:
    data = results_xlsx(results or make_results(), partnership_name=PARTNERSHIP)
    return load_workbook(BytesIO(data))


def rows(wb: Workbook, sheet: str) -> list[tuple[Any, ...]]:
    return list(wb[sheet].iter_rows(values_only=True))


def as_dicts(wb: Workbook, sheet: str) -> list[dict[str, Any]]:
    header, *body = rows(wb, sheet)
    return [dict(zip(header, row, strict=True)) for row in body]


def suppressed_results() -> dict[str, Any]:
    """A round with fewer answers than the floor: round_results() gives no scores at all."""
    results = make_results()
    results["suppressed"] = True
    results["overall"] = {"score": None, "band": None}
    for area in results["areas"]:
        area.update(score=None, band=None)
        for p in area["principles"]:
            p.update(score=None, band=None, spread=None, agreement=None, disputed=False)
            for s in p["statements"]:
                s.update(score=None, band=None, spread=None, agreement=None, n=0, dont_know=0)
    for g in results["groups"]:
        g.update(n=None, suppressed=True, overall=None)
        for p in g["principles"]:
            p["score"] = None
    results["gaps"] = []
    results["change"]["principles"] = []
    results["comments"] = []
    return results


# --------------------------------------------------------------------------
# Spreadsheet
# --------------------------------------------------------------------------


def test_it_makes_a_workbook_with_a_sheet_for_each_part() -> None:
    wb = workbook()
    assert wb.sheetnames == [
        "Summary",
        "Principles",
        "Statements",
        "Groups",
        "Gaps",
        "Change",
        "Comments",
    ]


def test_it_writes_the_summary_with_numbers_as_numbers() -> None:
    summary = {row[0]: row[1] for row in rows(workbook(), "Summary") if row[0]}
    assert summary["Partnership"] == PARTNERSHIP
    assert summary["Round"] == "Spring 2025 health check"
    assert summary["Invited"] == 24
    assert summary["Responded"] == 17
    assert summary["Response rate"] == pytest.approx(17 / 24)
    assert summary["Overall score"] == 61.3
    assert summary["Overall band"] == "Developing"
    assert summary["Compared with"] == "Autumn 2024 health check"
    # The areas table under the facts.
    assert summary["Shared purpose"] == 72.9
    assert summary["Trust & relationships"] == 41.6


def test_it_writes_principle_and_statement_scores_as_numbers() -> None:
    wb = workbook()
    principles = as_dicts(wb, "Principles")
    assert [(p["Principle"], p["Score"], p["Band"], p["Disputed"]) for p in principles] == [
        ("A shared vision", 81.3, "Strength", "No"),
        ("Agreed priorities", 64.5, "Developing", "Yes"),
        ("Honest conversations", 41.6, "Concern", "No"),
    ]
    assert isinstance(principles[0]["Score"], float)
    statements = {s["Statement key"]: s for s in as_dicts(wb, "Statements")}
    assert statements["vision-1"]["Answers"] == 17
    assert statements["vision-1"]["Don't know"] == 1
    assert statements["priorities-2"]["Score"] is None
    assert statements["priorities-2"]["Reverse-scored"] == "Yes"


def test_it_writes_the_word_hidden_and_no_numbers_for_suppressed_groups() -> None:
    groups = {(g["Breakdown"], g["Group"]): g for g in as_dicts(workbook(), "Groups")}
    shown = groups[("Side", "Commissioners")]
    assert shown["Shown"] == "shown"
    assert shown["People who answered"] == 9
    assert shown["Overall score"] == 66.0
    assert shown["Honest conversations"] == 52.5
    for key in (("Side", "Secret Small Side"), ("Organisation", "Tiny Charity")):
        hidden = groups[key]
        assert hidden["Shown"] == "hidden"
        numbers = {k: v for k, v in hidden.items() if k not in ("Breakdown", "Group", "Shown")}
        assert set(numbers.values()) == {None}, numbers


def test_it_writes_no_scores_at_all_for_a_suppressed_round() -> None:
    wb = workbook(suppressed_results())
    summary = {row[0]: row[1] for row in rows(wb, "Summary") if row[0]}
    assert summary["Scores hidden (too few answers, or still open)"] == "Yes"
    assert summary["Overall score"] is None
    for sheet, columns in (
        ("Principles", ("Score", "Spread", "Agreement")),
        ("Statements", ("Score", "Spread", "Agreement")),
        ("Groups", ("People who answered", "Overall score", "A shared vision")),
    ):
        for row in as_dicts(wb, sheet):
            assert [row[c] for c in columns] == [None] * len(columns), (sheet, row)


def test_it_writes_gaps_and_change() -> None:
    wb = workbook()
    assert as_dicts(wb, "Gaps") == [
        {
            "Breakdown": "Side",
            "Principle key": "honesty",
            "Principle": "Honest conversations",
            "Group A": "Commissioners",
            "Group B": "Providers",
            "Difference": 23.3,
            "p-value": 0.0031,
        },
    ]
    change = as_dicts(wb, "Change")
    assert [
        (c["Principle key"], c["Difference"], c["p-value"], c["Beyond noise"]) for c in change
    ] == [("vision", 11.3, 0.0042, "Yes"), ("honesty", -3.4, 0.61, "No")]


def test_it_escapes_a_comment_that_looks_like_a_formula() -> None:
    wb = workbook()
    comments = [c["Comment"] for c in as_dicts(wb, "Comments")]
    assert '\'=HYPERLINK("http://evil.example", "click")' in comments
    assert "Clearer than last year." in comments
    ws = wb["Comments"]
    assert all(cell.data_type == "s" for row in ws.iter_rows(min_row=2) for cell in row)


@pytest.mark.parametrize("text", ["+1+1", "-2+3", "@SUM(A1)", "=1+1"])
def test_it_escapes_every_formula_prefix_in_any_free_text(text: str) -> None:
    results = make_results()
    results["round"]["title"] = text
    results["groups"][0]["name"] = text
    wb = workbook(results)
    summary = {row[0]: row[1] for row in rows(wb, "Summary") if row[0]}
    assert summary["Round"] == "'" + text
    assert as_dicts(wb, "Groups")[0]["Group"] == "'" + text


def test_it_makes_header_rows_bold() -> None:
    wb = workbook()
    for name in wb.sheetnames[1:]:
        assert all(cell.font.bold for cell in wb[name][1]), name


# --------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pdf() -> bytes:
    # Rendering takes a few seconds, so the tests share one document.
    return results_pdf(
        make_results(),
        partnership_name=PARTNERSHIP,
        opens_at=dt.datetime(2025, 3, 1, tzinfo=dt.UTC),
        closes_at=dt.datetime(2025, 3, 28, tzinfo=dt.UTC),
    )


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    if not Path(PDFTOTEXT).exists():
        pytest.skip("pdftotext (poppler-utils) is not installed, so the PDF's text cannot be read")
    source = tmp_path / "results.pdf"
    source.write_bytes(pdf)
    done = subprocess.run(
        [PDFTOTEXT, "-layout", str(source), "-"], capture_output=True, check=True, text=True
    )
    return done.stdout


def test_it_makes_a_pdf(pdf: bytes) -> None:
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")


def test_it_renders_the_first_page_of_the_pdf(pdf: bytes, tmp_path: Path) -> None:
    if not Path(PDFTOPPM).exists():
        pytest.skip("pdftoppm (poppler-utils) is not installed, so pages cannot be rendered")
    source = tmp_path / "results.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [
            PDFTOPPM,
            "-png",
            "-r",
            "50",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(source),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    png = tmp_path / "page.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # A blank A4 page at 50 dpi compresses to well under 2 kB; the cover has text and a chart.
    assert png.stat().st_size > 10_000


def test_it_puts_the_results_in_the_pdf_text(pdf: bytes, tmp_path: Path) -> None:
    text = pdf_text(pdf, tmp_path)
    assert "Spring 2025 health check" in text
    assert PARTNERSHIP in text
    assert "1 March 2025 to 28 March 2025" in text
    assert "How to read this report" in text
    assert "Hidden to protect anonymity" in text
    assert "Beyond noise" in text
    # Comment text is shown as text, never as markup.
    assert "<script>alert(1)</script> meetings feel tense" in text


def test_it_styles_the_pdf_from_the_static_stylesheet(pdf: bytes, tmp_path: Path) -> None:
    text = pdf_text(pdf, tmp_path)
    # The page numbers come from print.css, so they prove the stylesheet was found.
    pages = re.findall(r"Page (\d+) of (\d+)", text)
    assert pages and pages[0] == ("1", pages[0][1]) and int(pages[0][1]) > 1


def test_it_lists_no_numbers_for_a_suppressed_round_in_the_pdf(tmp_path: Path) -> None:
    pdf = results_pdf(suppressed_results(), partnership_name=PARTNERSHIP)
    text = pdf_text(pdf, tmp_path)
    assert "No scores are shown for this round" in text
    assert "Overall score" not in text
    assert "Results by group" not in text


def test_it_fetches_only_static_files_for_the_pdf() -> None:
    fetcher = _make_fetcher()
    css = fetcher.fetch("https://partnerwell.invalid/static/css/print.css")
    assert css.content_type == "text/css"
    assert b"@page" in css.read()
    for url in (
        "file:///etc/passwd",
        "https://example.com/static/css/print.css",
        "https://partnerwell.invalid/static/../../settings.py",
        "https://partnerwell.invalid/static/css/missing.css",
    ):
        with pytest.raises(ValueError):
            fetcher.fetch(url)


def test_it_renders_the_print_template_without_inline_styles() -> None:
    html = render_to_string(
        "healthcheck/results_print.html", {"results": make_results(), "partnership": PARTNERSHIP}
    )
    assert not re.search(r"<style|(?<![\w-])style\s*=", html)
    assert "Secret Small Side" in html  # listed, as hidden, with no numbers next to it
    assert re.search(r"Secret Small Side</th><td colspan=\"3\">Hidden to protect anonymity", html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
