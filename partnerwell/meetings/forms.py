"""Forms for meetings themselves and a partnership's meeting rules."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django import forms
from django.conf import settings

from partnerwell.core.forms import GDSForm, GDSModelForm
from partnerwell.core.models import Organisation, Partnership, Sector
from partnerwell.meetings.models import MeetingSeries, MeetingSettings, MeetingType

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME_WIDGET = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


def _exists(day: dt.date, moment: dt.time, zone: zoneinfo.ZoneInfo) -> bool:
    """False for a wall-clock time skipped when the clocks go forward."""
    local = dt.datetime.combine(day, moment, tzinfo=zone)
    back = local.astimezone(dt.UTC).astimezone(zone)
    return back.replace(tzinfo=None) == local.replace(tzinfo=None)


class MeetingForm(GDSForm):
    """Date, start and end time are entered in the meeting's own time zone."""

    title = forms.CharField(max_length=200, error_messages={"required": "Enter a title."})
    kind = forms.ChoiceField(label="Type", choices=MeetingType.choices, widget=forms.RadioSelect)
    series = forms.ModelChoiceField(
        label="Series (optional)",
        queryset=MeetingSeries.objects.none(),
        required=False,
        empty_label="Not part of a series",
    )
    new_series = forms.CharField(
        label="Or start a new series (optional)",
        max_length=200,
        required=False,
        help_text="For example: Quarterly board.",
    )
    date = forms.DateField(
        widget=DATE_WIDGET,
        error_messages={"required": "Enter the date.", "invalid": "Enter a real date."},
    )
    start_time = forms.TimeField(
        widget=TIME_WIDGET,
        error_messages={"required": "Enter the start time.", "invalid": "Enter a time like 14:00."},
    )
    end_time = forms.TimeField(
        widget=TIME_WIDGET,
        error_messages={"required": "Enter the end time.", "invalid": "Enter a time like 16:00."},
    )
    time_zone = forms.CharField(
        max_length=64,
        initial=settings.TIME_ZONE,
        help_text="The time zone the times are in, such as Europe/London.",
    )
    place = forms.CharField(max_length=300, required=False)
    video_link = forms.URLField(
        label="Video link (optional)",
        max_length=500,
        required=False,
        assume_scheme="https",
        error_messages={"invalid": "Enter a full web address, like https://meet.example.org/abc."},
    )

    def __init__(self, *args: Any, partnership: Partnership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["series"].queryset = MeetingSeries.objects.filter(partnership=partnership)  # type: ignore[attr-defined]
        if not MeetingSeries.objects.filter(partnership=partnership).exists():
            del self.fields["series"]
            self.relayout()

    def clean_time_zone(self) -> str:
        name = self.cleaned_data["time_zone"].strip()
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise forms.ValidationError(
                f"“{name}” is not a time zone name; use one such as Europe/London."
            ) from None
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        day, start, end, tz = (data.get(k) for k in ("date", "start_time", "end_time", "time_zone"))
        if day and start and end and tz:
            if end <= start:
                self.add_error("end_time", "The meeting must end after it starts.")
            else:
                zone = zoneinfo.ZoneInfo(tz)
                for field, moment in (("start_time", start), ("end_time", end)):
                    if not _exists(day, moment, zone):
                        self.add_error(
                            field,
                            f"{moment:%H:%M} does not exist on {day.day} {day:%B %Y} in {tz}: "
                            "the clocks go forward then. Choose another time.",
                        )
                data["starts_at"] = dt.datetime.combine(day, start, tzinfo=zone)
                data["ends_at"] = dt.datetime.combine(day, end, tzinfo=zone)
        if data.get("series") and data.get("new_series"):
            self.add_error("new_series", "Choose a series or start a new one, not both.")
        return data

    @staticmethod
    def initial_for(meeting: Any) -> dict[str, Any]:
        start = meeting.local_start
        end = meeting.local_end
        return {
            "title": meeting.title,
            "kind": meeting.kind,
            "series": meeting.series_id,
            "date": start.date(),
            "start_time": start.time(),
            "end_time": end.time(),
            "time_zone": meeting.time_zone,
            "place": meeting.place,
            "video_link": meeting.video_link,
        }


class CancelForm(GDSForm):
    reason = forms.CharField(
        label="Why is the meeting cancelled?",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        error_messages={"required": "Say why the meeting is cancelled."},
        help_text="Members see this, and calendars show the meeting as cancelled.",
    )


class MeetingSettingsForm(GDSModelForm):
    quorum_sectors = forms.MultipleChoiceField(
        label="At least one member present from each of these sectors",
        choices=Sector.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = MeetingSettings
        fields = [
            "submission_deadline_days",
            "papers_days",
            "attendance_window",
            "quorum_min_members",
            "quorum_each_side",
            "quorum_organisations",
            "quorum_sectors",
        ]
        labels = {
            "submission_deadline_days": "Deadline for agenda items (days before the meeting)",
            "papers_days": "Papers go out (days before the meeting)",
            "attendance_window": "Attendance figures look back over (meetings)",
            "quorum_min_members": "Quorum: at least this many members present (optional)",
            "quorum_each_side": "Quorum: every side represented",
            "quorum_organisations": "Quorum: at least one member present from each of these organisations",
        }
        widgets = {"quorum_organisations": forms.CheckboxSelectMultiple}

    def __init__(self, *args: Any, partnership: Partnership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        sitting = partnership.memberships.current().values("organisation_id")
        self.fields["quorum_organisations"].queryset = Organisation.objects.filter(  # type: ignore[attr-defined]
            pk__in=sitting
        )
        if not partnership.sides.exists():
            del self.fields["quorum_each_side"]
