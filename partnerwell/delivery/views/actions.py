"""Pages for actions: the log, my actions, an action's timeline, adding and changing
actions (also from health-check results), exports, accountability and reminder emails."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.forms import BaseForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_http_methods, require_POST

from partnerwell.core import access as core_access
from partnerwell.core import digest as core_digest
from partnerwell.core.exports import download
from partnerwell.core.models import Partnership, User
from partnerwell.delivery import access
from partnerwell.delivery.actions import (
    ACCOUNTABILITY_RULES,
    EXPORT_HEADER,
    Origin,
    accountability,
    accountability_chart_rows,
    action_create,
    action_log,
    action_update,
    actions_filter,
    export_rows,
    health_check_prefill,
    my_organisation_ids,
    origin_summary,
    principle_scores,
    progress_note_add,
)
from partnerwell.delivery.digest import digest_unsubscribe
from partnerwell.delivery.forms_actions import (
    ActionFilterForm,
    ActionForm,
    DigestPreferenceForm,
    HealthCheckSourceForm,
    PeriodForm,
    ProgressNoteForm,
    RecordSourceForm,
)
from partnerwell.delivery.models import Action, ActionSource, DigestPreference
from partnerwell.healthcheck import access as healthcheck_access

PAGE_SIZE = 100


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _add_errors(form: BaseForm, exc: ValidationError) -> None:
    for name, errors in exc.message_dict.items():
        form.add_error(name if name in form.fields else None, errors)


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _log(request: HttpRequest, partnership: Partnership) -> tuple[ActionFilterForm, Any]:
    """The partnership's actions, filtered and sorted as the query string asks."""
    user = _user(request)
    form = ActionFilterForm(request.GET or None, partnership=partnership)
    actions = actions_filter(
        action_log(Action.objects.filter(partnership=partnership)),
        form.filters(),
        user=user,
        my_organisation_ids=my_organisation_ids(user, partnership),
    )
    return form, actions


