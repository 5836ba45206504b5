"""The meetings part of the demo: a year of the forum's meetings and the next one.

Five past meetings of the NHS trust partnership forum, each with an agreed
agenda, a register (one union's attendance falls away), decisions, actions
minuted into the action log and an end-of-meeting review; the minutes of all
but the last are approved at the meeting after. The next meeting is three
weeks away with its agenda open: the staff side's member has an item waiting
for the chairs, and the forward plan holds an item raised between meetings.

Does nothing once the forum has meetings, so loading the demo again changes nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from partnerwell.core.models import Membership, Partnership, User
from partnerwell.delivery.models import Risk
from partnerwell.meetings import agenda, attendance, minutes, review, services
from partnerwell.meetings.models import (
    AgendaApproval,
    AgendaItem,
    Attendance,
    ItemStatus,
    Meeting,
    MeetingSeries,
    MeetingStatus,
    Minutes,
    PackStatus,
    Paper,
    PapersPack,
    Presence,
    ReviewInvitation,
    Standing,
)

FORUM = "Northmoor Community Health NHS Trust Partnership Forum"
SERIES = "Partnership forum (every two months)"


@dataclass(frozen=True)
class Topic:
    title: str
    ask: str
    nature: str
    minutes: int
    side: str  # "management" or "staff": who raised it
    decision: str = ""
    action: str = ""


# Each past meeting's own items, oldest meeting first. Early agendas are mostly
# operational; as the forum sets its agenda jointly, strategy gets more of the time.
HISTORY: list[list[Topic]] = [
    [
        Topic(
            "Car parking charges for night staff",
            "discussion",
            "operational",
            20,
            "staff",
            "The trust will pause night-shift parking charges while options are costed.",
            "Cost three options for free night-shift parking",
        ),
        Topic("Rota changes on the surgical wards", "information", "operational", 15, "management"),
        Topic(
            "Sickness absence policy refresh",
            "decision",
            "operational",
            25,
            "management",
            "The refreshed sickness absence policy goes out to joint consultation for six weeks.",
        ),
    ],
    [
        Topic(
            "Staff survey results and the forum's response",
            "discussion",
            "strategic",
            30,
            "management",
            "Both sides will write one joint response plan to the staff survey.",
            "Draft the joint staff survey response plan",
        ),
        Topic(
            "Uniform provision for community teams",
            "decision",
            "operational",
            15,
            "staff",
            "Community teams get a second set of uniform from April.",
        ),
        Topic("Flu vaccination campaign", "information", "operational", 10, "management"),
    ],
    [
        Topic(
            "Workforce plan for the next three years",
            "discussion",
            "strategic",
            35,
            "management",
            "The forum will see each draft chapter of the workforce plan.",
            "Share the first draft chapter of the workforce plan",
        ),
        Topic(
            "Menopause support at work",
            "decision",
            "strategic",
            20,
            "staff",
            "The trust adopts the menopause support guidance drafted by both sides.",
        ),
        Topic("Locker rooms at the east site", "discussion", "operational", 10, "staff"),
    ],
    [
        Topic(
            "Violence and aggression against staff",
            "assurance",
            "strategic",
            30,
            "staff",
            "Quarterly reports on violence against staff will come to the forum.",
            "Set up the quarterly violence and aggression report",
        ),
        Topic(
            "Joint agenda-setting: how it is working",
            "discussion",
            "strategic",
            20,
            "management",
            "Co-chairs will meet ten days before every forum to set the agenda.",
        ),
        Topic(
            "Annual leave carry-over",
            "decision",
            "operational",
            15,
            "staff",
            "Up to five days of annual leave may be carried over this year.",
        ),
    ],
    [
        Topic(
            "Financial recovery plan: impact on staff",
            "discussion",
            "strategic",
            40,
            "management",
            "No compulsory redundancies will be proposed without forum scrutiny.",
            "Circulate the staff impact assessment of the recovery plan",
        ),
        Topic(
            "Facility time for union representatives",
            "decision",
            "strategic",
            20,
            "staff",
            "Facility time agreement renewed for two years, with quarterly reporting.",
        ),
        Topic("Staff car-share scheme", "information", "operational", 10, "management"),
    ],
]

# The coming meeting: items already on its agenda, and the staff side's waiting item.
COMING_ACCEPTED = [
    Topic(
        "Workforce plan: draft chapter on recruitment", "discussion", "strategic", 30, "management"
    ),
    Topic("Violence and aggression report, quarter two", "assurance", "strategic", 20, "staff"),
]
COMING_WAITING = Topic(
    "Bank staff pay rates compared with agency rates", "discussion", "strategic", 20, "staff"
)
FORWARD_PLAN = Topic(
    "Electric vehicle charging at all sites", "discussion", "operational", 15, "staff"
)

# Days from today of the past meetings (oldest first) and of the next two.
PAST_DAYS = [-290, -230, -170, -110, -50]
COMING_DAYS = [21, 81]


def _paper_pdf(title: str, paragraphs: int) -> bytes:
    from weasyprint import HTML

    body = "".join(
        f"<p>Paragraph {n + 1} sets out the background, the options considered and what the "
        "forum is asked to note or agree. The figures come from the trust's workforce "
        "information and were checked with both sides before circulation.</p>"
        for n in range(paragraphs)
    )
    return HTML(string=f"<h1>{title}</h1>{body}").write_pdf()


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZoneInfo(settings.TIME_ZONE))


def _forum_meeting(series: MeetingSeries, manager: User, day: dt.date) -> Meeting:
    """One of the forum's meetings: every two months, 14:00 to 16:30 in the boardroom."""
    return services.meeting_create(
        partnership=series.partnership,
        by=manager,
        title=f"Partnership forum, {day:%B %Y}",
        kind="forum",
        series=series,
        starts_at=_at(day, 14),
        ends_at=_at(day, 16, 30),
        time_zone=settings.TIME_ZONE,
        place="Trust headquarters, Boardroom",
        video_link="https://video.example.org/northmoor-forum",
    )


