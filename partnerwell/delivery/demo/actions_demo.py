"""Demo actions on the forum and the strategic partnership: some done on time, some late,
some overdue, one dropped, a few answering the forum's latest health check.

Does nothing once the forum has actions, so loading the demo again changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from partnerwell.core.models import Membership, Partnership, Role, User
from partnerwell.delivery.actions import Origin, action_create, progress_note_add
from partnerwell.delivery.models import Action, ActionSource, ActionStatus
from partnerwell.healthcheck.models import Principle, Round, Statement

FORUM = "Northmoor Community Health NHS Trust Partnership Forum"
STRATEGIC = "Northmoor Partnership"
HEALTH_CHECK = "Forum health check 2026"
# Actions from the earlier check were done before the 2026 check, which shows whether they helped.
EARLIER_CHECK = "Forum health check 2025"
LOGINS = {"manager@example.org", "chair@example.org", "member@example.org"}


@dataclass(frozen=True)
class Plan:
    title: str
    owner: str  # a demo log-in, "staff-chair", or "member-3" (the third ordinary member)
    due: int  # days from today
    status: str = ActionStatus.AGREED
    done: int | None = None  # days from today it was done
    notes: tuple[tuple[int, str], ...] = ()  # (days from today, text)
    detail: str = ""
    drop_reason: str = ""
    principle: str = ""  # key of the health-check principle it answers
    check: str = HEALTH_CHECK  # the health check it came from
    statement: str = ""  # key of the statement, when it answers one


S = ActionStatus
FORUM_PLANS = [
    Plan(
        "Send a joint briefing to all staff after every forum meeting",
        "chair@example.org",
        21,
        S.IN_PROGRESS,
        notes=((-12, "Draft template shared with the staff side for comments."),),
        detail="Both co-chairs sign it, so staff hear the same message from both sides.",
        principle="communications",
    ),
    Plan(
        "Give the staff side early warning of changes that affect staff",
        "manager@example.org",
        -10,
        notes=((-20, "Directors asked to flag changes at the monthly planning meeting."),),
        principle="communications",
        statement="msp-com-2",
    ),
    Plan(
        "Agree time for staff-side representatives to brief their members",
        "staff-chair",
        -8,
        S.DONE,
        done=-5,
        notes=((-20, "Proposal for two hours a month taken to the workforce committee."),),
        principle="communications",
        statement="msp-com-4",
    ),
    Plan(
        "Publish the forum's terms of reference on the intranet",
        "member@example.org",
        5,
        notes=((-4, "Asked the communications team for a page."),),
    ),
    Plan(
        "Collect staff-side views on the new rota policy",
        "member@example.org",
        -3,
        S.IN_PROGRESS,
        notes=((-14, "Survey sent to UNISON members; 48 replies so far."),),
    ),
    Plan(
        "Circulate papers a week before each meeting",
        "manager@example.org",
        -90,
        S.DONE,
        done=-95,
    ),
    Plan("Review the lone-working policy with the staff side", "member-1", -60, S.DONE, done=-45),
    Plan(
        "Issue a joint statement on winter pressures", "chair@example.org", -120, S.DONE, done=-118
    ),
    Plan(
        "Survey staff about partnership working",
        "member-4",
        -30,
        S.DROPPED,
        drop_reason="Folded into the trust's annual staff survey, which now asks the same questions.",
    ),
    Plan(
        "Hold a joint agenda-setting meeting before each forum",
        "staff-chair",
        -200,
        S.DONE,
        done=-210,
        notes=((-300, "Co-chairs agreed to meet a week before each forum to set the agenda."),),
        principle="joint-agenda-setting",
        check=EARLIER_CHECK,
    ),
    Plan(
        "Train new staff-side representatives on the trust's finances",
        "member-2",
        45,
        S.PROPOSED,
    ),
    Plan(
        "Agree a protocol for consulting on service changes",
        "manager@example.org",
        -150,
        S.DONE,
        done=-130,
        notes=((-160, "First draft discussed; the staff side asked for longer notice periods."),),
    ),
]
STRATEGIC_PLANS = [
    Plan("Agree a partnership communications plan", "manager@example.org", -20, S.DONE, done=-25),
    Plan(
        "Refresh the partnership's terms of reference",
        "chair@example.org",
        -31,
        S.IN_PROGRESS,
        notes=((-40, "Comments collected from the action group chairs."),),
    ),
    Plan(
        "Bring the voluntary sector's cost-of-living evidence to the board",
        "member@example.org",
        -50,
        S.DONE,
        done=-41,
        notes=((-41, "Presented at the board; the paper is with the minutes."),),
    ),
    Plan("Set up a shared volunteering offer for partner staff", "member-3", 12, S.IN_PROGRESS),
    Plan("Agree three shared priorities for 2027", "chair@example.org", 60, S.PROPOSED),
    Plan("Publish the annual review", "manager@example.org", -100, S.DONE, done=-100),
    Plan(
        "Join up the county's lists of warm spaces",
        "member-5",
        -15,
        notes=(
            (-30, "Libraries and the CVS have sent their lists; the council's is still to come."),
        ),
    ),
    Plan("Map the data partners hold on families at risk", "member-6", 30),
]


def _owner(who: str, members: list[Membership]) -> Membership | None:
    if who == "staff-chair":
        return next((m for m in members if m.responsibilities == ["staff side secretary"]), None)
    if who.startswith("member-"):
        plain = [m for m in members if m.role == Role.MEMBER and m.person.email not in LOGINS]
        index = int(who.split("-")[1])
        return plain[index] if index < len(plain) else None
    return next((m for m in members if m.person.email == who), None)


def _origin(plan: Plan, rounds: dict[str, Round]) -> Origin:
    round = rounds.get(plan.check)
    if not plan.principle or round is None:
        return Origin()
    principle = Principle.objects.filter(framework=round.framework, key=plan.principle).first()
    if principle is None:
        return Origin()
    statement = (
        Statement.objects.filter(principle=principle, key=plan.statement).first()
        if plan.statement
        else None
    )
    return Origin(
        source=ActionSource.HEALTH_CHECK, round=round, principle=principle, statement=statement
    )


def _load(partnership: Partnership, plans: list[Plan], rounds: dict[str, Round]) -> None:
    today = timezone.localdate()
    members = list(
        Membership.objects.current()
        .filter(partnership=partnership)
        .select_related("person", "organisation")
        .order_by("pk")
    )
    manager = next((m.person for m in members if m.person.email == "manager@example.org"), None)
    for plan in plans:
        owner = _owner(plan.owner, members)
        if owner is None:
            continue
        action = action_create(
            by=manager,
            partnership=partnership,
            title=plan.title,
            detail=plan.detail,
            owner=owner,
            due_date=today + dt.timedelta(days=plan.due),
            status=ActionStatus.PROPOSED if plan.status == ActionStatus.PROPOSED else S.AGREED,
            origin=_origin(plan, rounds),
        )
        _history(action, plan, owner.person, today)
        # Agreed well before it fell due (and before its first note), not on the day the demo loaded.
        first_note = min((days for days, _ in plan.notes), default=0)
        agreed = today + dt.timedelta(days=min(plan.due - 90, first_note - 14, -1))
        Action.objects.filter(pk=action.pk).update(
            created_at=timezone.make_aware(dt.datetime.combine(agreed, dt.time(10)))
        )


def _history(action: Action, plan: Plan, author: User, today: dt.date) -> None:
    def on(days: int) -> dt.date:
        return today + dt.timedelta(days=days)

    started = plan.status == ActionStatus.IN_PROGRESS
    for number, (days, text) in enumerate(plan.notes):
        # The first note of an action under way is the one that started it.
        status = ActionStatus.IN_PROGRESS if started and number == 0 else ""
        progress_note_add(by=author, action=action, text=text, status=status, written_on=on(days))
    if started and not plan.notes:
        progress_note_add(by=author, action=action, status=plan.status, written_on=on(-7))
    if plan.status == ActionStatus.DONE and plan.done is not None:
        progress_note_add(
            by=author, action=action, text="Done.", status=plan.status, written_on=on(plan.done)
        )
    if plan.status == ActionStatus.DROPPED:
        progress_note_add(
            by=author,
            action=action,
            status=plan.status,
            drop_reason=plan.drop_reason,
            written_on=on(min(0, plan.due)),
        )


def load() -> None:
    forum = Partnership.objects.filter(name=FORUM).first()
    if forum is None or Action.objects.filter(partnership=forum).exists():
        return
    rounds = {
        r.title: r
        for r in Round.objects.filter(
            partnership=forum, title__in=[HEALTH_CHECK, EARLIER_CHECK]
        ).select_related("framework")
    }
    _load(forum, FORUM_PLANS, rounds)
    strategic = Partnership.objects.filter(name=STRATEGIC).first()
    if strategic is not None:
        _load(strategic, STRATEGIC_PLANS, {})
