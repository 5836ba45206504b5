"""Delivery records: actions, priorities, outcomes and measures, risks, issues and wins."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from partnerwell.core.models import Membership, Organisation, Partnership, User
from partnerwell.healthcheck.models import Principle, Round, Statement

ONE_TO_FIVE = [MinValueValidator(1), MaxValueValidator(5)]


# Priorities ------------------------------------------------------------------------


class PriorityStatus(models.TextChoices):
    CANDIDATE = "candidate", "Proposed"
    AGREED = "agreed", "Agreed"
    SET_ASIDE = "set_aside", "Set aside"


class Priority(models.Model):
    partnership = models.ForeignKey(
        Partnership, on_delete=models.CASCADE, related_name="priorities"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    proposed_by = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=12, choices=PriorityStatus.choices, default=PriorityStatus.CANDIDATE
    )
    agreed_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["status", "title"]
        verbose_name_plural = "priorities"

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("delivery-view-priority", args=[self.pk])


class VoteMethod(models.TextChoices):
    POINTS = "points", "Spread 10 points"
    RATING = "rating", "Rate importance and feasibility, 1 to 5"


class PriorityVote(models.Model):
    """A vote among members on which candidate priorities matter most."""

    partnership = models.ForeignKey(
        Partnership, on_delete=models.CASCADE, related_name="priority_votes"
    )
    title = models.CharField(max_length=200)
    method = models.CharField(max_length=8, choices=VoteMethod.choices, default=VoteMethod.POINTS)
    candidates = models.ManyToManyField(Priority, related_name="votes")
    opens_at = models.DateTimeField(default=timezone.now)
    closes_at = models.DateTimeField()
    closed_early_at = models.DateTimeField(null=True, blank=True)
    anonymity_floor = models.PositiveSmallIntegerField(default=3, validators=[MinValueValidator(3)])
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # Set once the closed vote's ballots have been rewritten in random order
    # (priorities.vote_seal); a flag, not a time, so it says nothing about who voted when.
    sealed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-opens_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(anonymity_floor__gte=3), name="vote_floor_at_least_three"
            ),
            models.CheckConstraint(
                condition=models.Q(closes_at__gt=models.F("opens_at")),
                name="vote_closes_after_opening",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("delivery-view-vote", args=[self.pk])

    @property
    def effective_close(self) -> dt.datetime:
        return self.closed_early_at or self.closes_at

    @property
    def is_open(self) -> bool:
        return self.opens_at <= timezone.now() < self.effective_close


class VoteParticipation(models.Model):
    """That a member has voted; never what they voted, nor when (a time could be matched
    to a ballot's position in a database copy)."""

    vote = models.ForeignKey(PriorityVote, on_delete=models.CASCADE, related_name="participations")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["vote", "membership"], name="vote_once_per_member")
        ]

    def __str__(self) -> str:
        return f"{self.membership} voted in {self.vote}"


class Ballot(models.Model):
    """One member's scores, kept with their side and sector but not their name, and no time.

    While the vote is open a ballot is written in the same transaction as its
    participation (so a database copy could pair them by id, position or transaction
    id). When the vote closes, priorities.vote_seal rewrites all of the vote's ballots
    in one transaction, in an order drawn from the system's random source, with fresh
    ids, so none of these follow the order in which members voted.
    """

    vote = models.ForeignKey(PriorityVote, on_delete=models.CASCADE, related_name="ballots")
    side = models.CharField(max_length=100, blank=True)
    sector = models.CharField(max_length=32, blank=True)

    def __str__(self) -> str:
        return f"Ballot in {self.vote}"


class BallotScore(models.Model):
    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE, related_name="scores")
    priority = models.ForeignKey(Priority, on_delete=models.CASCADE, related_name="+")
    points = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(10)]
    )
    importance = models.PositiveSmallIntegerField(null=True, blank=True, validators=ONE_TO_FIVE)
    feasibility = models.PositiveSmallIntegerField(null=True, blank=True, validators=ONE_TO_FIVE)

    def __str__(self) -> str:
        return f"{self.priority_id}: {self.points or self.importance}"


# Outcomes and measures ---------------------------------------------------------------


