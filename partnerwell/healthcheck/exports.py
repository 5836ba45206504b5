"""A round's results as a spreadsheet (openpyxl) and as a PDF (WeasyPrint).

Both take the dict from :func:`partnerwell.healthcheck.results.round_results`,
which has already hidden every group below the anonymity floor, so nothing
here can reveal more than the results page does.
"""

from __future__ import annotations

import datetime as dt
import logging
import mimetypes
from collections.abc import Iterable, Sequence
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.template.loader import render_to_string
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

__all__ = ["PRINT_TEMPLATE", "XLSX_CONTENT_TYPE", "results_pdf", "results_xlsx"]

logger = logging.getLogger(__name__)

PRINT_TEMPLATE = "healthcheck/results_print.html"
#: A made-up origin for the PDF's relative links; nothing is ever fetched from it.
PDF_BASE_URL = "https://partnerwell.invalid/"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

BAND_WORDS = {"strength": "Strength", "developing": "Developing", "concern": "Concern"}
BREAKDOWN_WORDS = {"side": "Side", "sector": "Sector", "organisation": "Organisation"}
# Spreadsheet programs run a cell that starts with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
HIDDEN = "hidden"

# --------------------------------------------------------------------------
# Spreadsheet
# --------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    """A value as it goes into a cell: numbers stay numbers, text cannot become a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _band(band: str | None) -> str | None:
    return BAND_WORDS.get(band or "")


def _yes_no(value: bool) -> str:
    return "Yes" if value else "No"


def _sheet(
    wb: Workbook,
    title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    widths: Sequence[int] = (),
    number_formats: dict[int, str] | None = None,
) -> Worksheet:
    """A sheet with a bold, frozen header row, a filter, and the rows below it."""
    ws = wb.create_sheet(title)
    ws.append([_cell(h) for h in headers])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        ws.append([_cell(v) for v in row])
    ws.freeze_panes = "A2"
    if ws.max_row > 1:
        ws.auto_filter.ref = ws.dimensions
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    for column, fmt in (number_formats or {}).items():
        for (cell,) in ws.iter_rows(min_row=2, min_col=column, max_col=column):
            cell.number_format = fmt
    return ws


def _summary_sheet(wb: Workbook, results: dict[str, Any], partnership_name: str) -> None:
    ws = wb.active
    assert ws is not None  # a new workbook always has one sheet
    ws.title = "Summary"
    rnd = results["round"]
    framework = rnd["framework"]
    previous = (results.get("change") or {}).get("previous_round")
    invited, responded = rnd.get("invited") or 0, rnd.get("responded") or 0
    overall = results.get("overall") or {}
    facts: list[tuple[str, Any]] = [
        ("Partnership", partnership_name),
        ("Round", rnd["title"]),
        ("Framework", framework["title"]),
        ("Framework key", framework["key"]),
        ("Framework version", framework["version"]),
        ("Status", rnd.get("status")),
        ("Invited", invited),
        ("Responded", responded),
        ("Response rate", responded / invited if invited else None),
        ("Anonymity floor", results.get("anonymity_floor")),
        ("Results wait for the round to close", _yes_no(bool(results.get("pending")))),
        (
            "Scores hidden (too few answers, or still open)",
            _yes_no(bool(results.get("suppressed"))),
        ),
        ("Overall score", overall.get("score")),
        ("Overall band", _band(overall.get("band"))),
        ("Compared with", previous["title"] if previous else "No earlier round"),
    ]
    header = ws.cell(row=1, column=1, value="Health check results")
    header.font = Font(bold=True, size=14)
    for i, (label, value) in enumerate(facts, start=2):
        ws.cell(row=i, column=1, value=_cell(label)).font = Font(bold=True)
        ws.cell(row=i, column=2, value=_cell(value))
        if label == "Response rate":
            ws.cell(row=i, column=2).number_format = "0%"
        elif label == "Overall score":
            ws.cell(row=i, column=2).number_format = "0.0"
    row = len(facts) + 3
    for column, title in enumerate(("Area", "Score", "Band"), start=1):
        ws.cell(row=row, column=column, value=title).font = Font(bold=True)
    for area in results.get("areas") or []:
        row += 1
        ws.cell(row=row, column=1, value=_cell(area["title"]))
        ws.cell(row=row, column=2, value=area.get("score")).number_format = "0.0"
        ws.cell(row=row, column=3, value=_band(area.get("band")))
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 40
    ws.column_dimensions["C"].width = 14