@login_required
def list_actions(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = _user(request)
    partnership = core_access.get_partnership(user, partnership_id)
    form, actions = _log(request, partnership)
    context = {
        "partnership": partnership,
        "form": form,
        "page": Paginator(actions, PAGE_SIZE).get_page(request.GET.get("page")),
        "query": _query_without_page(request),
        "can_manage": core_access.can_manage(user, partnership),
    }
    return render(request, "delivery/actions/list_actions.html", context)


@login_required
def export_actions(request: HttpRequest, partnership_id: int, fmt: str) -> HttpResponse:
    partnership = core_access.get_partnership(_user(request), partnership_id)
    _, actions = _log(request, partnership)
    rows = export_rows(actions)
    return download(fmt, "Actions", f"{partnership.name} actions", EXPORT_HEADER, rows)


@login_required
def list_my_actions(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    # Until a status is chosen (even "any"), the page shows what is still to do.
    data = request.GET.copy()
    data.setdefault("status", "open")
    form = ActionFilterForm(data)
    mine = Action.objects.filter(
        owner__person=user, partnership__in=core_access.visible_partnerships(user)
    )
    actions = actions_filter(action_log(mine), form.filters(), user=user)
    context = {
        "form": form,
        "page": Paginator(actions, PAGE_SIZE).get_page(request.GET.get("page")),
        "query": _query_without_page(request),
    }
    return render(request, "delivery/actions/my_actions.html", context)


def _action_page(request: HttpRequest, action: Action, note_form: ProgressNoteForm) -> HttpResponse:
    user = _user(request)
    manager = core_access.can_manage(user, action.partnership)
    origin, origin_url = origin_summary(action)
    context = {
        "action": action,
        "partnership": action.partnership,
        "notes": action.notes.select_related("author"),
        "can_manage": manager,
        "can_update": manager or action.owner.person_id == user.pk,
        "origin": origin,
        "origin_url": origin_url,
        "scores": principle_scores(action),
        "form": note_form,
    }
    return render(request, "delivery/actions/view_action.html", context)


@login_required
def view_action(request: HttpRequest, action_id: int) -> HttpResponse:
    action = access.get_action(_user(request), action_id)
    return _action_page(request, action, ProgressNoteForm())


@require_POST
@login_required
def add_note(request: HttpRequest, action_id: int) -> HttpResponse:
    user = _user(request)
    action = access.get_action_to_update(user, action_id)
    form = ProgressNoteForm(request.POST)
    if form.is_valid():
        try:
            progress_note_add(by=user, action=action, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "The progress note has been added to the timeline.")
            return redirect(action)
    return _action_page(request, action, form)


def _save_new(
    request: HttpRequest, form: ActionForm, partnership: Partnership, origin: Origin
) -> HttpResponse | None:
    """Create the action from a valid form; None when the form is not (yet) valid."""
    if request.method != "POST" or not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        action = action_create(by=_user(request), partnership=partnership, origin=origin, **data)
    except ValidationError as exc:
        _add_errors(form, exc)
        return None
    messages.success(request, f"The action has been added and {action.owner.person.name} owns it.")
    return redirect(action)


@login_required
def add_action(request: HttpRequest, partnership_id: int) -> HttpResponse:
    partnership = core_access.get_partnership(_user(request), partnership_id, manage=True)
    source = RecordSourceForm(request.GET, partnership=partnership)
    try:
        origin = source.origin()
    except ValidationError as exc:
        raise Http404(exc.messages[0]) from exc
    form = ActionForm(
        request.POST or None, partnership=partnership, initial=source.initial_measure()
    )
    done = _save_new(request, form, partnership, origin)
    if done is not None:
        return done
    context = {"form": form, "partnership": partnership, "origin_text": origin.describe()}
    return render(request, "delivery/actions/action_form.html", context)


@login_required
def create_action(request: HttpRequest, round_id: int) -> HttpResponse:
    """A new action answering a principle (or one statement) of a health check's results."""
    round = healthcheck_access.get_round(_user(request), round_id, manage=True)
    source = HealthCheckSourceForm(request.GET, round=round)
    if not source.is_valid():
        raise Http404("No such principle or statement in this health check.")
    principle, statement = (
        source.cleaned_data["principle_obj"],
        source.cleaned_data["statement_obj"],
    )
    form = ActionForm(
        request.POST or None,
        partnership=round.partnership,
        initial=health_check_prefill(round, principle, statement),
    )
    origin = Origin(
        source=ActionSource.HEALTH_CHECK, round=round, principle=principle, statement=statement
    )
    done = _save_new(request, form, round.partnership, origin)
    if done is not None:
        return done
    context = {"form": form, "partnership": round.partnership, "origin_text": origin.describe()}
    return render(request, "delivery/actions/action_form.html", context)


@login_required
def edit_action(request: HttpRequest, action_id: int) -> HttpResponse:
    user = _user(request)
    action = access.get_action(user, action_id)
    core_access.get_partnership(user, action.partnership_id, manage=True)
    form = ActionForm(request.POST or None, partnership=action.partnership, action=action)
    if request.method == "POST" and form.is_valid():
        try:
            action_update(by=user, action=action, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "The action has been saved.")
            return redirect(action)
    context = {"form": form, "partnership": action.partnership, "action": action}
    return render(request, "delivery/actions/action_form.html", context)


@login_required
def view_accountability(request: HttpRequest, partnership_id: int) -> HttpResponse:
    partnership = core_access.get_partnership(_user(request), partnership_id)
    form = PeriodForm(request.GET or None)
    start, end = form.period()
    result = accountability(partnership, start=start, end=end)
    context = {
        "partnership": partnership,
        "form": form,
        "result": result,
        "chart_rows": accountability_chart_rows(result),
        "rules": ACCOUNTABILITY_RULES,
    }
    return render(request, "delivery/actions/accountability.html", context)


@login_required
def edit_reminders(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    preference = DigestPreference.objects.filter(person=user).first()
    form = DigestPreferenceForm(
        request.POST or None, instance=preference or DigestPreference(person=user)
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your choices for your email digest have been saved.")
        return redirect("delivery-edit-reminders")
    return render(request, "delivery/actions/reminders_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
def unsubscribe_digest(request: HttpRequest, token: str) -> HttpResponse:
    """One section out of the digest, from the link in the email: no sign-in needed.

    GET only asks (mail scanners follow links); the POST from that page unsubscribes.
    """
    try:
        person_id, kind = core_digest.read_unsubscribe_token(token)
    except signing.BadSignature:
        person = None
    else:
        person = User.objects.filter(pk=person_id, is_active=True).first()
    section = core_digest.section(kind) if person is not None else None
    if person is None or section is None:
        return render(request, "delivery/digest/unsubscribe_invalid.html", status=400)
    done = request.method == "POST"
    if done:
        digest_unsubscribe(person=person, kind=section.kind)
    context = {"section": section, "done": done, "token": token}
    return render(request, "delivery/digest/unsubscribe.html", context)


urlpatterns: list[URLPattern] = [
    path(
        "partnerships/<int:partnership_id>/actions/",
        list_actions,
        name="delivery-list-actions",
    ),
    path(
        "partnerships/<int:partnership_id>/actions/new/",
        add_action,
        name="delivery-add-action",
    ),
    path(
        "partnerships/<int:partnership_id>/actions/export.csv",
        export_actions,
        {"fmt": "csv"},
        name="delivery-export-actions-csv",
    ),
    path(
        "partnerships/<int:partnership_id>/actions/export.xlsx",
        export_actions,
        {"fmt": "xlsx"},
        name="delivery-export-actions-xlsx",
    ),
    path(
        "partnerships/<int:partnership_id>/accountability/",
        view_accountability,
        name="delivery-view-accountability",
    ),
    path("actions/mine/", list_my_actions, name="delivery-list-my-actions"),
    path("actions/<int:action_id>/", view_action, name="delivery-view-action"),
    path("actions/<int:action_id>/edit/", edit_action, name="delivery-edit-action"),
    path("actions/<int:action_id>/notes/", add_note, name="delivery-add-note"),
    path("rounds/<int:round_id>/actions/new/", create_action, name="delivery-create-action"),
    path("account/action-reminders/", edit_reminders, name="delivery-edit-reminders"),
    path("digest/unsubscribe/<str:token>/", unsubscribe_digest, name="delivery-unsubscribe-digest"),
]
