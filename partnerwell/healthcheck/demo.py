"""The health-check part of the demo: two finished rounds and one open round on the forum.

Answers are simulated with a fixed seed so the results show a side gap, a
disputed statement, a hidden small group and a change since last time.
"""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from partnerwell.core.models import Membership, Partnership, PartnershipType
from partnerwell.healthcheck.models import (
    Framework,
    HeldResponse,
    Invitation,
    Round,
    Statement,
)
from partnerwell.healthcheck.services import round_seal

# How each side leans on each theme of the social partnership framework (1 to 5 scale).
LEANINGS_2025 = {"Management side": 3.6, "Staff side": 2.9}
LEANINGS_2026 = {"Management side": 3.9, "Staff side": 3.3}
# Staff see communications much worse than managers do: the side gap to find.
STAFF_LOWER = {"communications": -1.1}
# Joint agenda setting improved a lot between the rounds: the change to find. Members also
# rate delivering highly while the action log says otherwise: the blind spot to find.
IMPROVED_2026 = {"joint-agenda-setting": 1.0, "delivering": 0.6}


def _answer(rng: random.Random, mean: float, scale: str) -> int | None:
    if rng.random() < 0.06:
        return None  # don't know
    if scale == "zero_ten":
        return max(0, min(10, round(rng.gauss(mean * 2 - 1, 1.6))))
    if scale == "yes_no":
        return 2 if rng.random() < (mean - 1) / 4 else 0
    return max(1, min(5, round(rng.gauss(mean, 0.6))))


def _simulate(
    round: Round,
    members: list[Membership],
    leanings: dict[str, float],
    rng: random.Random,
    extra: dict[str, float] | None = None,
) -> None:
    statements = list(
        Statement.objects.filter(framework=round.framework).select_related("principle")
    )
    held = []
    disputed_key = statements[len(statements) // 2].key
    for number, membership in enumerate(members):
        side = membership.side.name if membership.side else ""
        # Drawn as before (it was the row id), so the seeded answers stay the same.
        rng.getrandbits(128)
        response = HeldResponse(
            round=round,
            side=side,
            sector=membership.organisation.sector,
            organisation=membership.organisation.name,
            comments={},
        )
        if number % 4 == 0 and round.ask_comments:
            area = statements[0].principle.area.key
            response.comments = {area: rng.choice(COMMENTS)}
        held.append(response)
        for s in statements:
            mean = leanings.get(side, 3.4)
            if side == "Staff side":
                mean += STAFF_LOWER.get(s.principle.key, 0.0)
            mean += (extra or {}).get(s.principle.key, 0.0)
            if s.reverse:
                mean = 6 - mean
            raw = _answer(rng, mean, s.scale)
            # One statement splits the forum down the middle: the disputed item.
            if s.key == disputed_key:
                raw = 5 if number % 2 else 1
            response.answers[s.key] = raw
    HeldResponse.objects.bulk_create(held)
    round.invitations.filter(membership__in=members).update(answered=True)
    # Closed rounds are sealed: their answers move into the results in random order.
    round_seal(round)


COMMENTS = [
    "Papers often arrive too late to consult colleagues before the meeting.",
    "Much better since the co-chairs started meeting before each forum.",
    "Staff side items still get squeezed to the end of the agenda.",
    "Good, open discussions, but we rarely check whether actions were done.",
    "I would like more notice of changes that affect rotas.",
]


def _round(
    forum: Partnership,
    framework: Framework,
    title: str,
    opens: dt.datetime,
    closes: dt.datetime,
    members: list[Membership],
) -> Round:
    round = Round.objects.create(
        partnership=forum,
        framework=framework,
        title=title,
        opens_at=opens,
        closes_at=closes,
        anonymity_floor=3,
        ask_comments=True,
        reminder_days=[3],
        invited_count=len(members),
        sent_count=len(members),
    )
    Invitation.objects.bulk_create(Invitation.build(round=round, membership=m) for m in members)
    round.invitations.update(sent_at=opens)
    return round


def load_demo() -> None:
    forum = Partnership.objects.filter(kind=PartnershipType.FORUM).order_by("pk").first()
    if forum is None or Round.objects.filter(partnership=forum).exists():
        return
    rng = random.Random(7)
    now = timezone.now()
    members = list(
        Membership.objects.current()
        .filter(partnership=forum)
        .select_related("side", "organisation", "person")
        .order_by("pk")
    )
    social = (
        Framework.objects.filter(key="model-social-partnership", scope="builtin")
        .order_by("-version")
        .first()
    )
    pulse = (
        Framework.objects.filter(key="member-pulse", scope="builtin").order_by("-version").first()
    )
    if social is None or pulse is None:
        return
    demo_member = [m for m in members if m.person.email == "member@example.org"]
    others = [
        m for m in members if m.person.email not in {"member@example.org", "manager@example.org"}
    ]

    first = _round(
        forum,
        social,
        "Forum health check 2025",
        now - dt.timedelta(days=410),
        now - dt.timedelta(days=390),
        members,
    )
    _simulate(first, others[:15], LEANINGS_2025, rng)

    second = _round(
        forum,
        social,
        "Forum health check 2026",
        now - dt.timedelta(days=45),
        now - dt.timedelta(days=25),
        members,
    )
    _simulate(second, others[:17], LEANINGS_2026, rng, extra=IMPROVED_2026)

    open_round = _round(
        forum,
        pulse,
        "Member pulse, autumn",
        now - dt.timedelta(days=3),
        now + dt.timedelta(days=11),
        members,
    )
    answered = [m for m in others if m not in demo_member][:5]
    _simulate(open_round, answered, LEANINGS_2026, rng)
