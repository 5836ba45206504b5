"""The one place that scopes meeting lookups to the partnerships a person may see.

Other partnerships' meetings, items, papers, decisions and minutes answer 404;
members who may see but not change something get 403 with a sentence.
"""

from __future__ import annotations

from typing import TypeVar, cast

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest

from partnerwell.core.access import AnyUser, can_manage, visible_partnerships
from partnerwell.core.guessing import guarded_lookup
from partnerwell.core.models import MANAGING_ROLES, Membership, Partnership, Role
from partnerwell.meetings.models import (
    AgendaItem,
    Decision,
    ItemStatus,
    Meeting,
    Minutes,
    Paper,
    PapersPack,
    ReviewInvitation,
    hash_review_token,
)

M = TypeVar("M", bound=Model)

# Roles whose holders chair meetings: they triage items and build the agenda.
CHAIR_ROLES = frozenset({Role.CHAIR, Role.CO_CHAIR, Role.VICE_CHAIR})
# Joint sign-off is by "a chair or co-chair from each side": a vice-chair deputises in
# the room and may triage, but cannot sign the agenda off for a side.
SIGNOFF_ROLES = frozenset({Role.CHAIR, Role.CO_CHAIR})

MANAGERS_ONLY = "Only the partnership's managers and chairs can do that."


def _scoped(queryset: QuerySet[M], user: AnyUser, pk: int, what: str, path: str) -> M:
    obj = queryset.filter(pk=pk, **{f"{path}__in": visible_partnerships(user)}).first()
    if obj is None:
        raise Http404(f"No such {what}.")
    return obj


def _require_manager(user: AnyUser, partnership: Partnership) -> None:
    if not can_manage(user, partnership):
        raise PermissionDenied(MANAGERS_ONLY)


def chair_memberships(
    user: AnyUser, partnership: Partnership, roles: frozenset[str] = CHAIR_ROLES
) -> QuerySet[Membership]:
    """The person's current memberships of this partnership in one of `roles` (by default
    any chairing role; none if they hold none)."""
    if not user.is_authenticated:
        return Membership.objects.none()
    return Membership.objects.current().filter(
        partnership=partnership, person_id=user.pk, role__in=roles
    )


def is_chair(user: AnyUser, partnership: Partnership) -> bool:
    return chair_memberships(user, partnership).exists()


def runs_meetings(user: AnyUser, partnership: Partnership) -> bool:
    """Managers and chairs (vice-chairs too) run meetings: they triage items, keep the
    register and see what is not yet circulated. One query."""
    return chair_memberships(user, partnership, CHAIR_ROLES | MANAGING_ROLES).exists()


def can_sign_off(user: AnyUser, partnership: Partnership) -> bool:
    """Whether the person is a chair or co-chair, whose approval counts for their side."""
    return chair_memberships(user, partnership, SIGNOFF_ROLES).exists()


def my_membership(user: AnyUser, partnership: Partnership) -> Membership | None:
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.current()
        .filter(partnership=partnership, person_id=user.pk)
        .select_related("side", "organisation")
        .first()
    )


def get_meeting(user: AnyUser, pk: int, *, manage: bool = False) -> Meeting:
    meeting = _scoped(
        Meeting.objects.select_related("partnership", "series"), user, pk, "meeting", "partnership"
    )
    if manage:
        _require_manager(user, meeting.partnership)
    return meeting


def may_see_declined(user: AnyUser, item: AgendaItem) -> bool:
    """A declined item (and its papers) is for its submitter, the managers and the chairs.

    Waiting, deferred and accepted items stay visible to every member on purpose (the
    forward plan shows what is proposed); a declined one was turned down, and its papers
    may be sensitive, so the rest of the partnership does not see it.
    """
    return item.submitted_by_id == user.pk or runs_meetings(user, item.partnership)


def _hide_declined(user: AnyUser, item: AgendaItem, what: str) -> None:
    if item.status == ItemStatus.DECLINED and not may_see_declined(user, item):
        raise Http404(f"No such {what}.")


def get_item(user: AnyUser, pk: int, *, manage: bool = False) -> AgendaItem:
    item = _scoped(
        AgendaItem.objects.select_related(
            "partnership", "meeting", "submitted_by", "submitter_side"
        ),
        user,
        pk,
        "agenda item",
        "partnership",
    )
    _hide_declined(user, item, "agenda item")
    if manage:
        _require_manager(user, item.partnership)
    return item


def get_item_to_edit(user: AnyUser, pk: int) -> AgendaItem:
    """An item its submitter (while it waits for triage) or a manager may change."""
    item = get_item(user, pk)
    if can_manage(user, item.partnership):
        return item
    if item.submitted_by_id == user.pk and item.status == "submitted":
        return item
    raise PermissionDenied(
        "Only a manager can change an item once the chairs have triaged it, "
        "and only its submitter or a manager before that."
    )


def get_paper(user: AnyUser, pk: int) -> Paper:
    paper = _scoped(
        Paper.objects.select_related("item__partnership", "item__meeting"),
        user,
        pk,
        "paper",
        "item__partnership",
    )
    _hide_declined(user, paper.item, "paper")
    return paper


def get_pack(user: AnyUser, pk: int) -> PapersPack:
    return _scoped(
        PapersPack.objects.select_related("meeting__partnership"),
        user,
        pk,
        "papers pack",
        "meeting__partnership",
    )


def get_minutes(user: AnyUser, pk: int, *, manage: bool = False) -> Minutes:
    minutes = _scoped(
        Minutes.objects.select_related("meeting__partnership"),
        user,
        pk,
        "minutes",
        "meeting__partnership",
    )
    if manage:
        _require_manager(user, minutes.meeting.partnership)
    return minutes


def get_decision(user: AnyUser, pk: int) -> Decision:
    return _scoped(
        Decision.objects.select_related("partnership", "meeting", "item"),
        user,
        pk,
        "decision",
        "partnership",
    )


def get_review_link(request: HttpRequest, token: str) -> ReviewInvitation | Meeting | None:
    """What a review link opens, for anyone holding it (no sign-in): a personal link
    (ReviewInvitation) or a meeting's shared link (Meeting, whether or not it is on).

    None for a token we do not know, so the page can say so. Wrong links count
    against the address, as for health-check links (TooManyAttempts).
    """

    def find(t: str) -> ReviewInvitation | Meeting | None:
        personal = (
            ReviewInvitation.objects.select_related("meeting__partnership")
            .filter(token_hash=hash_review_token(t))
            .first()
        )
        if personal is not None:
            return personal
        return Meeting.objects.select_related("partnership").filter(review_token=t).first()

    # The guard's type variable widens the union to Model; find says what it really is.
    return cast("ReviewInvitation | Meeting | None", guarded_lookup(request, token, find))
