"""Forms for minutes, decisions, minuted actions and the decision log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import Q
from django.db.models.functions import Lower

from partnerwell.core.forms import GDSForm, MemberChoiceField, choice_field, date_input
from partnerwell.core.models import Membership, Organisation
from partnerwell.meetings.minutes import decided_on_problem
from partnerwell.meetings.models import AgendaItem, Decision, Meeting

ENTRY_PREFIX = "entry_"


def _pick(what: str) -> dict[str, str]:
    return {"invalid_choice": f"Choose {what} from the list."}


def item_label(number: int, item: AgendaItem) -> str:
    return f"{number}. {item.title}"


class MinutesForm(GDSForm):
    """The summary and one text per accepted agenda item, in agenda order."""

    summary = forms.CharField(
        label="Summary (optional)",
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Who chaired, and anything that applies to the whole meeting.",
    )

    def __init__(
        self,
        *args: Any,
        items: list[AgendaItem],
        texts: dict[int, str] | None = None,
        summary: str = "",
        **kwargs: Any,
    ) -> None:
        texts = texts or {}
        initial = {"summary": summary}
        initial.update({f"{ENTRY_PREFIX}{item.pk}": texts.get(item.pk, "") for item in items})
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.items = items
        for number, item in enumerate(items, start=1):
            self.fields[f"{ENTRY_PREFIX}{item.pk}"] = forms.CharField(
                label=item_label(number, item),
                required=False,
                max_length=50_000,
                widget=forms.Textarea(attrs={"rows": 4}),
            )
        self.relayout()

    def entries(self) -> dict[int, str]:
        return {item.pk: self.cleaned_data[f"{ENTRY_PREFIX}{item.pk}"] for item in self.items}


class CorrectionForm(MinutesForm):
    reason = forms.CharField(
        label="Why are the minutes corrected?",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Readers of every version see this reason.",
        error_messages={
            "required": "Say why the minutes are corrected, so readers know what changed."
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The reason first: it is what a correction must have.
        self.order_fields(["reason", "summary"])
        self.relayout()


class DecisionForm(GDSForm):
    item = forms.ModelChoiceField(
        label="Agenda item",
        queryset=AgendaItem.objects.none(),
        required=False,
        empty_label="Not about one item",
        error_messages=_pick("an item of this meeting"),
    )
    text = forms.CharField(
        label="What was decided",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write down what was decided."},
    )
    decided_on = forms.DateField(
        label="Date of the decision (optional)",
        required=False,
        widget=date_input(),
        help_text="Leave empty for the day of the meeting.",
        error_messages={"invalid": "Enter a real date, for example 31/3/2027."},
    )

    def __init__(
        self, *args: Any, meeting: Meeting, items: list[AgendaItem], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = choice_field(self, "item")
        field.queryset = AgendaItem.objects.filter(pk__in=[i.pk for i in items])
        # The choices come from the list already read, not one more query per page.
        numbers = {item.pk: n for n, item in enumerate(items, start=1)}
        field.choices = [("", "Not about one item")] + [
            (item.pk, item_label(numbers[item.pk], item)) for item in items
        ]
        self.meeting = meeting

    def clean_decided_on(self) -> dt.date | None:
        decided_on: dt.date | None = self.cleaned_data.get("decided_on")
        if decided_on is not None and (problem := decided_on_problem(self.meeting, decided_on)):
            raise forms.ValidationError(problem)
        return decided_on


class ActionMinuteForm(GDSForm):
    """An action minuted under a decision, or under an item (a decision is recorded)."""

    about = forms.ChoiceField(
        label="Under which decision?",
        error_messages={
            **_pick("a decision or an item"),
            "required": "Choose the decision the action answers.",
        },
        help_text="For an item with no decision yet, the action is recorded as a decision too.",
    )
    title = forms.CharField(
        label="Action",
        max_length=200,
        error_messages={"required": "Say what is to be done."},
        help_text="Start with a verb, for example: Agree a timetable for joint briefings.",
    )
    owner = MemberChoiceField(
        label="Owner",
        queryset=Membership.objects.none(),
        error_messages={
            **_pick("the member who owns the action"),
            "required": "Choose the member who owns the action.",
        },
    )
    organisation = forms.ModelChoiceField(
        label="Owning organisation",
        queryset=Organisation.objects.none(),
        required=False,
        empty_label="The owner's organisation",
        error_messages=_pick("an organisation"),
    )
    due_date = forms.DateField(
        label="Due date",
        widget=date_input(),
        error_messages={
            "required": "Enter the date the action is due, for example 31/3/2027.",
            "invalid": "Enter a real date, for example 31/3/2027.",
        },
    )
    detail = forms.CharField(
        label="Detail (optional)",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(
        self,
        *args: Any,
        meeting: Meeting,
        items: list[AgendaItem],
        decisions: list[Decision],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.items = {item.pk: item for item in items}
        self.decisions = {d.pk: d for d in decisions}
        about = self.fields["about"]
        assert isinstance(about, forms.ChoiceField)
        about.choices = [
            ("", "Choose a decision"),
            *[(f"decision-{d.pk}", f"{d.reference}: {d.text[:80]}") for d in decisions],
            *[
                (f"item-{item.pk}", f"A new decision on item {n}. {item.title}")
                for n, item in enumerate(items, start=1)
            ],
        ]
        sitting = Membership.objects.current().filter(partnership_id=meeting.partnership_id)
        choice_field(self, "owner").queryset = sitting.select_related(
            "person", "organisation"
        ).order_by(Lower("person__name"))
        choice_field(self, "organisation").queryset = Organisation.objects.filter(
            Q(pk__in=sitting.values("organisation_id"))
        ).order_by(Lower("name"))

    def clean_about(self) -> tuple[Decision | None, AgendaItem | None]:
        kind, _, pk = self.cleaned_data["about"].partition("-")
        if kind == "decision" and pk.isdigit() and int(pk) in self.decisions:
            decision = self.decisions[int(pk)]
            return decision, decision.item
        if kind == "item" and pk.isdigit() and int(pk) in self.items:
            return None, self.items[int(pk)]
        raise forms.ValidationError("Choose a decision or an item from the list.")


class ApproveForm(GDSForm):
    meeting = forms.ModelChoiceField(
        queryset=Meeting.objects.none(),
        widget=forms.HiddenInput,
        error_messages={
            **_pick("the meeting"),
            "required": "Say at which meeting the minutes are approved.",
        },
    )

    def __init__(self, *args: Any, partnership_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "meeting").queryset = Meeting.objects.filter(
            partnership_id=partnership_id
        )


class DecisionSearchForm(GDSForm):
    """The decision log's search box and year, read from the query string."""

    q = forms.CharField(
        label="Search decisions",
        required=False,
        max_length=200,
        help_text="Words from the decision, its reference, the item or the meeting.",
    )
    year = forms.TypedChoiceField(
        label="Year",
        required=False,
        coerce=int,
        empty_value=None,
        error_messages=_pick("a year"),
    )

    def __init__(self, *args: Any, years: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        year = self.fields["year"]
        assert isinstance(year, forms.TypedChoiceField)
        year.choices = [("", "Any year"), *[(y, str(y)) for y in years]]

    def filters(self) -> dict[str, Any]:
        """The valid filters; a wrong value in the address is left out and reported."""
        self.is_valid()
        data = dict(getattr(self, "cleaned_data", {}))
        return {"q": data.get("q") or "", "year": data.get("year")}


FORMATS = [("csv", "CSV"), ("xlsx", "Excel")]


class DecisionExportForm(DecisionSearchForm):
    format = forms.ChoiceField(
        choices=FORMATS,
        required=False,
        error_messages=_pick("CSV or Excel"),
    )

    def chosen_format(self) -> str | None:
        """csv or xlsx; None when the address asks for something else."""
        value = self.data.get("format") or "csv"
        return value if value in dict(FORMATS) else None
