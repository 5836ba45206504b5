"""Every meetings URL that takes an object id answers 404 to a member of another
partnership, and sends anonymous visitors to sign in.

The walker finds the routes itself, so pages added later are covered without
being listed here; the object behind `<pk>` is known from the route's first part.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.db.models import Model
from django.test import Client
from django.utils import timezone

from partnerwell.core.models import Partnership, User
from partnerwell.meetings.models import (
    AgendaApproval,
    AgendaItem,
    Attendance,
    CalendarToken,
    Decision,
    HeldReview,
    Meeting,
    MeetingReview,
    MeetingSeries,
    MeetingSettings,
    MinuteEntry,
    Minutes,
    Paper,
    PapersPack,
    ReviewInvitation,
)
from tests.url_walk import all_routes

# The first part of a route tells which object its <pk> is.
PK_OBJECTS = {
    "meetings": "meeting",
    "agenda-items": "item",
    "papers": "paper",
    "papers-packs": "pack",
    "minutes": "minutes",
    "decisions": "decision",
}


def _meeting_routes() -> list[tuple[str, str]]:
    routes = []
    for route, pattern in all_routes():
        name = pattern.name or ""
        kwargs = set(re.findall(r"<(?:\w+:)?(\w+)>", route))
        if name.startswith("meetings-") and kwargs & {"pk", "partnership_id"}:
            routes.append((route, name))
    return routes


@pytest.fixture
def a_objects(
    alice: User, partnership_a: Partnership, tmp_path: Path, settings: object
) -> dict[str, int]:
    settings.MEDIA_ROOT = tmp_path  # type: ignore[attr-defined]
    from tests.meetings.conftest import make_meeting

    meeting = make_meeting(partnership_a, alice, days=-1)
    item = AgendaItem.objects.filter(meeting=meeting).first()
    assert item is not None
    paper = Paper(item=item, title="Budget", original_name="budget.pdf", kind="pdf", size=9)
    paper.file.save("x.pdf", ContentFile(b"%PDF-1.4\n"), save=False)
    paper.save()
    pack = PapersPack.objects.create(meeting=meeting, version=1, status="ready")
    minutes = Minutes.objects.create(meeting=meeting)
    decision = Decision.objects.create(
        partnership=partnership_a,
        meeting=meeting,
        item=item,
        reference="D2026/01",
        text="Agreed the budget.",
        decided_on=timezone.localdate(),
    )
    return {
        "partnership_id": partnership_a.pk,
        "meeting": meeting.pk,
        "item": item.pk,
        "paper": paper.pk,
        "pack": pack.pk,
        "minutes": minutes.pk,
        "decision": decision.pk,
    }


# How each meetings model reaches its partnership. Calendar tokens belong to a person,
# not a partnership, so a refused visit cannot touch partnership A's.
TO_PARTNERSHIP: dict[type[Model], str] = {
    MeetingSettings: "partnership",
    MeetingSeries: "partnership",
    Meeting: "partnership",
    AgendaItem: "partnership",
    Paper: "item__partnership",
    AgendaApproval: "meeting__partnership",
    PapersPack: "meeting__partnership",
    Attendance: "meeting__partnership",
    Minutes: "meeting__partnership",
    MinuteEntry: "minutes__meeting__partnership",
    Decision: "partnership",
    MeetingReview: "meeting__partnership",
    ReviewInvitation: "meeting__partnership",
    HeldReview: "meeting__partnership",
}


def _snapshot(partnership_id: int) -> dict[str, list[dict[str, object]]]:
    """Every row of every meetings model belonging to the partnership, field by field
    (so a change of any value, an updated time, a new row or a deleted one shows)."""
    return {
        model.__name__: list(model.objects.filter(**{path: partnership_id}).order_by("pk").values())
        for model, path in TO_PARTNERSHIP.items()
    }


def test_the_snapshot_covers_every_meetings_model() -> None:
    models = set(apps.get_app_config("meetings").get_models())
    assert models == set(TO_PARTNERSHIP) | {CalendarToken}


def _fill(route: str, values: dict[str, int]) -> str:
    what = PK_OBJECTS.get(route.split("/", 1)[0], "")

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(values[what] if name == "pk" else values[name])

    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", value, route)


def _visit(client: Client, url: str) -> int | tuple[int, str]:
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url)
    if response.status_code == 302:
        return 302, response["Location"]
    return response.status_code


def test_it_finds_the_meeting_routes() -> None:
    # Guards the walker: if it found nothing, the tests below would prove nothing.
    names = {name for _, name in _meeting_routes()}
    assert {"meetings-view-meeting", "meetings-list-meetings", "meetings-cancel-meeting"} <= names
    unknown = {r for r, n in _meeting_routes() if "<pk>" in r.replace("<int:pk>", "<pk>")}
    assert all(r.split("/", 1)[0] in PK_OBJECTS for r in unknown), unknown


@pytest.mark.parametrize(("route", "name"), _meeting_routes())
def test_it_hides_other_partnerships_objects(
    route: str, name: str, a_objects: dict[str, int], carol: User, carol_client: Client
) -> None:
    url = _fill(route, a_objects)
    before = _snapshot(a_objects["partnership_id"])
    assert sum(len(rows) for rows in before.values()) >= 6  # the objects made above
    assert _visit(carol_client, url) == 404, url
    # Nothing of partnership A was made, changed or removed by the refused request.
    assert _snapshot(a_objects["partnership_id"]) == before


@pytest.mark.parametrize(("route", "name"), _meeting_routes())
def test_it_sends_anonymous_visitors_to_sign_in(
    route: str, name: str, a_objects: dict[str, int], client: Client
) -> None:
    url = _fill(route, a_objects)
    result = _visit(client, url)
    assert isinstance(result, tuple) and result[1].startswith("/accounts/login/"), (url, result)
