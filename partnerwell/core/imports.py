"""Reading and checking a member list from a CSV or XLSX file.

Nothing here writes to the database: `read_table` turns the file into rows,
`check_rows` explains every bad row by its line number. Only a file with no
errors reaches `services.members_import`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from partnerwell.core.models import Organisation, Partnership, Role, Sector

MAX_ROWS = 20_000

# Limits on an XLSX workbook, checked from the zip's directory before openpyxl opens
# it and cell by cell while it streams: a 0.75 MB file once unpacked into a sheet that
# held the import 38 s and 540 MB. A member list (up to 11 columns) or a measure's
# values fits well inside them; bench/import_bench.py measures the worst file they let
# through. Rows are MAX_ROWS plus the heading, as for CSV.
XLSX_MAX_COLUMNS = 50
# Cells the sheet stores, filled or only formatted: 20,000 members x 11 columns fits.
XLSX_MAX_CELLS = 250_000
# Everything in the workbook once unpacked; a 20,000-row member list is about 10 MB.
XLSX_MAX_UNPACKED_MB = 40
# Parts in the zip (a workbook of one sheet has about ten).
XLSX_MAX_PARTS = 500
# Any part but a sheet (shared strings, styles): openpyxl reads these whole before the
# sheet, so they are kept small; a 20,000-member list's shared strings are about 3 MB.
XLSX_MAX_OTHER_PART_MB = 8
# XML elements in the sheet: a cell is at most about four (c, v, is, t), plus rows and the
# sheet's settings. Bounds the time spent on a sheet of tiny empty elements.
_XLSX_MAX_ELEMENTS = 4 * XLSX_MAX_CELLS + 2 * (MAX_ROWS + 1) + 10_000

# Accepted spellings of each column heading, after lower-casing and trimming.
COLUMNS: dict[str, set[str]] = {
    "organisation": {"organisation", "organization", "org"},
    "sector": {"sector"},
    "name": {"name", "full name"},
    "email": {"email", "email address", "e-mail"},
    "role": {"role"},
    "side": {"side"},
    "decision_maker": {"decision-maker", "decision maker", "decision_maker", "can decide"},
    # Optional: a past or future date on which the membership ends (our export has it).
    "end_date": {"end date", "end_date", "ends"},
}
REQUIRED = ("organisation", "name", "email")
# Columns our own export adds; a re-imported export skips them.
IGNORED = {"deputy for", "responsibilities", "start date"}
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0", ""}
_FORMULA_STARTS = set("=+-@")
_CONTROL_BYTES = frozenset(range(32)) - {9, 10, 13}
# Longest values the database columns hold (User.name and .email, Organisation.name).
_MAX_NAME = 200
_MAX_EMAIL = 254


class ImportFileError(Exception):
    """The file as a whole cannot be read; the message says what to do."""


@dataclass(frozen=True)
class MemberRow:
    line: int
    organisation: str
    sector: str
    name: str
    email: str
    role: str
    side: str
    decision_maker: bool
    end_date: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


def read_table(data: bytes, filename: str) -> list[tuple[int, list[str]]]:
    """Rows of cells with their line numbers (the heading is line 1)."""
    if not data.strip():
        raise ImportFileError("The file is empty. Upload a CSV or XLSX file with a heading row.")
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data)
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise ImportFileError("This file is named .xlsx but is not an Excel workbook.")
    # Text never holds control bytes other than tab and line breaks; binaries do.
    if any(byte in _CONTROL_BYTES for byte in data[:4096]):
        raise ImportFileError(
            "This file is not a CSV or XLSX file. Save the member list as CSV or XLSX and try again."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheets saved on Windows often use this encoding.
        text = data.decode("cp1252", errors="replace")
    # The separator is the one the heading row uses most. csv.Sniffer is not used:
    # it takes an apostrophe for a quote mark (our export writes '=… for formulas).
    heading = text.lstrip().split("\n", 1)[0]
    delimiter = max(",;\t", key=heading.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            rows.append((reader.line_num, [cell.strip() for cell in row]))
            if len(rows) > MAX_ROWS + 1:
                break
    except csv.Error as exc:
        message = f"The CSV file cannot be read near line {reader.line_num}: {exc}."
        raise ImportFileError(message) from exc
    return rows


def _too_big() -> ImportFileError:
    return ImportFileError(
        _(
            "This Excel file is too big to import: a sheet may have up to %(rows)s rows, "
            "%(columns)s columns and %(cells)s cells, and the workbook up to %(mb)s MB once "
            "unpacked. Delete empty or formatted rows and columns below and beside your "
            "list, or split it into smaller files, and upload it again."
        )
        % {
            "rows": f"{MAX_ROWS + 1:,}",
            "columns": XLSX_MAX_COLUMNS,
            "cells": f"{XLSX_MAX_CELLS:,}",
            "mb": XLSX_MAX_UNPACKED_MB,
        }
    )


def _check_zip(data: bytes) -> None:
    """Refuse a workbook whose parts would unpack too large, from the zip directory alone.

    zipfile never inflates a part beyond the size its directory entry declares (it
    stops there and the checksum fails), so the declared sizes are a safe bound.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ImportFileError(
            _("This Excel file cannot be opened; save it again as XLSX.")
        ) from exc
    unpacked = sum(part.file_size for part in parts)
    if len(parts) > XLSX_MAX_PARTS or unpacked > XLSX_MAX_UNPACKED_MB * 1024 * 1024:
        raise _too_big()
    other = XLSX_MAX_OTHER_PART_MB * 1024 * 1024
    if any(p.file_size > other and not p.filename.startswith("xl/worksheets/") for p in parts):
        raise _too_big()


