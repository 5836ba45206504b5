"""Time and memory of reading hostile and worst-allowed XLSX files (issue 9, item 5).

Builds each file in memory, reads it with the shared guarded reader
(`partnerwell.core.imports.read_table`) in a fresh process, and reports the
seconds, the peak memory that process reached above its start, and whether the
file was read or refused. With --old it also times openpyxl's plain read-only
reader (what the import used before) on the same files, each under a time limit.

    .venv/bin/python bench/import_bench.py                 # table + bench/results/import_bench.json
    .venv/bin/python bench/import_bench.py --old --old-timeout 60
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
HEADER = ["organisation", "sector", "name", "email", "role", "side", "decision-maker", "end date"]


def _column(n: int) -> str:
    letters = ""
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _package(sheet_xml: bytes, shared: bytes | None = None, styles: bytes | None = None) -> bytes:
    """A minimal valid XLSX around the given sheet XML (and shared strings / styles)."""
    rels = (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxml'
        'formats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/'
        'workbook.xml"/></Relationships>'
    )
    parts = [
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sheet.main+xml"/>',
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxml'
        'formats-officedocument.spreadsheetml.worksheet+xml"/>',
    ]
    book_rels = [
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    ]
    if shared is not None:
        parts.append(
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxml'
            'formats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        )
        book_rels.append(
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
        )
    if styles is not None:
        parts.append(
            '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.styles+xml"/>'
        )
        book_rels.append(
            '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/styles" Target="styles.xml"/>'
        )
    types = (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.'
        'openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
        '"application/xml"/>' + "".join(parts) + "</Types>"
    )
    workbook = (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{NS}" xmlns:r="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Members" '
        'sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    book_rels_xml = (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxml'
        'formats.org/package/2006/relationships">' + "".join(book_rels) + "</Relationships>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr("_rels/.rels", rels)
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr("xl/_rels/workbook.xml.rels", book_rels_xml)
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        if shared is not None:
            archive.writestr("xl/sharedStrings.xml", shared)
        if styles is not None:
            archive.writestr("xl/styles.xml", styles)
    return buffer.getvalue()


def _sheet(rows: bytes, dimension: str = "") -> bytes:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{NS}">{dim}<sheetData>'.encode()
        + rows
        + b"</sheetData></worksheet>"
    )


def _inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def members_file(rows: int, columns: int = 8, width: int = 0) -> bytes:
    """A member list written as Excel would: the heading, then `rows` members."""
    out = io.BytesIO()
    header = HEADER + [f"extra {i}" for i in range(columns - len(HEADER))]
    cells = "".join(_inline(f"{_column(c + 1)}1", header[c]) for c in range(columns))
    out.write(f'<row r="1">{cells}</row>'.encode())
    for r in range(2, rows + 2):
        values = [
            f"Organisation {r % 300}",
            "Housing",
            f"Person Number {r}".ljust(width, "x"),
            f"person{r}@example.org",
            "member",
            "",
            "no",
            "",
        ] + ["x" * max(width, 1) for _ in range(columns - len(HEADER))]
        cells = "".join(
            _inline(f"{_column(c + 1)}{r}", values[c]) for c in range(columns) if values[c]
        )
        out.write(f'<row r="{r}">{cells}</row>'.encode())
    return _package(_sheet(out.getvalue()))


def declared_dimension_bomb(count: int = 20_000) -> bytes:
    """20,000 short rows in a sheet that declares itself 16,384 columns wide: the old
    reader padded every row to that width (the 0.75 MB file of the issue)."""
    rows = b"".join(
        f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>'.encode() for r in range(1, count + 1)
    )
    return _package(_sheet(rows, f"A1:XFD{count}"))


def far_cell_rows() -> bytes:
    """Each row has one cell in the last column (XFD): a row as wide as Excel allows."""
    rows = b"".join(
        f'<row r="{r}"><c r="A{r}"><v>1</v></c><c r="XFD{r}"><v>1</v></c></row>'.encode()
        for r in range(1, 20_001)
    )
    return _package(_sheet(rows))


def styled_empty_cells(count: int = 2_000_000) -> bytes:
    """Millions of empty but formatted cells (what "format the whole column" leaves)."""
    out = io.BytesIO()
    per_row = 50
    for r in range(1, count // per_row + 1):
        cells = "".join(f'<c r="{_column(c)}{r}" s="1"/>' for c in range(1, per_row + 1))
        out.write(f'<row r="{r}">{cells}</row>'.encode())
    return _package(_sheet(out.getvalue()))


def huge_compressible_sheet(mb: int = 200) -> bytes:
    """A 200 MB sheet of one repeated row: a zip bomb refused from the zip directory."""
    row = b'<row><c t="inlineStr"><is><t>' + b"A" * 1000 + b"</t></is></c></row>"
    body = row * (mb * 1024 * 1024 // len(row))
    return _package(_sheet(body))


def tiny_elements(mb: int = 35) -> bytes:
    """Millions of tiny unknown elements in the sheet, under the unpacked-size limit."""
    return _package(_sheet(b"<x/>" * (mb * 1024 * 1024 // 4)))


def shared_strings_bomb(mb: int = 35) -> bytes:
    """A shared-strings table of millions of one-letter strings, under the size limit."""
    count = mb * 1024 * 1024 // 16
    shared = (
        f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{NS}" count="{count}">'.encode()
        + b"<si><t>a</t></si>" * count
        + b"</sst>"
    )
    return _package(_sheet(b'<row r="1"><c r="A1" t="s"><v>0</v></c></row>'), shared=shared)


def entity_bomb() -> bytes:
    """The billion-laughs entity expansion inside the sheet XML."""
    lol = "".join(f'<!ENTITY l{i} "' + f"&l{i - 1};" * 10 + '">' for i in range(1, 10))
    doctype = f'<!DOCTYPE worksheet [<!ENTITY l0 "lol">{lol}]>'
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8"?>{doctype}<worksheet xmlns="{NS}"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>&l9;</t></is></c></row>'
        "</sheetData></worksheet>"
    ).encode()
    return _package(sheet)


CASES: dict[str, tuple[str, Callable[[], bytes]]] = {
    "normal_1000_members": ("a 1,000-member list", lambda: members_file(1_000)),
    "limit_20000_members": ("20,000 members x 8 columns", lambda: members_file(20_000)),
    "worst_allowed": (
        "20,000 rows x 12 columns of 100-character text (just under every limit)",
        lambda: members_file(20_000, columns=12, width=100),
    ),
    "declared_dimension_bomb": (
        "20,000 rows declared 16,384 columns wide",
        declared_dimension_bomb,
    ),
    "far_cell_rows": ("20,000 rows with a cell in column XFD", far_cell_rows),
    "styled_empty_cells": ("2 million formatted empty cells", styled_empty_cells),
    "too_many_rows": ("20,001 members (one row over)", lambda: members_file(20_001)),
    "huge_compressible_sheet": ("a 200 MB sheet that zips small", huge_compressible_sheet),
    "tiny_elements": ("35 MB of tiny unknown XML elements", tiny_elements),
    "shared_strings_bomb": ("35 MB shared-strings table of 1-letter strings", shared_strings_bomb),
    "entity_bomb": ("billion-laughs entities in the sheet", entity_bomb),
}


def _peak_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _run_one(case: str, old: bool, path: str) -> dict[str, object]:
    """In this (fresh) process: load the file built by the parent, read it, report the
    time and the peak memory the read added (building the file is not counted)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerwell.settings")
    os.environ.setdefault("DEBUG", "true")
    import django

    django.setup()
    import openpyxl  # noqa: F401 - loaded before the baseline so it is not counted

    from partnerwell.core.imports import ImportFileError, read_table

    data = Path(path).read_bytes()
    baseline = _peak_kb()
    start = time.perf_counter()
    outcome = "read"
    rows = 0
    try:
        if old:
            from openpyxl import load_workbook

            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            for _ in book.worksheets[0].iter_rows(values_only=True):
                rows += 1
                if rows > 20_001:
                    break
        else:
            rows = len(read_table(data, "bench.xlsx"))
    except ImportFileError as exc:
        outcome = "refused: " + str(exc)[:60] + "…"
    except Exception as exc:
        outcome = f"error: {type(exc).__name__}: {str(exc)[:50]}"
    seconds = time.perf_counter() - start
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        unpacked = sum(i.file_size for i in archive.infolist())
    return {
        "case": case,
        "reader": "old openpyxl iter_rows" if old else "guarded read_table",
        "file_kb": round(len(data) / 1024, 1),
        "unpacked_mb": round(unpacked / 1024 / 1024, 1),
        "seconds": round(seconds, 3),
        # ru_maxrss is in kilobytes on Linux: the peak above the process's state before reading.
        "peak_mb_above_start": round(max(0, _peak_kb() - baseline) / 1024, 1),
        "rows": rows,
        "outcome": outcome,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", action="store_true", help="also time the old reader")
    parser.add_argument("--old-timeout", type=int, default=60)
    parser.add_argument("--case", choices=sorted(CASES), action="append")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "import_bench.json"))
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--one-old", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_run_one(args.one, args.one_old, args.file)))
        return
    results = []
    files = Path(args.output).parent / "xlsx"
    files.mkdir(parents=True, exist_ok=True)
    for case in args.case or list(CASES):
        path = files / f"{case}.xlsx"
        path.write_bytes(CASES[case][1]())
        for old in [False, True] if args.old else [False]:
            command = [sys.executable, __file__, "--one", case, "--file", str(path)]
            command += ["--one-old"] if old else []
            try:
                done = subprocess.run(
                    command,
                    capture_output=True,
                    text=True,
                    timeout=args.old_timeout if old else 600,
                    cwd=ROOT,
                )
                result = json.loads(done.stdout.strip().splitlines()[-1])
            except subprocess.TimeoutExpired:
                result = {
                    "case": case,
                    "reader": "old openpyxl iter_rows",
                    "seconds": f">{args.old_timeout}",
                    "outcome": "stopped at the time limit",
                }
            except (json.JSONDecodeError, IndexError):
                result = {"case": case, "outcome": "crashed: " + done.stderr[-200:]}
            results.append(result)
            print(
                f"{result['case']:<26} {result.get('reader', ''):<24} "
                f"{result.get('file_kb', ''):>9} KB {result.get('unpacked_mb', ''):>7} MB "
                f"{result.get('seconds', ''):>8} s {result.get('peak_mb_above_start', ''):>7} MB  "
                f"{result.get('outcome', '')}",
                flush=True,
            )
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "descriptions": {k: v[0] for k, v in CASES.items()},
        "results": results,
    }
    Path(args.output).write_text(json.dumps(summary, indent=2))
    print(f"Written to {args.output}")


if __name__ == "__main__":
    main()