def _create_item(meeting: Meeting, topic: Topic, by: Membership, position: int) -> AgendaItem:
    return AgendaItem.objects.create(
        partnership=meeting.partnership,
        meeting=meeting,
        title=topic.title,
        ask=topic.ask,
        nature=topic.nature,
        presenter=by.person.name,
        minutes_needed=topic.minutes,
        status=ItemStatus.ACCEPTED,
        position=position,
        submitted_by=by.person,
        submitter_side=by.side,
        submitted_at=meeting.starts_at - dt.timedelta(days=18),
    )


def _approve_both_sides(meeting: Meeting, chairs: list[Membership], days_before: int) -> None:
    for chair in chairs:
        AgendaApproval.objects.create(
            meeting=meeting, side=chair.side, approved_by=chair.person, revision=0
        )
    Meeting.objects.filter(pk=meeting.pk).update(
        agenda_agreed_at=meeting.starts_at - dt.timedelta(days=days_before + 2)
    )


def _register(
    meeting: Meeting, members: list[Membership], n: int, rng: random.Random, by: User
) -> None:
    entries: list[tuple[int, str, str]] = []
    for m in members:
        fading = m.organisation.name.startswith("GMB") and n >= 2
        roll = rng.random()
        if fading:
            presence = Presence.ABSENT if roll < 0.8 else Presence.APOLOGIES
        elif roll < 0.78:
            presence = Presence.PRESENT
        elif roll < 0.9:
            presence = Presence.APOLOGIES
        else:
            presence = Presence.ABSENT
        entries.append((m.pk, presence, ""))
    # One named deputy at every meeting, standing in for a management-side member.
    stand_in = next(e for e in entries if e[1] != Presence.PRESENT)
    entries[entries.index(stand_in)] = (stand_in[0], Presence.DEPUTY, "Jo Whitfield (deputy)")
    attendance.register_record(meeting=meeting, by=by, entries=entries)


