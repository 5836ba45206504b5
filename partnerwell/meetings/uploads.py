"""Checking and storing meeting papers: the real file type comes from the bytes, not the name.

A paper is refused (nothing saved) when it is empty, too big, not a PDF, DOCX, XLSX or
ODT file, named as one type but really another, or a PDF that cannot be read.
"""

from __future__ import annotations

import logging
import secrets
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO

import pypdf
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from partnerwell.meetings.models import PaperKind

CONTENT_TYPES: dict[str, str] = {
    PaperKind.PDF: "application/pdf",
    PaperKind.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    PaperKind.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    PaperKind.ODT: "application/vnd.oasis.opendocument.text",
}

KIND_WORDS: dict[str, str] = {
    PaperKind.PDF: "a PDF",
    PaperKind.DOCX: "a Word document (.docx)",
    PaperKind.XLSX: "an Excel workbook (.xlsx)",
    PaperKind.ODT: "an OpenDocument text file (.odt)",
}

ALLOWED = "PDF, Word (.docx), Excel (.xlsx) or OpenDocument text (.odt)"

# Headers of programs people might rename by mistake (or not): Windows, Linux, macOS.
PROGRAM_HEADERS = (b"MZ", b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa\xce", b"#!")

ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"

# pypdf logs every oddity of a damaged file; the person sees our sentence instead.
logging.getLogger("pypdf").setLevel(logging.ERROR)


@dataclass(frozen=True)
class CheckedPaper:
    kind: str
    size: int
    pages: int | None
    original_name: str


def _refuse(message: str, field: str = "paper") -> ValidationError:
    return ValidationError({field: message})


def _kind_from_zip(upload: IO[bytes]) -> str | None:
    try:
        with zipfile.ZipFile(upload) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" in names and "word/document.xml" in names:
                return PaperKind.DOCX
            if "[Content_Types].xml" in names and "xl/workbook.xml" in names:
                return PaperKind.XLSX
            if "mimetype" in names and archive.read("mimetype").strip() == ODT_MIMETYPE:
                return PaperKind.ODT
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError):
        return None
    return None


def _pdf_pages(upload: IO[bytes]) -> int:
    """The number of pages, or a refusal when the PDF is damaged or locked."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = pypdf.PdfReader(upload)
            if reader.is_encrypted and not reader.decrypt(""):
                raise _refuse(
                    "The PDF is protected by a password. Save a copy without the password "
                    "and upload that."
                )
            pages = len(reader.pages)
    except ValidationError:
        raise
    # pypdf raises many kinds of error on a damaged file; each means the same to a person.
    except Exception:
        raise _refuse(
            "The PDF cannot be read; it may be damaged or locked. Save it again from the "
            "program that made it and upload the new copy."
        ) from None
    if pages == 0:
        raise _refuse("The PDF has no pages. Check it is the right file and upload it again.")
    return pages


def check_upload(upload: UploadedFile, field: str = "paper") -> CheckedPaper:
    """What the file really is, or a ValidationError saying what to do instead."""
    name = PurePath(upload.name or "").name
    size = upload.size or 0
    limit = settings.PAPER_MAX_MB
    if size == 0:
        raise _refuse(f"“{name}” is empty. Check it is the right file and upload it again.", field)
    if size > limit * 1024 * 1024:
        raise _refuse(
            f"“{name}” is {size / (1024 * 1024):.1f} MB; a paper can be at most {limit} MB. "
            "Make it smaller (for example, compress its pictures) or split it into parts.",
            field,
        )
    extension = PurePath(name).suffix.lower().lstrip(".")
    if extension not in CONTENT_TYPES:
        raise _refuse(
            f"“{name}” is not a {ALLOWED} file. Save the paper in one of those formats "
            "and upload it again.",
            field,
        )
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if head.startswith(PROGRAM_HEADERS):
        raise _refuse(
            f"“{name}” is a program, not a document, even though its name ends .{extension}. "
            f"Upload the paper itself as a {ALLOWED} file.",
            field,
        )
    kind: str | None = None
    if head.startswith(b"%PDF-"):
        kind = PaperKind.PDF
    elif head.startswith(b"PK\x03\x04"):
        kind = _kind_from_zip(upload)
        upload.seek(0)
        if kind is None:
            raise _refuse(
                f"“{name}” is a zip archive, not a Word, Excel or OpenDocument file. "
                f"Upload the paper itself as a {ALLOWED} file.",
                field,
            )
    if kind is None:
        raise _refuse(
            f"“{name}” is not really {KIND_WORDS[extension]}: its contents do not match its "
            f"name. Save the paper again as a {ALLOWED} file and upload the new copy.",
            field,
        )
    if kind != extension:
        raise _refuse(
            f"“{name}” is named .{extension} but it is really {KIND_WORDS[kind]}. Rename it "
            f"to end .{kind} and upload it again.",
            field,
        )
    pages = None
    if kind == PaperKind.PDF:
        pages = _pdf_pages(upload)
        upload.seek(0)
    return CheckedPaper(kind=kind, size=size, pages=pages, original_name=name[:255])


def stored_name(checked: CheckedPaper) -> str:
    """A random file name: the person's own file name never reaches the disk path."""
    return f"{secrets.token_urlsafe(18)}.{checked.kind}"
