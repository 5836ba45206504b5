"""Work the task worker does for meetings' papers: building the pack and emailing members."""

from __future__ import annotations

import logging
import secrets
import tempfile
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.template.loader import render_to_string
from django.utils import timezone
from django_tasks import task

from partnerwell.core.mail import EmailMessage
from partnerwell.core.models import Membership, User
from partnerwell.meetings.models import PackStatus, PapersPack

logger = logging.getLogger(__name__)

# Emails go out through one connection, this many at a time.
BATCH = 200
# Papers packs larger than this spill from memory to a temporary file while being written.
SPOOL_BYTES = 8 * 1024 * 1024

BUILD_FAILED = (
    "The pack could not be built because of a problem on the server. "
    "Try publishing again; if it keeps failing, tell your administrator."
)


@task()
def build_papers_pack(pack_id: int) -> bool:
    """Build one version of a meeting's papers pack; on success, email the members a link."""
    from partnerwell.meetings import pack as builder

    # Only one worker builds a version: the one that moves it from queued to building.
    if not PapersPack.objects.filter(pk=pack_id, status=PackStatus.QUEUED).update(
        status=PackStatus.BUILDING
    ):
        return False
    pack = PapersPack.objects.select_related("meeting__partnership", "meeting__series").get(
        pk=pack_id
    )
    try:
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as out:
            pages = builder.build(pack, out)
            out.seek(0)
            pack.file.save(f"{secrets.token_urlsafe(16)}.pdf", File(out), save=False)
    # Whatever went wrong, the pack shows a sentence instead of staying "being built".
    except Exception:
        logger.exception("Papers pack %s could not be built", pack_id)
        PapersPack.objects.filter(pk=pack_id).update(status=PackStatus.FAILED, error=BUILD_FAILED)
        return False
    PapersPack.objects.filter(pk=pack_id).update(
        file=pack.file.name, pages=pages, built_at=timezone.now(), status=PackStatus.READY, error=""
    )
    transaction.on_commit(lambda: send_pack_emails.enqueue(pack_id=pack_id))
    return True


@task()
def send_pack_emails(pack_id: int) -> int:
    """Email every current member of the partnership a link to the meeting and its pack."""
    pack = PapersPack.objects.select_related("meeting__partnership").get(pk=pack_id)
    meeting = pack.meeting
    partnership = meeting.partnership
    # The first pack members hear of is "published", even if an earlier build failed.
    earlier_ready = PapersPack.objects.filter(
        meeting=meeting, version__lt=pack.version, status=PackStatus.READY
    ).exists()
    if not earlier_ready:
        subject = f"{partnership.name}: papers published for {meeting.title}"
        template = "meetings/email/pack_published.txt"
    else:
        subject = f"{partnership.name}: papers updated for {meeting.title} (version {pack.version})"
        template = "meetings/email/pack_updated.txt"
    context = {
        "pack": pack,
        "meeting": meeting,
        "partnership": partnership,
        "local_start": meeting.local_start,
        "link": settings.SITE_URL + meeting.get_absolute_url(),
    }
    return email_members(partnership.pk, subject, template, context)


def email_members(partnership_id: int, subject: str, template: str, context: dict[str, Any]) -> int:
    """Email every current, active member of the partnership once, rendering `template`
    with `person` added to `context`; sent through one connection in batches."""
    members = Membership.objects.current().filter(
        partnership_id=partnership_id, person_id=OuterRef("pk")
    )
    people = User.objects.filter(Exists(members), is_active=True).order_by("email")
    sent = 0
    connection = get_connection()
    batch: list[EmailMessage] = []
    for person in people.iterator(chunk_size=BATCH):
        body = render_to_string(template, {**context, "person": person})
        batch.append(EmailMessage(subject, body, to=[person.email], connection=connection))
        if len(batch) == BATCH:
            sent += connection.send_messages(batch) or 0
            batch = []
    if batch:
        sent += connection.send_messages(batch) or 0
    return sent
