"""Actions: workflows, the action log's filters, accountability figures and exports.

Workflows are `<noun>_<verb>(*, …)`, typed and atomic. Figures come from SQL
aggregates (conditional SUMs grouped by organisation); only the medians are
worked out here, from a short list of whole numbers of days.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from partnerwell.core.exports import safe_cell
from partnerwell.core.models import Membership, Organisation, Partnership, User
from partnerwell.delivery.models import (
    OPEN_STATUSES,
    Action,
    ActionQuerySet,
    ActionSource,
    ActionStatus,
    Issue,
    Measure,
    Priority,
    ProgressNote,
    Risk,
)
from partnerwell.healthcheck.access import results_visible
from partnerwell.healthcheck.models import Principle, Rating, Response, Round, Statement
from partnerwell.healthcheck.scoring import band
from partnerwell.healthcheck.services import rounds_seal_for

# "Due soon" on the log and in the reminder emails: within this many days from today.
DUE_SOON_DAYS = 7
# The evidence indicator needs at least this many actions before it says anything.
ON_TIME_MINIMUM = 3

ACTION_ON_TIME_TITLE = "Actions done on time"
ACTION_ON_TIME_RULE = (
    "Of the actions due in the 12 months before the date, the share done by their due date. "
    "Actions past their date and still open count as not done on time; dropped actions are "
    "left out. Shown only when at least 3 actions were due."
)


# Creating and changing actions ---------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """Where an action came from. Every object must belong to the action's partnership."""

    source: str = ActionSource.NONE
    round: Round | None = None
    principle: Principle | None = None
    statement: Statement | None = None
    risk: Risk | None = None
    issue: Issue | None = None
    priority: Priority | None = None
    decision_id: int | None = None

    def describe(self) -> str:
        """Where the action comes from, in words; empty for none."""
        if self.round is not None and self.principle is not None:
            what = self.principle.title
            if self.statement is not None:
                what = f"{what}: “{self.statement.text}”"
            return f"Health check “{self.round.title}”, {what}"
        record = self.risk or self.issue or self.priority
        return f"{ActionSource(self.source).label}: {record}" if record else ""


def _check_origin(partnership: Partnership, origin: Origin) -> None:
    errors: dict[str, str] = {}
    if origin.source not in ActionSource.values:
        errors["source"] = "Choose where the action came from, or none."
    for name, obj in (
        ("round", origin.round),
        ("risk", origin.risk),
        ("issue", origin.issue),
        ("priority", origin.priority),
    ):
        if obj is not None and obj.partnership_id != partnership.pk:
            errors[name] = f"Choose a {name} of this partnership."
    if origin.principle is not None and (
        origin.round is None or origin.principle.framework_id != origin.round.framework_id
    ):
        errors["principle"] = "Choose a principle of the health check's framework."
    if origin.statement is not None and (
        origin.principle is None or origin.statement.principle_id != origin.principle.pk
    ):
        errors["statement"] = "Choose a statement of the chosen principle."
    if origin.source == ActionSource.HEALTH_CHECK and origin.principle is None:
        errors["principle"] = "Name the health-check principle the action responds to."
    named: dict[str, tuple[str, object]] = {
        ActionSource.RISK: ("risk", origin.risk),
        ActionSource.ISSUE: ("issue", origin.issue),
        ActionSource.PRIORITY: ("priority", origin.priority),
    }
    needed, given = named.get(origin.source, ("", True))
    if given is None:
        errors[needed] = f"Name the {needed} the action responds to."
    if errors:
        raise ValidationError(errors)


def _check_owner(partnership: Partnership, owner: Membership, *, keep: int | None = None) -> None:
    current = Membership.objects.current().filter(pk=owner.pk, partnership=partnership)
    if owner.pk != keep and not current.exists():
        raise ValidationError({"owner": "Choose a current member of this partnership."})


def _check_measure(partnership: Partnership, measure: Measure | None) -> None:
    if measure is not None and measure.partnership_id != partnership.pk:
        raise ValidationError({"measure": "Choose a measure of this partnership."})