def _read_xlsx(data: bytes) -> list[tuple[int, list[str]]]:
    """The first sheet's rows, read as a stream within the XLSX limits above."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet

    _check_zip(data)
    unreadable = ImportFileError(_("This Excel file cannot be opened; save it again as XLSX."))
    rows: dict[int, list[str]] = {}
    try:
        # openpyxl's load_workbook is not used: in read-only mode it reads a whole sheet
        # that declares no size just to measure it. These are its steps up to that one.
        reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=True)
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        sheets = [
            rel.target
            for _sheet, rel in reader.parser.find_sheets()
            if rel.target in reader.valid_files and "chartsheet" not in rel.Type
        ]
        if not sheets:
            raise unreadable
        with reader.archive.open(sheets[0]) as source:
            for line, column, value in _stream_cells(source, reader):
                cells = rows.setdefault(line, [])
                cells.extend([""] * (column - 1 - len(cells)))
                cells.append("" if value is None else str(value).strip())
    # SyntaxError covers bad XML and, with defusedxml, entity declarations.
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, IndexError, SyntaxError) as exc:
        raise unreadable from exc
    return sorted(rows.items())


def _stream_cells(source: Any, reader: Any) -> Iterator[tuple[int, int, object]]:
    """(line, column, value) of every filled cell, refusing the sheet at the first cell,
    row or XML element beyond the limits.

    openpyxl's own row reader pads every row to the width the sheet declares and
    builds a whole row before handing it over, which is how a tiny file became
    hundreds of megabytes; this walks the XML one element at a time and drops each
    as soon as it is read, so memory stays flat. Values are converted by openpyxl's
    own cell parser (shared strings, dates, booleans).
    """
    from openpyxl.worksheet._reader import CELL_TAG, ROW_TAG, WorkSheetParser
    from openpyxl.xml.functions import iterparse

    parser = WorkSheetParser(
        source,
        reader.shared_strings,
        data_only=True,
        epoch=reader.wb.epoch,
        date_formats=reader.wb._date_formats,
        timedelta_formats=reader.wb._timedelta_formats,
    )
    cells = elements = 0
    # The open elements, outermost first; inside a cell, its parts wait for the cell.
    open_elements: list[Any] = []
    in_cell = False
    for event, element in iterparse(source, events=("start", "end")):
        if event == "start":
            open_elements.append(element)
            if element.tag == CELL_TAG:
                in_cell = True
            elif element.tag == ROW_TAG:
                number = element.get("r")
                parser.row_counter = int(number) if number else parser.row_counter + 1
                parser.col_counter = 0
                if parser.row_counter > MAX_ROWS + 1:
                    raise _too_big()
            continue
        open_elements.pop()
        elements += 1
        if elements > _XLSX_MAX_ELEMENTS:
            raise _too_big()
        if element.tag == CELL_TAG:
            in_cell = False
            cells += 1
            cell = parser.parse_cell(element)
            if cells > XLSX_MAX_CELLS or cell["column"] > XLSX_MAX_COLUMNS:
                raise _too_big()
            if cell["row"] > MAX_ROWS + 1:
                raise _too_big()
            if cell["value"] is not None:
                yield cell["row"], cell["column"], cell["value"]
        if not in_cell and open_elements:
            # Drop what has been read; each parent holds at most one child at a time.
            open_elements[-1].remove(element)


def _column_map(heading: list[str]) -> tuple[dict[str, int], list[str]]:
    mapping: dict[str, int] = {}
    problems: list[str] = []
    for index, raw in enumerate(heading):
        title = raw.strip().lower()
        if not title or title in IGNORED:
            continue
        key = next((k for k, names in COLUMNS.items() if title in names), None)
        if key is None:
            problems.append(f"the column “{_clip(raw)}” is not one we know")
        elif key in mapping:
            problems.append(f"the column “{_clip(raw)}” appears twice")
        else:
            mapping[key] = index
    missing = [k for k in REQUIRED if k not in mapping]
    if len(missing) == 1:
        problems.append(f"the column {missing[0]} is missing")
    elif missing:
        problems.append(f"the columns {', '.join(missing[:-1])} and {missing[-1]} are missing")
    return mapping, problems


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _choice(value: str, choices: type[Role] | type[Sector]) -> str | None:
    wanted = value.strip().lower().replace("-", " ").replace("_", " ")
    for key, label in choices.choices:
        if wanted in {key.replace("_", " "), str(label).lower().replace("-", " ")}:
            return key
    return None


def check_rows(
    table: list[tuple[int, list[str]]], partnership: Partnership
) -> tuple[list[MemberRow], list[RowError]]:
    """Validate every row; returns the good rows and an error per bad row."""
    if not table:
        raise ImportFileError("The file is empty. Upload a CSV or XLSX file with a heading row.")
    mapping, problems = _column_map(table[0][1])
    if problems:
        expected = "organisation, sector, name, email, role, side, decision-maker"
        raise ImportFileError(
            "The heading row does not fit: "
            + "; ".join(problems)
            + f". Use the columns {expected}."
        )
    body = [(line, cells) for line, cells in table[1:] if any(cells)]
    if not body:
        raise ImportFileError("The file has a heading row but no members under it.")
    if len(body) > MAX_ROWS:
        raise ImportFileError(f"The file has more than {MAX_ROWS:,} members; split it into parts.")

    def cell(cells: list[str], key: str) -> str:
        index = mapping.get(key)
        value = cells[index].strip() if index is not None and index < len(cells) else ""
        # Undo the quote our export puts before a value that looks like a formula.
        if value[:1] == "'" and value[1:2] in _FORMULA_STARTS:
            value = value[1:]
        return value

    sides = {s.name.lower(): s.name for s in partnership.sides.all()}
    names = {cell(cells, "organisation").lower() for _, cells in body}
    known = {
        o.name.lower(): o
        for o in Organisation.objects.annotate(lname=Lower("name")).filter(lname__in=names)
    }

    rows: list[MemberRow] = []
    errors: list[RowError] = []
    seen_emails: dict[str, int] = {}
    new_org_sectors: dict[str, str] = {}

    for line, cells in body:
        reasons: list[str] = []
        org_name = cell(cells, "organisation")
        name = cell(cells, "name")
        email = cell(cells, "email").lower()
        if not org_name:
            reasons.append("the organisation is missing")
        elif len(org_name) > _MAX_NAME:
            reasons.append(f"the organisation's name is longer than {_MAX_NAME} characters")
        if not name:
            reasons.append("the name is missing")
        elif len(name) > _MAX_NAME:
            reasons.append(f"the name is longer than {_MAX_NAME} characters")
        if not email:
            reasons.append("the email address is missing")
        elif len(email) > _MAX_EMAIL:
            reasons.append(f"the email address is longer than {_MAX_EMAIL} characters")
        else:
            try:
                validate_email(email)
            except ValidationError:
                reasons.append(f"“{_clip(email)}” is not an email address")
            if email in seen_emails:
                reasons.append(f"the email address {email} is also on line {seen_emails[email]}")
            else:
                seen_emails[email] = line

        sector_raw = cell(cells, "sector")
        sector = _choice(sector_raw, Sector) if sector_raw else ""
        if sector_raw and sector is None:
            reasons.append(f"“{_clip(sector_raw)}” is not a sector in the list")
        existing = known.get(org_name.lower()) if org_name else None
        if existing is not None and sector and sector != existing.sector:
            reasons.append(
                f"the organisation {existing.name} is recorded as "
                f"{existing.get_sector_display()}; "
                "leave the sector blank or use that one"
            )
        elif existing is None and org_name:
            if not sector_raw:
                reasons.append(f"the organisation {org_name} is new, so give its sector")
            elif sector:
                earlier = new_org_sectors.setdefault(org_name.lower(), sector)
                if earlier != sector:
                    reasons.append(
                        f"the organisation {org_name} has a different sector on an earlier line"
                    )

        role_raw = cell(cells, "role")
        role = _choice(role_raw, Role) if role_raw else Role.MEMBER
        if role is None:
            reasons.append(f"“{_clip(role_raw)}” is not a role we know")
        elif role == Role.DEPUTY:
            reasons.append(
                "deputies are added on the member page, where you name who they stand in for"
            )

        side_raw = cell(cells, "side")
        side = sides.get(side_raw.lower(), "") if side_raw else ""
        if sides and not side_raw:
            reasons.append("this partnership has sides, so give the member's side")
        elif side_raw and not sides:
            reasons.append("this partnership has no sides, so leave the side blank")
        elif side_raw and not side:
            reasons.append(
                f"“{_clip(side_raw)}” is not one of the sides ({', '.join(sides.values())})"
            )

        decides_raw = cell(cells, "decision_maker").lower()
        if decides_raw not in _YES | _NO:
            reasons.append(f"decision-maker must be yes or no, not “{_clip(decides_raw)}”")

        end_raw = cell(cells, "end_date")
        end_date = _date(end_raw) if end_raw else None
        if end_raw and end_date is None:
            reasons.append(f"the end date “{_clip(end_raw)}” is not a date like 2026-03-31")

        if reasons:
            errors.append(RowError(line, _sentence(reasons)))
            continue
        rows.append(
            MemberRow(
                line=line,
                organisation=existing.name if existing else org_name,
                sector=existing.sector if existing else (sector or ""),
                name=name,
                email=email,
                role=str(role),
                side=side,
                decision_maker=decides_raw in _YES,
                end_date=end_date.isoformat() if end_date else "",
            )
        )
    return rows, errors


def _date(value: str) -> dt.date | None:
    """A date written as 2026-03-31 or 31/03/2026 (an XLSX date cell reads as the first)."""
    text = value.strip()[:19]
    for pattern in ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _sentence(reasons: list[str]) -> str:
    text = "; ".join(reasons)
    return text[0].upper() + text[1:] + "."
