"""Frameworks (versioned item banks), rounds, invitations and anonymous responses."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from partnerwell.core.models import Membership, Partnership, Side, User

ANONYMITY_FLOOR_MINIMUM = 3


class Scale(models.TextChoices):
    AGREEMENT = "agreement", "Agreement, 1 to 5"
    YES_NO = "yes_no", "Yes, no or not sure"
    ZERO_TEN = "zero_ten", "0 to 10"
    MATURITY = "maturity", "Maturity, 1 to 5 with descriptions"


class Framework(models.Model):
    """One version of a framework. Versions of the same framework share a key."""

    key = models.SlugField(max_length=80)
    version = models.PositiveIntegerField(default=1)
    # "builtin" or "p<partnership id>": keys need only be unique within a scope.
    scope = models.CharField(max_length=20, default="builtin")
    title = models.CharField(max_length=200)
    source = models.CharField(max_length=500, blank=True)
    description = models.TextField(blank=True)
    compare_by = models.CharField(max_length=20, blank=True)
    # None for the built-in frameworks every partnership can use.
    partnership = models.ForeignKey(
        Partnership, null=True, blank=True, on_delete=models.CASCADE, related_name="frameworks"
    )
    builtin = models.BooleanField(default=False)
    # The framework as a file, exactly as loaded: exports give this back.
    document = models.TextField()
    extra = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "key", "version"], name="framework_key_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} (version {self.version})"

    def get_absolute_url(self) -> str:
        return reverse("healthcheck-view-framework", args=[self.pk])

    @property
    def in_use(self) -> bool:
        return self.rounds.exists()


class Area(models.Model):
    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="areas")
    key = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    order = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["order"]
        constraints = [models.UniqueConstraint(fields=["framework", "key"], name="area_key_unique")]

    def __str__(self) -> str:
        return self.title


class Principle(models.Model):
    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="principles")
    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="principles")
    key = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    evidence = models.JSONField(default=list, blank=True)
    order = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["area__order", "order"]
        constraints = [
            models.UniqueConstraint(fields=["framework", "key"], name="principle_key_unique")
        ]

    def __str__(self) -> str:
        return self.title


class Statement(models.Model):
    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="statements")
    principle = models.ForeignKey(Principle, on_delete=models.CASCADE, related_name="statements")
    key = models.SlugField(max_length=80)
    text = models.TextField()
    scale = models.CharField(max_length=16, choices=Scale.choices)
    reverse = models.BooleanField(default=False)
    anchors = models.JSONField(null=True, blank=True)
    order = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["principle__area__order", "principle__order", "order"]
        constraints = [
            models.UniqueConstraint(fields=["framework", "key"], name="statement_key_unique")
        ]

    def __str__(self) -> str:
        return self.text


class Audience(models.TextChoices):
    ALL = "all", "All current members"
    CHOSEN = "chosen", "Members I choose"
    SIDE = "side", "One side"


class Round(models.Model):
    """One health check: a framework answered by a partnership's members over set dates."""

    partnership = models.ForeignKey(Partnership, on_delete=models.CASCADE, related_name="rounds")
    framework = models.ForeignKey(Framework, on_delete=models.PROTECT, related_name="rounds")
    title = models.CharField(max_length=200)
    audience = models.CharField(max_length=8, choices=Audience.choices, default=Audience.ALL)
    side = models.ForeignKey(Side, null=True, blank=True, on_delete=models.PROTECT)
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    closed_early_at = models.DateTimeField(null=True, blank=True)
    anonymity_floor = models.PositiveSmallIntegerField(
        default=ANONYMITY_FLOOR_MINIMUM, validators=[MinValueValidator(ANONYMITY_FLOOR_MINIMUM)]
    )
    ask_comments = models.BooleanField(default=True)
    # Days before closing on which people who have not answered get a reminder.
    reminder_days = models.JSONField(default=list, blank=True)
    invited_count = models.PositiveIntegerField(default=0)
    sent_count = models.PositiveIntegerField(default=0)
    # True once the held answers have been moved into the results in random order
    # (services.round_seal); a flag, not a time, so it says nothing about who answered when.
    sealed = models.BooleanField(default=False)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-opens_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(anonymity_floor__gte=ANONYMITY_FLOOR_MINIMUM),
                name="round_floor_at_least_three",
            ),
            models.CheckConstraint(
                condition=models.Q(closes_at__gt=models.F("opens_at")),
                name="round_closes_after_opening",
            ),
        ]
        indexes = [models.Index(fields=["partnership", "framework", "closes_at"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("healthcheck-view-round", args=[self.pk])

    @property
    def effective_close(self) -> Any:
        return self.closed_early_at or self.closes_at

    @property
    def status(self) -> str:
        now = timezone.now()
        if now < self.opens_at:
            return "scheduled"
        if now >= self.effective_close:
            return "closed"
        return "open"

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def answered_count(self) -> int:
        """How many have answered. Counted from the invitations: until the round is
        sealed the answers are held apart and are not yet in the results."""
        return self.invitations.filter(answered=True).count()


def _token_for(nonce: str) -> str:
    mac = hmac.new(settings.SECRET_KEY.encode(), f"pw-invite:{nonce}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Invitation(models.Model):
    """A member's personal link to answer a round.

    The link's token is derived from a random nonce and the secret key, so the
    database alone never holds a working link; only its hash is searchable.
    It records only that it was answered (no time), never which response it gave.
    """

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="invitations")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="invitations")
    nonce = models.CharField(max_length=32)
    token_hash = models.CharField(max_length=64, unique=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    # Whether the link has been used; deliberately no time, which would date the answers.
    answered = models.BooleanField(default=False)
    # Answers saved so far, kept until the response is submitted, then wiped.
    draft = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["round", "membership"], name="invitation_once_per_member"
            )
        ]

    def __str__(self) -> str:
        return f"Invitation to {self.round} for {self.membership.person}"

    def get_absolute_url(self) -> str:
        return reverse("healthcheck-respond", args=[self.token])

    @classmethod
    def build(cls, *, round: Round, membership: Membership) -> Invitation:
        nonce = secrets.token_hex(16)
        return cls(
            round=round,
            membership=membership,
            nonce=nonce,
            token_hash=hash_token(_token_for(nonce)),
        )

    @property
    def token(self) -> str:
        return _token_for(self.nonce)


class HeldResponse(models.Model):
    """Answers sent to a round that has not been sealed yet, kept apart from the results.

    Written in the same transaction that marks the invitation answered, so while the
    round is open a database copy can pair a held row with its invitation (by
    transaction id or position). services.round_seal moves every held row into
    Response and Rating in a random order, in one transaction, and deletes them.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="held_responses")
    side = models.CharField(max_length=100, blank=True)
    sector = models.CharField(max_length=32, blank=True)
    organisation = models.CharField(max_length=200, blank=True)
    # Statement key -> raw answer (None for don't know).
    answers = models.JSONField(default=dict)
    comments = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"Held answers to {self.round}"


class Response(models.Model):
    """Submitted answers with no link to the invitation or the person.

    Rows are written only by services.round_seal, all of a round's at once, in a
    random order with random ids, so neither ids, position nor transaction id
    follow the order in which invitations were answered. No date or time is kept.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="responses")
    # The groups the round breaks down by, as they were on submission.
    side = models.CharField(max_length=100, blank=True)
    sector = models.CharField(max_length=32, blank=True)
    organisation = models.CharField(max_length=200, blank=True)
    comments = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["round", "side"]), models.Index(fields=["round", "sector"])]

    def __str__(self) -> str:
        return f"Response to {self.round}"


