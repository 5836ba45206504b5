"""Forms for partnerships, organisations, members, terms and imports."""

from __future__ import annotations

from typing import Any

from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import Layout, Size
from django import forms
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils.translation import gettext as _

from partnerwell.core.guessing import reset_allowed
from partnerwell.core.models import (
    Membership,
    Organisation,
    Partnership,
    PartnershipType,
    Role,
    Sector,
    User,
)
from partnerwell.core.services import descendants
from partnerwell.core.tasks import send_password_reset


def date_input() -> forms.DateInput:
    """A browser date picker: it reads and writes dates as 2026-03-31, whatever the locale."""
    return forms.DateInput(
        format="%Y-%m-%d", attrs={"type": "date", "class": "govuk-input govuk-input--width-10"}
    )


def choice_field(form: forms.BaseForm, name: str) -> forms.ModelChoiceField:
    """A form's model choice field, typed so its queryset can be narrowed."""
    field = form.fields[name]
    assert isinstance(field, forms.ModelChoiceField)
    return field


class _GDSLayout:
    """GOV.UK markup for a form; the page draws the error summary and button."""

    fields: dict[str, forms.Field]

    def _lay_out(self) -> None:
        self.helper = FormHelper(self)
        self.helper.form_tag = False
        self.helper.label_size = Size.SMALL
        self.helper.legend_size = Size.SMALL

    def relayout(self) -> None:
        """Lay the form out again after fields were added, removed or reordered
        (the helper laid out the fields the form had when it was made)."""
        self.helper.layout = Layout(*self.fields)


