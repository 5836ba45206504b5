"""The three-question review at the end of a meeting: opening it, answers, results and trend.

Everyone recorded present gets a personal single-use link by email when the review
opens; one shared link for the room is an option the chair turns on knowingly, as
its answers cannot be limited to one per person. Answers are anonymous: while the
review is open they are held apart (HeldReview); closing it moves them into
MeetingReview all at once, in random order, holding only the meeting, the three
scores and the comment. Nothing about a meeting's answers is shown until at least
ANONYMITY_FLOOR_MINIMUM people have answered, nor while the review is open:
someone reading the results before and after one more answer could otherwise
work out that person's scores and comment.
"""

from __future__ import annotations

import datetime as dt
import secrets as system_random
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django_tasks import task

from partnerwell.core.mail import EmailMessage
from partnerwell.core.models import Partnership, User
from partnerwell.healthcheck.charts import FONT_FAMILY, MUTED_COLOUR, TEXT_COLOUR
from partnerwell.healthcheck.models import ANONYMITY_FLOOR_MINIMUM
from partnerwell.meetings.models import (
    Attendance,
    HeldReview,
    Meeting,
    MeetingReview,
    Presence,
    ReviewInvitation,
)

FLOOR = ANONYMITY_FLOOR_MINIMUM
COMMENT_MAX = 2000
WAIT_FOR_CLOSE = "Results appear when the review closes."


@dataclass(frozen=True)
class Question:
    key: str
    label: str
    short: str
    # What each point of the 1–5 scale means, from 1 to 5.
    points: tuple[str, str, str, str, str]


QUESTIONS: tuple[Question, ...] = (
    Question(
        key="added_value",
        label="How much did this meeting add to the partnership's work?",
        short="Added value",
        points=(
            "Nothing: we could have done without it",
            "A little",
            "Some",
            "A good deal",
            "A great deal: it moved things forward",
        ),
    ),
    Question(
        key="voices_heard",
        label="How well were all voices heard?",
        short="All voices heard",
        points=(
            "Badly: a few people did all the talking",
            "Not well",
            "Fairly well",
            "Well",
            "Very well: everyone had a fair chance to speak and be listened to",
        ),
    ),
    Question(
        key="time_well_spent",
        label="How well did we spend our time on what matters?",
        short="Time on what matters",
        points=(
            "Badly: the time went on things that matter little",
            "Not well",
            "Fairly well",
            "Well",
            "Very well: the time went on what matters most",
        ),
    ),
)
SCORE_KEYS = tuple(q.key for q in QUESTIONS)


def to_100(mean: float | None) -> float | None:
    """A mean on the 1–5 scale as 0–100: 1 is 0, 3 is 50, 5 is 100."""
    return None if mean is None else round((mean - 1) * 25, 1)


def review_link(meeting: Meeting) -> str:
    """The absolute link people open (or scan) to answer, the same on screen and on paper."""
    return settings.SITE_URL + reverse("meetings-respond-review", args=[meeting.review_token])


# Opening and closing -------------------------------------------------------------------


NOBODY_PRESENT = (
    "Nobody is recorded as present at this meeting, so there is nobody to send a personal "
    "link to. Record who was there in the register first, or turn on the shared link."
)


def personal_link(invitation: ReviewInvitation) -> str:
    return settings.SITE_URL + invitation.get_absolute_url()


