"""Importing a measure's values from CSV or XLSX: line-level errors, all or nothing, re-upload."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from partnerwell.core.imports import ImportFileError, read_table
from partnerwell.core.models import User
from partnerwell.delivery.measures import data_points_check, parse_value
from partnerwell.delivery.models import DataPoint, Measure, Outcome
from tests.delivery.test_outcomes import make_measure, make_outcome

D = dt.date


@pytest.fixture
def measure(partnership_a: object) -> Measure:
    outcome: Outcome = make_outcome(partnership_a)  # type: ignore[arg-type]
    return make_measure(outcome, points=[(D(2024, 1, 31), 190.0)])


def upload(client: Client, measure: Measure, name: str, data: bytes) -> str:
    response = client.post(
        reverse("delivery-import-data-points", args=[measure.pk]),
        {"file": SimpleUploadedFile(name, data)},
        follow=True,
    )
    assert response.status_code == 200
    return response.content.decode()


def xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def stored(measure: Measure) -> list[tuple[dt.date, float, str]]:
    return list(
        measure.data_points.order_by("period_end").values_list("period_end", "value", "note")
    )


def test_it_imports_values_from_csv(alice_client: Client, alice: User, measure: Measure) -> None:
    page = upload(
        alice_client,
        measure,
        "falls.csv",
        b'period_end,value,note\n2024-02-29,185,\n31/03/2024,"1,180.5",Revised\n',
    )
    assert "Imported falls.csv: 2 values added, 0 updated." in page
    assert stored(measure) == [
        (D(2024, 1, 31), 190.0, ""),
        (D(2024, 2, 29), 185.0, ""),
        (D(2024, 3, 31), 1180.5, "Revised"),
    ]
    assert DataPoint.objects.get(period_end=D(2024, 2, 29)).entered_by == alice


def test_it_imports_values_from_xlsx(alice_client: Client, measure: Measure) -> None:
    data = xlsx([["Period end", "Value"], [dt.datetime(2024, 2, 29), 185], [D(2024, 3, 31), 42.5]])
    page = upload(alice_client, measure, "falls.xlsx", data)
    assert "2 values added, 0 updated" in page
    assert stored(measure)[1:] == [(D(2024, 2, 29), 185.0, ""), (D(2024, 3, 31), 42.5, "")]


def test_it_lists_every_bad_row_by_line_and_imports_nothing(
    alice_client: Client, measure: Measure
) -> None:
    csv = (
        b"period_end,value,note\n"
        b"2024-02-29,185,fine\n"
        b"2024-02-30,180,\n"
        b"2024-04-30,lots,\n"
        b",170,\n"
        b"2024-02-29,175,\n"
        b"2024-06-30,,\n"
        b"1850-01-31,1,\n"
        b"2024-08-31,1e13,\n"
        b"2024-09-30,5," + b"x" * 301 + b"\n"
    )
    page = upload(alice_client, measure, "falls.csv", csv)
    assert "8 rows of falls.csv need fixing" in page
    assert "Nothing has been imported." in page
    for line, message in [
        (3, "The period end “2024-02-30” is not a date like 2026-03-31."),
        (4, "The value “lots” is not a number."),
        (5, "The period end is missing."),
        (6, "The period ending 2024-02-29 is also on line 2."),
        (7, "The value is missing."),
        (8, "The period end must be a date between 1900 and 2199."),
        (9, "The value must be between -1,000,000,000,000 and 1,000,000,000,000."),
        (10, "The note is longer than 300 characters."),
    ]:
        assert (
            f'<td class="govuk-table__cell govuk-table__cell--numeric">{line}</td><td class="govuk-table__cell">{message}</td>'
            in page
        ), line
    assert stored(measure) == [(D(2024, 1, 31), 190.0, "")]


def test_it_updates_known_periods_when_a_file_is_uploaded_again(
    alice_client: Client, measure: Measure
) -> None:
    first = b"period_end,value,note\n2024-01-31,191,Corrected\n2024-02-29,185,\n"
    assert "1 value added, 1 updated" in upload(alice_client, measure, "a.csv", first)
    assert "0 values added, 2 updated" in upload(alice_client, measure, "a.csv", first)
    again = b"period_end,value\n2024-02-29,186\n2024-03-31,181\n"
    assert "1 value added, 1 updated" in upload(alice_client, measure, "b.csv", again)
    # A file with no note column keeps the notes already stored.
    assert stored(measure) == [
        (D(2024, 1, 31), 191.0, "Corrected"),
        (D(2024, 2, 29), 186.0, ""),
        (D(2024, 3, 31), 181.0, ""),
    ]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("a.csv", b"", "The submitted file is empty."),
        ("a.csv", b"period_end,value\n", "The file has a heading row but no values under it."),
        ("a.csv", b"when,value\n2024-01-31,1\n", "the column “when” is not one we know"),
        ("a.csv", b"value\n1\n", "the column period_end is missing"),
        ("a.xlsx", b"not a workbook", "This file is named .xlsx but is not an Excel workbook."),
        ("a.csv", b"\x00\x01\x02binary", "This file is not a CSV or XLSX file."),
    ],
)
def test_it_explains_a_file_it_cannot_use(
    alice_client: Client, measure: Measure, name: str, data: bytes, message: str
) -> None:
    page = upload(alice_client, measure, name, data)
    assert message in page
    assert measure.data_points.count() == 1


def test_it_lets_only_managers_import(bob_client: Client, measure: Measure) -> None:
    response = bob_client.post(
        reverse("delivery-import-data-points", args=[measure.pk]),
        {"file": SimpleUploadedFile("a.csv", b"period_end,value\n2024-02-29,1\n")},
    )
    assert response.status_code == 403
    assert measure.data_points.count() == 1


def test_it_reads_numbers_as_people_write_them() -> None:
    assert parse_value("1,250") == 1250
    assert parse_value(" -3.5 ") == -3.5
    assert parse_value("45%") == 45
    assert parse_value("2e3") == 2000
    for bad in ["", "1,2", "12,34,5", "nan", "inf", "1.2.3", "--1", "£5", ",", "."]:
        assert parse_value(bad) is None, bad


def test_it_checks_rows_without_touching_the_database() -> None:
    rows, errors = data_points_check(
        read_table(b"Date;Value;Notes\n2024-01-31;12;ok\n\n2024-02-29;x;\n", "a.csv")
    )
    assert [(r.line, r.period_end, r.value, r.note) for r in rows] == [
        (2, D(2024, 1, 31), 12.0, "ok")
    ]
    assert [(e.line, e.message) for e in errors] == [(4, "The value “x” is not a number.")]
    with pytest.raises(ImportFileError, match="appears twice"):
        data_points_check([(1, ["value", "value", "period_end"])])
