"""Pages for a meeting's papers: publishing, the pack's build status and its downloads."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from partnerwell.meetings import access, papers
from partnerwell.meetings.models import PackStatus, PapersPack
from partnerwell.meetings.views.meetings import user_of


@require_POST
@login_required
def publish_papers(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    meeting = access.get_meeting(user, pk, manage=True)
    try:
        papers.pack_publish(meeting=meeting, by=user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            "Papers published. The pack is being built; members get an email with a link "
            "as soon as it is ready.",
        )
    return redirect(meeting.get_absolute_url() + "#papers")


@require_GET
@login_required
def view_pack_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The pack's status: the part htmx polls while it builds, or a page of its own."""
    user = user_of(request)
    meeting = access.get_meeting(user, pk)
    template = "meetings/pack/status.html"
    if request.headers.get("HX-Request"):
        template += "#status"
    context = {
        "meeting": meeting,
        "partnership": meeting.partnership,
        "papers": papers.meeting_section(meeting, user),
    }
    return render(request, template, context)


def _pdf_response(pack: PapersPack) -> FileResponse:
    if pack.status != PackStatus.READY or not pack.file:
        raise Http404("This papers pack is not ready.")
    try:
        handle = pack.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The file of this papers pack is missing.") from exc
    name = slugify(pack.meeting.title) or "meeting"
    response = FileResponse(
        handle,
        content_type="application/pdf",
        filename=f"{name}-papers-v{pack.version}.pdf",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@login_required
def download_pack(request: HttpRequest, pk: int) -> FileResponse:
    """The latest ready papers pack of a meeting."""
    meeting = access.get_meeting(user_of(request), pk)
    pack = papers.latest_ready_pack(meeting)
    if pack is None:
        raise Http404("This meeting has no papers pack ready yet.")
    return _pdf_response(pack)


@require_GET
@login_required
def download_pack_version(request: HttpRequest, pk: int) -> FileResponse:
    """One version of a papers pack, kept so people can see what was circulated when."""
    return _pdf_response(access.get_pack(user_of(request), pk))


urlpatterns: list[URLPattern] = [
    path("meetings/<int:pk>/papers/publish/", publish_papers, name="meetings-publish-papers"),
    path("meetings/<int:pk>/papers/status/", view_pack_status, name="meetings-view-pack-status"),
    path("meetings/<int:pk>/papers/pack.pdf", download_pack, name="meetings-download-pack"),
    path(
        "papers-packs/<int:pk>/download/",
        download_pack_version,
        name="meetings-download-pack-version",
    ),
]