@transaction.atomic
def review_open(*, meeting: Meeting, by: User, shared: bool = False) -> Meeting:
    """Let people answer the review (a manager or chair, at the meeting's end).

    Everyone recorded present gets a personal single-use link, emailed by the worker.
    `shared` also turns on the one link for the room, whose answers cannot be limited
    to one per person.
    """
    locked = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if locked.is_cancelled:
        raise ValidationError("This meeting was cancelled, so it has no review.")
    if locked.starts_at > timezone.now():
        raise ValidationError(
            "The review can be opened once the meeting has started; open it at the end."
        )
    if locked.review_open:
        raise ValidationError("The review is already open.")
    # Results show once a review closes; reopening one with answers would let anyone compare
    # the results before and after and pick out the later answers.
    if (
        MeetingReview.objects.filter(meeting=locked).exists()
        or HeldReview.objects.filter(meeting=locked).exists()
    ):
        raise ValidationError(
            "This review has closed with answers, so it cannot be opened again: "
            "comparing its results before and after would show the later answers."
        )
    present = list(
        Attendance.objects.filter(meeting=locked, presence=Presence.PRESENT).values_list(
            "membership_id", flat=True
        )
    )
    if not present and not shared:
        raise ValidationError(NOBODY_PRESENT)
    existing = set(locked.review_invitations.values_list("membership_id", flat=True))
    ReviewInvitation.objects.bulk_create(
        ReviewInvitation.build(meeting=locked, membership_id=m)
        for m in present
        if m not in existing
    )
    Meeting.objects.filter(pk=locked.pk).update(
        review_open=True, review_shared_link=shared, updated_at=timezone.now()
    )
    transaction.on_commit(lambda: send_review_invitations.enqueue(meeting_id=locked.pk))
    meeting.refresh_from_db()
    return meeting


@transaction.atomic
def review_close(*, meeting: Meeting, by: User) -> Meeting:
    """Stop taking answers and seal them into the results; the links then say it closed."""
    locked = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if not locked.review_open:
        raise ValidationError("The review is not open, so there is nothing to close.")
    Meeting.objects.filter(pk=locked.pk).update(review_open=False, updated_at=timezone.now())
    _seal(locked)
    meeting.refresh_from_db()
    return meeting


def _seal(meeting: Meeting) -> int:
    """Move the held answers into MeetingReview (the meeting row locked by the caller).

    Every answer of the meeting, any already in the results as well as the held
    ones, is written again in one transaction, in an order from the system's random
    source, with fresh random ids: neither ids, row order nor transaction ids then
    follow the order in which people answered.
    """
    held = list(HeldReview.objects.filter(meeting=meeting))
    if not held:
        return 0
    fields = ("added_value", "voices_heard", "time_well_spent", "comment")
    rows = [*MeetingReview.objects.filter(meeting=meeting).values_list(*fields)]
    rows += [(h.added_value, h.voices_heard, h.time_well_spent, h.comment) for h in held]
    system_random.SystemRandom().shuffle(rows)
    MeetingReview.objects.filter(meeting=meeting).delete()
    MeetingReview.objects.bulk_create(
        MeetingReview(meeting=meeting, added_value=a, voices_heard=v, time_well_spent=t, comment=c)
        for a, v, t, c in rows
    )
    HeldReview.objects.filter(pk__in=[h.pk for h in held]).delete()
    return len(held)


def review_seal(meeting: Meeting) -> int:
    """Seal a closed review's held answers (idempotent; nothing while it is open)."""
    with transaction.atomic():
        locked = Meeting.objects.select_for_update().get(pk=meeting.pk)
        return 0 if locked.review_open else _seal(locked)


def reviews_seal_due() -> int:
    """Seal every closed review still holding answers (for `partnerwell seal_rounds`)."""
    due = Meeting.objects.filter(review_open=False, held_reviews__isnull=False).distinct()
    return sum(review_seal(m) for m in due.order_by("pk"))


@task()
def send_review_invitations(meeting_id: int) -> int:
    """Email each person recorded present their personal link, once."""
    meeting = Meeting.objects.select_related("partnership").get(pk=meeting_id)
    if not meeting.review_open:
        return 0
    waiting = list(
        meeting.review_invitations.filter(sent=False, answered=False)
        .select_related("membership__person")
        .order_by("pk")
    )
    messages = [
        EmailMessage(
            f"{meeting.partnership.name}: how did {meeting.title} go?",
            render_to_string(
                "meetings/email/review_invitation.txt",
                {
                    "person": i.membership.person,
                    "meeting": meeting,
                    "link": personal_link(i),
                },
            ),
            to=[i.membership.person.email],
        )
        for i in waiting
    ]
    get_connection().send_messages(messages)
    ReviewInvitation.objects.filter(pk__in=[i.pk for i in waiting]).update(sent=True)
    return len(waiting)


