"""Pages for frameworks, rounds, answering by personal link, and results."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from partnerwell.core import access as core_access
from partnerwell.core.guessing import TooManyAttempts
from partnerwell.core.models import User
from partnerwell.healthcheck import access, services
from partnerwell.healthcheck.forms import (
    DONT_KNOW,
    AreaAnswersForm,
    DiscussForm,
    ImportFrameworkForm,
    OutlineFrameworkForm,
    RoundForm,
    outline_from,
)
from partnerwell.healthcheck.frameworks import FrameworkFileError, load_framework
from partnerwell.healthcheck.links import links_for
from partnerwell.healthcheck.models import DiscussionItem, Framework, Invitation, ResultsPdf, Round
from partnerwell.healthcheck.results import group_counts, round_results


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _latest_frameworks(user: User, partnership_id: int | None = None) -> Any:
    """The newest version of each framework the person may use."""
    frameworks = access.visible_frameworks(user)
    if partnership_id is not None:
        frameworks = frameworks.filter(
            Q(partnership__isnull=True) | Q(partnership_id=partnership_id)
        )
    newest: dict[tuple[str, str], int] = {}
    for f in frameworks.order_by("scope", "key", "-version"):
        newest.setdefault((f.scope, f.key), f.pk)
    return Framework.objects.filter(pk__in=newest.values()).order_by("-builtin", "title")


# Rounds --------------------------------------------------------------------------


@login_required
def list_rounds(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = _user(request)
    partnership = core_access.get_partnership(user, partnership_id)
    rounds = (
        Round.objects.filter(partnership=partnership)
        .select_related("framework")
        # Answers are held apart until a round is sealed, so the invitations give the count.
        .annotate(responded=Count("invitations", filter=Q(invitations__answered=True)))
        .order_by("-opens_at")
    )
    context = {
        "partnership": partnership,
        "rounds": rounds,
        "can_manage": core_access.can_manage(user, partnership),
        "frameworks": _latest_frameworks(user, partnership.pk),
    }
    return render(request, "healthcheck/list_rounds.html", context)


@login_required
def create_round(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = _user(request)
    partnership = core_access.get_partnership(user, partnership_id, manage=True)
    form = RoundForm(
        request.POST or None,
        partnership=partnership,
        frameworks=_latest_frameworks(user, partnership.pk),
        initial={"framework": request.GET.get("framework")},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        opens_at, closes_at = form.window()
        plan = services.RoundPlan(
            framework=data["framework"],
            title=data["title"],
            audience=data["audience"],
            opens_at=opens_at,
            closes_at=closes_at,
            anonymity_floor=data["anonymity_floor"],
            ask_comments=data["ask_comments"],
            reminder_days=tuple(int(d) for d in data["reminder_days"]),
            side=data.get("side"),
            chosen=tuple(m.pk for m in data.get("chosen") or ()),
        )
        try:
            round = services.round_open(by=user, partnership=partnership, plan=plan)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "The health check is open. Invitations are being sent.")
            return redirect("healthcheck-view-round", round.pk)
    return render(
        request, "healthcheck/round_form.html", {"form": form, "partnership": partnership}
    )


def _progress(round: Round) -> dict[str, Any]:
    """Response counts overall and per group, with small groups hidden."""
    responded = round.answered_count
    breakdowns = []
    # While open, a group's count rising by one would say which group just answered.
    shown = (("side", "Side"), ("sector", "Sector")) if access.results_visible(round) else ()
    # Per-group counts come from the sealed results, with the results' own groups and hiding.
    listed = group_counts(round) if shown else {}
    for by, label in shown:
        if by in listed:
            breakdowns.append({"label": label, "groups": listed[by]})
    return {
        "responded": responded,
        "invited": round.invited_count,
        "sent": round.sent_count,
        "breakdowns": breakdowns,
        "sending": round.sent_count < round.invited_count and round.status != "closed",
    }


@login_required
def view_round(request: HttpRequest, round_id: int) -> HttpResponse:
    user = _user(request)
    round = access.get_round(user, round_id)
    services.round_seal_due(round)
    context = {
        "round": round,
        "partnership": round.partnership,
        "can_manage": core_access.can_manage(user, round.partnership),
        "progress": _progress(round),
        "discussion": round.discussion_items.select_related("principle", "statement"),
    }
    return render(request, "healthcheck/view_round.html", context)


@login_required
def round_progress(request: HttpRequest, round_id: int) -> HttpResponse:
    """The progress panel alone, refreshed by the page while invitations go out."""
    round = access.get_round(_user(request), round_id)
    return render(
        request,
        "healthcheck/view_round.html#progress",
        {"round": round, "progress": _progress(round)},
    )


@require_POST
@login_required
def close_round(request: HttpRequest, round_id: int) -> HttpResponse:
    round = access.get_round(_user(request), round_id, manage=True)
    if services.round_close_early(round):
        messages.success(request, "The health check is closed. The links no longer work.")
    else:
        messages.error(
            request,
            f"This health check is not open (it is {round.status}), so it cannot be closed.",
        )
    return redirect("healthcheck-view-round", round.pk)


@require_POST
@login_required
def remind_round(request: HttpRequest, round_id: int) -> HttpResponse:
    from partnerwell.healthcheck.tasks import send_round_reminders

    round = access.get_round(_user(request), round_id, manage=True)
    if not round.is_open:
        messages.error(request, "Reminders go only while the health check is open.")
    else:
        send_round_reminders.enqueue(round_id=round.pk)
        messages.success(request, "Reminders are on their way to everyone who has not answered.")
    return redirect("healthcheck-view-round", round.pk)


@login_required
def print_links(request: HttpRequest, round_id: int) -> HttpResponse:
    """A sheet of personal links with QR codes, for members without email."""
    from partnerwell.healthcheck.qr import qr_svg

    round = access.get_round(_user(request), round_id, manage=True)
    invitations = (
        round.invitations.filter(answered=False)
        .select_related("membership__person", "membership__organisation")
        .order_by("membership__person__name")
    )
    base = request.build_absolute_uri("/").rstrip("/")
    sheet = [
        {
            "invitation": i,
            "url": base + i.get_absolute_url(),
            "qr": qr_svg(base + i.get_absolute_url()),
        }
        for i in invitations
    ]
    return render(
        request,
        "healthcheck/print_links.html",
        {"round": round, "partnership": round.partnership, "sheet": sheet},
    )


# Results -------------------------------------------------------------------------

_PENDING = _(
    "The results appear when the health check closes, for everyone, managers included. "
    "Come back then to download them or mark items to discuss."
)


def _results_context(request: HttpRequest, round_id: int) -> dict[str, Any]:
    user = _user(request)
    round = access.get_round(user, round_id)
    results = round_results(round)
    marked = {(d.principle_id, d.statement_id): d for d in round.discussion_items.all()}
    manager = core_access.can_manage(user, round.partnership)
    evidence: dict[str, list[dict[str, Any]]] = {}
    for row in results["evidence"]:
        evidence.setdefault(row["principle"], []).append(row)
    for area in results["areas"]:
        for principle in area["principles"]:
            principle["links"] = links_for(round, principle, None, manager)
            principle["evidence"] = evidence.get(principle["key"], [])
            for statement in principle["statements"]:
                statement["links"] = links_for(round, principle, statement, manager)
        area["chart_rows"] = [
            {"label": p["title"], "score": p["score"], "band": p["band"], "disputed": p["disputed"]}
            for p in area["principles"]
        ]
    changes = {c["key"]: c for c in results["change"]["principles"]}
    breakdowns = []
    for by, label in (("side", "side"), ("sector", "sector"), ("organisation", "organisation")):
        groups = [g for g in results["groups"] if g["by"] == by]
        if groups:
            breakdowns.append({"by": by, "label": label, "groups": groups})
    return {
        "round": round,
        "partnership": round.partnership,
        "results": results,
        "can_manage": manager,
        "blind_spots": [r for r in results["evidence"] if r["flag"]],
        "marked_principles": {d.principle_id for d in marked.values() if d.statement_id is None},
        "marked_statements": {d.statement_id for d in marked.values() if d.statement_id},
        "changes": changes,
        "breakdowns": breakdowns,
        "principle_titles": {
            p["key"]: p["title"] for a in results["areas"] for p in a["principles"]
        },
    }


@login_required
def view_results(request: HttpRequest, round_id: int) -> HttpResponse:
    return render(request, "healthcheck/view_results.html", _results_context(request, round_id))


@login_required
def print_results(request: HttpRequest, round_id: int) -> HttpResponse:
    context = _results_context(request, round_id)
    context["partnership"] = context["round"].partnership
    return render(request, "healthcheck/results_print.html", context)


@login_required
def export_results_xlsx(request: HttpRequest, round_id: int) -> HttpResponse:
    from partnerwell.healthcheck.exports import results_xlsx

    context = _results_context(request, round_id)
    round = context["round"]
    if context["results"]["pending"]:
        messages.error(request, _PENDING)
        return redirect("healthcheck-view-results", round.pk)
    response = HttpResponse(
        results_xlsx(context["results"], partnership_name=round.partnership.name),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="health-check-{round.pk}.xlsx"'
    return response


@require_POST
@login_required
def mark_discuss(request: HttpRequest, round_id: int) -> HttpResponse:
    user = _user(request)
    round = access.get_round(user, round_id)
    if not access.results_visible(round):
        messages.error(request, _PENDING)
        return redirect("healthcheck-view-results", round.pk)
    form = DiscussForm(request.POST)
    if form.is_valid():
        principle = round.framework.principles.filter(pk=form.cleaned_data["principle"]).first()
        statement_id = form.cleaned_data.get("statement")
        statement = (
            principle.statements.filter(pk=statement_id).first()
            if principle and statement_id
            else None
        )
        if principle is not None and (statement_id is None or statement is not None):
            DiscussionItem.objects.get_or_create(
                round=round,
                principle=principle,
                statement=statement,
                defaults={"marked_by": user, "note": form.cleaned_data.get("note") or ""},
            )
            messages.success(request, "Added to the list to discuss at the next meeting.")
            return redirect(
                reverse("healthcheck-view-results", args=[round.pk]) + f"#p-{principle.key}"
            )
    messages.error(request, "That item is not part of this health check.")
    return redirect("healthcheck-view-results", round.pk)


@require_POST
@login_required
def unmark_discuss(request: HttpRequest, round_id: int, item_id: int) -> HttpResponse:
    user = _user(request)
    round = access.get_round(user, round_id)
    item = access.get_discussion_item(user, round, item_id)
    if item.marked_by_id != user.pk and not core_access.can_manage(user, round.partnership):
        messages.error(
            request, "Only the person who added it or a manager can take it off the list."
        )
    else:
        item.delete()
        messages.success(request, "Taken off the list to discuss.")
    return redirect("healthcheck-view-round", round.pk)


def how_to_read(request: HttpRequest) -> HttpResponse:
    return render(request, "healthcheck/how_to_read.html")


# Responding by personal link -----------------------------------------------------


def _invitation_or_problem(request: HttpRequest, token: str) -> Invitation | HttpResponse:
    try:
        invitation = access.get_invitation(request, token)
    except TooManyAttempts:
        return render(
            request,
            "healthcheck/link_problem.html",
            {
                "message": "Too many wrong links have come from your connection. Wait 15 minutes, "
                "then open the link from your email again.",
            },
            status=429,
        )
    try:
        return services.invitation_check(invitation)
    except services.InvitationProblem as problem:
        status = 404 if invitation is None else 410
        return render(
            request, "healthcheck/link_problem.html", {"message": str(problem)}, status=status
        )


def _areas(invitation: Invitation) -> list[Any]:
    return list(invitation.round.framework.areas.prefetch_related("principles__statements"))


def _area_statements(area: Any) -> list[Any]:
    return [s for p in area.principles.all() for s in p.statements.all()]


def _draft_initial(invitation: Invitation, area: Any) -> dict[str, Any]:
    answers = invitation.draft.get("answers", {})
    initial = {
        s.key: (DONT_KNOW if answers[s.key] is None else str(answers[s.key]))
        for s in _area_statements(area)
        if s.key in answers
    }
    initial["comment"] = invitation.draft.get("comments", {}).get(area.key, "")
    return initial


def respond(request: HttpRequest, token: str, step: int = 0) -> HttpResponse:
    """The answer form: an introduction, one page per area, then a check page."""
    found = _invitation_or_problem(request, token)
    if isinstance(found, HttpResponse):
        return found
    invitation = found
    areas = _areas(invitation)
    round = invitation.round
    if step == 0:
        return render(
            request,
            "healthcheck/respond_start.html",
            {"invitation": invitation, "round": round, "areas": areas, "token": token},
        )
    if step > len(areas):
        return redirect("healthcheck-respond-check", token)
    area = areas[step - 1]
    form = AreaAnswersForm(
        request.POST or None,
        statements=_area_statements(area),
        ask_comment=round.ask_comments,
        initial=_draft_initial(invitation, area),
    )
    if request.method == "POST":
        services.draft_save(invitation=invitation, area_key=area.key, form=form)
        if form.is_valid():
            target = step + 1
            if request.POST.get("go") == "check" or target > len(areas):
                return redirect("healthcheck-respond-check", token)
            return redirect("healthcheck-respond-step", token, target)
    context = {
        "invitation": invitation,
        "round": round,
        "area": area,
        "form": form,
        "step": step,
        "steps": len(areas),
        "token": token,
    }
    return render(request, "healthcheck/respond_area.html", context)


def respond_check(request: HttpRequest, token: str) -> HttpResponse:
    found = _invitation_or_problem(request, token)
    if isinstance(found, HttpResponse):
        return found
    invitation = found
    areas = _areas(invitation)
    summary, missing = services.draft_summary(invitation=invitation, areas=areas)
    if request.method == "POST":
        if missing:
            messages.error(
                request, "Some statements have no answer yet; answer them or choose “Don't know”."
            )
        else:
            try:
                services.response_submit(
                    invitation=invitation,
                    answers=invitation.draft.get("answers", {}),
                    comments=invitation.draft.get("comments", {}),
                )
            except services.InvitationProblem as problem:
                return render(
                    request, "healthcheck/link_problem.html", {"message": str(problem)}, status=410
                )
            return redirect("healthcheck-respond-done")
    context = {
        "invitation": invitation,
        "round": invitation.round,
        "summary": summary,
        "missing": missing,
        "token": token,
        "steps": len(areas),
    }
    return render(request, "healthcheck/respond_check.html", context)


def respond_done(request: HttpRequest) -> HttpResponse:
    return render(request, "healthcheck/respond_done.html")


# Frameworks ----------------------------------------------------------------------


@login_required
def list_frameworks(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    context = {
        "frameworks": _latest_frameworks(user)
        .select_related("partnership")
        .annotate(statement_count=Count("statements")),
        "managed": core_access.managed_partnerships(user),
    }
    return render(request, "healthcheck/list_frameworks.html", context)


@login_required
def view_framework(request: HttpRequest, framework_id: int) -> HttpResponse:
    user = _user(request)
    framework = access.get_framework(user, framework_id)
    versions = access.visible_frameworks(user).filter(scope=framework.scope, key=framework.key)
    can_edit = framework.partnership is not None and core_access.can_manage(
        user, framework.partnership
    )
    context = {
        "framework": framework,
        "areas": framework.areas.prefetch_related("principles__statements"),
        "versions": versions.order_by("-version"),
        "can_edit": can_edit,
    }
    return render(request, "healthcheck/view_framework.html", context)


@login_required
def export_framework(request: HttpRequest, framework_id: int) -> HttpResponse:
    framework = access.get_framework(_user(request), framework_id)
    response = HttpResponse(
        services.framework_export(framework), content_type="application/yaml; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{framework.key}-v{framework.version}.yaml"'
    )
    return response


@login_required
def create_framework(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = _user(request)
    partnership = core_access.get_partnership(user, partnership_id, manage=True)
    form = OutlineFrameworkForm(request.POST or None)
    scope = services.scope_for(partnership)
    # The key comes from the title; saving under a key in use would replace that framework.
    if (
        request.method == "POST"
        and form.is_valid()
        and Framework.objects.filter(scope=scope, key=form.cleaned_data["spec"].key).exists()
    ):
        form.add_error(
            "title",
            "Your partnership already has a framework with this title. Choose another "
            "title, or change the existing framework instead.",
        )
    if request.method == "POST" and form.is_valid():
        framework = services.framework_store(
            spec=form.cleaned_data["spec"],
            document=form.cleaned_data["document"],
            partnership=partnership,
            by=user,
        )
        messages.success(
            request, f"“{framework.title}” is saved. You can use it in a health check now."
        )
        return redirect("healthcheck-view-framework", framework.pk)
    return render(
        request, "healthcheck/framework_form.html", {"form": form, "partnership": partnership}
    )


@login_required
def edit_framework(request: HttpRequest, framework_id: int) -> HttpResponse:
    user = _user(request)
    framework = access.get_framework(user, framework_id)
    if framework.partnership is None:
        messages.error(
            request, "Built-in frameworks cannot be changed; export one and import it as your own."
        )
        return redirect("healthcheck-view-framework", framework.pk)
    core_access.get_partnership(user, framework.partnership.pk, manage=True)
    initial = {
        "title": framework.title,
        "description": framework.description,
        "source": framework.source,
        "outline": outline_from(framework),
        "scale": framework.statements.values_list("scale", flat=True).first(),
    }
    form = OutlineFrameworkForm(request.POST or None, initial=initial, key=framework.key)
    if request.method == "POST" and form.is_valid():
        saved = services.framework_store(
            spec=form.cleaned_data["spec"],
            document=form.cleaned_data["document"],
            partnership=framework.partnership,
            by=user,
        )
        note = (
            " as a new version, because a health check used the old one"
            if saved.pk != framework.pk
            else ""
        )
        messages.success(request, f"“{saved.title}” is saved{note}.")
        return redirect("healthcheck-view-framework", saved.pk)
    context = {"form": form, "partnership": framework.partnership, "framework": framework}
    return render(request, "healthcheck/framework_form.html", context)


@login_required
def import_framework(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = _user(request)
    partnership = core_access.get_partnership(user, partnership_id, manage=True)
    form = ImportFrameworkForm(request.POST or None, request.FILES or None)
    errors: list[Any] = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = upload.read()
        try:
            spec = load_framework(data, filename=upload.name)
        except FrameworkFileError as exc:
            errors = exc.errors
        else:
            framework = services.framework_store(
                spec=spec,
                document=data.decode("utf-8").removeprefix("\ufeff"),
                partnership=partnership,
                by=user,
            )
            messages.success(
                request, f"“{framework.title}” (version {framework.version}) is imported."
            )
            return redirect("healthcheck-view-framework", framework.pk)
    context = {"form": form, "partnership": partnership, "file_errors": errors}
    return render(request, "healthcheck/import_framework.html", context)


# PDF of the results, built by the worker ------------------------------------------


@require_POST
@login_required
def request_results_pdf(request: HttpRequest, round_id: int) -> HttpResponse:
    from partnerwell.healthcheck.tasks import build_results_pdf

    user = _user(request)
    round = access.get_round(user, round_id)
    if not access.results_visible(round):
        messages.error(request, _PENDING)
        return redirect("healthcheck-view-results", round.pk)
    export = ResultsPdf.objects.create(round=round, requested_by=user)
    transaction.on_commit(lambda: build_results_pdf.enqueue(pdf_id=export.pk))
    return redirect("healthcheck-view-results-pdf", round.pk, export.pk)


@login_required
def view_results_pdf(request: HttpRequest, round_id: int, pdf_id: int) -> HttpResponse:
    user = _user(request)
    round = access.get_round(user, round_id)
    export = access.get_results_pdf(user, round, pdf_id)
    template = "healthcheck/results_pdf.html"
    if request.headers.get("HX-Request"):
        template += "#status"
    return render(
        request, template, {"round": round, "partnership": round.partnership, "export": export}
    )


@login_required
def download_results_pdf(request: HttpRequest, round_id: int, pdf_id: int) -> HttpResponse:
    user = _user(request)
    round = access.get_round(user, round_id)
    export = access.get_results_pdf(user, round, pdf_id)
    if not export.ready:
        return redirect("healthcheck-view-results-pdf", round.pk, export.pk)
    response = HttpResponse(bytes(export.pdf or b""), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="health-check-{round.pk}.pdf"'
    return response
