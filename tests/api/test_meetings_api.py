"""The API for meetings, agenda items, attendance, decisions and minutes.

``meetings_api_ids``, ``MEETING_BODIES``, ``MEETING_MEMBER_WRITES``,
``MEETING_CHAIR_WRITES`` and ``MEETING_PATHS`` are written so that the API-wide
walkers in tests/api can use them too.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from partnerwell.api.api import api
from partnerwell.core.models import Membership, Organisation, Partnership, Role, User
from partnerwell.meetings import services
from partnerwell.meetings.models import (
    AgendaItem,
    Attendance,
    Decision,
    ItemStatus,
    Meeting,
    MeetingStatus,
    MinuteEntry,
    Minutes,
    MinutesStatus,
    Paper,
)
from tests.api.conftest import ApiClient, api_client_for, assert_error
from tests.conftest import _join, _person
from tests.delivery.test_outcomes_api import fill

API = "/api/v1"
CHAIR_EMAIL = "chloe.chair@example.org"


def _meeting(
    partnership: Partnership, by: User, start: dt.datetime, *, hours: int = 2, title: str
) -> Meeting:
    meeting = services.meeting_create(
        partnership=partnership,
        by=by,
        title=title,
        kind="board",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=hours),
        time_zone="Europe/London",
        place="Council House",
        video_link="",
    )
    Meeting.objects.filter(pk=meeting.pk).update(status=MeetingStatus.AGENDA_OPEN)
    meeting.refresh_from_db()
    return meeting


def meetings_api_ids(partnership: Partnership, manager: User) -> dict[str, int]:
    """Partnership A's meeting records, one of each kind the routes name.

    meeting_id has just started (so decisions and the register can be recorded, and
    its agenda is still open); coming_meeting_id is a month away (so members can
    still reply). A chair of the management side approves agendas.
    """
    council = Organisation.objects.get(
        memberships__person=manager, memberships__partnership=partnership
    )
    chair = _person(CHAIR_EMAIL, "Chloe Chair")
    _join(partnership, chair, council, Role.CHAIR, "Management side", decision_maker=True)
    now = timezone.now().replace(microsecond=0)
    started = _meeting(partnership, manager, now - dt.timedelta(minutes=5), title="A's board")
    coming = _meeting(partnership, manager, now + dt.timedelta(days=30), title="A's next board")
    item = AgendaItem.objects.create(
        partnership=partnership,
        meeting=started,
        title="A's item",
        ask="decision",
        nature="strategic",
        minutes_needed=15,
        submitted_by=manager,
    )
    decision = Decision.objects.create(
        partnership=partnership,
        meeting=started,
        item=None,
        reference="D2020/01",
        text="A's decision",
        decided_on=dt.date(2020, 1, 1),
    )
    minutes = Minutes.objects.create(
        meeting=started, status=MinutesStatus.CIRCULATED, summary="A's minutes"
    )
    return {
        "partnership_id": partnership.pk,
        "meeting_id": started.pk,
        "coming_meeting_id": coming.pk,
        "item_id": item.pk,
        "decision_id": decision.pk,
        "minutes_id": minutes.pk,
        "chair_user_id": chair.pk,
    }


ITEM = {
    "title": "Winter pressures",
    "ask": "discussion",
    "nature": "strategic",
    "minutes_needed": 15,
}

# Required fields only, so that leaving any one out is an error; in an order that lets
# every body succeed in one pass over the same records (the register marks the meeting
# held, after which items cannot be accepted; cancelling comes last).
MEETING_BODIES: dict[tuple[str, str], Any] = {
    ("post", "/partnerships/{partnership_id}/meetings"): {
        "title": "Spring board",
        "starts_at": "2030-03-05T10:00:00+00:00",
        "ends_at": "2030-03-05T12:00:00+00:00",
    },
    ("patch", "/meetings/{meeting_id}"): {"place": "Town Hall, Room 3"},
    ("post", "/meetings/{meeting_id}/agenda-items"): ITEM,
    ("post", "/partnerships/{partnership_id}/forward-plan"): ITEM,
    ("post", "/meetings/{meeting_id}/agenda-approvals"): {"revision": 0},
    ("post", "/agenda-items/{item_id}/triage"): {"decision": "accept"},
    ("put", "/meetings/{meeting_id}/attendance/me"): {"reply": "attending"},
    ("put", "/meetings/{meeting_id}/register"): {
        "entries": [{"membership": "{member_id}", "presence": "present"}]
    },
    ("post", "/meetings/{meeting_id}/decisions"): {"text": "Fund the winter hub."},
    ("post", "/meetings/{meeting_id}/cancel"): {"reason": "The room flooded."},
}
# Writes any current member may make.
MEETING_MEMBER_WRITES = {
    "partnerwell_api_meetings_submit_item",
    "partnerwell_api_meetings_submit_forward_plan_item",
    "partnerwell_api_meetings_reply_attendance",
}
# Writes only a chair may make (not a manager who is not a chair): the joint sign-off.
MEETING_CHAIR_WRITES = {"partnerwell_api_meetings_approve_agenda"}
# Routes the walkers aim at the coming meeting rather than the one under way.
MEETING_PATHS = {
    "/meetings/{meeting_id}/attendance/me": "/meetings/{coming_meeting_id}/attendance/me"
}


def path_for(template: str, ids: dict[str, Any]) -> str:
    return str(fill(MEETING_PATHS.get(template, template), ids))


@pytest.fixture
def ids(partnership_a: Partnership, alice: User, bob: User, dave: User) -> dict[str, int]:
    return {
        **meetings_api_ids(partnership_a, alice),
        "member_id": Membership.objects.get(person=bob).pk,
    }


@pytest.fixture
def chair_api(ids: dict[str, int]) -> ApiClient:
    return api_client_for(User.objects.get(pk=ids["chair_user_id"]))


@pytest.fixture
def staff_chair_api(partnership_a: Partnership, union: Organisation) -> ApiClient:
    user = _person("sam.cochair@example.org", "Sam Cochair")
    _join(partnership_a, user, union, Role.CO_CHAIR, "Staff side")
    return api_client_for(user)


@pytest.fixture
def meeting_b(partnership_b: Partnership, carol: User) -> Meeting:
    start = timezone.now().replace(microsecond=0) + dt.timedelta(days=10)
    return _meeting(partnership_b, carol, start, title="Beta board")


# The schema ---------------------------------------------------------------------------

NEW_PATHS = {
    "/partnerships/{partnership_id}/meetings": {"get", "post"},
    "/meetings/{meeting_id}": {"get", "patch"},
    "/meetings/{meeting_id}/cancel": {"post"},
    "/meetings/{meeting_id}/agenda-items": {"get", "post"},
    "/partnerships/{partnership_id}/forward-plan": {"get", "post"},
    "/agenda-items/{item_id}": {"get"},
    "/agenda-items/{item_id}/triage": {"post"},
    "/meetings/{meeting_id}/agenda-state": {"get"},
    "/meetings/{meeting_id}/agenda-approvals": {"post"},
    "/meetings/{meeting_id}/attendance": {"get"},
    "/meetings/{meeting_id}/attendance/me": {"put"},
    "/meetings/{meeting_id}/register": {"put"},
    "/partnerships/{partnership_id}/decisions": {"get"},
    "/decisions/{decision_id}": {"get"},
    "/meetings/{meeting_id}/decisions": {"post"},
    "/meetings/{meeting_id}/minutes": {"get"},
    "/minutes/{minutes_id}": {"get"},
}


def test_it_lists_every_meetings_path_in_the_openapi_schema(db: None) -> None:
    paths = api.get_openapi_schema()["paths"]
    for path, methods in NEW_PATHS.items():
        assert set(paths[API + path]) == methods, path
    ours = {
        (method, path.removeprefix(API))
        for path, item in paths.items()
        for method, operation in item.items()
        if operation["operationId"].startswith("partnerwell_api_meetings_")
    }
    assert ours == {(m, p) for p, methods in NEW_PATHS.items() for m in methods}
    # Every write the walkers feed has a sample body here, and no more.
    assert {op for op in ours if op[0] != "get"} == set(MEETING_BODIES)


def test_it_accepts_every_sample_body_in_order(
    ids: dict[str, int], alice_api: ApiClient, chair_api: ApiClient
) -> None:
    for (method, template), body in MEETING_BODIES.items():
        caller = chair_api if template.endswith("agenda-approvals") else alice_api
        response = caller.call(method, path_for(template, ids), fill(body, ids))
        assert response.status_code in (200, 201), (method, template, response.content)


# Meetings -----------------------------------------------------------------------------


def test_it_plans_a_meeting_with_its_series_and_standing_items(
    ids: dict[str, int], alice_api: ApiClient, partnership_a: Partnership
) -> None:
    response = alice_api.post(
        f"/partnerships/{ids['partnership_id']}/meetings",
        {
            "title": "Quarterly board, March",
            "kind": "board",
            "series": "Quarterly board",
            "starts_at": "2030-03-05T10:00:00+00:00",
            "ends_at": "2030-03-05T12:30:00+00:00",
            "time_zone": "Europe/London",
            "place": "Council House",
            "video_link": "https://meet.example.org/board",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["series"] == "Quarterly board"
    assert body["status"] == "planned"
    meeting = Meeting.objects.get(pk=body["id"])
    assert meeting.partnership == partnership_a
    assert meeting.starts_at == dt.datetime(2030, 3, 5, 10, tzinfo=dt.UTC)
    assert meeting.series is not None and meeting.series.name == "Quarterly board"
    assert meeting.items.filter(status=ItemStatus.ACCEPTED).exclude(standing="").count() == 5


def test_it_refuses_a_time_without_an_offset(ids: dict[str, int], alice_api: ApiClient) -> None:
    before = Meeting.objects.count()
    response = alice_api.post(
        f"/partnerships/{ids['partnership_id']}/meetings",
        {"title": "Board", "starts_at": "2030-03-05T10:00:00", "ends_at": "2030-03-05T12:00:00Z"},
    )
    body = assert_error(response, 422)
    assert [e["field"] for e in body["errors"]] == ["starts_at"]
    assert "offset from UTC" in body["errors"][0]["message"]
    assert Meeting.objects.count() == before


def test_it_refuses_a_meeting_that_ends_before_it_starts(
    ids: dict[str, int], alice_api: ApiClient
) -> None:
    before = Meeting.objects.count()
    response = alice_api.post(
        f"/partnerships/{ids['partnership_id']}/meetings",
        {
            "title": "Board",
            "series": "Never made",
            "starts_at": "2030-03-05T12:00:00+00:00",
            "ends_at": "2030-03-05T11:00:00+00:00",
        },
    )
    body = assert_error(response, 422)
    assert body["errors"] == [
        {"field": "ends_at", "message": "The meeting must end after it starts."}
    ]
    assert Meeting.objects.count() == before
    # The series named in the refused request was not left behind.
    assert not Meeting.objects.filter(series__name="Never made").exists()
    assert not Partnership.objects.get(pk=ids["partnership_id"]).meeting_series.exists()


def test_it_refuses_an_unknown_time_zone(ids: dict[str, int], alice_api: ApiClient) -> None:
    response = alice_api.patch(f"/meetings/{ids['meeting_id']}", {"time_zone": "Mars/Olympus"})
    body = assert_error(response, 422)
    assert body["errors"][0]["field"] == "time_zone"
    assert "Europe/London" in body["message"]


def test_it_changes_a_meeting_and_its_calendar_sequence(
    ids: dict[str, int], alice_api: ApiClient
) -> None:
    meeting = Meeting.objects.get(pk=ids["coming_meeting_id"])
    new_end = meeting.ends_at + dt.timedelta(minutes=30)
    response = alice_api.patch(
        f"/meetings/{meeting.pk}", {"ends_at": new_end.isoformat(), "series": "Boards"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["calendar_sequence"] == meeting.sequence + 1
    meeting.refresh_from_db()
    assert meeting.ends_at == new_end
    assert meeting.series is not None and meeting.series.name == "Boards"
    # null takes it out of the series again.
    assert alice_api.patch(f"/meetings/{meeting.pk}", {"series": None}).json()["series"] is None
    meeting.refresh_from_db()
    assert meeting.series is None


def test_it_refuses_to_move_the_end_before_the_start(
    ids: dict[str, int], alice_api: ApiClient
) -> None:
    meeting = Meeting.objects.get(pk=ids["coming_meeting_id"])
    early = meeting.starts_at - dt.timedelta(hours=1)
    body = assert_error(
        alice_api.patch(f"/meetings/{meeting.pk}", {"ends_at": early.isoformat()}), 422
    )
    assert body["errors"][0]["field"] == "ends_at"
    meeting.refresh_from_db()
    assert meeting.ends_at > meeting.starts_at


def test_it_marks_a_started_meeting_held_but_not_one_to_come(
    ids: dict[str, int], alice_api: ApiClient
) -> None:
    response = alice_api.patch(f"/meetings/{ids['meeting_id']}", {"status": "held"})
    assert response.json()["status"] == "held"
    assert Meeting.objects.get(pk=ids["meeting_id"]).status == MeetingStatus.HELD
    refused = alice_api.patch(f"/meetings/{ids['coming_meeting_id']}", {"status": "held"})
    assert "once it has started" in assert_error(refused, 422)["message"]
    assert Meeting.objects.get(pk=ids["coming_meeting_id"]).status == MeetingStatus.AGENDA_OPEN


def test_it_lists_meetings_with_filters(ids: dict[str, int], bob_api: ApiClient) -> None:
    base = f"/partnerships/{ids['partnership_id']}/meetings"
    listed = [m["id"] for m in bob_api.get(base).json()["items"]]
    assert listed == [ids["meeting_id"], ids["coming_meeting_id"]]
    coming = Meeting.objects.get(pk=ids["coming_meeting_id"]).starts_at.date()
    after = bob_api.get(f"{base}?from={coming.isoformat()}").json()["items"]
    assert [m["id"] for m in after] == [ids["coming_meeting_id"]]
    before = bob_api.get(f"{base}?to={(coming - dt.timedelta(days=2)).isoformat()}").json()
    assert [m["id"] for m in before["items"]] == [ids["meeting_id"]]
    assert bob_api.get(f"{base}?status=held").json()["items"] == []
    assert "status" in assert_error(bob_api.get(f"{base}?status=soon"), 422)["message"]


def test_it_cancels_a_meeting_with_a_reason(ids: dict[str, int], alice_api: ApiClient) -> None:
    path = f"/meetings/{ids['coming_meeting_id']}/cancel"
    body = assert_error(alice_api.post(path, {"reason": "   "}), 422)
    assert body["errors"][0]["field"] == "reason"
    response = alice_api.post(path, {"reason": "The room flooded."})
    assert response.status_code == 200
    assert response.json()["cancelled"] is True
    meeting = Meeting.objects.get(pk=ids["coming_meeting_id"])
    assert meeting.cancel_reason == "The room flooded."
    assert meeting.cancelled_at is not None
    again = assert_error(alice_api.post(path, {"reason": "Still flooded."}), 422)
    assert "already cancelled" in again["message"]


def test_it_refuses_meeting_changes_to_a_plain_member(
    ids: dict[str, int], bob_api: ApiClient
) -> None:
    meeting = Meeting.objects.get(pk=ids["coming_meeting_id"])
    assert_error(bob_api.patch(f"/meetings/{meeting.pk}", {"title": "Mine now"}), 403)
    assert_error(bob_api.post(f"/meetings/{meeting.pk}/cancel", {"reason": "No"}), 403)
    created = bob_api.post(
        f"/partnerships/{ids['partnership_id']}/meetings",
        {"title": "Mine", "starts_at": "2030-01-01T10:00Z", "ends_at": "2030-01-01T11:00Z"},
    )
    assert_error(created, 403)
    meeting.refresh_from_db()
    assert meeting.title == "A's next board"
    assert meeting.cancelled_at is None


def test_it_hides_another_partnerships_meeting(
    ids: dict[str, int], carol_api: ApiClient, meeting_b: Meeting, bob_api: ApiClient
) -> None:
    assert_error(carol_api.get(f"/meetings/{ids['meeting_id']}"), 404)
    assert_error(carol_api.patch(f"/meetings/{ids['meeting_id']}", {"title": "Ours"}), 404)
    assert_error(bob_api.get(f"/meetings/{meeting_b.pk}"), 404)
    assert_error(bob_api.get(f"/meetings/{meeting_b.pk}/agenda-items"), 404)
    assert carol_api.get(f"/meetings/{meeting_b.pk}").json()["title"] == "Beta board"
    assert Meeting.objects.get(pk=ids["meeting_id"]).title == "A's board"


# Agenda items -------------------------------------------------------------------------


def test_it_takes_an_item_from_the_staff_side(ids: dict[str, int], dave_api: ApiClient) -> None:
    response = dave_api.post(
        f"/meetings/{ids['coming_meeting_id']}/agenda-items",
        {**ITEM, "description": "Rotas over Christmas.", "presenter": "Dave"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["submitter_side"] == "Staff side"
    assert body["status"] == "submitted"
    assert body["late"] is False
    item = AgendaItem.objects.get(pk=body["id"])
    assert item.meeting_id == ids["coming_meeting_id"]
    assert item.submitted_by is not None and item.submitted_by.name == "Dave Staffside"


def test_it_marks_an_item_after_the_deadline_late(ids: dict[str, int], bob_api: ApiClient) -> None:
    response = bob_api.post(f"/meetings/{ids['meeting_id']}/agenda-items", ITEM)
    assert response.status_code == 201
    assert AgendaItem.objects.get(pk=response.json()["id"]).late is True


def test_it_puts_an_item_on_the_forward_plan(ids: dict[str, int], dave_api: ApiClient) -> None:
    response = dave_api.post(f"/partnerships/{ids['partnership_id']}/forward-plan", ITEM)
    assert response.status_code == 201
    item = AgendaItem.objects.get(pk=response.json()["id"])
    assert item.meeting is None
    assert response.json()["meeting_id"] is None


def test_it_lists_the_forward_plan_without_declined_items(
    ids: dict[str, int], dave_api: ApiClient, partnership_a: Partnership, alice: User
) -> None:
    path = f"/partnerships/{ids['partnership_id']}/forward-plan"
    raised = dave_api.post(path, ITEM).json()["id"]
    AgendaItem.objects.create(
        partnership=partnership_a, title="Turned down", status=ItemStatus.DECLINED
    )
    listed = dave_api.get(path).json()["items"]
    assert [i["id"] for i in listed] == [raised]


def test_it_shows_a_declined_item_only_to_its_submitter_and_the_chairs(
    ids: dict[str, int],
    dave_api: ApiClient,
    bob_api: ApiClient,
    chair_api: ApiClient,
    partnership_a: Partnership,
    dave: User,
) -> None:
    meeting_id = ids["coming_meeting_id"]
    declined = AgendaItem.objects.create(
        partnership=partnership_a,
        meeting_id=meeting_id,
        title="Turned down",
        status=ItemStatus.DECLINED,
        submitted_by=dave,
    )
    path = f"/meetings/{meeting_id}/agenda-items"

    def listed(api: ApiClient) -> list[int]:
        return [i["id"] for i in api.get(path).json()["items"]]

    assert declined.pk not in listed(bob_api)
    assert declined.pk in listed(dave_api)
    assert declined.pk in listed(chair_api)
    assert bob_api.get(f"/agenda-items/{declined.pk}").status_code == 404


def test_it_lets_only_a_chair_or_co_chair_sign_off(
    ids: dict[str, int], alice_api: ApiClient, chair_api: ApiClient
) -> None:
    meeting = Meeting.objects.get(pk=ids["coming_meeting_id"])
    path = f"/meetings/{meeting.pk}/agenda-approvals"
    body = {"revision": meeting.agenda_revision}
    # A manager who is not a chair cannot sign off for a side.
    refused = assert_error(alice_api.post(path, body), 403)
    assert "chair or co-chair" in refused["message"]
    assert "vice-chair" not in refused["message"]
    assert not meeting.approvals.exists()
    signed = chair_api.post(path, body)
    assert signed.status_code == 201, signed.content
    assert [s["name"] for s in signed.json()["approved_sides"]] == ["Management side"]
    assert list(meeting.approvals.values_list("approved_by__email", flat=True)) == [CHAIR_EMAIL]


def test_it_lists_an_items_current_papers(
    ids: dict[str, int], bob_api: ApiClient, alice: User
) -> None:
    item = AgendaItem.objects.get(pk=ids["item_id"])
    common = {"file": "papers/2026/01/x.pdf", "kind": "pdf", "size": 2048, "uploaded_by": alice}
    old = Paper.objects.create(
        item=item, title="Old", original_name="old.pdf", replaced_at=timezone.now(), **common
    )
    paper = Paper.objects.create(item=item, title="Budget", original_name="budget.pdf", **common)
    papers = bob_api.get(f"/agenda-items/{item.pk}").json()["papers"]
    assert [p["id"] for p in papers] == [paper.pk]
    assert papers[0]["download"] == reverse("meetings-download-paper", args=[paper.pk])
    assert old.pk not in [p["id"] for p in papers]


def test_it_refuses_an_unknown_ask(ids: dict[str, int], bob_api: ApiClient) -> None:
    before = AgendaItem.objects.count()
    body = assert_error(
        bob_api.post(f"/meetings/{ids['meeting_id']}/agenda-items", {**ITEM, "ask": "vote"}), 422
    )
    assert [e["field"] for e in body["errors"]] == ["ask"]
    assert "decision" in body["message"]
    assert AgendaItem.objects.count() == before


def test_it_refuses_an_item_for_a_cancelled_meeting(
    ids: dict[str, int], bob_api: ApiClient
) -> None:
    Meeting.objects.filter(pk=ids["coming_meeting_id"]).update(cancelled_at=timezone.now())
    before = AgendaItem.objects.count()
    body = assert_error(
        bob_api.post(f"/meetings/{ids['coming_meeting_id']}/agenda-items", ITEM), 422
    )
    assert "cancelled" in body["message"]
    assert AgendaItem.objects.count() == before


def test_it_triages_and_shows_the_agenda_with_times(
    ids: dict[str, int], alice_api: ApiClient, bob_api: ApiClient
) -> None:
    response = alice_api.post(f"/agenda-items/{ids['item_id']}/triage", {"decision": "accept"})
    assert response.status_code == 200, response.content
    assert AgendaItem.objects.get(pk=ids["item_id"]).status == ItemStatus.ACCEPTED
    rows = bob_api.get(f"/meetings/{ids['meeting_id']}/agenda-items").json()["items"]
    assert [r["number"] for r in rows] == [1, 2, 3, 4, 5, 6]
    # The accepted item comes before any other business, which stays last.
    assert rows[4]["id"] == ids["item_id"]
    assert rows[5]["standing"] == "aob"
    meeting = Meeting.objects.get(pk=ids["meeting_id"])
    assert dt.datetime.fromisoformat(rows[0]["start"]) == meeting.starts_at
    for before, after in itertools.pairwise(rows):
        assert before["end"] == after["start"]
    assert dt.datetime.fromisoformat(rows[4]["end"]) - dt.datetime.fromisoformat(
        rows[4]["start"]
    ) == dt.timedelta(minutes=15)


def test_it_lists_waiting_items_after_the_agenda(ids: dict[str, int], bob_api: ApiClient) -> None:
    rows = bob_api.get(f"/meetings/{ids['meeting_id']}/agenda-items").json()["items"]
    assert rows[-1]["id"] == ids["item_id"]
    assert rows[-1]["number"] is None and rows[-1]["start"] is None
    waiting = bob_api.get(f"/meetings/{ids['meeting_id']}/agenda-items?status=submitted")
    assert [r["id"] for r in waiting.json()["items"]] == [ids["item_id"]]


def test_it_needs_a_reason_to_decline(ids: dict[str, int], alice_api: ApiClient) -> None:
    path = f"/agenda-items/{ids['item_id']}/triage"
    body = assert_error(alice_api.post(path, {"decision": "decline"}), 422)
    assert [e["field"] for e in body["errors"]] == ["reason"]
    assert AgendaItem.objects.get(pk=ids["item_id"]).status == ItemStatus.SUBMITTED
    response = alice_api.post(path, {"decision": "decline", "reason": "Covered last time."})
    assert response.json()["triage_reason"] == "Covered last time."
    assert AgendaItem.objects.get(pk=ids["item_id"]).status == ItemStatus.DECLINED


def test_it_defers_to_a_later_meeting_of_this_partnership_only(
    ids: dict[str, int], alice_api: ApiClient, meeting_b: Meeting
) -> None:
    path = f"/agenda-items/{ids['item_id']}/triage"
    refused = alice_api.post(
        path, {"decision": "defer", "reason": "Later.", "defer_to": meeting_b.pk}
    )
    assert [e["field"] for e in assert_error(refused, 422)["errors"]] == ["defer_to"]
    response = alice_api.post(
        path, {"decision": "defer", "reason": "Later.", "defer_to": ids["coming_meeting_id"]}
    )
    assert response.status_code == 200, response.content
    item = AgendaItem.objects.get(pk=ids["item_id"])
    assert item.status == ItemStatus.DEFERRED
    assert item.meeting_id == ids["coming_meeting_id"]
    assert item.deferred_from_id == ids["meeting_id"]


def test_it_accepts_a_forward_plan_item_onto_a_chosen_meeting(
    ids: dict[str, int], alice_api: ApiClient, dave_api: ApiClient
) -> None:
    raised = dave_api.post(f"/partnerships/{ids['partnership_id']}/forward-plan", ITEM).json()
    path = f"/agenda-items/{raised['id']}/triage"
    body = assert_error(alice_api.post(path, {"decision": "accept"}), 422)
    assert [e["field"] for e in body["errors"]] == ["defer_to"]
    response = alice_api.post(path, {"decision": "accept", "defer_to": ids["coming_meeting_id"]})
    assert response.status_code == 200, response.content
    item = AgendaItem.objects.get(pk=raised["id"])
    assert (item.meeting_id, item.status) == (ids["coming_meeting_id"], ItemStatus.ACCEPTED)


def test_it_refuses_triage_to_a_plain_member(ids: dict[str, int], bob_api: ApiClient) -> None:
    assert_error(
        bob_api.post(f"/agenda-items/{ids['item_id']}/triage", {"decision": "accept"}), 403
    )
    assert AgendaItem.objects.get(pk=ids["item_id"]).status == ItemStatus.SUBMITTED


def test_it_agrees_the_agenda_only_when_both_sides_approve(
    ids: dict[str, int], chair_api: ApiClient, staff_chair_api: ApiClient, bob_api: ApiClient
) -> None:
    meeting_id = ids["coming_meeting_id"]
    path = f"/meetings/{meeting_id}/agenda-approvals"
    first = chair_api.post(path, {"revision": 0})
    assert first.status_code == 201, first.content
    assert first.json()["agreed"] is False
    assert [s["name"] for s in first.json()["approved_sides"]] == ["Management side"]
    assert Meeting.objects.get(pk=meeting_id).status == MeetingStatus.AGENDA_OPEN
    second = staff_chair_api.post(path, {"revision": 0})
    assert second.json()["agreed"] is True
    assert Meeting.objects.get(pk=meeting_id).status == MeetingStatus.AGENDA_AGREED
    state = bob_api.get(f"/meetings/{meeting_id}/agenda-state").json()
    assert state["agreed"] is True
    assert {a["approved_by"] for a in state["approvals"]} == {"Chloe Chair", "Sam Cochair"}


def test_it_refuses_an_approval_of_an_old_revision(
    ids: dict[str, int], chair_api: ApiClient
) -> None:
    Meeting.objects.filter(pk=ids["coming_meeting_id"]).update(agenda_revision=3)
    body = assert_error(
        chair_api.post(f"/meetings/{ids['coming_meeting_id']}/agenda-approvals", {"revision": 2}),
        422,
    )
    assert [e["field"] for e in body["errors"]] == ["revision"]
    assert "revision 3" in body["message"]
    assert not Meeting.objects.get(pk=ids["coming_meeting_id"]).approvals.exists()


# Attendance ---------------------------------------------------------------------------


def test_it_records_a_reply_with_a_deputy(
    ids: dict[str, int], dave_api: ApiClient, dave: User, alice_api: ApiClient
) -> None:
    path = f"/meetings/{ids['coming_meeting_id']}/attendance/me"
    response = dave_api.call(
        "put", path, {"reply": "deputy", "deputy_name": "Dee Puty", "note": "On leave."}
    )
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Dave Staffside"
    entry = Attendance.objects.get(meeting_id=ids["coming_meeting_id"], membership__person=dave)
    assert (entry.reply, entry.deputy_name, entry.note) == ("deputy", "Dee Puty", "On leave.")
    # The manager, who keeps the register, sees everyone's reply.
    listed = alice_api.get(f"/meetings/{ids['coming_meeting_id']}/attendance").json()["members"]
    daves = next(m for m in listed if m["name"] == "Dave Staffside")
    assert daves["reply"] == "deputy" and daves["deputy_name"] == "Dee Puty"
    assert daves["note"] == "On leave."
    assert next(m for m in listed if m["name"] == "Bob Member")["reply"] == ""


def test_it_shows_a_plain_member_the_counts_and_only_their_own_reply(
    ids: dict[str, int], dave_api: ApiClient, bob_api: ApiClient, chair_api: ApiClient
) -> None:
    path = f"/meetings/{ids['coming_meeting_id']}/attendance"
    body = {"reply": "deputy", "deputy_name": "Dee Puty", "note": "Private reason."}
    assert dave_api.call("put", f"{path}/me", body).status_code == 200
    assert bob_api.call("put", f"{path}/me", {"reply": "attending"}).status_code == 200
    seen = bob_api.get(path).json()
    assert [(m["name"], m["reply"]) for m in seen["members"]] == [("Bob Member", "attending")]
    assert "Private reason." not in str(seen) and "Dee Puty" not in str(seen)
    assert seen["counts"]["attending"] == 1
    assert seen["counts"]["deputy"] == 1
    assert seen["counts"]["no_reply"] == seen["counts"]["members"] - 2
    # A chair keeps the register, so sees every member.
    everyone = chair_api.get(path).json()["members"]
    assert len(everyone) == seen["counts"]["members"]
    assert any(m["note"] == "Private reason." for m in everyone)


def test_it_refuses_a_deputy_reply_without_a_name(ids: dict[str, int], dave_api: ApiClient) -> None:
    path = f"/meetings/{ids['coming_meeting_id']}/attendance/me"
    body = assert_error(dave_api.call("put", path, {"reply": "deputy", "deputy_name": " "}), 422)
    assert [e["field"] for e in body["errors"]] == ["deputy_name"]
    assert not Attendance.objects.filter(meeting_id=ids["coming_meeting_id"]).exists()


def test_it_refuses_a_reply_once_the_meeting_has_started(
    ids: dict[str, int], bob_api: ApiClient
) -> None:
    path = f"/meetings/{ids['meeting_id']}/attendance/me"
    body = assert_error(bob_api.call("put", path, {"reply": "attending"}), 422)
    assert "started" in body["message"]
    assert not Attendance.objects.filter(meeting_id=ids["meeting_id"]).exists()


def test_it_takes_the_register_and_answers_the_quorum(
    ids: dict[str, int], alice_api: ApiClient, partnership_a: Partnership
) -> None:
    settings = services.settings_for(partnership_a)
    settings.quorum_each_side = True
    settings.save()
    dave_seat = Membership.objects.get(person__name="Dave Staffside")
    path = f"/meetings/{ids['meeting_id']}/register"
    only_management = {"entries": [{"membership": ids["member_id"], "presence": "present"}]}
    response = alice_api.call("put", path, only_management)
    assert response.status_code == 200, response.content
    assert response.json()["met"] is False
    meeting = Meeting.objects.get(pk=ids["meeting_id"])
    assert meeting.quorum_met is False
    assert meeting.status == MeetingStatus.HELD
    both = {
        "entries": [{"membership": dave_seat.pk, "presence": "deputy", "deputy_name": "Dee Puty"}]
    }
    assert alice_api.call("put", path, both).json()["met"] is True
    assert Meeting.objects.get(pk=ids["meeting_id"]).quorum_met is True
    entry = Attendance.objects.get(meeting_id=ids["meeting_id"], membership=dave_seat)
    assert (entry.presence, entry.deputy_name) == ("deputy", "Dee Puty")


def test_it_says_which_register_entry_lacks_a_deputy(
    ids: dict[str, int], alice_api: ApiClient
) -> None:
    dave_seat = Membership.objects.get(person__name="Dave Staffside")
    body = {
        "entries": [
            {"membership": ids["member_id"], "presence": "present"},
            {"membership": dave_seat.pk, "presence": "deputy"},
        ]
    }
    result = assert_error(
        alice_api.call("put", f"/meetings/{ids['meeting_id']}/register", body), 422
    )
    assert [e["field"] for e in result["errors"]] == ["entries.1.deputy_name"]
    assert "Dave Staffside" in result["message"]
    assert not Attendance.objects.filter(meeting_id=ids["meeting_id"]).exists()


def test_it_refuses_the_register_to_a_plain_member(ids: dict[str, int], bob_api: ApiClient) -> None:
    body = {"entries": [{"membership": ids["member_id"], "presence": "present"}]}
    assert_error(bob_api.call("put", f"/meetings/{ids['meeting_id']}/register", body), 403)
    assert not Attendance.objects.filter(meeting_id=ids["meeting_id"]).exists()


# Decisions ----------------------------------------------------------------------------


def test_it_records_and_finds_decisions(
    ids: dict[str, int], alice_api: ApiClient, bob_api: ApiClient
) -> None:
    AgendaItem.objects.filter(pk=ids["item_id"]).update(status=ItemStatus.ACCEPTED)
    response = alice_api.post(
        f"/meetings/{ids['meeting_id']}/decisions",
        {"item": ids["item_id"], "text": "Fund the winter hub.", "decided_on": "2026-01-15"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reference"] == "D2026/01"
    assert body["item_title"] == "A's item"
    decision = Decision.objects.get(pk=body["id"])
    assert decision.item_id == ids["item_id"]
    base = f"/partnerships/{ids['partnership_id']}/decisions"
    assert [d["id"] for d in bob_api.get(f"{base}?q=winter").json()["items"]] == [decision.pk]
    assert [d["id"] for d in bob_api.get(f"{base}?year=2020").json()["items"]] == [
        ids["decision_id"]
    ]
    assert len(bob_api.get(base).json()["items"]) == 2
    assert bob_api.get(f"/decisions/{decision.pk}").json()["text"] == "Fund the winter hub."


def test_it_hides_decisions_from_members_until_the_minutes_are_circulated(
    ids: dict[str, int], alice_api: ApiClient, bob_api: ApiClient
) -> None:
    Minutes.objects.filter(pk=ids["minutes_id"]).update(status=MinutesStatus.DRAFT)
    log = f"/partnerships/{ids['partnership_id']}/decisions"
    one = f"/decisions/{ids['decision_id']}"
    assert bob_api.get(log).json()["items"] == []
    assert_error(bob_api.get(one), 404)
    assert [d["id"] for d in alice_api.get(log).json()["items"]] == [ids["decision_id"]]
    assert alice_api.get(one).status_code == 200
    Minutes.objects.filter(pk=ids["minutes_id"]).update(status=MinutesStatus.APPROVED)
    assert [d["id"] for d in bob_api.get(log).json()["items"]] == [ids["decision_id"]]
    assert bob_api.get(one).json()["text"] == "A's decision"


def test_it_refuses_a_decision_date_far_from_the_meeting(
    ids: dict[str, int], alice_api: ApiClient
) -> None:
    response = alice_api.post(
        f"/meetings/{ids['meeting_id']}/decisions", {"text": "Later.", "decided_on": "2199-01-01"}
    )
    body = assert_error(response, 422)
    assert [e["field"] for e in body["errors"]] == ["decided_on"]
    assert "within a year of the meeting" in body["message"]
    assert Decision.objects.count() == 1


def test_it_refuses_a_decision_against_another_meetings_item(
    ids: dict[str, int], alice_api: ApiClient, partnership_a: Partnership, alice: User
) -> None:
    other = AgendaItem.objects.create(
        partnership=partnership_a,
        meeting_id=ids["coming_meeting_id"],
        title="Elsewhere",
        status=ItemStatus.ACCEPTED,
        submitted_by=alice,
    )
    body = assert_error(
        alice_api.post(
            f"/meetings/{ids['meeting_id']}/decisions", {"item": other.pk, "text": "Do it."}
        ),
        422,
    )
    assert [e["field"] for e in body["errors"]] == ["item"]
    assert Decision.objects.count() == 1


def test_it_refuses_a_decision_before_the_meeting_starts(
    ids: dict[str, int], alice_api: ApiClient
) -> None:
    path = f"/meetings/{ids['coming_meeting_id']}/decisions"
    assert "started" in assert_error(alice_api.post(path, {"text": "Early."}), 422)["message"]
    assert Decision.objects.count() == 1


def test_it_refuses_decisions_to_a_plain_member(ids: dict[str, int], bob_api: ApiClient) -> None:
    path = f"/meetings/{ids['meeting_id']}/decisions"
    assert_error(bob_api.post(path, {"text": "Mine."}), 403)
    assert Decision.objects.count() == 1


def test_it_hides_another_partnerships_decisions(
    ids: dict[str, int], carol_api: ApiClient, partnership_b: Partnership
) -> None:
    assert_error(carol_api.get(f"/decisions/{ids['decision_id']}"), 404)
    assert_error(carol_api.get(f"/partnerships/{ids['partnership_id']}/decisions"), 404)
    assert carol_api.get(f"/partnerships/{partnership_b.pk}/decisions").json()["items"] == []


# Minutes ------------------------------------------------------------------------------


def test_it_shows_the_current_minutes_with_entries_and_versions(
    ids: dict[str, int], bob_api: ApiClient
) -> None:
    circulated = Minutes.objects.get(pk=ids["minutes_id"])
    MinuteEntry.objects.create(minutes=circulated, item_id=ids["item_id"], text="Agreed.")
    Minutes.objects.filter(pk=circulated.pk).update(status=MinutesStatus.SUPERSEDED)
    correction = Minutes.objects.create(
        meeting_id=ids["meeting_id"],
        version=2,
        status=MinutesStatus.CIRCULATED,
        summary="Corrected",
        correction_reason="Wrong date.",
    )
    body = bob_api.get(f"/meetings/{ids['meeting_id']}/minutes").json()
    assert body["current"]["id"] == correction.pk
    assert body["current"]["correction_reason"] == "Wrong date."
    assert [v["version"] for v in body["versions"]] == [2, 1]
    old = bob_api.get(f"/minutes/{circulated.pk}").json()
    assert old["status"] == "superseded"
    assert old["entries"] == [
        {"item_id": ids["item_id"], "item_title": "A's item", "text": "Agreed."}
    ]


def test_it_keeps_draft_minutes_from_members(
    ids: dict[str, int], bob_api: ApiClient, alice_api: ApiClient
) -> None:
    Minutes.objects.filter(pk=ids["minutes_id"]).update(status=MinutesStatus.DRAFT)
    assert_error(bob_api.get(f"/minutes/{ids['minutes_id']}"), 403)
    members_view = bob_api.get(f"/meetings/{ids['meeting_id']}/minutes").json()
    assert members_view["current"] is None and members_view["versions"] == []
    managers_view = alice_api.get(f"/meetings/{ids['meeting_id']}/minutes").json()
    assert managers_view["current"]["id"] == ids["minutes_id"]
    assert alice_api.get(f"/minutes/{ids['minutes_id']}").json()["summary"] == "A's minutes"


def test_it_shows_no_minutes_before_any_are_written(
    ids: dict[str, int], bob_api: ApiClient
) -> None:
    body = bob_api.get(f"/meetings/{ids['coming_meeting_id']}/minutes").json()
    assert body == {"meeting_id": ids["coming_meeting_id"], "current": None, "versions": []}


# Query counts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "/meetings/{meeting_id}/agenda-items",
        "/meetings/{meeting_id}/attendance",
        "/partnerships/{partnership_id}/meetings",
        "/partnerships/{partnership_id}/decisions",
    ],
)
def test_it_reads_lists_in_a_constant_number_of_queries(
    template: str,
    ids: dict[str, int],
    alice_api: ApiClient,
    partnership_a: Partnership,
    alice: User,
    django_assert_max_num_queries: Any,
) -> None:
    path = str(fill(template, ids))
    alice_api.get(path)  # warm the token and settings rows
    with django_assert_max_num_queries(40) as small:
        assert alice_api.get(path).status_code == 200
    meeting = Meeting.objects.get(pk=ids["meeting_id"])
    for n in range(10):
        item = AgendaItem.objects.create(
            partnership=partnership_a,
            meeting=meeting,
            title=f"Item {n}",
            status=ItemStatus.ACCEPTED,
            minutes_needed=1,
            submitted_by=alice,
        )
        Decision.objects.create(
            partnership=partnership_a,
            meeting=meeting,
            item=item,
            reference=f"D2021/{n}",
            text="Done",
            decided_on=dt.date(2021, 1, 1),
        )
        person = _person(f"member{n}@example.org", f"Member {n}")
        seat = _join(
            partnership_a, person, Organisation.objects.get(name="Testshire Council"), Role.MEMBER
        )
        Attendance.objects.create(meeting=meeting, membership=seat, reply="attending")
        _meeting(partnership_a, alice, meeting.starts_at + dt.timedelta(days=n + 1), title=f"M{n}")
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert alice_api.get(path).status_code == 200
