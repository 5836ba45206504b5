"""Every API operation that takes an object id keeps partnership A's objects to A.

The operations are read from the API itself (its OpenAPI schema, checked
against the URL patterns), so a new route is walked as soon as it exists; a
new id parameter or a new write operation fails here until the walker is told
how to fill it in.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from partnerwell.core.models import Membership, Organisation, Partnership, User
from partnerwell.delivery.models import Action, Issue, Risk, Win
from partnerwell.healthcheck import services
from partnerwell.healthcheck.forms import OutlineFrameworkForm
from partnerwell.healthcheck.models import Framework
from tests.api.conftest import (
    WRITE_METHODS,
    ApiClient,
    api_client_for,
    api_operations,
    assert_error,
    db_state,
)
from tests.api.test_meetings_api import (
    MEETING_BODIES,
    MEETING_CHAIR_WRITES,
    MEETING_MEMBER_WRITES,
    MEETING_PATHS,
    meetings_api_ids,
)
from tests.delivery.test_outcomes_api import VALID_BODIES, delivery_api_ids, fill

PARAM_RE = re.compile(r"\{(\w+)\}")


def _id_operations() -> list[tuple[str, str, str]]:
    return [op for op in api_operations() if PARAM_RE.search(op[1])]


def _ids(operations: list[tuple[str, str, str]]) -> list[str]:
    return [f"{method.upper()} {path}" for method, path, _ in operations]


def _params(operations: list[tuple[str, str, str]]) -> list[Any]:
    return [pytest.param(*op, id=f"{op[0].upper()} {op[1]}") for op in operations]


def _api_url_routes(resolver: URLResolver, prefix: str = "") -> set[str]:
    routes = set()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            routes |= _api_url_routes(entry, route)
        elif isinstance(entry, URLPattern) and route.startswith("api/v1/"):
            routes.add(route)
    return routes


# Priorities and outcomes keep their sample bodies by (method, path); here they go by id.
_OPERATION_IDS = {(method, path): operation_id for method, path, operation_id in api_operations()}
# Writes any member may make, not just managers.
MEMBER_WRITE_OPERATIONS = {
    "partnerwell_api_risks_create_issue",
    "partnerwell_api_risks_create_win",
    "partnerwell_api_priorities_propose_priority",
    "partnerwell_api_priorities_cast_ballot",
    *MEETING_MEMBER_WRITES,
}

# A valid body for each write operation, so the walk tests access and not validation.
BODIES: dict[str, Any] = {
    "partnerwell_api_core_create_organisation": {"name": "Intruder Ltd", "sector": "other"},
    "partnerwell_api_core_create_partnership": {
        "name": "Intruder Group",
        "type": "strategic",
        "organisation_id": "{organisation_id}",
    },
    "partnerwell_api_core_update_organisation": {"name": "Hijacked", "website": ""},
    "partnerwell_api_core_update_partnership": {"name": "Hijacked", "purpose": "Hijacked"},
    "partnerwell_api_core_update_member": {"role": "chair", "responsibilities": ["Hijacked"]},
    "partnerwell_api_healthcheck_open_round": {
        "framework_id": "{framework_id}",
        "title": "Intruder round",
        "closes_at": "2099-01-01T00:00:00Z",
    },
    "partnerwell_api_healthcheck_send_invitations": {"reminders": False},
    "partnerwell_api_actions_create_action": {
        "title": "Intruder action",
        "owner_id": "{member_id}",
        "due_date": "2030-01-01",
    },
    "partnerwell_api_actions_update_action": {"status": "in_progress", "note": "Hijacked"},
    "partnerwell_api_actions_add_note": {"text": "Hijacked", "status": "done"},
    "partnerwell_api_risks_create_risk": {
        "title": "Intruder risk",
        "owner_id": "{member_id}",
        "likelihood": 3,
        "impact": 3,
        "target_likelihood": 1,
        "target_impact": 1,
        "review_on": "2030-01-01",
    },
    "partnerwell_api_risks_update_risk": {"title": "Hijacked"},
    "partnerwell_api_risks_review_risk": {"next_review_on": "2030-06-01"},
    "partnerwell_api_risks_create_issue": {"title": "Intruder issue"},
    "partnerwell_api_risks_update_issue": {"title": "Hijacked"},
    "partnerwell_api_risks_create_win": {"title": "Intruder win"},
    "partnerwell_api_risks_update_win": {"title": "Hijacked"},
    **{_OPERATION_IDS[key]: body for key, body in VALID_BODIES.items()},
    **{_OPERATION_IDS[key]: body for key, body in MEETING_BODIES.items()},
    "partnerwell_api_core_create_member": {
        "email": "intruder@example.org",
        "name": "Intruder",
        "organisation_id": "{organisation_id}",
        "side": "Staff side",
        "role": "chair",
    },
}

# Operations that take a personal token in the body instead of a signed-in caller.
TOKEN_OPERATIONS: dict[str, Any] = {
    "partnerwell_api_healthcheck_submit_response": {
        "token": "x" * 43,
        "answers": {},
    },
}

# Organisations are an instance-wide directory: anyone signed in may read one,
# but only managers of a partnership it sits on may change it.
OTHER_PARTNERSHIP_EXPECTS = {
    ("get", "/organisations/{organisation_id}"): 200,
    ("patch", "/organisations/{organisation_id}"): 403,
}


@pytest.fixture
def a_ids(
    alice: User, bob: User, dave: User, partnership_a: Partnership, council: Organisation
) -> dict[str, int]:
    """Partnership A's objects; the council sits only on A."""
    framework = _custom_framework(partnership_a, alice)
    round = services.round_open(
        by=alice,
        partnership=partnership_a,
        plan=services.RoundPlan(
            framework=framework,
            title="A's round",
            audience="all",
            opens_at=timezone.now() - dt.timedelta(hours=1),
            closes_at=timezone.now() + dt.timedelta(days=7),
        ),
    )
    alice_seat = Membership.objects.get(person=alice)
    action = Action.objects.create(
        partnership=partnership_a,
        title="A's action",
        owner=alice_seat,
        organisation=council,
        due_date=dt.date(2030, 1, 1),
    )
    risk = Risk.objects.create(
        partnership=partnership_a,
        title="A's risk",
        owner=alice_seat,
        likelihood=3,
        impact=3,
        target_likelihood=1,
        target_impact=1,
        review_on=dt.date(2030, 1, 1),
    )
    issue = Issue.objects.create(partnership=partnership_a, title="A's issue")
    win = Win.objects.create(partnership=partnership_a, title="A's win")
    return {
        **delivery_api_ids(partnership_a, alice),
        **meetings_api_ids(partnership_a, alice),
        "action_id": action.pk,
        "risk_id": risk.pk,
        "issue_id": issue.pk,
        "win_id": win.pk,
        "framework_id": framework.pk,
        "round_id": round.pk,
        "partnership_id": partnership_a.pk,
        "organisation_id": council.pk,
        # Bob's own membership: the one object of A a plain member may partly change.
        "member_id": Membership.objects.get(person=bob).pk,
    }


