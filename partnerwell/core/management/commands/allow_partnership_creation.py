"""Let a person (such as an area coordinator) start partnerships, or take that away.

With PARTNERSHIP_CREATORS=administrators only superusers, staff and people holding
Django's core.add_partnership permission may create partnerships; this grants it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError, CommandParser

from partnerwell.core.models import User


def creator_permission() -> Permission:
    return Permission.objects.get(content_type__app_label="core", codename="add_partnership")


class Command(BaseCommand):
    help = "Allow a person to create partnerships (core.add_partnership), or --revoke it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="the person's email address")
        parser.add_argument("--revoke", action="store_true", help="take the permission away")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(email__iexact=options["email"].strip()).first()
        if user is None:
            raise CommandError(f"Nobody has the email address {options['email']}.")
        if options["revoke"]:
            user.user_permissions.remove(creator_permission())
            self.stdout.write(f"{user.email} may no longer create partnerships.")
        else:
            user.user_permissions.add(creator_permission())
            self.stdout.write(f"{user.email} may now create partnerships.")
