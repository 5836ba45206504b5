"""API for outcomes, measures, targets and data points, with the same access rules as the pages."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import AfterValidator

from partnerwell.api.core import Input, Name, Pagination
from partnerwell.api.priorities import Day, Description
from partnerwell.core import access as core_access
from partnerwell.core.imports import MAX_ROWS
from partnerwell.core.models import Partnership, User
from partnerwell.delivery import access
from partnerwell.delivery import measures as services
from partnerwell.delivery.models import (
    DataPoint,
    Direction,
    Measure,
    MeasureKind,
    Outcome,
    Priority,
    Target,
)

router = Router(tags=["outcomes and measures"])


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _value(value: float) -> float:
    if problem := services.value_problem(value):
        raise ValueError(problem)
    return value


Value = Annotated[float, Field(allow_inf_nan=False), AfterValidator(_value)]


class Message(Schema):
    message: str


# Outcomes ---------------------------------------------------------------------------------


class OutcomeOut(Schema):
    id: int
    partnership_id: int
    title: str
    for_whom: str
    description: str
    priority_id: int | None


class OutcomeIn(Input):
    title: Name
    for_whom: str = Field(default="", max_length=200)
    description: Description = ""
    priority_id: int | None = Field(default=None, description="A priority of the partnership.")


class OutcomePatch(Input):
    title: Name | None = None
    for_whom: str | None = Field(default=None, max_length=200)
    description: Description | None = None
    priority_id: int | None = Field(default=None, description="null to unlink the priority.")


def _priority_id(partnership: Partnership, priority_id: int | None) -> int | None:
    if priority_id is None:
        return None
    if not Priority.objects.filter(partnership=partnership, pk=priority_id).exists():
        raise ValidationError({"priority_id": "No priority of this partnership has that id."})
    return priority_id


@router.get("/partnerships/{partnership_id}/outcomes", response=list[OutcomeOut])
@paginate(Pagination)
def list_outcomes(request: HttpRequest, partnership_id: int) -> QuerySet[Outcome]:
    partnership = core_access.get_partnership(_user(request), partnership_id)
    return Outcome.objects.filter(partnership=partnership).order_by("title", "pk")


@router.post("/partnerships/{partnership_id}/outcomes", response={201: OutcomeOut})
def create_outcome(
    request: HttpRequest, partnership_id: int, payload: OutcomeIn
) -> Status[Outcome]:
    partnership = core_access.get_partnership(_user(request), partnership_id, manage=True)
    outcome = services.outcome_create(
        partnership=partnership,
        title=payload.title,
        for_whom=payload.for_whom.strip(),
        description=payload.description,
        priority_id=_priority_id(partnership, payload.priority_id),
    )
    return Status(201, outcome)


@router.get("/outcomes/{outcome_id}", response=OutcomeOut)
def get_outcome(request: HttpRequest, outcome_id: int) -> Outcome:
    return access.get_outcome(_user(request), outcome_id)


@router.patch("/outcomes/{outcome_id}", response=OutcomeOut)
def update_outcome(request: HttpRequest, outcome_id: int, payload: OutcomePatch) -> Outcome:
    outcome = access.get_outcome(_user(request), outcome_id, manage=True)
    data = payload.dict(exclude_unset=True)
    if "priority_id" in data:
        outcome.priority_id = _priority_id(outcome.partnership, data.pop("priority_id"))
    for field, value in data.items():
        if value is not None:
            setattr(outcome, field, value)
    outcome.full_clean()
    outcome.save()
    return outcome


@router.delete("/outcomes/{outcome_id}", response=Message)
def delete_outcome(request: HttpRequest, outcome_id: int) -> dict[str, str]:
    """Delete an outcome with its measures, targets and data points."""
    outcome = access.get_outcome(_user(request), outcome_id, manage=True)
    outcome.delete()
    return {"message": "The outcome and its measures are deleted."}


# Measures ---------------------------------------------------------------------------------


class LatestOut(Schema):
    period_end: dt.date
    value: float


class TargetOut(Schema):
    id: int
    measure_id: int
    target_on: dt.date
    value: float


class MeasureOut(Schema):
    id: int
    partnership_id: int
    outcome_id: int
    title: str
    kind: MeasureKind
    unit: str
    direction: Direction
    baseline_value: float | None
    baseline_on: dt.date | None
    frequency_days: int
    latest: LatestOut | None
    next_target: TargetOut | None
    status: str | None = Field(description="on_track, at_risk, off_track, or null.")
    status_rule: str = services.STATUS_RULE

    @staticmethod
    def resolve_latest(obj: Measure) -> dict[str, Any] | None:
        latest_on = getattr(obj, "latest_on", None)
        if latest_on is None:
            return None
        return {"period_end": latest_on, "value": getattr(obj, "latest_value", None)}

    @staticmethod
    def resolve_next_target(obj: Measure) -> Target | None:
        on = getattr(obj, "latest_on", None) or timezone.localdate()
        return services.next_target(obj.targets.all(), on)

    @staticmethod
    def resolve_status(obj: Measure) -> str | None:
        status = services.status_for(obj)
        return status.status if status else None


class MeasureIn(Input):
    title: Name
    kind: MeasureKind
    unit: str = Field(default="", max_length=40)
    direction: Direction = Direction.HIGHER
    baseline_value: Value | None = None
    baseline_on: Day | None = None
    frequency_days: int = Field(default=92, ge=1, le=3660)


class MeasurePatch(Input):
    title: Name | None = None
    kind: MeasureKind | None = None
    unit: str | None = Field(default=None, max_length=40)
    direction: Direction | None = None
    baseline_value: Value | None = Field(default=None, description="null clears the baseline.")
    baseline_on: Day | None = None
    frequency_days: int | None = Field(default=None, ge=1, le=3660)


def _check_baseline(measure: Measure) -> None:
    has_value, has_date = measure.baseline_value is not None, measure.baseline_on is not None
    if has_value and not has_date:
        raise ValidationError({"baseline_on": "Give the date of the baseline value."})
    if has_date and not has_value:
        raise ValidationError({"baseline_value": "Give the baseline value for its date."})


def _with_latest(measure: Measure) -> Measure:
    return services.with_latest(Measure.objects.filter(pk=measure.pk)).get()


@router.get("/partnerships/{partnership_id}/measures", response=list[MeasureOut])
@paginate(Pagination)
def list_measures(request: HttpRequest, partnership_id: int) -> QuerySet[Measure]:
    """Every measure of the partnership with its latest value, next target and status."""
    partnership = core_access.get_partnership(_user(request), partnership_id)
    return services.with_latest(Measure.objects.filter(partnership=partnership)).order_by(
        "title", "pk"
    )


@router.get("/outcomes/{outcome_id}/measures", response=list[MeasureOut])
def list_outcome_measures(request: HttpRequest, outcome_id: int) -> QuerySet[Measure]:
    outcome = access.get_outcome(_user(request), outcome_id)
    return services.with_latest(outcome.measures.order_by("title", "pk"))


@router.post("/outcomes/{outcome_id}/measures", response={201: MeasureOut})
def create_measure(request: HttpRequest, outcome_id: int, payload: MeasureIn) -> Status[Measure]:
    outcome = access.get_outcome(_user(request), outcome_id, manage=True)
    data = payload.dict()
    data["unit"] = data["unit"].strip()
    _check_baseline(Measure(**{k: data[k] for k in ("baseline_value", "baseline_on")}))
    measure = services.measure_create(outcome=outcome, **data)
    return Status(201, _with_latest(measure))


@router.get("/measures/{measure_id}", response=MeasureOut)
def get_measure(request: HttpRequest, measure_id: int) -> Measure:
    return _with_latest(access.get_measure(_user(request), measure_id))


@router.patch("/measures/{measure_id}", response=MeasureOut)
def update_measure(request: HttpRequest, measure_id: int, payload: MeasurePatch) -> Measure:
    measure = access.get_measure(_user(request), measure_id, manage=True)
    nullable = {"baseline_value", "baseline_on"}
    for field, value in payload.dict(exclude_unset=True).items():
        if value is not None or field in nullable:
            setattr(measure, field, value.strip() if field == "unit" else value)
    _check_baseline(measure)
    measure.full_clean()
    measure.save()
    return _with_latest(measure)


@router.delete("/measures/{measure_id}", response=Message)
def delete_measure(request: HttpRequest, measure_id: int) -> dict[str, str]:
    measure = access.get_measure(_user(request), measure_id, manage=True)
    measure.delete()
    return {"message": "The measure, its targets and its data points are deleted."}


# Targets ----------------------------------------------------------------------------------


class TargetIn(Input):
    target_on: Day
    value: Value


@router.get("/measures/{measure_id}/targets", response=list[TargetOut])
def list_targets(request: HttpRequest, measure_id: int) -> QuerySet[Target]:
    measure = access.get_measure(_user(request), measure_id)
    return measure.targets.order_by("target_on")


@router.post("/measures/{measure_id}/targets", response={201: TargetOut})
def set_target(request: HttpRequest, measure_id: int, payload: TargetIn) -> Status[Target]:
    """Add a target, or change the value of the one set for that date."""
    measure = access.get_measure(_user(request), measure_id, manage=True)
    if measure.baseline_on and payload.target_on <= measure.baseline_on:
        raise ValidationError(
            {
                "target_on": f"The target date must be after the baseline date, {measure.baseline_on}."
            }
        )
    target, _ = services.target_set(
        measure=measure, target_on=payload.target_on, value=payload.value
    )
    return Status(201, target)


@router.delete("/measures/{measure_id}/targets/{target_id}", response=Message)
def delete_target(request: HttpRequest, measure_id: int, target_id: int) -> dict[str, str]:
    measure = access.get_measure(_user(request), measure_id, manage=True)
    deleted, _ = measure.targets.filter(pk=target_id).delete()
    if not deleted:
        raise Http404("This measure has no target with that id.")
    return {"message": "The target is deleted."}


# Data points ------------------------------------------------------------------------------


class DataPointOut(Schema):
    id: int
    measure_id: int
    period_end: dt.date
    value: float
    note: str


class DataPointIn(Input):
    period_end: Day = Field(description="The last day of the period the value is for.")
    value: Value
    note: str = Field(default="", max_length=services.MAX_NOTE)


class DataPointsIn(Input):
    points: list[DataPointIn] = Field(min_length=1, max_length=MAX_ROWS)


class ImportOut(Schema):
    added: int
    updated: int


@router.get("/measures/{measure_id}/data-points", response=list[DataPointOut])
@paginate(Pagination)
def list_data_points(request: HttpRequest, measure_id: int) -> QuerySet[DataPoint]:
    measure = access.get_measure(_user(request), measure_id)
    return measure.data_points.order_by("period_end")


@router.post("/measures/{measure_id}/data-points", response={201: DataPointOut})
def record_data_point(
    request: HttpRequest, measure_id: int, payload: DataPointIn
) -> Status[DataPoint]:
    """Record the value for a period; a period already recorded is updated."""
    user = _user(request)
    measure = access.get_measure(user, measure_id, manage=True)
    point, _ = services.data_point_record(
        measure=measure,
        period_end=payload.period_end,
        value=payload.value,
        note=payload.note.strip(),
        by=user,
    )
    return Status(201, point)


@router.post("/measures/{measure_id}/data-points/bulk", response=ImportOut)
def record_data_points(
    request: HttpRequest, measure_id: int, payload: DataPointsIn
) -> dict[str, int]:
    """Record many values at once: all of them, or none if any is wrong."""
    user = _user(request)
    measure = access.get_measure(user, measure_id, manage=True)
    seen: dict[dt.date, int] = {}
    for index, point in enumerate(payload.points):
        if point.period_end in seen:
            raise ValidationError(
                {
                    f"points.{index}.period_end": f"The period ending {point.period_end} is "
                    f"also at points.{seen[point.period_end]}; send each period once."
                }
            )
        seen[point.period_end] = index
    rows = [
        services.PointRow(i, p.period_end, p.value, p.note.strip())
        for i, p in enumerate(payload.points)
    ]
    summary = services.data_points_import(measure=measure, rows=rows, by=user)
    return {"added": summary.added, "updated": summary.updated}


@router.delete("/measures/{measure_id}/data-points/{data_point_id}", response=Message)
def delete_data_point(request: HttpRequest, measure_id: int, data_point_id: int) -> dict[str, str]:
    measure = access.get_measure(_user(request), measure_id, manage=True)
    deleted, _ = measure.data_points.filter(pk=data_point_id).delete()
    if not deleted:
        raise Http404("This measure has no data point with that id.")
    return {"message": "The data point is deleted."}
