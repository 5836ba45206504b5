"""Papers: the real type from the bytes, the size limit, storage and access-checked download."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pypdf
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from partnerwell.core.models import Partnership, User
from partnerwell.meetings import agenda
from partnerwell.meetings.models import (
    AgendaItem,
    Meeting,
    MeetingStatus,
    PackStatus,
    Paper,
    PapersPack,
)
from tests.conftest import client_for


@pytest.fixture(autouse=True)
def _media(settings: pytest.FixtureRequest, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path  # type: ignore[attr-defined]
    return tmp_path


def _stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def pdf_bytes(pages: int = 2) -> bytes:
    writer = pypdf.PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


DOCX = zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
XLSX = zip_bytes({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})
ODT = zip_bytes({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"})


def _upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def _form(paper: SimpleUploadedFile | None = None, **extra: object) -> dict[str, object]:
    data: dict[str, object] = {
        "title": "Budget 2027",
        "description": "The draft budget",
        "ask": "decision",
        "nature": "strategic",
        "presenter": "Finance lead",
        "minutes_needed": "20",
        "paper_title": "Draft budget",
    }
    if paper is not None:
        data["paper"] = paper
    data.update(extra)
    return data


def _item(meeting: Meeting, by: User) -> AgendaItem:
    return agenda.item_submit(
        partnership=meeting.partnership,
        by=by,
        meeting=meeting,
        title="Budget 2027",
        ask="decision",
        nature="strategic",
        minutes_needed=20,
    )


def test_it_submits_an_item_with_a_pdf_under_a_random_name(
    meeting: Meeting, dave: User, _media: Path
) -> None:
    url = reverse("meetings-add-item", args=[meeting.pk])
    response = client_for(dave).post(url, _form(_upload("My Budget (final).pdf", pdf_bytes(3))))
    item = AgendaItem.objects.get(title="Budget 2027")
    assert response.url == item.get_absolute_url()
    paper = Paper.objects.get(item=item)
    assert paper.title == "Draft budget"
    assert paper.kind == "pdf" and paper.pages == 3
    assert paper.original_name == "My Budget (final).pdf"
    assert "Budget" not in paper.file.name
    assert paper.file.name.endswith(".pdf")
    assert len(_stored_files(_media)) == 1


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [("notes.docx", DOCX, "docx"), ("figures.xlsx", XLSX, "xlsx"), ("minutes.odt", ODT, "odt")],
)
def test_it_accepts_office_files(
    meeting: Meeting, bob: User, name: str, data: bytes, kind: str
) -> None:
    item = _item(meeting, bob)
    paper = agenda.paper_add(item=item, by=bob, upload=_upload(name, data))
    assert paper.kind == kind and paper.pages is None
    assert paper.title == "Budget 2027"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("budget.pdf", b"MZ\x90\x00" + b"\x00" * 200, "is a program, not a document"),
        ("budget.txt", b"Just some text", "is not a PDF, Word (.docx)"),
        ("budget.docx", pdf_bytes(1), "is named .docx but it is really a PDF"),
        ("budget.docx", zip_bytes({"readme.txt": b"hello"}), "is a zip archive, not a Word"),
        ("budget.pdf", b"", "is empty"),
        ("budget.pdf", b"%PDF-1.7\nthis is not really a pdf", "The PDF cannot be read"),
        ("budget.pdf", b"<html>not a pdf</html>", "is not really a PDF"),
    ],
)
def test_it_refuses_bad_files_and_keeps_what_was_typed(
    meeting: Meeting, dave: User, _media: Path, name: str, data: bytes, message: str
) -> None:
    url = reverse("meetings-add-item", args=[meeting.pk])
    response = client_for(dave).post(url, _form(_upload(name, data)))
    page = response.content.decode()
    assert response.status_code == 200
    assert message in page
    assert "choose the file again" in page
    # The typed answers are still in the form.
    assert 'value="Budget 2027"' in page and "The draft budget" in page
    assert not AgendaItem.objects.filter(title="Budget 2027").exists()
    assert not Paper.objects.exists()
    assert _stored_files(_media) == []


def test_it_refuses_a_file_over_the_size_limit(
    meeting: Meeting, dave: User, settings: pytest.FixtureRequest, _media: Path
) -> None:
    settings.PAPER_MAX_MB = 1  # type: ignore[attr-defined]
    big = pdf_bytes(1) + b"%" + b"x" * (1024 * 1024)
    url = reverse("meetings-add-item", args=[meeting.pk])
    page = client_for(dave).post(url, _form(_upload("big.pdf", big))).content.decode()
    assert "a paper can be at most 1 MB" in page
    assert not AgendaItem.objects.filter(title="Budget 2027").exists()
    assert _stored_files(_media) == []


def test_it_refuses_a_password_protected_pdf(meeting: Meeting, bob: User) -> None:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=100, height=100)
    writer.encrypt(user_password="secret", owner_password="owner")
    out = io.BytesIO()
    writer.write(out)
    item = _item(meeting, bob)
    with pytest.raises(ValidationError, match="protected by a password"):
        agenda.paper_add(item=item, by=bob, upload=_upload("locked.pdf", out.getvalue()))
    assert not Paper.objects.exists()


def test_it_adds_and_replaces_a_paper_and_rebuilds_a_published_pack(
    meeting: Meeting, bob: User
) -> None:
    item = _item(meeting, bob)
    bob_client = client_for(bob)
    url = reverse("meetings-add-paper", args=[item.pk])
    response = bob_client.post(
        url, {"paper": _upload("v1.pdf", pdf_bytes(1)), "title": "Budget paper"}
    )
    assert response.url == item.get_absolute_url()
    first = Paper.objects.get(item=item)
    assert not PapersPack.objects.filter(meeting=meeting).exists()  # papers not published yet

    # Publish the papers: the meeting is at that stage and version 1 of the pack is ready.
    Meeting.objects.filter(pk=meeting.pk).update(
        status=MeetingStatus.PAPERS_PUBLISHED, papers_published_at=timezone.now()
    )
    PapersPack.objects.create(meeting=meeting, version=1, status=PackStatus.READY)
    bob_client.post(url, {"paper": _upload("v2.pdf", pdf_bytes(2)), "replace": first.pk})
    first.refresh_from_db()
    assert first.replaced_at is not None
    second = Paper.objects.get(item=item, replaced_at__isnull=True)
    assert second.title == "Budget paper" and second.pages == 2
    packs = list(PapersPack.objects.filter(meeting=meeting).order_by("version"))
    assert [(p.version, p.change_note) for p in packs] == [
        (1, ""),
        (2, "Paper ‘Budget paper’ replaced"),
    ]
    rows = {row["item"].pk: row for row in agenda.agenda_rows(meeting)}
    assert item.pk not in rows  # not accepted yet, so not on the agenda


def test_it_refuses_papers_from_others(
    meeting: Meeting, bob: User, dave: User, carol_client: Client
) -> None:
    item = _item(meeting, bob)
    url = reverse("meetings-add-paper", args=[item.pk])
    assert client_for(dave).get(url).status_code == 403
    response = client_for(dave).post(url, {"paper": _upload("x.pdf", pdf_bytes(1))})
    assert response.status_code == 403
    assert carol_client.get(url).status_code == 404
    assert carol_client.post(url, {"paper": _upload("x.pdf", pdf_bytes(1))}).status_code == 404
    assert not Paper.objects.exists()


def test_it_downloads_a_paper_as_an_attachment(meeting: Meeting, bob: User, dave: User) -> None:
    item = _item(meeting, bob)
    paper = agenda.paper_add(item=item, by=bob, upload=_upload("Budget – final.pdf", pdf_bytes()))
    response = client_for(dave).get(reverse("meetings-download-paper", args=[paper.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment")
    assert "Budget" in response["Content-Disposition"]
    assert b"".join(response.streaming_content).startswith(b"%PDF-")  # type: ignore[attr-defined]


def test_it_hides_papers_from_other_partnerships_and_anonymous_people(
    meeting: Meeting, bob: User, carol_client: Client, client: Client
) -> None:
    item = _item(meeting, bob)
    paper = agenda.paper_add(item=item, by=bob, upload=_upload("b.docx", DOCX))
    url = reverse("meetings-download-paper", args=[paper.pk])
    assert carol_client.get(url).status_code == 404
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(resolve_url(settings.LOGIN_URL))


def test_it_hides_a_declined_items_papers_from_other_members(
    meeting: Meeting, alice: User, bob: User, dave: User
) -> None:
    item = _item(meeting, dave)
    paper = agenda.paper_add(item=item, by=dave, upload=_upload("grievance.pdf", pdf_bytes(1)))
    url = reverse("meetings-download-paper", args=[paper.pk])
    assert client_for(bob).get(url).status_code == 200
    agenda.item_triage(item=item, by=alice, decision="decline", reason="Not for this forum.")
    response = client_for(bob).get(url)
    assert response.status_code == 404
    assert client_for(dave).get(url).status_code == 200
    assert client_for(alice).get(url).status_code == 200


def test_it_lists_papers_on_the_agenda(
    meeting: Meeting, partnership_a: Partnership, bob: User, alice: User
) -> None:
    item = _item(meeting, bob)
    agenda.paper_add(item=item, by=bob, upload=_upload("b.pdf", pdf_bytes(4)), title="Budget")
    agenda.item_triage(item=item, by=alice, decision="accept")
    row = next(r for r in agenda.agenda_rows(meeting) if r["item"].pk == item.pk)
    assert [p.title for p in row["papers"]] == ["Budget"]
    page = client_for(alice).get(meeting.get_absolute_url()).content.decode()
    assert reverse("meetings-download-paper", args=[row["papers"][0].pk]) in page
    assert "4 pages" in page
