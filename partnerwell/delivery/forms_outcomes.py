"""Forms for outcomes, measures, targets, data points and data imports."""

from __future__ import annotations

import datetime as dt
from typing import Any

from crispy_forms_gds.layout import Field, Layout, Size
from django import forms
from django.conf import settings

from partnerwell.core.forms import GDSForm, GDSModelForm, choice_field
from partnerwell.core.models import Partnership
from partnerwell.delivery.forms_priorities import date_input
from partnerwell.delivery.measures import (
    MAX_NOTE,
    date_problem,
    fmt_day,
    parse_value,
    value_problem,
)
from partnerwell.delivery.models import Measure, Outcome, Priority, PriorityStatus


def _finite(form: forms.BaseForm, name: str, noun: str) -> None:
    value = form.cleaned_data.get(name)
    if value is not None and (problem := value_problem(value)):
        form.add_error(name, f"The {noun} {problem}.")


def _in_range(form: forms.BaseForm, name: str) -> None:
    day = form.cleaned_data.get(name)
    if day is not None and (problem := date_problem(day)):
        form.add_error(name, f"The date {problem}.")


class NumberField(forms.FloatField):
    """A number as people type it: 1,250 and 45% are read as 1250 and 45."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "spellcheck": "false"})
    default_error_messages = {"invalid": "Enter a number, like 42, 17.5 or 1,250."}

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values or (isinstance(value, str) and not value.strip()):
            return None
        number = parse_value(str(value))
        if number is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return number


class PriorityChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Priority) -> str:
        return f"{obj.title} ({obj.get_status_display().lower()})"


class OutcomeForm(GDSModelForm):
    priority = PriorityChoiceField(
        queryset=Priority.objects.none(),
        required=False,
        label="Priority it serves (optional)",
        empty_label="None",
    )

    class Meta:
        model = Outcome
        fields = ["title", "for_whom", "description", "priority"]
        labels = {
            "title": "What should be better",
            "for_whom": "For whom (optional)",
            "description": "Description (optional)",
        }
        help_texts = {
            "title": "Say it as a condition of well-being, for example: fewer older people "
            "admitted to hospital after a fall.",
            "for_whom": "For example: people aged 65 and over living in Northmoor.",
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args: Any, partnership: Partnership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "priority").queryset = Priority.objects.filter(
            partnership=partnership
        ).exclude(status=PriorityStatus.SET_ASIDE)


class MeasureForm(GDSModelForm):
    baseline_value = NumberField(
        required=False,
        label="Baseline value (optional)",
        help_text="Where the measure stood when you started. Needed for a status.",
    )
    frequency_days = forms.IntegerField(
        min_value=1,
        max_value=3660,
        initial=92,
        label="How often new values come, in days",
        help_text="For example 31 for monthly, 92 for quarterly, 366 for yearly. Values "
        "older than this count as out of date.",
    )

    class Meta:
        model = Measure
        fields = [
            "title",
            "kind",
            "unit",
            "direction",
            "baseline_value",
            "baseline_on",
            "frequency_days",
        ]
        labels = {
            "title": "Measure",
            "kind": "What kind of measure is it?",
            "unit": "Unit (optional)",
            "direction": "Which way is better?",
            "baseline_value": "Baseline value (optional)",
            "baseline_on": "Baseline date (optional)",
        }
        help_texts = {
            "title": "For example: emergency admissions after a fall, people aged 65 and "
            "over, per 100,000.",
            "baseline_on": "The date of the baseline value.",
        }
        widgets = {
            "kind": forms.RadioSelect,
            "direction": forms.RadioSelect,
            "baseline_on": date_input(),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper.layout = Layout(
            Field.text("title"),
            Field.radios("kind", legend_size=Size.SMALL),
            Field.text("unit", field_width=10),
            Field.radios("direction", legend_size=Size.SMALL, inline=True),
            Field.text("baseline_value", field_width=10),
            Field("baseline_on"),
            Field.text("frequency_days", field_width=4),
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _finite(self, "baseline_value", "baseline value")
        _in_range(self, "baseline_on")
        has_value = data.get("baseline_value") is not None
        has_date = data.get("baseline_on") is not None
        if has_value and not has_date and "baseline_on" not in self.errors:
            self.add_error("baseline_on", "Give the date of the baseline value.")
        if has_date and not has_value and "baseline_value" not in self.errors:
            self.add_error("baseline_value", "Give the baseline value for that date.")
        return data


class TargetForm(GDSForm):
    # Prefixed, because the measure page also holds the data point form with its own "value".
    prefix = "target"
    value = NumberField(label="Target value")
    target_on = forms.DateField(label="To reach by", widget=date_input())

    def __init__(self, *args: Any, measure: Measure, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.measure = measure
        self.helper.layout = Layout(Field.text("value", field_width=10), Field("target_on"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _finite(self, "value", "target value")
        _in_range(self, "target_on")
        baseline_on: dt.date | None = self.measure.baseline_on
        target_on = data.get("target_on")
        if (
            baseline_on
            and target_on
            and target_on <= baseline_on
            and "target_on" not in self.errors
        ):
            self.add_error(
                "target_on",
                f"The target date must be after the baseline date, {fmt_day(baseline_on)}.",
            )
        return data


class DataPointForm(GDSForm):
    prefix = "point"
    period_end = forms.DateField(
        label="End of the period",
        widget=date_input(),
        help_text="The last day of the month, quarter or year the value is for. A period "
        "already recorded is updated.",
    )
    value = NumberField(label="Value")
    note = forms.CharField(label="Note (optional)", required=False, max_length=MAX_NOTE)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper.layout = Layout(
            Field("period_end"), Field.text("value", field_width=10), Field.text("note")
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _finite(self, "value", "value")
        _in_range(self, "period_end")
        return data


class DataImportForm(GDSForm):
    file = forms.FileField(
        label="Values (CSV or XLSX)",
        help_text="Columns: period_end, value and, if you like, note. The first row holds the "
        "column names.",
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = settings.IMPORT_MAX_MB * 1024 * 1024
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is larger than {settings.IMPORT_MAX_MB} MB; split it into smaller files."
            )
        return upload
