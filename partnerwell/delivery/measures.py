"""Outcomes and measures: services, the status rule, data imports, exports and evidence.

The status rule (written out on every measure page):

* The *trajectory* is a straight line from the baseline (its value on its
  date) to the first target, then on from target to target. Before the
  baseline it is the baseline; after the last target it stays at that target.
* The *expected* value is the trajectory on the latest data point's period end.
* The *gap* is latest − expected, turned round when lower is better, as a share
  of the planned change: |next target − baseline|, where the next target is the
  first one dated on or after the latest period (or the last one if all have
  passed). When a target equals the baseline ("hold steady") the share is of
  the baseline itself.
* On track when the gap is 0 or better; at risk when it is behind by at most
  10% of the planned change; off track when further behind.
* No status without a baseline (value and date), a target after the baseline
  and at least one data point.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from django.db import transaction
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from partnerwell.core.exports import safe_cell
from partnerwell.core.imports import MAX_ROWS, ImportFileError, RowError
from partnerwell.core.models import Partnership, User
from partnerwell.delivery.models import DataPoint, Direction, Measure, Outcome, Target

ON_TRACK = "on_track"
AT_RISK = "at_risk"
OFF_TRACK = "off_track"
STATUS_LABELS = {ON_TRACK: "On track", AT_RISK: "At risk", OFF_TRACK: "Off track"}
# A measure behind its trajectory by no more than this share of the planned change is at risk.
AT_RISK_SHARE = 0.10
STATUS_RULE = (
    "We draw a straight line from the baseline to the next target (and on from target to "
    "target) and read off where the measure should be on the date of its latest value. "
    "If the latest value is there or better, the measure is on track. If it is behind by "
    "no more than a tenth (10%) of the change planned from the baseline to the next "
    "target, it is at risk. Further behind, it is off track. Where lower is better, "
    "better means lower. When a target is the same as the baseline (holding steady), the "
    "tenth is a tenth of the baseline. A measure needs a baseline, a target and at least "
    "one value before it has a status."
)

# Values and dates the forms, imports and API accept: wide enough for any real measure,
# narrow enough that charts and date arithmetic never overflow.
MAX_ABS_VALUE = 1e12
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2199, 12, 31)


def value_problem(value: float) -> str | None:
    """Why a number cannot be stored as a measure's value, or None."""
    if not math.isfinite(value):
        return "must be a number"
    if abs(value) > MAX_ABS_VALUE:
        return "must be between -1,000,000,000,000 and 1,000,000,000,000"
    return None


def date_problem(day: dt.date) -> str | None:
    if not EARLIEST <= day <= LATEST:
        return "must be a date between 1900 and 2199"
    return None


# The status rule ------------------------------------------------------------------


@dataclass(frozen=True)
class MeasureStatus:
    status: str
    latest_on: dt.date
    latest_value: float
    expected: float
    target_on: dt.date
    target_value: float
    # Positive when ahead of the trajectory, negative when behind; 0.1 is 10%.
    gap_share: float

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def explanation(self) -> str:
        percent = abs(self.gap_share) * 100
        where = "ahead of" if self.gap_share > 0 else "behind" if self.gap_share < 0 else "on"
        share = "less than 1%" if percent < 1 else f"{percent:.0f}%"
        gap = "" if where == "on" else f"{share} of the planned change "
        return (
            f"The latest value, {fmt_value(self.latest_value)} for the period to "
            f"{fmt_day(self.latest_on)}, is {gap}{where} the line to the target of "
            f"{fmt_value(self.target_value)} by {fmt_day(self.target_on)}, which expected "
            f"{fmt_value(self.expected)} by then."
        )


def fmt_value(value: float | None) -> str:
    """A value for people: whole numbers without decimals, others to at most 2 places."""
    if value is None:
        return "–"
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def fmt_measured(value: float | None, unit: str) -> str:
    """A value with its unit: 45.5%, 1,926 per 100,000."""
    if value is None:
        return "–"
    if not unit:
        return fmt_value(value)
    return f"{fmt_value(value)}{unit}" if unit == "%" else f"{fmt_value(value)} {unit}"


