"""Small builders for health-check tests: frameworks, members, rounds and answers.

Answers go through services.response_submit, the same path a member's link
takes, so the stored responses are shaped exactly as in real use.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any

from django.utils import timezone

from partnerwell.core.models import Membership, Organisation, Partnership, Role, User
from partnerwell.healthcheck import services
from partnerwell.healthcheck.forms import OutlineFrameworkForm
from partnerwell.healthcheck.models import (
    Framework,
    HeldResponse,
    Invitation,
    Round,
    Statement,
)

# Two parts, three principles, four statements: small enough to answer in a test.
OUTLINE = """\
# Working together
## Trust
- We trust each other.
- We share information openly.
## Decisions
- Decisions are made jointly.
# Delivery
## Results
- We deliver what we agree.
"""

_numbers = itertools.count(1)


def outline_framework(
    partnership: Partnership | None = None,
    *,
    outline: str = OUTLINE,
    title: str = "Test framework",
    by: User | None = None,
) -> Framework:
    """A framework written as an outline, stored as the outline form would store it."""
    form = OutlineFrameworkForm(
        data={"title": title, "scale": "agreement", "outline": outline, "description": ""}
    )
    assert form.is_valid(), form.errors
    return services.framework_store(
        spec=form.cleaned_data["spec"],
        document=form.cleaned_data["document"],
        partnership=partnership,
        by=by,
    )


def statement_keys(framework: Framework) -> dict[str, str]:
    """Statement text -> key, so tests can name statements by their wording."""
    return {s.text: s.key for s in Statement.objects.filter(framework=framework)}


def add_member(
    partnership: Partnership,
    organisation: Organisation,
    *,
    side: str | None = None,
    role: str = Role.MEMBER,
    ended: bool = False,
    name: str | None = None,
) -> Membership:
    number = next(_numbers)
    person = User.objects.create_user(
        email=f"member{number}@example.org", name=name or f"Member {number}", password="x"
    )
    today = timezone.localdate()
    return Membership.objects.create(
        partnership=partnership,
        person=person,
        organisation=organisation,
        role=role,
        side=partnership.sides.get(name=side) if side else None,
        start_date=dt.date(2024, 1, 1),
        end_date=today - dt.timedelta(days=1) if ended else None,
    )


def make_round(
    partnership: Partnership,
    framework: Framework,
    *,
    title: str = "Spring health check",
    floor: int = 3,
    opens_at: dt.datetime | None = None,
    closes_at: dt.datetime | None = None,
    ask_comments: bool = True,
) -> Round:
    """A round straight in the database, open now unless told otherwise."""
    now = timezone.now()
    return Round.objects.create(
        partnership=partnership,
        framework=framework,
        title=title,
        opens_at=opens_at or now - dt.timedelta(days=1),
        closes_at=closes_at or now + dt.timedelta(days=13),
        anonymity_floor=floor,
        ask_comments=ask_comments,
    )


def invite(round: Round, membership: Membership) -> Invitation:
    invitation = Invitation.build(round=round, membership=membership)
    invitation.save()
    Round.objects.filter(pk=round.pk).update(invited_count=round.invitations.count())
    return invitation


def close_and_seal(round: Round) -> None:
    """Close an open round now; its held answers go into the results in random order."""
    assert services.round_close_early(round)
    round.refresh_from_db()


def answer(
    round: Round,
    membership: Membership,
    answers: int | Mapping[str, int | None] | None,
    comments: Mapping[str, str] | None = None,
) -> HeldResponse:
    """Invite a member and submit their answers; a single value answers every statement.

    The answers are held until the round is sealed (close_and_seal, or reading the
    results of a closed round)."""
    invitation = invite(round, membership)
    keys = Statement.objects.filter(framework=round.framework).values_list("key", flat=True)
    if answers is None or isinstance(answers, int):
        answers = dict.fromkeys(keys, answers)
    invitation.refresh_from_db()
    return services.response_submit(invitation=invitation, answers=answers, comments=comments or {})


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def page_text(response: Any) -> str:
    """The words a person reads on a page, tags removed and spaces collapsed."""
    parser = _Text()
    parser.feed(response.content.decode())
    text = re.sub(r"\s+", " ", " ".join(parser.parts))
    # Tags were replaced by spaces; punctuation straight after a tag closes up again.
    return re.sub(r" ([:;,.)])", r"\1", text)
