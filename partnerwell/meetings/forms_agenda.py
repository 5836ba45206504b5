"""Forms for agenda items, triage, the agenda builder and papers."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from partnerwell.core.forms import GDSForm
from partnerwell.meetings.models import AgendaItem, Ask, Meeting, Nature, Paper

PAPER_HELP = "PDF, Word (.docx), Excel (.xlsx) or OpenDocument text (.odt), at most {mb} MB."


class ItemForm(GDSForm):
    """A new item (with an optional paper) or changes to an existing one (no paper)."""

    title = forms.CharField(max_length=200, error_messages={"required": "Enter a title."})
    description = forms.CharField(
        label="Description (optional)",
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        max_length=5000,
        help_text="What the meeting is asked to consider, and why now.",
    )
    ask = forms.ChoiceField(
        label="What is the meeting asked for?",
        choices=Ask.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what the meeting is asked for."},
    )
    nature = forms.ChoiceField(
        label="Is the item strategic or operational?",
        choices=Nature.choices,
        widget=forms.RadioSelect,
        help_text="Strategic items shape what the partnership does; operational items "
        "are about running it.",
        error_messages={"required": "Choose strategic or operational."},
    )
    presenter = forms.CharField(label="Presenter (optional)", max_length=200, required=False)
    minutes_needed = forms.IntegerField(
        label="Time needed (minutes)",
        min_value=1,
        max_value=480,
        widget=forms.NumberInput(attrs={"class": "govuk-input govuk-input--width-4"}),
        error_messages={
            "required": "Enter the time the item needs, in minutes.",
            "invalid": "Enter the time as a whole number of minutes, like 20.",
            "min_value": "An item needs at least 1 minute.",
            "max_value": "An item can have at most 480 minutes (8 hours).",
        },
    )
    paper = forms.FileField(
        label="Paper (optional)",
        required=False,
        allow_empty_file=True,
        help_text="",
    )
    paper_title = forms.CharField(
        label="Title of the paper (optional)",
        max_length=200,
        required=False,
        help_text="Leave empty to use the item's title.",
    )

    def __init__(self, *args: Any, with_paper: bool = True, paper_mb: int = 20, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if with_paper:
            self.fields["paper"].help_text = PAPER_HELP.format(mb=paper_mb)
        else:
            del self.fields["paper"]
            del self.fields["paper_title"]
            self.relayout()

    @staticmethod
    def initial_for(item: AgendaItem) -> dict[str, Any]:
        return {name: getattr(item, name) for name in ItemForm.item_fields()}

    @staticmethod
    def item_fields() -> tuple[str, ...]:
        return ("title", "description", "ask", "nature", "presenter", "minutes_needed")

    def item_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.item_fields()}


class TriageForm(GDSForm):
    decision = forms.ChoiceField(
        label="What do the chairs decide?",
        choices=[
            ("accept", "Accept it onto the agenda"),
            ("defer", "Defer it to a later meeting or the forward plan"),
            ("decline", "Decline it"),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose to accept, defer or decline the item."},
    )
    meeting = forms.ModelChoiceField(
        label="Meeting to accept it into",
        queryset=Meeting.objects.none(),
        required=False,
        empty_label="Choose a meeting",
        help_text="Needed for an item on the forward plan.",
    )
    defer_to = forms.ModelChoiceField(
        label="Defer it to",
        queryset=Meeting.objects.none(),
        required=False,
        empty_label="The forward plan (no meeting yet)",
    )
    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=2000,
        help_text="Needed to defer or decline. The person who raised the item sees it.",
    )

    def __init__(
        self, *args: Any, item: AgendaItem, meetings: QuerySet[Meeting], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        meeting_field = self.fields["meeting"]
        defer_field = self.fields["defer_to"]
        assert isinstance(meeting_field, forms.ModelChoiceField)
        assert isinstance(defer_field, forms.ModelChoiceField)
        meeting_field.queryset = meetings
        later = meetings
        if item.meeting is not None:
            later = meetings.filter(starts_at__gt=item.meeting.starts_at)
        defer_field.queryset = later
        if item.meeting is not None:
            del self.fields["meeting"]
            self.relayout()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") in ("defer", "decline") and not data.get("reason", "").strip():
            self.add_error(
                "reason",
                "Say why the item is deferred or declined; the person who raised it sees this.",
            )
        return data


class PaperForm(GDSForm):
    paper = forms.FileField(
        label="File",
        allow_empty_file=True,
        error_messages={"required": "Choose the paper's file."},
    )
    title = forms.CharField(
        label="Title of the paper (optional)",
        max_length=200,
        required=False,
        help_text="Leave empty to use the item's title (or, when replacing, the old title).",
    )
    replace = forms.ModelChoiceField(
        label="Is this a new version of a paper already there?",
        queryset=Paper.objects.none(),
        required=False,
        empty_label="No, it is another paper",
    )

    def __init__(self, *args: Any, item: AgendaItem, paper_mb: int = 20, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["paper"].help_text = PAPER_HELP.format(mb=paper_mb)
        current = Paper.objects.filter(item=item, replaced_at__isnull=True)
        replace = self.fields["replace"]
        assert isinstance(replace, forms.ModelChoiceField)
        replace.queryset = current
        if not current.exists():
            del self.fields["replace"]
            self.relayout()


class MoveForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", "Up"), ("down", "Down")])


class PositionsForm(GDSForm):
    """A place number per movable item, so the whole order can be typed in at once."""

    def __init__(self, *args: Any, items: list[AgendaItem], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items = items
        for n, item in enumerate(items, start=1):
            self.fields[f"pos_{item.pk}"] = forms.IntegerField(
                label=f"Place of “{item.title}”",
                min_value=1,
                max_value=999,
                initial=n,
                error_messages={
                    "required": f"Enter a place number for “{item.title}”.",
                    "invalid": f"Enter the place of “{item.title}” as a whole number.",
                    "min_value": f"The place of “{item.title}” must be 1 or more.",
                    "max_value": f"The place of “{item.title}” must be 999 or less.",
                },
            )

    def positions(self) -> dict[int, int]:
        return {item.pk: self.cleaned_data[f"pos_{item.pk}"] for item in self.items}

    def rows(self) -> list[tuple[AgendaItem, forms.BoundField]]:
        return [(item, self[f"pos_{item.pk}"]) for item in self.items]