class Rating(models.Model):
    """One answer. `value` is the 0–100 score (None for don't know)."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="ratings")
    # The composite indexes below start with the round, so no index of its own is needed.
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="+", db_index=False)
    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="+")
    principle = models.ForeignKey(Principle, on_delete=models.CASCADE, related_name="+")
    raw = models.SmallIntegerField(null=True, blank=True)
    value = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["round", "statement"]),
            models.Index(fields=["round", "principle", "response"]),
        ]

    def __str__(self) -> str:
        return f"{self.statement_id}: {self.raw}"


class DiscussionItem(models.Model):
    """A principle or statement marked to discuss at the next meeting."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="discussion_items")
    principle = models.ForeignKey(Principle, on_delete=models.CASCADE, related_name="+")
    statement = models.ForeignKey(
        Statement, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    marked_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    marked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["marked_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "principle"],
                condition=models.Q(statement__isnull=True),
                name="discussion_principle_once",
            ),
            models.UniqueConstraint(
                fields=["round", "statement"],
                condition=models.Q(statement__isnull=False),
                name="discussion_statement_once",
            ),
        ]

    def __str__(self) -> str:
        return f"To discuss: {self.statement or self.principle}"


class ResultsPdf(models.Model):
    """A PDF of a round's results, built by the task worker on request."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="pdfs")
    requested_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    pdf = models.BinaryField(null=True, blank=True)
    error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"PDF of {self.round}"

    @property
    def ready(self) -> bool:
        return self.finished_at is not None and not self.error
