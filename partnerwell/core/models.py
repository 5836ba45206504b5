"""Partnerships, partner organisations, people and who represents whom."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone


class Sector(models.TextChoices):
    LOCAL_AUTHORITY = "local_authority", "Local authority"
    NHS_COMMISSIONER = "nhs_commissioner", "NHS commissioner"
    NHS_PROVIDER = "nhs_provider", "NHS provider"
    PUBLIC_HEALTH = "public_health", "Public health"
    POLICE = "police", "Police and community safety"
    FIRE = "fire", "Fire and rescue"
    EDUCATION = "education", "Education and training"
    HOUSING = "housing", "Housing"
    BUSINESS = "business", "Business"
    VOLUNTARY = "voluntary", "Voluntary and community"
    TRADE_UNION = "trade_union", "Trade union"
    ENVIRONMENT = "environment", "Environment"
    CULTURE = "culture", "Culture and leisure"
    CHILDREN = "children", "Children and families"
    OTHER = "other", "Other"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is needed.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username: str | None) -> User:
        # People type their email address in any case; it is stored in lower case.
        return self.get(email__iexact=(username or "").strip())

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person: signs in with their email address, may represent organisations."""

    email = models.EmailField("email address", unique=True)
    name = models.CharField(max_length=200)
    is_staff = models.BooleanField(
        default=False, help_text="Can use the instance administration pages."
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["name"]

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name or self.email

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name.split(" ")[0] if self.name else self.email

    def get_absolute_url(self) -> str:
        return reverse("core-view-person", args=[self.pk])


class Organisation(models.Model):
    """A partner organisation, from an instance-wide directory."""

    name = models.CharField(max_length=200)
    sector = models.CharField(max_length=32, choices=Sector.choices)
    website = models.URLField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="organisation_name_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("core-view-organisation", args=[self.pk])


class PartnershipType(models.TextChoices):
    STRATEGIC = "strategic", "Strategic partnership"
    HEALTH_AND_WELLBEING = "hwb", "Health and wellbeing board"
    FORUM = "forum", "Partnership forum"
    SUB_GROUP = "sub_group", "Priority action group / sub-group"
    OTHER = "other", "Other"


class Partnership(models.Model):
    name = models.CharField(max_length=200)
    kind = models.CharField("type", max_length=16, choices=PartnershipType.choices)
    purpose = models.TextField(blank=True, help_text="Why the partnership exists.")
    vision = models.TextField(blank=True, help_text="What success looks like.")
    area = models.CharField(max_length=200, blank=True, help_text="The place it serves.")
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
        help_text="The partnership this one reports to, for sub-groups.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("core-view-partnership", args=[self.pk])


class Side(models.Model):
    """A side of a partnership, such as management side and staff side."""

    partnership = models.ForeignKey(Partnership, on_delete=models.CASCADE, related_name="sides")
    name = models.CharField(max_length=100)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "name"]
        constraints = [
            models.UniqueConstraint(
                "partnership", Lower("name"), name="side_name_unique_per_partnership"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    CHAIR = "chair", "Chair"
    CO_CHAIR = "co_chair", "Co-chair"
    VICE_CHAIR = "vice_chair", "Vice-chair"
    MANAGER = "manager", "Partnership manager"
    MEMBER = "member", "Member"
    DEPUTY = "deputy", "Deputy"
    ADVISER = "adviser", "Adviser"
    OBSERVER = "observer", "Observer"


# Roles that may manage a partnership: its settings, members and records.
MANAGING_ROLES = frozenset({Role.MANAGER, Role.CHAIR, Role.CO_CHAIR})


class MembershipQuerySet(models.QuerySet["Membership"]):
    def current(self, on: dt.date | None = None) -> MembershipQuerySet:
        day = on or timezone.localdate()
        return self.filter(
            models.Q(start_date__isnull=True) | models.Q(start_date__lte=day),
            models.Q(end_date__isnull=True) | models.Q(end_date__gt=day),
        )

    def ended(self, on: dt.date | None = None) -> MembershipQuerySet:
        return self.filter(end_date__lte=on or timezone.localdate())


class Membership(models.Model):
    """A person representing an organisation on a partnership."""

    partnership = models.ForeignKey(
        Partnership, on_delete=models.CASCADE, related_name="memberships"
    )
    person = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    deputy_for = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deputies",
        help_text="For a deputy: the member they stand in for.",
    )
    side = models.ForeignKey(
        Side, null=True, blank=True, on_delete=models.PROTECT, related_name="memberships"
    )
    decision_maker = models.BooleanField(
        default=False,
        help_text="Can take decisions for their organisation on the spot.",
    )
    responsibilities = models.JSONField(
        default=list, blank=True, help_text="Named responsibilities, such as media liaison."
    )
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["person__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["partnership", "person"], name="membership_unique_person"
            ),
        ]
        indexes = [models.Index(fields=["person", "partnership"])]

    def __str__(self) -> str:
        return f"{self.person} ({self.organisation}) on {self.partnership}"

    def get_absolute_url(self) -> str:
        return reverse("core-view-person", args=[self.person_id])

    @property
    def is_current(self) -> bool:
        today = timezone.localdate()
        started = self.start_date is None or self.start_date <= today
        # The end date is the day the membership stopped: from then on it is not current.
        return started and (self.end_date is None or self.end_date > today)

    @property
    def can_manage(self) -> bool:
        return self.is_current and self.role in MANAGING_ROLES

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.start_date and self.end_date and self.end_date < self.start_date:
            errors["end_date"] = "The end date must be on or after the start date."
        if self.role == Role.DEPUTY and not self.deputy_for_id:
            errors["deputy_for"] = "Choose the member this deputy stands in for."
        if self.deputy_for_id and self.role != Role.DEPUTY:
            errors["deputy_for"] = "Only a deputy stands in for another member."
        if (
            self.deputy_for_id
            and self.deputy_for
            and (
                self.deputy_for.partnership_id != self.partnership_id
                or self.deputy_for.pk == self.pk
            )
        ):
            errors["deputy_for"] = "A deputy stands in for another member of the same partnership."
        if self.partnership_id:
            has_sides = self.partnership.sides.exists()
            if has_sides and not self.side_id:
                errors["side"] = "Choose the side this member sits on."
            side = self.side if self.side_id else None
            if side is not None and (not has_sides or side.partnership_id != self.partnership_id):
                errors["side"] = "Choose one of this partnership's sides."
        if errors:
            raise ValidationError(errors)


