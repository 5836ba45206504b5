"""A small spreadsheet cannot hold the import (issue 9, item 5).

Every XLSX upload goes through one guarded reader (imports.read_table): the zip's
directory is checked before anything is unpacked, and the sheet is read as a
stream that stops at the first row, column or cell beyond the limits.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from django.test import Client

from partnerwell.core import imports
from partnerwell.core.imports import (
    MAX_ROWS,
    XLSX_MAX_CELLS,
    XLSX_MAX_COLUMNS,
    ImportFileError,
    read_table,
)
from partnerwell.core.models import ImportStatus, MemberImport, Partnership
from tests.core.test_import_members import GOOD_ROWS, counts, file_error, upload, xlsx_bytes

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import import_bench

TOO_BIG = "This Excel file is too big to import"


def _refused(data: bytes) -> str:
    with pytest.raises(ImportFileError) as caught:
        read_table(data, "members.xlsx")
    return str(caught.value)


def test_it_refuses_a_zip_bomb_from_its_directory_and_imports_nothing(
    alice_client: Client, partnership_a: Partnership
) -> None:
    data = import_bench.huge_compressible_sheet(mb=60)
    assert len(data) < 1024 * 1024
    before = counts()
    response = upload(alice_client, partnership_a, data, "members.xlsx")
    assert response.status_code == 200
    message = file_error(response)
    assert TOO_BIG in message
    assert f"{MAX_ROWS + 1:,} rows" in message and f"{XLSX_MAX_COLUMNS} columns" in message
    assert counts() == before
    # Only the refusal is kept, to show its reason: no bytes, no rows, nothing to confirm.
    refused = MemberImport.objects.get()
    assert (refused.status, bytes(refused.data), refused.rows) == (ImportStatus.REFUSED, b"", [])


def test_it_does_not_pad_rows_to_the_width_a_sheet_declares() -> None:
    # The file of the issue: short rows in a sheet declaring itself 16,384 columns wide.
    table = read_table(import_bench.declared_dimension_bomb(2_000), "members.xlsx")
    assert len(table) == 2_000
    assert max(len(cells) for _, cells in table) == 1


def test_it_refuses_too_many_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    # The limit lowered for speed: the same check, without reading 20,000 rows.
    monkeypatch.setattr(imports, "MAX_ROWS", 50)
    assert len(read_table(xlsx_bytes([GOOD_ROWS[0]] * 50), "members.xlsx")) == 51
    assert TOO_BIG in _refused(xlsx_bytes([GOOD_ROWS[0]] * 51))


def test_it_refuses_a_row_far_below_the_list() -> None:
    sheet = import_bench._sheet(
        b'<row r="1"><c r="A1"><v>1</v></c></row><row r="999999"><c r="A999999"><v>1</v></c></row>'
    )
    assert TOO_BIG in _refused(import_bench._package(sheet))


def test_it_refuses_too_many_columns() -> None:
    heading = ["organisation", "name", "email"] + [f"extra {i}" for i in range(XLSX_MAX_COLUMNS)]
    assert TOO_BIG in _refused(xlsx_bytes([], heading))
    assert TOO_BIG in _refused(import_bench.far_cell_rows())


def test_it_refuses_too_many_cells_even_when_empty_and_formatted() -> None:
    data = import_bench.styled_empty_cells(count=XLSX_MAX_CELLS + 50)
    assert TOO_BIG in _refused(data)


def test_it_refuses_a_sheet_of_tiny_unknown_elements() -> None:
    assert TOO_BIG in _refused(import_bench.tiny_elements(mb=5))


def test_it_refuses_a_huge_shared_strings_table_before_reading_it() -> None:
    assert TOO_BIG in _refused(import_bench.shared_strings_bomb(mb=9))


def test_it_refuses_entity_expansion() -> None:
    assert "cannot be opened" in _refused(import_bench.entity_bomb())


def test_it_still_imports_a_normal_workbook(
    alice_client: Client, partnership_a: Partnership
) -> None:
    response = upload(alice_client, partnership_a, xlsx_bytes(GOOD_ROWS), "members.xlsx")
    assert response.status_code == 302
    pending = MemberImport.objects.get()
    assert [r["email"] for r in pending.rows] == [
        "fay@example.org",
        "gil@example.org",
        "hana@example.org",
    ]


def test_it_reads_a_workbook_at_the_column_limit_with_a_gap_above_the_heading() -> None:
    heading = [f"column {i}" for i in range(1, XLSX_MAX_COLUMNS + 1)]
    buffer = io.BytesIO(xlsx_bytes([["x"] * XLSX_MAX_COLUMNS], heading))
    table = read_table(buffer.getvalue(), "wide.xlsx")
    assert [line for line, _ in table] == [1, 2]
    assert len(table[0][1]) == XLSX_MAX_COLUMNS
