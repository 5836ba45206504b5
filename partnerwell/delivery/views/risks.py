"""Pages for the risk register, the issues log and wins."""

from __future__ import annotations

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
from partnerwell.delivery import access
from partnerwell.delivery import risks as services
from partnerwell.delivery.forms_risks import (
    EscalateForm,
    IssueForm,
    ResolveIssueForm,
    RiskFilterForm,
    RiskForm,
    RiskReviewForm,
    WinForm,
)
from partnerwell.delivery.models import Issue, IssueStatus, Win


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _form_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Show a service's refusal on the form, against the field it names where there is one."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


# Risks -----------------------------------------------------------------------------


@login_required
def list_risks(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = _user(request)
    partnership = core_access.get_partnership(user, partnership_id)
    shown = RiskFilterForm(request.GET).chosen()
    risks = services.register_risks(partnership)
    if shown != "all":
        risks = risks.filter(status=shown)
    today = timezone.localdate()
    grid = services.heat_map(partnership)
    context = {
        "partnership": partnership,
        "can_manage": core_access.can_manage(user, partnership),
        "rows": services.register_rows(risks, today),
        "shown": shown,
        "status_choices": [
            ("open", "Open risks"),
            ("closed", "Closed risks"),
            ("all", "All risks"),
        ],
        "counts": services.register_counts(partnership, today),
        "grid": grid,
        "heat_map": services.heat_map_svg(grid),
        "likelihood_words": services.LIKELIHOOD_WORDS,
    }
    return render(request, "delivery/risks/list_risks.html", context)


@login_required
def create_risk(request: HttpRequest, partnership_id: int) -> HttpResponse:
    partnership = core_access.get_partnership(_user(request), partnership_id, manage=True)
    form = RiskForm(request.POST or None, partnership=partnership)
    if request.method == "POST" and form.is_valid():
        risk = form.save(commit=False)
        risk.partnership = partnership
        try:
            services.risk_save(risk=risk)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"“{risk.title}” is on the risk register.")
            return redirect("delivery-view-risk", risk.pk)
    return render(
        request, "delivery/risks/risk_form.html", {"form": form, "partnership": partnership}
    )


@login_required
def view_risk(request: HttpRequest, risk_id: int) -> HttpResponse:
    user = _user(request)
    risk = access.get_risk(user, risk_id)
    manager = core_access.can_manage(user, risk.partnership)
    owner = risk.owner is not None and risk.owner.person_id == user.pk
    context = {
        "risk": risk,
        "partnership": risk.partnership,
        "can_manage": manager,
        "can_review": manager or owner,
        "band": services.rating_band(risk.rating),
        "target_band": services.rating_band(risk.target_rating),
        "actions": risk.actions.select_related("owner__person").order_by("due_date"),
    }
    return render(request, "delivery/risks/view_risk.html", context)


@login_required
def edit_risk(request: HttpRequest, risk_id: int) -> HttpResponse:
    risk = access.get_risk(_user(request), risk_id, manage=True)
    form = RiskForm(request.POST or None, instance=risk, partnership=risk.partnership)
    if request.method == "POST" and form.is_valid():
        try:
            services.risk_save(risk=form.save(commit=False))
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "The risk has been saved.")
            return redirect("delivery-view-risk", risk.pk)
    context = {"form": form, "partnership": risk.partnership, "risk": risk}
    return render(request, "delivery/risks/risk_form.html", context)


@login_required
def review_risk(request: HttpRequest, risk_id: int) -> HttpResponse:
    risk = services.get_risk_to_review(_user(request), risk_id)
    form = RiskReviewForm(request.POST or None, risk=risk)
    if request.method == "POST" and form.is_valid():
        try:
            services.risk_review(risk=risk, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "The review is recorded.")
            return redirect("delivery-view-risk", risk.pk)
    context = {"form": form, "partnership": risk.partnership, "risk": risk}
    return render(request, "delivery/risks/review_form.html", context)


@require_POST
@login_required
def escalate_risk(request: HttpRequest, risk_id: int) -> HttpResponse:
    risk = services.get_risk_to_review(_user(request), risk_id)
    form = EscalateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say whether to bring the risk to the next meeting.")
        return redirect("delivery-view-risk", risk.pk)
    try:
        services.risk_set_escalation(risk=risk, escalate=form.wanted())
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if risk.escalate:
            messages.success(request, "The risk will be brought to the next meeting.")
        else:
            messages.success(request, "The risk is no longer marked for the next meeting.")
    return redirect("delivery-view-risk", risk.pk)