def _custom_framework(partnership: Partnership, by: User) -> Framework:
    """A framework of partnership A's own: the built-in ones are open to everyone."""
    form = OutlineFrameworkForm(
        {
            "title": "Alpha's own check",
            "scale": "agreement",
            "outline": "# Working\n## Trust\n- We trust each other\n",
        }
    )
    assert form.is_valid(), form.errors
    return services.framework_store(
        spec=form.cleaned_data["spec"],
        document=form.cleaned_data["document"],
        partnership=partnership,
        by=by,
    )


def _fill(template: str, ids: dict[str, int]) -> str:
    # Some routes need a record in another state than their neighbours' (a meeting to come).
    template = MEETING_PATHS.get(template, template)
    unknown = set(PARAM_RE.findall(template)) - set(ids)
    if unknown:
        pytest.fail(f"Tell the walker how to find partnership A's object for {unknown}.")
    return PARAM_RE.sub(lambda m: str(ids[m.group(1)]), template)


def _body(operation_id: str, method: str, ids: dict[str, int]) -> Any:
    if method not in WRITE_METHODS:
        return None
    if operation_id not in BODIES:
        pytest.fail(f"Add a valid sample body for {operation_id} to BODIES.")
    if BODIES[operation_id] is None:
        return None
    return fill(BODIES[operation_id], ids)


def test_it_finds_every_api_route() -> None:
    # Guards the walker: if it found nothing, the walks below would prove nothing.
    assert set(_ids(_id_operations())) >= {
        "GET /organisations/{organisation_id}",
        "PATCH /organisations/{organisation_id}",
        "GET /partnerships/{partnership_id}",
        "PATCH /partnerships/{partnership_id}",
        "GET /partnerships/{partnership_id}/members",
        "POST /partnerships/{partnership_id}/members",
        "GET /members/{member_id}",
        "PATCH /members/{member_id}",
    }
    # Nothing is routed that the schema (and so these walks) leaves out.
    schema_routes = {"api/v1" + PARAM_RE.sub(r"<\1>", path) for _, path, _ in api_operations()}
    routed = _api_url_routes(get_resolver())
    # Besides the schema and docs: the API root and the JSON 404 for unknown paths.
    assert routed - schema_routes == {"api/v1/openapi.json", "api/v1/docs", "api/v1/"}
    assert schema_routes <= routed


@pytest.mark.parametrize(("method", "path", "operation_id"), _params(_id_operations()))
def test_it_keeps_partnership_a_from_a_member_of_another_partnership(
    method: str,
    path: str,
    operation_id: str,
    a_ids: dict[str, int],
    carol_api: ApiClient,
    partnership_a: Partnership,
) -> None:
    before = db_state()
    response = carol_api.call(method, _fill(path, a_ids), _body(operation_id, method, a_ids))
    expected = OTHER_PARTNERSHIP_EXPECTS.get((method, path), 404)
    if expected >= 400:
        body = assert_error(response, expected)
        assert "Alpha" not in body["message"]
        assert "Bob" not in response.content.decode()
    else:
        assert response.status_code == expected
        assert "Alpha" not in response.content.decode()
    assert db_state() == before


