"""Meetings, agenda items, papers, attendance, decisions, minutes and meeting reviews."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from partnerwell.core.models import Membership, Organisation, Partnership, Side, User


def new_token() -> str:
    """A long random secret for a URL (calendar feeds, meeting-review links)."""
    return secrets.token_urlsafe(32)


# Partnership-wide meeting rules ------------------------------------------------------


class MeetingSettings(models.Model):
    """How a partnership runs its meetings: deadlines, circulation and its quorum rule.

    Every part of the quorum rule that is set must hold; none set means no quorum rule.
    """

    partnership = models.OneToOneField(
        Partnership, on_delete=models.CASCADE, related_name="meeting_settings"
    )
    submission_deadline_days = models.PositiveSmallIntegerField(
        default=10,
        validators=[MaxValueValidator(90)],
        help_text="Items submitted later than this many days before a meeting are marked late.",
    )
    papers_days = models.PositiveSmallIntegerField(
        default=5,
        validators=[MaxValueValidator(60)],
        help_text="Papers count as circulated on time when published this many days before.",
    )
    attendance_window = models.PositiveSmallIntegerField(
        default=6,
        validators=[MinValueValidator(2), MaxValueValidator(24)],
        help_text="How many recent meetings the attendance figures look back over.",
    )
    quorum_min_members = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="At least this many members present (deputies count for their member).",
    )
    quorum_organisations = models.ManyToManyField(
        Organisation,
        blank=True,
        related_name="+",
        help_text="At least one member present from each of these organisations.",
    )
    quorum_sectors = models.JSONField(
        default=list,
        blank=True,
        help_text="At least one member present from each of these sectors.",
    )
    quorum_each_side = models.BooleanField(
        default=False, help_text="At least one member present from each side."
    )

    def __str__(self) -> str:
        return f"Meeting settings of {self.partnership}"


class CalendarToken(models.Model):
    """The secret in one person's calendar feed URL: their own feed of all their
    partnerships (no partnership), or their feed of one partnership's meetings.

    Every feed belongs to a person, so it serves only while that person is a current
    member: an ex-member who kept the address gets an empty calendar.
    """

    person = models.ForeignKey(User, on_delete=models.CASCADE, related_name="calendar_tokens")
    partnership = models.ForeignKey(
        Partnership,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Empty for the person's own feed of every partnership they belong to.",
    )
    token = models.CharField(max_length=64, default=new_token, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["person", "partnership"], name="calendartoken_one_per_partnership"
            ),
            # NULLs never clash in a unique constraint, so the personal feed needs its own.
            models.UniqueConstraint(
                fields=["person"],
                condition=models.Q(partnership__isnull=True),
                name="calendartoken_one_personal",
            ),
        ]

    def __str__(self) -> str:
        return f"Calendar feed of {self.person}"


# Meetings ----------------------------------------------------------------------------


class MeetingSeries(models.Model):
    partnership = models.ForeignKey(
        Partnership, on_delete=models.CASCADE, related_name="meeting_series"
    )
    name = models.CharField(max_length=200, help_text="For example: Quarterly board.")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "meeting series"

    def __str__(self) -> str:
        return self.name


class MeetingType(models.TextChoices):
    BOARD = "board", "Board"
    FORUM = "forum", "Forum"
    WORKSHOP = "workshop", "Workshop"
    AWAY_DAY = "away_day", "Away day"


class MeetingStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    AGENDA_OPEN = "agenda_open", "Agenda open"
    AGENDA_AGREED = "agenda_agreed", "Agenda agreed"
    PAPERS_PUBLISHED = "papers_published", "Papers published"
    HELD = "held", "Held"
    MINUTES_DRAFTED = "minutes_drafted", "Minutes drafted"
    MINUTES_APPROVED = "minutes_approved", "Minutes approved"


# The lifecycle in order; a meeting moves forward one step at a time.
LIFECYCLE = [s.value for s in MeetingStatus]


def _valid_timezone(name: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(
            f"“{name}” is not a time zone name; use one such as Europe/London."
        ) from exc


class Meeting(models.Model):
    partnership = models.ForeignKey(Partnership, on_delete=models.CASCADE, related_name="meetings")
    series = models.ForeignKey(
        MeetingSeries, null=True, blank=True, on_delete=models.SET_NULL, related_name="meetings"
    )
    title = models.CharField(max_length=200)
    kind = models.CharField(
        "type", max_length=12, choices=MeetingType.choices, default=MeetingType.BOARD
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    time_zone = models.CharField(
        max_length=64, default=settings.TIME_ZONE, validators=[_valid_timezone]
    )
    place = models.CharField(max_length=300, blank=True)
    video_link = models.URLField(max_length=500, blank=True)
    status = models.CharField(
        max_length=20, choices=MeetingStatus.choices, default=MeetingStatus.PLANNED
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.TextField(blank=True)
    # iCalendar: the UID never changes; SEQUENCE rises with every change people should see.
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sequence = models.PositiveIntegerField(default=0)
    # Rises whenever the agreed agenda changes; approvals count only for the current revision.
    agenda_revision = models.PositiveIntegerField(default=0)
    agenda_agreed_at = models.DateTimeField(null=True, blank=True)
    papers_published_at = models.DateTimeField(null=True, blank=True)
    # The quorum as checked on the register and recorded with the meeting.
    quorum_met = models.BooleanField(null=True, blank=True)
    quorum_detail = models.JSONField(default=dict, blank=True)
    decision_makers_present = models.PositiveSmallIntegerField(null=True, blank=True)
    # The shared review link (one for everyone); it takes answers only if review_shared_link.
    review_token = models.CharField(max_length=64, default=new_token, unique=True)
    review_open = models.BooleanField(default=False)
    # Turned on knowingly by the chair: answers through one shared link cannot be limited
    # to one per person, unlike the personal links sent to everyone recorded present.
    review_shared_link = models.BooleanField(default=False)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at", "pk"]
        indexes = [models.Index(fields=["partnership", "starts_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="meeting_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("meetings-view-meeting", args=[self.pk])

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def local_start(self) -> dt.datetime:
        """The start in the meeting's own time zone."""
        return self.starts_at.astimezone(self.tz)

    @property
    def local_end(self) -> dt.datetime:
        return self.ends_at.astimezone(self.tz)

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def is_past(self) -> bool:
        return self.ends_at < timezone.now()

    @property
    def length_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)

    def reached(self, status: str) -> bool:
        """Whether the meeting has got to this step of the lifecycle (or beyond)."""
        return LIFECYCLE.index(self.status) >= LIFECYCLE.index(status)

    @property
    def reached_held(self) -> bool:
        return self.reached(MeetingStatus.HELD)

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The meeting must end after it starts."})


