"""Demo priorities, votes, outcomes and measures for the county's partnerships.

The strategic partnership has proposed priorities, a closed points vote with
ballots from most of its members (the top three were agreed ten days after it
closed), and an open rating vote the demo member has not voted in yet. Both
partnerships have outcomes with measures carrying 24 monthly values,
baselines and targets, built so that some are on track, some at risk and some
off track. Everything is found by its title before it is created, so a second
run changes nothing; dates are relative to the day the demo is loaded.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import NamedTuple

from django.utils import timezone

from partnerwell.core.models import Membership, Partnership, User
from partnerwell.delivery import priorities as vote_services
from partnerwell.delivery.measures import trajectory_at
from partnerwell.delivery.models import (
    DataPoint,
    Direction,
    Measure,
    MeasureKind,
    Outcome,
    Priority,
    PriorityStatus,
    PriorityVote,
    Target,
)

STRATEGIC = "Northmoor Partnership"
HWB = "Northmoor Health and Wellbeing Board"
DEMO_MEMBER = "member@example.org"
MANAGER = "manager@example.org"

# Proposed priorities of the strategic partnership, with how strongly members favour each.
STRATEGIC_PRIORITIES: list[tuple[str, str, float]] = [
    (
        "Get more young people into education, work or training",
        "Too many 16 and 17 year olds drift out of learning; every partner meets them.",
        6.0,
    ),
    (
        "Warm, affordable homes for everyone",
        "Cold, damp homes make people ill and cost every service more.",
        5.0,
    ),
    (
        "Safer streets and less domestic abuse",
        "Victims tell their story to too many agencies before help arrives.",
        4.2,
    ),
    (
        "Good jobs and a growing local economy",
        "Help local firms grow and people into good work near home.",
        2.2,
    ),
    (
        "Cut the county's carbon emissions",
        "Partners own a lot of buildings and vehicles between them.",
        1.9,
    ),
    (
        "Better mental health for children and young people",
        "Waits for support are long and schools carry much of the load.",
        2.0,
    ),
    (
        "Stronger, more connected neighbourhoods",
        "Support community groups to do more for themselves.",
        1.3,
    ),
    (
        "One front door for advice on money and debt",
        "People are passed between advice services and give up.",
        0.6,
    ),
]
CLOSED_VOTE = "Priorities for the next three years"
OPEN_VOTE = "What should the action groups take on next?"
HWB_PRIORITIES = [
    ("Healthy ageing", "Help older people stay well, active and independent for longer."),
    ("The best start in life", "Give every child a healthy start, from pregnancy to school."),
    ("Good mental wellbeing", "Support people early, before problems become crises."),
]


class DemoMeasure(NamedTuple):
    title: str
    kind: str
    unit: str
    direction: str
    baseline: float
    target: float
    # Where the latest value sits against the line to the target, as a share of the
    # planned change: positive ahead (on track), -0.05 at risk, -0.3 off track.
    latest_gap: float
    decimals: int = 0
    frequency_days: int = 31
    has_target: bool = True


class DemoOutcome(NamedTuple):
    title: str
    for_whom: str
    description: str
    priority: str
    measures: list[DemoMeasure]


K = MeasureKind
HIGHER, LOWER = Direction.HIGHER, Direction.LOWER

OUTCOMES: dict[str, list[DemoOutcome]] = {
    HWB: [
        DemoOutcome(
            "Fewer older people admitted to hospital after a fall",
            "People aged 65 and over living in Northmoor",
            "A fall is the most common reason an older person is admitted as an emergency; "
            "many could be prevented with strength and balance work and safer homes.",
            "Healthy ageing",
            [
                DemoMeasure(
                    "Emergency admissions after a fall, aged 65 and over",
                    K.POPULATION,
                    "per 100,000",
                    LOWER,
                    2150,
                    1850,
                    0.08,
                ),
                DemoMeasure(
                    "Falls risk assessments completed",
                    K.HOW_MUCH,
                    "assessments",
                    HIGHER,
                    320,
                    520,
                    -0.05,
                ),
                DemoMeasure(
                    "People still at home 91 days after reablement",
                    K.BETTER_OFF,
                    "%",
                    HIGHER,
                    78.0,
                    86.0,
                    -0.3,
                    decimals=1,
                ),
            ],
        ),
        DemoOutcome(
            "More children ready to start school",
            "Children in their reception year",
            "Children who start school ready to learn do better all the way through.",
            "The best start in life",
            [
                DemoMeasure(
                    "Families seen for the 2 to 2½ year health review",
                    K.HOW_WELL,
                    "%",
                    HIGHER,
                    71.0,
                    85.0,
                    0.04,
                    decimals=1,
                ),
                DemoMeasure(
                    "Children at a good level of development by age 5",
                    K.POPULATION,
                    "%",
                    HIGHER,
                    63.5,
                    68.0,
                    -0.04,
                    decimals=1,
                ),
            ],
        ),
        DemoOutcome(
            "Fewer people waiting a long time for mental health support",
            "Adults referred for talking therapies",
            "Long waits make problems worse and push people towards crisis services.",
            "Good mental wellbeing",
            [
                DemoMeasure(
                    "Adults waiting more than 18 weeks for talking therapy",
                    K.HOW_WELL,
                    "people",
                    LOWER,
                    640,
                    300,
                    -0.35,
                ),
            ],
        ),
    ],
    STRATEGIC: [
        DemoOutcome(
            "More young people in education, employment or training",
            "16 and 17 year olds",
            "Every partner meets young people at risk of dropping out; together we can "
            "catch them earlier.",
            STRATEGIC_PRIORITIES[0][0],
            [
                DemoMeasure(
                    "16 and 17 year olds not in education, employment or training",
                    K.POPULATION,
                    "%",
                    LOWER,
                    5.8,
                    4.2,
                    -0.06,
                    decimals=1,
                ),
                DemoMeasure(
                    "Young people starting an apprenticeship",
                    K.HOW_MUCH,
                    "starts",
                    HIGHER,
                    45,
                    70,
                    0.1,
                ),
            ],
        ),
        DemoOutcome(
            "Fewer homes in fuel poverty",
            "Households in Northmoor",
            "Warmer homes mean fewer winter admissions and children who can do homework "
            "in a warm room.",
            STRATEGIC_PRIORITIES[1][0],
            [
                DemoMeasure(
                    "Homes insulated through the partnership scheme (running total)",
                    K.HOW_MUCH,
                    "homes",
                    HIGHER,
                    0,
                    1800,
                    0.05,
                ),
                DemoMeasure(
                    "Households in fuel poverty",
                    K.POPULATION,
                    "%",
                    LOWER,
                    13.4,
                    11.0,
                    -0.4,
                    decimals=1,
                    frequency_days=92,
                ),
            ],
        ),
        DemoOutcome(
            "People feel safe where they live",
            "Residents, and victims of domestic abuse in particular",
            "Feeling safe shapes whether people go out, use parks and know their neighbours.",
            STRATEGIC_PRIORITIES[2][0],
            [
                DemoMeasure(
                    "Repeat referrals to domestic abuse services within 12 months",
                    K.HOW_WELL,
                    "%",
                    LOWER,
                    31.0,
                    25.0,
                    -0.07,
                    decimals=1,
                ),
                DemoMeasure(
                    "Residents who feel safe outside after dark",
                    K.POPULATION,
                    "%",
                    HIGHER,
                    68.0,
                    68.0,
                    0.0,
                    decimals=1,
                    has_target=False,
                ),
            ],
        ),
    ],
}


def _month_end(year: int, month: int) -> dt.date:
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def _months_back(today: dt.date, count: int) -> list[dt.date]:
    """The month ends of the last ``count`` complete months, oldest first."""
    ends = []
    year, month = today.year, today.month
    for _ in range(count):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        ends.append(_month_end(year, month))
    return ends[::-1]


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return _month_end(index // 12, index % 12 + 1)


class Series(NamedTuple):
    baseline_on: dt.date
    values: list[tuple[dt.date, float]]
    targets: list[tuple[dt.date, float]]


def _series(spec: DemoMeasure, rng: random.Random, today: dt.date) -> Series:
    """Baseline, targets and 24 monthly values ending where ``latest_gap`` says."""
    periods = _months_back(today, 24)
    baseline_on = _add_months(periods[0], -1)
    target_on = _add_months(periods[-1], 12)
    line = [(baseline_on, spec.baseline), (target_on, spec.target)]
    planned = abs(spec.target - spec.baseline) or abs(spec.baseline) or 1.0
    sign = 1.0 if spec.direction == HIGHER else -1.0
    values = []
    for number, day in enumerate(periods, start=1):
        expected = trajectory_at(line, day)
        # Drift towards the chosen gap, with a little noise; the last value lands on it.
        drift = spec.latest_gap * number / len(periods)
        noise = 0.0 if number == len(periods) else rng.gauss(0, 0.03)
        # Every demo measure is a count or a rate, never below zero.
        value = max(0.0, expected + sign * planned * (drift + noise))
        values.append((day, round(value, spec.decimals) if spec.decimals else round(value)))
    targets = [
        (target_on, spec.target),
        (_add_months(target_on, 12), spec.target + (spec.target - spec.baseline) * 0.25),
    ]
    return Series(baseline_on, values, targets)


def _outcomes(
    partnership: Partnership, by: User | None, rng: random.Random, today: dt.date
) -> None:
    priorities = {p.title: p for p in Priority.objects.filter(partnership=partnership)}
    for spec in OUTCOMES[partnership.name]:
        if Outcome.objects.filter(partnership=partnership, title=spec.title).exists():
            continue
        outcome = Outcome.objects.create(
            partnership=partnership,
            title=spec.title,
            for_whom=spec.for_whom,
            description=spec.description,
            priority=priorities.get(spec.priority),
        )
        for m in spec.measures:
            series = _series(m, rng, today)
            measure = Measure.objects.create(
                partnership=partnership,
                outcome=outcome,
                title=m.title,
                kind=m.kind,
                unit=m.unit,
                direction=m.direction,
                baseline_value=m.baseline,
                baseline_on=series.baseline_on,
                frequency_days=m.frequency_days,
            )
            if m.has_target:
                Target.objects.bulk_create(
                    Target(measure=measure, target_on=day, value=round(value, 1))
                    for day, value in series.targets
                )
            values = series.values
            if m.frequency_days > 31:
                values = values[2::3]  # quarterly: the quarter ends only
            DataPoint.objects.bulk_create(
                DataPoint(measure=measure, period_end=day, value=value, entered_by=by)
                for day, value in values
            )


# Priorities and votes ---------------------------------------------------------------------


def _points(rng: random.Random, weights: list[float]) -> list[int]:
    """Ten points over two to four favourites, more to the ones members favour more."""
    count = rng.randint(2, 4)
    chosen: list[int] = []
    while len(chosen) < count:
        pick = rng.choices(range(len(weights)), weights=weights)[0]
        if pick not in chosen:
            chosen.append(pick)
    shares = {i: weights[i] * rng.uniform(0.6, 1.4) for i in chosen}
    total = sum(shares.values())
    raw = {i: 10 * share / total for i, share in shares.items()}
    given = [0] * len(weights)
    for i, value in raw.items():
        given[i] = int(value)
    # The points lost to rounding down go to the largest remainders.
    for i in sorted(raw, key=lambda i: raw[i] - int(raw[i]), reverse=True)[: 10 - sum(given)]:
        given[i] += 1
    return given


def _cast_and_date(
    vote: PriorityVote, user: User, scores: dict[int, vote_services.Score], on: dt.datetime
) -> None:
    # Ballots and participations keep no time (a database copy could match them up).
    vote_services.ballot_cast(vote=vote, user=user, scores=scores)


def _strategic_priorities(
    partnership: Partnership, manager: User | None, rng: random.Random
) -> None:
    if PriorityVote.objects.filter(partnership=partnership, title=CLOSED_VOTE).exists():
        return
    now = timezone.now()
    members = list(
        Membership.objects.current()
        .filter(partnership=partnership)
        .select_related("person")
        .order_by("pk")
    )
    proposers = [m for m in members if m.person.email != MANAGER] or members
    candidates = []
    for number, (title, description, _) in enumerate(STRATEGIC_PRIORITIES):
        priority, _ = Priority.objects.get_or_create(
            partnership=partnership,
            title=title,
            defaults={
                "description": description,
                "proposed_by": proposers[number % len(proposers)] if proposers else None,
            },
        )
        candidates.append(priority)
    # Proposed in the weeks before the vote opened.
    Priority.objects.filter(pk__in=[p.pk for p in candidates]).update(
        created_at=now - dt.timedelta(days=230)
    )
    if manager is None or len(members) < 6:
        return

    # The closed vote: opened now so ballots can be cast, then moved back in time.
    vote = vote_services.vote_open(
        partnership=partnership,
        by=manager,
        title=CLOSED_VOTE,
        method="points",
        candidates=candidates,
        opens_at=now - dt.timedelta(minutes=1),
        closes_at=now + dt.timedelta(days=1),
    )
    weights = [w for _, _, w in STRATEGIC_PRIORITIES]
    opened = now - dt.timedelta(days=200)
    voters = [m for m in members if rng.random() < 0.75]
    for number, membership in enumerate(voters):
        given = _points(rng, weights)
        scores = {
            p.pk: vote_services.Score(points=n) for p, n in zip(candidates, given, strict=True)
        }
        _cast_and_date(vote, membership.person, scores, opened + dt.timedelta(days=number % 14))
    closed = opened + dt.timedelta(days=14)
    PriorityVote.objects.filter(pk=vote.pk).update(opens_at=opened, closes_at=closed)
    vote.refresh_from_db()

    # The top three were agreed at the meeting ten days after the vote closed.
    ranked = vote_services.vote_results(vote)["candidates"]
    agreed_on = timezone.localtime(closed).date() + dt.timedelta(days=10)
    for row in ranked[:3]:
        vote_services.priority_decide(
            priority=row["priority"], status=PriorityStatus.AGREED, agreed_on=agreed_on
        )
    vote_services.priority_decide(
        priority=ranked[-1]["priority"], status=PriorityStatus.SET_ASIDE, agreed_on=None
    )

    # The open vote, on what is still proposed; the demo member has not voted yet.
    still_proposed = list(vote_services.votable_priorities(partnership).order_by("title"))
    open_vote = vote_services.vote_open(
        partnership=partnership,
        by=manager,
        title=OPEN_VOTE,
        method="rating",
        candidates=still_proposed,
        opens_at=now - dt.timedelta(days=3),
        closes_at=now + dt.timedelta(days=11),
    )
    early = [m for m in members if m.person.email not in {DEMO_MEMBER, MANAGER}][:7]
    for membership in early:
        scores = {
            p.pk: vote_services.Score(importance=rng.randint(2, 5), feasibility=rng.randint(1, 5))
            for p in still_proposed
        }
        _cast_and_date(open_vote, membership.person, scores, now - dt.timedelta(days=2))


def _hwb_priorities(partnership: Partnership, today: dt.date) -> None:
    for number, (title, description) in enumerate(HWB_PRIORITIES):
        agreed_on = today - dt.timedelta(days=400 + 30 * number)
        priority, created = Priority.objects.get_or_create(
            partnership=partnership,
            title=title,
            defaults={
                "description": description,
                "status": PriorityStatus.AGREED,
                "agreed_on": agreed_on,
            },
        )
        if created:
            proposed = dt.datetime.combine(agreed_on - dt.timedelta(days=60), dt.time(10))
            Priority.objects.filter(pk=priority.pk).update(created_at=timezone.make_aware(proposed))


def load() -> None:
    today = timezone.localdate()
    rng = random.Random(2031)
    manager = User.objects.filter(email=MANAGER).first()
    strategic = Partnership.objects.filter(name=STRATEGIC).first()
    hwb = Partnership.objects.filter(name=HWB).first()
    if strategic is not None:
        _strategic_priorities(strategic, manager, rng)
        _outcomes(strategic, manager, rng, today)
    if hwb is not None:
        _hwb_priorities(hwb, today)
        _outcomes(hwb, manager, rng, today)