class TermsOfReference(models.Model):
    """One version of a partnership's terms of reference (Markdown)."""

    partnership = models.ForeignKey(
        Partnership, on_delete=models.CASCADE, related_name="terms_versions"
    )
    version = models.PositiveIntegerField()
    text = models.TextField(help_text="Markdown: headings, lists, links and emphasis.")
    adopted_on = models.DateField()
    next_review_on = models.DateField()
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["partnership", "version"], name="terms_version_unique")
        ]

    def __str__(self) -> str:
        return f"Terms of reference v{self.version} of {self.partnership}"

    def get_absolute_url(self) -> str:
        return reverse("core-view-terms", args=[self.partnership_id, self.version])

    @property
    def review_overdue(self) -> bool:
        return self.next_review_on < timezone.localdate()


class ImportStatus(models.TextChoices):
    CHECKING = "checking", "Checking"
    READY = "ready", "Ready"
    REFUSED = "refused", "Refused"


class MemberImport(models.Model):
    """A member file: checked by the worker, then waiting for the manager to confirm it."""

    partnership = models.ForeignKey(
        Partnership, on_delete=models.CASCADE, related_name="member_imports"
    )
    created_by = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    filename = models.CharField(max_length=255)
    # Imports saved before files were checked in the worker were checked in the request: ready.
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.READY
    )
    # The uploaded bytes, kept only until the worker has checked them.
    data = models.BinaryField(default=bytes, editable=False)
    invite = models.BooleanField(default=False)
    file_error = models.TextField(blank=True)
    row_errors = models.JSONField(default=list, blank=True)
    good_count = models.PositiveIntegerField(default=0)
    rows = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.filename} for {self.partnership}"