class Outcome(models.Model):
    """What should be better, and for whom."""

    partnership = models.ForeignKey(Partnership, on_delete=models.CASCADE, related_name="outcomes")
    title = models.CharField(max_length=200)
    for_whom = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    priority = models.ForeignKey(
        Priority, null=True, blank=True, on_delete=models.SET_NULL, related_name="outcomes"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("delivery-view-outcome", args=[self.pk])


class MeasureKind(models.TextChoices):
    HOW_MUCH = "how_much", "How much did we do?"
    HOW_WELL = "how_well", "How well did we do it?"
    BETTER_OFF = "better_off", "Is anyone better off?"
    POPULATION = "population", "Population indicator"


class Direction(models.TextChoices):
    HIGHER = "higher", "Higher is better"
    LOWER = "lower", "Lower is better"


class Measure(models.Model):
    partnership = models.ForeignKey(Partnership, on_delete=models.CASCADE, related_name="measures")
    outcome = models.ForeignKey(Outcome, on_delete=models.CASCADE, related_name="measures")
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=MeasureKind.choices)
    unit = models.CharField(max_length=40, blank=True, help_text="For example: %, people, days.")
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.HIGHER)
    baseline_value = models.FloatField(null=True, blank=True)
    baseline_on = models.DateField(null=True, blank=True)
    # How often new data is expected, in days; data older than this is out of date.
    frequency_days = models.PositiveSmallIntegerField(default=92)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("delivery-view-measure", args=[self.pk])


class Target(models.Model):
    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="targets")
    value = models.FloatField()
    target_on = models.DateField()

    class Meta:
        ordering = ["target_on"]
        constraints = [
            models.UniqueConstraint(fields=["measure", "target_on"], name="target_once_per_date")
        ]

    def __str__(self) -> str:
        return f"{self.value} by {self.target_on}"


class DataPoint(models.Model):
    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="data_points")
    # The last day of the period the value describes.
    period_end = models.DateField()
    value = models.FloatField()
    note = models.CharField(max_length=300, blank=True)
    entered_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    entered_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["period_end"]
        constraints = [
            models.UniqueConstraint(
                fields=["measure", "period_end"], name="data_point_once_per_period"
            )
        ]
        indexes = [models.Index(fields=["measure", "-period_end"])]

    def __str__(self) -> str:
        return f"{self.value} to {self.period_end}"


# Risks, issues and wins --------------------------------------------------------------


class RiskCategory(models.TextChoices):
    GOVERNANCE = "governance", "Governance and decision-making"
    RELATIONSHIPS = "relationships", "Relationships and trust"
    RESOURCES = "resources", "Money and resources"
    DELIVERY = "delivery", "Delivery"
    INFORMATION = "information", "Information and data sharing"
    REPUTATION = "reputation", "Reputation"
    OTHER = "other", "Other"


class RiskStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Risk(models.Model):
    """A risk to working in partnership: likelihood × impact, controls and reviews."""

    partnership = models.ForeignKey(Partnership, on_delete=models.CASCADE, related_name="risks")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    cause = models.TextField(blank=True)
    effect = models.TextField(blank=True)
    category = models.CharField(
        max_length=16, choices=RiskCategory.choices, default=RiskCategory.OTHER
    )
    owner = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    likelihood = models.PositiveSmallIntegerField(validators=ONE_TO_FIVE)
    impact = models.PositiveSmallIntegerField(validators=ONE_TO_FIVE)
    controls = models.TextField(blank=True)
    target_likelihood = models.PositiveSmallIntegerField(validators=ONE_TO_FIVE)
    target_impact = models.PositiveSmallIntegerField(validators=ONE_TO_FIVE)
    review_on = models.DateField(help_text="When the risk is next due for review.")
    last_reviewed_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=RiskStatus.choices, default=RiskStatus.OPEN)
    escalate = models.BooleanField(default=False, help_text="Bring this risk to the next meeting.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-likelihood", "-impact", "title"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(likelihood__range=(1, 5)), name="risk_likelihood_1_5"
            ),
            models.CheckConstraint(
                condition=models.Q(impact__range=(1, 5)), name="risk_impact_1_5"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("delivery-view-risk", args=[self.pk])

    @property
    def rating(self) -> int:
        return self.likelihood * self.impact

    @property
    def target_rating(self) -> int:
        return self.target_likelihood * self.target_impact

    @property
    def review_overdue(self) -> bool:
        return self.status == RiskStatus.OPEN and self.review_on < timezone.localdate()


class IssueStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class Issue(models.Model):
    """A question the partnership still has to resolve."""

    partnership = models.ForeignKey(Partnership, on_delete=models.CASCADE, related_name="issues")
    title = models.CharField(max_length=200)
    detail = models.TextField(blank=True)
    raised_by = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    raised_on = models.DateField(default=timezone.localdate)
    status = models.CharField(max_length=8, choices=IssueStatus.choices, default=IssueStatus.OPEN)
    resolution = models.TextField(blank=True)
    resolved_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["status", "-raised_on"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("delivery-view-issue", args=[self.pk])

    def clean(self) -> None:
        if self.status == IssueStatus.RESOLVED and not self.resolution.strip():
            raise ValidationError({"resolution": "Say how the issue was resolved."})


class Win(models.Model):
    """A success to celebrate."""

    partnership = models.ForeignKey(Partnership, on_delete=models.CASCADE, related_name="wins")
    title = models.CharField(max_length=200)
    detail = models.TextField(blank=True)
    won_on = models.DateField(default=timezone.localdate)
    outcome = models.ForeignKey(
        Outcome, null=True, blank=True, on_delete=models.SET_NULL, related_name="wins"
    )
    recorded_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-won_on"]

    def __str__(self) -> str:
        return self.title


# Actions -------------------------------------------------------------------------------


class ActionStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    AGREED = "agreed", "Agreed"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    DROPPED = "dropped", "Dropped"


OPEN_STATUSES = (ActionStatus.PROPOSED, ActionStatus.AGREED, ActionStatus.IN_PROGRESS)


class ActionSource(models.TextChoices):
    NONE = "", "None"
    HEALTH_CHECK = "health_check", "Health check"
    DECISION = "decision", "Meeting decision"
    RISK = "risk", "Risk"
    ISSUE = "issue", "Issue"
    PRIORITY = "priority", "Priority"


class ActionQuerySet(models.QuerySet["Action"]):
    def open(self) -> ActionQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def overdue(self, on: dt.date | None = None) -> ActionQuerySet:
        return self.open().filter(due_date__lt=on or timezone.localdate())


class Action(models.Model):
    partnership = models.ForeignKey(Partnership, on_delete=models.CASCADE, related_name="actions")
    title = models.CharField(max_length=200)
    detail = models.TextField(blank=True)
    owner = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="actions")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="actions")
    due_date = models.DateField()
    status = models.CharField(
        max_length=12, choices=ActionStatus.choices, default=ActionStatus.AGREED
    )
    drop_reason = models.TextField(blank=True)
    done_on = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=ActionSource.choices, blank=True, default="")
    source_round = models.ForeignKey(
        Round, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source_principle = models.ForeignKey(
        Principle, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source_statement = models.ForeignKey(
        Statement, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source_risk = models.ForeignKey(
        Risk, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    source_issue = models.ForeignKey(
        Issue, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    source_priority = models.ForeignKey(
        Priority, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    # Meeting decisions arrive with the meetings app; until then this stays empty.
    source_decision_id = models.PositiveBigIntegerField(null=True, blank=True)
    measure = models.ForeignKey(
        Measure,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="actions",
        help_text="The measure this action should turn the curve on.",
    )
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ActionQuerySet.as_manager()

    class Meta:
        ordering = ["due_date", "pk"]
        indexes = [
            models.Index(fields=["partnership", "status", "due_date"]),
            models.Index(fields=["owner", "status"]),
            # Meetings find a decision's actions by this id.
            models.Index(fields=["source_decision_id"]),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("delivery-view-action", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_date < timezone.localdate()

    @property
    def days_late(self) -> int | None:
        """For a done action: days after its due date it was done (0 if on time)."""
        if self.status != ActionStatus.DONE or self.done_on is None:
            return None
        return max(0, (self.done_on - self.due_date).days)

    def clean(self) -> None:
        if self.status == ActionStatus.DROPPED and not self.drop_reason.strip():
            raise ValidationError({"drop_reason": "Say why the action is dropped."})


class ProgressNote(models.Model):
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    written_on = models.DateField(default=timezone.localdate)
    text = models.TextField()
    # The status the action moved to with this note, if it changed.
    status = models.CharField(max_length=12, choices=ActionStatus.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-written_on", "-created_at"]

    def __str__(self) -> str:
        return self.text[:60]


class DigestFrequency(models.TextChoices):
    DAILY = "daily", "Every day"
    WEEKLY = "weekly", "Once a week (Mondays)"
    NONE = "none", "Never"


class DigestPreference(models.Model):
    """How often a person wants their email digest, and which of its sections they want."""

    person = models.OneToOneField(User, on_delete=models.CASCADE, related_name="action_digest")
    frequency = models.CharField(
        max_length=8, choices=DigestFrequency.choices, default=DigestFrequency.WEEKLY
    )
    # The day guards against sending twice a day; the moment bounds "new since last time".
    last_sent_on = models.DateField(null=True, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    # Kinds of digest section (partnerwell.core.digest) the person asked to leave out.
    unsubscribed = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"{self.person}: {self.get_frequency_display()}"