def results_xlsx(results: dict[str, Any], *, partnership_name: str) -> bytes:
    """The results as an .xlsx workbook: one sheet for each part of the results page.

    Scores are numbers (0-100, one decimal), blank where there is no score.
    Groups below the anonymity floor are listed with the word "hidden" and no
    numbers at all. Any text starting with = + - or @ gets a leading
    apostrophe, so a comment cannot run as a formula when the file is opened.
    """
    wb = Workbook()
    _summary_sheet(wb, results, partnership_name)
    areas = results.get("areas") or []
    principles = [(a, p) for a in areas for p in a.get("principles") or []]

    score_fmt = "0.0"
    _sheet(
        wb,
        "Principles",
        ["Area", "Principle key", "Principle", "Score", "Band", "Spread", "Agreement", "Disputed"],
        (
            [
                a["title"],
                p["key"],
                p["title"],
                p.get("score"),
                _band(p.get("band")),
                p.get("spread"),
                p.get("agreement"),
                _yes_no(p.get("disputed", False)),
            ]
            for a, p in principles
        ),
        widths=(28, 16, 40, 9, 12, 9, 11, 10),
        number_formats={4: score_fmt, 6: score_fmt, 7: score_fmt},
    )
    _sheet(
        wb,
        "Statements",
        [
            "Area",
            "Principle",
            "Statement key",
            "Statement",
            "Scale",
            "Reverse-scored",
            "Answers",
            "Don't know",
            "Score",
            "Band",
            "Spread",
            "Agreement",
            "Disputed",
        ],
        (
            [
                a["title"],
                p["title"],
                s["key"],
                s["text"],
                s.get("scale"),
                _yes_no(s.get("reverse", False)),
                s.get("n"),
                s.get("dont_know"),
                s.get("score"),
                _band(s.get("band")),
                s.get("spread"),
                s.get("agreement"),
                _yes_no(s.get("disputed", False)),
            ]
            for a, p in principles
            for s in p.get("statements") or []
        ),
        widths=(24, 28, 16, 60, 12, 10, 9, 10, 9, 12, 9, 11, 10),
        number_formats={9: score_fmt, 11: score_fmt, 12: score_fmt},
    )

    all_principles = [p for _, p in principles]
    _sheet(
        wb,
        "Groups",
        [
            "Breakdown",
            "Group",
            "Shown",
            "People who answered",
            "Overall score",
            "Overall band",
            *[p["title"] for p in all_principles],
        ],
        (_group_row(g, all_principles) for g in results.get("groups") or []),
        widths=(14, 30, 10, 12, 10, 12, *[14] * len(all_principles)),
        number_formats={c: score_fmt for c in range(5, 7 + len(all_principles)) if c != 6},
    )
    _sheet(
        wb,
        "Gaps",
        ["Breakdown", "Principle key", "Principle", "Group A", "Group B", "Difference", "p-value"],
        (
            [
                BREAKDOWN_WORDS.get(g["by"], g["by"]),
                g["principle"],
                g["principle_title"],
                g["groups"][0],
                g["groups"][1],
                g.get("difference"),
                g.get("p_value"),
            ]
            for g in results.get("gaps") or []
        ),
        widths=(14, 16, 40, 28, 28, 11, 10),
        number_formats={6: score_fmt},
    )
    change = results.get("change") or {}
    _sheet(
        wb,
        "Change",
        ["Principle key", "Principle", "Previous score", "Difference", "p-value", "Beyond noise"],
        (
            [
                c["key"],
                c["title"],
                c.get("previous_score"),
                c.get("difference"),
                c.get("p_value"),
                _yes_no(c.get("beyond_noise", False)),
            ]
            for c in change.get("principles") or []
        ),
        widths=(16, 40, 14, 11, 10, 13),
        number_formats={3: score_fmt, 4: "+0.0;-0.0;0.0", 5: "0.0000"},
    )
    _sheet(
        wb,
        "Comments",
        ["Area key", "Area", "Comment"],
        (
            [area["area"], area["title"], comment]
            for area in results.get("comments") or []
            for comment in area.get("comments") or []
        ),
        widths=(16, 28, 100),
    )
    wb.properties.title = f"{results['round']['title']}: health check results"[:255]
    wb.properties.creator = "partnerwell"
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def _group_row(group: dict[str, Any], principles: list[dict[str, Any]]) -> list[Any]:
    by = BREAKDOWN_WORDS.get(group["by"], group["by"])
    if group.get("suppressed"):
        # Not even a count: the size of a small group is itself identifying.
        return [by, group["name"], HIDDEN, None, None, None, *[None] * len(principles)]
    scores = {p["key"]: p.get("score") for p in group.get("principles") or []}
    overall = group.get("overall") or {}
    return [
        by,
        group["name"],
        "shown",
        group.get("n"),
        overall.get("score"),
        _band(overall.get("band")),
        *[scores.get(p["key"]) for p in principles],
    ]


