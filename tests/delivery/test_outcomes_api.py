"""The API for priorities, votes, outcomes and measures: access, CRUD and errors.

``delivery_api_ids`` and ``VALID_BODIES`` are written so that the API-wide
walkers in tests/api can use them too: the ids of partnership A's records and
a valid body (required fields only) for every write operation here.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from typing import Any

import pytest

from partnerwell.api.api import api
from partnerwell.core.models import Partnership, User
from partnerwell.delivery.models import DataPoint, Measure, Outcome, Priority, Target
from tests.api.conftest import ApiClient, api_client_for, assert_error
from tests.delivery.test_outcomes import make_measure, make_outcome
from tests.delivery.test_votes import make_vote

API = "/api/v1"
PARAM = re.compile(r"\{(\w+)\}")
MINE = ("partnerwell_api_priorities_", "partnerwell_api_outcomes_")
WRITE_METHODS = {"post", "put", "patch", "delete"}


def delivery_operations() -> list[tuple[str, str, str]]:
    """(method, path below /api/v1, operation id) of every priorities and outcomes operation."""
    found = []
    for path, item in api.get_openapi_schema()["paths"].items():
        for method, operation in item.items():
            if operation["operationId"].startswith(MINE):
                found.append((method, path.removeprefix(API), operation["operationId"]))
    return sorted(found)


def delivery_api_ids(partnership: Partnership, manager: User) -> dict[str, int]:
    """Partnership A's records, one of each kind the routes name; the vote is open."""
    priority = Priority.objects.create(partnership=partnership, title="A's priority")
    other = Priority.objects.create(partnership=partnership, title="A's other priority")
    vote = make_vote(partnership, manager, [priority, other])
    outcome = make_outcome(partnership)
    measure = make_measure(outcome, points=[(dt.date(2024, 6, 30), 150.0)])
    return {
        "partnership_id": partnership.pk,
        "priority_id": priority.pk,
        "other_priority_id": other.pk,
        "vote_id": vote.pk,
        "outcome_id": outcome.pk,
        "measure_id": measure.pk,
        "target_id": measure.targets.get().pk,
        "data_point_id": measure.data_points.get().pk,
    }


# Required fields only, so that leaving any one out is an error. "{name}" is an id above,
# also inside lists and nested objects. None: the operation takes no body.
VALID_BODIES: dict[tuple[str, str], Any] = {
    ("post", "/partnerships/{partnership_id}/priorities"): {"title": "Warm homes"},
    ("patch", "/priorities/{priority_id}"): {"status": "agreed", "agreed_on": "2025-01-31"},
    ("post", "/partnerships/{partnership_id}/votes"): {
        "title": "Priorities 2027",
        "candidate_ids": ["{priority_id}", "{other_priority_id}"],
        "closes_at": "2099-01-01T00:00:00Z",
    },
    ("patch", "/votes/{vote_id}"): {"close_now": True},
    ("post", "/votes/{vote_id}/ballots"): {
        "scores": [
            {"priority_id": "{priority_id}", "points": 6},
            {"priority_id": "{other_priority_id}", "points": 4},
        ]
    },
    ("post", "/partnerships/{partnership_id}/outcomes"): {"title": "Fewer falls"},
    ("patch", "/outcomes/{outcome_id}"): {"title": "Fewer serious falls"},
    ("delete", "/outcomes/{outcome_id}"): None,
    ("post", "/outcomes/{outcome_id}/measures"): {"title": "Falls", "kind": "population"},
    ("patch", "/measures/{measure_id}"): {"unit": "per 100,000"},
    ("delete", "/measures/{measure_id}"): None,
    ("post", "/measures/{measure_id}/targets"): {"target_on": "2026-03-31", "value": 120},
    ("delete", "/measures/{measure_id}/targets/{target_id}"): None,
    ("post", "/measures/{measure_id}/data-points"): {"period_end": "2024-09-30", "value": 140},
    ("post", "/measures/{measure_id}/data-points/bulk"): {
        "points": [{"period_end": "2024-10-31", "value": 139}]
    },
    ("delete", "/measures/{measure_id}/data-points/{data_point_id}"): None,
}
# Writes a plain member may make: proposing a priority and casting their own ballot.
MEMBER_WRITES = {
    ("post", "/partnerships/{partnership_id}/priorities"),
    ("post", "/votes/{vote_id}/ballots"),
}


