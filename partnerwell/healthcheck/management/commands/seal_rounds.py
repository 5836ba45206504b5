"""Seal closed health checks and meeting reviews: answers into the results in random order."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from partnerwell.healthcheck.services import rounds_seal_due
from partnerwell.meetings.review import reviews_seal_due


class Command(BaseCommand):
    help = (
        "Move the answers held for every closed health check and closed meeting review into "
        "their results, in random order, so that a copy of the database cannot tell who gave "
        "which answers. Run it every few minutes from cron or a systemd timer (for example "
        "`partnerwell seal_rounds`); the worker and the results pages also seal when they "
        "can. Running it again changes nothing."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        rounds = rounds_seal_due()
        reviews = reviews_seal_due()
        self.stdout.write(
            f"Sealed {rounds} held health-check answers and {reviews} held meeting-review answers."
        )
