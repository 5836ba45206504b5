"""Pages for outcomes and their measures, targets and data."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_POST

from partnerwell.core import access as core_access
from partnerwell.core.imports import ImportFileError, read_table
from partnerwell.core.models import User
from partnerwell.delivery import access
from partnerwell.delivery import measures as services
from partnerwell.delivery.forms_outcomes import (
    DataImportForm,
    DataPointForm,
    MeasureForm,
    OutcomeForm,
    TargetForm,
)
from partnerwell.delivery.measure_charts import trend_chart
from partnerwell.delivery.models import Measure, Outcome


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _measure_rows(measures: list[Measure]) -> list[dict[str, Any]]:
    """Each measure from :func:`services.with_latest` with its status and next target."""
    today = timezone.localdate()
    rows = []
    for m in measures:
        target = services.next_target(m.targets.all(), getattr(m, "latest_on", None) or today)
        rows.append(
            {
                "measure": m,
                "status": services.status_for(m),
                "target": target,
                "latest_text": services.fmt_measured(getattr(m, "latest_value", None), m.unit),
                "target_text": services.fmt_measured(target.value if target else None, m.unit),
            }
        )
    return rows


@login_required
def list_outcomes(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = _user(request)
    partnership = core_access.get_partnership(user, partnership_id)
    measures = services.with_latest(Measure.objects.order_by("title", "pk"))
    outcomes = Outcome.objects.filter(partnership=partnership).select_related("priority")
    rows = []
    statuses: list[str | None] = []
    for outcome in outcomes.prefetch_related(Prefetch("measures", queryset=measures)):
        measure_rows = _measure_rows(list(outcome.measures.all()))
        rows.append({"outcome": outcome, "measures": measure_rows})
        statuses += [r["status"].status if r["status"] else None for r in measure_rows]
    context = {
        "partnership": partnership,
        "outcomes": rows,
        "counts": {key: statuses.count(key) for key in (*services.STATUS_LABELS, None)},
        "can_manage": core_access.can_manage(user, partnership),
    }
    return render(request, "delivery/outcomes/list_outcomes.html", context)


@login_required
def create_outcome(request: HttpRequest, partnership_id: int) -> HttpResponse:
    user = _user(request)
    partnership = core_access.get_partnership(user, partnership_id, manage=True)
    initial = {"priority": request.GET.get("priority")} if request.GET.get("priority") else {}
    form = OutcomeForm(request.POST or None, partnership=partnership, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        outcome = services.outcome_create(
            partnership=partnership,
            title=data["title"],
            for_whom=data["for_whom"],
            description=data["description"],
            priority_id=data["priority"].pk if data["priority"] else None,
        )
        messages.success(request, "The outcome is added. Now add the measures that show it.")
        return redirect("delivery-view-outcome", outcome.pk)
    context = {"form": form, "partnership": partnership}
    return render(request, "delivery/outcomes/outcome_form.html", context)


@login_required
def view_outcome(request: HttpRequest, outcome_id: int) -> HttpResponse:
    user = _user(request)
    outcome = access.get_outcome(user, outcome_id)
    measures = services.with_latest(outcome.measures.order_by("title", "pk"))
    context = {
        "outcome": outcome,
        "partnership": outcome.partnership,
        "priority": outcome.priority,
        "measures": _measure_rows(list(measures)),
        "can_manage": core_access.can_manage(user, outcome.partnership),
    }
    return render(request, "delivery/outcomes/view_outcome.html", context)


@login_required
def edit_outcome(request: HttpRequest, outcome_id: int) -> HttpResponse:
    outcome = access.get_outcome(_user(request), outcome_id, manage=True)
    form = OutcomeForm(request.POST or None, instance=outcome, partnership=outcome.partnership)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "The outcome has been saved.")
        return redirect("delivery-view-outcome", outcome.pk)
    context = {"form": form, "partnership": outcome.partnership, "outcome": outcome}
    return render(request, "delivery/outcomes/outcome_form.html", context)


@require_POST
@login_required
def delete_outcome(request: HttpRequest, outcome_id: int) -> HttpResponse:
    outcome = access.get_outcome(_user(request), outcome_id, manage=True)
    partnership_id = outcome.partnership_id
    outcome.delete()
    messages.success(request, f"“{outcome.title}” and its measures are deleted.")
    return redirect("delivery-list-outcomes", partnership_id)


# Measures ---------------------------------------------------------------------------------


@login_required
def create_measure(request: HttpRequest, outcome_id: int) -> HttpResponse:
    outcome = access.get_outcome(_user(request), outcome_id, manage=True)
    form = MeasureForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        measure = services.measure_create(outcome=outcome, **form.cleaned_data)
        messages.success(request, "The measure is added. Now give it targets and values.")
        return redirect("delivery-view-measure", measure.pk)
    context = {"form": form, "partnership": outcome.partnership, "outcome": outcome}
    return render(request, "delivery/outcomes/measure_form.html", context)


def _measure_context(
    user: User,
    measure: Measure,
    target_form: TargetForm | None = None,
    point_form: DataPointForm | None = None,
) -> dict[str, Any]:
    points = list(measure.data_points.all())
    targets = list(measure.targets.all())
    latest = (points[-1].period_end, points[-1].value) if points else None
    baseline = (
        (measure.baseline_on, measure.baseline_value)
        if measure.baseline_on and measure.baseline_value is not None
        else None
    )
    chart = trend_chart(
        [(p.period_end, p.value) for p in points],
        [(t.target_on, t.value) for t in targets],
        title=f"{measure.title}: values over time and targets",
        chart_id=f"measure-{measure.pk}",
        unit=measure.unit,
        baseline=baseline,
    )
    return {
        "measure": measure,
        "outcome": measure.outcome,
        "partnership": measure.partnership,
        "points": [(p, services.fmt_value(p.value)) for p in points],
        "targets": [(t, services.fmt_measured(t.value, measure.unit)) for t in targets],
        "baseline_text": services.fmt_measured(measure.baseline_value, measure.unit),
        "chart": chart,
        "status": services.status_for(measure, latest),
        "missing": services.status_missing(
            has_baseline=baseline is not None,
            targets=[(t.target_on, t.value) for t in targets],
            baseline_on=measure.baseline_on,
            has_data=bool(points),
        ),
        "rule": services.STATUS_RULE,
        "actions": measure.actions.select_related("owner__person", "organisation"),
        "can_manage": core_access.can_manage(user, measure.partnership),
        "target_form": target_form or TargetForm(measure=measure),
        "point_form": point_form or DataPointForm(),
    }


@login_required
def view_measure(request: HttpRequest, measure_id: int) -> HttpResponse:
    user = _user(request)
    measure = access.get_measure(user, measure_id)
    return render(request, "delivery/outcomes/view_measure.html", _measure_context(user, measure))


@login_required
def edit_measure(request: HttpRequest, measure_id: int) -> HttpResponse:
    measure = access.get_measure(_user(request), measure_id, manage=True)
    form = MeasureForm(request.POST or None, instance=measure)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "The measure has been saved.")
        return redirect("delivery-view-measure", measure.pk)
    context = {"form": form, "partnership": measure.partnership, "outcome": measure.outcome}
    return render(request, "delivery/outcomes/measure_form.html", {**context, "measure": measure})


@require_POST
@login_required
def delete_measure(request: HttpRequest, measure_id: int) -> HttpResponse:
    measure = access.get_measure(_user(request), measure_id, manage=True)
    measure.delete()
    messages.success(request, f"“{measure.title}” and its values are deleted.")
    return redirect("delivery-view-outcome", measure.outcome_id)


@require_POST
@login_required
def add_target(request: HttpRequest, measure_id: int) -> HttpResponse:
    user = _user(request)
    measure = access.get_measure(user, measure_id, manage=True)
    form = TargetForm(request.POST, measure=measure)
    if not form.is_valid():
        context = _measure_context(user, measure, target_form=form)
        return render(request, "delivery/outcomes/view_measure.html", context)
    _, created = services.target_set(measure=measure, **form.cleaned_data)
    verb = "added" if created else "changed"
    messages.success(
        request, f"The target for {form.cleaned_data['target_on']:%d %B %Y} is {verb}."
    )
    return redirect("delivery-view-measure", measure.pk)


@require_POST
@login_required
def delete_target(request: HttpRequest, measure_id: int, target_id: int) -> HttpResponse:
    measure = access.get_measure(_user(request), measure_id, manage=True)
    get_object_or_404(measure.targets, pk=target_id).delete()
    messages.success(request, "The target is deleted.")
    return redirect("delivery-view-measure", measure.pk)


@require_POST
@login_required
def add_data_point(request: HttpRequest, measure_id: int) -> HttpResponse:
    user = _user(request)
    measure = access.get_measure(user, measure_id, manage=True)
    form = DataPointForm(request.POST)
    if not form.is_valid():
        context = _measure_context(user, measure, point_form=form)
        return render(request, "delivery/outcomes/view_measure.html", context)
    _, created = services.data_point_record(measure=measure, by=user, **form.cleaned_data)
    day = form.cleaned_data["period_end"]
    messages.success(
        request,
        f"The value for the period to {day:%d %B %Y} is {'added' if created else 'updated'}.",
    )
    return redirect("delivery-view-measure", measure.pk)


@require_POST
@login_required
def delete_data_point(request: HttpRequest, measure_id: int, point_id: int) -> HttpResponse:
    measure = access.get_measure(_user(request), measure_id, manage=True)
    get_object_or_404(measure.data_points, pk=point_id).delete()
    messages.success(request, "The value is deleted.")
    return redirect("delivery-view-measure", measure.pk)


@login_required
def import_data_points(request: HttpRequest, measure_id: int) -> HttpResponse:
    user = _user(request)
    measure = access.get_measure(user, measure_id, manage=True)
    form = DataImportForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"form": form, "measure": measure, "partnership": measure.partnership}
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            rows, errors = services.data_points_check(read_table(upload.read(), upload.name))
        except ImportFileError as exc:
            form.add_error("file", str(exc))
            return render(request, "delivery/outcomes/import_data_points.html", context)
        if errors:
            context.update(row_errors=errors, good_count=len(rows), filename=upload.name)
            return render(request, "delivery/outcomes/import_data_points.html", context)
        summary = services.data_points_import(measure=measure, rows=rows, by=user)
        messages.success(
            request,
            f"Imported {upload.name}: {summary.added} value{'s' if summary.added != 1 else ''} "
            f"added, {summary.updated} updated.",
        )
        return redirect("delivery-view-measure", measure.pk)
    return render(request, "delivery/outcomes/import_data_points.html", context)


@login_required
def export_measures(request: HttpRequest, partnership_id: int, fmt: str) -> HttpResponse:
    partnership = core_access.get_partnership(_user(request), partnership_id)
    header, rows = services.measure_rows(partnership)
    stem = f"{partnership.name} measures".replace('"', "")
    if fmt == "xlsx":
        response = HttpResponse(
            services.rows_xlsx("Measures", header, rows),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        response = HttpResponse(
            services.rows_csv(header, rows), content_type="text/csv; charset=utf-8"
        )
    response["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    return response


urlpatterns: list[URLPattern] = [
    path(
        "partnerships/<int:partnership_id>/outcomes/", list_outcomes, name="delivery-list-outcomes"
    ),
    path(
        "partnerships/<int:partnership_id>/outcomes/new/",
        create_outcome,
        name="delivery-create-outcome",
    ),
    path(
        "partnerships/<int:partnership_id>/measures/export.csv",
        export_measures,
        {"fmt": "csv"},
        name="delivery-export-measures-csv",
    ),
    path(
        "partnerships/<int:partnership_id>/measures/export.xlsx",
        export_measures,
        {"fmt": "xlsx"},
        name="delivery-export-measures-xlsx",
    ),
    path("outcomes/<int:outcome_id>/", view_outcome, name="delivery-view-outcome"),
    path("outcomes/<int:outcome_id>/edit/", edit_outcome, name="delivery-edit-outcome"),
    path("outcomes/<int:outcome_id>/delete/", delete_outcome, name="delivery-delete-outcome"),
    path("outcomes/<int:outcome_id>/measures/new/", create_measure, name="delivery-create-measure"),
    path("measures/<int:measure_id>/", view_measure, name="delivery-view-measure"),
    path("measures/<int:measure_id>/edit/", edit_measure, name="delivery-edit-measure"),
    path("measures/<int:measure_id>/delete/", delete_measure, name="delivery-delete-measure"),
    path("measures/<int:measure_id>/targets/", add_target, name="delivery-add-target"),
    path(
        "measures/<int:measure_id>/targets/<int:target_id>/delete/",
        delete_target,
        name="delivery-delete-target",
    ),
    path("measures/<int:measure_id>/values/", add_data_point, name="delivery-add-data-point"),
    path(
        "measures/<int:measure_id>/values/<int:point_id>/delete/",
        delete_data_point,
        name="delivery-delete-data-point",
    ),
    path(
        "measures/<int:measure_id>/values/import/",
        import_data_points,
        name="delivery-import-data-points",
    ),
]