def fill(value: Any, ids: dict[str, int]) -> Any:
    """Put the ids into a body or path template, at any depth."""
    if isinstance(value, str):
        whole = PARAM.fullmatch(value)
        if whole and whole.group(1) in ids:
            return ids[whole.group(1)]
        return PARAM.sub(lambda m: str(ids.get(m.group(1), m.group(0))), value)
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


def state() -> tuple[object, ...]:
    return (
        list(Priority.objects.order_by("pk").values_list("pk", "title", "status", "agreed_on")),
        list(Outcome.objects.order_by("pk").values_list("pk", "title", "priority_id")),
        list(Measure.objects.order_by("pk").values_list("pk", "title", "unit")),
        list(Target.objects.order_by("pk").values_list("pk", "value", "target_on")),
        list(DataPoint.objects.order_by("pk").values_list("pk", "value", "period_end")),
    )


@pytest.fixture
def ids(partnership_a: Partnership, alice: User, bob: User, dave: User) -> dict[str, int]:
    return delivery_api_ids(partnership_a, alice)


@pytest.fixture
def alice_api(alice: User) -> ApiClient:
    return api_client_for(alice)


@pytest.fixture
def bob_api(bob: User) -> ApiClient:
    return api_client_for(bob)


@pytest.fixture
def carol_api(carol: User) -> ApiClient:
    return api_client_for(carol)


def _ops(*, writes: bool | None = None, with_ids: bool = False) -> list[Any]:
    chosen = []
    for method, path, _op in delivery_operations():
        if writes is not None and (method in WRITE_METHODS) != writes:
            continue
        if with_ids and not PARAM.search(path):
            continue
        chosen.append(pytest.param(method, path, id=f"{method.upper()} {path}"))
    return chosen


def test_it_has_a_valid_body_for_every_write_and_routes_every_kind_of_record() -> None:
    writes = {(m, p) for m, p, _ in delivery_operations() if m in WRITE_METHODS}
    assert writes == set(VALID_BODIES)
    paths = {p for _, p, _ in delivery_operations()}
    for expected in [
        "/partnerships/{partnership_id}/priorities",
        "/votes/{vote_id}/results",
        "/partnerships/{partnership_id}/outcomes",
        "/partnerships/{partnership_id}/measures",
        "/measures/{measure_id}/targets",
        "/measures/{measure_id}/data-points/bulk",
    ]:
        assert expected in paths


@pytest.mark.parametrize(("method", "path"), _ops(with_ids=True))
def test_it_keeps_partnership_a_from_a_member_of_another_partnership(
    method: str, path: str, ids: dict[str, int], carol_api: ApiClient
) -> None:
    before = state()
    body = fill(VALID_BODIES.get((method, path)), ids)
    response = carol_api.call(method, fill(path, ids), body)
    result = assert_error(response, 404)
    assert "Alpha" not in result["message"]
    assert state() == before


@pytest.mark.parametrize(("method", "path"), _ops(writes=True, with_ids=True))
def test_it_refuses_manager_only_writes_to_a_plain_member(
    method: str, path: str, ids: dict[str, int], bob_api: ApiClient
) -> None:
    before = state()
    response = bob_api.call(method, fill(path, ids), fill(VALID_BODIES[(method, path)], ids))
    if (method, path) in MEMBER_WRITES:
        assert response.status_code == 201, response.content
    else:
        assert_error(response, 403)
        assert state() == before


@pytest.mark.parametrize(("method", "path"), _ops())
def test_it_lets_the_manager_do_everything(
    method: str, path: str, ids: dict[str, int], alice_api: ApiClient
) -> None:
    body = fill(VALID_BODIES.get((method, path)), ids)
    response = alice_api.call(method, fill(path, ids), body)
    assert response.status_code in (200, 201), response.content[:500]
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(("method", "path"), _ops())
def test_it_refuses_a_caller_without_credentials(
    method: str, path: str, ids: dict[str, int]
) -> None:
    before = state()
    body = fill(VALID_BODIES.get((method, path)), ids)
    assert_error(ApiClient().call(method, fill(path, ids), body), 401)
    assert state() == before