class GDSForm(_GDSLayout, forms.Form):
    """A form rendered with GOV.UK markup; the page draws the error summary and button."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lay_out()


class GDSModelForm(_GDSLayout, forms.ModelForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lay_out()


SIDE_CHOICES = [
    ("none", "No sides"),
    ("management_staff", "Management side and staff side"),
    ("custom", "Other sides (name them below)"),
]


def _side_names(choice: str, custom: str) -> list[str]:
    if choice == "management_staff":
        return ["Management side", "Staff side"]
    if choice == "custom":
        return [n.strip() for n in custom.split(",") if n.strip()]
    return []


class PartnershipForm(GDSModelForm):
    sides_choice = forms.ChoiceField(
        label="Does the partnership have sides?",
        choices=SIDE_CHOICES,
        initial="none",
        widget=forms.RadioSelect,
        help_text="A partnership forum usually has a management side and a staff side.",
    )
    custom_sides = forms.CharField(
        label="Names of the sides",
        required=False,
        help_text="Separate the names with commas, for example: Employers, Unions.",
    )

    class Meta:
        model = Partnership
        fields = ["name", "kind", "area", "purpose", "vision", "parent"]
        widgets = {
            "purpose": forms.Textarea(attrs={"rows": 3}),
            "vision": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, user: User, parents: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parent = choice_field(self, "parent")
        parent.queryset = parents
        parent.label = "Parent partnership (optional)"
        parent.empty_label = "None"
        if self.instance.pk:
            # A partnership cannot sit under itself or under one of its own sub-groups.
            parent.queryset = parents.exclude(pk__in=descendants(self.instance))
            names = [s.name for s in self.instance.sides.all()]
            if [n.lower() for n in names] == ["management side", "staff side"]:
                self.initial["sides_choice"] = "management_staff"
            elif names:
                self.initial["sides_choice"] = "custom"
                self.initial["custom_sides"] = ", ".join(names)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        choice = data.get("sides_choice", "none")
        names = _side_names(choice, data.get("custom_sides", ""))
        if choice == "custom" and len(names) < 2:
            self.add_error("custom_sides", "Name at least two sides, separated by commas.")
        if any(len(n) > 100 for n in names):
            self.add_error("custom_sides", "Keep each side's name to 100 characters or fewer.")
        if len(names) > 20:
            self.add_error("custom_sides", "A partnership can have at most 20 sides.")
        if len({n.lower() for n in names}) != len(names):
            self.add_error("custom_sides", "Each side needs a different name.")
        data["side_names"] = names
        return data


class NewPartnershipForm(PartnershipForm):
    organisation = forms.ModelChoiceField(
        label="Which organisation do you represent on it?",
        queryset=Organisation.objects.none(),
        help_text="You become the partnership manager. Add your organisation first if it is not listed.",
    )

    def __init__(self, *args: Any, top_level: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "organisation").queryset = Organisation.objects.order_by(Lower("name"))
        self.fields["kind"].initial = PartnershipType.STRATEGIC
        if not top_level:
            # Who may start partnerships is the instance's choice (PARTNERSHIP_CREATORS);
            # a manager may still add sub-groups under the partnerships they manage.
            parent = choice_field(self, "parent")
            parent.required = True
            parent.label = _("Parent partnership")
            parent.empty_label = None
            parent.help_text = _(
                "You can add a sub-group under a partnership you manage. To start a new "
                "partnership of its own, ask the site's administrators."
            )
            parent.error_messages["required"] = _(
                "Choose the partnership you manage that this sub-group belongs to."
            )


class OrganisationForm(GDSModelForm):
    # An address typed without a scheme is taken as https.
    website = forms.URLField(required=False, assume_scheme="https", label="Website (optional)")

    class Meta:
        model = Organisation
        fields = ["name", "sector", "website"]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        clash = Organisation.objects.filter(name__iexact=name).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(
                f"{clash.get().name} is already in the directory; use that one."
            )
        return name


def _responsibility_list(raw: str) -> list[str]:
    seen: dict[str, str] = {}
    for item in raw.split(","):
        label = item.strip()
        if label and label.lower() not in seen:
            seen[label.lower()] = label[:80]
    return list(seen.values())


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Membership) -> str:
        return f"{obj.person.name} ({obj.organisation.name})"


MEMBERSHIP_FIELDS = [
    "organisation",
    "role",
    "side",
    "deputy_for",
    "decision_maker",
    "start_date",
    "end_date",
]
MEMBERSHIP_WIDGETS = {"side": forms.RadioSelect}
MEMBERSHIP_FIELD_CLASSES = {"deputy_for": MemberChoiceField}


class MembershipFieldsMixin(forms.ModelForm):
    responsibilities_text = forms.CharField(
        label="Named responsibilities (optional)",
        required=False,
        help_text="Separate them with commas, for example: media liaison, safeguarding lead.",
    )

    def _setup(self, partnership: Partnership) -> None:
        self.partnership = partnership
        choice_field(self, "organisation").queryset = Organisation.objects.order_by(Lower("name"))
        sides = partnership.sides.all()
        if sides:
            side = choice_field(self, "side")
            side.queryset = sides
            side.required = True
            side.empty_label = None
        else:
            del self.fields["side"]
        deputies_for = (
            Membership.objects.current()
            .filter(partnership=partnership)
            .exclude(role=Role.DEPUTY)
            .select_related("person", "organisation")
        )
        if self.instance.pk:
            deputies_for = deputies_for.exclude(pk=self.instance.pk)
        deputy_for = choice_field(self, "deputy_for")
        deputy_for.queryset = deputies_for
        deputy_for.label = "Deputy for (only for deputies)"
        self.fields[
            "decision_maker"
        ].label = "Can take decisions for their organisation on the spot"
        self.fields["start_date"].widget = date_input()
        self.fields["end_date"].widget = date_input()
        if self.instance.pk:
            self.initial["responsibilities_text"] = ", ".join(self.instance.responsibilities)

    def clean_responsibilities_text(self) -> list[str]:
        return _responsibility_list(self.cleaned_data.get("responsibilities_text", ""))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.instance.partnership = self.partnership
        return data


class AddMemberForm(MembershipFieldsMixin, GDSModelForm):
    email = forms.EmailField(label="Email address")
    name = forms.CharField(label="Full name", max_length=200)

    class Meta:
        model = Membership
        fields = MEMBERSHIP_FIELDS
        widgets = MEMBERSHIP_WIDGETS
        field_classes = MEMBERSHIP_FIELD_CLASSES

    field_order = [
        "name",
        "email",
        "organisation",
        "role",
        "side",
        "deputy_for",
        "decision_maker",
        "responsibilities_text",
        "start_date",
        "end_date",
    ]

    def __init__(self, *args: Any, partnership: Partnership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup(partnership)
        self.order_fields(self.field_order)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        already = Membership.objects.filter(
            partnership=self.partnership, person__email__iexact=email
        ).exists()
        if already:
            raise forms.ValidationError(f"{email} is already a member of this partnership.")
        return email


class EditMemberForm(MembershipFieldsMixin, GDSModelForm):
    class Meta:
        model = Membership
        fields = MEMBERSHIP_FIELDS
        widgets = MEMBERSHIP_WIDGETS
        field_classes = MEMBERSHIP_FIELD_CLASSES

    def __init__(self, *args: Any, partnership: Partnership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup(partnership)
        self.order_fields(
            [*self.Meta.fields[:5], "responsibilities_text", "start_date", "end_date"]
        )


class OwnMembershipForm(GDSForm):
    """What a member may change about their own place on a partnership."""

    responsibilities_text = forms.CharField(
        label="Your named responsibilities",
        required=False,
        help_text="Separate them with commas, for example: media liaison.",
    )

    def clean_responsibilities_text(self) -> list[str]:
        return _responsibility_list(self.cleaned_data.get("responsibilities_text", ""))


class MyDetailsForm(GDSModelForm):
    class Meta:
        model = User
        fields = ["name"]
        labels = {"name": "Your full name"}


class TermsForm(GDSForm):
    text = forms.CharField(
        label="Terms of reference",
        widget=forms.Textarea(attrs={"rows": 16}),
        help_text="Write in Markdown: ## for a heading, - for a list item, **bold**.",
    )
    adopted_on = forms.DateField(label="Date adopted", widget=date_input())
    next_review_on = forms.DateField(label="Date of next review", widget=date_input())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        adopted, review = data.get("adopted_on"), data.get("next_review_on")
        if adopted and review and review <= adopted:
            self.add_error("next_review_on", "The next review must come after the date adopted.")
        return data


class ImportForm(GDSForm):
    file = forms.FileField(
        label="Member list (CSV or XLSX)",
        help_text=(
            "Columns: organisation, sector, name, email, role, side, decision-maker. "
            "The first row holds the column names."
        ),
    )
    invite = forms.BooleanField(
        label="Email an invitation to people who have no account yet",
        required=False,
        initial=True,
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = settings.IMPORT_MAX_MB * 1024 * 1024
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is larger than {settings.IMPORT_MAX_MB} MB; split it into smaller files."
            )
        return upload


class TokenForm(GDSForm):
    name = forms.CharField(
        label="What is this token for?",
        max_length=100,
        help_text="For example: monthly report script. Only you can see the name.",
    )


class QueuedPasswordResetForm(PasswordResetForm):
    """Password reset whose email is sent by the task worker, not the request."""

    def get_users(self, email: str) -> Any:
        # Invited people who never set a password may use this to set one too.
        return User.objects.filter(email__iexact=email.strip(), is_active=True)

    def save(self, *args: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
        email = self.cleaned_data["email"]
        # Over the limit, nothing is queued, but the page says the same as ever: no oracle.
        if not reset_allowed(request, email):
            return
        for user in self.get_users(email):
            send_password_reset.enqueue(user_id=user.pk)


SECTOR_FILTER_CHOICES = [("", "All sectors"), *Sector.choices]