@login_required
def export_risks(request: HttpRequest, partnership_id: int, fmt: str) -> HttpResponse:
    partnership = core_access.get_partnership(_user(request), partnership_id)
    stem = f"{partnership.name} risk register".replace('"', "")
    if fmt == "xlsx":
        response = HttpResponse(
            services.risks_xlsx(partnership),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        response = HttpResponse(
            services.risks_csv(partnership), content_type="text/csv; charset=utf-8"
        )
    response["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    return response


# Issues ----------------------------------------------------------------------------


@login_required
def list_issues(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = _user(request)
    partnership = core_access.get_partnership(user, partnership_id)
    issues = Issue.objects.filter(partnership=partnership).select_related("raised_by__person")
    context = {
        "partnership": partnership,
        "can_manage": core_access.can_manage(user, partnership),
        "open_issues": issues.filter(status=IssueStatus.OPEN).order_by("raised_on", "pk"),
        "resolved_issues": issues.filter(status=IssueStatus.RESOLVED).order_by(
            "-resolved_on", "-pk"
        ),
    }
    return render(request, "delivery/risks/list_issues.html", context)


@login_required
def raise_issue(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = _user(request)
    partnership = core_access.get_partnership(user, partnership_id)
    form = IssueForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        issue = services.issue_raise(partnership=partnership, by=user, **form.cleaned_data)
        messages.success(request, f"“{issue.title}” is on the issues log.")
        return redirect("delivery-list-issues", partnership.pk)
    return render(
        request, "delivery/risks/issue_form.html", {"form": form, "partnership": partnership}
    )


@login_required
def view_issue(request: HttpRequest, issue_id: int) -> HttpResponse:
    user = _user(request)
    issue = access.get_issue(user, issue_id)
    context = {
        "issue": issue,
        "partnership": issue.partnership,
        "can_manage": core_access.can_manage(user, issue.partnership),
        "raised_by": issue.raised_by and issue.raised_by.person,
        "actions": issue.actions.select_related("owner__person").order_by("due_date"),
    }
    return render(request, "delivery/risks/view_issue.html", context)


@login_required
def edit_issue(request: HttpRequest, issue_id: int) -> HttpResponse:
    issue = access.get_issue(_user(request), issue_id, manage=True)
    form = IssueForm(request.POST or None, instance=issue)
    if request.method == "POST" and form.is_valid():
        services.issue_save(issue=form.save(commit=False))
        messages.success(request, "The issue has been saved.")
        return redirect("delivery-view-issue", issue.pk)
    context = {"form": form, "partnership": issue.partnership, "issue": issue}
    return render(request, "delivery/risks/issue_form.html", context)


@login_required
def resolve_issue(request: HttpRequest, issue_id: int) -> HttpResponse:
    issue = access.get_issue(_user(request), issue_id, manage=True)
    form = ResolveIssueForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.issue_resolve(issue=issue, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"“{issue.title}” is resolved.")
            return redirect("delivery-view-issue", issue.pk)
    context = {"form": form, "partnership": issue.partnership, "issue": issue}
    return render(request, "delivery/risks/resolve_form.html", context)


@require_POST
@login_required
def reopen_issue(request: HttpRequest, issue_id: int) -> HttpResponse:
    issue = access.get_issue(_user(request), issue_id, manage=True)
    if issue.status == IssueStatus.RESOLVED:
        services.issue_reopen(issue=issue)
        messages.success(request, f"“{issue.title}” is open again.")
    return redirect("delivery-view-issue", issue.pk)


# Wins ------------------------------------------------------------------------------


@login_required
def list_wins(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = _user(request)
    partnership = core_access.get_partnership(user, partnership_id)
    context = {
        "partnership": partnership,
        "can_manage": core_access.can_manage(user, partnership),
        "wins": Win.objects.filter(partnership=partnership)
        .select_related("outcome", "recorded_by")
        .order_by("-won_on", "-pk"),
    }
    return render(request, "delivery/risks/list_wins.html", context)


@login_required
def record_win(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = _user(request)
    partnership = core_access.get_partnership(user, partnership_id)
    form = WinForm(request.POST or None, partnership=partnership)
    if request.method == "POST" and form.is_valid():
        try:
            win = services.win_record(partnership=partnership, by=user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"“{win.title}” is recorded as a win.")
            return redirect("delivery-list-wins", partnership.pk)
    return render(
        request, "delivery/risks/win_form.html", {"form": form, "partnership": partnership}
    )


@login_required
def edit_win(request: HttpRequest, win_id: int) -> HttpResponse:
    win = access.get_win(_user(request), win_id, manage=True)
    form = WinForm(request.POST or None, instance=win, partnership=win.partnership)
    if request.method == "POST" and form.is_valid():
        try:
            services.win_save(win=form.save(commit=False))
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "The win has been saved.")
            return redirect("delivery-list-wins", win.partnership_id)
    context = {"form": form, "partnership": win.partnership, "win": win}
    return render(request, "delivery/risks/win_form.html", context)


P = "partnerships/<int:partnership_id>"
urlpatterns: list[URLPattern] = [
    path(f"{P}/risks/", list_risks, name="delivery-list-risks"),
    path(f"{P}/risks/new/", create_risk, name="delivery-create-risk"),
    path(f"{P}/risks/export.csv", export_risks, {"fmt": "csv"}, name="delivery-export-risks-csv"),
    path(
        f"{P}/risks/export.xlsx", export_risks, {"fmt": "xlsx"}, name="delivery-export-risks-xlsx"
    ),
    path("risks/<int:risk_id>/", view_risk, name="delivery-view-risk"),
    path("risks/<int:risk_id>/edit/", edit_risk, name="delivery-edit-risk"),
    path("risks/<int:risk_id>/review/", review_risk, name="delivery-review-risk"),
    path("risks/<int:risk_id>/escalate/", escalate_risk, name="delivery-escalate-risk"),
    path(f"{P}/issues/", list_issues, name="delivery-list-issues"),
    path(f"{P}/issues/new/", raise_issue, name="delivery-raise-issue"),
    path("issues/<int:issue_id>/", view_issue, name="delivery-view-issue"),
    path("issues/<int:issue_id>/edit/", edit_issue, name="delivery-edit-issue"),
    path("issues/<int:issue_id>/resolve/", resolve_issue, name="delivery-resolve-issue"),
    path("issues/<int:issue_id>/reopen/", reopen_issue, name="delivery-reopen-issue"),
    path(f"{P}/wins/", list_wins, name="delivery-list-wins"),
    path(f"{P}/wins/new/", record_win, name="delivery-record-win"),
    path("wins/<int:win_id>/edit/", edit_win, name="delivery-edit-win"),
]