@transaction.atomic
def action_create(
    *,
    by: User | None,
    partnership: Partnership,
    title: str,
    owner: Membership,
    due_date: dt.date,
    detail: str = "",
    organisation: Organisation | None = None,
    status: str = ActionStatus.AGREED,
    origin: Origin | None = None,
    measure: Measure | None = None,
) -> Action:
    """A new open action; its organisation is the owner's unless another is given."""
    origin = origin or Origin()
    _check_owner(partnership, owner)
    _check_origin(partnership, origin)
    _check_measure(partnership, measure)
    if status not in OPEN_STATUSES:
        raise ValidationError(
            {"status": "A new action is proposed, agreed or in progress; record progress later."}
        )
    action = Action(
        partnership=partnership,
        title=title.strip(),
        detail=detail.strip(),
        owner=owner,
        organisation=organisation or owner.organisation,
        due_date=due_date,
        status=status,
        source=origin.source,
        source_round=origin.round,
        # A statement's action also answers its principle, so scores can be followed.
        source_principle=origin.principle,
        source_statement=origin.statement,
        source_risk=origin.risk,
        source_issue=origin.issue,
        source_priority=origin.priority,
        source_decision_id=origin.decision_id,
        measure=measure,
        created_by=by,
    )
    action.full_clean(exclude=["measure", "created_by"])
    action.save()
    return action


@transaction.atomic
def action_update(
    *,
    by: User | None,
    action: Action,
    title: str,
    detail: str,
    owner: Membership,
    organisation: Organisation | None,
    due_date: dt.date,
    measure: Measure | None = None,
) -> Action:
    """A manager's change; a new owner or due date is written into the timeline."""
    _check_owner(action.partnership, owner, keep=action.owner_id)
    _check_measure(action.partnership, measure)
    changes = []
    if owner.pk != action.owner_id:
        changes.append(f"Reassigned from {action.owner.person.name} to {owner.person.name}.")
    if due_date != action.due_date:
        changes.append(f"Due date moved from {action.due_date:%-d %B %Y} to {due_date:%-d %B %Y}.")
    action.title = title.strip()
    action.detail = detail.strip()
    action.owner = owner
    action.organisation = organisation or owner.organisation
    action.due_date = due_date
    action.measure = measure
    action.full_clean(exclude=["measure", "created_by"])
    action.save()
    if changes:
        ProgressNote.objects.create(action=action, author=by, text=" ".join(changes))
    return action


@transaction.atomic
def progress_note_add(
    *,
    by: User | None,
    action: Action,
    text: str = "",
    status: str = "",
    drop_reason: str = "",
    written_on: dt.date | None = None,
) -> ProgressNote:
    """A dated note on the timeline, which may move the action to a new status.

    Done records the note's date as the day it was done; dropping needs a reason.
    Moving a done or dropped action back to open clears its done date or reason.
    """
    today = timezone.localdate()
    written_on = written_on or today
    text = text.strip()
    if written_on > today:
        raise ValidationError({"written_on": "A note cannot be dated in the future."})
    if status and status not in ActionStatus.values:
        raise ValidationError({"status": "Choose one of the statuses listed."})
    # Locked, so two notes sent at once cannot both move the status from the same start.
    locked = Action.objects.select_for_update().get(pk=action.pk)
    moves = bool(status) and status != locked.status
    if not moves and not text:
        raise ValidationError({"text": "Write a note, or choose a new status for the action."})
    if moves:
        if status == ActionStatus.DROPPED and not drop_reason.strip():
            raise ValidationError(
                {
                    "drop_reason": "Say why the action is dropped, so others know it was not forgotten."
                }
            )
        locked.status = status
        locked.done_on = written_on if status == ActionStatus.DONE else None
        locked.drop_reason = drop_reason.strip() if status == ActionStatus.DROPPED else ""
        locked.full_clean(exclude=["measure", "created_by"])
        locked.save(update_fields=["status", "done_on", "drop_reason", "updated_at"])
        for name in ("status", "done_on", "drop_reason", "updated_at"):
            setattr(action, name, getattr(locked, name))
    else:
        Action.objects.filter(pk=action.pk).update(updated_at=timezone.now())
    return ProgressNote.objects.create(
        action=locked,
        author=by,
        text=text,
        written_on=written_on,
        status=status if moves else "",
    )


# The action log: filters and sorting ------------------------------------------------

SORTS = {
    "due": ("due_date", "pk"),
    "status": ("status_rank", "due_date", "pk"),
    "owner": (Lower("owner__person__name"), "due_date", "pk"),
    "organisation": (Lower("organisation__name"), "due_date", "pk"),
    "partnership": (Lower("partnership__name"), "due_date", "pk"),
}
STATUS_ORDER = [s.value for s in ActionStatus]


