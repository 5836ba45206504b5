"""Pages for minutes, decisions and the actions minuted with them, and the decision log."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_POST

from partnerwell.core import access as core_access
from partnerwell.core.exports import download
from partnerwell.meetings import access
from partnerwell.meetings import minutes as services
from partnerwell.meetings.forms_minutes import (
    ActionMinuteForm,
    ApproveForm,
    CorrectionForm,
    DecisionExportForm,
    DecisionForm,
    DecisionSearchForm,
    MinutesForm,
)
from partnerwell.meetings.models import Decision, Meeting, MinuteEntry, Minutes, MinutesStatus
from partnerwell.meetings.views.meetings import show_refusal, user_of

PAGE_SIZE = 50
# A refusal because of the minutes' state (locked, not started) rather than bad input.
CONFLICT = 409


# Writing the minutes ---------------------------------------------------------------


def _minutes_page(
    request: HttpRequest,
    meeting: Meeting,
    *,
    minutes_form: MinutesForm | None = None,
    decision_form: DecisionForm | None = None,
    action_form: ActionMinuteForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The minuting page: the text per item, then decisions and actions under them."""
    items = services.minute_items(meeting)
    current = services.minutes_current(meeting)
    decisions = list(Decision.objects.filter(meeting=meeting).order_by("pk"))
    actions = services.decision_actions([d.pk for d in decisions])
    texts = services.entry_texts(current)
    minutes_form = minutes_form or MinutesForm(
        items=items, texts=texts, summary=current.summary if current else ""
    )
    about = request.GET.get("about", "")
    context = {
        "partnership": meeting.partnership,
        "meeting": meeting,
        "current": current,
        "started": services.has_started(meeting),
        "rows": [
            {
                "number": n,
                "item": item,
                "text": texts.get(item.pk, ""),
                "decisions": [(d, actions[d.pk]) for d in decisions if d.item_id == item.pk],
            }
            for n, item in enumerate(items, start=1)
        ],
        "other_decisions": [(d, actions[d.pk]) for d in decisions if d.item_id is None],
        "minutes_form": minutes_form,
        "decision_form": decision_form or DecisionForm(meeting=meeting, items=items),
        "action_form": action_form
        or ActionMinuteForm(
            meeting=meeting, items=items, decisions=decisions, initial={"about": about}
        ),
    }
    return render(request, "meetings/minutes/edit_minutes.html", context, status=status)


