"""Pages for meetings themselves: the list, a meeting's page, planning and cancelling."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_POST

from partnerwell.core import access as core_access
from partnerwell.core.models import User
from partnerwell.meetings import access, services
from partnerwell.meetings import agenda as agenda_area
from partnerwell.meetings import attendance as attendance_area
from partnerwell.meetings import minutes as minutes_area
from partnerwell.meetings import papers as papers_area
from partnerwell.meetings import review as review_area
from partnerwell.meetings.forms import CancelForm, MeetingForm, MeetingSettingsForm
from partnerwell.meetings.models import LIFECYCLE, Meeting, MeetingStatus


def user_of(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


# Service fields the meeting form asks for under another name.
FORM_FIELD = {"starts_at": "start_time", "ends_at": "end_time"}


def show_refusal(form: forms.BaseForm, exc: ValidationError) -> None:
    """Show a service's refusal on the form, against the field it names where there is one."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            field = FORM_FIELD.get(field, field) if field not in form.fields else field
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@login_required
def list_meetings(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = user_of(request)
    partnership = core_access.get_partnership(user, partnership_id)
    now = timezone.now()
    meetings = Meeting.objects.filter(partnership=partnership).select_related("series")
    context = {
        "partnership": partnership,
        "can_manage": core_access.can_manage(user, partnership),
        "coming": list(meetings.filter(ends_at__gte=now).order_by("starts_at", "pk")),
        "past": list(meetings.filter(ends_at__lt=now).order_by("-starts_at", "-pk")[:50]),
        "past_count": meetings.filter(ends_at__lt=now).count(),
    }
    return render(request, "meetings/list_meetings.html", context)


def _save_fields(form: MeetingForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "title": data["title"],
        "kind": data["kind"],
        "series": data.get("series"),
        "new_series": data.get("new_series") or "",
        "starts_at": data["starts_at"],
        "ends_at": data["ends_at"],
        "time_zone": data["time_zone"],
        "place": data["place"],
        "video_link": data["video_link"],
    }


@login_required
def add_meeting(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = user_of(request)
    partnership = core_access.get_partnership(user, partnership_id, manage=True)
    form = MeetingForm(request.POST or None, partnership=partnership)
    if request.method == "POST" and form.is_valid():
        try:
            meeting = services.meeting_create(
                partnership=partnership, by=user, **_save_fields(form)
            )
        except ValidationError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, "Meeting planned, with its standing items on the agenda.")
            return redirect(meeting)
    context = {"partnership": partnership, "form": form, "meeting": None}
    return render(request, "meetings/meeting_form.html", context)


@login_required
def edit_meeting(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    meeting = access.get_meeting(user, pk, manage=True)
    if meeting.is_cancelled:
        messages.error(request, "This meeting is cancelled, so it cannot be changed.")
        return redirect(meeting)
    initial = MeetingForm.initial_for(meeting)
    form = MeetingForm(request.POST or None, initial=initial, partnership=meeting.partnership)
    if request.method == "POST" and form.is_valid():
        try:
            services.meeting_update(meeting=meeting, **_save_fields(form))
        except ValidationError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, "Meeting changed. Calendar feeds show the change.")
            return redirect(meeting)
    context = {"partnership": meeting.partnership, "form": form, "meeting": meeting}
    return render(request, "meetings/meeting_form.html", context)


@login_required
def view_meeting(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    meeting = access.get_meeting(user, pk)
    partnership = meeting.partnership
    step = LIFECYCLE.index(meeting.status)
    context = {
        "partnership": partnership,
        "meeting": meeting,
        "can_manage": core_access.can_manage(user, partnership),
        "lifecycle": [
            {"value": s.value, "label": s.label, "done": i < step, "current": i == step}
            for i, s in enumerate(MeetingStatus)
        ],
        "started": meeting.starts_at <= timezone.now(),
        "local_start": meeting.local_start,
        "local_end": meeting.local_end,
        "agenda": agenda_area.meeting_section(meeting, user),
        "papers": papers_area.meeting_section(meeting, user),
        "attendance": attendance_area.meeting_section(meeting, user),
        "minutes": minutes_area.meeting_section(meeting, user),
        "review": review_area.meeting_section(meeting, user),
    }
    # Times on a meeting's page are in the meeting's own time zone, as its heading says.
    with timezone.override(meeting.tz):
        return render(request, "meetings/view_meeting.html", context)


@login_required
def cancel_meeting(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    meeting = access.get_meeting(user, pk, manage=True)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.meeting_cancel(meeting=meeting, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, "Meeting cancelled. Calendar feeds show it as cancelled.")
            return redirect(meeting)
    context = {"partnership": meeting.partnership, "form": form, "meeting": meeting}
    return render(request, "meetings/cancel_meeting.html", context)


@require_POST
@login_required
def advance_meeting(request: HttpRequest, pk: int) -> HttpResponse:
    """Open the agenda for items, or mark the meeting as held."""
    user = user_of(request)
    meeting = access.get_meeting(user, pk, manage=True)
    to = request.POST.get("to", "")
    if to not in services.MANUAL_STEPS:
        messages.error(request, "Choose to open the agenda or to mark the meeting as held.")
        return redirect(meeting)
    try:
        services.meeting_advance(meeting=meeting, to=to)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"The meeting is now at “{MeetingStatus(to).label}”.")
    return redirect(meeting)


@login_required
def edit_settings(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = user_of(request)
    partnership = core_access.get_partnership(user, partnership_id, manage=True)
    current = services.settings_for(partnership)
    form = MeetingSettingsForm(request.POST or None, instance=current, partnership=partnership)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Meeting rules saved.")
        return redirect("meetings-list-meetings", partnership.pk)
    context = {"partnership": partnership, "form": form}
    return render(request, "meetings/settings_form.html", context)


urlpatterns: list[URLPattern] = [
    path(
        "partnerships/<int:partnership_id>/meetings/", list_meetings, name="meetings-list-meetings"
    ),
    path(
        "partnerships/<int:partnership_id>/meetings/new/", add_meeting, name="meetings-add-meeting"
    ),
    path(
        "partnerships/<int:partnership_id>/meetings/rules/",
        edit_settings,
        name="meetings-edit-settings",
    ),
    path("meetings/<int:pk>/", view_meeting, name="meetings-view-meeting"),
    path("meetings/<int:pk>/edit/", edit_meeting, name="meetings-edit-meeting"),
    path("meetings/<int:pk>/cancel/", cancel_meeting, name="meetings-cancel-meeting"),
    path("meetings/<int:pk>/advance/", advance_meeting, name="meetings-advance-meeting"),
]
