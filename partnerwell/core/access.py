"""The one place that decides what a person may see and change in core.

Every view and API endpoint looks objects up through these helpers, so a
member of one partnership gets 404 for another partnership's objects.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

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


def may_create_partnership(user: AnyUser) -> bool:
    """Whether the person may start a partnership of their own (not under another one).

    PARTNERSHIP_CREATORS="administrators" (the default) allows superusers, staff and
    people granted Django's core.add_partnership permission (area coordinators);
    "anyone" allows every signed-in person.
    """
    if not user.is_authenticated or not user.is_active:
        return False
    if settings.PARTNERSHIP_CREATORS == "anyone":
        return True
    return bool(user.is_staff or user.has_perm("core.add_partnership"))


def subgroup_parents(user: AnyUser) -> QuerySet[Partnership]:
    """Partnerships this person may put a sub-group under: the ones they manage.

    The same rule for creating a sub-group and for moving a partnership under a
    new parent, on the pages and in the API.
    """
    return managed_partnerships(user)


def may_create_under(user: AnyUser, parent: Partnership | None) -> bool:
    """A new top-level partnership follows the instance setting; a sub-group needs
    a manager of its parent (who can already run that partnership, so gains nothing)."""
    if parent is None:
        return may_create_partnership(user)
    return subgroup_parents(user).filter(pk=parent.pk).exists()


def may_open_new_partnership(user: AnyUser) -> bool:
    """Whether the 'Create a partnership' page (and its button) is for this person."""
    return may_create_partnership(user) or subgroup_parents(user).exists()


def creation_refused() -> str:
    """The sentence a person who may not create a partnership reads, on a page or in the API."""
    return _(
        "Only the site's administrators and the people they allow can create partnerships "
        "here. Ask an administrator to create it for you or to give you permission."
    )


def editable_people(user: AnyUser) -> QuerySet[User]:
    """People whose account details (name, email) this person may change.

    The one rule for imports, the member form and the API: someone who has never
    signed in and is known only through partnerships this person manages (every
    membership of theirs, current, past or future, is in one of those). Anyone
    else owns their details, so a manager of another partnership cannot rename them.
    """
    if not user.is_authenticated:
        return User.objects.none()
    managed = managed_partnerships(user).values("pk")
    anywhere = Membership.objects.filter(person_id=OuterRef("pk"))
    elsewhere = anywhere.exclude(partnership_id__in=managed)
    return User.objects.filter(
        Exists(anywhere),
        ~Exists(elsewhere),
        last_login__isnull=True,
        is_staff=False,
        is_superuser=False,
    ).exclude(pk=user.pk)


def may_edit_person_details(user: AnyUser, person: User) -> bool:
    return editable_people(user).filter(pk=person.pk).exists()


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
