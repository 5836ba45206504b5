"""Publishing the papers, building the pack as one PDF, rebuilding it, and its downloads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader
from pypdf.generic import Destination

from partnerwell.core.models import Membership, Partnership, Role, User
from partnerwell.meetings import agenda, papers
from partnerwell.meetings import pack as builder
from partnerwell.meetings.models import (
    AgendaItem,
    ItemStatus,
    Meeting,
    MeetingStatus,
    PackStatus,
    Paper,
    PaperKind,
    PapersPack,
)
from tests.conftest import _join, _person

pytestmark = pytest.mark.django_db

Capture = Callable[..., Any]


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    # Papers and packs go to a folder of the test's own, never the project's media.
    settings.MEDIA_ROOT = tmp_path / "media"


def pdf_with_pages(*texts: str) -> bytes:
    """A real PDF with one page per text, made with WeasyPrint."""
    from weasyprint import HTML

    body = "".join(
        f"<p{' style=page-break-before:always' if n else ''}>{text}</p>"
        for n, text in enumerate(texts)
    )
    result = HTML(string=f"<html><body>{body}</body></html>").write_pdf()
    assert result is not None
    return bytes(result)


def add_item(meeting: Meeting, title: str, position: int) -> AgendaItem:
    return AgendaItem.objects.create(
        partnership=meeting.partnership,
        meeting=meeting,
        title=title,
        status=ItemStatus.ACCEPTED,
        position=position,
        minutes_needed=10,
    )


def add_paper(item: AgendaItem, title: str, data: bytes, kind: str = PaperKind.PDF) -> Paper:
    paper = Paper(
        item=item, title=title, original_name=f"{title}.{kind}", kind=kind, size=len(data)
    )
    paper.file.save(f"{title}.{kind}", ContentFile(data), save=False)
    paper.save()
    return paper


def agree(meeting: Meeting) -> Meeting:
    Meeting.objects.filter(pk=meeting.pk).update(
        status=MeetingStatus.AGENDA_AGREED, agenda_agreed_at=timezone.now()
    )
    meeting.refresh_from_db()
    return meeting


def page_texts(pack: PapersPack) -> list[str]:
    with pack.file.open("rb") as handle:
        reader = PdfReader(BytesIO(handle.read()))
    return [page.extract_text() for page in reader.pages]


def publish(client: Client, meeting: Meeting, capture: Capture) -> Any:
    with capture(execute=True):
        return client.post(reverse("meetings-publish-papers", args=[meeting.pk]))


@pytest.fixture
def agreed(meeting: Meeting) -> Meeting:
    return agree(meeting)


def test_it_refuses_to_publish_before_the_agenda_is_agreed(
    alice_client: Client, meeting: Meeting, django_capture_on_commit_callbacks: Capture
) -> None:
    response = alice_client.post(reverse("meetings-publish-papers", args=[meeting.pk]))
    assert response.status_code == 302
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(m.startswith("The agenda has not been agreed yet.") for m in shown)
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.AGENDA_OPEN
    assert meeting.papers_published_at is None
    assert not PapersPack.objects.exists()


def test_it_builds_the_pack_with_every_pdf_paper_in_agenda_order(
    alice_client: Client, agreed: Meeting, django_capture_on_commit_callbacks: Capture
) -> None:
    # Positions put "Budget" (15) before "Workforce plan" (25) whatever the order made.
    later = add_item(agreed, "Workforce plan", 25)
    earlier = add_item(agreed, "Budget", 15)
    add_paper(later, "Workforce paper", pdf_with_pages("WORKFORCE-1", "WORKFORCE-2"))
    add_paper(earlier, "Budget paper", pdf_with_pages("BUDGET-1", "BUDGET-2", "BUDGET-3"))

    response = publish(alice_client, agreed, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert response["Location"] == agreed.get_absolute_url() + "#papers"
    pack = PapersPack.objects.get(meeting=agreed)
    assert pack.status == PackStatus.READY and pack.version == 1 and pack.error == ""
    texts = page_texts(pack)
    assert len(texts) == pack.pages
    first_paper = next(n for n, text in enumerate(texts) if "BUDGET-1" in text)
    # Cover and agenda first, then the five pages of the two papers, in agenda order.
    assert first_paper >= 2 and len(texts) == first_paper + 5
    tail = [t.strip() for t in texts[first_paper:]]
    assert tail == ["BUDGET-1", "BUDGET-2", "BUDGET-3", "WORKFORCE-1", "WORKFORCE-2"]
    assert agreed.title in texts[0] and "version 1" in texts[0]
    front = " ".join(texts[1:first_paper])
    assert front.index("Budget") < front.index("Workforce plan")
    # The agenda gives each paper's page in the pack.
    assert f"page {first_paper + 1}" in front and f"page {first_paper + 4}" in front
    agreed.refresh_from_db()
    assert agreed.status == MeetingStatus.PAPERS_PUBLISHED
    assert agreed.papers_published_at is not None


def test_it_bookmarks_each_item_with_papers(
    alice: User, agreed: Meeting, django_capture_on_commit_callbacks: Capture
) -> None:
    add_paper(add_item(agreed, "Budget", 15), "Budget paper", pdf_with_pages("B1"))
    with django_capture_on_commit_callbacks(execute=True):
        pack = papers.pack_publish(meeting=agreed, by=alice)
    pack.refresh_from_db()
    with pack.file.open("rb") as handle:
        reader = PdfReader(BytesIO(handle.read()))
    items = [e for e in reader.outline if isinstance(e, Destination)]
    budget = next(e for e in items if (e.title or "").endswith("Budget"))
    assert (budget.title or "").startswith("Item ")
    # The item's papers are nested beneath it in the outline.
    under = reader.outline[reader.outline.index(budget) + 1]
    assert isinstance(under, list) and [getattr(e, "title", None) for e in under] == [
        "Budget paper"
    ]
    assert reader.get_destination_page_number(budget) == len(reader.pages) - 1


def test_it_lists_office_papers_with_a_link_instead_of_merging_them(
    alice_client: Client, agreed: Meeting, django_capture_on_commit_callbacks: Capture
) -> None:
    item = add_item(agreed, "Budget", 15)
    sheet = add_paper(item, "Budget figures", b"PK\x03\x04 not really a workbook", "xlsx")
    add_paper(item, "Budget paper", pdf_with_pages("BUDGET-1"))

    publish(alice_client, agreed, django_capture_on_commit_callbacks)

    pack = PapersPack.objects.get(meeting=agreed)
    texts = page_texts(pack)
    assert pack.status == PackStatus.READY
    assert texts[-1].strip() == "BUDGET-1"
    listing = next(t for t in texts if "Papers not included in this PDF" in t)
    assert "Budget figures" in listing and "Excel workbook files cannot" in listing
    link = settings.SITE_URL + reverse("meetings-download-paper", args=[sheet.pk])
    assert link in listing.replace("\n", "")
    # Only the one-page PDF paper was merged after the front pages.
    assert sum("BUDGET-1" in t for t in texts) == 1


def test_it_lists_a_broken_pdf_with_the_reason_and_still_builds(
    alice_client: Client, agreed: Meeting, django_capture_on_commit_callbacks: Capture
) -> None:
    item = add_item(agreed, "Budget", 15)
    add_paper(item, "Damaged paper", b"%PDF-1.7\nthis is not a PDF body at all\n%%EOF")
    add_paper(item, "Good paper", pdf_with_pages("GOOD-1", "GOOD-2"))

    publish(alice_client, agreed, django_capture_on_commit_callbacks)

    pack = PapersPack.objects.get(meeting=agreed)
    assert pack.status == PackStatus.READY
    texts = page_texts(pack)
    assert [t.strip() for t in texts[-2:]] == ["GOOD-1", "GOOD-2"]
    listing = next(t for t in texts if "Papers not included in this PDF" in t)
    assert "Damaged paper" in listing and "could not be read as a PDF" in listing


def test_it_emails_each_current_member_a_link_from_the_task_not_the_request(
    alice_client: Client,
    bob: User,
    dave: User,
    carol: User,
    agreed: Meeting,
    partnership_a: Partnership,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    former = _person("fred@example.org", "Fred Former")
    membership = _join(partnership_a, former, dave.memberships.get().organisation, Role.MEMBER)
    Membership.objects.filter(pk=membership.pk).update(end_date=dt.date(2025, 1, 1))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        alice_client.post(reverse("meetings-publish-papers", args=[agreed.pk]))
    # The request only queued the build: nothing built, nothing sent.
    pack = PapersPack.objects.get(meeting=agreed)
    assert pack.status == PackStatus.QUEUED
    assert mail.outbox == []
    assert len(callbacks) == 1

    with django_capture_on_commit_callbacks(execute=True):
        callbacks[0]()

    pack.refresh_from_db()
    assert pack.status == PackStatus.READY
    recipients = sorted(address for message in mail.outbox for address in message.to)
    assert recipients == ["alice@example.org", "bob@example.org", "dave@example.org"]
    message = mail.outbox[0]
    assert "papers published" in message.subject and agreed.title in message.subject
    assert settings.SITE_URL + agreed.get_absolute_url() in message.body


def test_it_rebuilds_when_a_paper_changes_and_notes_it_on_the_cover(
    alice: User,
    alice_client: Client,
    agreed: Meeting,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    item = add_item(agreed, "Budget", 15)
    first = add_paper(item, "Budget paper", pdf_with_pages("OLD-1"))
    publish(alice_client, agreed, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    agreed.refresh_from_db()
    item.meeting = agreed
    first.refresh_from_db()

    upload = SimpleUploadedFile(
        "budget.pdf", pdf_with_pages("NEW-1", "NEW-2"), content_type="application/pdf"
    )
    with django_capture_on_commit_callbacks(execute=True):
        agenda.paper_replace(paper=first, by=alice, upload=upload)

    latest = papers.latest_pack(agreed)
    assert latest is not None and latest.version == 2 and latest.status == PackStatus.READY
    texts = page_texts(latest)
    assert "What changed since version 1" in texts[0]
    assert "Budget paper" in texts[0] and "replaced" in texts[0]
    assert [t.strip() for t in texts[-2:]] == ["NEW-1", "NEW-2"]
    assert all("OLD-1" not in t for t in texts)
    assert mail.outbox and "papers updated" in mail.outbox[0].subject
    assert "(version 2)" in mail.outbox[0].subject
    # The first version is kept, and the first publication time still counts.
    assert PapersPack.objects.filter(meeting=agreed, version=1, status=PackStatus.READY).exists()


def test_it_adds_changes_to_a_version_still_waiting_rather_than_making_another(
    alice: User, agreed: Meeting, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        papers.pack_publish(meeting=agreed, by=alice)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        one = papers.pack_request_rebuild(agreed, "Paper ‘A’ added")
        two = papers.pack_request_rebuild(agreed, "Paper ‘B’ replaced")
    assert one is not None and two is not None and one.pk == two.pk
    assert len(callbacks) == 1
    two.refresh_from_db()
    assert two.version == 2 and two.change_note == "Paper ‘A’ added\nPaper ‘B’ replaced"
    assert PapersPack.objects.filter(meeting=agreed).count() == 2


def test_it_does_not_rebuild_a_pack_that_was_never_published(agreed: Meeting) -> None:
    assert papers.pack_request_rebuild(agreed, "Paper added") is None
    assert not PapersPack.objects.exists()


def test_it_refuses_to_publish_twice(
    alice: User, agreed: Meeting, django_capture_on_commit_callbacks: Capture
) -> None:
    from django.core.exceptions import ValidationError

    with django_capture_on_commit_callbacks(execute=True):
        papers.pack_publish(meeting=agreed, by=alice)
    first_time = Meeting.objects.get(pk=agreed.pk).papers_published_at
    with pytest.raises(ValidationError, match="already published"):
        papers.pack_publish(meeting=agreed, by=alice)
    assert PapersPack.objects.filter(meeting=agreed).count() == 1
    assert Meeting.objects.get(pk=agreed.pk).papers_published_at == first_time


def test_it_marks_a_pack_that_cannot_be_built_as_failed_and_lets_it_be_retried(
    alice_client: Client,
    agreed: Meeting,
    django_capture_on_commit_callbacks: Capture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> bytes:
        raise RuntimeError("no fonts")

    monkeypatch.setattr(builder, "render_front", broken)
    publish(alice_client, agreed, django_capture_on_commit_callbacks)
    pack = PapersPack.objects.get(meeting=agreed)
    assert pack.status == PackStatus.FAILED and "could not be built" in pack.error
    assert mail.outbox == []
    page = alice_client.get(agreed.get_absolute_url()).content.decode()
    assert "could not be built" in page and "Try building the papers pack again" in page

    monkeypatch.undo()
    publish(alice_client, agreed, django_capture_on_commit_callbacks)
    retry = papers.latest_pack(agreed)
    assert retry is not None and retry.version == 2 and retry.status == PackStatus.READY
    # Members never heard of the failed version, so this one is "published".
    assert len(mail.outbox) == 1 and "papers published" in mail.outbox[0].subject


def test_it_only_publishes_on_post(alice_client: Client, agreed: Meeting) -> None:
    response = alice_client.get(reverse("meetings-publish-papers", args=[agreed.pk]))
    assert response.status_code == 405
    assert not PapersPack.objects.exists()


def test_it_lets_only_managers_publish(bob_client: Client, agreed: Meeting) -> None:
    response = bob_client.post(reverse("meetings-publish-papers", args=[agreed.pk]))
    assert response.status_code == 403
    agreed.refresh_from_db()
    assert agreed.papers_published_at is None and not PapersPack.objects.exists()


def test_it_hides_publishing_from_other_partnerships(carol_client: Client, agreed: Meeting) -> None:
    response = carol_client.post(reverse("meetings-publish-papers", args=[agreed.pk]))
    assert response.status_code == 404
    agreed.refresh_from_db()
    assert agreed.papers_published_at is None and not PapersPack.objects.exists()


@pytest.fixture
def built(alice: User, agreed: Meeting, django_capture_on_commit_callbacks: Capture) -> PapersPack:
    add_paper(add_item(agreed, "Budget", 15), "Budget paper", pdf_with_pages("BUDGET-1"))
    with django_capture_on_commit_callbacks(execute=True):
        pack = papers.pack_publish(meeting=agreed, by=alice)
    pack.refresh_from_db()
    assert pack.status == PackStatus.READY
    return pack


def test_it_downloads_the_latest_pack_inline_to_members(
    bob_client: Client, built: PapersPack
) -> None:
    response = bob_client.get(reverse("meetings-download-pack", args=[built.meeting_id]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline")
    assert "partnership-forum-papers-v1.pdf" in response["Content-Disposition"]
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert body.startswith(b"%PDF") and len(PdfReader(BytesIO(body)).pages) == built.pages


def test_it_downloads_each_version(alice_client: Client, built: PapersPack) -> None:
    response = alice_client.get(reverse("meetings-download-pack-version", args=[built.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"


def test_it_answers_404_when_no_pack_is_ready(alice_client: Client, agreed: Meeting) -> None:
    response = alice_client.get(reverse("meetings-download-pack", args=[agreed.pk]))
    assert response.status_code == 404
    queued = PapersPack.objects.create(meeting=agreed, version=1)
    response = alice_client.get(reverse("meetings-download-pack-version", args=[queued.pk]))
    assert response.status_code == 404


def test_it_hides_packs_from_other_partnerships(
    carol_client: Client, built: PapersPack, meeting_b: Meeting, alice_client: Client
) -> None:
    assert (
        carol_client.get(reverse("meetings-download-pack", args=[built.meeting_id])).status_code
        == 404
    )
    assert (
        carol_client.get(reverse("meetings-download-pack-version", args=[built.pk])).status_code
        == 404
    )
    assert (
        carol_client.get(reverse("meetings-view-pack-status", args=[built.meeting_id])).status_code
        == 404
    )
    other = PapersPack.objects.create(
        meeting=meeting_b, version=1, status=PackStatus.READY, file=built.file.name, pages=1
    )
    assert (
        alice_client.get(reverse("meetings-download-pack-version", args=[other.pk])).status_code
        == 404
    )


def test_it_shows_the_build_status_with_a_refresh_link_and_polls_with_htmx(
    alice_client: Client, agreed: Meeting
) -> None:
    Meeting.objects.filter(pk=agreed.pk).update(papers_published_at=timezone.now())
    PapersPack.objects.create(meeting=agreed, version=1)
    url = reverse("meetings-view-pack-status", args=[agreed.pk])

    page = alice_client.get(url).content.decode()
    assert "is being built" in page and f'href="{url}"' in page and ">refresh</a>" in page
    assert "<html" in page

    partial = alice_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in partial
    assert f'hx-get="{url}"' in partial and 'hx-trigger="every 2s"' in partial
    assert ">refresh</a>" not in partial


def test_it_shows_the_ready_pack_and_its_versions_on_the_meeting_page(
    alice_client: Client, built: PapersPack
) -> None:
    page = alice_client.get(built.meeting.get_absolute_url()).content.decode()
    assert reverse("meetings-download-pack", args=[built.meeting_id]) in page
    assert "hx-get" not in page and "Publish the papers" not in page

    # A rebuild waits in the queue (its build runs after commit): the page polls for it,
    # lists it with its note and still offers the version that is ready.
    papers.pack_request_rebuild(built.meeting, "Paper ‘Budget paper’ replaced")
    page = alice_client.get(built.meeting.get_absolute_url()).content.decode()
    assert "Versions of the papers pack" in page
    assert "Paper ‘Budget paper’ replaced" in page
    assert "Version 2 of the papers pack is being built" in page
    assert reverse("meetings-download-pack-version", args=[built.pk]) in page
    assert 'hx-trigger="every 2s"' in page
