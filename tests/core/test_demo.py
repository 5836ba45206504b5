from __future__ import annotations

import subprocess
import sys

import pytest
from django.apps import apps
from django.core.management import call_command

from partnerwell.core.models import Membership, Organisation, Partnership, PartnershipType, User


def _counts() -> tuple[int, ...]:
    return (
        Partnership.objects.count(),
        Organisation.objects.count(),
        User.objects.count(),
        Membership.objects.count(),
    )


def _all_rows() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


@pytest.mark.django_db
def test_it_loads_the_demo_once() -> None:
    call_command("demo", verbosity=0)
    first = _counts()
    rows = _all_rows()
    call_command("demo", verbosity=0)
    assert _counts() == first
    # Every app's part of the demo loads once: no table grows on a second run.
    assert _all_rows() == rows
    partnerships, organisations, people, _ = first
    assert partnerships == 8
    assert 35 <= organisations <= 45
    assert 110 <= people <= 130
    strategic = Partnership.objects.get(kind=PartnershipType.STRATEGIC)
    assert strategic.children.filter(kind=PartnershipType.SUB_GROUP).count() == 5
    forum = Partnership.objects.get(kind=PartnershipType.FORUM)
    assert [s.name for s in forum.sides.all()] == ["Management side", "Staff side"]
    for email in (
        "manager@example.org",
        "chair@example.org",
        "member@example.org",
        "staffchair@example.org",
    ):
        assert User.objects.get(email=email).check_password("partnerwell-demo")


def test_it_prints_the_command_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "partnerwell.cli", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    for command in ("serve", "demo", "worker", "migrate", "createsuperuser"):
        assert command in result.stdout