def fmt_day(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def _ordinal(day: dt.date) -> int:
    return day.toordinal()


def trajectory_at(line: Sequence[tuple[dt.date, float]], day: dt.date) -> float:
    """The value on ``day`` of the straight-line path through ``line`` (sorted by date)."""
    if day <= line[0][0]:
        return line[0][1]
    for (start_on, start), (end_on, end) in itertools.pairwise(line):
        if day <= end_on:
            share = (_ordinal(day) - _ordinal(start_on)) / (_ordinal(end_on) - _ordinal(start_on))
            return start + (end - start) * share
    return line[-1][1]


def measure_status(
    *,
    direction: str,
    baseline: tuple[dt.date, float] | None,
    targets: Iterable[tuple[dt.date, float]],
    latest: tuple[dt.date, float] | None,
) -> MeasureStatus | None:
    """On track, at risk or off track by the rule in this module's docstring."""
    if baseline is None or latest is None:
        return None
    base_on, base_value = baseline
    plan = sorted((day, value) for day, value in targets if day > base_on)
    if not plan:
        return None
    latest_on, latest_value = latest
    target_on, target_value = next(((d, v) for d, v in plan if d >= latest_on), plan[-1])
    expected = trajectory_at([(base_on, base_value), *plan], latest_on)
    planned = abs(target_value - base_value) or abs(base_value) or 1.0
    sign = 1.0 if direction == Direction.HIGHER else -1.0
    # Rounded, so that floating-point noise never moves a value across a boundary.
    gap_share = round((latest_value - expected) * sign / planned, 9)
    if gap_share >= 0:
        status = ON_TRACK
    elif gap_share >= -AT_RISK_SHARE:
        status = AT_RISK
    else:
        status = OFF_TRACK
    return MeasureStatus(
        status=status,
        latest_on=latest_on,
        latest_value=latest_value,
        expected=expected,
        target_on=target_on,
        target_value=target_value,
        gap_share=gap_share,
    )


def status_missing(
    *,
    has_baseline: bool,
    targets: Iterable[tuple[dt.date, float]],
    baseline_on: dt.date | None,
    has_data: bool,
) -> list[str]:
    """What a measure still needs before it has a status, in words."""
    missing = []
    if not has_baseline:
        missing.append("a baseline value and date")
    if not any(baseline_on is None or day > baseline_on for day, _ in targets):
        missing.append("a target dated after the baseline")
    if not has_data:
        missing.append("at least one value")
    return missing


def with_latest(measures: QuerySet[Measure]) -> QuerySet[Measure]:
    """Measures with their latest value (``latest_on``, ``latest_value``) and targets."""
    latest = DataPoint.objects.filter(measure=OuterRef("pk")).order_by("-period_end")
    return measures.annotate(
        latest_on=Subquery(latest.values("period_end")[:1]),
        latest_value=Subquery(latest.values("value")[:1]),
    ).prefetch_related(Prefetch("targets", queryset=Target.objects.order_by("target_on")))


def _baseline(measure: Measure) -> tuple[dt.date, float] | None:
    if measure.baseline_on is None or measure.baseline_value is None:
        return None
    return measure.baseline_on, measure.baseline_value


def status_for(
    measure: Measure, latest: tuple[dt.date, float] | None = None
) -> MeasureStatus | None:
    """The status of a measure from :func:`with_latest` (or with its latest value given)."""
    if latest is None:
        latest_on = getattr(measure, "latest_on", None)
        latest_value = getattr(measure, "latest_value", None)
        latest = None if latest_on is None or latest_value is None else (latest_on, latest_value)
    return measure_status(
        direction=measure.direction,
        baseline=_baseline(measure),
        targets=[(t.target_on, t.value) for t in measure.targets.all()],
        latest=latest,
    )


def next_target(targets: Iterable[Target], on: dt.date) -> Target | None:
    """The first target on or after ``on``; the last one if all have passed."""
    ordered = sorted(targets, key=lambda t: t.target_on)
    return next((t for t in ordered if t.target_on >= on), ordered[-1] if ordered else None)


# Services -----------------------------------------------------------------------------


@transaction.atomic
def outcome_create(
    *,
    partnership: Partnership,
    title: str,
    for_whom: str = "",
    description: str = "",
    priority_id: int | None = None,
) -> Outcome:
    outcome = Outcome(
        partnership=partnership,
        title=title,
        for_whom=for_whom,
        description=description,
        priority_id=priority_id,
    )
    outcome.full_clean()
    outcome.save()
    return outcome


@transaction.atomic
def measure_create(*, outcome: Outcome, **fields: object) -> Measure:
    """A measure of an outcome; it belongs to the outcome's partnership."""
    measure = Measure(outcome=outcome, partnership_id=outcome.partnership_id, **fields)
    measure.full_clean()
    measure.save()
    return measure


@transaction.atomic
def target_set(*, measure: Measure, target_on: dt.date, value: float) -> tuple[Target, bool]:
    """Add a target, or change the value of the one already set for that date."""
    return Target.objects.update_or_create(
        measure=measure, target_on=target_on, defaults={"value": value}
    )


@transaction.atomic
def data_point_record(
    *, measure: Measure, period_end: dt.date, value: float, note: str = "", by: User | None
) -> tuple[DataPoint, bool]:
    """Record the value for a period; a period already recorded is updated."""
    return DataPoint.objects.update_or_create(
        measure=measure,
        period_end=period_end,
        defaults={"value": value, "note": note, "entered_by": by},
    )


# Importing data points ------------------------------------------------------------------

IMPORT_COLUMNS: dict[str, set[str]] = {
    "period_end": {"period_end", "period end", "period", "date"},
    "value": {"value"},
    "note": {"note", "notes", "comment"},
}
_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][+-]?\d+)?$")
MAX_NOTE = 300


