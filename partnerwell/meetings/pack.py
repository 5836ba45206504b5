"""The papers pack as one PDF: cover and agenda (WeasyPrint), then each PDF paper (pypdf).

Office files cannot be converted here, so they are listed on a page of their own
with links; a PDF paper that cannot be read is listed there too, with the reason,
and never stops the rest of the pack from being built.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from io import BytesIO
from typing import IO, Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from pypdf import PdfReader, PdfWriter

from partnerwell.meetings.models import Meeting, Paper, PaperKind, PapersPack

logger = logging.getLogger(__name__)

COVER_TEMPLATE = "meetings/pack/cover.html"
#: A made-up origin for the PDF's relative links; nothing is ever fetched from it.
PDF_BASE_URL = "https://partnerwell.invalid/"
# Rendering the front pages again settles the page numbers the agenda shows; the
# count very rarely changes twice, and this bounds the work if it ever did.
MAX_FRONT_RENDERS = 3


@dataclass
class PackPaper:
    """A paper as it goes into the pack: its place in the PDF, or why it is left out."""

    paper: Paper
    number: int
    item_title: str
    pages: int = 0
    start_page: int | None = None
    reason: str = ""
    link: str = ""

    @property
    def included(self) -> bool:
        return not self.reason


@dataclass
class PackRow:
    """One agenda row with its papers prepared for the pack."""

    row: dict[str, Any]
    papers: list[PackPaper] = field(default_factory=list)


def paper_link(paper: Paper, meeting: Meeting) -> str:
    """The absolute, access-checked address of a paper (the meeting page if none exists)."""
    try:
        path = reverse("meetings-download-paper", args=[paper.pk])
    except NoReverseMatch:
        path = meeting.get_absolute_url()
    return settings.SITE_URL + path


def _check_pdf(paper: Paper) -> tuple[int, str]:
    """How many pages a PDF paper has, or why it cannot go into the pack."""
    try:
        with paper.file.open("rb") as handle:
            reader = PdfReader(handle)
            if reader.is_encrypted and not reader.decrypt(""):
                return 0, "It is protected by a password. Upload a copy without a password."
            pages = len(reader.pages)
            # Reading each page's size parses it, which finds most broken files here
            # rather than halfway through the merge.
            for page in reader.pages:
                _ = page.mediabox
    except FileNotFoundError:
        return 0, "Its file is missing from the server. Upload the paper again."
    # A damaged upload can raise almost anything inside the PDF parser; whatever it is,
    # the paper is listed with the reason and the rest of the pack is still built.
    except Exception as exc:
        logger.info("Paper %s could not be read as a PDF: %r", paper.pk, exc)
        return 0, (
            "It could not be read as a PDF. Open it, save it again as a PDF and upload it again."
        )
    if pages == 0:
        return 0, "It has no pages. Upload the paper again."
    return pages, ""


def prepare(meeting: Meeting) -> list[PackRow]:
    """The agenda rows with each paper checked: in the PDF (with its pages) or listed."""
    prepared = []
    from partnerwell.meetings.agenda import agenda_rows

    for row in agenda_rows(meeting):
        pack_row = PackRow(row=row)
        for paper in row.get("papers") or []:
            entry = PackPaper(
                paper=paper,
                number=row["number"],
                item_title=row["item"].title,
                link=paper_link(paper, meeting),
            )
            if paper.kind == PaperKind.PDF:
                entry.pages, entry.reason = _check_pdf(paper)
            else:
                label = PaperKind(paper.kind).label if paper.kind in PaperKind.values else "This"
                entry.reason = f"{label} files cannot be put into the PDF. Open it from the link."
            pack_row.papers.append(entry)
        prepared.append(pack_row)
    return prepared


def _refusing_fetcher() -> Any:
    from weasyprint.urls import URLFetcher

    class RefusingFetcher(URLFetcher):
        """The cover carries its own styles: nothing, on this machine or off it, is fetched."""

        def fetch(self, url: str, headers: dict[str, str] | None = None) -> Any:
            raise ValueError(f"The papers pack fetches nothing, not {url}")

    return RefusingFetcher()


def _front_html(pack: PapersPack, rows: list[PackRow], previous: PapersPack | None) -> str:
    meeting = pack.meeting
    left_out = [p for r in rows for p in r.papers if not p.included]
    # The cover and agenda give times in the meeting's own zone, whatever the worker's.
    with timezone.override(meeting.tz):
        return _render_front(pack, rows, previous, left_out)


def _render_front(
    pack: PapersPack, rows: list[PackRow], previous: PapersPack | None, left_out: list[Any]
) -> str:
    meeting = pack.meeting
    return render_to_string(
        COVER_TEMPLATE,
        {
            "pack": pack,
            "meeting": meeting,
            "partnership": meeting.partnership,
            "local_start": meeting.local_start,
            "local_end": meeting.local_end,
            "meeting_link": settings.SITE_URL + meeting.get_absolute_url(),
            "rows": rows,
            "left_out": left_out,
            "previous": previous,
            "produced": timezone.now().astimezone(meeting.tz),
        },
    )


def render_front(pack: PapersPack, rows: list[PackRow], previous: PapersPack | None) -> bytes:
    """The cover, agenda and list of papers left out, with each paper's page in the pack."""
    from weasyprint import HTML

    fetcher = _refusing_fetcher()
    front_pages = 0
    document = None
    for _ in range(MAX_FRONT_RENDERS):
        page = front_pages + 1
        for row in rows:
            for entry in row.papers:
                if entry.included:
                    entry.start_page = page
                    page += entry.pages
        html = _front_html(pack, rows, previous)
        document = HTML(string=html, base_url=PDF_BASE_URL, url_fetcher=fetcher).render()
        if len(document.pages) == front_pages:
            break
        front_pages = len(document.pages)
    assert document is not None
    pdf = document.write_pdf()
    assert pdf is not None  # write_pdf returns the bytes when given no target
    return bytes(pdf)


def build(pack: PapersPack, out: IO[bytes]) -> int:
    """Write the whole pack as a PDF to `out`; returns its number of pages.

    Papers are read one at a time from their files rather than loaded together.
    """
    meeting = pack.meeting
    rows = prepare(meeting)
    previous = (
        PapersPack.objects.filter(meeting=meeting, version__lt=pack.version)
        .order_by("-version")
        .first()
    )
    writer = PdfWriter()
    writer.append(BytesIO(render_front(pack, rows, previous)))
    for row in rows:
        included = [p for p in row.papers if p.included]
        if not included:
            continue
        starts = []
        for entry in included:
            starts.append(writer.get_num_pages())
            with entry.paper.file.open("rb") as handle:
                writer.append(handle, import_outline=False)
        # A bookmark per agenda item, and one per paper beneath it, to jump through the pack.
        parent = writer.add_outline_item(
            title=f"Item {row.row['number']}: {row.row['item'].title}", page_number=starts[0]
        )
        for entry, start in zip(included, starts, strict=True):
            writer.add_outline_item(title=entry.paper.title, page_number=start, parent=parent)
    writer.add_metadata(
        {
            "/Title": f"{meeting.title}: papers, version {pack.version}",
            "/Author": meeting.partnership.name,
            "/Creator": "partnerwell",
        }
    )
    writer.page_mode = "/UseOutlines"
    pages = writer.get_num_pages()
    writer.write(out)
    writer.close()
    return pages
