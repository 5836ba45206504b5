"""Services for the agenda part of meetings (being built)."""

from __future__ import annotations

from typing import Any

from partnerwell.core.models import User
from partnerwell.meetings.models import Meeting


def meeting_section(meeting: Meeting, user: User) -> dict[str, Any]:
    """What the meeting page shows of this area (template meetings/sections/agenda.html)."""
    return {}
