"""Forms for replies before a meeting, the register on the day and the attendance record."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from partnerwell.core.forms import GDSForm
from partnerwell.core.models import Membership
from partnerwell.meetings.attendance import RegisterRow
from partnerwell.meetings.models import Presence, Reply

PRESENCE_FIELD = re.compile(r"^presence_(\d+)$")


class ReplyForm(GDSForm):
    reply = forms.ChoiceField(
        label="Your reply",
        choices=Reply.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose whether you are attending, sending apologies or sending a deputy."
        },
    )
    deputy_name = forms.CharField(
        label="Name of your deputy (if you are sending one)",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"list": "registered-deputies", "autocomplete": "off"}),
    )
    note = forms.CharField(
        label="Anything the chair should know (optional)",
        max_length=300,
        required=False,
    )

    def __init__(self, *args: Any, deputies: list[Membership], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = [d.person.name for d in deputies]
        if not names:
            # The list attribute must point at a datalist, which the page draws only for deputies.
            self.fields["deputy_name"].widget.attrs.pop("list", None)
        self.fields["deputy_name"].help_text = (
            f"Your registered deputies: {', '.join(names)}. Choose one or type another name."
            if names
            else "Type the name of the person attending in your place."
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("reply") == Reply.DEPUTY and not (data.get("deputy_name") or "").strip():
            self.add_error("deputy_name", "Give the name of the deputy you are sending.")
        return data


class RegisterForm(GDSForm):
    """One presence choice and one deputy name per member on the register.

    Rows posted for anyone not on the register are refused, not ignored, so that a
    register taken on an out-of-date page does not silently drop people.
    """

    def __init__(self, *args: Any, rows: list[RegisterRow], **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                key: value
                for row in rows
                for key, value in (
                    (f"presence_{row.membership.pk}", row.initial_presence),
                    (f"deputy_{row.membership.pk}", row.initial_deputy_name),
                )
            },
        )
        super().__init__(*args, **kwargs)
        self.rows = rows
        for row in rows:
            name = row.membership.person.name
            self.fields[f"presence_{row.membership.pk}"] = forms.ChoiceField(
                label=f"{name}, {row.membership.organisation.name}",
                choices=Presence.choices,
                widget=forms.RadioSelect,
                error_messages={
                    "required": f"Choose whether {name} was present, absent, "
                    "sent apologies or sent a deputy.",
                    "invalid_choice": f"Choose whether {name} was present, absent, "
                    "sent apologies or sent a deputy.",
                },
            )
            self.fields[f"deputy_{row.membership.pk}"] = forms.CharField(
                label=f"Deputy for {name}",
                max_length=200,
                required=False,
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        known = {row.membership.pk for row in self.rows}
        posted = {int(m.group(1)) for key in self.data if (m := PRESENCE_FIELD.match(key))}
        if posted - known:
            raise forms.ValidationError(
                "One of the rows is not a member who counts at this meeting; "
                "open the register again and record it afresh."
            )
        for row in self.rows:
            pk = row.membership.pk
            if data.get(f"presence_{pk}") == Presence.DEPUTY and not data.get(f"deputy_{pk}"):
                self.add_error(
                    f"deputy_{pk}",
                    f"Give the name of the deputy who attended for {row.membership.person.name}.",
                )
        return data

    def entries(self) -> list[tuple[int, str, str]]:
        """The cleaned choices as (membership id, presence, deputy name)."""
        data = self.cleaned_data
        return [
            (
                row.membership.pk,
                data[f"presence_{row.membership.pk}"],
                data.get(f"deputy_{row.membership.pk}", ""),
            )
            for row in self.rows
        ]

    def choices_so_far(self) -> list[tuple[int, str, str]]:
        """Whatever valid choices were posted, for the live quorum check (no saving)."""
        entries = []
        for row in self.rows:
            pk = row.membership.pk
            presence = self.data.get(f"presence_{pk}", "")
            if presence in Presence.values:
                entries.append((pk, presence, str(self.data.get(f"deputy_{pk}", ""))[:200]))
        return entries

    def bound_rows(self) -> list[dict[str, Any]]:
        """Each register row with its two bound fields, for drawing the table."""
        return [
            {
                "row": row,
                "presence": self[f"presence_{row.membership.pk}"],
                "deputy": self[f"deputy_{row.membership.pk}"],
            }
            for row in self.rows
        ]


class WindowForm(GDSForm):
    n = forms.IntegerField(
        label="Number of meetings to look back over",
        min_value=2,
        max_value=24,
        required=False,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "spellcheck": "false", "class": "govuk-input--width-3"}
        ),
        error_messages={
            "min_value": "Look back over at least 2 meetings.",
            "max_value": "Look back over at most 24 meetings.",
            "invalid": "Give the number of meetings as a whole number, such as 6.",
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A GET form: a token in the address would leak into logs and history.
        self.helper.disable_csrf = True


class ExportForm(WindowForm):
    format = forms.ChoiceField(
        choices=[("csv", "CSV"), ("xlsx", "Excel")],
        error_messages={
            "required": "Choose CSV or Excel for the download.",
            "invalid_choice": "Choose CSV or Excel for the download.",
        },
    )
