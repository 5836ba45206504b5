"""Calendar feeds: the secret feed URLs, the page that shows them, one meeting's .ics file."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_POST

from partnerwell.core import access as core_access
from partnerwell.meetings import access
from partnerwell.meetings import calendar as cal
from partnerwell.meetings.models import CalendarToken, MeetingSettings
from partnerwell.meetings.views.meetings import user_of

CONTENT_TYPE = "text/calendar; charset=utf-8"


def _ics(body: bytes, filename: str | None = None) -> HttpResponse:
    response = HttpResponse(body, content_type=CONTENT_TYPE)
    # Calendar programs poll; a stale copy in a proxy would hide a cancellation.
    response["Cache-Control"] = "private, no-cache"
    if filename:
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# No sign-in on the feeds: the secret in the URL is the key, and a wrong one is 404.
@require_GET
def personal_feed(request: HttpRequest, token: str) -> HttpResponse:
    found = (
        CalendarToken.objects.filter(token=token, person__is_active=True)
        .select_related("person")
        .first()
    )
    if found is None:
        raise Http404("No such calendar feed.")
    meetings = cal.personal_feed_meetings(found.person)
    return _ics(cal.build_calendar("Partnership meetings", meetings))


@require_GET
def partnership_feed(request: HttpRequest, token: str) -> HttpResponse:
    found = MeetingSettings.objects.filter(calendar_token=token).select_related("partnership")
    meeting_settings = found.first()
    if meeting_settings is None:
        raise Http404("No such calendar feed.")
    partnership = meeting_settings.partnership
    meetings = cal.partnership_feed_meetings(partnership)
    return _ics(cal.build_calendar(f"{partnership.name} meetings", meetings))


@login_required
def download_ics(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = access.get_meeting(user_of(request), pk)
    body = cal.build_calendar(meeting.partnership.name, [meeting])
    return _ics(body, filename=f"meeting-{meeting.pk}.ics")


def _feed_urls(url_name: str, token: str) -> dict[str, str]:
    https = settings.SITE_URL + reverse(url_name, args=[token])
    return {"https": https, "webcal": "webcal://" + https.split("://", 1)[-1]}


@login_required
def view_feeds(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = user_of(request)
    partnership = core_access.get_partnership(user, partnership_id)
    context = {
        "partnership": partnership,
        "can_manage": core_access.can_manage(user, partnership),
        "personal": _feed_urls("meetings-view-personal-feed", cal.personal_token(user).token),
        "shared": _feed_urls("meetings-view-partnership-feed", cal.partnership_token(partnership)),
    }
    return render(request, "meetings/calendar/view_feeds.html", context)


@require_POST
@login_required
def reset_personal_feed(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = user_of(request)
    partnership = core_access.get_partnership(user, partnership_id)
    cal.calendar_token_reset(person=user)
    messages.success(
        request,
        "Your calendar feed has a new address. Subscribe to it again in your calendar; "
        "the old address no longer works.",
    )
    return redirect("meetings-view-feeds", partnership.pk)


@require_POST
@login_required
def reset_partnership_feed(request: HttpRequest, partnership_id: int) -> HttpResponse:
    partnership = core_access.get_partnership(user_of(request), partnership_id, manage=True)
    cal.partnership_feed_reset(partnership=partnership)
    messages.success(
        request,
        "The partnership's calendar feed has a new address. Share it again with the people "
        "who should have it; the old address no longer works.",
    )
    return redirect("meetings-view-feeds", partnership.pk)


urlpatterns: list[URLPattern] = [
    path("calendar/me/<str:token>.ics", personal_feed, name="meetings-view-personal-feed"),
    path(
        "calendar/partnership/<str:token>.ics",
        partnership_feed,
        name="meetings-view-partnership-feed",
    ),
    path("meetings/<int:pk>/calendar.ics", download_ics, name="meetings-download-ics"),
    path("partnerships/<int:partnership_id>/calendar/", view_feeds, name="meetings-view-feeds"),
    path(
        "partnerships/<int:partnership_id>/calendar/personal/reset/",
        reset_personal_feed,
        name="meetings-reset-personal-feed",
    ),
    path(
        "partnerships/<int:partnership_id>/calendar/partnership/reset/",
        reset_partnership_feed,
        name="meetings-reset-partnership-feed",
    ),
]