# --------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------


def _static_path(name: str) -> Path | None:
    """The file on disk for a static file's name, from the finders or from STATIC_ROOT."""
    if not name or any(part in ("", ".", "..") for part in name.split("/")):
        return None
    found = finders.find(name)
    if isinstance(found, list):
        found = found[0] if found else None
    if found:
        return Path(found)
    # A hashed name from the manifest storage exists only in the collected files.
    try:
        if staticfiles_storage.exists(name):
            return Path(staticfiles_storage.path(name))
    except NotImplementedError:  # a storage with no local files
        return None
    return None


def _make_fetcher() -> Any:
    # Imported here so that the spreadsheet export works without WeasyPrint's libraries.
    from weasyprint.urls import (
        URLFetcher,
        URLFetcherResponse,
    )

    class StaticFetcher(URLFetcher):
        """Serves the PDF's stylesheets and images from static files on disk, nothing else.

        No request ever leaves the machine: a link that is not a static file is
        refused (WeasyPrint logs it and carries on without it).
        """

        def fetch(self, url: str, headers: dict[str, str] | None = None) -> Any:
            static_prefix = urljoin(PDF_BASE_URL, settings.STATIC_URL or "/static/")
            if not url.startswith(static_prefix):
                raise ValueError(f"The PDF may only use static files, not {url}")
            name = unquote(urlsplit(url[len(static_prefix) :]).path)
            path = _static_path(name)
            if path is None:
                raise ValueError(f"No static file called {name!r} for the PDF")
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(
                url, body=path.read_bytes(), headers={"Content-Type": content_type}
            )

    return StaticFetcher()


def results_pdf(
    results: dict[str, Any],
    *,
    partnership_name: str,
    opens_at: dt.datetime | None = None,
    closes_at: dt.datetime | None = None,
) -> bytes:
    """The results as a tagged A4 PDF, from the same print template a browser can show.

    ``opens_at`` and ``closes_at`` (the round's dates) go on the cover when given.
    """
    from weasyprint import HTML

    html = render_to_string(
        PRINT_TEMPLATE,
        {
            "results": results,
            "partnership": partnership_name,
            "opens_at": opens_at,
            "closes_at": closes_at,
        },
    )
    document = HTML(string=html, base_url=PDF_BASE_URL, url_fetcher=_make_fetcher())
    pdf = document.write_pdf(pdf_tags=True)
    assert pdf is not None  # write_pdf returns the bytes when given no target
    return bytes(pdf)
