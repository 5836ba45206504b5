"""The one place that scopes health-check lookups to what a person may see."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest

from partnerwell.core.access import AnyUser, can_manage, visible_partnerships
from partnerwell.core.guessing import guarded_lookup
from partnerwell.healthcheck.models import (
    DiscussionItem,
    Framework,
    Invitation,
    ResultsPdf,
    Round,
    hash_token,
)


def visible_rounds(user: AnyUser) -> QuerySet[Round]:
    return Round.objects.filter(partnership__in=visible_partnerships(user))


def get_round(user: AnyUser, pk: int, *, manage: bool = False) -> Round:
    round = (
        visible_rounds(user)
        .select_related("partnership", "framework", "side")
        .filter(pk=pk)
        .first()
    )
    if round is None:
        raise Http404("No such health check.")
    if manage and not can_manage(user, round.partnership):
        raise PermissionDenied("Only the partnership's managers and chairs can do that.")
    return round


def results_visible(round: Round) -> bool:
    """Whether a round's results may be shown to anyone, managers included.

    Only once the round has closed: while it is open, reading the results just
    before and just after one person answers would show that person's answer
    to every statement, and their side. Until then only the number who have
    answered is shown. Every reader of results (page, API, exports, charts,
    the partnership page, follow-up links) goes through this one rule.
    """
    return round.status == "closed"


def visible_frameworks(user: AnyUser) -> QuerySet[Framework]:
    """Built-in frameworks, and custom ones of the person's partnerships."""
    if not user.is_authenticated:
        return Framework.objects.none()
    return Framework.objects.filter(
        Q(partnership__isnull=True) | Q(partnership__in=visible_partnerships(user))
    )


def get_framework(user: AnyUser, pk: int) -> Framework:
    framework = visible_frameworks(user).filter(pk=pk).select_related("partnership").first()
    if framework is None:
        raise Http404("No such framework.")
    return framework


def get_discussion_item(user: AnyUser, round: Round, pk: int) -> DiscussionItem:
    item = DiscussionItem.objects.filter(pk=pk, round=round).first()
    if item is None:
        raise Http404("No such item.")
    return item


def get_results_pdf(user: AnyUser, round: Round, pk: int) -> ResultsPdf:
    """A PDF of a round the person can see; only its requester may fetch it."""
    export = ResultsPdf.objects.filter(pk=pk, round=round, requested_by_id=user.pk).first()
    if export is None:
        raise Http404("No such PDF.")
    return export


def get_invitation(request: HttpRequest, token: str) -> Invitation | None:
    """The invitation for a link, counting wrong links per address against guessing."""
    return guarded_lookup(
        request,
        token,
        lambda t: (
            Invitation.objects.select_related(
                "round__partnership", "round__framework", "membership__person"
            )
            .filter(token_hash=hash_token(t))
            .first()
        ),
    )
