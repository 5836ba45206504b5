"""The one place that decides what a person may see and change in core.

Every view and API endpoint looks objects up through these helpers, so a
member of one partnership gets 404 for another partnership's objects.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404

from partnerwell.core.models import (
    MANAGING_ROLES,
    Membership,
    Organisation,
    Partnership,
    TermsOfReference,
    User,
)

AnyUser = User | AnonymousUser


def _own_memberships(user: AnyUser) -> QuerySet[Membership]:
    if not user.is_authenticated:
        return Membership.objects.none()
    return Membership.objects.current().filter(person_id=user.pk)


def visible_partnerships(user: AnyUser) -> QuerySet[Partnership]:
    """Partnerships the person currently belongs to."""
    mine = _own_memberships(user).filter(partnership_id=OuterRef("pk"))
    return Partnership.objects.filter(Exists(mine))


def managed_partnerships(user: AnyUser) -> QuerySet[Partnership]:
    mine = _own_memberships(user).filter(partnership_id=OuterRef("pk"), role__in=MANAGING_ROLES)
    return Partnership.objects.filter(Exists(mine))


def can_manage(user: AnyUser, partnership: Partnership) -> bool:
    return _own_memberships(user).filter(partnership=partnership, role__in=MANAGING_ROLES).exists()


def get_partnership(user: AnyUser, pk: int, *, manage: bool = False) -> Partnership:
    """The partnership if the person belongs to it; 404 otherwise.

    With manage=True a member who may see but not manage it gets 403.
    """
    partnership = visible_partnerships(user).filter(pk=pk).first()
    if partnership is None:
        raise Http404("No such partnership.")
    if manage and not can_manage(user, partnership):
        raise PermissionDenied("Only the partnership's managers and chairs can do that.")
    return partnership


def get_membership(user: AnyUser, pk: int) -> Membership:
    membership = (
        Membership.objects.filter(pk=pk, partnership__in=visible_partnerships(user))
        .select_related("partnership", "person", "organisation", "side", "deputy_for__person")
        .first()
    )
    if membership is None:
        raise Http404("No such member.")
    return membership


def get_membership_to_edit(user: AnyUser, pk: int) -> tuple[Membership, bool]:
    """The membership and whether the editor manages it (else it is their own)."""
    membership = get_membership(user, pk)
    manager = can_manage(user, membership.partnership)
    if not manager and membership.person_id != user.pk:
        raise PermissionDenied("You can change only your own details.")
    return membership, manager


def visible_people(user: AnyUser) -> QuerySet[User]:
    """People who share a partnership with this person (and the person themself)."""
    shared = Membership.objects.filter(
        person_id=OuterRef("pk"), partnership__in=visible_partnerships(user)
    )
    return User.objects.filter(Exists(shared))


def get_person(user: AnyUser, pk: int) -> User:
    if user.is_authenticated and user.pk == pk:
        assert isinstance(user, User)
        return user
    person = visible_people(user).filter(pk=pk).first()
    if person is None:
        raise Http404("No such person.")
    return person


def get_organisation(user: AnyUser, pk: int) -> Organisation:
    """Organisations form an instance-wide directory open to every signed-in person."""
    if not user.is_authenticated:
        raise Http404("No such organisation.")
    organisation = Organisation.objects.filter(pk=pk).first()
    if organisation is None:
        raise Http404("No such organisation.")
    return organisation


def can_edit_organisation(user: AnyUser, organisation: Organisation) -> bool:
    """Managers of a partnership the organisation sits on, or with no partnership yet."""
    if user.is_authenticated and user.is_superuser:
        return True
    sits_on = organisation.memberships.current().values("partnership_id")
    if not sits_on.exists():
        return managed_partnerships(user).exists()
    return managed_partnerships(user).filter(pk__in=sits_on).exists()


def get_terms(user: AnyUser, partnership_pk: int, version: int) -> TermsOfReference:
    terms = (
        TermsOfReference.objects.filter(
            partnership_id=partnership_pk,
            version=version,
            partnership__in=visible_partnerships(user),
        )
        .select_related("partnership", "created_by")
        .first()
    )
    if terms is None:
        raise Http404("No such version of the terms of reference.")
    return terms
