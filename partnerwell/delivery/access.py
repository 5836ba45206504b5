"""The one place that scopes delivery lookups to the partnerships a person may see."""

from __future__ import annotations

from typing import TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404

from partnerwell.core.access import AnyUser, can_manage, visible_partnerships
from partnerwell.delivery.models import (
    Action,
    Issue,
    Measure,
    Outcome,
    Priority,
    PriorityVote,
    Risk,
    Win,
)

M = TypeVar("M", bound=Model)


def _scoped(user: AnyUser, queryset: QuerySet[M], pk: int, what: str) -> M:
    obj = queryset.filter(pk=pk, partnership__in=visible_partnerships(user)).first()
    if obj is None:
        raise Http404(f"No such {what}.")
    return obj


def _managed(
    user: AnyUser, obj: Action | Issue | Measure | Outcome | Priority | PriorityVote | Risk | Win
) -> None:
    if not can_manage(user, obj.partnership):
        raise PermissionDenied("Only the partnership's managers and chairs can do that.")


def get_action(user: AnyUser, pk: int) -> Action:
    return _scoped(
        user,
        Action.objects.select_related("partnership", "owner__person", "organisation"),
        pk,
        "action",
    )


def get_action_to_update(user: AnyUser, pk: int) -> Action:
    """An action its owner or a manager may change; others who can see it get 403."""
    action = get_action(user, pk)
    if action.owner.person_id != user.pk and not can_manage(user, action.partnership):
        raise PermissionDenied("Only the action's owner or a manager can update it.")
    return action


def get_priority(user: AnyUser, pk: int, *, manage: bool = False) -> Priority:
    priority = _scoped(user, Priority.objects.select_related("partnership"), pk, "priority")
    if manage:
        _managed(user, priority)
    return priority


def get_vote(user: AnyUser, pk: int, *, manage: bool = False) -> PriorityVote:
    vote = _scoped(user, PriorityVote.objects.select_related("partnership"), pk, "vote")
    if manage:
        _managed(user, vote)
    return vote


def get_outcome(user: AnyUser, pk: int, *, manage: bool = False) -> Outcome:
    outcome = _scoped(user, Outcome.objects.select_related("partnership"), pk, "outcome")
    if manage:
        _managed(user, outcome)
    return outcome


def get_measure(user: AnyUser, pk: int, *, manage: bool = False) -> Measure:
    measure = _scoped(user, Measure.objects.select_related("partnership", "outcome"), pk, "measure")
    if manage:
        _managed(user, measure)
    return measure


def get_risk(user: AnyUser, pk: int, *, manage: bool = False) -> Risk:
    risk = _scoped(
        user,
        Risk.objects.select_related("partnership", "owner__person", "organisation"),
        pk,
        "risk",
    )
    if manage:
        _managed(user, risk)
    return risk


def get_issue(user: AnyUser, pk: int, *, manage: bool = False) -> Issue:
    issue = _scoped(user, Issue.objects.select_related("partnership"), pk, "issue")
    if manage:
        _managed(user, issue)
    return issue


def get_win(user: AnyUser, pk: int, *, manage: bool = False) -> Win:
    win = _scoped(user, Win.objects.select_related("partnership"), pk, "win")
    if manage:
        _managed(user, win)
    return win