def action_log(actions: QuerySet[Action]) -> ActionQuerySet:
    """Actions with everything a row of the log shows, in one query."""
    last_note = ProgressNote.objects.filter(action=OuterRef("pk")).order_by(
        "-written_on", "-created_at"
    )
    rank = Case(
        *(When(status=s, then=Value(i)) for i, s in enumerate(STATUS_ORDER)),
        output_field=IntegerField(),
    )
    qs = actions.select_related(
        "partnership",
        "owner__person",
        "organisation",
        "source_round",
        "source_principle",
        "source_statement",
        "source_risk",
        "source_issue",
        "source_priority",
    ).annotate(
        status_rank=rank,
        last_note_on=Subquery(last_note.values("written_on")[:1]),
        last_note_text=Subquery(last_note.values("text")[:1]),
        last_note_status=Subquery(last_note.values("status")[:1]),
    )
    assert isinstance(qs, ActionQuerySet)
    return qs


def actions_filter(
    actions: ActionQuerySet,
    filters: Mapping[str, Any],
    *,
    user: User,
    my_organisation_ids: Collection[int] = (),
    today: dt.date | None = None,
) -> ActionQuerySet:
    """Apply the log's filters (a form's cleaned data) and its sort order."""
    today = today or timezone.localdate()
    who = filters.get("who") or ""
    if who == "mine":
        actions = actions.filter(owner__person=user)
    elif who == "my_organisation":
        actions = actions.filter(organisation_id__in=list(my_organisation_ids))
    due = filters.get("due") or ""
    if due == "overdue":
        actions = actions.overdue(today)
    elif due == "soon":
        actions = actions.open().filter(
            due_date__gte=today, due_date__lte=today + dt.timedelta(days=DUE_SOON_DAYS)
        )
    status = filters.get("status") or ""
    if status == "open":
        actions = actions.open()
    elif status in ActionStatus.values:
        actions = actions.filter(status=status)
    source = filters.get("source") or ""
    if source == "none":
        actions = actions.filter(source="")
    elif source and source in ActionSource.values:
        actions = actions.filter(source=source)
    organisation = filters.get("organisation")
    if organisation is not None:
        actions = actions.filter(organisation=organisation)
    order = SORTS.get(filters.get("sort") or "due", SORTS["due"])
    return actions.order_by(*order)


def my_organisation_ids(user: User, partnership: Partnership) -> list[int]:
    return list(
        Membership.objects.current()
        .filter(person=user, partnership=partnership)
        .values_list("organisation_id", flat=True)
    )


# Where an action came from, in words ------------------------------------------------


def _url_or_none(obj: Any) -> str | None:
    """A link to another area's page, or none while that page does not exist yet."""
    from django.urls import NoReverseMatch

    try:
        return str(obj.get_absolute_url())
    except NoReverseMatch:
        return None


def origin_summary(action: Action) -> tuple[str, str | None]:
    """A sentence naming where the action came from, and a link to it when there is one."""
    origin = Origin(
        source=action.source,
        round=action.source_round,
        principle=action.source_principle,
        statement=action.source_statement,
        risk=action.source_risk,
        issue=action.source_issue,
        priority=action.source_priority,
        decision_id=action.source_decision_id,
    )
    text = origin.describe()
    if origin.round is not None and origin.principle is not None:
        return text, reverse("healthcheck-view-results", args=[origin.round.pk])
    record = origin.risk or origin.issue or origin.priority
    if record is not None:
        return text, _url_or_none(record)
    if action.source == ActionSource.DECISION:
        return "A meeting decision", None
    if action.source:
        return f"{action.get_source_display()} (since removed)", None
    return "", None


# Health-check scores beside an action ------------------------------------------------


def _principle_means(rounds: list[Round], principle_key: str) -> dict[int, float | None]:
    """Per round: the principle's score, the mean of its statements' mean values (0–100),
    or None when fewer people answered than the round's anonymity floor."""
    # Closed rounds' held answers go into the results first (in random order).
    rounds_seal_for(rounds)
    ids = [r.pk for r in rounds]
    answered = dict(
        Response.objects.filter(round_id__in=ids)
        .values("round_id")
        .annotate(n=Count("id"))
        .values_list("round_id", "n")
    )
    means: dict[int, list[float]] = {pk: [] for pk in ids}
    for row in (
        Rating.objects.filter(round_id__in=ids, principle__key=principle_key)
        .values("round_id", "statement_id")
        .annotate(n=Count("value"), total=Sum("value"))
    ):
        if row["n"]:
            means[row["round_id"]].append(row["total"] / row["n"])
    return {
        r.pk: statistics.fmean(means[r.pk])
        # A round's results, this score included, appear only once it has closed.
        if results_visible(r) and answered.get(r.pk, 0) >= r.anonymity_floor and means[r.pk]
        else None
        for r in rounds
    }