def _minute(
    meeting: Meeting, topics: list[Topic], members: list[Membership], manager: User
) -> None:
    items = list(AgendaItem.objects.filter(meeting=meeting, status=ItemStatus.ACCEPTED))
    texts = {}
    for item in items:
        if item.standing == Standing.APOLOGIES:
            texts[item.pk] = "The chair welcomed members; apologies as recorded in the register."
        elif item.standing == Standing.ACTIONS:
            texts[item.pk] = "Open actions reviewed; owners of overdue actions gave new dates."
        elif item.standing:
            texts[item.pk] = "Nothing further was raised."
        else:
            texts[item.pk] = f"Members discussed {item.title.lower()}. Both sides contributed."
    minutes.minutes_save(meeting=meeting, by=manager, summary="", entries=texts)
    by_title = {i.title: i for i in items}
    day = meeting.local_start.date()
    for topic in topics:
        if not topic.decision:
            continue
        decision = minutes.decision_record(
            meeting=meeting,
            item=by_title[topic.title],
            by=manager,
            text=topic.decision,
            decided_on=day,
        )
        if topic.action:
            owner = members[len(topic.action) % len(members)]
            minutes.action_from_decision(
                decision=decision,
                by=manager,
                title=topic.action,
                owner=owner,
                organisation=owner.organisation,
                due_date=day + dt.timedelta(days=60),
            )


def _reviews(meeting: Meeting, n: int, rng: random.Random, manager: User) -> None:
    # Reviews get better as the forum sets its agenda jointly; the first has too few answers.
    answers = 2 if n == 0 else rng.randint(6, 10)
    Meeting.objects.filter(pk=meeting.pk).update(review_open=True)
    meeting.refresh_from_db()
    # Personal links for those present, as opening the review makes (without the emails).
    present = Attendance.objects.filter(meeting=meeting, presence=Presence.PRESENT)
    links = ReviewInvitation.objects.bulk_create(
        ReviewInvitation.build(meeting=meeting, membership_id=a.membership_id)
        for a in present.order_by("pk")
    )
    for link in links[:answers]:
        base = min(5, 2 + n * 0.6 + rng.random() * 1.5)
        minutes_score = max(1, min(5, round(base + rng.choice([-1, 0, 0, 1]))))
        review.review_submit(
            meeting=meeting,
            invitation=link,
            added_value=max(1, min(5, round(base))),
            voices_heard=minutes_score,
            time_well_spent=max(1, min(5, round(base - 0.5))),
            comment=rng.choice(
                [
                    "",
                    "",
                    "Good to hear from the wards directly.",
                    "The papers came late again.",
                    "Strategic items got real time.",
                ]
            ),
        )
    # Closing seals the held answers into the results in random order.
    review.review_close(meeting=meeting, by=manager)


def _past_pack(meeting: Meeting, manager: User) -> None:
    """The last meeting's papers pack, built now as the worker would have built it then."""
    from partnerwell.meetings import pack as builder

    items = AgendaItem.objects.filter(meeting=meeting, standing="").order_by("position")[:2]
    for item in items:
        paper = Paper(
            item=item, title=item.title, original_name="paper.pdf", kind="pdf", uploaded_by=manager
        )
        content = _paper_pdf(item.title, 10)
        paper.size = len(content)
        paper.file.save("paper.pdf", ContentFile(content), save=True)
    pack = PapersPack.objects.create(meeting=meeting, version=1, status=PackStatus.BUILDING)
    out = io.BytesIO()
    pages = builder.build(pack, out)
    pack.file.save("pack.pdf", ContentFile(out.getvalue()), save=False)
    pack.pages = pages
    pack.status = PackStatus.READY
    pack.built_at = meeting.papers_published_at
    pack.save()


def _past_meetings(
    forum: Partnership,
    members: list[Membership],
    chairs: list[Membership],
    manager: User,
    series: MeetingSeries,
    rng: random.Random,
) -> list[Meeting]:
    today = timezone.localdate()
    by_side = {
        "management": [m for m in members if m.side and m.side.order == 0],
        "staff": [m for m in members if m.side and m.side.order == 1],
    }
    made = []
    for n, (days, topics) in enumerate(zip(PAST_DAYS, HISTORY, strict=True)):
        day = today + dt.timedelta(days=days)
        meeting = _forum_meeting(series, manager, day)
        for k, topic in enumerate(topics):
            raiser = by_side[topic.side][k % len(by_side[topic.side])]
            _create_item(meeting, topic, raiser, 45 + k * 5)
        # Papers went out on time except at the third meeting, two days before it.
        days_before = 2 if n == 2 else 7
        _approve_both_sides(meeting, chairs, days_before)
        Meeting.objects.filter(pk=meeting.pk).update(
            status=MeetingStatus.PAPERS_PUBLISHED,
            papers_published_at=meeting.starts_at - dt.timedelta(days=days_before),
        )
        meeting.refresh_from_db()
        _register(meeting, members, n, rng, manager)
        _minute(meeting, topics, members, manager)
        _reviews(meeting, n, rng, manager)
        made.append(meeting)
    # Each meeting's minutes are circulated, and approved at the meeting after it.
    _past_pack(made[-1], manager)
    for earlier, later in itertools.pairwise(made):
        current = minutes.minutes_current(earlier)
        assert current is not None
        minutes.minutes_circulate(minutes=current, by=manager, notify=False)
        minutes.minutes_approve(minutes=current, by=manager, at_meeting=later)
    last = minutes.minutes_current(made[-1])
    assert last is not None
    minutes.minutes_circulate(minutes=last, by=manager, notify=False)
    # Minutes went out about a week after each meeting, not on the day the demo loaded.
    for meeting in made:
        Minutes.objects.filter(meeting=meeting).update(
            circulated_at=meeting.starts_at + dt.timedelta(days=7)
        )
    for earlier, later in itertools.pairwise(made):
        Minutes.objects.filter(meeting=earlier, approved_at__isnull=False).update(
            approved_at=later.starts_at + dt.timedelta(minutes=10)
        )
    return made