# Answers -------------------------------------------------------------------------------


def _check_score(key: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
        raise ValidationError({key: "Choose a score from 1 to 5."})


class LinkUsed(ValidationError):
    """A personal review link that has already given its answers."""


@transaction.atomic
def review_submit(
    *,
    meeting: Meeting,
    added_value: int,
    voices_heard: int,
    time_well_spent: int,
    comment: str = "",
    invitation: ReviewInvitation | None = None,
) -> HeldReview:
    """Hold one anonymous answer until the review closes: the scores and the comment,
    nothing about who. With a personal link (invitation) it counts once; without one
    it needs the shared link turned on."""
    # Read the flags under a lock, so an answer cannot slip in as the review closes.
    locked = (
        Meeting.objects.select_for_update()
        .filter(pk=meeting.pk, review_open=True, cancelled_at__isnull=True)
        .first()
    )
    if locked is None:
        raise ValidationError("The review of this meeting is closed, so it takes no more answers.")
    if invitation is None and not locked.review_shared_link:
        raise ValidationError(
            "This review takes answers only through the personal links sent to the people "
            "who were there. Use the link in your email."
        )
    scores = {
        "added_value": added_value,
        "voices_heard": voices_heard,
        "time_well_spent": time_well_spent,
    }
    for key, value in scores.items():
        _check_score(key, value)
    comment = comment.strip()
    if len(comment) > COMMENT_MAX:
        raise ValidationError(
            {"comment": f"Keep the comment to {COMMENT_MAX} characters or fewer."}
        )
    if invitation is not None:
        claimed = ReviewInvitation.objects.filter(
            pk=invitation.pk, meeting=locked, answered=False
        ).update(answered=True)
        if claimed != 1:
            raise LinkUsed("This link has been used: your answers were already sent. Thank you.")
    return HeldReview.objects.create(meeting=locked, comment=comment, **scores)


# Results -------------------------------------------------------------------------------


def _aggregates() -> dict[str, Any]:
    """Count, sums and, for each question and point, how many gave it: one SQL aggregate."""
    fields: dict[str, Any] = {"n": Count("id")}
    for key in SCORE_KEYS:
        fields[f"sum_{key}"] = Sum(key)
        for point in range(1, 6):
            fields[f"{key}_{point}"] = Count("id", filter=Q(**{key: point}))
    return fields


def _mean(total: int | None, n: int) -> float | None:
    return None if not n or total is None else total / n


def _overall(means: Sequence[float | None]) -> float | None:
    known = [m for m in means if m is not None]
    return sum(known) / len(known) if known else None


def _figures(mean: float | None) -> dict[str, float | None]:
    """A mean on 1–5 (two decimals) and on 0–100 (one decimal), both from the exact mean."""
    return {"mean": None if mean is None else round(mean, 2), "score": to_100(mean)}


def review_results(meeting: Meeting, *, with_comments: bool = True) -> dict[str, Any]:
    """A meeting's results, or only that the review is still open or that there are
    too few answers (below the floor).

    While the review is open, or below the floor, the dict says nothing about the
    answers, not even how many: ``shown`` is False and every figure is None or empty.
    """
    if meeting.review_open:
        n = 0
    else:
        row = MeetingReview.objects.filter(meeting=meeting).aggregate(**_aggregates())
        n = int(row["n"])
    shown = n >= FLOOR
    result: dict[str, Any] = {
        "floor": FLOOR,
        "open": meeting.review_open,
        "shown": shown,
        "count": n if shown else None,
        "questions": [],
        "overall": {"mean": None, "score": None},
        "comments": [],
    }
    if not shown:
        return result
    for question in QUESTIONS:
        mean = _mean(row[f"sum_{question.key}"], n)
        counts = [int(row[f"{question.key}_{p}"]) for p in range(1, 6)]
        result["questions"].append(
            {
                "key": question.key,
                "label": question.label,
                "short": question.short,
                **_figures(mean),
                "distribution": [
                    {
                        "value": p,
                        "label": f"{p} – {question.points[p - 1]}",
                        "count": counts[p - 1],
                        "percent": round(100 * counts[p - 1] / n),
                    }
                    for p in range(1, 6)
                ],
            }
        )
    means = [_mean(row[f"sum_{q.key}"], n) for q in QUESTIONS]
    result["overall"] = _figures(_overall(means))
    if with_comments:
        # Random order, so the order of the comments says nothing about who wrote which.
        result["comments"] = list(
            MeetingReview.objects.filter(meeting=meeting)
            .exclude(comment="")
            .order_by("?")
            .values_list("comment", flat=True)
        )
    return result


def review_trend(partnership: Partnership) -> list[dict[str, Any]]:
    """Each reviewed meeting of the partnership, oldest first, with its scores (one query).

    A meeting counts as reviewed once its review has been opened (personal links were
    made or the shared link turned on), whether or not anyone answered: listing only
    reviews with answers would tell members that someone answered a hidden one.
    Meetings whose review is still open or below the floor are listed with ``shown``
    False and no figures or count, the same for 0 answers as for 2.
    """
    sums = {f"sum_{key}": Sum(f"reviews__{key}") for key in SCORE_KEYS}
    invited = ReviewInvitation.objects.filter(meeting_id=OuterRef("pk"))
    meetings = (
        Meeting.objects.filter(partnership=partnership, cancelled_at__isnull=True)
        .annotate(n=Count("reviews"), invited=Exists(invited), **sums)
        .filter(Q(n__gt=0) | Q(review_open=True) | Q(review_shared_link=True) | Q(invited=True))
        .order_by("starts_at", "pk")
        .values("pk", "title", "starts_at", "time_zone", "review_open", "n", *sums)
    )
    rows = []
    for m in meetings:
        n = int(m["n"])
        shown = n >= FLOOR and not m["review_open"]
        means = {key: _mean(m[f"sum_{key}"], n) if shown else None for key in SCORE_KEYS}
        overall = _overall(list(means.values()))
        rows.append(
            {
                "meeting_id": m["pk"],
                "title": m["title"],
                "date": _local_date(m["starts_at"], m["time_zone"]),
                "open": m["review_open"],
                "shown": shown,
                "count": n if shown else None,
                "questions": [{"key": key, **_figures(means[key])} for key in SCORE_KEYS],
                "overall": _figures(overall),
            }
        )
    return rows


def _local_date(moment: dt.datetime, zone: str) -> dt.date:
    return moment.astimezone(zoneinfo.ZoneInfo(zone)).date()


# The trend chart -----------------------------------------------------------------------

CHART_WIDTH = 640
LABEL_LEFT = 12
PLOT_LEFT = 12
PLOT_RIGHT = 452
BAR_COLOUR = "#1d70b8"
GRID_COLOUR = "#b1b4b6"


def _x(score: float) -> float:
    return PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * max(0.0, min(score, 100.0)) / 100


def _num(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _day(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def _trend_summary(rows: Sequence[Mapping[str, Any]]) -> str:
    shown = [r for r in rows if r["shown"]]
    still_open = len([r for r in rows if r["open"]])
    hidden = len(rows) - len(shown) - still_open
    if not rows:
        return "No meeting has been reviewed yet."
    parts = [f"{len(rows)} reviewed meeting{'s' if len(rows) != 1 else ''}."]
    if shown:
        first, last = shown[0], shown[-1]
        parts.append(
            f"Overall score out of 100: {_num(first['overall']['score'])} on "
            f"{_day(first['date'])}"
            + (
                f", {_num(last['overall']['score'])} on {_day(last['date'])}."
                if last is not first
                else "."
            )
        )
    if still_open:
        parts.append(
            f"{still_open} review{'s are' if still_open != 1 else ' is'} still open; "
            "results appear when the review closes."
        )
    if hidden:
        parts.append(
            f"{hidden} meeting{'s are' if hidden != 1 else ' is'} hidden, with fewer than "
            f"{FLOOR} answers."
        )
    return " ".join(parts)


def trend_chart(rows: Sequence[Mapping[str, Any]], *, chart_id: str = "review-trend") -> SafeString:
    """One horizontal bar per meeting: the overall review score out of 100.

    Server-side SVG under the health-check chart rules: text escaped, no inline
    styles, role="img" with a title and a description; the table beside it has
    every number. A meeting below the floor says "Hidden — fewer than 3 answers" in words
    (never how many), one whose
    review is open that its results come when it closes.
    """
    top, row_height = 30.0, 40.0
    bottom = top + row_height * max(len(rows), 1)
    parts: list[SafeString] = []
    for tick in (0, 25, 50, 75, 100):
        x = _x(tick)
        parts.append(
            format_html(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="1"/>'
                '<text x="{}" y="{}" fill="{}" font-size="11" text-anchor="middle">{}</text>',
                _num(x),
                _num(top - 4),
                _num(x),
                _num(bottom),
                GRID_COLOUR,
                _num(x),
                _num(bottom + 14),
                MUTED_COLOUR,
                tick,
            )
        )
    if not rows:
        parts.append(
            format_html(
                '<text x="{}" y="{}" fill="{}">No meeting has been reviewed yet.</text>',
                PLOT_LEFT,
                _num(top + 24),
                MUTED_COLOUR,
            )
        )
    for i, row in enumerate(rows):
        y = top + i * row_height
        label = f"{_day(row['date'])} · {row['title']}"[:80]
        parts.append(
            format_html(
                '<text x="{}" y="{}" font-size="12" fill="{}">{}</text>',
                LABEL_LEFT,
                _num(y + 12),
                TEXT_COLOUR,
                label,
            )
        )
        bar_y = y + 17
        score = row["overall"]["score"]
        if not row["shown"] or score is None:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" font-style="italic" fill="{}">{}</text>',
                    PLOT_LEFT + 2,
                    _num(bar_y + 12),
                    MUTED_COLOUR,
                    "Results when the review closes"
                    if row["open"]
                    else f"Hidden — fewer than {FLOOR} answers",
                )
            )
            continue
        end = _x(score)
        parts.append(
            format_html(
                '<rect class="pw-review-bar" x="{}" y="{}" width="{}" height="16" fill="{}"/>'
                '<text x="{}" y="{}" font-weight="bold" fill="{}">{} out of 100</text>',
                PLOT_LEFT,
                _num(bar_y),
                _num(max(end - PLOT_LEFT, 1.5)),
                BAR_COLOUR,
                _num(end + 6),
                _num(bar_y + 12),
                TEXT_COLOUR,
                _num(score),
            )
        )
    height = bottom + 24
    title = "Meeting review scores, meeting by meeting"
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="pw-chart pw-review-chart" role="img" '
        'aria-labelledby="{id}-title {id}-desc" viewBox="0 0 {w} {h}" width="100%" '
        'font-family="{font}" font-size="12"><title id="{id}-title">{title}</title>'
        '<desc id="{id}-desc">{desc}</desc>{body}</svg>',
        id=chart_id,
        w=CHART_WIDTH,
        h=_num(height),
        font=FONT_FAMILY,
        title=title,
        desc=_trend_summary(rows),
        body=format_html_join("", "{}", ((p,) for p in parts)),
    )


# The meeting page ----------------------------------------------------------------------


def meeting_section(meeting: Meeting, user: User) -> dict[str, Any]:
    """What the meeting page shows of this area (template meetings/sections/review.html)."""
    from partnerwell.healthcheck.qr import qr_svg

    link = review_link(meeting)
    return {
        "results": review_results(meeting, with_comments=False),
        "link": link,
        # Only an open review with its shared link on needs a code to scan.
        "qr": qr_svg(link) if meeting.review_open and meeting.review_shared_link else None,
        "invited": meeting.review_invitations.count() if meeting.review_open else 0,
        "can_open": not meeting.is_cancelled and meeting.starts_at <= timezone.now(),
    }