# Agenda items and papers -------------------------------------------------------------


class Ask(models.TextChoices):
    DECISION = "decision", "Decision"
    DISCUSSION = "discussion", "Discussion"
    INFORMATION = "information", "Information"
    ASSURANCE = "assurance", "Assurance"


class Nature(models.TextChoices):
    STRATEGIC = "strategic", "Strategic"
    OPERATIONAL = "operational", "Operational"


class ItemStatus(models.TextChoices):
    SUBMITTED = "submitted", "Waiting for the chairs"
    ACCEPTED = "accepted", "Accepted"
    DEFERRED = "deferred", "Deferred"
    DECLINED = "declined", "Declined"


class Standing(models.TextChoices):
    """Items every meeting carries; the action-log and risk items fill themselves."""

    NONE = "", "Not a standing item"
    APOLOGIES = "apologies", "Welcome and apologies"
    MINUTES = "minutes", "Minutes of the last meeting"
    ACTIONS = "actions", "Review of the action log"
    RISKS = "risks", "Escalated risks"
    AOB = "aob", "Any other business"


class AgendaItem(models.Model):
    """An item for a meeting's agenda, or for the forward plan when it has no meeting yet."""

    partnership = models.ForeignKey(
        Partnership, on_delete=models.CASCADE, related_name="agenda_items"
    )
    meeting = models.ForeignKey(
        Meeting, null=True, blank=True, on_delete=models.SET_NULL, related_name="items"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="What the meeting is asked to consider.")
    ask = models.CharField(
        "what is asked", max_length=12, choices=Ask.choices, default=Ask.DISCUSSION
    )
    nature = models.CharField(
        "strategic or operational",
        max_length=12,
        choices=Nature.choices,
        default=Nature.STRATEGIC,
    )
    presenter = models.CharField(max_length=200, blank=True)
    minutes_needed = models.PositiveSmallIntegerField(
        "time needed (minutes)",
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(480)],
    )
    standing = models.CharField(max_length=12, choices=Standing.choices, blank=True, default="")
    status = models.CharField(
        max_length=12, choices=ItemStatus.choices, default=ItemStatus.SUBMITTED
    )
    late = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)
    submitted_by = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="submitted_items"
    )
    submitter_side = models.ForeignKey(
        Side, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    triage_reason = models.TextField(blank=True)
    triaged_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    triaged_at = models.DateTimeField(null=True, blank=True)
    # Where a deferred item went (it moves to that meeting, or to the forward plan).
    deferred_from = models.ForeignKey(
        Meeting, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["position", "pk"]
        indexes = [models.Index(fields=["meeting", "status", "position"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("meetings-view-item", args=[self.pk])


class PaperKind(models.TextChoices):
    PDF = "pdf", "PDF"
    DOCX = "docx", "Word document"
    XLSX = "xlsx", "Excel workbook"
    ODT = "odt", "OpenDocument text"


class Paper(models.Model):
    """A paper for an agenda item, stored outside the web root (MEDIA_ROOT)."""

    item = models.ForeignKey(AgendaItem, on_delete=models.CASCADE, related_name="papers")
    title = models.CharField(max_length=200)
    file = models.FileField(upload_to="papers/%Y/%m/")
    original_name = models.CharField(max_length=255)
    kind = models.CharField(max_length=8, choices=PaperKind.choices)
    size = models.PositiveBigIntegerField()
    pages = models.PositiveIntegerField(null=True, blank=True)
    uploaded_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    replaced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("meetings-download-paper", args=[self.pk])


class AgendaApproval(models.Model):
    """A chair's or co-chair's sign-off of one revision of a meeting's agenda."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="approvals")
    side = models.ForeignKey(
        Side, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    approved_by = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    revision = models.PositiveIntegerField()
    approved_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["approved_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "revision", "approved_by"], name="approval_once_per_revision"
            )
        ]

    def __str__(self) -> str:
        return f"{self.approved_by} approved revision {self.revision} of {self.meeting}"


class PackStatus(models.TextChoices):
    QUEUED = "queued", "Waiting to be built"
    BUILDING = "building", "Being built"
    READY = "ready", "Ready"
    FAILED = "failed", "Could not be built"


class PapersPack(models.Model):
    """One build of a meeting's papers pack (cover, agenda, papers); every build is kept."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="packs")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=PackStatus.choices, default=PackStatus.QUEUED)
    file = models.FileField(upload_to="packs/%Y/%m/", blank=True)
    pages = models.PositiveIntegerField(null=True, blank=True)
    change_note = models.TextField(blank=True, help_text="What changed since the last pack.")
    error = models.TextField(blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    built_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "version"], name="pack_version_unique")
        ]

    def __str__(self) -> str:
        return f"Papers pack v{self.version} for {self.meeting}"


# Attendance --------------------------------------------------------------------------


class Reply(models.TextChoices):
    ATTENDING = "attending", "Attending"
    APOLOGIES = "apologies", "Apologies"
    DEPUTY = "deputy", "Sending a deputy"


class Presence(models.TextChoices):
    PRESENT = "present", "Present"
    ABSENT = "absent", "Absent"
    APOLOGIES = "apologies", "Apologies"
    DEPUTY = "deputy", "Deputy attended"


class Attendance(models.Model):
    """A member's answer before the meeting and their entry in the register on the day."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendance")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="attendance")
    reply = models.CharField(max_length=10, choices=Reply.choices, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    presence = models.CharField(max_length=10, choices=Presence.choices, blank=True)
    deputy_name = models.CharField(
        max_length=200, blank=True, help_text="Who attends in the member's place."
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["membership__person__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "membership"], name="attendance_once_per_member"
            )
        ]

    def __str__(self) -> str:
        return f"{self.membership.person} at {self.meeting}"


# Minutes and decisions ---------------------------------------------------------------


class MinutesStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    CIRCULATED = "circulated", "Draft circulated"
    APPROVED = "approved", "Approved"
    SUPERSEDED = "superseded", "Superseded by a correction"


class Minutes(models.Model):
    """One version of a meeting's minutes. Approved minutes are locked; a correction is
    a new version with its reason, and the old version is kept."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="minutes")
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(
        max_length=12, choices=MinutesStatus.choices, default=MinutesStatus.DRAFT
    )
    summary = models.TextField(blank=True)
    correction_reason = models.TextField(blank=True)
    circulated_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_at_meeting = models.ForeignKey(
        Meeting, null=True, blank=True, on_delete=models.SET_NULL, related_name="approved_minutes"
    )
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-version"]
        verbose_name_plural = "minutes"
        constraints = [
            models.UniqueConstraint(fields=["meeting", "version"], name="minutes_version_unique")
        ]

    def __str__(self) -> str:
        return f"Minutes v{self.version} of {self.meeting}"

    @property
    def is_locked(self) -> bool:
        return self.status in (MinutesStatus.APPROVED, MinutesStatus.SUPERSEDED)


class MinuteEntry(models.Model):
    """What was said about one agenda item, in one version of the minutes."""

    minutes = models.ForeignKey(Minutes, on_delete=models.CASCADE, related_name="entries")
    item = models.ForeignKey(AgendaItem, on_delete=models.CASCADE, related_name="minute_entries")
    text = models.TextField(blank=True)

    class Meta:
        ordering = ["item__position", "item__pk"]
        constraints = [
            models.UniqueConstraint(fields=["minutes", "item"], name="minute_entry_once_per_item")
        ]

    def __str__(self) -> str:
        return f"{self.item} ({self.minutes})"


class Decision(models.Model):
    """A decision taken at a meeting, against an agenda item; searchable across meetings."""

    partnership = models.ForeignKey(Partnership, on_delete=models.CASCADE, related_name="decisions")
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="decisions")
    item = models.ForeignKey(
        AgendaItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions"
    )
    reference = models.CharField(max_length=40, help_text="For example D2026/07.")
    text = models.TextField()
    decided_on = models.DateField()
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-decided_on", "-pk"]
        indexes = [models.Index(fields=["partnership", "decided_on"])]
        constraints = [
            models.UniqueConstraint(
                fields=["partnership", "reference"], name="decision_reference_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.text[:60]}"

    def get_absolute_url(self) -> str:
        return reverse("meetings-view-decision", args=[self.pk])


# Meeting review ----------------------------------------------------------------------

SCORE_1_5 = [MinValueValidator(1), MaxValueValidator(5)]


def _review_token_for(nonce: str) -> str:
    mac = hmac.new(settings.SECRET_KEY.encode(), f"pw-review:{nonce}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def hash_review_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ReviewInvitation(models.Model):
    """A personal single-use link to a meeting's review, for someone recorded present.

    As for health-check invitations, the token comes from a random nonce and the
    secret key, so the database holds no working link, only its hash; it records
    only that it was answered (no time), never which answer it gave.
    """

    meeting = models.ForeignKey(
        Meeting, on_delete=models.CASCADE, related_name="review_invitations"
    )
    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="review_invitations"
    )
    nonce = models.CharField(max_length=32)
    token_hash = models.CharField(max_length=64, unique=True)
    sent = models.BooleanField(default=False)
    answered = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "membership"], name="review_invitation_once_per_member"
            )
        ]

    def __str__(self) -> str:
        return f"Review link for {self.membership.person} to {self.meeting}"

    def get_absolute_url(self) -> str:
        return reverse("meetings-respond-review", args=[self.token])

    @classmethod
    def build(cls, *, meeting: Meeting, membership_id: int) -> ReviewInvitation:
        nonce = secrets.token_hex(16)
        return cls(
            meeting=meeting,
            membership_id=membership_id,
            nonce=nonce,
            token_hash=hash_review_token(_review_token_for(nonce)),
        )

    @property
    def token(self) -> str:
        return _review_token_for(self.nonce)


class HeldReview(models.Model):
    """An answer to a review that is still open, kept apart from the results.

    Written in the same transaction that marks a personal link answered, so while
    the review is open a database copy could pair the two; closing the review moves
    every held answer into MeetingReview in a random order, in one transaction.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="held_reviews")
    added_value = models.PositiveSmallIntegerField(validators=SCORE_1_5)
    voices_heard = models.PositiveSmallIntegerField(validators=SCORE_1_5)
    time_well_spent = models.PositiveSmallIntegerField(validators=SCORE_1_5)
    comment = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Held review of {self.meeting}"


class MeetingReview(models.Model):
    """One anonymous answer to the three-question review at the end of a meeting.

    No link to a person and no date: only the meeting, the scores and the comment,
    written when the review closes, all at once and in random order.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="reviews")
    added_value = models.PositiveSmallIntegerField(validators=SCORE_1_5)
    voices_heard = models.PositiveSmallIntegerField(validators=SCORE_1_5)
    time_well_spent = models.PositiveSmallIntegerField(validators=SCORE_1_5)
    comment = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(added_value__range=(1, 5))
                & models.Q(voices_heard__range=(1, 5))
                & models.Q(time_well_spent__range=(1, 5)),
                name="meeting_review_scores_1_5",
            )
        ]

    def __str__(self) -> str:
        return f"Review of {self.meeting}"
