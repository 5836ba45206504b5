"""Pages for attendance: replying before a meeting, the register on the day with its
live quorum check, and the attendance record with its downloads."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_POST

from partnerwell.core import access as core_access
from partnerwell.core.exports import download
from partnerwell.core.models import User
from partnerwell.meetings import access
from partnerwell.meetings import attendance as services
from partnerwell.meetings.forms_attendance import (
    ExportForm,
    RegisterForm,
    ReplyForm,
    WindowForm,
)
from partnerwell.meetings.models import Meeting
from partnerwell.meetings.views.meetings import show_refusal, user_of

REGISTER_KEEPERS_ONLY = "Only the partnership's managers and chairs take the register."


def _register_meeting(user: User, pk: int) -> Meeting:
    """The meeting, for someone who may take its register (404 elsewhere, 403 for members)."""
    meeting = access.get_meeting(user, pk)
    if not services.can_keep_register(user, meeting):
        raise PermissionDenied(REGISTER_KEEPERS_ONLY)
    return meeting


@login_required
def reply_attendance(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    meeting = access.get_meeting(user, pk)
    membership = access.my_membership(user, meeting.partnership)
    if membership is None or not services.counts_for_meetings(membership):
        raise PermissionDenied(services.NOT_COUNTED_SENTENCE)
    current = services.my_reply(meeting, membership)
    initial = (
        {"reply": current.reply, "deputy_name": current.deputy_name, "note": current.note}
        if current
        else {}
    )
    deputies = services.registered_deputies(membership)
    form = ReplyForm(request.POST or None, initial=initial, deputies=deputies)
    if request.method == "POST" and form.is_valid():
        try:
            services.attendance_reply(meeting=meeting, membership=membership, **form.cleaned_data)
        except ValidationError as exc:
            show_refusal(form, exc)
        else:
            messages.success(
                request, "Your reply is recorded. You can change it until the meeting starts."
            )
            return redirect(meeting)
    context = {
        "partnership": meeting.partnership,
        "meeting": meeting,
        "form": form,
        "deputies": deputies,
        "closed": services.reply_closed_reason(meeting),
    }
    return render(request, "meetings/attendance/reply_form.html", context)


@login_required
def take_register(request: HttpRequest, pk: int) -> HttpResponse:
    """The register; "Check quorum" re-draws it with the quorum for the choices, unsaved."""
    user = user_of(request)
    meeting = _register_meeting(user, pk)
    rows = services.register_rows(meeting)
    form = RegisterForm(request.POST or None, rows=rows)
    if request.method != "POST":
        entries = [(r.membership.pk, r.initial_presence, r.initial_deputy_name) for r in rows]
    elif "check" in request.POST:
        entries = form.choices_so_far()
        # An unbound form keeps the choices without flagging rows not filled in yet.
        form = RegisterForm(initial=_as_initial(entries), rows=rows)
    else:
        entries = form.choices_so_far()
        if form.is_valid():
            try:
                result = services.register_record(meeting=meeting, by=user, entries=form.entries())
            except ValidationError as exc:
                show_refusal(form, exc)
            else:
                messages.success(request, f"The register is saved. {_quorum_sentence(result.met)}")
                return redirect(meeting)
    quorum, decision_makers = services.quorum_preview(meeting, entries, rows)
    context = {
        "partnership": meeting.partnership,
        "meeting": meeting,
        "form": form,
        "quorum": quorum,
        "decision_makers": decision_makers,
    }
    return render(request, "meetings/attendance/register.html", context)


def _as_initial(choices: list[tuple[int, str, str]]) -> dict[str, str]:
    initial: dict[str, str] = {}
    for pk, presence, name in choices:
        initial[f"presence_{pk}"] = presence
        initial[f"deputy_{pk}"] = name
    return initial


def _quorum_sentence(met: bool | None) -> str:
    if met is None:
        return "The partnership has no quorum rule."
    return "The meeting was quorate." if met else "The meeting was not quorate."


@require_POST
@login_required
def check_quorum(request: HttpRequest, pk: int) -> HttpResponse:
    """The quorum status for the register's current choices, as a fragment for htmx."""
    user = user_of(request)
    meeting = _register_meeting(user, pk)
    rows = services.register_rows(meeting)
    form = RegisterForm(request.POST, rows=rows)
    quorum, decision_makers = services.quorum_preview(meeting, form.choices_so_far(), rows)
    context = {"meeting": meeting, "quorum": quorum, "decision_makers": decision_makers}
    return render(request, "meetings/attendance/quorum_status.html", context)


@login_required
def view_attendance_record(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = user_of(request)
    partnership = core_access.get_partnership(user, partnership_id)
    form = WindowForm(request.GET or None)
    window = form.cleaned_data["n"] if form.is_bound and form.is_valid() else None
    record = services.attendance_record(partnership, window)
    context = {
        "partnership": partnership,
        "form": form,
        "record": record,
        "fall_points": services.FALL_POINTS,
        "low_rate": services.LOW_RATE,
    }
    return render(request, "meetings/attendance/attendance_record.html", context)


@login_required
def export_attendance(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = user_of(request)
    partnership = core_access.get_partnership(user, partnership_id)
    form = ExportForm(request.GET)
    if not form.is_valid():
        for message in form.errors.get_json_data().values():
            messages.error(request, " ".join(str(e["message"]) for e in message))
        return redirect("meetings-view-attendance-record", partnership.pk)
    record = services.attendance_record(partnership, form.cleaned_data["n"])
    rows = services.export_rows(record)
    return download(
        form.cleaned_data["format"],
        "Attendance",
        f"{partnership.name} attendance",
        services.EXPORT_HEADER,
        rows,
    )


urlpatterns: list[URLPattern] = [
    path("meetings/<int:pk>/attendance/reply/", reply_attendance, name="meetings-reply-attendance"),
    path("meetings/<int:pk>/register/", take_register, name="meetings-take-register"),
    path("meetings/<int:pk>/register/check/", check_quorum, name="meetings-check-quorum"),
    path(
        "partnerships/<int:partnership_id>/attendance/",
        view_attendance_record,
        name="meetings-view-attendance-record",
    ),
    path(
        "partnerships/<int:partnership_id>/attendance/export/",
        export_attendance,
        name="meetings-export-attendance",
    ),
]
