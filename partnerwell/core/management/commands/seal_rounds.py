"""Seal every closed anonymous collection: answers into the results in random order."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from partnerwell.core.sealing import seal_all


class Command(BaseCommand):
    help = (
        "Move the answers held for every closed health check, meeting review and priority "
        "vote into their results, in random order, so that a copy of the database cannot tell "
        "who gave which answers. Run it every few minutes from cron or a systemd timer (for "
        "example `partnerwell seal_rounds`); the worker and the results pages also seal when "
        "they can. Running it again changes nothing."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        moved = seal_all()
        self.stdout.write(
            "Sealed " + ", ".join(f"{count} held {label}" for label, count in moved.items()) + "."
        )
