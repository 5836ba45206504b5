"""Calendar feeds: the secret feed URLs, the page that shows them, one meeting's .ics file."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from partnerwell.core import access as core_access
from partnerwell.meetings import access
from partnerwell.meetings import calendar as cal
from partnerwell.meetings.models import CalendarToken
from partnerwell.meetings.views.meetings import user_of

CONTENT_TYPE = "text/calendar; charset=utf-8"


def _ics(body: bytes, filename: str | None = None) -> HttpResponse:
    response = HttpResponse(body, content_type=CONTENT_TYPE)
    # Calendar programs poll, and a stored copy would keep a cancellation or an ended
    # membership's meetings; the feeds also hold places and video links (personal data).
    response["Cache-Control"] = "no-store"
    if filename:
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _token(token: str, *, personal: bool) -> CalendarToken:
    found = (
        CalendarToken.objects.filter(
            token=token, partnership__isnull=personal, person__is_active=True
        )
        .select_related("person", "partnership")
        .first()
    )
    if found is None:
        raise Http404(_("No such calendar feed."))
    return found


# No sign-in on the feeds: the secret in the URL is the key, and a wrong one is 404. A
# known secret whose owner has left answers 200 with an empty calendar rather than 404:
# calendar programs keep the last events they saw after a 404, but remove them on an
# empty calendar, so the places and video links disappear from the ex-member's calendar.
@require_GET
def personal_feed(request: HttpRequest, token: str) -> HttpResponse:
    found = _token(token, personal=True)
    meetings = cal.personal_feed_meetings(found.person)
    return _ics(cal.build_calendar("Partnership meetings", meetings))


@require_GET
def partnership_feed(request: HttpRequest, token: str) -> HttpResponse:
    found = _token(token, personal=False)
    partnership = found.partnership
    if partnership is None:  # excluded by _token; this narrows the type
        raise Http404(_("No such calendar feed."))
    meetings = cal.partnership_feed_meetings(partnership, found.person)
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
        "personal": _feed_urls("meetings-view-personal-feed", cal.personal_token(user).token),
        "shared": _feed_urls(
            "meetings-view-partnership-feed", cal.partnership_token(user, partnership).token
        ),
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
        _(
            "Your calendar feed has a new address. Subscribe to it again in your calendar; "
            "the old address no longer works."
        ),
    )
    return redirect("meetings-view-feeds", partnership.pk)


@require_POST
@login_required
def reset_partnership_feed(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = user_of(request)
    partnership = core_access.get_partnership(user, partnership_id)
    cal.calendar_token_reset(person=user, partnership=partnership)
    messages.success(
        request,
        _(
            "Your feed of this partnership has a new address. Subscribe to it again in your "
            "calendar; the old address no longer works."
        ),
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
