"""Spreadsheet downloads: member rows, and CSV or XLSX responses for any table of rows."""

from __future__ import annotations

import csv
import io

from django.db.models.functions import Lower
from django.http import HttpResponse
from openpyxl import Workbook

from partnerwell.core.models import Membership, Partnership

HEADER = [
    "organisation",
    "sector",
    "name",
    "email",
    "role",
    "side",
    "decision-maker",
    "deputy for",
    "responsibilities",
    "start date",
    "end date",
]


def safe_cell(value: str) -> str:
    """Stop spreadsheet programs from running a cell as a formula."""
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


def member_rows(partnership: Partnership) -> tuple[list[str], list[list[str]]]:
    memberships = (
        Membership.objects.filter(partnership=partnership)
        .select_related("person", "organisation", "side", "deputy_for__person")
        .order_by(Lower("organisation__name"), "person__name")
    )
    rows = [
        [
            safe_cell(str(value))
            for value in (
                m.organisation.name,
                m.organisation.get_sector_display(),
                m.person.name,
                m.person.email,
                m.get_role_display(),
                m.side.name if m.side else "",
                "yes" if m.decision_maker else "no",
                m.deputy_for.person.name if m.deputy_for else "",
                ", ".join(m.responsibilities),
                m.start_date.isoformat() if m.start_date else "",
                m.end_date.isoformat() if m.end_date else "",
            )
        ]
        for m in memberships
    ]
    return HEADER, rows


def write_xlsx(title: str, header: list[str], rows: list[list[str]]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(
    fmt: str, title: str, stem: str, header: list[str], rows: list[list[str]]
) -> HttpResponse:
    """The rows as an attachment: an XLSX workbook (`title` names its sheet) or a CSV file.

    Cells must already be made safe (safe_cell) by whoever built the rows.
    """
    name = stem.replace('"', "")
    if fmt == "xlsx":
        response = HttpResponse(write_xlsx(title, header, rows), content_type=XLSX)
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerows(rows)
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{name}.{"xlsx" if fmt == "xlsx" else "csv"}"'
    )
    return response