@dataclass(frozen=True)
class PointRow:
    line: int
    period_end: dt.date
    value: float
    note: str | None  # None when the file has no note column: notes already stored stay


@dataclass(frozen=True)
class ImportSummary:
    added: int
    updated: int


def parse_period(text: str) -> dt.date | None:
    """A date written 2026-03-31 or 31/03/2026 (an XLSX date cell reads as the first)."""
    text = text.strip()[:19]
    for pattern in ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def parse_value(text: str) -> float | None:
    """A number such as 12, -3.5, 1,234.5 or 45% (the per cent sign is dropped)."""
    cleaned = text.strip().removesuffix("%").strip()
    if not cleaned or not _NUMBER.match(cleaned) or not re.search(r"\d", cleaned):
        return None
    return float(cleaned.replace(",", ""))


def _import_columns(heading: list[str]) -> dict[str, int]:
    mapping: dict[str, int] = {}
    problems = []
    for index, raw in enumerate(heading):
        title = raw.strip().lower()
        if not title:
            continue
        key = next((k for k, names in IMPORT_COLUMNS.items() if title in names), None)
        if key is None:
            problems.append(f"the column “{raw[:40]}” is not one we know")
        elif key in mapping:
            problems.append(f"the column “{raw[:40]}” appears twice")
        else:
            mapping[key] = index
    problems += [f"the column {k} is missing" for k in ("period_end", "value") if k not in mapping]
    if problems:
        raise ImportFileError(
            "The heading row does not fit: "
            + "; ".join(problems)
            + ". Use the columns period_end, value and (if you like) note."
        )
    return mapping


def data_points_check(
    table: list[tuple[int, list[str]]],
) -> tuple[list[PointRow], list[RowError]]:
    """Every row checked; the good rows and an error for each bad one, by line number."""
    if not table:
        raise ImportFileError("The file is empty. Upload a CSV or XLSX file with a heading row.")
    mapping = _import_columns(table[0][1])
    body = [(line, cells) for line, cells in table[1:] if any(c.strip() for c in cells)]
    if not body:
        raise ImportFileError("The file has a heading row but no values under it.")
    if len(body) > MAX_ROWS:
        raise ImportFileError(f"The file has more than {MAX_ROWS:,} rows; split it into parts.")

    def cell(cells: list[str], key: str) -> str:
        index = mapping.get(key)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    rows: list[PointRow] = []
    errors: list[RowError] = []
    seen: dict[dt.date, int] = {}
    for line, cells in body:
        reasons = []
        period_raw, value_raw, note = cell(cells, "period_end"), cell(cells, "value"), None
        period = parse_period(period_raw) if period_raw else None
        if not period_raw:
            reasons.append("the period end is missing")
        elif period is None:
            reasons.append(f"the period end “{period_raw[:40]}” is not a date like 2026-03-31")
        elif problem := date_problem(period):
            reasons.append(f"the period end {problem}")
        elif period in seen:
            reasons.append(f"the period ending {period:%Y-%m-%d} is also on line {seen[period]}")
        else:
            seen[period] = line
        value = parse_value(value_raw) if value_raw else None
        if not value_raw:
            reasons.append("the value is missing")
        elif value is None:
            reasons.append(f"the value “{value_raw[:40]}” is not a number")
        elif problem := value_problem(value):
            reasons.append(f"the value {problem}")
        if "note" in mapping:
            note = cell(cells, "note")
            if len(note) > MAX_NOTE:
                reasons.append(f"the note is longer than {MAX_NOTE} characters")
        if reasons:
            text = "; ".join(reasons)
            errors.append(RowError(line, text[0].upper() + text[1:] + "."))
        elif period is not None and value is not None:
            rows.append(PointRow(line, period, value, note))
    return rows, errors