def principle_scores(action: Action) -> list[dict[str, Any]]:
    """The source principle's score in the round the action came from and in the latest
    later round of the same framework (the principle matched by key across versions)."""
    source = action.source_round
    principle = action.source_principle
    if source is None or principle is None:
        return []
    later = (
        Round.objects.filter(
            partnership_id=source.partnership_id,
            framework__scope=source.framework.scope,
            framework__key=source.framework.key,
            opens_at__gt=source.opens_at,
            opens_at__lte=timezone.now(),
        )
        # Only a closed round has results to show (healthcheck.access.results_visible).
        .filter(Q(closed_early_at__lte=timezone.now()) | Q(closes_at__lte=timezone.now()))
        .order_by("-opens_at")
        .first()
    )
    rounds = [source, *([later] if later else [])]
    scores = _principle_means(rounds, principle.key)
    return [
        {"round": r, "later": r is not source, "score": scores[r.pk], "band": band(scores[r.pk])}
        for r in rounds
    ]


def health_check_prefill(
    round: Round, principle: Principle, statement: Statement | None
) -> dict[str, str]:
    """A title and detail for an action that answers a principle or statement of a round."""
    score = _principle_means([round], principle.key)[round.pk]
    if statement is not None:
        title = f"Act on: {statement.text}"
        title = title if len(title) <= 200 else title[:199].rstrip() + "…"
        about = f"the statement “{statement.text}” under {principle.title}"
    else:
        title = f"Act on the health check: {principle.title}"[:200]
        about = principle.title
    detail = f"From the health check “{round.title}”, on {about}."
    if score is not None:
        detail += (
            f" Members scored {principle.title} {math.floor(score + 1e-9)} out of 100"
            f" ({band(score)})."
        )
    return {"title": title, "detail": detail}


def health_check_action_link(
    round: Round, principle: dict[str, Any], statement: dict[str, Any] | None, manager: bool
) -> tuple[str, str] | None:
    """The results page's "Turn into an action" link, for managers (healthcheck.links)."""
    if not manager:
        return None
    query = {"principle": principle["id"]}
    if statement is not None:
        query["statement"] = statement["id"]
    url = reverse("delivery-create-action", args=[round.pk]) + "?" + urlencode(query)
    return "Turn into an action", url


# Accountability --------------------------------------------------------------------


def _count(condition: Q) -> Sum:
    return Sum(Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField()))


DONE = Q(status=ActionStatus.DONE)
ON_TIME = Q(status=ActionStatus.DONE, done_on__lte=F("due_date"))
DROPPED = Q(status=ActionStatus.DROPPED)
OPEN = Q(status__in=OPEN_STATUSES)


@dataclass
class AccountabilityRow:
    """One organisation's figures (or the partnership's, for the total)."""

    name: str
    organisation_id: int | None = None
    due: int = 0
    done: int = 0
    on_time: int = 0
    not_yet_due: int = 0
    overdue: int = 0
    dropped: int = 0
    days_late: list[int] = field(default_factory=list)

    @property
    def assessed(self) -> int:
        """Actions whose outcome is known: done, or past their date."""
        return self.due - self.not_yet_due

    @property
    def on_time_percent(self) -> float | None:
        return 100 * self.on_time / self.assessed if self.assessed else None

    @property
    def median_days_late(self) -> float | None:
        return statistics.median(self.days_late) if self.days_late else None

    def as_dict(self) -> dict[str, Any]:
        percent = self.on_time_percent
        return {
            "organisation_id": self.organisation_id,
            "name": self.name,
            "due": self.due,
            "done": self.done,
            "done_on_time": self.on_time,
            "on_time_percent": None if percent is None else round(percent, 1),
            "overdue": self.overdue,
            "not_yet_due": self.not_yet_due,
            "dropped": self.dropped,
            "median_days_late": self.median_days_late,
        }


@dataclass
class Accountability:
    start: dt.date
    end: dt.date
    today: dt.date
    organisations: list[AccountabilityRow]
    total: AccountabilityRow


ACCOUNTABILITY_RULES = [
    (
        "Due",
        "Actions with a due date in the period, owned by the organisation. Dropped "
        "actions are counted apart and left out of every other figure.",
    ),
    ("Done", "Of those, the actions marked done, whenever that was."),
    ("Done on time", "Of those, the actions done on or before their due date."),
    (
        "On time",
        "Done on time as a share of the actions due in the period, leaving out "
        "actions still open whose due date is today or later: their time has not run out.",
    ),
    (
        "Overdue now",
        "Of the actions due in the period, those still open today and past their due date.",
    ),
    (
        "Median days late",
        "Of the actions due in the period that were done after their due "
        "date, the middle number of days between the due date and the day they were done. "
        "Actions still open are not included: they appear as overdue.",
    ),
]