def _coming_meetings(
    forum: Partnership,
    members: list[Membership],
    manager: User,
    member: User,
    series: MeetingSeries,
) -> None:
    today = timezone.localdate()
    coming = []
    for days in COMING_DAYS:
        day = today + dt.timedelta(days=days)
        coming.append(_forum_meeting(series, manager, day))
    nxt = coming[0]
    services.meeting_advance(meeting=nxt, to=MeetingStatus.AGENDA_OPEN)
    management = next(m for m in members if m.side and m.side.order == 0 and m.person != manager)
    staff = next(m for m in members if m.side and m.side.order == 1 and m.person != member)
    for k, topic in enumerate(COMING_ACCEPTED):
        raiser = management if topic.side == "management" else staff
        item = _create_item(nxt, topic, raiser, 45 + k * 5)
        paper = SimpleUploadedFile(
            "paper.pdf", _paper_pdf(topic.title, 12 + 6 * k), content_type="application/pdf"
        )
        agenda.paper_add(item=item, by=raiser.person, upload=paper, title=topic.title)
    agenda.item_submit(
        partnership=forum,
        by=member,
        meeting=nxt,
        title=COMING_WAITING.title,
        description="Bank rates have fallen behind agency rates; the staff side asks the forum "
        "to look at the gap and its effect on filling shifts.",
        ask=COMING_WAITING.ask,
        nature=COMING_WAITING.nature,
        presenter=member.name,
        minutes_needed=COMING_WAITING.minutes,
    )
    agenda.item_submit(
        partnership=forum,
        by=staff.person,
        meeting=None,
        title=FORWARD_PLAN.title,
        description="For a meeting in the spring, once the estates review reports.",
        ask=FORWARD_PLAN.ask,
        nature=FORWARD_PLAN.nature,
        presenter=staff.person.name,
        minutes_needed=FORWARD_PLAN.minutes,
    )


def load_demo() -> None:
    forum = Partnership.objects.filter(name=FORUM).first()
    if forum is None or Meeting.objects.filter(partnership=forum).exists():
        return
    rng = random.Random(5)
    members = list(
        Membership.objects.current()
        .filter(partnership=forum)
        .select_related("person", "organisation", "side")
        .order_by("side__order", "pk")
    )
    manager = next(m.person for m in members if m.person.email == "manager@example.org")
    member = next(m.person for m in members if m.person.email == "member@example.org")
    chairs = [m for m in members if m.role == "co_chair"]
    rules = services.settings_for(forum)
    rules.quorum_min_members = 8
    rules.quorum_each_side = True
    # Three meetings against the three before: the union whose members stopped coming shows.
    rules.attendance_window = 3
    rules.save()
    series = MeetingSeries.objects.create(partnership=forum, name=SERIES)
    # The highest open risk is marked for the next meeting, so its agenda proposes it.
    top_risk = Risk.objects.filter(partnership=forum, status="open").first()
    if top_risk is not None:
        Risk.objects.filter(pk=top_risk.pk).update(escalate=True)
    _past_meetings(forum, members, chairs, manager, series, rng)
    _coming_meetings(forum, members, manager, member, series)
