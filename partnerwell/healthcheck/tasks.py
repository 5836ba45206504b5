"""Invitations and reminders for health-check rounds, sent by the task worker."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.mail import get_connection
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone
from django_tasks import task, task_backends

from partnerwell.core.mail import EmailMessage
from partnerwell.healthcheck.models import Invitation, Round

BATCH = 200


def _send(round: Round, invitations: list[Invitation], template: str) -> int:
    messages = []
    for invitation in invitations:
        person = invitation.membership.person
        body = render_to_string(
            template,
            {
                "person": person,
                "round": round,
                "link": settings.SITE_URL + invitation.get_absolute_url(),
                "closes": timezone.localtime(round.closes_at),
            },
        )
        subject = f"{round.partnership.name}: {round.title}"
        messages.append(EmailMessage(subject, body, to=[person.email]))
    return get_connection().send_messages(messages) or 0


@task()
def send_round_invitations(round_id: int, chosen: list[int]) -> int:
    """Make every invitation of a round, email them in batches and plan the reminders."""
    from partnerwell.healthcheck.services import invitations_create

    round = Round.objects.select_related("partnership", "framework").get(pk=round_id)
    invitations_create(round, chosen)
    Round.objects.filter(pk=round.pk).update(invited_count=round.invitations.count())
    sent = 0
    while True:
        batch = list(
            round.invitations.filter(sent_at__isnull=True, answered=False)
            .select_related("membership__person")
            .order_by("pk")[:BATCH]
        )
        if not batch:
            break
        _send(round, batch, "healthcheck/email/invitation.txt")
        Invitation.objects.filter(pk__in=[i.pk for i in batch]).update(sent_at=timezone.now())
        # Progress the manager sees while the batches go out.
        Round.objects.filter(pk=round.pk).update(sent_count=F("sent_count") + len(batch))
        sent += len(batch)
    _plan_reminders(round)
    return sent


def _plan_reminders(round: Round) -> None:
    if not task_backends["default"].supports_defer:
        return
    now = timezone.now()
    # Seal the answers into the results as soon as the round closes; `partnerwell
    # seal_rounds` from cron catches anything this misses (an early close seals at once).
    seal_round.using(run_after=round.closes_at).enqueue(round_id=round.pk)
    for days in round.reminder_days:
        when = round.closes_at - dt.timedelta(days=int(days))
        if when > now:
            send_round_reminders.using(run_after=when).enqueue(round_id=round.pk)


@task()
def send_round_reminders(round_id: int) -> int:
    """Remind only the people who have not answered, while the round is open."""
    round = Round.objects.select_related("partnership").get(pk=round_id)
    if not round.is_open:
        return 0
    waiting = list(
        round.invitations.filter(answered=False, membership__person__is_active=True)
        .select_related("membership__person")
        .order_by("pk")
    )
    for start in range(0, len(waiting), BATCH):
        batch = waiting[start : start + BATCH]
        _send(round, batch, "healthcheck/email/reminder.txt")
        Invitation.objects.filter(pk__in=[i.pk for i in batch]).update(reminded_at=timezone.now())
    return len(waiting)


@task()
def seal_round(round_id: int) -> int:
    """Move a closed round's held answers into its results in random order."""
    from partnerwell.healthcheck.services import round_seal

    round = Round.objects.filter(pk=round_id).first()
    return 0 if round is None else round_seal(round)


@task()
def build_results_pdf(pdf_id: int) -> bool:
    """Render a round's results to PDF (WeasyPrint) and keep it for download."""
    from partnerwell.healthcheck.exports import results_pdf
    from partnerwell.healthcheck.models import ResultsPdf
    from partnerwell.healthcheck.results import round_results

    export = ResultsPdf.objects.select_related("round__partnership").get(pk=pdf_id)
    try:
        data = results_pdf(
            round_results(export.round), partnership_name=export.round.partnership.name
        )
    except Exception as exc:
        ResultsPdf.objects.filter(pk=pdf_id).update(
            finished_at=timezone.now(), error=f"The PDF could not be built ({type(exc).__name__})."
        )
        raise
    ResultsPdf.objects.filter(pk=pdf_id).update(pdf=data, finished_at=timezone.now())
    return True