@transaction.atomic
def data_points_import(
    *, measure: Measure, rows: Sequence[PointRow], by: User | None
) -> ImportSummary:
    """Store checked rows all at once: new periods are added, known periods updated."""
    periods = [r.period_end for r in rows]
    known = set(
        DataPoint.objects.filter(measure=measure, period_end__in=periods).values_list(
            "period_end", flat=True
        )
    )
    with_notes = any(r.note is not None for r in rows)
    DataPoint.objects.bulk_create(
        [
            DataPoint(
                measure=measure,
                period_end=r.period_end,
                value=r.value,
                note=r.note or "",
                entered_by=by,
            )
            for r in rows
        ],
        update_conflicts=True,
        unique_fields=["measure", "period_end"],
        update_fields=["value", "entered_by", "entered_at", *(["note"] if with_notes else [])],
        batch_size=500,
    )
    updated = sum(1 for p in periods if p in known)
    return ImportSummary(added=len(rows) - updated, updated=updated)


# Exports ----------------------------------------------------------------------------------

EXPORT_HEADER = [
    "outcome",
    "measure",
    "kind",
    "unit",
    "direction",
    "baseline",
    "baseline date",
    "latest period end",
    "latest value",
    "next target",
    "next target date",
    "status",
]


def measure_rows(partnership: Partnership) -> tuple[list[str], list[list[object]]]:
    """One row a measure, with its latest value, next target and status; three queries."""
    measures = with_latest(
        Measure.objects.filter(partnership=partnership).select_related("outcome")
    ).order_by("outcome__title", "title", "pk")
    rows: list[list[object]] = []
    for m in measures:
        status = status_for(m)
        latest_on = getattr(m, "latest_on", None)
        target = next_target(m.targets.all(), latest_on or timezone.localdate())
        rows.append(
            [
                safe_cell(m.outcome.title),
                safe_cell(m.title),
                m.get_kind_display(),
                safe_cell(m.unit),
                m.get_direction_display(),
                m.baseline_value,
                m.baseline_on,
                latest_on,
                getattr(m, "latest_value", None),
                target.value if target else None,
                target.target_on if target else None,
                status.label if status else "No status",
            ]
        )
    return EXPORT_HEADER, rows


# Evidence ---------------------------------------------------------------------------------


def measures_current(partnership: Partnership, on: dt.date) -> float | None:
    """Share (0–100) of measures whose latest value up to ``on`` is recent enough.

    A measure is current when its latest data point with a period end on or
    before ``on`` ends no more than ``frequency_days`` days before ``on``. None
    when the partnership has no measures. One query.
    """
    latest = (
        DataPoint.objects.filter(measure=OuterRef("pk"), period_end__lte=on)
        .order_by("-period_end")
        .values("period_end")[:1]
    )
    rows = list(
        Measure.objects.filter(partnership=partnership)
        .annotate(latest_on=Subquery(latest))
        .values_list("frequency_days", "latest_on")
    )
    if not rows:
        return None
    current = sum(
        1
        for frequency, latest_on in rows
        if latest_on is not None and (on - latest_on).days <= frequency
    )
    return 100.0 * current / len(rows)


MEASURES_CURRENT_TITLE = "Measures kept up to date"
MEASURES_CURRENT_RULE = (
    "The share of the partnership's measures whose latest value is no older than the "
    "measure's own update interval (for example 92 days for a quarterly measure)."
)


def rows_csv(header: list[str], rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return buffer.getvalue()


def rows_xlsx(title: str, header: list[str], rows: list[list[object]]) -> bytes:
    """A one-sheet workbook; numbers stay numbers and dates show as 2026-03-31."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.append(header)
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=cast(Any, value))
            if isinstance(value, dt.date):
                cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
