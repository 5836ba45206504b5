"""Queue today's email digests; cron or a systemd timer runs this daily."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from partnerwell.delivery.tasks import send_digests


class Command(BaseCommand):
    help = (
        "Queue the email digests: each person's actions due soon or overdue, actions newly "
        "given to them, new papers, agendas agreed and minutes to approve. "
        "Run it once a day (for example `partnerwell send_digests` from cron at 07:00); "
        "the task worker sends the emails. Running it twice in a day sends nothing twice."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = send_digests.enqueue()
        self.stdout.write(f"Queued the email digests (task {result.id}).")