@pytest.mark.parametrize(("method", "path"), _ops(with_ids=True))
def test_it_answers_404_for_ids_that_match_nothing(
    method: str, path: str, ids: dict[str, int], alice_api: ApiClient
) -> None:
    body = fill(VALID_BODIES.get((method, path)), ids)
    for bad in ["987654", "0", "99999999999999999999999"]:
        missing = {name: bad for name in PARAM.findall(path)}
        assert_error(alice_api.call(method, fill(path, missing), body), 404)
    assert_error(alice_api.call(method, fill(path, {n: "abc" for n in ids}), body))


@pytest.mark.parametrize(
    ("method", "path"), [p for p in _ops(writes=True) if p.values[0] == "post"]
)
def test_it_names_each_missing_field(
    method: str, path: str, ids: dict[str, int], alice_api: ApiClient
) -> None:
    valid = fill(VALID_BODIES[(method, path)], ids)
    for field in valid:
        before = state()
        body = {k: v for k, v in valid.items() if k != field}
        result = assert_error(alice_api.call(method, fill(path, ids), body), 422)
        assert field in [e["field"] for e in result["errors"]]
        assert state() == before


# A seeded fuzz of every write: never a 500, always JSON ------------------------------------------


def _random_value(rng: random.Random, ids: dict[str, int], depth: int = 0) -> Any:
    kind = rng.randrange(11 if depth < 2 else 8)
    choices: list[Any] = [
        None,
        rng.choice([True, False]),
        rng.choice([0, -1, 1, 7, 10, 11, 2**31, 2**63, -(2**63) - 1, 10**30, *ids.values()]),
        rng.choice([0.5, -1e308, 1e308, 3.0, 1e12, 1e13]),
        rng.choice(["", "x", "a\x00b", "😀" * 300, "agreed", "points", "rating", "lower"]),
        rng.choice(
            [
                "2024-02-29",
                "2023-02-29",
                "9999-12-31",
                "0001-01-01",
                "2099-01-01T00:00:00",
                "2099-01-01T00:00:00+14:00",
                "1850-01-01T00:00:00Z",
                "yesterday",
            ]
        ),
        str(rng.choice(list(ids.values()))),
        "",
    ]
    if kind < len(choices):
        return choices[kind]
    if kind < 10:
        return [_random_value(rng, ids, depth + 1) for _ in range(rng.randrange(4))]
    return {
        rng.choice(
            ["priority_id", "points", "importance", "feasibility", "period_end", "value", "x"]
        ): _random_value(rng, ids, depth + 1)
        for _ in range(rng.randrange(4))
    }


def _fields(valid: Any) -> list[str]:
    return sorted(valid) if isinstance(valid, dict) else []


@pytest.mark.parametrize(
    ("method", "path"), [p for p in _ops(writes=True) if VALID_BODIES[tuple(p.values)] is not None]
)
def test_it_never_fails_on_random_payloads(
    method: str, path: str, ids: dict[str, int], alice_api: ApiClient
) -> None:
    rng = random.Random(f"{method} {path}")  # seeded: every run sends the same requests
    valid = fill(VALID_BODIES[(method, path)], ids)
    extra = [
        "title",
        "description",
        "status",
        "agreed_on",
        "method",
        "opens_at",
        "closes_at",
        "anonymity_floor",
        "priority_id",
        "for_whom",
        "baseline_value",
        "baseline_on",
        "frequency_days",
        "direction",
        "unit",
        "note",
        "close_now",
    ]
    for round_ in range(60):
        if round_ % 3 == 0 and isinstance(valid, dict):
            body: Any = dict(valid)
            for field in rng.sample([*_fields(valid), *extra], 2):
                body[field] = _random_value(rng, ids)
        elif round_ % 3 == 1:
            body = {
                f: _random_value(rng, ids) for f in [*_fields(valid), *extra] if rng.random() < 0.3
            }
        else:
            body = _random_value(rng, ids)
        try:
            response = alice_api.call(method, fill(path, ids), body)
        except Exception as exc:
            pytest.fail(f"{method.upper()} {path} with {body!r} raised {exc!r}")
        assert response.status_code < 500, (body, response.content[:300])
        if response.status_code >= 400:
            assert_error(response)


# Outcomes and measures -----------------------------------------------------------------------


