"""Bad input anywhere in the API gets a 4xx with a JSON message, never a 500."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from partnerwell.core import access
from partnerwell.core.models import Membership, Partnership, PartnershipType, Role, Sector, User
from partnerwell.delivery.models import Action, Issue, Risk, Win
from partnerwell.healthcheck import services
from partnerwell.healthcheck.frameworks import load_framework
from partnerwell.healthcheck.models import Round
from tests.api.conftest import (
    API,
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
    MEETING_PATHS,
    meetings_api_ids,
)
from tests.conftest import allow_creating_partnerships
from tests.delivery.test_outcomes_api import VALID_BODIES, delivery_api_ids, fill

FRAMEWORK = """format: partnerwell-framework/1
key: alpha-check
version: 1
title: Alpha check
source: Written for the tests
description: One statement is enough to test the API.
scale: agreement
areas:
  - key: working
    title: Working together
    principles:
      - key: trust
        title: Trust
        statements:
          - key: trust-1
            text: We trust each other.
"""

NEW_ORG = ("post", "/organisations")
EDIT_ORG = ("patch", "/organisations/{organisation_id}")
NEW_PARTNERSHIP = ("post", "/partnerships")
EDIT_PARTNERSHIP = ("patch", "/partnerships/{partnership_id}")
NEW_MEMBER = ("post", "/partnerships/{partnership_id}/members")
EDIT_MEMBER = ("patch", "/members/{member_id}")
NEW_ROUND = ("post", "/partnerships/{partnership_id}/rounds")
SEND_INVITATIONS = ("post", "/rounds/{round_id}/invitations")
RESPOND = ("post", "/responses")
# Operations whose every body field is optional.
NOTHING_REQUIRED = {SEND_INVITATIONS}
# Answering by token needs no account.
PUBLIC = {RESPOND}

# A valid body for each write operation; the bad ones below change one thing each.
VALID: dict[tuple[str, str], dict[str, Any]] = {
    NEW_ORG: {"name": "New Org", "sector": "other"},
    EDIT_ORG: {"website": "https://council.example"},
    NEW_PARTNERSHIP: {
        "name": "New Group",
        "type": "strategic",
        "organisation_id": "{organisation_id}",
    },
    EDIT_PARTNERSHIP: {"purpose": "Better"},
    NEW_MEMBER: {
        "email": "newcomer@example.org",
        "name": "New Person",
        "organisation_id": "{organisation_id}",
        "side": "Staff side",
    },
    EDIT_MEMBER: {"decision_maker": True},
    NEW_ROUND: {
        "framework_id": "{framework_id}",
        "title": "Spring check",
        "closes_at": "2099-01-01T00:00:00Z",
    },
    SEND_INVITATIONS: {},
    RESPOND: {"token": "{token}", "answers": {"trust-1": 4}},
    ("post", "/partnerships/{partnership_id}/actions"): {
        "title": "Share the rota plans",
        "owner_id": "{member_id}",
        "due_date": "2030-01-01",
    },
    ("patch", "/actions/{action_id}"): {"status": "in_progress"},
    ("post", "/actions/{action_id}/notes"): {"text": "Rota plans shared."},
    ("post", "/partnerships/{partnership_id}/risks"): {
        "title": "Funding falls through",
        "owner_id": "{member_id}",
        "likelihood": 4,
        "impact": 5,
        "target_likelihood": 2,
        "target_impact": 3,
        "review_on": "2030-01-01",
    },
    ("patch", "/risks/{risk_id}"): {"title": "Funding may fall through"},
    ("post", "/risks/{risk_id}/reviews"): {"next_review_on": "2030-06-01"},
    ("post", "/partnerships/{partnership_id}/issues"): {"title": "Which room?"},
    ("patch", "/issues/{issue_id}"): {"title": "Which room for March?"},
    ("post", "/partnerships/{partnership_id}/wins"): {"title": "Hub opened"},
    ("patch", "/wins/{win_id}"): {"title": "Second hub opened"},
    # Votes are opened and cast before priorities are decided and votes closed,
    # so every body succeeds in one pass.
    **{
        key: body
        for key, body in sorted(
            VALID_BODIES.items(),
            key=lambda kv: (
                kv[0] in {("patch", "/votes/{vote_id}"), ("patch", "/priorities/{priority_id}")}
            ),
        )
        if body is not None
    },
    # Last, in their own order: the register marks the meeting held, and it is then cancelled.
    **MEETING_BODIES,
}
# Deletes take no body.
NO_BODY = {key for key, body in VALID_BODIES.items() if body is None}
WRITES = list(VALID)
# Signing off an agenda is a chair's part; a manager who is not a chair is refused.
CHAIR_WRITES = {(m, p) for m, p, op in api_operations() if op in MEETING_CHAIR_WRITES}
ID_ROUTES = [(method, path) for method, path, _ in api_operations() if "{" in path]

# Bodies that are not a JSON object at all, for every write operation.
MALFORMED: list[bytes] = [
    b'{"name": ',
    b"not json",
    b"\xff\xfe\x00",
    b"{'name': 'single quotes'}",
    b'{"name": "x",}',
    b"[1, 2",
    b"NaN",
    b"[]",
    b'"a string"',
    b"42",
    b"[{}]",
    b'{"name": "x"}{"name": "y"}',
]

HUGE = "x" * 100_000
# Field by field, values that must be refused: (operation, field, bad value).
BAD_FIELDS: list[tuple[tuple[str, str], str, Any]] = []


def _bad(op: tuple[str, str], field: str, *values: Any) -> None:
    BAD_FIELDS.extend((op, field, value) for value in values)


NAME_BAD = (123, "", "   ", "x" * 201, HUGE, "a\x00b", ["x"], {"a": 1})
for op in [NEW_ORG, NEW_PARTNERSHIP]:
    _bad(op, "name", None, *NAME_BAD)
for op in [EDIT_ORG, EDIT_PARTNERSHIP]:
    _bad(op, "name", *NAME_BAD)
for op in [NEW_ORG, EDIT_ORG]:
    _bad(op, "sector", "space", "", "OTHER", "Other", 5, ["other"])
    _bad(op, "website", "not a url", "javascript:alert(1)", "https://" + HUGE, 5, "http://\x00")
_bad(NEW_ORG, "sector", None)
for op in [NEW_PARTNERSHIP, EDIT_PARTNERSHIP]:
    _bad(op, "type", "club", "Forum", "", 1, ["forum"])
    _bad(op, "parent_id", "x", 1.5, 987654, 10**30, -1, [1], {"id": 1})
    _bad(
        op,
        "sides",
        "Management side",
        [1, 2],
        [""],
        ["   "],
        ["x" * 101],
        ["Staff", "staff"],
        [None],
        [f"Side {n}" for n in range(21)],
        {"a": "b"},
        ["ok", "a\x00"],
    )
    _bad(op, "area", "x" * 201, 5)
    _bad(op, "purpose", 5, ["x"], "a\x00b")
_bad(NEW_PARTNERSHIP, "type", None)
_bad(NEW_PARTNERSHIP, "organisation_id", None, "abc", 1.5, -1, 0, 987654, 10**30, [1], "")
for op in [NEW_MEMBER, EDIT_MEMBER]:
    _bad(op, "organisation_id", "abc", 1.5, -1, 0, 987654, 10**30, [1])
    _bad(op, "role", "boss", "Manager", "", 1, ["member"])
    _bad(op, "side", "Board side", 5, "x" * 101, HUGE, ["Staff side"], "Staff\x00side")
    _bad(op, "decision_maker", "maybe", 2, [True], {"a": 1})
    _bad(op, "deputy_for_id", "x", 987654, 10**30, [], 1.5)
    _bad(
        op,
        "responsibilities",
        "media",
        [1],
        [None],
        ["x" * 81],
        {"a": 1},
        ["ok", "a\x00"],
        [["nested"]],
    )
    for date_field in ("start_date", "end_date"):
        _bad(
            op,
            date_field,
            "yesterday",
            "2024-13-01",
            "2024-02-30",
            "",
            "01/02/2024",
            [2024],
            "2024-01-01\x00",
        )
_bad(
    NEW_MEMBER,
    "email",
    None,
    "not-an-email",
    "a@b",
    "",
    "@example.org",
    "a@@example.org",
    5,
    "x" * 300 + "@example.org",
    "a\x00@example.org",
)
_bad(NEW_MEMBER, "name", None, "", "   ", "x" * 201, 7, "A\x00B")
_bad(NEW_MEMBER, "organisation_id", None)
_bad(NEW_MEMBER, "role", "deputy")  # a deputy must say whom they stand in for


def _fill(value: Any, ids: dict[str, int]) -> Any:
    return fill(value, ids)


def _path(template: str, ids: dict[str, int]) -> str:
    # Some routes need a record in another state than their neighbours' (a meeting to come).
    template = MEETING_PATHS.get(template, template)
    for name, pk in ids.items():
        template = template.replace(f"{{{name}}}", str(pk))
    return template


def _valid_body(op: tuple[str, str], ids: dict[str, int]) -> dict[str, Any]:
    return {k: _fill(v, ids) for k, v in VALID[op].items()}


@pytest.fixture
def ids(
    alice: User, bob: User, dave: User, carol: User, partnership_a: Partnership
) -> dict[str, int]:
    # alice starts partnerships in the POST /partnerships bodies, as an administrator allows.
    allow_creating_partnerships(alice)
    framework = services.framework_store(
        spec=load_framework(FRAMEWORK), document=FRAMEWORK, partnership=partnership_a, by=alice
    )
    round = Round.objects.create(
        partnership=partnership_a,
        framework=framework,
        title="A's round",
        opens_at=timezone.now() - dt.timedelta(hours=1),
        closes_at=timezone.now() + dt.timedelta(days=7),
    )
    services.invitations_create(round, [])
    invitation = round.invitations.get(membership__person=bob)
    alice_seat = Membership.objects.get(person=alice)
    action = Action.objects.create(
        partnership=partnership_a,
        title="A's action",
        owner=alice_seat,
        organisation=alice_seat.organisation,
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
    return {
        **delivery_api_ids(partnership_a, alice),
        **meetings_api_ids(partnership_a, alice),
        "action_id": action.pk,
        "risk_id": risk.pk,
        "issue_id": Issue.objects.create(partnership=partnership_a, title="A's issue").pk,
        "win_id": Win.objects.create(partnership=partnership_a, title="A's win").pk,
        "partnership_id": partnership_a.pk,
        "organisation_id": Membership.objects.get(person=alice).organisation_id,
        "member_id": Membership.objects.get(person=bob).pk,
        "framework_id": framework.pk,
        "round_id": round.pk,
        "token": invitation.token,  # type: ignore[dict-item]
    }


def _refused(
    api: ApiClient, method: str, path: str, body: Any = None, raw: bytes | None = None
) -> dict[str, Any]:
    before = db_state()
    try:
        response = api.call(method, path, body, raw=raw)
    except Exception as exc:  # the test client re-raises what would have been a 500
        pytest.fail(f"{method.upper()} {path} with {body or raw!r} raised {exc!r}")
    result = assert_error(response)
    assert db_state() == before, f"{method.upper()} {path} with {body or raw!r} changed data"
    return result


def test_it_has_a_valid_body_for_every_write_operation() -> None:
    # So a new write route is fed to the loops and the fuzz below, not silently skipped.
    writes = {(method, path) for method, path, _ in api_operations() if method in WRITE_METHODS}
    assert writes == set(VALID) | NO_BODY


def _caller(op: tuple[str, str], ids: dict[str, int], alice_api: ApiClient) -> ApiClient:
    if op in CHAIR_WRITES:
        return api_client_for(User.objects.get(pk=ids["chair_user_id"]))
    return alice_api


def test_it_accepts_each_valid_body(ids: dict[str, int], alice_api: ApiClient) -> None:
    # The control for the loops below: each body is refused for its one bad field only.
    for method, path in WRITES:
        caller = _caller((method, path), ids, alice_api)
        response = caller.call(method, _path(path, ids), _valid_body((method, path), ids))
        assert response.status_code in (200, 201, 202), (method, path, response.content)


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_it_refuses_bodies_that_are_not_json_objects(
    method: str, path: str, ids: dict[str, int], alice_api: ApiClient
) -> None:
    for raw in MALFORMED:
        body = _refused(alice_api, method, _path(path, ids), raw=raw)
        assert "not a valid JSON object" in body["message"], raw


def test_it_says_what_is_wrong_with_malformed_json(alice_api: ApiClient) -> None:
    body = assert_error(alice_api.call("post", "/organisations", raw=b'{"name": '), 400)
    assert body["message"].startswith("The request body is not a valid JSON object.")
    assert "Content-Type: application/json" in body["message"]


def test_it_refuses_a_form_encoded_body(alice_api: ApiClient) -> None:
    before = db_state()
    response = alice_api.client.post(
        API + "/organisations", {"name": "Form Org", "sector": "other"}
    )
    assert "not a valid JSON object" in assert_error(response, 400)["message"]
    assert db_state() == before


@pytest.mark.parametrize(("method", "path"), [w for w in WRITES if w[0] == "post"])
def test_it_refuses_an_empty_body_where_one_is_needed(
    method: str, path: str, ids: dict[str, int], alice_api: ApiClient
) -> None:
    body = _refused(alice_api, method, _path(path, ids), raw=b"")
    assert body["errors"]
    assert all(e["message"] == "Field required" for e in body["errors"])


@pytest.mark.parametrize(("method", "path"), [w for w in WRITES if w[0] == "post"])
def test_it_names_each_missing_field(
    method: str, path: str, ids: dict[str, int], alice_api: ApiClient
) -> None:
    required = [k for k in VALID[(method, path)] if k != "side"]
    assert required or (method, path) in NOTHING_REQUIRED
    for field in required:
        body = {k: v for k, v in _valid_body((method, path), ids).items() if k != field}
        result = _refused(alice_api, method, _path(path, ids), body)
        assert field in [e["field"] for e in result["errors"]]
        assert field in result["message"]


@pytest.mark.parametrize(
    ("op", "field", "value"),
    BAD_FIELDS,
    ids=[f"{op[0].upper()} {op[1]} {field}={str(value)[:20]!r}" for op, field, value in BAD_FIELDS],
)
def test_it_refuses_a_bad_field(
    op: tuple[str, str], field: str, value: Any, ids: dict[str, int], alice_api: ApiClient
) -> None:
    body = {**_valid_body(op, ids), field: value}
    result = _refused(alice_api, op[0], _path(op[1], ids), body)
    assert result.get("errors"), result
    # The errors name the field at fault (a deputy's fault is the missing deputy_for).
    expected = "deputy_for" if (field, value) == ("role", "deputy") else field
    assert {e["field"].split(".")[0] for e in result["errors"]} == {expected}, result
    assert len(result["message"]) < 2_000


@pytest.mark.parametrize(
    ("method", "path"), [NEW_MEMBER, EDIT_MEMBER], ids=["POST members", "PATCH member"]
)
def test_it_refuses_an_end_date_before_the_start(
    method: str, path: str, ids: dict[str, int], alice_api: ApiClient
) -> None:
    body = {
        **_valid_body((method, path), ids),
        "start_date": "2025-03-02",
        "end_date": "2025-03-01",
    }
    result = _refused(alice_api, method, _path(path, ids), body)
    assert result["errors"] == [
        {"field": "end_date", "message": "The end date must be on or after the start date."}
    ]


def test_it_lists_the_enum_choices_it_refused(ids: dict[str, int], alice_api: ApiClient) -> None:
    result = _refused(alice_api, "post", "/organisations", {"name": "X", "sector": "space"})
    assert "local_authority" in result["message"]
    result = _refused(alice_api, "patch", _path("/members/{member_id}", ids), {"role": "boss"})
    assert "chair" in result["message"]


def test_it_refuses_a_request_that_is_too_large(alice_api: ApiClient) -> None:
    raw = json.dumps({"name": "Big", "sector": "other", "website": "x" * 6_000_000}).encode()
    body = _refused(alice_api, "post", "/organisations", raw=raw)
    assert "too large" in body["message"]


BAD_IDS = [
    "abc",
    "1.5",
    "-1",
    "0",
    "99999999999999999999999",
    "1e3",
    "%20",
    "null",
    "1;DROP",
    "0x1",
]


@pytest.mark.parametrize(("method", "path"), ID_ROUTES)
def test_it_refuses_ids_that_are_not_whole_numbers_or_do_not_exist(
    method: str, path: str, ids: dict[str, int], alice_api: ApiClient
) -> None:
    body = _valid_body((method, path), ids) if (method, path) in VALID else None
    for bad in [*BAD_IDS, "987654"]:
        bad_ids = {name: bad for name in ids}
        result = _refused(alice_api, method, _path(path, bad_ids), body)
        assert result["message"]
    # A well-formed id that matches nothing is a plain 404.
    missing = {name: 987654 for name in ids}
    assert_error(alice_api.call(method, _path(path, missing), body), 404)


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=-1",
        "limit=abc",
        "limit=1001",
        "limit=99999999999999999999",
        "offset=-1",
        "offset=abc",
        "offset=99999999999999999999",
        "limit=1.5",
    ],
)
def test_it_refuses_bad_paging(query: str, ids: dict[str, int], alice_api: ApiClient) -> None:
    for path in [
        "/organisations",
        "/partnerships",
        _path("/partnerships/{partnership_id}/members", ids),
    ]:
        result = assert_error(alice_api.get(f"{path}?{query}"), 422)
        assert query.split("=")[0] in result["message"]


@pytest.mark.parametrize(
    "query", ["q=%00", "q=" + "x" * 5000, "q=%FF%FE", "q=%25_%25", "limit=1000"]
)
def test_it_copes_with_odd_searches(query: str, alice_api: ApiClient) -> None:
    response = alice_api.get(f"/organisations?{query}")
    assert response.status_code == 200
    assert "items" in response.json()


def test_it_refuses_a_bad_current_filter(ids: dict[str, int], alice_api: ApiClient) -> None:
    path = _path("/partnerships/{partnership_id}/members", ids)
    assert "current" in assert_error(alice_api.get(f"{path}?current=maybe"), 422)["message"]


@pytest.mark.parametrize(
    "path", ["/organisations", "/organisations/{organisation_id}", "/members/{member_id}"]
)
def test_it_refuses_unsupported_methods_in_json(
    path: str, ids: dict[str, int], alice_api: ApiClient
) -> None:
    for method in ["delete", "put"]:
        response = alice_api.call(method, _path(path, ids), {})
        body = assert_error(response, 405)
        assert method.upper() in body["message"]
        assert "GET" in response["Allow"]
        assert "GET" in body["message"]


@pytest.mark.parametrize("path", ["/nope", "/partnerships/", "/partnerships/1/nope", "/v2"])
def test_it_answers_json_for_unknown_api_paths(path: str, alice_api: ApiClient) -> None:
    body = assert_error(alice_api.get(path), 404)
    assert "/api/v1/docs" in body["message"]


# The API's own description -----------------------------------------------------


def test_it_publishes_an_openapi_schema(client: Client, db: None) -> None:
    response = client.get(API + "/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "partnerwell API"
    paths = schema["paths"]
    expected = {
        "/api/v1/organisations": {"get", "post"},
        "/api/v1/organisations/{organisation_id}": {"get", "patch"},
        "/api/v1/partnerships": {"get", "post"},
        "/api/v1/partnerships/{partnership_id}": {"get", "patch"},
        "/api/v1/partnerships/{partnership_id}/members": {"get", "post"},
        "/api/v1/members/{member_id}": {"get", "patch"},
        "/api/v1/rounds/{round_id}/results": {"get"},
        "/api/v1/responses": {"post"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) >= methods, path
    assert schema["components"]["securitySchemes"]["TokenAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }
    for path, item in paths.items():
        for method, operation in item.items():
            if (method, path.removeprefix(API)) in PUBLIC:
                assert "security" not in operation, (method, path)
                continue
            assert {"TokenAuth": []} in operation["security"], (method, path)
    assert "201" in paths["/api/v1/partnerships"]["post"]["responses"]


def test_it_documents_the_request_bodies(client: Client, db: None) -> None:
    schema = client.get(API + "/openapi.json").json()
    components = schema["components"]["schemas"]

    def body_schema(path: str, method: str) -> dict[str, Any]:
        ref = schema["paths"][path][method]["requestBody"]["content"]["application/json"]
        return components[ref["schema"]["$ref"].rsplit("/", 1)[1]]

    member_in = body_schema("/api/v1/partnerships/{partnership_id}/members", "post")
    assert {"email", "name", "organisation_id"} <= set(member_in["required"])
    partnership_in = body_schema("/api/v1/partnerships", "post")
    assert {"name", "type", "organisation_id"} <= set(partnership_in["required"])
    text = json.dumps(schema)
    for choices in (Role, Sector, PartnershipType):
        assert all(f'"{value}"' in text for value in choices.values), choices


def test_it_serves_the_interactive_docs(client: Client, db: None) -> None:
    response = client.get(API + "/docs")
    assert response.status_code == 200
    assert b"openapi.json" in response.content


# A seeded fuzz of every write operation ----------------------------------------

FUZZ_ROUNDS = 300


def _random_text(rng: random.Random) -> str:
    alphabet = [
        "a",
        "Z",
        " ",
        "\x00",
        "é",
        "☃",
        "😀",
        "\n",
        "'",
        '"',
        "\\",
        "%",
        "_",
        "<",
        "\u202e",
        "\ufeff",
    ]
    length = rng.choice([0, 1, 2, 5, 40, 101, 201, 255, 1000])
    return "".join(rng.choice(alphabet) for _ in range(length))


def _random_value(rng: random.Random, ids: dict[str, int], depth: int = 0) -> Any:
    kind = rng.randrange(12 if depth < 2 else 8)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2**31, 2**63, -(2**63) - 1, 10**30, *ids.values()])
    if kind == 3:
        return rng.choice([0.5, -1e308, 1e308, 3.0])
    if kind in (4, 5):
        return _random_text(rng)
    if kind == 6:
        return rng.choice(
            [
                "2024-02-29",
                "2023-02-29",
                "9999-12-31",
                "0001-01-01",
                "forum",
                "deputy",
                "chair",
                "other",
                "Staff side",
                "management SIDE",
                "someone@example.org",
                "bob@example.org",
                "https://example.org",
                str(rng.choice(list(ids.values()))),
            ]
        )
    if kind == 7:
        return ""
    if kind in (8, 9):
        return [_random_value(rng, ids, depth + 1) for _ in range(rng.randrange(4))]
    return {
        _random_text(rng)[:10]: _random_value(rng, ids, depth + 1) for _ in range(rng.randrange(3))
    }


def _fields(schema: dict[str, Any], path: str, method: str) -> list[str]:
    content = schema["paths"][API + path][method]["requestBody"]["content"]["application/json"]
    name = content["schema"]["$ref"].rsplit("/", 1)[1]
    return list(schema["components"]["schemas"][name]["properties"])


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_it_never_fails_on_random_payloads(
    method: str, path: str, ids: dict[str, int], alice_api: ApiClient, client: Client
) -> None:
    rng = random.Random(f"{method} {path}")  # seeded, so every run sends the same requests
    caller = _caller((method, path), ids, alice_api)
    fields = _fields(client.get(API + "/openapi.json").json(), path, method)
    for round_ in range(FUZZ_ROUNDS):
        if round_ % 4 < 2:
            # Mostly valid, with one or two fields scrambled: reaches the deeper code.
            body: Any = _valid_body((method, path), ids)
            for field in rng.sample(fields, rng.randint(1, min(2, len(fields)))):
                body[field] = _random_value(rng, ids)
        elif round_ % 4 == 2:
            body = {f: _random_value(rng, ids) for f in fields if rng.random() < 0.6}
        else:
            body = _random_value(rng, ids)
        try:
            response = caller.call(method, _path(path, ids), body)
        except Exception as exc:
            pytest.fail(f"{method.upper()} {path} with {body!r} raised {exc!r}")
        assert response.status_code < 500, (body, response.content[:300])
        if response.status_code >= 400:
            assert_error(response)
        else:
            assert response["Content-Type"].startswith("application/json")


# Unexpected errors ------------------------------------------------------------


def test_it_answers_json_503_while_the_database_is_unreachable(
    alice_api: ApiClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def unreachable(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(access, "visible_partnerships", unreachable)
    response = alice_api.call("get", "/partnerships")
    assert response.status_code == 503, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    assert response["Retry-After"] == "60"
    assert json.loads(response.content) == {
        "message": "The database is not reachable just now; try again in a minute."
    }
    # The traceback is logged for the administrator.
    assert "server closed the connection unexpectedly" in caplog.text
    assert "Traceback" in caplog.text


def test_it_answers_json_500_for_an_unexpected_error(
    alice_api: ApiClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise ZeroDivisionError("a bug in a selector")

    monkeypatch.setattr(access, "visible_partnerships", broken)
    response = alice_api.call("get", "/partnerships")
    assert response.status_code == 500, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    message = json.loads(response.content)["message"]
    assert message.startswith("Something went wrong on the server.")
    assert "ZeroDivisionError" not in message
    assert "ZeroDivisionError: a bug in a selector" in caplog.text
