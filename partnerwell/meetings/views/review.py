"""Pages for the meeting review: opening and closing it, answering by link, results and trend."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_POST

from partnerwell.core import access as core_access
from partnerwell.core.guessing import TooManyAttempts
from partnerwell.core.models import User
from partnerwell.healthcheck.qr import qr_svg
from partnerwell.meetings import access
from partnerwell.meetings import review as services
from partnerwell.meetings.forms_review import ReviewForm
from partnerwell.meetings.models import Meeting, ReviewInvitation
from partnerwell.meetings.views.meetings import show_refusal, user_of

# The session remembers which meetings this browser has answered through the shared link,
# to discourage repeats; personal links count once whatever the browser.
ANSWERED_KEY = "meeting_reviews_answered"


def _switch(
    request: HttpRequest, pk: int, change: Callable[..., Meeting], done: str
) -> HttpResponse:
    """Open or close a meeting's review (managers and chairs), then back to its page."""
    user = user_of(request)
    meeting = access.get_meeting(user, pk, manage=True)
    try:
        change(meeting=meeting, by=user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done)
    return redirect(meeting.get_absolute_url() + "#review")


@require_POST
@login_required
def open_review(request: HttpRequest, pk: int) -> HttpResponse:
    shared = request.POST.get("shared") == "on"

    def open_it(*, meeting: Meeting, by: User) -> Meeting:
        return services.review_open(meeting=meeting, by=by, shared=shared)

    done = "The review is open. Everyone recorded present is being sent a personal link" + (
        ", and the shared link and QR code work too." if shared else "."
    )
    return _switch(request, pk, open_it, done)


@require_POST
@login_required
def close_review(request: HttpRequest, pk: int) -> HttpResponse:
    return _switch(
        request,
        pk,
        services.review_close,
        "The review is closed. The link no longer takes answers.",
    )


def _link_problem(request: HttpRequest, message: str, status: int) -> HttpResponse:
    context = {"message": message}
    return render(request, "meetings/review/link_problem.html", context, status=status)


def _answered(request: HttpRequest, meeting: Meeting) -> bool:
    return meeting.pk in request.session.get(ANSWERED_KEY, [])


def respond_review(request: HttpRequest, token: str) -> HttpResponse:
    """The anonymous answer form, for anyone holding a personal link (or the shared link,
    when the chair has turned it on); no sign-in."""
    try:
        found = access.get_review_link(request, token)
    except TooManyAttempts:
        return _link_problem(
            request,
            "Too many wrong links have come from your connection. Wait 15 minutes, "
            "then scan the QR code or open the link again.",
            429,
        )
    if found is None:
        return _link_problem(
            request,
            "We do not know this link. Check that you copied or typed all of it, "
            "or scan the QR code again.",
            404,
        )
    invitation = found if isinstance(found, ReviewInvitation) else None
    meeting = found.meeting if isinstance(found, ReviewInvitation) else found
    if invitation is None and _answered(request, meeting):
        return render(request, "meetings/review/respond_done.html", {"meeting": meeting})
    refusal = _refusal(meeting, invitation)
    if refusal:
        return _link_problem(request, refusal, 410)
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.review_submit(meeting=meeting, invitation=invitation, **form.cleaned_data)
        except services.LinkUsed as exc:
            return _link_problem(request, " ".join(exc.messages), 410)
        except ValidationError as exc:
            show_refusal(form, exc)
        else:
            if invitation is not None:
                context = {"meeting": meeting, "personal": True}
                return render(request, "meetings/review/respond_done.html", context)
            answered = [*request.session.get(ANSWERED_KEY, []), meeting.pk]
            request.session[ANSWERED_KEY] = answered
            return redirect("meetings-respond-review", token)
    context = {
        "meeting": meeting,
        "form": form,
        "floor": services.FLOOR,
        "personal": invitation is not None,
    }
    return render(request, "meetings/review/respond.html", context)


def _refusal(meeting: Meeting, invitation: ReviewInvitation | None) -> str:
    """Why this link takes no answer now, in words for the person holding it; "" if it does."""
    if invitation is not None and invitation.answered:
        return "This link has been used: your answers have been sent. Thank you."
    if not meeting.review_open or meeting.is_cancelled:
        return (
            f"The review of “{meeting.title}” is closed, so it takes no more answers. "
            "Thank you all the same."
        )
    if invitation is None and not meeting.review_shared_link:
        return (
            f"The review of “{meeting.title}” takes answers only through the personal links "
            "emailed to the people who were there. Use the link in your email."
        )
    return ""


@login_required
def print_review_link(request: HttpRequest, pk: int) -> HttpResponse:
    """A page to print: the meeting's review link as a large QR code, for the table."""
    meeting = access.get_meeting(user_of(request), pk)
    link = services.review_link(meeting)
    context = {
        "partnership": meeting.partnership,
        "meeting": meeting,
        "link": link,
        "qr": qr_svg(link),
    }
    return render(request, "meetings/review/print_link.html", context)


@login_required
def view_review_results(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = access.get_meeting(user_of(request), pk)
    context = {
        "partnership": meeting.partnership,
        "meeting": meeting,
        "results": services.review_results(meeting),
        "questions": services.QUESTIONS,
    }
    return render(request, "meetings/review/view_results.html", context)


@login_required
def view_review_trend(request: HttpRequest, partnership_id: int) -> HttpResponse:
    partnership = core_access.get_partnership(user_of(request), partnership_id)
    rows = services.review_trend(partnership)
    context = {
        "partnership": partnership,
        "rows": rows,
        "chart": services.trend_chart(rows),
        "questions": services.QUESTIONS,
        "floor": services.FLOOR,
    }
    return render(request, "meetings/review/view_trend.html", context)


urlpatterns: list[URLPattern] = [
    path("meetings/<int:pk>/review/open/", open_review, name="meetings-open-review"),
    path("meetings/<int:pk>/review/close/", close_review, name="meetings-close-review"),
    path("meetings/<int:pk>/review/", view_review_results, name="meetings-view-review-results"),
    path("meetings/<int:pk>/review/print/", print_review_link, name="meetings-print-review-link"),
    path("meeting-review/<str:token>/", respond_review, name="meetings-respond-review"),
    path(
        "partnerships/<int:partnership_id>/meeting-reviews/",
        view_review_trend,
        name="meetings-view-review-trend",
    ),
]
