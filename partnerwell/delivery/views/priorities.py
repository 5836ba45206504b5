"""Pages for priorities and priority votes."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_POST

from partnerwell.core import access as core_access
from partnerwell.core.models import User
from partnerwell.delivery import access
from partnerwell.delivery import priorities as services
from partnerwell.delivery.forms_priorities import (
    BallotForm,
    DecidePriorityForm,
    OpenVoteForm,
    PriorityForm,
)
from partnerwell.delivery.models import Priority, PriorityStatus, PriorityVote, VoteMethod


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
def list_priorities(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = _user(request)
    partnership = core_access.get_partnership(user, partnership_id)
    priorities = (
        Priority.objects.filter(partnership=partnership)
        .select_related("proposed_by__person", "proposed_by__organisation")
        .annotate(outcome_count=Count("outcomes", distinct=True))
        .order_by("-agreed_on", "title")
    )
    by_status: dict[str, list[Priority]] = {s: [] for s in PriorityStatus.values}
    for priority in priorities:
        by_status[priority.status].append(priority)
    # Meta.ordering is not applied to a grouped query, so the order is given here.
    votes = (
        PriorityVote.objects.filter(partnership=partnership)
        .annotate(voted=Count("participations"))
        .order_by("-opens_at")
    )
    context = {
        "partnership": partnership,
        "agreed": by_status[PriorityStatus.AGREED],
        "proposed": by_status[PriorityStatus.CANDIDATE],
        "set_aside": by_status[PriorityStatus.SET_ASIDE],
        "votes": [(v, services.vote_state(v)) for v in votes],
        "can_manage": core_access.can_manage(user, partnership),
    }
    return render(request, "delivery/priorities/list_priorities.html", context)


@login_required
def create_priority(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = _user(request)
    partnership = core_access.get_partnership(user, partnership_id)
    form = PriorityForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        priority = services.priority_propose(partnership=partnership, by=user, **form.cleaned_data)
        messages.success(request, f"“{priority.title}” is proposed as a priority.")
        return redirect("delivery-list-priorities", partnership.pk)
    context = {"form": form, "partnership": partnership}
    return render(request, "delivery/priorities/priority_form.html", context)


def _priority_context(user: User, priority: Priority, form: DecidePriorityForm) -> dict[str, Any]:
    return {
        "priority": priority,
        "partnership": priority.partnership,
        "can_manage": core_access.can_manage(user, priority.partnership),
        "decide_form": form,
        "outcomes": priority.outcomes.annotate(measure_count=Count("measures")),
        "actions": priority.actions.select_related("owner__person", "organisation"),
        "votes": priority.votes.order_by("-opens_at"),
    }


@login_required
def view_priority(request: HttpRequest, priority_id: int) -> HttpResponse:
    user = _user(request)
    priority = access.get_priority(user, priority_id)
    form = DecidePriorityForm(initial={"status": priority.status, "agreed_on": priority.agreed_on})
    context = _priority_context(user, priority, form)
    return render(request, "delivery/priorities/view_priority.html", context)


@login_required
def edit_priority(request: HttpRequest, priority_id: int) -> HttpResponse:
    priority = access.get_priority(_user(request), priority_id, manage=True)
    form = PriorityForm(request.POST or None, instance=priority)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "The priority has been saved.")
        return redirect("delivery-view-priority", priority.pk)
    context = {"form": form, "partnership": priority.partnership, "priority": priority}
    return render(request, "delivery/priorities/priority_form.html", context)


@require_POST
@login_required
def decide_priority(request: HttpRequest, priority_id: int) -> HttpResponse:
    user = _user(request)
    priority = access.get_priority(user, priority_id, manage=True)
    form = DecidePriorityForm(request.POST)
    if form.is_valid():
        services.priority_decide(priority=priority, **form.cleaned_data)
        words = {
            PriorityStatus.AGREED: "is recorded as agreed",
            PriorityStatus.SET_ASIDE: "is set aside",
            PriorityStatus.CANDIDATE: "is back among the proposed priorities",
        }
        messages.success(request, f"“{priority.title}” {words[PriorityStatus(priority.status)]}.")
        return redirect("delivery-view-priority", priority.pk)
    context = _priority_context(user, priority, form)
    return render(request, "delivery/priorities/view_priority.html", context)


# Votes ------------------------------------------------------------------------------


@login_required
def open_vote(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = _user(request)
    partnership = core_access.get_partnership(user, partnership_id, manage=True)
    form = OpenVoteForm(request.POST or None, partnership=partnership)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        opens_at, closes_at = form.window()
        try:
            vote = services.vote_open(
                partnership=partnership,
                by=user,
                title=data["title"],
                method=data["method"],
                candidates=list(data["candidates"]),
                opens_at=opens_at,
                closes_at=closes_at,
                anonymity_floor=data["anonymity_floor"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else "closes_on", errors)
        else:
            messages.success(request, "The vote is set up. Members can vote from its page.")
            return redirect("delivery-view-vote", vote.pk)
    context = {"form": form, "partnership": partnership}
    return render(request, "delivery/priorities/vote_form.html", context)


def _vote_context(user: User, vote: PriorityVote, form: BallotForm | None = None) -> dict[str, Any]:
    membership = services.voter_membership(user, vote)
    state = services.vote_state(vote)
    voted = services.has_voted(vote, membership)
    candidates = list(vote.candidates.order_by("title", "pk"))
    if form is None and state == "open" and membership and not voted:
        form = BallotForm(vote=vote, candidates=candidates)
    return {
        "vote": vote,
        "partnership": vote.partnership,
        "state": state,
        "candidates": candidates,
        "form": form if state == "open" and membership and not voted else None,
        "voted": voted,
        "turnout": vote.participations.count(),
        "members": vote.partnership.memberships.current().count(),
        "can_manage": core_access.can_manage(user, vote.partnership),
        "results": services.vote_results(vote),
        "method_rule": services.METHOD_RULES[VoteMethod(vote.method)],
    }


@login_required
def view_vote(request: HttpRequest, vote_id: int) -> HttpResponse:
    user = _user(request)
    vote = access.get_vote(user, vote_id)
    return render(request, "delivery/priorities/view_vote.html", _vote_context(user, vote))


@require_POST
@login_required
def cast_ballot(request: HttpRequest, vote_id: int) -> HttpResponse:
    user = _user(request)
    vote = access.get_vote(user, vote_id)
    form = BallotForm(
        request.POST, vote=vote, candidates=list(vote.candidates.order_by("title", "pk"))
    )
    checking = "check" in request.POST
    if form.is_valid() and not checking:
        try:
            services.ballot_cast(vote=vote, user=user, scores=form.scores())
        except (services.VoteNotOpen, services.AlreadyVoted) as problem:
            messages.error(request, str(problem))
        except ValidationError as exc:
            form.add_error(None, exc.messages)
            return _ballot_again(request, user, vote, form)
        else:
            messages.success(request, "Thank you: your vote is counted.")
        return redirect("delivery-view-vote", vote.pk)
    return _ballot_again(request, user, vote, form, checking=checking)


def _ballot_again(
    request: HttpRequest, user: User, vote: PriorityVote, form: BallotForm, checking: bool = False
) -> HttpResponse:
    context = {**_vote_context(user, vote, form), "checking": checking}
    return render(request, "delivery/priorities/view_vote.html", context)


@require_POST
@login_required
def close_vote(request: HttpRequest, vote_id: int) -> HttpResponse:
    vote = access.get_vote(_user(request), vote_id, manage=True)
    if services.vote_close(vote=vote):
        messages.success(request, "The vote is closed. The results are below.")
    else:
        messages.error(request, "This vote is not open, so it cannot be closed.")
    return redirect("delivery-view-vote", vote.pk)


urlpatterns: list[URLPattern] = [
    path(
        "partnerships/<int:partnership_id>/priorities/",
        list_priorities,
        name="delivery-list-priorities",
    ),
    path(
        "partnerships/<int:partnership_id>/priorities/new/",
        create_priority,
        name="delivery-create-priority",
    ),
    path(
        "partnerships/<int:partnership_id>/priorities/votes/new/",
        open_vote,
        name="delivery-open-vote",
    ),
    path("priorities/<int:priority_id>/", view_priority, name="delivery-view-priority"),
    path("priorities/<int:priority_id>/edit/", edit_priority, name="delivery-edit-priority"),
    path("priorities/<int:priority_id>/decide/", decide_priority, name="delivery-decide-priority"),
    path("votes/<int:vote_id>/", view_vote, name="delivery-view-vote"),
    path("votes/<int:vote_id>/ballot/", cast_ballot, name="delivery-cast-ballot"),
    path("votes/<int:vote_id>/close/", close_vote, name="delivery-close-vote"),
]