@pytest.mark.parametrize(
    ("method", "path", "operation_id"),
    _params(
        [
            op
            for op in _id_operations()
            if op[0] in WRITE_METHODS and op[2] not in MEMBER_WRITE_OPERATIONS
        ]
    ),
)
def test_it_refuses_manager_only_writes_to_a_plain_member(
    method: str,
    path: str,
    operation_id: str,
    a_ids: dict[str, int],
    bob_api: ApiClient,
    alice: User,
    partnership_a: Partnership,
) -> None:
    # Bob may change only his own responsibilities, so aim member routes at alice.
    ids = {**a_ids, "member_id": Membership.objects.get(person=alice).pk}
    before = db_state()
    response = bob_api.call(method, _fill(path, ids), _body(operation_id, method, ids))
    assert_error(response, 403)
    assert db_state() == before


@pytest.mark.parametrize(
    ("method", "path", "operation_id"),
    _params([op for op in _id_operations() if op[0] not in WRITE_METHODS]),
)
def test_it_lets_members_read_their_own_partnerships_objects(
    method: str, path: str, operation_id: str, a_ids: dict[str, int], bob_api: ApiClient
) -> None:
    # The control for the walks above: the same URLs do answer, to the right people.
    assert bob_api.call(method, _fill(path, a_ids)).status_code == 200


@pytest.mark.parametrize(("method", "path", "operation_id"), _params(_id_operations()))
def test_it_lets_the_manager_do_everything(
    method: str,
    path: str,
    operation_id: str,
    a_ids: dict[str, int],
    alice_api: ApiClient,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # Signing off an agenda is a chair's part, which a manager who is not a chair lacks.
    caller = alice_api
    if operation_id in MEETING_CHAIR_WRITES:
        caller = api_client_for(User.objects.get(pk=a_ids["chair_user_id"]))
    with django_capture_on_commit_callbacks(execute=True):
        response = caller.call(method, _fill(path, a_ids), _body(operation_id, method, a_ids))
    assert response.status_code in (200, 201, 202), response.content[:500]


@pytest.mark.parametrize(
    ("method", "path", "operation_id"),
    _params([op for op in _id_operations() if op[1].startswith(("/partnerships", "/members"))]),
)
def test_it_hides_a_partnership_from_a_former_member(
    method: str,
    path: str,
    operation_id: str,
    a_ids: dict[str, int],
    bob_api: ApiClient,
    partnership_a: Partnership,
) -> None:
    Membership.objects.filter(pk=a_ids["member_id"]).update(
        end_date=timezone.localdate() - timezone.timedelta(days=1)
    )
    before = db_state()
    response = bob_api.call(method, _fill(path, a_ids), _body(operation_id, method, a_ids))
    assert_error(response, 404)
    assert db_state() == before


@pytest.mark.parametrize(("method", "path", "operation_id"), _params(api_operations()))
def test_it_refuses_every_operation_to_a_caller_without_credentials(
    method: str,
    path: str,
    operation_id: str,
    a_ids: dict[str, int],
    anon_api: ApiClient,
    partnership_a: Partnership,
) -> None:
    before = db_state()
    if operation_id in TOKEN_OPERATIONS:
        # Answering a health check needs no account: the personal token is the credential.
        response = anon_api.call(method, path, TOKEN_OPERATIONS[operation_id])
        body = assert_error(response, 422)
        assert "not one we know" in body["message"]
    else:
        response = anon_api.call(method, _fill(path, a_ids), _body(operation_id, method, a_ids))
        assert_error(response, 401)
    assert db_state() == before


def test_it_does_not_list_another_partnerships_members_or_partnership(
    carol_api: ApiClient, a_ids: dict[str, int], partnership_b: Partnership
) -> None:
    listed = carol_api.get("/partnerships").json()["items"]
    assert [p["id"] for p in listed] == [partnership_b.pk]
    members = carol_api.get(f"/partnerships/{partnership_b.pk}/members").json()["items"]
    assert [m["person"]["name"] for m in members] == ["Carol Other"]


def test_it_refuses_a_member_deputising_into_another_partnership(
    carol_api: ApiClient, carol: User, a_ids: dict[str, int]
) -> None:
    # A manager of B cannot tie a B member to one of A's members.
    carols = Membership.objects.get(person=carol)
    response = carol_api.patch(
        f"/members/{carols.pk}", {"role": "deputy", "deputy_for_id": a_ids["member_id"]}
    )
    assert_error(response, 422)
    carols.refresh_from_db()
    assert carols.deputy_for_id is None