def one_year_before(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def accountability(
    partnership: Partnership, *, start: dt.date, end: dt.date, today: dt.date | None = None
) -> Accountability:
    """Per organisation and in total, for actions due from start to end (inclusive).

    Three queries whatever the number of actions: the grouped counts, the days
    late of actions done late, and the organisations currently on the partnership.
    """
    today = today or timezone.localdate()
    due_in_period = Action.objects.filter(partnership=partnership, due_date__range=(start, end))
    counted = ~DROPPED
    grouped = (
        due_in_period.values("organisation_id", "organisation__name")
        .annotate(
            due=_count(counted),
            done=_count(DONE),
            on_time=_count(ON_TIME),
            not_yet_due=_count(OPEN & Q(due_date__gte=today)),
            overdue=_count(OPEN & Q(due_date__lt=today)),
            dropped=_count(DROPPED),
        )
        .order_by()
    )
    rows: dict[int, AccountabilityRow] = {
        org_id: AccountabilityRow(name=name, organisation_id=org_id)
        for org_id, name in Membership.objects.current()
        .filter(partnership=partnership)
        .values_list("organisation_id", "organisation__name")
        .distinct()
    }
    for g in grouped:
        row = rows.setdefault(
            g["organisation_id"],
            AccountabilityRow(name=g["organisation__name"], organisation_id=g["organisation_id"]),
        )
        for name in ("due", "done", "on_time", "not_yet_due", "overdue", "dropped"):
            setattr(row, name, g[name] or 0)
    late = due_in_period.filter(DONE, done_on__gt=F("due_date")).values_list(
        "organisation_id", "due_date", "done_on"
    )
    for org_id, due_date, done_on in late:
        if done_on is not None:
            rows[org_id].days_late.append((done_on - due_date).days)
    ordered = sorted(rows.values(), key=lambda r: r.name.lower())
    total = AccountabilityRow(name=f"{partnership.name} (all organisations)")
    for row in ordered:
        for name in ("due", "done", "on_time", "not_yet_due", "overdue", "dropped"):
            setattr(total, name, getattr(total, name) + getattr(row, name))
        total.days_late.extend(row.days_late)
    return Accountability(start=start, end=end, today=today, organisations=ordered, total=total)


def accountability_chart_rows(result: Accountability) -> list[dict[str, Any]]:
    """Rows for healthcheck.charts.score_bars: organisations with something to measure."""
    return [
        {
            "label": row.name,
            "score": row.on_time_percent,
            "band": band(row.on_time_percent),
            "disputed": False,
        }
        for row in result.organisations
        if row.on_time_percent is not None
    ]


def action_on_time(partnership: Partnership, on: dt.date) -> float | None:
    """Evidence indicator: the share (0–100) of actions due in the 12 months before `on`
    that were done by their due date; None with fewer than 3 such actions.

    Actions due and still open count as not on time; dropped actions are left out.
    """
    figures = (
        Action.objects.filter(
            partnership=partnership, due_date__gte=one_year_before(on), due_date__lt=on
        )
        .exclude(DROPPED)
        .aggregate(total=Count("pk"), on_time=_count(ON_TIME))
    )
    total = figures["total"] or 0
    if total < ON_TIME_MINIMUM:
        return None
    return 100 * (figures["on_time"] or 0) / total


# Exports ---------------------------------------------------------------------------

EXPORT_HEADER = [
    "id",
    "partnership",
    "title",
    "detail",
    "owner",
    "owner email",
    "organisation",
    "due date",
    "status",
    "done on",
    "days late",
    "overdue",
    "drop reason",
    "came from",
    "last note on",
    "last note",
]


def export_rows(actions: Iterable[Action], today: dt.date | None = None) -> list[list[str]]:
    """The action log as text cells, each made safe from spreadsheet formulas."""
    today = today or timezone.localdate()
    rows = []
    for a in actions:
        days_late = a.days_late
        last_on = getattr(a, "last_note_on", None)
        values = (
            a.pk,
            a.partnership.name,
            a.title,
            a.detail,
            a.owner.person.name,
            a.owner.person.email,
            a.organisation.name,
            a.due_date.isoformat(),
            a.get_status_display(),
            a.done_on.isoformat() if a.done_on else "",
            "" if days_late is None else days_late,
            "yes" if a.is_open and a.due_date < today else "no",
            a.drop_reason,
            origin_summary(a)[0],
            last_on.isoformat() if last_on else "",
            getattr(a, "last_note_text", None) or "",
        )
        rows.append([safe_cell(str(v)) for v in values])
    return rows
