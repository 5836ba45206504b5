"""The actions API: list with filters, get, create, change, progress notes; the same access
rules as the pages; every refusal a 4xx with a JSON message, never a 500."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.utils import timezone

from partnerwell.core.models import Membership, Organisation, Partnership, User
from partnerwell.delivery.models import Action, ActionStatus, Priority, ProgressNote
from tests.api.conftest import ApiClient, api_client_for, assert_error
from tests.delivery.test_actions import make_action

TODAY = timezone.localdate


def _days(n: int) -> str:
    return (TODAY() + dt.timedelta(days=n)).isoformat()


@pytest.fixture
def alice_api(alice: User) -> ApiClient:
    return api_client_for(alice)


@pytest.fixture
def bob_api(bob: User) -> ApiClient:
    return api_client_for(bob)


@pytest.fixture
def carol_api(carol: User) -> ApiClient:
    return api_client_for(carol)


@pytest.fixture
def alices_action(alice: User, partnership_a: Partnership) -> Action:
    return make_action(alice, partnership_a, title="Alice's action")


@pytest.fixture
def bobs_action(bob: User, partnership_a: Partnership) -> Action:
    return make_action(bob, partnership_a, title="Bob's action")


def _body(response: Any) -> Any:
    assert response.status_code < 400, response.content[:500]
    return json.loads(response.content)


def _new(owner: Membership, **extra: Any) -> dict[str, Any]:
    return {"title": "Share the rota plans", "owner_id": owner.pk, "due_date": _days(10), **extra}


def test_it_lists_actions_with_filters(
    bob_api: ApiClient,
    alice: User,
    bob: User,
    dave: User,
    partnership_a: Partnership,
    union: Organisation,
) -> None:
    make_action(alice, partnership_a, title="Overdue", due=TODAY() - dt.timedelta(days=2))
    make_action(bob, partnership_a, title="Bob soon", due=TODAY() + dt.timedelta(days=2))
    make_action(dave, partnership_a, title="Dave done", status="done", done_on=TODAY())
    base = f"/partnerships/{partnership_a.pk}/actions"

    def titles(query: str = "") -> list[str]:
        return [a["title"] for a in _body(bob_api.get(f"{base}?{query}"))["items"]]

    assert titles() == ["Overdue", "Bob soon", "Dave done"]
    assert titles("mine=true") == ["Bob soon"]
    assert titles("my_organisation=true") == ["Overdue", "Bob soon"]
    assert titles(f"organisation_id={union.pk}") == ["Dave done"]
    assert titles("due=overdue") == ["Overdue"]
    assert titles("due=soon") == ["Bob soon"]
    assert titles("status=open&sort=owner") == ["Overdue", "Bob soon"]
    assert titles("status=done") == ["Dave done"]
    first = _body(bob_api.get(base))["items"][0]
    assert first["overdue"] is True
    assert first["owner"]["name"] == "Alice Manager"
    assert first["organisation"]["name"] == "Testshire Council"
    assert_error(bob_api.get(f"{base}?status=finished"), 422)
    assert_error(bob_api.get(f"{base}?sort=colour"), 422)


def test_it_gets_an_action_with_its_notes(
    bob_api: ApiClient, alice: User, alices_action: Action
) -> None:
    ProgressNote.objects.create(action=alices_action, author=alice, text="Drafted.")
    body = _body(bob_api.get(f"/actions/{alices_action.pk}"))
    assert body["title"] == "Alice's action"
    assert [(n["text"], n["author"]) for n in body["notes"]] == [("Drafted.", "Alice Manager")]


def test_it_creates_an_action(
    alice_api: ApiClient, bob: User, partnership_a: Partnership, union: Organisation
) -> None:
    bobs = Membership.objects.get(person=bob)
    priority = Priority.objects.create(partnership=partnership_a, title="Safe staffing")
    response = alice_api.post(
        f"/partnerships/{partnership_a.pk}/actions",
        _new(bobs, organisation_id=union.pk, source="priority", priority_id=priority.pk),
    )
    assert response.status_code == 201, response.content
    body = json.loads(response.content)
    action = Action.objects.get(pk=body["id"])
    assert (action.owner, action.organisation, action.source_priority) == (bobs, union, priority)
    assert body["status"] == "agreed" and body["source"] == "priority"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": "  "}, "title"),
        ({"due_date": "next week"}, "due_date"),
        ({"owner_id": 999999}, "owner_id"),
        ({"organisation_id": 999999}, "organisation_id"),
        ({"status": "done"}, "status"),
        ({"source": "risk"}, "risk"),
        ({"source": "health_check", "principle_id": 1}, "principle_id"),
        ({"priority_id": 999999}, "priority_id"),
    ],
)
def test_it_explains_what_is_wrong_with_a_new_action(
    alice_api: ApiClient,
    alice: User,
    partnership_a: Partnership,
    change: dict[str, Any],
    field: str,
) -> None:
    body = _new(Membership.objects.get(person=alice), **change)
    error = assert_error(alice_api.post(f"/partnerships/{partnership_a.pk}/actions", body), 422)
    assert field in json.dumps(error)
    assert not Action.objects.exists()


def test_it_refuses_an_owner_from_another_partnership(
    alice_api: ApiClient, carol: User, partnership_a: Partnership
) -> None:
    body = _new(Membership.objects.get(person=carol))
    error = assert_error(alice_api.post(f"/partnerships/{partnership_a.pk}/actions", body), 422)
    assert "Carol" not in json.dumps(error)
    assert not Action.objects.exists()


def test_it_refuses_creation_to_a_plain_member(
    bob_api: ApiClient, bob: User, partnership_a: Partnership
) -> None:
    body = _new(Membership.objects.get(person=bob))
    assert_error(bob_api.post(f"/partnerships/{partnership_a.pk}/actions", body), 403)
    assert not Action.objects.exists()


def test_it_lets_the_owner_move_the_status_with_a_note(
    bob_api: ApiClient, bobs_action: Action
) -> None:
    body = _body(bob_api.patch(f"/actions/{bobs_action.pk}", {"status": "done", "note": "Sent."}))
    assert body["status"] == "done" and body["done_on"] == TODAY().isoformat()
    bobs_action.refresh_from_db()
    assert bobs_action.status == ActionStatus.DONE
    assert bobs_action.notes.get().text == "Sent."


def test_it_keeps_the_rest_of_an_action_to_managers(
    bob_api: ApiClient, bobs_action: Action
) -> None:
    error = assert_error(bob_api.patch(f"/actions/{bobs_action.pk}", {"title": "Renamed"}), 403)
    assert "manager" in error["message"]
    bobs_action.refresh_from_db()
    assert bobs_action.title == "Bob's action"


def test_it_refuses_changes_to_someone_elses_action(
    bob_api: ApiClient, alices_action: Action
) -> None:
    assert_error(bob_api.patch(f"/actions/{alices_action.pk}", {"status": "done"}), 403)
    assert_error(bob_api.post(f"/actions/{alices_action.pk}/notes", {"text": "x"}), 403)
    alices_action.refresh_from_db()
    assert alices_action.status == ActionStatus.AGREED
    assert not ProgressNote.objects.exists()


def test_it_lets_a_manager_reassign(
    alice_api: ApiClient, dave: User, bobs_action: Action, union: Organisation
) -> None:
    daves = Membership.objects.get(person=dave)
    body = _body(
        alice_api.patch(f"/actions/{bobs_action.pk}", {"owner_id": daves.pk, "due_date": _days(40)})
    )
    assert body["owner"]["member_id"] == daves.pk
    bobs_action.refresh_from_db()
    # A new owner without an organisation brings their own.
    assert (bobs_action.owner, bobs_action.organisation) == (daves, union)
    assert bobs_action.due_date.isoformat() == _days(40)
    assert "Reassigned" in bobs_action.notes.get().text


def test_it_needs_a_reason_to_drop(alice_api: ApiClient, alices_action: Action) -> None:
    error = assert_error(
        alice_api.patch(f"/actions/{alices_action.pk}", {"status": "dropped"}), 422
    )
    assert "why" in error["message"]
    alices_action.refresh_from_db()
    assert alices_action.status == ActionStatus.AGREED
    body = _body(
        alice_api.patch(
            f"/actions/{alices_action.pk}", {"status": "dropped", "drop_reason": "Merged."}
        )
    )
    assert (body["status"], body["drop_reason"]) == ("dropped", "Merged.")


def test_it_adds_a_note(bob_api: ApiClient, bobs_action: Action) -> None:
    yesterday = (TODAY() - dt.timedelta(days=1)).isoformat()
    response = bob_api.post(
        f"/actions/{bobs_action.pk}/notes",
        {"text": "Finished.", "status": "done", "written_on": yesterday},
    )
    assert response.status_code == 201
    note = json.loads(response.content)
    assert (note["status"], note["written_on"], note["author"]) == ("done", yesterday, "Bob Member")
    bobs_action.refresh_from_db()
    assert bobs_action.done_on == TODAY() - dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 422),
        ({"text": "x", "status": "finished"}, 422),
        ({"text": "x", "written_on": "2999-01-01"}, 422),
        ({"text": "x" * 6000}, 422),
        ({"text": "nul \u0000"}, 422),
    ],
)
def test_it_explains_a_bad_note(
    bob_api: ApiClient, bobs_action: Action, body: dict[str, Any], status: int
) -> None:
    assert_error(bob_api.post(f"/actions/{bobs_action.pk}/notes", body), status)
    assert not ProgressNote.objects.exists()


def test_it_answers_broken_requests_with_json(bob_api: ApiClient, bobs_action: Action) -> None:
    assert_error(bob_api.call("POST", f"/actions/{bobs_action.pk}/notes", raw=b"[]"), 400)
    assert_error(bob_api.call("POST", f"/actions/{bobs_action.pk}/notes", raw=b"{oops"), 400)
    assert_error(bob_api.get("/actions/999999"), 404)
    assert_error(bob_api.get("/actions/not-a-number"), 422)
    assert_error(bob_api.call("DELETE", f"/actions/{bobs_action.pk}"), 405)


def test_it_hides_every_action_operation_from_another_partnership(
    carol_api: ApiClient, alice: User, alices_action: Action, partnership_a: Partnership
) -> None:
    aid, pid = alices_action.pk, partnership_a.pk
    calls = [
        ("GET", f"/actions/{aid}", None),
        ("PATCH", f"/actions/{aid}", {"status": "done", "title": "Hijacked"}),
        ("POST", f"/actions/{aid}/notes", {"text": "Hijacked", "status": "done"}),
        ("GET", f"/partnerships/{pid}/actions", None),
        ("POST", f"/partnerships/{pid}/actions", _new(Membership.objects.get(person=alice))),
        ("GET", f"/partnerships/{pid}/accountability", None),
    ]
    for method, path, body in calls:
        error = assert_error(carol_api.call(method, path, body), 404)
        assert "Alice" not in error["message"], path
    alices_action.refresh_from_db()
    assert (alices_action.title, alices_action.status) == ("Alice's action", "agreed")
    assert Action.objects.count() == 1 and not ProgressNote.objects.exists()


def test_it_refuses_callers_without_credentials(alices_action: Action) -> None:
    anonymous = ApiClient()
    assert_error(anonymous.get(f"/actions/{alices_action.pk}"), 401)
    assert_error(anonymous.patch(f"/actions/{alices_action.pk}", {"status": "done"}), 401)
    alices_action.refresh_from_db()
    assert alices_action.status == ActionStatus.AGREED


def test_it_answers_huge_ids_without_a_server_error(
    alice_api: ApiClient, alice: User, alices_action: Action, partnership_a: Partnership
) -> None:
    huge = 10**20
    assert_error(alice_api.get(f"/actions/{huge}"))
    assert_error(alice_api.post(f"/actions/{huge}/notes", {"text": "x"}))
    assert_error(
        alice_api.get(f"/partnerships/{partnership_a.pk}/actions?organisation_id={huge}"), 422
    )
    mine = Membership.objects.get(person=alice)
    for field in ("owner_id", "organisation_id", "risk_id", "measure_id"):
        body = {**_new(mine), field: huge}
        assert_error(alice_api.post(f"/partnerships/{partnership_a.pk}/actions", body), 422)
    assert_error(alice_api.patch(f"/actions/{alices_action.pk}", {"owner_id": huge}), 422)
    assert Action.objects.count() == 1
