"""Demo risks, issues and wins for the county's partnerships.

Everything is found by its partnership and title before it is created, so a
second run changes nothing. Dates are relative to the day the demo is loaded:
some reviews are overdue, some risks sit above their target, one is marked
for the next meeting.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from django.utils import timezone

from partnerwell.core.models import Membership, Partnership, PartnershipType
from partnerwell.delivery.models import (
    Issue,
    IssueStatus,
    Outcome,
    Risk,
    RiskCategory,
    RiskStatus,
    Win,
)

STRATEGIC = "Northmoor Partnership"
HWB = "Northmoor Health and Wellbeing Board"
C = RiskCategory
LOGINS = {"manager@example.org", "chair@example.org", "member@example.org"}


class DemoRisk(NamedTuple):
    title: str
    category: str
    cause: str
    effect: str
    controls: str
    # likelihood, impact, target likelihood, target impact
    scores: tuple[int, int, int, int]
    # Days from today to the next review (negative: overdue), and since the last review.
    review_in: int
    reviewed_ago: int | None
    # A demo log-in's email, or the position of a member (by id) to own the risk.
    owner: str | int
    escalate: bool = False
    status: str = RiskStatus.OPEN


RISKS: dict[str, list[DemoRisk]] = {
    STRATEGIC: [
        DemoRisk(
            "A major partner cuts its contribution",
            C.RESOURCES,
            "Budget pressure in the county council and the integrated care board.",
            "Shared posts and the small grants fund would close mid-year.",
            "Contributions agreed for three years; early warning at each budget round.",
            (4, 5, 2, 4),
            -21,
            120,
            "chair@example.org",
            escalate=True,
        ),
        DemoRisk(
            "Senior people stop attending",
            C.GOVERNANCE,
            "Meetings feel like a talking shop; deputies sent instead.",
            "Decisions get deferred because nobody present can commit their organisation.",
            "Attendance reported to each meeting; chair follows up absences.",
            (3, 4, 2, 3),
            -45,
            200,
            1,
        ),
        DemoRisk(
            "Action groups drift from the agreed priorities",
            C.DELIVERY,
            "Groups set their own agendas with little reporting back.",
            "Effort is spread thin and the board cannot show results.",
            "Quarterly highlight reports from each action group.",
            (3, 3, 2, 3),
            30,
            60,
            "member@example.org",
        ),
        DemoRisk(
            "Partners cannot share the data the priorities need",
            C.INFORMATION,
            "No information-sharing agreement covers the new priorities.",
            "Outcome measures cannot be reported and targeting is guesswork.",
            "Draft agreement with the information governance leads.",
            (4, 3, 2, 2),
            -10,
            100,
            2,
        ),
        DemoRisk(
            "Voluntary sector voices are crowded out",
            C.RELATIONSHIPS,
            "Papers arrive late and meetings run in statutory partners' language.",
            "Smaller organisations disengage and community insight is lost.",
            "Papers out a week ahead; a glossary of terms; a pre-meeting for the sector.",
            (3, 3, 3, 3),
            60,
            30,
            "member@example.org",
        ),
        DemoRisk(
            "A public row between partners damages trust",
            C.REPUTATION,
            "Disagreements aired in the local press before they are raised here.",
            "Residents lose confidence and partners become guarded.",
            "Agreed media protocol; media liaison named in the terms of reference.",
            (2, 4, 2, 4),
            90,
            20,
            "manager@example.org",
        ),
        DemoRisk(
            "Too much depends on one coordinator",
            C.GOVERNANCE,
            "All papers, actions and follow-up go through the partnership manager.",
            "Work stops during absence or if the post is lost.",
            "Second officer trained; processes written down.",
            (3, 4, 3, 2),
            14,
            75,
            "manager@example.org",
        ),
        DemoRisk(
            "Funding bid deadline missed",
            C.RESOURCES,
            "Short notice from the funder.",
            "The youth employment project would have gone without funding.",
            "Bid submitted in time.",
            (1, 3, 1, 3),
            -200,
            230,
            3,
            status=RiskStatus.CLOSED,
        ),
    ],
    PartnershipType.FORUM: [
        DemoRisk(
            "Staff side members cannot get release to attend",
            C.RESOURCES,
            "Rotas leave no cover for representatives' facility time.",
            "Staff side is under-represented and agreements lack their input.",
            "Facility time agreement; meeting dates set a year ahead.",
            (4, 4, 2, 3),
            -30,
            150,
            "member@example.org",
        ),
        DemoRisk(
            "Changes are decided before the forum sees them",
            C.GOVERNANCE,
            "Service changes reach the forum only once they are agreed elsewhere.",
            "Staff side loses trust in the forum as a place to shape decisions.",
            "Forward plan of service changes shared each month.",
            (3, 5, 2, 4),
            -7,
            90,
            "chair@example.org",
        ),
        DemoRisk(
            "Papers arrive too late to consult members",
            C.INFORMATION,
            "Papers are written in the week of the meeting.",
            "Representatives cannot consult the staff they speak for.",
            "Paper deadline ten days before each meeting.",
            (4, 3, 2, 2),
            -60,
            180,
            1,
        ),
        DemoRisk(
            "Disagreements escalate to formal disputes",
            C.RELATIONSHIPS,
            "Concerns are left to fester instead of being raised early.",
            "Time and goodwill are spent on formal processes.",
            "Co-chairs meet before each forum to clear issues early.",
            (2, 4, 2, 3),
            45,
            40,
            2,
        ),
        DemoRisk(
            "Agreements are not written down or kept",
            C.GOVERNANCE,
            "Verbal agreements at the forum are not minuted clearly.",
            "The same matters are argued over again.",
            "Register of agreements kept by the staff side secretary.",
            (3, 2, 3, 2),
            20,
            70,
            3,
        ),
    ],
    HWB: [
        DemoRisk(
            "Inequalities strategy is not owned by partners",
            C.DELIVERY,
            "Each partner reports to its own board first.",
            "Health inequalities widen while partners wait for each other.",
            "Shared outcomes framework; annual joint review.",
            (3, 4, 2, 3),
            -15,
            120,
            "manager@example.org",
        ),
        DemoRisk(
            "Shared data set falls out of date",
            C.INFORMATION,
            "No one owns the joint needs assessment between refreshes.",
            "Decisions rest on old figures.",
            "Public health team owns the refresh timetable.",
            (2, 3, 2, 3),
            40,
            50,
            1,
        ),
    ],
}


class DemoIssue(NamedTuple):
    title: str
    detail: str
    raised_ago: int
    raised_by: str | int
    resolution: str = ""
    resolved_ago: int | None = None


ISSUES: dict[str, list[DemoIssue]] = {
    STRATEGIC: [
        DemoIssue(
            "Who chairs the new climate action group?",
            "The environment group has no agreed chair since the last one moved on.",
            40,
            "member@example.org",
        ),
        DemoIssue(
            "How should the small grants fund be split between areas?",
            "Districts disagree on whether to split by population or by need.",
            25,
            2,
        ),
        DemoIssue(
            "Can the partnership's papers be published online?",
            "Some papers hold partners' commercially sensitive figures.",
            90,
            1,
            "Papers are published after each meeting, with sensitive figures held back and "
            "marked as such.",
            30,
        ),
    ],
    PartnershipType.FORUM: [
        DemoIssue(
            "Where do staff side pre-meetings take place?",
            "The usual room is now a clinic on forum days.",
            12,
            "member@example.org",
        ),
        DemoIssue(
            "Is the forum consulted on the rota review?",
            "Staff side asked whether the review counts as a change needing consultation.",
            60,
            2,
            "Yes: the rota review comes to the forum before any decision.",
            35,
        ),
    ],
}


class DemoWin(NamedTuple):
    title: str
    detail: str
    won_ago: int


WINS: dict[str, list[DemoWin]] = {
    STRATEGIC: [
        DemoWin(
            "Joint funding bid for youth employment succeeded",
            "Four partners bid together; the project starts in the spring.",
            50,
        ),
        DemoWin(
            "Warm spaces winter scheme reached 2,000 residents",
            "Libraries, the food bank and Age Well opened spaces together.",
            20,
        ),
        DemoWin(
            "Every partner signed the information-sharing charter",
            "A year of work by the information governance leads.",
            8,
        ),
    ],
    PartnershipType.FORUM: [
        DemoWin(
            "Facility time agreement signed by both sides",
            "Representatives now have protected time for forum work.",
            70,
        ),
        DemoWin(
            "Rota changes agreed without a formal dispute",
            "Raised early at the forum and settled by the co-chairs.",
            15,
        ),
    ],
}


def _partnership(key: str) -> Partnership | None:
    if key == PartnershipType.FORUM:
        return Partnership.objects.filter(kind=PartnershipType.FORUM).order_by("pk").first()
    return Partnership.objects.filter(name=key).first()


def _member(members: list[Membership], who: str | int) -> Membership | None:
    if isinstance(who, str):
        return next((m for m in members if m.person.email == who), members[0] if members else None)
    # Other members, so that the demo log-ins do not own everything.
    pool = [m for m in members if m.person.email not in LOGINS] or members
    return pool[who % len(pool)] if pool else None


def _risks(partnership: Partnership, members: list[Membership], today: dt.date, key: str) -> None:
    for spec in RISKS.get(key, []):
        if Risk.objects.filter(partnership=partnership, title=spec.title).exists():
            continue
        owner = _member(members, spec.owner)
        likelihood, impact, target_likelihood, target_impact = spec.scores
        Risk.objects.create(
            partnership=partnership,
            title=spec.title,
            category=spec.category,
            cause=spec.cause,
            effect=spec.effect,
            controls=spec.controls,
            owner=owner,
            organisation=owner.organisation if owner else None,
            likelihood=likelihood,
            impact=impact,
            target_likelihood=target_likelihood,
            target_impact=target_impact,
            review_on=today + dt.timedelta(days=spec.review_in),
            last_reviewed_on=None
            if spec.reviewed_ago is None
            else today - dt.timedelta(days=spec.reviewed_ago),
            escalate=spec.escalate,
            status=spec.status,
        )


def _issues(partnership: Partnership, members: list[Membership], today: dt.date, key: str) -> None:
    for spec in ISSUES.get(key, []):
        if Issue.objects.filter(partnership=partnership, title=spec.title).exists():
            continue
        resolved_on = (
            None if spec.resolved_ago is None else today - dt.timedelta(days=spec.resolved_ago)
        )
        Issue.objects.create(
            partnership=partnership,
            title=spec.title,
            detail=spec.detail,
            raised_by=_member(members, spec.raised_by),
            raised_on=today - dt.timedelta(days=spec.raised_ago),
            status=IssueStatus.OPEN if resolved_on is None else IssueStatus.RESOLVED,
            resolution=spec.resolution,
            resolved_on=resolved_on,
        )


def _wins(partnership: Partnership, members: list[Membership], today: dt.date, key: str) -> None:
    # Wins point at the partnership's outcomes when the outcomes part of the demo made some.
    outcomes = list(Outcome.objects.filter(partnership=partnership).order_by("pk"))
    for number, spec in enumerate(WINS.get(key, [])):
        if Win.objects.filter(partnership=partnership, title=spec.title).exists():
            continue
        recorder = members[number % len(members)].person if members else None
        Win.objects.create(
            partnership=partnership,
            title=spec.title,
            detail=spec.detail,
            won_on=today - dt.timedelta(days=spec.won_ago),
            outcome=outcomes[number % len(outcomes)] if outcomes else None,
            recorded_by=recorder,
        )


def load() -> None:
    today = timezone.localdate()
    for key in [STRATEGIC, PartnershipType.FORUM, HWB]:
        partnership = _partnership(key)
        if partnership is None:
            continue
        members = list(
            Membership.objects.current()
            .filter(partnership=partnership)
            .select_related("person", "organisation")
            .order_by("pk")
        )
        _risks(partnership, members, today, key)
        _issues(partnership, members, today, key)
        _wins(partnership, members, today, key)