def test_it_creates_reads_updates_and_deletes_an_outcome(
    ids: dict[str, int], alice_api: ApiClient
) -> None:
    created = alice_api.post(
        f"/partnerships/{ids['partnership_id']}/outcomes",
        {
            "title": "More children ready for school",
            "for_whom": "Under-fives",
            "priority_id": ids["priority_id"],
        },
    )
    assert created.status_code == 201
    outcome_id = created.json()["id"]
    assert alice_api.get(f"/outcomes/{outcome_id}").json()["priority_id"] == ids["priority_id"]
    patched = alice_api.patch(
        f"/outcomes/{outcome_id}", {"priority_id": None, "title": "Ready for school"}
    )
    assert patched.json()["priority_id"] is None
    outcome = Outcome.objects.get(pk=outcome_id)
    assert (outcome.title, outcome.priority_id) == ("Ready for school", None)
    listed = alice_api.get(f"/partnerships/{ids['partnership_id']}/outcomes").json()["items"]
    assert [o["title"] for o in listed] == ["Fewer falls", "Ready for school"]
    assert alice_api.call("delete", f"/outcomes/{outcome_id}").status_code == 200
    assert not Outcome.objects.filter(pk=outcome_id).exists()


def test_it_refuses_another_partnerships_priority_for_an_outcome(
    ids: dict[str, int], alice_api: ApiClient, partnership_b: Partnership
) -> None:
    theirs = Priority.objects.create(partnership=partnership_b, title="Theirs")
    response = alice_api.post(
        f"/partnerships/{ids['partnership_id']}/outcomes", {"title": "X", "priority_id": theirs.pk}
    )
    result = assert_error(response, 422)
    assert result["errors"] == [
        {"field": "priority_id", "message": "No priority of this partnership has that id."}
    ]


def test_it_creates_a_measure_and_reports_its_status(
    ids: dict[str, int], alice_api: ApiClient
) -> None:
    response = alice_api.post(
        f"/outcomes/{ids['outcome_id']}/measures",
        {
            "title": "Hospital stays after a fall",
            "kind": "better_off",
            "unit": "days",
            "direction": "lower",
            "baseline_value": 20,
            "baseline_on": "2024-01-01",
            "frequency_days": 31,
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] is None
    assert "a tenth (10%)" in body["status_rule"]
    measure_id = body["id"]
    alice_api.post(f"/measures/{measure_id}/targets", {"target_on": "2025-01-01", "value": 10})
    alice_api.post(f"/measures/{measure_id}/data-points", {"period_end": "2024-07-02", "value": 16})
    body = alice_api.get(f"/measures/{measure_id}").json()
    # Expected 15 on 2 July 2024; 16 is 1 behind, 10% of the planned fall of 10.
    assert body["status"] == "at_risk"
    assert body["latest"] == {"period_end": "2024-07-02", "value": 16.0}
    assert body["next_target"]["value"] == 10
    listed = alice_api.get(f"/partnerships/{ids['partnership_id']}/measures").json()["items"]
    assert {m["title"]: m["status"] for m in listed} == {
        "Admissions after a fall": "on_track",
        "Hospital stays after a fall": "at_risk",
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"baseline_value": 5}, "baseline_on"),
        ({"baseline_on": "2024-01-01"}, "baseline_value"),
        ({"baseline_value": 1e13, "baseline_on": "2024-01-01"}, "baseline_value"),
        ({"baseline_value": 1, "baseline_on": "1850-01-01"}, "baseline_on"),
        ({"kind": "lots"}, "kind"),
        ({"frequency_days": 0}, "frequency_days"),
        ({"unit": "x" * 41}, "unit"),
    ],
)
def test_it_says_which_measure_field_is_wrong(
    ids: dict[str, int], alice_api: ApiClient, change: dict[str, Any], field: str
) -> None:
    before = state()
    body = {"title": "M", "kind": "how_much", **change}
    result = assert_error(alice_api.post(f"/outcomes/{ids['outcome_id']}/measures", body), 422)
    assert {e["field"] for e in result["errors"]} == {field}
    assert state() == before


