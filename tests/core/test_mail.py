"""Emails whose subject carries a name or title somebody typed."""

from __future__ import annotations

import ast
from pathlib import Path

from django.core import mail

from partnerwell.core.mail import EmailMessage
from partnerwell.core.models import Partnership, User
from partnerwell.healthcheck.tasks import send_round_invitations
from tests.healthcheck.builders import make_round, outline_framework

PACKAGE = Path(__file__).resolve().parents[2] / "partnerwell"


def test_it_folds_a_subject_onto_one_line() -> None:
    message = EmailMessage("Board\r\nBcc: someone@example.org\n  papers", "body", to=["a@b.org"])

    assert message.message()["Subject"] == "Board Bcc: someone@example.org papers"


def test_it_sends_invitations_for_a_round_whose_title_has_a_line_break(
    partnership_a: Partnership, alice: User, bob: User
) -> None:
    round = make_round(partnership_a, outline_framework(), title="Spring\nhealth check")

    send_round_invitations.call(round.pk, [m.pk for m in partnership_a.memberships.all()])

    assert len(mail.outbox) == 2
    assert {m.subject for m in mail.outbox} == {f"{partnership_a.name}: Spring health check"}


def test_it_sends_every_email_through_the_folding_class() -> None:
    # Later apps must not go back to Django's class, whose subjects can break a whole run.
    # core/mail.py is the class itself; the worker only names the type of the messages it holds.
    allowed = {PACKAGE / "core" / "mail.py", PACKAGE / "worker.py"}
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "django.core.mail":
                names = {alias.name for alias in node.names}
                if names & {"EmailMessage", "EmailMultiAlternatives", "send_mail"}:
                    offenders.append(str(path.relative_to(PACKAGE)))

    assert offenders == []
