"""Pages for agenda items, the forward plan, triage, the agenda builder, sign-off and papers."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_POST

from partnerwell.core import access as core_access
from partnerwell.meetings import access
from partnerwell.meetings import agenda as services
from partnerwell.meetings import services as meeting_services
from partnerwell.meetings.forms_agenda import (
    ItemForm,
    MoveForm,
    PaperForm,
    PositionsForm,
    TriageForm,
)
from partnerwell.meetings.models import ItemStatus, Meeting
from partnerwell.meetings.uploads import CONTENT_TYPES
from partnerwell.meetings.views.meetings import show_refusal, user_of

DONE_WORDS = {"accept": "accepted", "defer": "deferred", "decline": "declined"}
CHOOSE_AGAIN = " Your other answers are kept: choose the file again."


def _paper_refused(form: ItemForm | PaperForm, exc: ValidationError) -> None:
    """A refused file cannot be kept by the browser, so say it must be chosen again."""
    if hasattr(exc, "error_dict") and "paper" in exc.error_dict:
        for message in exc.message_dict["paper"]:
            form.add_error("paper", message + CHOOSE_AGAIN)
        return
    show_refusal(form, exc)


def _submit(request: HttpRequest, partnership_id: int, meeting: Meeting | None) -> HttpResponse:
    user = user_of(request)
    partnership = core_access.get_partnership(user, partnership_id)
    form = ItemForm(request.POST or None, request.FILES or None, paper_mb=settings.PAPER_MAX_MB)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            item = services.item_submit(
                partnership=partnership,
                by=user,
                meeting=meeting,
                paper=data["paper"],
                paper_title=data["paper_title"],
                **form.item_data(),
            )
        except ValidationError as exc:
            _paper_refused(form, exc)
        else:
            where = f"the agenda of “{meeting.title}”" if meeting else "the forward plan"
            late = " It is after the deadline, so it is marked late." if item.late else ""
            messages.success(request, f"“{item.title}” is submitted for {where}.{late}")
            return redirect(item)
    deadline = (
        meeting_services.submission_deadline(meeting, meeting_services.settings_for(partnership))
        if meeting
        else None
    )
    context = {
        "partnership": partnership,
        "form": form,
        "meeting": meeting,
        "item": None,
        "deadline": deadline,
    }
    return render(request, "meetings/agenda/item_form.html", context)


@login_required
def add_item(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = access.get_meeting(user_of(request), pk)
    if not services.open_for_items(meeting):
        messages.error(
            request,
            f"“{meeting.title}” is not taking items. Submit your item to the forward plan instead.",
        )
        return redirect("meetings-add-plan-item", meeting.partnership_id)
    return _submit(request, meeting.partnership_id, meeting)


@login_required
def add_plan_item(request: HttpRequest, partnership_id: int) -> HttpResponse:
    return _submit(request, partnership_id, None)


@login_required
def list_forward_plan(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = user_of(request)
    partnership = core_access.get_partnership(user, partnership_id)
    context = {
        "partnership": partnership,
        "plan": services.forward_plan(partnership),
        "can_triage": services.can_triage(user, partnership),
    }
    return render(request, "meetings/agenda/forward_plan.html", context)


@login_required
def view_item(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    item = access.get_item(user, pk)
    partnership = item.partnership
    papers = list(item.papers.select_related("uploaded_by").order_by("-uploaded_at", "-pk"))
    can_edit = core_access.can_manage(user, partnership) or (
        item.submitted_by_id == user.pk and item.status == ItemStatus.SUBMITTED
    )
    context = {
        "partnership": partnership,
        "item": item,
        "current_papers": [p for p in papers if p.replaced_at is None],
        "old_papers": [p for p in papers if p.replaced_at is not None],
        "can_edit": can_edit,
        "can_triage": services.can_triage(user, partnership) and not item.standing,
        "can_add_paper": services.can_add_paper(user, item),
        "is_submitter": item.submitted_by_id == user.pk,
    }
    return render(request, "meetings/agenda/view_item.html", context)


@login_required
def edit_item(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    item = access.get_item_to_edit(user, pk)
    form = ItemForm(request.POST or None, initial=ItemForm.initial_for(item), with_paper=False)
    if request.method == "POST" and form.is_valid():
        try:
            services.item_update(item=item, by=user, **form.item_data())
        except ValidationError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, "The item is saved.")
            return redirect(item)
    context = {"partnership": item.partnership, "form": form, "meeting": item.meeting, "item": item}
    return render(request, "meetings/agenda/item_form.html", context)


@login_required
def triage_item(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    item = access.get_item(user, pk)
    services.require_triage(user, item.partnership)
    if item.standing:
        raise Http404("Standing items are not triaged.")
    meetings = services.meetings_open_for_items(item.partnership)
    form = TriageForm(request.POST or None, item=item, meetings=meetings)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            done = services.item_triage(
                item=item,
                by=user,
                decision=data["decision"],
                reason=data["reason"],
                defer_to=data.get("meeting") if data["decision"] == "accept" else data["defer_to"],
            )
        except ValidationError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, f"“{done.title}” is {DONE_WORDS[data['decision']]}.")
            if done.meeting is not None:
                return redirect(done.meeting)
            return redirect("meetings-list-forward-plan", done.partnership_id)
    context = {"partnership": item.partnership, "form": form, "item": item}
    return render(request, "meetings/agenda/triage_form.html", context)


@login_required
def edit_agenda(request: HttpRequest, pk: int) -> HttpResponse:
    """The agenda builder: order, times, standing items and the balance."""
    user = user_of(request)
    meeting = access.get_meeting(user, pk)
    services.require_triage(user, meeting.partnership)
    section = services.meeting_section(meeting, user)
    movable = [row["item"] for row in section["rows"] if row["item"].standing != "aob"]
    form = PositionsForm(request.POST or None, items=movable)
    if request.method == "POST" and form.is_valid():
        try:
            services.agenda_reorder(meeting=meeting, by=user, positions=form.positions())
        except ValidationError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, "The agenda is in the new order.")
            return redirect("meetings-edit-agenda", meeting.pk)
    positions = dict((item.pk, field) for item, field in form.rows())
    context = {
        "partnership": meeting.partnership,
        "meeting": meeting,
        "agenda": section,
        "form": form,
        "positions": positions,
    }
    # Times on a meeting's pages are in the meeting's own time zone.
    with timezone.override(meeting.tz):
        return render(request, "meetings/agenda/builder.html", context)


@require_POST
@login_required
def move_item(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    item = access.get_item(user, pk)
    services.require_triage(user, item.partnership)
    form = MoveForm(request.POST)
    if item.meeting is None:
        raise Http404("The item is not on a meeting's agenda.")
    if not form.is_valid():
        messages.error(request, "Choose to move the item up or down.")
    else:
        try:
            services.item_move(item=item, by=user, direction=form.cleaned_data["direction"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"“{item.title}” moved {form.cleaned_data['direction']}.")
    return redirect("meetings-edit-agenda", item.meeting.pk)


@require_POST
@login_required
def approve_agenda(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    meeting = access.get_meeting(user, pk)
    # The revision the page showed; a missing or garbled one counts as not seen.
    shown = request.POST.get("revision", "")
    try:
        services.agenda_approve(
            meeting=meeting, by=user, revision=int(shown) if shown.isdigit() else -1
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(meeting)
    state = services.agenda_state(meeting)
    if state["agreed"]:
        messages.success(request, "You approved the agenda. It is now agreed.")
    else:
        waiting = " and ".join(side.name.lower() for side in state["waiting_sides"])
        messages.success(
            request, f"You approved the agenda. It is waiting for approval from the {waiting}."
        )
    return redirect(meeting)


@login_required
def print_agenda(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = access.get_meeting(user_of(request), pk)
    context = {
        "partnership": meeting.partnership,
        "meeting": meeting,
        "rows": services.agenda_rows(meeting),
        "state": services.agenda_state(meeting),
        "local_start": meeting.local_start,
        "local_end": meeting.local_end,
    }
    # Times on a meeting's pages are in the meeting's own time zone.
    with timezone.override(meeting.tz):
        return render(request, "meetings/agenda/print.html", context)


@login_required
def add_paper(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    item = access.get_item(user, pk)
    if not services.can_add_paper(user, item):
        raise PermissionDenied(
            "Only the person who raised the item, or a chair or manager, can add its papers."
        )
    form = PaperForm(
        request.POST or None, request.FILES or None, item=item, paper_mb=settings.PAPER_MAX_MB
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data.get("replace"):
                paper = services.paper_replace(paper=data["replace"], by=user, upload=data["paper"])
            else:
                paper = services.paper_add(
                    item=item, by=user, upload=data["paper"], title=data["title"]
                )
        except ValidationError as exc:
            _paper_refused(form, exc)
        else:
            messages.success(request, f"The paper “{paper.title}” is saved.")
            return redirect(item)
    context = {"partnership": item.partnership, "form": form, "item": item}
    return render(request, "meetings/agenda/paper_form.html", context)


@login_required
def download_paper(request: HttpRequest, pk: int) -> FileResponse:
    paper = access.get_paper(user_of(request), pk)
    try:
        handle = paper.file.open("rb")
    except FileNotFoundError:
        raise Http404("The paper's file is missing; ask a manager to upload it again.") from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=paper.original_name,
        content_type=CONTENT_TYPES.get(paper.kind, "application/octet-stream"),
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


urlpatterns: list[URLPattern] = [
    path("meetings/<int:pk>/items/new/", add_item, name="meetings-add-item"),
    path("meetings/<int:pk>/agenda/", edit_agenda, name="meetings-edit-agenda"),
    path("meetings/<int:pk>/agenda/approve/", approve_agenda, name="meetings-approve-agenda"),
    path("meetings/<int:pk>/agenda/print/", print_agenda, name="meetings-print-agenda"),
    path(
        "partnerships/<int:partnership_id>/forward-plan/",
        list_forward_plan,
        name="meetings-list-forward-plan",
    ),
    path(
        "partnerships/<int:partnership_id>/forward-plan/new/",
        add_plan_item,
        name="meetings-add-plan-item",
    ),
    path("agenda-items/<int:pk>/", view_item, name="meetings-view-item"),
    path("agenda-items/<int:pk>/edit/", edit_item, name="meetings-edit-item"),
    path("agenda-items/<int:pk>/triage/", triage_item, name="meetings-triage-item"),
    path("agenda-items/<int:pk>/move/", move_item, name="meetings-move-item"),
    path("agenda-items/<int:pk>/papers/new/", add_paper, name="meetings-add-paper"),
    path("papers/<int:pk>/download/", download_paper, name="meetings-download-paper"),
]