@login_required
def edit_minutes(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    meeting = access.get_meeting(user, pk, manage=True)
    if request.method != "POST":
        return _minutes_page(request, meeting)
    form = MinutesForm(request.POST, items=services.minute_items(meeting))
    if not form.is_valid():
        return _minutes_page(request, meeting, minutes_form=form, status=400)
    before = services.minutes_current(meeting)
    try:
        saved = services.minutes_save(
            meeting=meeting, by=user, summary=form.cleaned_data["summary"], entries=form.entries()
        )
    except ValidationError as exc:
        show_refusal(form, exc)
        return _minutes_page(request, meeting, minutes_form=form, status=CONFLICT)
    if before is not None and before.status == MinutesStatus.CIRCULATED:
        if saved.status == MinutesStatus.DRAFT:
            messages.warning(request, services.BACK_TO_DRAFT)
        else:
            messages.success(request, "Nothing was changed; the minutes stay circulated.")
        return redirect("meetings-edit-minutes", meeting.pk)
    messages.success(request, "The minutes are saved as a draft.")
    return redirect("meetings-edit-minutes", meeting.pk)


@require_POST
@login_required
def add_decision(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    meeting = access.get_meeting(user, pk, manage=True)
    form = DecisionForm(request.POST, meeting=meeting, items=services.minute_items(meeting))
    if not form.is_valid():
        return _minutes_page(request, meeting, decision_form=form, status=400)
    try:
        decision = services.decision_record(meeting=meeting, by=user, **form.cleaned_data)
    except ValidationError as exc:
        show_refusal(form, exc)
        return _minutes_page(request, meeting, decision_form=form, status=CONFLICT)
    messages.success(request, f"Decision {decision.reference} is recorded.")
    return redirect("meetings-edit-minutes", meeting.pk)


@require_POST
@login_required
def add_decision_action(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    meeting = access.get_meeting(user, pk, manage=True)
    decisions = list(Decision.objects.filter(meeting=meeting).select_related("item"))
    form = ActionMinuteForm(
        request.POST, meeting=meeting, items=services.minute_items(meeting), decisions=decisions
    )
    if not form.is_valid():
        return _minutes_page(request, meeting, action_form=form, status=400)
    data = form.cleaned_data
    decision, item = data.pop("about")
    try:
        action = services.action_minute(
            meeting=meeting, by=user, decision=decision, item=item, **data
        )
    except ValidationError as exc:
        show_refusal(form, exc)
        return _minutes_page(request, meeting, action_form=form, status=CONFLICT)
    messages.success(request, f"“{action.title}” is in the action log.")
    return redirect("meetings-edit-minutes", meeting.pk)


# Circulating, approving and correcting -----------------------------------------------


@require_POST
@login_required
def circulate_minutes(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    minutes = access.get_minutes(user, pk, manage=True)
    try:
        services.minutes_circulate(minutes=minutes, by=user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("meetings-view-minutes", minutes.pk)
    messages.success(request, "The draft minutes are circulated; members get an email.")
    return redirect("meetings-view-minutes", minutes.pk)


@require_POST
@login_required
def approve_minutes(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    minutes = access.get_minutes(user, pk, manage=True)
    form = ApproveForm(request.POST, partnership_id=minutes.meeting.partnership_id)
    if not form.is_valid():
        messages.error(request, "Approve the minutes from the page of the next meeting.")
        return redirect("meetings-view-minutes", minutes.pk)
    at_meeting = form.cleaned_data["meeting"]
    try:
        services.minutes_approve(minutes=minutes, by=user, at_meeting=at_meeting)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"The minutes of {minutes.meeting.title} are approved.")
    return redirect(at_meeting)


@login_required
def correct_minutes(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    minutes = access.get_minutes(user, pk, manage=True)
    meeting = minutes.meeting
    form = CorrectionForm(
        request.POST or None,
        items=services.minute_items(meeting),
        texts=services.entry_texts(minutes),
        summary=minutes.summary,
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            corrected = services.minutes_correct(
                minutes=minutes,
                by=user,
                reason=form.cleaned_data["reason"],
                summary=form.cleaned_data["summary"],
                entries=form.entries(),
            )
        except ValidationError as exc:
            show_refusal(form, exc)
        else:
            messages.success(
                request,
                f"Version {corrected.version} is circulated for approval at the next meeting.",
            )
            return redirect("meetings-view-minutes", corrected.pk)
    if form.errors:
        status = 400
    context = {
        "partnership": meeting.partnership,
        "meeting": meeting,
        "minutes": minutes,
        "form": form,
    }
    return render(request, "meetings/minutes/correct_minutes.html", context, status=status)


# Reading the minutes -----------------------------------------------------------------


def _readable(request: HttpRequest, pk: int) -> tuple[Minutes, bool]:
    """A version the person may read: drafts only for managers, until circulated."""
    user = user_of(request)
    minutes = access.get_minutes(user, pk)
    manager = core_access.can_manage(user, minutes.meeting.partnership)
    if minutes.status == MinutesStatus.DRAFT and not manager:
        raise PermissionDenied("Members can read the minutes once the draft is circulated.")
    return minutes, manager


def _version_context(minutes: Minutes) -> dict[str, Any]:
    meeting = minutes.meeting
    entries = MinuteEntry.objects.filter(minutes=minutes).select_related("item")
    decisions = list(Decision.objects.filter(meeting=meeting).select_related("item").order_by("pk"))
    actions = services.decision_actions([d.pk for d in decisions])
    return {
        "partnership": meeting.partnership,
        "meeting": meeting,
        "minutes": minutes,
        "local_start": meeting.local_start,
        "entries": list(entries),
        "decisions": [(d, actions[d.pk]) for d in decisions],
    }


@login_required
def view_minutes(request: HttpRequest, pk: int) -> HttpResponse:
    minutes, manager = _readable(request, pk)
    context = _version_context(minutes)
    context["can_manage"] = manager
    context["latest"] = services.minutes_current(minutes.meeting)
    return render(request, "meetings/minutes/view_minutes.html", context)


@login_required
def print_minutes(request: HttpRequest, pk: int) -> HttpResponse:
    minutes, _ = _readable(request, pk)
    return render(request, "meetings/minutes/print_minutes.html", _version_context(minutes))


@login_required
def list_minutes_versions(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    meeting = access.get_meeting(user, pk)
    versions = (
        Minutes.objects.filter(meeting=meeting)
        .select_related("created_by", "approved_at_meeting")
        .order_by("-version")
    )
    context = {
        "partnership": meeting.partnership,
        "meeting": meeting,
        "versions": list(versions),
        "can_manage": core_access.can_manage(user, meeting.partnership),
    }
    return render(request, "meetings/minutes/list_versions.html", context)


# The decision log ------------------------------------------------------------------


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@login_required
def list_decisions(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = user_of(request)
    partnership = core_access.get_partnership(user, partnership_id)
    form = DecisionSearchForm(request.GET or None, years=services.decision_years(user, partnership))
    decisions = services.visible_decisions(
        user, partnership, services.decision_search(partnership, **form.filters())
    )
    context = {
        "partnership": partnership,
        "form": form,
        "page": Paginator(decisions, PAGE_SIZE).get_page(request.GET.get("page")),
        "query": _query_without_page(request),
    }
    return render(request, "meetings/decisions/list_decisions.html", context)


@login_required
def export_decisions(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = user_of(request)
    partnership = core_access.get_partnership(user, partnership_id)
    form = DecisionExportForm(request.GET, years=services.decision_years(user, partnership))
    fmt = form.chosen_format()
    if fmt is None:
        return HttpResponseBadRequest("Choose format=csv or format=xlsx to download the log.")
    decisions = services.visible_decisions(
        user, partnership, services.decision_search(partnership, **form.filters())
    )
    rows = services.decision_export_rows(decisions)
    return download(fmt, "Decisions", f"{partnership.name} decisions", services.EXPORT_HEADER, rows)


@login_required
def view_decision(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    decision = services.get_visible_decision(user, pk)
    context = {
        "partnership": decision.partnership,
        "decision": decision,
        "meeting": decision.meeting,
        "actions": services.decision_actions([decision.pk])[decision.pk],
        "can_manage": core_access.can_manage(user, decision.partnership),
    }
    return render(request, "meetings/decisions/view_decision.html", context)


urlpatterns: list[URLPattern] = [
    path("meetings/<int:pk>/minutes/", edit_minutes, name="meetings-edit-minutes"),
    path(
        "meetings/<int:pk>/minutes/versions/",
        list_minutes_versions,
        name="meetings-list-minutes-versions",
    ),
    path("meetings/<int:pk>/decisions/new/", add_decision, name="meetings-add-decision"),
    path(
        "meetings/<int:pk>/minutes/actions/new/",
        add_decision_action,
        name="meetings-add-decision-action",
    ),
    path("minutes/<int:pk>/", view_minutes, name="meetings-view-minutes"),
    path("minutes/<int:pk>/print/", print_minutes, name="meetings-print-minutes"),
    path("minutes/<int:pk>/circulate/", circulate_minutes, name="meetings-circulate-minutes"),
    path("minutes/<int:pk>/approve/", approve_minutes, name="meetings-approve-minutes"),
    path("minutes/<int:pk>/correct/", correct_minutes, name="meetings-correct-minutes"),
    path(
        "partnerships/<int:partnership_id>/decisions/",
        list_decisions,
        name="meetings-list-decisions",
    ),
    path(
        "partnerships/<int:partnership_id>/decisions/export/",
        export_decisions,
        name="meetings-export-decisions",
    ),
    path("decisions/<int:pk>/", view_decision, name="meetings-view-decision"),
]
