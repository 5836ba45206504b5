"""The email digest, sent by the task worker.

django-tasks has no scheduler, so `partnerwell send_digests` (run daily by cron
or a systemd timer) enqueues `send_digests`, and the worker sends them. Each
person gets at most one email a day, as often as they chose, gathering every
section of partnerwell.core.digest they have not unsubscribed from: their actions
due soon and overdue, actions newly given to them, and what the other apps add
(new papers, agendas agreed, minutes to approve). Nobody gets an empty email.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from partnerwell.core import digest
from partnerwell.core.mail import EmailMessage
from partnerwell.core.models import Membership, User
from partnerwell.delivery.models import DigestFrequency, DigestPreference

logger = logging.getLogger(__name__)

# Weekly digests go out on Mondays (date.weekday() == 0).
WEEKLY_ON = 0

# What a first digest counts as new: the period it stands for.
FIRST_PERIOD: dict[str, dt.timedelta] = {
    DigestFrequency.DAILY: dt.timedelta(days=1),
    DigestFrequency.WEEKLY: dt.timedelta(days=7),
}

# (last_sent_on, last_sent_at) before this run claimed the day, to put back on failure.
Previous = tuple[dt.date | None, dt.datetime | None]


def _wants_today(preference: DigestPreference | None, today: dt.date) -> bool:
    frequency = preference.frequency if preference else DigestFrequency.WEEKLY
    if preference is not None and preference.last_sent_on == today:
        return False
    if frequency == DigestFrequency.DAILY:
        return True
    return frequency == DigestFrequency.WEEKLY and today.weekday() == WEEKLY_ON


def _since(preference: DigestPreference | None, now: dt.datetime) -> dt.datetime:
    """Items newer than this are new to the person: after their last digest went out."""
    if preference is not None and preference.last_sent_at is not None:
        return preference.last_sent_at
    if preference is not None and preference.last_sent_on is not None:
        return dt.datetime.combine(
            preference.last_sent_on, dt.time.min, tzinfo=timezone.get_current_timezone()
        )
    frequency = preference.frequency if preference else DigestFrequency.WEEKLY
    return now - FIRST_PERIOD.get(frequency, dt.timedelta(days=7))


def _claim(person: User, today: dt.date, now: dt.datetime) -> tuple[bool, Previous]:
    """Mark today's digest as sent before sending, so two runs cannot both send it.

    Returns whether this run may send it, and when it was last sent before
    (to put back if sending fails).
    """
    with transaction.atomic():
        preference, _ = DigestPreference.objects.select_for_update().get_or_create(person=person)
        previous = (preference.last_sent_on, preference.last_sent_at)
        if preference.last_sent_on == today:
            return False, previous
        preference.last_sent_on = today
        preference.last_sent_at = now
        preference.save(update_fields=["last_sent_on", "last_sent_at"])
    return True, previous


def _gather(
    person: User, preference: DigestPreference | None, since: dt.datetime, today: dt.date
) -> list[tuple[digest.Section, list[digest.DigestItem]]]:
    left_out = set(preference.unsubscribed) if preference else set()
    gathered = []
    for section in digest.sections():
        if section.kind in left_out:
            continue
        items = section.provider(person, since, today)
        if items:
            gathered.append((section, items))
    return gathered


def _message(
    person: User,
    gathered: list[tuple[digest.Section, list[digest.DigestItem]]],
    today: dt.date,
) -> EmailMessage:
    site = settings.SITE_URL
    context: dict[str, Any] = {
        "person": person,
        "today": today,
        "site": site,
        "sections": [
            {
                "section": section,
                "items": items,
                "unsubscribe_url": site
                + reverse(
                    "delivery-unsubscribe-digest",
                    args=[digest.unsubscribe_token(person, section.kind)],
                ),
            }
            for section, items in gathered
        ],
        "mine_url": site + reverse("delivery-list-my-actions"),
        "settings_url": site + reverse("delivery-edit-reminders"),
    }
    counts = [section.count(len(items)) for section, items in gathered]
    subject = "Your digest: " + (
        counts[0] if len(counts) == 1 else ", ".join(counts[:-1]) + " and " + counts[-1]
    )
    body = render_to_string("delivery/email/digest.txt", context)
    return EmailMessage(subject, body, to=[person.email])


@task()
def send_digests(on: str | None = None) -> int:
    """Email each person who wants it today their one digest; returns how many went out."""
    today = dt.date.fromisoformat(on) if on else timezone.localdate()
    now = timezone.now()
    current = Membership.objects.current(today).filter(person=OuterRef("pk"))
    people = User.objects.filter(Exists(current), is_active=True).order_by("pk")
    preferences = {p.person_id: p for p in DigestPreference.objects.filter(person__in=people)}
    # Gather everything before claiming anyone: if a section fails, nobody is marked as sent.
    pending: list[tuple[User, EmailMessage]] = []
    for person in people.iterator(chunk_size=500):
        preference = preferences.get(person.pk)
        if not _wants_today(preference, today):
            continue
        # A person with nothing to read gets no email and keeps no record of a send.
        gathered = _gather(person, preference, _since(preference, now), today)
        if gathered:
            pending.append((person, _message(person, gathered, today)))
    if not pending:
        return 0
    sent = 0
    with get_connection() as connection:
        for person, message in pending:
            mine, (on_day, at) = _claim(person, today, now)
            if not mine:
                continue
            try:
                sent += connection.send_messages([message]) or 0
            except Exception:
                # Only this person's digest failed: put their dates back for the next run.
                logger.exception("The digest for person %s could not be sent", person.pk)
                DigestPreference.objects.filter(person_id=person.pk).update(
                    last_sent_on=on_day, last_sent_at=at
                )
    return sent


# The name the digest task had when it held only actions; kept so queued runs still resolve.
send_action_digests = send_digests
