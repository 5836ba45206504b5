"""Meeting fixtures: a chair on each side of partnership A and meetings to work on."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from partnerwell.core.models import Membership, Organisation, Partnership, Role, User
from partnerwell.meetings import services
from partnerwell.meetings.models import Meeting, MeetingStatus
from tests.conftest import PASSWORD, _join, _person


@pytest.fixture
def mgmt_chair(partnership_a: Partnership, council: Organisation) -> User:
    """Chair of partnership A, on the management side."""
    user = _person("mia@example.org", "Mia Chair")
    _join(partnership_a, user, council, Role.CHAIR, "Management side", decision_maker=True)
    return user


@pytest.fixture
def staff_chair(partnership_a: Partnership, union: Organisation) -> User:
    """Co-chair of partnership A, on the staff side."""
    user = _person("sam@example.org", "Sam Cochair")
    _join(partnership_a, user, union, Role.CO_CHAIR, "Staff side")
    return user


@pytest.fixture
def mgmt_chair_client(mgmt_chair: User) -> Client:
    client = Client()
    client.login(username=mgmt_chair.email, password=PASSWORD)
    return client


@pytest.fixture
def staff_chair_client(staff_chair: User) -> Client:
    client = Client()
    client.login(username=staff_chair.email, password=PASSWORD)
    return client


def make_meeting(
    partnership: Partnership,
    by: User,
    *,
    days: int = 30,
    hours: int = 2,
    status: str = MeetingStatus.AGENDA_OPEN,
    title: str = "Partnership forum",
) -> Meeting:
    """A meeting `days` from now (negative: in the past) lasting `hours`, at `status`."""
    start = (timezone.now() + dt.timedelta(days=days)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    meeting = services.meeting_create(
        partnership=partnership,
        by=by,
        title=title,
        kind="forum",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=hours),
        time_zone="Europe/London",
        place="Council House, Room 2",
        video_link="",
    )
    Meeting.objects.filter(pk=meeting.pk).update(status=status)
    meeting.refresh_from_db()
    return meeting


@pytest.fixture
def meeting(partnership_a: Partnership, alice: User) -> Meeting:
    """A forum meeting of partnership A in 30 days, with its agenda open."""
    return make_meeting(partnership_a, alice)


@pytest.fixture
def held(partnership_a: Partnership, alice: User) -> Meeting:
    """A meeting of partnership A held two weeks ago (for minutes and decisions)."""
    return make_meeting(
        partnership_a, alice, days=-14, status=MeetingStatus.HELD, title="March forum"
    )


@pytest.fixture
def held_b(partnership_b: Partnership, carol: User) -> Meeting:
    """A meeting of partnership B held two weeks ago."""
    return make_meeting(partnership_b, carol, days=-14, status=MeetingStatus.HELD)


@pytest.fixture
def meeting_b(partnership_b: Partnership, carol: User) -> Meeting:
    """A meeting of partnership B, which alice, bob and dave must never reach."""
    return make_meeting(partnership_b, carol)


__all__ = ["Membership", "make_meeting"]
