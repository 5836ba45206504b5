"""Forms for the risk register, the issues log and wins."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from partnerwell.core.forms import GDSForm, GDSModelForm, MemberChoiceField, choice_field
from partnerwell.core.models import Partnership
from partnerwell.delivery.models import Issue, Outcome, Risk, Win
from partnerwell.delivery.risks import (
    IMPACT_WORDS,
    LIKELIHOOD_WORDS,
    not_future,
    organisation_choices,
    owner_choices,
)

# A date input's value must be YYYY-MM-DD; the locale's 22/11/2026 would show it empty.
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
LIKELIHOOD_CHOICES = [(n, f"{n} – {w}") for n, w in LIKELIHOOD_WORDS.items()]
IMPACT_CHOICES = [(n, f"{n} – {w}") for n, w in IMPACT_WORDS.items()]


def _score(label: str, choices: list[tuple[int, str]], what: str, **kwargs: Any) -> Any:
    return forms.TypedChoiceField(
        label=label,
        choices=choices,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": f"Choose the {what}, from 1 to 5."},
        **kwargs,
    )


def _not_future(value: dt.date | None, what: str) -> None:
    # The services refuse the same; checking here puts the message against the field.
    try:
        not_future(value, "date", what)
    except ValidationError as exc:
        raise forms.ValidationError(exc.messages) from None


class RiskForm(GDSModelForm):
    likelihood = _score("How likely is it now?", LIKELIHOOD_CHOICES, "likelihood")
    impact = _score("How bad would it be now?", IMPACT_CHOICES, "impact")
    target_likelihood = _score(
        "Target likelihood",
        LIKELIHOOD_CHOICES,
        "target likelihood",
        help_text="How likely it should be once the controls work.",
    )
    target_impact = _score(
        "Target impact",
        IMPACT_CHOICES,
        "target impact",
        help_text="How bad it would be once the controls work.",
    )

    class Meta:
        model = Risk
        fields = [
            "title",
            "description",
            "cause",
            "effect",
            "category",
            "owner",
            "organisation",
            "likelihood",
            "impact",
            "controls",
            "target_likelihood",
            "target_impact",
            "review_on",
            "status",
        ]
        labels = {
            "title": "Risk",
            "description": "Description (optional)",
            "cause": "What could cause it (optional)",
            "effect": "What would happen (optional)",
            "owner": "Owner",
            "organisation": "Owning organisation (optional)",
            "controls": "Controls in place or planned (optional)",
            "review_on": "Next review date",
        }
        help_texts = {
            "title": "A short name, for example: Partners withdraw funding.",
            "organisation": "Leave empty to use the owner's organisation.",
        }
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "cause": forms.Textarea(attrs={"rows": 2}),
            "effect": forms.Textarea(attrs={"rows": 2}),
            "controls": forms.Textarea(attrs={"rows": 3}),
            "review_on": DATE_WIDGET,
            "status": forms.RadioSelect,
        }
        field_classes = {"owner": MemberChoiceField}
        error_messages = {
            "title": {"required": "Name the risk."},
            "review_on": {
                "required": "Enter the date of the next review.",
                "invalid": "Enter the next review date as a real date, for example 31 3 2027.",
            },
        }

    def __init__(self, *args: Any, partnership: Partnership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner = choice_field(self, "owner")
        owner.queryset = owner_choices(partnership)
        owner.required = True
        owner.empty_label = "Choose the owner"
        owner.error_messages["required"] = "Choose who owns the risk."
        owner.error_messages["invalid_choice"] = (
            "Choose a current member of this partnership as the risk's owner."
        )
        organisation = choice_field(self, "organisation")
        organisation.queryset = organisation_choices(partnership)
        organisation.empty_label = "The owner's organisation"
        organisation.error_messages["invalid_choice"] = (
            "Choose an organisation that sits on this partnership."
        )
        if not self.instance.pk:
            del self.fields["status"]
            self.fields["review_on"].initial = timezone.localdate() + dt.timedelta(days=90)
            self.relayout()


class RiskReviewForm(GDSForm):
    reviewed_on = forms.DateField(label="Date of this review", widget=DATE_WIDGET)
    next_review_on = forms.DateField(label="Date of the next review", widget=DATE_WIDGET)
    likelihood = _score("How likely is it now?", LIKELIHOOD_CHOICES, "likelihood")
    impact = _score("How bad would it be now?", IMPACT_CHOICES, "impact")
    controls = forms.CharField(
        label="Controls (optional)", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, risk: Risk, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["reviewed_on"].initial = today
        self.fields["next_review_on"].initial = today + dt.timedelta(days=90)
        self.fields["likelihood"].initial = risk.likelihood
        self.fields["impact"].initial = risk.impact
        self.fields["controls"].initial = risk.controls
        self.fields["likelihood"].help_text = "Leave as it is if the review found no change."

    def clean_reviewed_on(self) -> dt.date:
        value: dt.date = self.cleaned_data["reviewed_on"]
        _not_future(value, "date of this review")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        reviewed, following = data.get("reviewed_on"), data.get("next_review_on")
        if reviewed and following and following <= reviewed:
            self.add_error(
                "next_review_on", "The next review must come after this one; choose a later date."
            )
        return data


class EscalateForm(GDSForm):
    escalate = forms.ChoiceField(
        choices=[("yes", "Bring to the next meeting"), ("no", "Do not bring to a meeting")],
        error_messages={"required": "Say whether to bring the risk to the next meeting."},
    )

    def wanted(self) -> bool:
        return bool(self.cleaned_data["escalate"] == "yes")


class RiskFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("open", "Open"), ("closed", "Closed"), ("all", "All")], required=False
    )

    def chosen(self) -> str:
        if self.is_valid() and self.cleaned_data["status"]:
            return str(self.cleaned_data["status"])
        return "open"


class IssueForm(GDSModelForm):
    class Meta:
        model = Issue
        fields = ["title", "detail"]
        labels = {"title": "Issue", "detail": "More detail (optional)"}
        help_texts = {"title": "A question or problem the partnership still has to settle."}
        widgets = {"detail": forms.Textarea(attrs={"rows": 4})}
        error_messages = {"title": {"required": "Say what the issue is."}}


class ResolveIssueForm(GDSForm):
    resolution = forms.CharField(
        label="How was it resolved?",
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Say how the issue was resolved."},
    )
    resolved_on = forms.DateField(label="Date resolved", widget=DATE_WIDGET)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["resolved_on"].initial = timezone.localdate()

    def clean_resolution(self) -> str:
        value = str(self.cleaned_data["resolution"]).strip()
        if not value:
            raise forms.ValidationError("Say how the issue was resolved.")
        return value

    def clean_resolved_on(self) -> dt.date:
        value: dt.date = self.cleaned_data["resolved_on"]
        _not_future(value, "date resolved")
        return value


class WinForm(GDSModelForm):
    class Meta:
        model = Win
        fields = ["title", "won_on", "detail", "outcome"]
        labels = {
            "title": "What is there to celebrate?",
            "won_on": "Date",
            "detail": "More detail (optional)",
            "outcome": "Outcome it contributes to (optional)",
        }
        widgets = {"detail": forms.Textarea(attrs={"rows": 4}), "won_on": DATE_WIDGET}
        error_messages = {"title": {"required": "Say what the win is."}}

    def __init__(self, *args: Any, partnership: Partnership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        outcomes = Outcome.objects.filter(partnership=partnership).order_by("title")
        if outcomes.exists():
            outcome = choice_field(self, "outcome")
            outcome.queryset = outcomes
            outcome.empty_label = "None"
            outcome.error_messages["invalid_choice"] = "Choose one of this partnership's outcomes."
        else:
            del self.fields["outcome"]
            self.relayout()

    def clean_won_on(self) -> dt.date:
        value: dt.date = self.cleaned_data["won_on"]
        _not_future(value, "date of the win")
        return value
