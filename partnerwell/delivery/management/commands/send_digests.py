"""Queue today's reminder emails about actions; cron or a systemd timer runs this daily."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from partnerwell.delivery.tasks import send_action_digests


class Command(BaseCommand):
    help = (
        "Queue the reminder emails about actions that are overdue or due within 7 days. "
        "Run it once a day (for example `partnerwell send_digests` from cron at 07:00); "
        "the task worker sends the emails. Running it twice in a day sends nothing twice."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = send_action_digests.enqueue()
        self.stdout.write(f"Queued the action reminder emails (task {result.id}).")
