"""Forms for proposing and deciding priorities, opening votes and casting ballots."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import Field, Fieldset, Layout, Size
from django import forms
from django.utils import timezone

from partnerwell.core.forms import GDSForm, GDSModelForm
from partnerwell.core.models import Partnership
from partnerwell.delivery.models import Priority, PriorityStatus, PriorityVote, VoteMethod
from partnerwell.delivery.priorities import (
    MAX_CANDIDATES,
    MIN_CANDIDATES,
    POINTS_TO_SPREAD,
    Score,
    points_problem,
    votable_priorities,
)

DATE_WIDGET = {"type": "date"}


def date_input() -> forms.DateInput:
    # A date input's value must be YYYY-MM-DD; the locale's 22/11/2026 would show it empty.
    return forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d")


class PriorityForm(GDSModelForm):
    class Meta:
        model = Priority
        fields = ["title", "description"]
        labels = {"title": "Priority", "description": "Why it matters (optional)"}
        help_texts = {
            "title": "In a few words, what the partnership should focus on. For example: "
            "help older people stay independent at home.",
            "description": "What difference it would make, and for whom.",
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

    def clean_title(self) -> str:
        return " ".join(self.cleaned_data["title"].split())


DECISIONS = [
    (PriorityStatus.AGREED.value, "Agreed: the partnership has taken it on"),
    (PriorityStatus.SET_ASIDE.value, "Set aside: not now"),
    (PriorityStatus.CANDIDATE.value, "Proposed: not decided yet"),
]


class DecidePriorityForm(GDSForm):
    status = forms.ChoiceField(
        label="What did the partnership decide?", choices=DECISIONS, widget=forms.RadioSelect
    )
    agreed_on = forms.DateField(
        label="Date it was agreed",
        required=False,
        widget=date_input(),
        help_text="Needed when the priority is agreed, for example the date of the meeting.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        agreed_on = data.get("agreed_on")
        if data.get("status") == PriorityStatus.AGREED and agreed_on is None:
            if "agreed_on" not in self.errors:
                self.add_error("agreed_on", "Give the date the priority was agreed.")
        elif agreed_on and agreed_on > timezone.localdate():
            self.add_error("agreed_on", "The date it was agreed cannot be in the future.")
        return data


class CandidatesField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Priority) -> str:
        return obj.title


class OpenVoteForm(GDSForm):
    title = forms.CharField(
        max_length=200, label="Title", help_text="For example: Priorities for 2027 to 2030."
    )
    method = forms.ChoiceField(
        label="How do members vote?",
        choices=VoteMethod.choices,
        initial=VoteMethod.POINTS,
        widget=forms.RadioSelect,
    )
    candidates = CandidatesField(
        queryset=Priority.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        label="Candidates",
        help_text=f"Choose {MIN_CANDIDATES} to {MAX_CANDIDATES} of the proposed priorities.",
    )
    opens_on = forms.DateField(label="Opens on", widget=date_input())
    closes_on = forms.DateField(label="Closes at the end of", widget=date_input())
    anonymity_floor = forms.IntegerField(
        min_value=3,
        max_value=50,
        initial=3,
        label="Anonymity floor",
        help_text="Results are shown only if at least this many members vote, and a side or "
        "sector only if this many of its members vote. It cannot be below 3.",
    )

    def __init__(self, *args: Any, partnership: Partnership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        candidates = self.fields["candidates"]
        assert isinstance(candidates, forms.ModelMultipleChoiceField)
        candidates.queryset = votable_priorities(partnership).order_by("title")
        today = timezone.localdate()
        self.fields["opens_on"].initial = today
        self.fields["closes_on"].initial = today + dt.timedelta(days=14)
        self.helper.layout = Layout(
            Field.text("title"),
            Field.radios("method", legend_size=Size.SMALL),
            Field.checkboxes("candidates", legend_size=Size.SMALL, small=True),
            Field("opens_on"),
            Field("closes_on"),
            Field.text("anonymity_floor", field_width=3),
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen = data.get("candidates")
        if chosen is not None and not MIN_CANDIDATES <= len(chosen) <= MAX_CANDIDATES:
            self.add_error(
                "candidates", f"Choose between {MIN_CANDIDATES} and {MAX_CANDIDATES} priorities."
            )
        opens, closes = data.get("opens_on"), data.get("closes_on")
        if opens and closes and closes < opens:
            self.add_error("closes_on", "The closing date must be on or after the opening date.")
        elif closes and closes < timezone.localdate():
            self.add_error("closes_on", "The closing date has passed; choose a later date.")
        return data

    def window(self) -> tuple[dt.datetime, dt.datetime]:
        """Open at the start of the opening day (or now, if today); close at the end of the last."""
        tz = timezone.get_current_timezone()
        opens = dt.datetime.combine(self.cleaned_data["opens_on"], dt.time.min, tz)
        closes = dt.datetime.combine(self.cleaned_data["closes_on"], dt.time.max, tz)
        if opens < timezone.now() and self.cleaned_data["opens_on"] == timezone.localdate():
            opens = timezone.now()
        return opens, closes


RATING_CHOICES = [(str(n), str(n)) for n in range(1, 6)]
ASPECTS = {
    "importance": ("How important is it? 1 is not important, 5 is essential", "important"),
    "feasibility": ("How feasible is it? 1 is hardly possible, 5 is easy to do", "feasible"),
}


class BallotForm(forms.Form):
    """One ballot: points for each candidate, or importance and feasibility ratings.

    Works without JavaScript: "Check my points" posts the form back with the
    points still to give, and nothing is stored until "Cast my vote".
    """

    def __init__(
        self, *args: Any, vote: PriorityVote, candidates: Sequence[Priority], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.vote = vote
        self.candidates = list(candidates)
        self.helper = FormHelper(self)
        self.helper.form_tag = False
        layout: list[Any] = []
        for p in self.candidates:
            if vote.method == VoteMethod.POINTS:
                self.fields[f"points_{p.pk}"] = forms.IntegerField(
                    label=p.title,
                    help_text=p.description[:300],
                    required=False,
                    min_value=0,
                    max_value=POINTS_TO_SPREAD,
                    widget=forms.TextInput(attrs={"inputmode": "numeric", "spellcheck": "false"}),
                    error_messages={
                        "invalid": f"Give “{p.title}” a whole number of points, from 0 to 10.",
                        "min_value": f"Give “{p.title}” 0 points or more.",
                        "max_value": f"Give “{p.title}” at most 10 points.",
                    },
                )
                layout.append(Field.text(f"points_{p.pk}", label_size=Size.SMALL, field_width=2))
            else:
                for aspect, (question, adjective) in ASPECTS.items():
                    self.fields[f"{aspect}_{p.pk}"] = forms.ChoiceField(
                        label=question,
                        choices=RATING_CHOICES,
                        widget=forms.RadioSelect,
                        error_messages={
                            "required": f"Rate how {adjective} “{p.title}” is, from 1 to 5.",
                            "invalid_choice": f"Rate how {adjective} “{p.title}” is, from 1 to 5.",
                        },
                    )
                layout.append(
                    Fieldset(
                        Field.radios(f"importance_{p.pk}", inline=True, small=True),
                        Field.radios(f"feasibility_{p.pk}", inline=True, small=True),
                        legend=p.title,
                        legend_size=Size.MEDIUM,
                    )
                )
        self.helper.layout = Layout(*layout)

    def points_given(self) -> int | None:
        """The points given so far (blank counts as 0), or None for a rating vote or bad input."""
        if self.vote.method != VoteMethod.POINTS or not self.is_bound:
            return None
        total = 0
        for p in self.candidates:
            raw = str(self.data.get(f"points_{p.pk}", "") or "").strip()
            if not raw:
                continue
            if not raw.isdigit():
                return None
            total += int(raw)
        return total

    def points_left(self) -> int:
        given = self.points_given()
        return POINTS_TO_SPREAD - (given or 0)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.vote.method == VoteMethod.POINTS and not self.errors:
            total = sum(data.get(f"points_{p.pk}") or 0 for p in self.candidates)
            if problem := points_problem(total):
                raise forms.ValidationError(problem)
        return data

    def scores(self) -> dict[int, Score]:
        data = self.cleaned_data
        if self.vote.method == VoteMethod.POINTS:
            return {p.pk: Score(points=data.get(f"points_{p.pk}") or 0) for p in self.candidates}
        return {
            p.pk: Score(
                importance=int(data[f"importance_{p.pk}"]),
                feasibility=int(data[f"feasibility_{p.pk}"]),
            )
            for p in self.candidates
        }
