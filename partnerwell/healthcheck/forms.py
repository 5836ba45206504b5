"""Forms for opening rounds, answering them, and writing or importing frameworks."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import Field, Layout, Size
from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.text import slugify

from partnerwell.core.forms import GDSForm, choice_field
from partnerwell.core.models import Membership, Partnership, Side
from partnerwell.healthcheck.frameworks import (
    AreaSpec,
    FrameworkFileError,
    FrameworkSpec,
    PrincipleSpec,
    StatementSpec,
    dump_framework,
    load_framework,
)
from partnerwell.healthcheck.models import Audience, Framework, Scale, Statement
from partnerwell.healthcheck.scoring import DONT_KNOW_LABEL, SCALES

REMINDER_CHOICES = [
    ("7", "A week before it closes"),
    ("3", "3 days before"),
    ("1", "The day before"),
]
DONT_KNOW = "dk"


class MemberMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Membership) -> str:
        side = f", {obj.side.name.lower()}" if obj.side else ""
        return f"{obj.person.name} ({obj.organisation.name}{side})"


class RoundForm(GDSForm):
    framework = forms.ModelChoiceField(
        queryset=Framework.objects.none(), label="Framework", empty_label=None
    )
    title = forms.CharField(
        max_length=200, label="Title", help_text="For example: Spring 2027 health check."
    )
    audience = forms.ChoiceField(
        choices=Audience.choices,
        initial=Audience.ALL,
        widget=forms.RadioSelect,
        label="Who is asked?",
    )
    side: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=Side.objects.none(), required=False, label="Which side (when asking one side)"
    )
    chosen = MemberMultipleChoiceField(
        queryset=Membership.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Members to ask (when choosing members)",
    )
    # A date input's value must be YYYY-MM-DD; the locale's 22/11/2026 would show it empty.
    # The GOV.UK class gives these inputs the size and focus style of the others.
    opens_on = forms.DateField(
        label="Opens on",
        widget=forms.DateInput(
            attrs={"type": "date", "class": "govuk-input govuk-input--width-10"},
            format="%Y-%m-%d",
        ),
    )
    closes_on = forms.DateField(
        label="Closes at the end of",
        widget=forms.DateInput(
            attrs={"type": "date", "class": "govuk-input govuk-input--width-10"},
            format="%Y-%m-%d",
        ),
    )
    anonymity_floor = forms.IntegerField(
        min_value=3,
        max_value=50,
        initial=3,
        widget=forms.NumberInput(attrs={"class": "govuk-input govuk-input--width-3"}),
        label="Anonymity floor",
        help_text="Results for any group with fewer answers than this are hidden. It cannot be below 3.",
    )
    ask_comments = forms.BooleanField(
        required=False, initial=True, label="Ask for an optional comment on each part"
    )
    reminder_days = forms.MultipleChoiceField(
        choices=REMINDER_CHOICES,
        required=False,
        initial=["3"],
        widget=forms.CheckboxSelectMultiple,
        label="Remind people who have not answered",
    )

    def __init__(
        self, *args: Any, partnership: Partnership, frameworks: QuerySet[Framework], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.partnership = partnership
        choice_field(self, "framework").queryset = frameworks
        sides = partnership.sides.all()
        if sides:
            choice_field(self, "side").queryset = sides
        else:
            del self.fields["side"]
            audience = self.fields["audience"]
            assert isinstance(audience, forms.ChoiceField)
            audience.choices = [c for c in Audience.choices if c[0] != Audience.SIDE]
        chosen = self.fields["chosen"]
        assert isinstance(chosen, forms.ModelMultipleChoiceField)
        chosen.queryset = (
            Membership.objects.current()
            .filter(partnership=partnership)
            .select_related("person", "organisation", "side")
            .order_by("person__name")
        )
        today = timezone.localdate()
        self.fields["opens_on"].initial = today
        self.fields["closes_on"].initial = today + dt.timedelta(days=14)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        opens, closes = data.get("opens_on"), data.get("closes_on")
        if opens and closes and closes < opens:
            self.add_error("closes_on", "The closing date must be on or after the opening date.")
        if closes and closes < timezone.localdate():
            self.add_error("closes_on", "The closing date has passed; choose a later date.")
        audience = data.get("audience")
        if audience == Audience.SIDE and not data.get("side"):
            self.add_error("side", "Choose the side to ask.")
        if audience == Audience.CHOSEN and not data.get("chosen"):
            self.add_error("chosen", "Choose at least one member to ask.")
        return data

    def window(self) -> tuple[dt.datetime, dt.datetime]:
        """Open at the start of the opening day; close at the end of the closing day."""
        tz = timezone.get_current_timezone()
        opens = dt.datetime.combine(self.cleaned_data["opens_on"], dt.time.min, tz)
        closes = dt.datetime.combine(self.cleaned_data["closes_on"], dt.time.max, tz)
        if opens < timezone.now() and self.cleaned_data["opens_on"] == timezone.localdate():
            opens = timezone.now()
        return opens, closes


def answer_choices(statement: Statement) -> list[tuple[str, str]]:
    scale = SCALES[statement.scale]
    labels = dict(scale.labels)
    if statement.scale == Scale.MATURITY and statement.anchors:
        labels = {int(k): f"{k}: {v}" for k, v in statement.anchors.items()}
    return [(str(a), labels[a]) for a in scale.answers] + [(DONT_KNOW, DONT_KNOW_LABEL)]


class AreaAnswersForm(forms.Form):
    """One part (area) of a framework: a question per statement and an optional comment."""

    def __init__(
        self, *args: Any, statements: list[Statement], ask_comment: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.statements = statements
        for s in statements:
            self.fields[s.key] = forms.ChoiceField(
                label=s.text,
                choices=answer_choices(s),
                widget=forms.RadioSelect,
                error_messages={"required": f"Choose an answer for “{s.text}”, or “Don't know”."},
            )
        layout = [Field.radios(s.key, legend_size=Size.SMALL, small=True) for s in statements]
        if ask_comment:
            layout.append(Field.textarea("comment", label_size=Size.SMALL))
        self.helper = FormHelper(self)
        self.helper.form_tag = False
        self.helper.layout = Layout(*layout)
        if ask_comment:
            self.fields["comment"] = forms.CharField(
                required=False,
                max_length=4000,
                widget=forms.Textarea(attrs={"rows": 4}),
                label="Anything you want to add about this part? (optional)",
                help_text="Your comment is shown without your name, mixed in with others.",
            )

    def answers(self) -> dict[str, int | None]:
        return {
            s.key: None if self.cleaned_data[s.key] == DONT_KNOW else int(self.cleaned_data[s.key])
            for s in self.statements
        }


class OutlineFrameworkForm(GDSForm):
    """A custom framework written as a simple outline in the browser."""

    title = forms.CharField(max_length=200, label="Title")
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), label="What it is for", required=False
    )
    source = forms.CharField(
        max_length=500,
        required=False,
        label="Source (optional)",
        help_text="Where the statements come from, if anywhere.",
    )
    scale = forms.ChoiceField(
        choices=[c for c in Scale.choices if c[0] != Scale.MATURITY],
        initial=Scale.AGREEMENT,
        widget=forms.RadioSelect,
        label="How people answer",
    )
    outline = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "true"}),
        label="Statements",
        help_text=(
            "One line each: “# ” starts a part, “## ” a principle, “- ” a statement. "
            "Start a statement with “- [warning]” when agreeing with it is a bad sign."
        ),
    )

    def __init__(self, *args: Any, key: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key = key

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "outline" not in data or "title" not in data:
            return data
        try:
            areas = parse_outline(data["outline"], data.get("scale") or Scale.AGREEMENT)
        except ValueError as exc:
            self.add_error("outline", str(exc))
            return data
        spec = FrameworkSpec(
            key=self.key or slugify(data["title"])[:60] or "framework",
            version=1,
            title=data["title"],
            source=data.get("source") or "Written by the partnership",
            description=data.get("description") or data["title"],
            scale=data.get("scale") or Scale.AGREEMENT,
            compare_by=None,
            areas=tuple(areas),
        )
        document = dump_framework(spec)
        try:
            data["spec"] = load_framework(document)
        except FrameworkFileError as exc:
            self.add_error("outline", " ".join(str(e) for e in exc.errors))
            return data
        data["document"] = document
        return data


def _key(prefix: str, text: str, used: set[str]) -> str:
    # The same wording gives the same key, so unchanged statements compare across versions.
    base = f"{prefix}-{slugify(text)[:40]}".strip("-") or prefix
    digest = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:6]
    key = f"{base}-{digest}"
    while key in used:
        key += "x"
    used.add(key)
    return key


def parse_outline(text: str, scale: str) -> list[AreaSpec]:
    """Turn "# part / ## principle / - statement" lines into framework areas."""
    areas: list[dict[str, Any]] = []
    used: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("## "):
            if not areas:
                raise ValueError(f"Line {number}: put a part (“# ”) before the first principle.")
            title = line[3:].strip()
            areas[-1]["principles"].append({"title": title, "statements": [], "line": number})
        elif line.startswith("# "):
            areas.append({"title": line[2:].strip(), "principles": [], "line": number})
        elif line.startswith(("- ", "* ")):
            if not areas or not areas[-1]["principles"]:
                raise ValueError(
                    f"Line {number}: put a principle (“## ”) before the first statement."
                )
            statement = line[2:].strip()
            reverse = statement.lower().startswith("[warning]")
            if reverse:
                statement = statement[len("[warning]") :].strip()
            if not statement:
                raise ValueError(f"Line {number}: the statement is empty.")
            areas[-1]["principles"][-1]["statements"].append((statement, reverse))
        else:
            raise ValueError(
                f"Line {number}: start the line with “# ” for a part, “## ” for a principle "
                "or “- ” for a statement."
            )
    if not areas:
        raise ValueError("Write at least one part, one principle and one statement.")
    result = []
    for area in areas:
        principles = []
        for p in area["principles"]:
            if not p["statements"]:
                raise ValueError(
                    f"Line {p['line']}: the principle “{p['title']}” has no statements."
                )
            principles.append(
                PrincipleSpec(
                    key=_key("p", p["title"], used),
                    title=p["title"],
                    description="",
                    evidence=(),
                    statements=tuple(
                        StatementSpec(key=_key("s", s, used), text=s, scale=scale, reverse=r)
                        for s, r in p["statements"]
                    ),
                )
            )
        if not principles:
            raise ValueError(f"Line {area['line']}: the part “{area['title']}” has no principles.")
        result.append(
            AreaSpec(
                key=_key("a", area["title"], used),
                title=area["title"],
                principles=tuple(principles),
            )
        )
    return result


def outline_from(framework: Framework) -> str:
    """The outline text of a stored framework, for editing it."""
    lines: list[str] = []
    for area in framework.areas.prefetch_related("principles__statements"):
        lines.append(f"# {area.title}")
        for principle in area.principles.all():
            lines.append(f"## {principle.title}")
            for s in principle.statements.all():
                lines.append(f"- {'[warning] ' if s.reverse else ''}{s.text}")
        lines.append("")
    return "\n".join(lines)


class ImportFrameworkForm(GDSForm):
    file = forms.FileField(label="Framework file (YAML)")

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > 1024 * 1024:
            raise forms.ValidationError(
                "The file is larger than 1 MB; a framework file is much smaller."
            )
        return upload


class DiscussForm(forms.Form):
    principle = forms.IntegerField()
    statement = forms.IntegerField(required=False)
    note = forms.CharField(max_length=300, required=False)
