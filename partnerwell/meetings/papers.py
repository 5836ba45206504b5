"""Publishing a meeting's papers: the papers pack, its rebuilds and on-time circulation.

The pack itself is built in the task worker (tasks.build_papers_pack, pack.build);
this module decides when a version is made and what the pages show about it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from partnerwell.core import access as core_access
from partnerwell.core.models import Partnership, User
from partnerwell.meetings import access, services
from partnerwell.meetings.models import (
    LIFECYCLE,
    Meeting,
    MeetingSettings,
    MeetingStatus,
    PackStatus,
    PapersPack,
)

NOT_AGREED = (
    "The agenda has not been agreed yet. Publish the papers once a chair or co-chair "
    "from each side has approved the agenda."
)
ALREADY_PUBLISHED = (
    "The papers are already published. The pack is rebuilt by itself when a paper "
    "or the agreed agenda changes."
)
CANCELLED = "This meeting is cancelled, so its papers cannot be published."
# How many versions the meeting page lists; every version is kept and downloadable.
HISTORY_SHOWN = 20
# The partnership page warns about late papers for meetings this far back.
LATE_LOOKBACK = dt.timedelta(days=365)


def latest_pack(meeting: Meeting) -> PapersPack | None:
    return PapersPack.objects.filter(meeting=meeting).order_by("-version").first()


def latest_ready_pack(meeting: Meeting) -> PapersPack | None:
    return (
        PapersPack.objects.filter(meeting=meeting, status=PackStatus.READY)
        .order_by("-version")
        .first()
    )


def _new_version(meeting: Meeting, change_note: str) -> PapersPack:
    """A queued pack one version above the last, built once the transaction commits."""
    from partnerwell.meetings.tasks import build_papers_pack

    last = PapersPack.objects.filter(meeting=meeting).aggregate(v=Max("version"))["v"] or 0
    pack = PapersPack.objects.create(meeting=meeting, version=last + 1, change_note=change_note)
    # The worker must see the committed row, so the build is queued only after commit.
    transaction.on_commit(lambda: build_papers_pack.enqueue(pack_id=pack.pk))
    return pack


@transaction.atomic
def pack_publish(*, meeting: Meeting, by: User) -> PapersPack:
    """Publish the papers: queue the first pack (or a retry after a failed build)."""
    if not core_access.can_manage(by, meeting.partnership):
        raise PermissionDenied(access.MANAGERS_ONLY)
    # Locking the meeting makes two clicks on "Publish" make one version, not two.
    locked = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if locked.is_cancelled:
        raise ValidationError(CANCELLED)
    if locked.agenda_agreed_at is None:
        raise ValidationError(NOT_AGREED)
    latest = latest_pack(locked)
    if locked.papers_published_at and latest and latest.status != PackStatus.FAILED:
        raise ValidationError(ALREADY_PUBLISHED)
    now = timezone.now()
    pack = _new_version(locked, "" if latest is None else "The pack was built again.")
    changes: dict[str, Any] = {"updated_at": now}
    # Only the first publication counts for circulation on time.
    if locked.papers_published_at is None:
        changes["papers_published_at"] = now
    if LIFECYCLE.index(locked.status) < LIFECYCLE.index(MeetingStatus.PAPERS_PUBLISHED):
        changes["status"] = MeetingStatus.PAPERS_PUBLISHED
    Meeting.objects.filter(pk=locked.pk).update(**changes)
    meeting.refresh_from_db()
    return pack


@transaction.atomic
def pack_request_rebuild(meeting: Meeting, change_note: str) -> PapersPack | None:
    """Rebuild the papers pack with this note on its cover, if papers are already published.

    Changes that arrive while a version still waits in the queue are added to its note,
    so a burst of changes makes one new version, not one each.
    """
    locked = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if locked.papers_published_at is None or locked.is_cancelled:
        return None
    note = change_note.strip()
    waiting = (
        PapersPack.objects.filter(meeting=locked, status=PackStatus.QUEUED)
        .order_by("-version")
        .first()
    )
    if waiting is not None:
        combined = "\n".join(part for part in (waiting.change_note, note) if part)
        # It may have started building meanwhile; then it needs a version of its own.
        if PapersPack.objects.filter(pk=waiting.pk, status=PackStatus.QUEUED).update(
            change_note=combined
        ):
            waiting.change_note = combined
            return waiting
    return _new_version(locked, note)


def papers_on_time(
    meeting: Meeting,
    *,
    meeting_settings: MeetingSettings | None = None,
    now: dt.datetime | None = None,
) -> bool | None:
    """True when first published by the due moment; False when later, or still unpublished
    once it has passed; None while not yet due (or for a cancelled meeting)."""
    if meeting.is_cancelled:
        return None
    chosen = meeting_settings or services.settings_for(meeting.partnership)
    due = services.papers_due(meeting, chosen)
    if meeting.papers_published_at is not None:
        return meeting.papers_published_at <= due
    if (now or timezone.now()) > due:
        return False
    return None


def meeting_section(meeting: Meeting, user: User) -> dict[str, Any]:
    """What the meeting page shows of this area (template meetings/sections/papers.html)."""
    partnership = meeting.partnership
    chosen = services.settings_for(partnership)
    packs = list(PapersPack.objects.filter(meeting=meeting).order_by("-version")[:HISTORY_SHOWN])
    latest = packs[0] if packs else None
    ready = next((p for p in packs if p.status == PackStatus.READY), None)
    if ready is None and latest is not None and len(packs) == HISTORY_SHOWN:
        ready = latest_ready_pack(meeting)
    can_manage = core_access.can_manage(user, partnership)
    failed = latest is not None and latest.status == PackStatus.FAILED
    published_at = meeting.papers_published_at
    published = published_at is not None
    return {
        "meeting": meeting,
        "can_manage": can_manage,
        "agreed": meeting.agenda_agreed_at is not None,
        "published": published,
        "published_at": published_at.astimezone(meeting.tz) if published_at else None,
        "can_publish": can_manage
        and not meeting.is_cancelled
        and meeting.agenda_agreed_at is not None
        and (not published or failed),
        "latest": latest,
        "ready": ready,
        "packs": packs,
        "building": latest is not None
        and latest.status in (PackStatus.QUEUED, PackStatus.BUILDING),
        "failed": failed,
        "due": services.papers_due(meeting, chosen),
        "papers_days": chosen.papers_days,
        "on_time": papers_on_time(meeting, meeting_settings=chosen),
    }


def meetings_panel(partnership: Partnership, user: User) -> dict[str, Any]:
    """The meetings panel on the partnership page: the next meeting and late papers.

    Three queries whatever the number of meetings: the rules, the next meeting, and the
    meetings of the last year whose papers were due by now.
    """
    now = timezone.now()
    chosen = services.settings_for(partnership)
    meetings = Meeting.objects.filter(partnership=partnership, cancelled_at__isnull=True)
    upcoming = meetings.filter(ends_at__gte=now).order_by("starts_at", "pk").first()
    # Papers fall due a whole number of days before the start, at the end of the day.
    due_window = now + dt.timedelta(days=chosen.papers_days + 1)
    recent = meetings.filter(starts_at__gte=now - LATE_LOOKBACK, starts_at__lte=due_window)
    late = [
        {
            "meeting": m,
            "local_start": m.local_start,
            "published_at": m.papers_published_at.astimezone(m.tz)
            if m.papers_published_at
            else None,
        }
        for m in recent.order_by("-starts_at", "-pk")
        if papers_on_time(m, meeting_settings=chosen, now=now) is False
    ]
    return {
        "partnership": partnership,
        "next": upcoming,
        "next_start": upcoming.local_start if upcoming else None,
        "late": late,
        "papers_days": chosen.papers_days,
    }


def register() -> None:
    """Called once from AppConfig.ready(): the meetings panel on the partnership page."""
    from partnerwell.core.panels import register as register_panel

    register_panel(order=15, template="meetings/panels/meetings.html", provider=meetings_panel)