def test_it_refuses_an_infinite_value(ids: dict[str, int], alice_api: ApiClient) -> None:
    raw = b'{"period_end": "2024-09-30", "value": 1e400}'
    response = alice_api.call("post", f"/measures/{ids['measure_id']}/data-points", raw=raw)
    assert_error(response, 422)
    assert DataPoint.objects.count() == 1


def test_it_clears_a_baseline_and_changes_a_measure(
    ids: dict[str, int], alice_api: ApiClient
) -> None:
    response = alice_api.patch(
        f"/measures/{ids['measure_id']}",
        {"baseline_value": None, "baseline_on": None, "title": None},
    )
    assert response.status_code == 200
    measure = Measure.objects.get(pk=ids["measure_id"])
    assert (measure.baseline_value, measure.baseline_on, measure.title) == (
        None,
        None,
        "Admissions after a fall",
    )
    assert response.json()["status"] is None


def test_it_sets_and_replaces_targets(ids: dict[str, int], alice_api: ApiClient) -> None:
    url = f"/measures/{ids['measure_id']}/targets"
    assert alice_api.post(url, {"target_on": "2026-01-01", "value": 90}).status_code == 201
    assert alice_api.post(url, {"target_on": "2026-01-01", "value": 80}).status_code == 201
    assert [(t["target_on"], t["value"]) for t in alice_api.get(url).json()] == [
        ("2025-01-01", 100.0),
        ("2026-01-01", 80.0),
    ]
    result = assert_error(alice_api.post(url, {"target_on": "2023-12-31", "value": 1}), 422)
    assert result["errors"][0]["field"] == "target_on"


def test_it_records_data_points_in_bulk_all_or_nothing(
    ids: dict[str, int], alice_api: ApiClient, alice: User
) -> None:
    url = f"/measures/{ids['measure_id']}/data-points"
    bad = {
        "points": [
            {"period_end": "2024-07-31", "value": 149},
            {"period_end": "2024-07-31", "value": 148},
        ]
    }
    result = assert_error(alice_api.post(url + "/bulk", bad), 422)
    assert result["errors"][0]["field"] == "points.1.period_end"
    assert DataPoint.objects.count() == 1
    good = {
        "points": [
            {"period_end": "2024-06-30", "value": 151, "note": "Revised"},
            {"period_end": "2024-07-31", "value": 149},
        ]
    }
    assert alice_api.post(url + "/bulk", good).json() == {"added": 1, "updated": 1}
    listed = alice_api.get(url).json()["items"]
    assert [(p["period_end"], p["value"], p["note"]) for p in listed] == [
        ("2024-06-30", 151.0, "Revised"),
        ("2024-07-31", 149.0, ""),
    ]
    assert set(DataPoint.objects.values_list("entered_by", flat=True)) == {alice.pk}


def test_it_deletes_only_this_measures_data_points(
    ids: dict[str, int], alice_api: ApiClient, partnership_a: Partnership
) -> None:
    other = make_measure(make_outcome(partnership_a, "Other"), points=[(dt.date(2024, 1, 31), 1)])
    point = other.data_points.get()
    response = alice_api.call("delete", f"/measures/{ids['measure_id']}/data-points/{point.pk}")
    assert assert_error(response, 404)["message"] == "This measure has no data point with that id."
    assert DataPoint.objects.filter(pk=point.pk).exists()


def test_it_pages_data_points(ids: dict[str, int], alice_api: ApiClient) -> None:
    url = f"/measures/{ids['measure_id']}/data-points"
    alice_api.post(
        url + "/bulk",
        {"points": [{"period_end": f"2023-{m:02d}-01", "value": m} for m in range(1, 13)]},
    )
    page = alice_api.get(url + "?limit=5&offset=10").json()
    assert page["count"] == 13
    assert [p["value"] for p in page["items"]] == [11.0, 12.0, 150.0]
    assert_error(alice_api.get(url + "?limit=0"), 422)


def test_it_answers_json_to_a_body_that_is_not_an_object(
    ids: dict[str, int], alice_api: ApiClient
) -> None:
    for raw in [b"[]", b"42", b"not json", b'{"title": ']:
        response = alice_api.call("post", f"/outcomes/{ids['outcome_id']}/measures", raw=raw)
        assert "not a valid JSON object" in assert_error(response, 400)["message"]
    assert json.loads(alice_api.get(f"/outcomes/{ids['outcome_id']}").content)["id"]
