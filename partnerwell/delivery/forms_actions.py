"""Forms for actions: the log's filters, adding and changing actions, progress notes,
the accountability period and reminder emails."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from crispy_forms_gds.layout import Div, Layout
from django import forms
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from partnerwell.core import digest
from partnerwell.core.forms import GDSForm, GDSModelForm, MemberChoiceField, choice_field
from partnerwell.core.models import Membership, Organisation, Partnership
from partnerwell.delivery.actions import Origin, one_year_before
from partnerwell.delivery.models import (
    OPEN_STATUSES,
    Action,
    ActionSource,
    ActionStatus,
    DigestPreference,
    Issue,
    Measure,
    Priority,
    Risk,
)
from partnerwell.healthcheck.models import Principle, Round, Statement

M = TypeVar("M", Risk, Issue, Priority)


def _date_input() -> forms.DateInput:
    # A date input's value must be YYYY-MM-DD, whatever the locale.
    return forms.DateInput(
        attrs={"type": "date", "class": "govuk-input govuk-input--width-10"}, format="%Y-%m-%d"
    )


def _pick(what: str) -> dict[str, str]:
    return {"invalid_choice": f"Choose {what} from the list."}


def _in_columns(form: GDSForm, column: str) -> None:
    """Lay a short GET form's fields side by side."""
    form.helper.layout = Layout(
        Div(*[Div(name, css_class=column) for name in form.fields], css_class="govuk-grid-row")
    )


WHO_CHOICES = [("", "Everyone"), ("mine", "Mine"), ("my_organisation", "My organisation's")]
DUE_CHOICES = [("", "Any date"), ("overdue", "Overdue"), ("soon", "Due in the next 7 days")]
STATUS_CHOICES = [("", "Any status"), ("open", "Open (not done or dropped)"), *ActionStatus.choices]
SOURCE_CHOICES = [
    ("", "Anywhere"),
    ("none", "Nowhere in particular"),
    *[(value, label) for value, label in ActionSource.choices if value],
]
SORT_CHOICES = [
    ("due", "Due date"),
    ("status", "Status"),
    ("owner", "Owner"),
    ("organisation", "Organisation"),
]


