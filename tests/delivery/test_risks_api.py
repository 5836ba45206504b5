"""The API for risks, issues and wins: same access rules as the pages, JSON errors, never a 500."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from partnerwell.core.models import Membership, Partnership, User
from partnerwell.delivery.models import Issue, IssueStatus, Outcome, Risk, RiskStatus, Win
from tests.api.conftest import ApiClient, api_client_for, assert_error
from tests.delivery.test_risks import make_risk

TODAY = timezone.localdate


@pytest.fixture
def alice_api(alice: User) -> ApiClient:
    return api_client_for(alice)


@pytest.fixture
def bob_api(bob: User) -> ApiClient:
    return api_client_for(bob)


@pytest.fixture
def carol_api(carol: User) -> ApiClient:
    return api_client_for(carol)


def _member(user: User) -> Membership:
    return Membership.objects.get(person=user)


def _risk_body(owner: Membership, **changes: Any) -> dict[str, Any]:
    return {
        "title": "Funding falls through",
        "category": "resources",
        "owner_id": owner.pk,
        "likelihood": 4,
        "impact": 5,
        "target_likelihood": 2,
        "target_impact": 3,
        "review_on": (TODAY() + dt.timedelta(days=60)).isoformat(),
        **changes,
    }


# Risks ---------------------------------------------------------------------------


def test_it_creates_and_lists_risks_for_a_manager(
    alice_api: ApiClient, bob_api: ApiClient, alice: User, bob: User, partnership_a: Partnership
) -> None:
    response = alice_api.post(f"/partnerships/{partnership_a.pk}/risks", _risk_body(_member(bob)))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["rating"], body["target_rating"], body["rating_band"]) == (20, 6, "very_high")
    assert body["above_target"] is True
    assert body["owner_name"] == "Bob Member"
    assert body["organisation_id"] == _member(bob).organisation_id
    risk = Risk.objects.get()
    assert risk.owner == _member(bob)
    listed = bob_api.get(f"/partnerships/{partnership_a.pk}/risks").json()
    assert [r["id"] for r in listed["items"]] == [risk.pk]
    assert bob_api.get(f"/risks/{risk.pk}").json()["title"] == "Funding falls through"


def test_it_refuses_risk_writes_from_a_plain_member(
    bob_api: ApiClient, alice: User, bob: User, partnership_a: Partnership
) -> None:
    response = bob_api.post(f"/partnerships/{partnership_a.pk}/risks", _risk_body(_member(bob)))
    assert_error(response, 403)
    risk = make_risk(partnership_a, owner=_member(alice))
    assert_error(bob_api.patch(f"/risks/{risk.pk}", {"title": "Hijacked"}), 403)
    assert_error(bob_api.patch(f"/risks/{risk.pk}", {"escalate": True}), 403)
    review = {"next_review_on": (TODAY() + dt.timedelta(days=9)).isoformat()}
    assert_error(bob_api.post(f"/risks/{risk.pk}/reviews", review), 403)
    risk.refresh_from_db()
    assert (risk.title, risk.escalate, risk.last_reviewed_on) == (
        "Partners drift apart",
        False,
        None,
    )
    assert Risk.objects.count() == 1


def test_it_lets_the_owner_escalate_and_review_but_nothing_else(
    bob_api: ApiClient, alice: User, bob: User, partnership_a: Partnership
) -> None:
    risk = make_risk(partnership_a, owner=_member(bob))
    assert bob_api.patch(f"/risks/{risk.pk}", {"escalate": True}).json()["escalate"] is True
    assert_error(bob_api.patch(f"/risks/{risk.pk}", {"escalate": False, "impact": 1}), 403)
    response = bob_api.post(
        f"/risks/{risk.pk}/reviews",
        {"next_review_on": (TODAY() + dt.timedelta(days=90)).isoformat(), "likelihood": 1},
    )
    assert response.status_code == 201, response.content
    risk.refresh_from_db()
    assert risk.escalate is True
    assert risk.impact == 3
    assert risk.likelihood == 1
    assert risk.last_reviewed_on == TODAY()
    assert risk.review_on == TODAY() + dt.timedelta(days=90)


def test_it_lets_a_manager_change_a_risk(
    alice_api: ApiClient, alice: User, bob: User, partnership_a: Partnership
) -> None:
    risk = make_risk(partnership_a, owner=_member(alice), escalate=True)
    response = alice_api.patch(
        f"/risks/{risk.pk}", {"owner_id": _member(bob).pk, "status": "closed", "impact": 1}
    )
    assert response.status_code == 200, response.content
    risk.refresh_from_db()
    assert (risk.owner, risk.status, risk.impact, risk.escalate) == (
        _member(bob),
        RiskStatus.CLOSED,
        1,
        False,
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"likelihood": 6}, "likelihood"),
        ({"likelihood": 0}, "likelihood"),
        ({"impact": "high"}, "impact"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"review_on": "31/12/2026"}, "review_on"),
        ({"category": "weather"}, "category"),
        ({"owner_id": 10**30}, "owner_id"),
        ({"owner_id": 987654}, "owner_id"),
        ({"organisation_id": 987654}, "organisation_id"),
        ({"cause": "a\x00b"}, "cause"),
    ],
)
def test_it_says_which_risk_field_is_wrong(
    alice_api: ApiClient, alice: User, partnership_a: Partnership, changes: dict, field: str
) -> None:
    response = alice_api.post(
        f"/partnerships/{partnership_a.pk}/risks", _risk_body(_member(alice), **changes)
    )
    body = assert_error(response, 422)
    assert [e["field"] for e in body["errors"]] == [field]
    assert not Risk.objects.exists()


def test_it_refuses_an_owner_from_another_partnership(
    alice_api: ApiClient, alice: User, carol: User, partnership_a: Partnership
) -> None:
    response = alice_api.post(f"/partnerships/{partnership_a.pk}/risks", _risk_body(_member(carol)))
    assert "No current member of this partnership" in assert_error(response, 422)["message"]


def test_it_refuses_a_review_whose_next_date_is_not_later(
    alice_api: ApiClient, alice: User, partnership_a: Partnership
) -> None:
    risk = make_risk(partnership_a)
    response = alice_api.post(f"/risks/{risk.pk}/reviews", {"next_review_on": TODAY().isoformat()})
    assert "The next review must come after" in assert_error(response, 422)["message"]


# Issues --------------------------------------------------------------------------


def test_it_lets_a_member_raise_an_issue_and_a_manager_resolve_it(
    alice_api: ApiClient, bob_api: ApiClient, alice: User, bob: User, partnership_a: Partnership
) -> None:
    created = bob_api.post(f"/partnerships/{partnership_a.pk}/issues", {"title": "Where?"})
    assert created.status_code == 201, created.content
    assert created.json()["raised_by_name"] == "Bob Member"
    issue_id = created.json()["id"]
    assert_error(
        bob_api.patch(f"/issues/{issue_id}", {"status": "resolved", "resolution": "x"}), 403
    )
    refused = alice_api.patch(f"/issues/{issue_id}", {"status": "resolved"})
    assert "Say how the issue was resolved." in assert_error(refused, 422)["message"]
    assert Issue.objects.get().status == IssueStatus.OPEN
    done = alice_api.patch(f"/issues/{issue_id}", {"status": "resolved", "resolution": "Room 2"})
    assert done.status_code == 200, done.content
    issue = Issue.objects.get()
    assert (issue.status, issue.resolution, issue.resolved_on) == (
        IssueStatus.RESOLVED,
        "Room 2",
        TODAY(),
    )
    reopened = alice_api.patch(f"/issues/{issue_id}", {"status": "open"})
    assert reopened.json()["status"] == "open"


def test_it_refuses_a_resolution_on_an_open_issue(
    alice_api: ApiClient, alice: User, partnership_a: Partnership
) -> None:
    issue = Issue.objects.create(partnership=partnership_a, title="Where?")
    response = alice_api.patch(f"/issues/{issue.pk}", {"resolution": "Room 2"})
    assert "set status to" in assert_error(response, 422)["message"]
    issue.refresh_from_db()
    assert issue.resolution == ""


# Wins ----------------------------------------------------------------------------


def test_it_lets_a_member_record_a_win_and_a_manager_change_it(
    alice_api: ApiClient,
    bob_api: ApiClient,
    alice: User,
    bob: User,
    partnership_a: Partnership,
    partnership_b: Partnership,
) -> None:
    ours = Outcome.objects.create(partnership=partnership_a, title="Ours")
    theirs = Outcome.objects.create(partnership=partnership_b, title="Theirs")
    refused = bob_api.post(
        f"/partnerships/{partnership_a.pk}/wins", {"title": "Sneaky", "outcome_id": theirs.pk}
    )
    assert "no outcome with that id" in assert_error(refused, 422)["message"]
    created = bob_api.post(
        f"/partnerships/{partnership_a.pk}/wins", {"title": "Clinic opened", "outcome_id": ours.pk}
    )
    assert created.status_code == 201, created.content
    win_id = created.json()["id"]
    assert_error(bob_api.patch(f"/wins/{win_id}", {"title": "Bob's"}), 403)
    changed = alice_api.patch(
        f"/wins/{win_id}", {"title": "Falls clinic opened", "outcome_id": None}
    )
    assert changed.status_code == 200, changed.content
    win = Win.objects.get()
    assert (win.title, win.outcome, win.recorded_by) == ("Falls clinic opened", None, bob)


def test_it_refuses_a_win_in_the_future(
    bob_api: ApiClient, bob: User, partnership_a: Partnership
) -> None:
    tomorrow = (TODAY() + dt.timedelta(days=1)).isoformat()
    response = bob_api.post(
        f"/partnerships/{partnership_a.pk}/wins", {"title": "Soon", "won_on": tomorrow}
    )
    assert "in the future" in assert_error(response, 422)["message"]
    assert not Win.objects.exists()


# Carol gets 404 everywhere ------------------------------------------------------------


def test_it_hides_partnership_a_from_carol(
    carol_api: ApiClient, alice: User, carol: User, partnership_a: Partnership
) -> None:
    from partnerwell.api.risks import router

    risk = make_risk(partnership_a, title="Alpha risk")
    issue = Issue.objects.create(partnership=partnership_a, title="Alpha issue")
    win = Win.objects.create(partnership=partnership_a, title="Alpha win")
    ids = {
        "partnership_id": partnership_a.pk,
        "risk_id": risk.pk,
        "issue_id": issue.pk,
        "win_id": win.pk,
    }
    # Valid bodies, so that the refusal comes from access and not from validation.
    bodies = {
        ("post", "/partnerships/{partnership_id}/risks"): _risk_body(_member(carol)),
        ("post", "/risks/{risk_id}/reviews"): {"next_review_on": "2099-01-01"},
        ("post", "/partnerships/{partnership_id}/issues"): {"title": "x"},
        ("post", "/partnerships/{partnership_id}/wins"): {"title": "x"},
        ("patch", "/risks/{risk_id}"): {"title": "x", "escalate": True},
        ("patch", "/issues/{issue_id}"): {"status": "resolved", "resolution": "x"},
        ("patch", "/wins/{win_id}"): {"title": "x"},
    }
    # Read from the router itself, so a new operation is walked as soon as it exists.
    ours = [
        (method.lower(), path)
        for path, view in router.path_operations.items()
        for operation in view.operations
        for method in operation.methods
    ]
    assert len(ours) == 13
    for method, path in ours:
        assert method == "get" or (method, path) in bodies, (method, path)
        url = path.format(**ids)
        response = carol_api.call(method, url, bodies.get((method, path)))
        body = assert_error(response, 404)
        assert "Alpha" not in body["message"], (method, url)
    risk.refresh_from_db()
    issue.refresh_from_db()
    assert (risk.title, risk.escalate, issue.status) == ("Alpha risk", False, IssueStatus.OPEN)
    assert Win.objects.get().title == "Alpha win"


# A seeded fuzz: odd values in every field of every write, never a 500 ----------------

ODD = [
    None, True, 0, -1, 6, 2**31, 2**63, 10**30, 1.5, 1e308, "", " ", "x" * 201, "a\x00b",
    "9999-12-31", "0001-01-01", "2024-02-30", "resolved", "closed", "open", "other", "😀\u202e",
    [], [1], {}, {"a": 1},
]  # fmt: skip


def test_it_never_fails_on_odd_values(
    alice_api: ApiClient, alice: User, bob: User, partnership_a: Partnership
) -> None:
    import random

    rng = random.Random(20260310)
    risk = make_risk(partnership_a, owner=_member(alice))
    issue = Issue.objects.create(partnership=partnership_a, title="Where?")
    win = Win.objects.create(partnership=partnership_a, title="Clinic opened")
    p = partnership_a.pk
    writes = {
        ("post", f"/partnerships/{p}/risks"): _risk_body(_member(bob)),
        ("patch", f"/risks/{risk.pk}"): {"title": "New", "status": "open", "escalate": True},
        ("post", f"/risks/{risk.pk}/reviews"): {"next_review_on": "2099-01-01", "impact": 2},
        ("post", f"/partnerships/{p}/issues"): {"title": "x", "detail": "y"},
        ("patch", f"/issues/{issue.pk}"): {"status": "resolved", "resolution": "x"},
        ("post", f"/partnerships/{p}/wins"): {"title": "x", "won_on": "2020-01-01"},
        ("patch", f"/wins/{win.pk}"): {"title": "x", "outcome_id": None},
    }
    statuses = set()
    for (method, url), valid in writes.items():
        fields = [*valid, "owner_id", "organisation_id", "likelihood", "reviewed_on", "won_on"]
        for _ in range(60):
            body = dict(valid)
            for field in rng.sample(fields, rng.randint(1, 3)):
                body[field] = rng.choice(ODD)
            response = alice_api.call(method, url, body)
            assert response.status_code < 500, (method, url, body, response.content[:300])
            if response.status_code >= 400:
                assert_error(response)
            statuses.add(response.status_code)
    # The fuzz reached both the refusals and the successes.
    assert {200, 201, 422} <= statuses
