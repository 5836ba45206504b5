"""Reminder emails about actions, sent by the task worker.

django-tasks has no scheduler, so `partnerwell send_digests` (run daily by cron
or a systemd timer) enqueues `send_action_digests`, and the worker sends them.
Each person gets at most one email a day listing all their open actions that
are overdue or due within 7 days, in every partnership, as often as they chose.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from partnerwell.core.models import Membership, User
from partnerwell.delivery.actions import DUE_SOON_DAYS
from partnerwell.delivery.models import Action, DigestFrequency, DigestPreference

# Weekly digests go out on Mondays (date.weekday() == 0).
WEEKLY_ON = 0


def _wants_today(preference: DigestPreference | None, today: dt.date) -> bool:
    frequency = preference.frequency if preference else DigestFrequency.WEEKLY
    if preference is not None and preference.last_sent_on == today:
        return False
    if frequency == DigestFrequency.DAILY:
        return True
    return frequency == DigestFrequency.WEEKLY and today.weekday() == WEEKLY_ON


def _claim(person: User, today: dt.date) -> tuple[bool, dt.date | None]:
    """Mark today's digest as sent before sending, so two runs cannot both send it.

    Returns whether this run may send it, and the date it was last sent before
    (to put back if sending fails).
    """
    with transaction.atomic():
        preference, _ = DigestPreference.objects.select_for_update().get_or_create(person=person)
        previous = preference.last_sent_on
        if previous == today:
            return False, previous
        preference.last_sent_on = today
        preference.save(update_fields=["last_sent_on"])
    return True, previous


def _message(person: User, actions: list[Action], today: dt.date) -> EmailMessage:
    overdue = [a for a in actions if a.due_date < today]
    soon = [a for a in actions if a.due_date >= today]
    context: dict[str, Any] = {
        "person": person,
        "overdue": overdue,
        "soon": soon,
        "today": today,
        "site": settings.SITE_URL,
        "mine_url": settings.SITE_URL + reverse("delivery-list-my-actions"),
        "settings_url": settings.SITE_URL + reverse("delivery-edit-reminders"),
    }
    parts = []
    if overdue:
        parts.append(f"{len(overdue)} overdue")
    if soon:
        parts.append(f"{len(soon)} due in the next {DUE_SOON_DAYS} days")
    subject = "Your actions: " + " and ".join(parts)
    body = render_to_string("delivery/email/digest.txt", context)
    return EmailMessage(subject, body, to=[person.email])


@task()
def send_action_digests(on: str | None = None) -> int:
    """Email each person who wants it today one list of their actions; returns how many."""
    today = dt.date.fromisoformat(on) if on else timezone.localdate()
    current = Membership.objects.current(today).values("pk")
    actions = (
        Action.objects.open()
        .filter(
            due_date__lte=today + dt.timedelta(days=DUE_SOON_DAYS),
            owner__in=current,
            owner__person__is_active=True,
        )
        .select_related("partnership", "owner__person")
        .order_by("due_date", "pk")
    )
    by_person: dict[int, list[Action]] = defaultdict(list)
    people: dict[int, User] = {}
    for action in actions:
        by_person[action.owner.person_id].append(action)
        people[action.owner.person_id] = action.owner.person
    preferences = {p.person_id: p for p in DigestPreference.objects.filter(person__in=people)}
    claimed: dict[int, dt.date | None] = {}
    messages = []
    for person_id, owned in by_person.items():
        if not _wants_today(preferences.get(person_id), today):
            continue
        mine, previous = _claim(people[person_id], today)
        if not mine:
            continue
        claimed[person_id] = previous
        messages.append(_message(people[person_id], owned, today))
    if not messages:
        return 0
    try:
        sent = get_connection().send_messages(messages) or 0
    except Exception:
        # Nothing went out: put the dates back so the next run tries again.
        for person_id, previous in claimed.items():
            DigestPreference.objects.filter(person_id=person_id).update(last_sent_on=previous)
        raise
    return sent