class ActionFilterForm(GDSForm):
    """The log's filters, read from the query string so they work without JavaScript."""

    who = forms.ChoiceField(
        label="Whose actions", choices=WHO_CHOICES, required=False, error_messages=_pick("whose")
    )
    due = forms.ChoiceField(
        label="Due", choices=DUE_CHOICES, required=False, error_messages=_pick("a due date")
    )
    status = forms.ChoiceField(
        label="Status", choices=STATUS_CHOICES, required=False, error_messages=_pick("a status")
    )
    source = forms.ChoiceField(
        label="Came from",
        choices=SOURCE_CHOICES,
        required=False,
        error_messages=_pick("where actions came from"),
    )
    organisation = forms.ModelChoiceField(
        label="Organisation",
        queryset=Organisation.objects.none(),
        required=False,
        empty_label="Any organisation",
        error_messages=_pick("an organisation"),
    )
    sort = forms.ChoiceField(
        label="Sort by", choices=SORT_CHOICES, required=False, error_messages=_pick("a sort order")
    )

    def __init__(self, *args: Any, partnership: Partnership | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if partnership is None:
            # Across partnerships: the person's own actions, sorted by partnership if asked.
            del self.fields["who"]
            del self.fields["organisation"]
            sort = self.fields["sort"]
            assert isinstance(sort, forms.ChoiceField)
            sort.choices = [*SORT_CHOICES[:2], ("partnership", "Partnership")]
        else:
            choice_field(self, "organisation").queryset = Organisation.objects.filter(
                Q(pk__in=Action.objects.filter(partnership=partnership).values("organisation_id"))
                | Q(pk__in=partnership.memberships.values("organisation_id"))
            ).order_by(Lower("name"))
        _in_columns(self, "govuk-grid-column-one-third")

    def filters(self) -> dict[str, Any]:
        """The valid filters; a wrong value in the address is left out and reported."""
        self.is_valid()
        return dict(getattr(self, "cleaned_data", {}))


def _members(partnership: Partnership, keep: Membership | None) -> QuerySet[Membership]:
    """Current members, and the present owner even if they have since left."""
    current = Q(pk__in=Membership.objects.current().filter(partnership=partnership).values("pk"))
    if keep is not None:
        current |= Q(pk=keep.pk)
    return (
        Membership.objects.filter(current, partnership=partnership)
        .select_related("person", "organisation")
        .order_by(Lower("person__name"))
    )


class ActionForm(GDSForm):
    """What a manager sets when adding or changing an action."""

    title = forms.CharField(
        label="Action",
        max_length=200,
        help_text="Start with a verb, for example: Agree a timetable for joint briefings.",
    )
    detail = forms.CharField(
        label="Detail (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What done looks like, and anything the owner needs to know.",
    )
    owner = MemberChoiceField(
        label="Owner",
        queryset=Membership.objects.none(),
        empty_label=None,
        help_text="The member who makes sure it happens and keeps the partnership updated.",
        error_messages=_pick("the member who owns the action"),
    )
    organisation = forms.ModelChoiceField(
        label="Owning organisation",
        queryset=Organisation.objects.none(),
        required=False,
        empty_label="The owner's organisation",
        help_text="Which organisation is answerable for it. Usually the owner's.",
        error_messages=_pick("an organisation"),
    )
    due_date = forms.DateField(
        label="Due date",
        widget=_date_input(),
        error_messages={"required": "Enter the date the action is due, for example 31/3/2027."},
    )
    measure = forms.ModelChoiceField(
        label="Measure it should move (optional)",
        queryset=Measure.objects.none(),
        required=False,
        empty_label="None",
        help_text="The partnership's measure that should get better when this is done.",
        error_messages=_pick("a measure"),
    )
    status = forms.ChoiceField(
        label="Status",
        choices=[(s.value, s.label) for s in OPEN_STATUSES],
        initial=ActionStatus.AGREED,
        widget=forms.RadioSelect,
        help_text="Proposed until the partnership agrees it.",
    )

    def __init__(
        self, *args: Any, partnership: Partnership, action: Action | None = None, **kwargs: Any
    ) -> None:
        if action is not None:
            kwargs.setdefault(
                "initial",
                {
                    "title": action.title,
                    "detail": action.detail,
                    "owner": action.owner_id,
                    "organisation": action.organisation_id,
                    "due_date": action.due_date,
                    "measure": action.measure_id,
                },
            )
        super().__init__(*args, **kwargs)
        self.fields["title"].error_messages["required"] = "Say what is to be done."
        choice_field(self, "owner").queryset = _members(
            partnership, action.owner if action else None
        )
        sitting = Membership.objects.current().filter(partnership=partnership)
        organisations = Q(pk__in=sitting.values("organisation_id"))
        if action is not None:
            organisations |= Q(pk=action.organisation_id)
        choice_field(self, "organisation").queryset = Organisation.objects.filter(
            organisations
        ).order_by(Lower("name"))
        choice_field(self, "measure").queryset = Measure.objects.filter(
            partnership=partnership
        ).order_by(Lower("title"))
        if action is not None:
            # Status moves with progress notes, so the timeline records each change.
            del self.fields["status"]


class ProgressNoteForm(GDSForm):
    text = forms.CharField(
        label="Progress note",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What has happened since the last note, and what happens next.",
    )
    status = forms.ChoiceField(
        label="Status",
        choices=[("", "No change"), *ActionStatus.choices],
        required=False,
        error_messages=_pick("a status"),
    )
    drop_reason = forms.CharField(
        label="Why is it dropped? (when dropping it)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    written_on = forms.DateField(
        label="Date",
        widget=_date_input(),
        help_text="An action marked done is recorded as done on this date.",
        error_messages={"required": "Enter the date of the note, for example 31/3/2027."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"written_on": timezone.localdate()})
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("status") == ActionStatus.DROPPED and not data.get("drop_reason", "").strip():
            self.add_error(
                "drop_reason", "Say why the action is dropped, so others know it was not forgotten."
            )
        written_on = data.get("written_on")
        if written_on and written_on > timezone.localdate():
            self.add_error("written_on", "A note cannot be dated in the future.")
        return data


class PeriodForm(GDSForm):
    """The accountability period, from the query string; the last 12 months by default."""

    start = forms.DateField(label="From", required=False, widget=_date_input())
    end = forms.DateField(label="To", required=False, widget=_date_input())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        today = timezone.localdate()
        kwargs.setdefault(
            "initial", {"start": one_year_before(today) + dt.timedelta(days=1), "end": today}
        )
        super().__init__(*args, **kwargs)
        _in_columns(self, "govuk-grid-column-one-quarter")

    def period(self) -> tuple[dt.date, dt.date]:
        """The chosen period; a blank end is today, a blank start a year before the end."""
        today = timezone.localdate()
        end, start = today, None
        if self.is_valid():
            end = self.cleaned_data.get("end") or today
            start = self.cleaned_data.get("start")
        return start or one_year_before(end) + dt.timedelta(days=1), end

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("start", "The start date must be on or before the end date.")
        return data


class HealthCheckSourceForm(forms.Form):
    """The principle (and statement) of a round an action answers, from the address."""

    principle = forms.IntegerField(min_value=1)
    statement = forms.IntegerField(min_value=1, required=False)

    def __init__(self, *args: Any, round: Round, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.round = round

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        principle = Principle.objects.filter(
            pk=data.get("principle") or 0, framework_id=self.round.framework_id
        ).first()
        if principle is None:
            raise forms.ValidationError("Choose a principle from this health check's results.")
        statement = None
        if data.get("statement"):
            statement = Statement.objects.filter(pk=data["statement"], principle=principle).first()
            if statement is None:
                raise forms.ValidationError(
                    "Choose a statement of that principle from the health check's results."
                )
        data["principle_obj"] = principle
        data["statement_obj"] = statement
        return data


class RecordSourceForm(forms.Form):
    """A risk, issue or priority of the partnership an action answers, from the address."""

    risk = forms.IntegerField(min_value=1, required=False)
    issue = forms.IntegerField(min_value=1, required=False)
    priority = forms.IntegerField(min_value=1, required=False)
    measure = forms.IntegerField(min_value=1, required=False)

    def __init__(self, *args: Any, partnership: Partnership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.partnership = partnership

    def initial_measure(self) -> dict[str, int]:
        """The measure named in the address, to preselect; none if it is not the partnership's."""
        pk = self.cleaned_data.get("measure") if self.is_valid() else None
        found = Measure.objects.filter(pk=pk or 0, partnership=self.partnership).exists()
        return {"measure": pk} if pk and found else {}

    def origin(self) -> Origin:
        """The origin named in the address, or none; a wrong id raises ValidationError."""
        if not self.is_valid():
            raise forms.ValidationError("The link to add this action is not complete.")
        data = self.cleaned_data
        if data.get("risk"):
            return Origin(source=ActionSource.RISK, risk=self._find(Risk, "risk"))
        if data.get("issue"):
            return Origin(source=ActionSource.ISSUE, issue=self._find(Issue, "issue"))
        if data.get("priority"):
            return Origin(source=ActionSource.PRIORITY, priority=self._find(Priority, "priority"))
        return Origin()

    def _find(self, model: type[M], name: str) -> M:
        found = model._default_manager.filter(
            pk=self.cleaned_data[name], partnership=self.partnership
        ).first()
        if found is None:
            raise forms.ValidationError(f"This partnership has no such {name}.")
        return found


class DigestPreferenceForm(GDSModelForm):
    sections = forms.MultipleChoiceField(
        label="What should the email include?",
        help_text="Untick what you do not want. A section with nothing new is left out.",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = DigestPreference
        fields = ["frequency"]
        widgets = {"frequency": forms.RadioSelect}
        labels = {"frequency": "How often should we send you your email digest?"}
        help_texts = {
            "frequency": "One email gathers what needs your attention across all your "
            "partnerships. Nothing is sent when there is nothing in it."
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The sections come from the apps' registrations, known only once they are ready.
        kinds = digest.choices()
        field = self.fields["sections"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = kinds
        left_out = set(self.instance.unsubscribed or [])
        self.fields["sections"].initial = [kind for kind, _ in kinds if kind not in left_out]

    def save(self, commit: bool = True) -> DigestPreference:
        chosen = set(self.cleaned_data["sections"])
        self.instance.unsubscribed = [kind for kind, _ in digest.choices() if kind not in chosen]
        return super().save(commit=commit)
