"""Workflows in core that touch several models. Each is atomic and typed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.db.models.functions import Lower
from django.utils import timezone

from partnerwell.core import access
from partnerwell.core.imports import MemberRow
from partnerwell.core.models import (
    Membership,
    Organisation,
    Partnership,
    PartnershipType,
    Role,
    Sector,
    Side,
    TermsOfReference,
    User,
)
from partnerwell.core.tasks import send_added_notices, send_invitations

DEFAULT_FORUM_SIDES = ("Management side", "Staff side")


@transaction.atomic
def partnership_create(
    *,
    by: User,
    name: str,
    kind: str,
    organisation: Organisation,
    purpose: str = "",
    vision: str = "",
    area: str = "",
    parent: Partnership | None = None,
    sides: Sequence[str] | None = None,
    role: str = Role.MANAGER,
) -> Partnership:
    """Create a partnership with its creator as its first (managing) member.

    sides=None gives the default for the type; an empty list gives none.
    """
    partnership = Partnership(
        name=name.strip(), kind=kind, purpose=purpose, vision=vision, area=area, parent=parent
    )
    partnership.full_clean()
    partnership.save()
    # With no sides given, a partnership forum gets management and staff sides.
    if sides is None:
        side_names = list(DEFAULT_FORUM_SIDES) if kind == PartnershipType.FORUM else []
    else:
        side_names = list(sides)
    partnership_set_sides(partnership=partnership, names=side_names)
    first_side = partnership.sides.first()
    Membership.objects.create(
        partnership=partnership,
        person=by,
        organisation=organisation,
        role=role,
        side=first_side,
        decision_maker=True,
        start_date=timezone.localdate(),
    )
    return partnership


def descendants(partnership: Partnership) -> set[int]:
    """The ids of a partnership and every group under it, at any depth."""
    found = {partnership.pk}
    frontier = {partnership.pk}
    while frontier:
        frontier = (
            set(Partnership.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
            - found
        )
        found |= frontier
    return found


def partnership_set_sides(*, partnership: Partnership, names: Sequence[str]) -> None:
    """Add the named sides; sides that members sit on are never removed."""
    wanted = [n.strip() for n in names if n.strip()]
    if any(len(n) > 100 for n in wanted):
        raise ValidationError({"sides": "Keep each side's name to 100 characters or fewer."})
    if len({n.lower() for n in wanted}) != len(wanted):
        raise ValidationError({"sides": "Each side needs a different name."})
    if len(wanted) > 20:
        raise ValidationError({"sides": "A partnership can have at most 20 sides."})
    existing = {s.name.lower(): s for s in partnership.sides.all()}
    for order, name in enumerate(wanted):
        side = existing.pop(name.lower(), None)
        if side is None:
            Side.objects.create(partnership=partnership, name=name, order=order)
        elif side.order != order:
            side.order = order
            side.save(update_fields=["order"])
    for side in existing.values():
        if not side.memberships.exists():
            side.delete()


def person_find_or_create(*, email: str, name: str) -> tuple[User, bool]:
    email = email.strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        return user, False
    return User.objects.create_user(email=email, name=name.strip()), True


@transaction.atomic
def member_add(
    *,
    by: User,
    partnership: Partnership,
    email: str,
    name: str,
    organisation: Organisation,
    role: str = Role.MEMBER,
    side: Side | None = None,
    decision_maker: bool = False,
    deputy_for: Membership | None = None,
    responsibilities: Sequence[str] = (),
    start_date: dt.date | None = None,
    end_date: dt.date | None = None,
) -> Membership:
    """Add a person to a partnership and tell them by email.

    Someone new (or who never set a password) gets an invitation; someone with an
    account gets a notice. An existing person's name changes only under
    access.editable_people; otherwise they keep their own.
    """
    person, created = person_find_or_create(email=email, name=name)
    if not created:
        person_rename(by=by, person=person, name=name)
    if Membership.objects.filter(partnership=partnership, person=person).exists():
        raise ValidationError({"email": f"{person.email} is already a member of this partnership."})
    membership = Membership(
        partnership=partnership,
        person=person,
        organisation=organisation,
        role=role,
        side=side,
        decision_maker=decision_maker,
        deputy_for=deputy_for,
        responsibilities=list(responsibilities),
        start_date=start_date or timezone.localdate(),
        end_date=end_date,
    )
    membership.full_clean(exclude=["person", "partnership"])
    membership.save()
    if created or not person.has_usable_password():
        invite_people(partnership=partnership, people=[person.pk], by=by)
    else:
        tell_added(partnership=partnership, people=[person.pk], by=by)
    return membership


def person_rename(*, by: User, person: User, name: str) -> bool:
    """Give an existing person the name a manager typed, if that manager may change it."""
    name = name.strip()
    if not name or person.name == name or not access.may_edit_person_details(by, person):
        return False
    person.name = name
    person.save(update_fields=["name"])
    return True


def tell_added(*, partnership: Partnership, people: list[int], by: User) -> None:
    """Queue one task that tells people with an account they were added, after commit."""
    if not people:
        return
    transaction.on_commit(
        lambda: send_added_notices.enqueue(
            user_ids=people, partnership_id=partnership.pk, added_by=by.name or by.email
        )
    )


def invite_people(*, partnership: Partnership, people: list[int], by: User) -> None:
    """Queue one task that emails invitations once the transaction commits."""
    if not people:
        return
    transaction.on_commit(
        lambda: send_invitations.enqueue(
            user_ids=people, partnership_id=partnership.pk, invited_by=by.name or by.email
        )
    )


@transaction.atomic
def terms_add_version(
    *,
    by: User,
    partnership: Partnership,
    text: str,
    adopted_on: dt.date,
    next_review_on: dt.date,
) -> TermsOfReference:
    if next_review_on <= adopted_on:
        raise ValidationError({"next_review_on": "The next review must come after adoption."})
    # Lock the partnership row so two editors cannot take the same version number.
    Partnership.objects.select_for_update().filter(pk=partnership.pk).first()
    latest = partnership.terms_versions.aggregate(v=Max("version"))["v"] or 0
    return TermsOfReference.objects.create(
        partnership=partnership,
        version=latest + 1,
        text=text,
        adopted_on=adopted_on,
        next_review_on=next_review_on,
        created_by=by,
    )


def sector_label(value: str) -> str:
    return str(Sector(value).label)


@dataclass(frozen=True)
class ImportSummary:
    added: int
    updated: int
    new_people: int
    new_organisations: int
    # Existing people who keep their own name (the file named them otherwise).
    kept_names: int = 0
    # People who already had an account and were emailed that they were added.
    told: int = 0


def names_kept(*, by: User, rows: Sequence[MemberRow]) -> dict[str, str]:
    """For rows naming an existing person otherwise, that person's own name, by email.

    These are the people an import will not rename (see access.editable_people).
    """
    wanted = {r.email: r.name for r in rows}
    known = User.objects.annotate(lemail=Lower("email")).filter(lemail__in=list(wanted))
    editable = set(
        access.editable_people(by).filter(pk__in=known.values("pk")).values_list("pk", flat=True)
    )
    return {
        person.email.lower(): person.name
        for person in known
        if person.name != wanted[person.email.lower()] and person.pk not in editable
    }


@transaction.atomic
def members_import(
    *, by: User, partnership: Partnership, rows: Sequence[MemberRow], invite: bool = True
) -> ImportSummary:
    """Add or update every member in the rows in one transaction, in bulk.

    An email that already has an account adds that person (renamed only where
    access.editable_people allows); a person already on the partnership has
    their membership updated rather than duplicated. Everyone added who already
    had an account is told by email; new people are invited when `invite` is set.
    """
    today = timezone.localdate()
    emails = [r.email for r in rows]
    # Rows hold lower-cased addresses; accounts may have been stored with capitals.
    known_people = User.objects.annotate(lemail=Lower("email")).filter(lemail__in=emails)
    people = {u.email.lower(): u for u in known_people}
    new_people = [
        User(email=r.email, name=r.name, password=make_password(None))
        for r in rows
        if r.email not in people
    ]
    User.objects.bulk_create(new_people, batch_size=1000)
    # People own their name unless this manager may change it (one rule, in access).
    editable = set(
        access.editable_people(by)
        .filter(pk__in=known_people.values("pk"))
        .values_list("pk", flat=True)
    )
    renamed = []
    kept = 0
    for row in rows:
        person = people.get(row.email)
        if person is None or not row.name or person.name == row.name:
            continue
        if person.pk in editable:
            person.name = row.name
            renamed.append(person)
        else:
            kept += 1
    User.objects.bulk_update(renamed, ["name"], batch_size=1000)
    new_emails = {u.email for u in new_people}
    people = {u.email.lower(): u for u in known_people.all()}

    org_names = {r.organisation.lower(): r for r in rows}
    orgs = {
        o.name.lower(): o
        for o in Organisation.objects.annotate(lname=Lower("name")).filter(
            lname__in=list(org_names)
        )
    }
    new_orgs = [
        Organisation(name=r.organisation, sector=r.sector)
        for key, r in org_names.items()
        if key not in orgs
    ]
    Organisation.objects.bulk_create(new_orgs, batch_size=1000)
    orgs = {
        o.name.lower(): o
        for o in Organisation.objects.annotate(lname=Lower("name")).filter(
            lname__in=list(org_names)
        )
    }
    sides = {s.name: s for s in partnership.sides.all()}
    existing = {
        m.person_id: m
        for m in Membership.objects.filter(
            partnership=partnership, person_id__in=[p.pk for p in people.values()]
        )
    }
    to_create: list[Membership] = []
    to_update: list[Membership] = []
    # People who had an account before and are now (again) on the partnership.
    joined: list[User] = []
    for row in rows:
        person = people[row.email]
        values = {
            "organisation": orgs[row.organisation.lower()],
            "role": row.role,
            "side": sides.get(row.side),
            "decision_maker": row.decision_maker,
            # Imported rows are never deputies, so nobody listed stands in for anyone.
            "deputy_for": None,
        }
        end_date = dt.date.fromisoformat(row.end_date) if row.end_date else None
        membership = existing.get(person.pk)
        # Re-listed after their membership ended: back on the partnership.
        rejoins = bool(
            membership and membership.end_date and membership.end_date <= today and not end_date
        )
        if (membership is None and row.email not in new_emails) or rejoins:
            joined.append(person)
        if membership is None:
            to_create.append(
                Membership(
                    partnership=partnership,
                    person=person,
                    start_date=today,
                    end_date=end_date,
                    **values,
                )
            )
        else:
            for field, value in values.items():
                setattr(membership, field, value)
            if end_date is not None:
                membership.end_date = end_date
            elif membership.end_date and membership.end_date <= today:
                # Someone re-listed with no end date after their term ended is current again.
                membership.end_date = None
            to_update.append(membership)
    Membership.objects.bulk_create(to_create, batch_size=1000)
    Membership.objects.bulk_update(
        to_update,
        ["organisation", "role", "side", "decision_maker", "deputy_for", "end_date"],
        batch_size=1000,
    )
    # Everyone put on the partnership hears of it: new people (and those who never
    # set a password) by an invitation when asked for, everyone else by a notice.
    unset = [p.pk for p in joined if not p.has_usable_password()] if invite else []
    invite_people(
        partnership=partnership,
        people=[people[u.email].pk for u in new_people] + unset if invite else [],
        by=by,
    )
    tell_added(partnership=partnership, people=[p.pk for p in joined if p.pk not in unset], by=by)
    return ImportSummary(
        added=len(to_create),
        updated=len(to_update),
        new_people=len(new_people),
        new_organisations=len(new_orgs),
        kept_names=kept,
        told=len(joined),
    )
