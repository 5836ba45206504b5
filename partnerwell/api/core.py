"""API for partnerships, organisations and members, with the same access rules as the pages."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate
from pydantic import AfterValidator, StringConstraints, field_validator

from partnerwell.core import access, services
from partnerwell.core.models import (
    Membership,
    MembershipQuerySet,
    Organisation,
    Partnership,
    PartnershipType,
    Role,
    Sector,
    User,
)

router = Router()


class Pagination(LimitOffsetPagination):
    class Input(Schema):
        # Bounded so that a huge number is a 422, not an out-of-range error in the database.
        limit: int = Field(100, ge=1, le=1000)
        offset: int = Field(0, ge=0, le=2**31 - 1)


def _no_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain the NUL character (\\u0000)")
    if isinstance(value, list):
        for item in value:
            _no_nul(item)
    return value


class Input(Schema):
    """Base of every request body: text the database cannot store is refused up front."""

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return _no_nul(value)


# A name is stripped first, so one made only of spaces counts as empty.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
SideName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Responsibility = Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)]


def _distinct_sides(names: list[str]) -> list[str]:
    if len({n.lower() for n in names}) != len(names):
        raise ValueError("each side needs a different name")
    return names


def _clean_responsibilities(labels: list[str]) -> list[str]:
    """Blank labels dropped and repeats (in any case) kept once, as on the member pages."""
    seen: dict[str, str] = {}
    for label in labels:
        if label and label.lower() not in seen:
            seen[label.lower()] = label
    return list(seen.values())


Sides = Annotated[list[SideName], Field(max_length=20), AfterValidator(_distinct_sides)]
Responsibilities = Annotated[list[Responsibility], AfterValidator(_clean_responsibilities)]


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


# Organisations ---------------------------------------------------------------


class OrganisationOut(Schema):
    id: int
    name: str
    sector: Sector
    sector_label: str = Field(alias="get_sector_display")
    website: str


class OrganisationIn(Input):
    name: Name
    sector: Sector
    website: str = ""


class OrganisationPatch(Input):
    name: Name | None = None
    sector: Sector | None = None
    website: str | None = None


def _save_organisation(organisation: Organisation) -> Organisation:
    organisation.name = organisation.name.strip()
    clash = Organisation.objects.filter(name__iexact=organisation.name).exclude(pk=organisation.pk)
    if clash.exists():
        raise ValidationError({"name": f"{organisation.name} is already in the directory."})
    organisation.full_clean()
    organisation.save()
    return organisation


@router.get("/organisations", response=list[OrganisationOut], tags=["organisations"])
@paginate(Pagination)
def list_organisations(request: HttpRequest, q: str = "") -> QuerySet[Organisation]:
    """The instance-wide directory of partner organisations."""
    organisations = Organisation.objects.order_by(Lower("name"))
    # PostgreSQL cannot compare text holding NUL, and no name holds one.
    q = q[:100].replace("\x00", "")
    return organisations.filter(name__icontains=q) if q else organisations


@router.get("/organisations/{organisation_id}", response=OrganisationOut, tags=["organisations"])
def get_organisation(request: HttpRequest, organisation_id: int) -> Organisation:
    return access.get_organisation(_user(request), organisation_id)


@router.post("/organisations", response={201: OrganisationOut}, tags=["organisations"])
def create_organisation(request: HttpRequest, payload: OrganisationIn) -> Status[Organisation]:
    user = _user(request)
    if not (user.is_superuser or access.managed_partnerships(user).exists()):
        raise PermissionDenied("Only partnership managers and chairs can add organisations.")
    return Status(201, _save_organisation(Organisation(**payload.dict())))


@router.patch("/organisations/{organisation_id}", response=OrganisationOut, tags=["organisations"])
def update_organisation(
    request: HttpRequest, organisation_id: int, payload: OrganisationPatch
) -> Organisation:
    user = _user(request)
    organisation = access.get_organisation(user, organisation_id)
    if not access.can_edit_organisation(user, organisation):
        raise PermissionDenied(
            "Only managers of a partnership this organisation sits on can change it."
        )
    for field, value in payload.dict(exclude_unset=True).items():
        if value is not None:
            setattr(organisation, field, value)
    return _save_organisation(organisation)


# Partnerships ----------------------------------------------------------------


class PartnershipOut(Schema):
    id: int
    name: str
    type: PartnershipType = Field(alias="kind")
    purpose: str
    vision: str
    area: str
    parent_id: int | None
    sides: list[str]

    @staticmethod
    def resolve_sides(obj: Partnership) -> list[str]:
        return [s.name for s in obj.sides.all()]


class PartnershipIn(Input):
    name: Name
    type: PartnershipType
    organisation_id: int = Field(description="The organisation you represent on it.")
    purpose: str = ""
    vision: str = ""
    area: str = Field(default="", max_length=200)
    parent_id: int | None = None
    sides: Sides | None = Field(
        default=None,
        description="Side names; leave out for the type's default (a forum gets two sides).",
    )


class PartnershipPatch(Input):
    name: Name | None = None
    type: PartnershipType | None = None
    purpose: str | None = None
    vision: str | None = None
    area: str | None = Field(default=None, max_length=200)
    parent_id: int | None = None
    sides: Sides | None = None


@router.get("/partnerships", response=list[PartnershipOut], tags=["partnerships"])
@paginate(Pagination)
def list_partnerships(request: HttpRequest) -> QuerySet[Partnership]:
    """The partnerships you belong to."""
    return (
        access.visible_partnerships(_user(request))
        .prefetch_related("sides")
        .order_by(Lower("name"), "pk")
    )


@router.get("/partnerships/{partnership_id}", response=PartnershipOut, tags=["partnerships"])
def get_partnership(request: HttpRequest, partnership_id: int) -> Partnership:
    return access.get_partnership(_user(request), partnership_id)


def _parent(user: User, parent_id: int | None) -> Partnership | None:
    """The parent a partnership may be put under: one the caller manages, as on the pages."""
    if parent_id is None:
        return None
    parent = access.visible_partnerships(user).filter(pk=parent_id).first()
    if parent is None:
        raise ValidationError({"parent_id": "Choose a parent partnership you belong to."})
    if not access.may_create_under(user, parent):
        raise PermissionDenied(
            f"Only the managers and chairs of {parent.name} can put a sub-group under it."
        )
    return parent


def _refuse_cycle(partnership: Partnership, parent: Partnership | None) -> None:
    """A partnership may not sit under itself, directly or through its own sub-groups."""
    seen: set[int] = set()
    while parent is not None and parent.pk not in seen:
        if parent.pk == partnership.pk:
            raise ValidationError(
                {"parent_id": "A partnership cannot sit under itself or one of its sub-groups."}
            )
        seen.add(parent.pk)
        parent = parent.parent


@router.post("/partnerships", response={201: PartnershipOut}, tags=["partnerships"])
def create_partnership(request: HttpRequest, payload: PartnershipIn) -> Status[Partnership]:
    """Start a partnership (the instance's PARTNERSHIP_CREATORS setting says who may) or a
    sub-group under one you manage. You become its manager."""
    user = _user(request)
    parent = _parent(user, payload.parent_id)
    if parent is None and not access.may_create_partnership(user):
        raise PermissionDenied(access.creation_refused())
    organisation = Organisation.objects.filter(pk=payload.organisation_id).first()
    if organisation is None:
        raise ValidationError({"organisation_id": "No organisation has that id."})
    partnership = services.partnership_create(
        by=user,
        name=payload.name,
        kind=payload.type,
        organisation=organisation,
        purpose=payload.purpose,
        vision=payload.vision,
        area=payload.area,
        parent=parent,
        sides=payload.sides,
    )
    return Status(201, partnership)


@router.patch("/partnerships/{partnership_id}", response=PartnershipOut, tags=["partnerships"])
def update_partnership(
    request: HttpRequest, partnership_id: int, payload: PartnershipPatch
) -> Partnership:
    user = _user(request)
    partnership = access.get_partnership(user, partnership_id, manage=True)
    data = payload.dict(exclude_unset=True)
    with transaction.atomic():
        parent_id = data.pop("parent_id", partnership.parent_id)
        # Keeping the present parent needs no right over it; a new one must be managed.
        if parent_id != partnership.parent_id:
            parent = _parent(user, parent_id)
            _refuse_cycle(partnership, parent)
            partnership.parent = parent
        sides = data.pop("sides", None)
        if "type" in data:
            data["kind"] = data.pop("type")
        for field, value in data.items():
            if value is not None:
                setattr(partnership, field, value)
        partnership.full_clean()
        partnership.save()
        if sides is not None:
            services.partnership_set_sides(partnership=partnership, names=sides)
    return partnership


# Members ---------------------------------------------------------------------


class PersonOut(Schema):
    id: int
    name: str
    email: str


class MemberOut(Schema):
    id: int
    partnership_id: int
    person: PersonOut
    organisation: OrganisationOut
    role: Role
    side: str | None
    decision_maker: bool
    deputy_for_id: int | None
    responsibilities: list[str]
    start_date: dt.date | None
    end_date: dt.date | None
    current: bool = Field(alias="is_current")

    @staticmethod
    def resolve_side(obj: Membership) -> str | None:
        return obj.side.name if obj.side else None


class MemberIn(Input):
    email: str = Field(max_length=254)
    name: Name
    organisation_id: int
    role: Role = Role.MEMBER
    side: str | None = Field(
        default=None, max_length=100, description="The side's name, when it has sides."
    )
    decision_maker: bool = False
    deputy_for_id: int | None = None
    responsibilities: Responsibilities = []
    start_date: dt.date | None = None
    end_date: dt.date | None = None

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        value = value.strip().lower()
        try:
            validate_email(value)
        except ValidationError as exc:
            raise ValueError("is not an email address") from exc
        return value


class MemberPatch(Input):
    organisation_id: int | None = None
    role: Role | None = None
    side: str | None = Field(default=None, max_length=100)
    decision_maker: bool | None = None
    deputy_for_id: int | None = None
    responsibilities: Responsibilities | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None


def _member_refs(partnership: Partnership, data: dict[str, Any]) -> dict[str, Any]:
    """Turn ids and side names in a payload into objects of this partnership."""
    refs: dict[str, Any] = {}
    if data.get("organisation_id") is not None:
        organisation = Organisation.objects.filter(pk=data["organisation_id"]).first()
        if organisation is None:
            raise ValidationError({"organisation_id": "No organisation has that id."})
        refs["organisation"] = organisation
    if "side" in data:
        name = data["side"]
        side = partnership.sides.filter(name__iexact=name).first() if name else None
        if name and side is None:
            names = ", ".join(s.name for s in partnership.sides.all()) or "none"
            raise ValidationError({"side": f"“{name}” is not a side here (sides: {names})."})
        refs["side"] = side
    if "deputy_for_id" in data:
        deputy_for = None
        if data["deputy_for_id"] is not None:
            deputy_for = partnership.memberships.filter(pk=data["deputy_for_id"]).first()
            if deputy_for is None:
                raise ValidationError(
                    {"deputy_for_id": "No member of this partnership has that id."}
                )
        refs["deputy_for"] = deputy_for
    return refs


def _members(partnership_ids: QuerySet[Partnership]) -> QuerySet[Membership]:
    return Membership.objects.filter(partnership__in=partnership_ids).select_related(
        "person", "organisation", "side"
    )


@router.get("/partnerships/{partnership_id}/members", response=list[MemberOut], tags=["members"])
@paginate(Pagination)
def list_members(
    request: HttpRequest, partnership_id: int, current: bool | None = None
) -> QuerySet[Membership]:
    partnership = access.get_partnership(_user(request), partnership_id)
    members = cast(
        MembershipQuerySet,
        _members(Partnership.objects.filter(pk=partnership.pk)).order_by("person__name", "pk"),
    )
    if current is True:
        return members.current()
    if current is False:
        return members.ended()
    return members


@router.get("/members/{member_id}", response=MemberOut, tags=["members"])
def get_member(request: HttpRequest, member_id: int) -> Membership:
    return access.get_membership(_user(request), member_id)


@router.post("/partnerships/{partnership_id}/members", response={201: MemberOut}, tags=["members"])
def create_member(
    request: HttpRequest, partnership_id: int, payload: MemberIn
) -> Status[Membership]:
    user = _user(request)
    partnership = access.get_partnership(user, partnership_id, manage=True)
    data = payload.dict()
    refs = _member_refs(partnership, data)
    membership = services.member_add(
        by=user,
        partnership=partnership,
        email=payload.email,
        name=payload.name,
        organisation=refs["organisation"],
        role=payload.role,
        side=refs.get("side"),
        decision_maker=payload.decision_maker,
        deputy_for=refs.get("deputy_for"),
        responsibilities=payload.responsibilities,
        start_date=payload.start_date,
        end_date=payload.end_date,
    )
    return Status(201, membership)


@router.patch("/members/{member_id}", response=MemberOut, tags=["members"])
def update_member(request: HttpRequest, member_id: int, payload: MemberPatch) -> Membership:
    """Managers change any field; a member may change only their own responsibilities."""
    user = _user(request)
    membership, manager = access.get_membership_to_edit(user, member_id)
    data = payload.dict(exclude_unset=True)
    if not manager and set(data) - {"responsibilities"}:
        raise PermissionDenied("You can change only your own responsibilities.")
    refs = _member_refs(membership.partnership, data)
    for field in ("role", "decision_maker", "start_date", "end_date", "responsibilities"):
        if field in data and (data[field] is not None or field.endswith("_date")):
            setattr(membership, field, data[field])
    for field, value in refs.items():
        setattr(membership, field, value)
    membership.full_clean(exclude=["person", "partnership"])
    membership.save()
    return get_object_or_404(_members(Partnership.objects.all()), pk=membership.pk)
