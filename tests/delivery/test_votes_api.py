"""The API for priorities and votes: proposing, deciding, opening, casting, closing, results."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from partnerwell.core.models import Organisation, Partnership, User
from partnerwell.delivery.models import (
    Ballot,
    Priority,
    PriorityStatus,
    PriorityVote,
    VoteParticipation,
)
from tests.api.conftest import ApiClient, api_client_for, assert_error
from tests.delivery.test_votes import add_member, make_vote


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
def candidates(partnership_a: Partnership) -> list[Priority]:
    return [Priority.objects.create(partnership=partnership_a, title=t) for t in ("Alpha", "Beta")]


@pytest.fixture
def vote(partnership_a: Partnership, alice: User, candidates: list[Priority]) -> PriorityVote:
    return make_vote(partnership_a, alice, candidates)


def scores(candidates: list[Priority], *given: int) -> dict[str, Any]:
    return {
        "scores": [
            {"priority_id": p.pk, "points": n} for p, n in zip(candidates, given, strict=True)
        ]
    }


# Priorities --------------------------------------------------------------------------------


def test_it_lets_a_member_propose_and_a_manager_agree(
    bob_api: ApiClient, alice_api: ApiClient, partnership_a: Partnership
) -> None:
    created = bob_api.post(f"/partnerships/{partnership_a.pk}/priorities", {"title": "Warm homes"})
    assert created.status_code == 201
    priority_id = created.json()["id"]
    assert created.json()["status"] == "candidate"
    assert_error(bob_api.patch(f"/priorities/{priority_id}", {"status": "agreed"}), 403)
    agreed = alice_api.patch(f"/priorities/{priority_id}", {"status": "agreed"})
    assert agreed.json()["agreed_on"] == timezone.localdate().isoformat()
    dated = alice_api.patch(f"/priorities/{priority_id}", {"agreed_on": "2025-02-03"})
    assert dated.status_code == 200
    priority = Priority.objects.get(pk=priority_id)
    assert (priority.status, priority.agreed_on) == (PriorityStatus.AGREED, dt.date(2025, 2, 3))
    future = assert_error(
        alice_api.patch(f"/priorities/{priority_id}", {"agreed_on": "2199-01-01"}), 422
    )
    assert future["errors"][0]["field"] == "agreed_on"
    set_aside = alice_api.patch(f"/priorities/{priority_id}", {"status": "set_aside"})
    assert set_aside.json()["agreed_on"] is None
    undated = assert_error(
        alice_api.patch(f"/priorities/{priority_id}", {"agreed_on": "2025-02-03"}), 422
    )
    assert "send status agreed too" in undated["message"]


def test_it_refuses_a_bad_priority(alice_api: ApiClient, partnership_a: Partnership) -> None:
    for body, field in [
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "ok", "description": "a\x00b"}, "description"),
    ]:
        result = assert_error(
            alice_api.post(f"/partnerships/{partnership_a.pk}/priorities", body), 422
        )
        assert result["errors"][0]["field"] == field
    assert not Priority.objects.exists()


# Votes --------------------------------------------------------------------------------------


def test_it_opens_a_vote_for_managers_only(
    alice_api: ApiClient, bob_api: ApiClient, partnership_a: Partnership, candidates: list[Priority]
) -> None:
    body = {
        "title": "Priorities 2027",
        "method": "rating",
        "candidate_ids": [p.pk for p in candidates],
        "closes_at": "2099-01-01T00:00:00",
    }
    assert_error(bob_api.post(f"/partnerships/{partnership_a.pk}/votes", body), 403)
    response = alice_api.post(f"/partnerships/{partnership_a.pk}/votes", body)
    assert response.status_code == 201
    out = response.json()
    assert (out["state"], out["method"], out["voted"]) == ("open", "rating", 0)
    assert out["candidate_ids"] == sorted(p.pk for p in candidates)
    vote = PriorityVote.objects.get()
    # A time without a zone is local time.
    assert timezone.localtime(vote.closes_at).hour == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"candidate_ids": [987654, 987655]}, "candidate_ids"),
        ({"candidate_ids": [1]}, "candidate_ids"),
        ({"closes_at": "2001-01-01T00:00:00Z"}, "closes_at"),
        ({"closes_at": "0001-01-01T00:00:00Z"}, "closes_at"),
        ({"anonymity_floor": 2}, "anonymity_floor"),
        ({"method": "lottery"}, "method"),
    ],
)
def test_it_says_which_vote_field_is_wrong(
    alice_api: ApiClient,
    partnership_a: Partnership,
    candidates: list[Priority],
    change: dict[str, Any],
    field: str,
) -> None:
    body = {
        "title": "V",
        "candidate_ids": [p.pk for p in candidates],
        "closes_at": "2099-01-01T00:00:00Z",
        **change,
    }
    result = assert_error(alice_api.post(f"/partnerships/{partnership_a.pk}/votes", body), 422)
    assert {e["field"] for e in result["errors"]} == {field}
    assert not PriorityVote.objects.exists()


def test_it_will_not_vote_on_another_partnerships_priority(
    alice_api: ApiClient,
    partnership_a: Partnership,
    partnership_b: Partnership,
    candidates: list[Priority],
) -> None:
    theirs = Priority.objects.create(partnership=partnership_b, title="Theirs")
    body = {
        "title": "V",
        "candidate_ids": [candidates[0].pk, theirs.pk],
        "closes_at": "2099-01-01T00:00:00Z",
    }
    assert_error(alice_api.post(f"/partnerships/{partnership_a.pk}/votes", body), 422)


def test_it_casts_one_ballot_per_member(
    bob_api: ApiClient, bob: User, vote: PriorityVote, candidates: list[Priority]
) -> None:
    url = f"/votes/{vote.pk}/ballots"
    assert bob_api.post(url, scores(candidates, 7, 3)).status_code == 201
    again = assert_error(bob_api.post(url, scores(candidates, 3, 7)), 409)
    assert again["message"] == "You have already voted in this vote; each member votes once."
    assert Ballot.objects.count() == 1
    assert VoteParticipation.objects.get().membership.person == bob
    assert bob_api.get(f"/votes/{vote.pk}").json()["voted"] == 1


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"scores": [{"priority_id": 0, "points": 10}]}, "scores", "for each candidate"),
        (None, "scores", "9 of the 10 points"),
        ({"scores": []}, "scores", "at least 1"),
        ({"scores": [{"priority_id": 1, "points": 11}]}, "scores.0.points", ""),
        ({"scores": [{"priority_id": 1, "points": -1}]}, "scores.0.points", ""),
        ({"scores": [{"priority_id": 1, "points": 2.5}]}, "scores.0.points", ""),
    ],
)
def test_it_explains_a_bad_ballot(
    bob_api: ApiClient,
    vote: PriorityVote,
    candidates: list[Priority],
    body: dict[str, Any] | None,
    field: str,
    message: str,
) -> None:
    result = assert_error(
        bob_api.post(f"/votes/{vote.pk}/ballots", body or scores(candidates, 5, 4)), 422
    )
    assert result["errors"][0]["field"] == field
    assert message in result["message"]
    assert not Ballot.objects.exists()
    assert not VoteParticipation.objects.exists()


def test_it_needs_both_ratings_in_range(
    bob_api: ApiClient, partnership_a: Partnership, alice: User, candidates: list[Priority]
) -> None:
    vote = make_vote(partnership_a, alice, candidates, method="rating")
    url = f"/votes/{vote.pk}/ballots"
    missing = {"scores": [{"priority_id": p.pk, "importance": 3} for p in candidates]}
    assert "from 1 to 5" in assert_error(bob_api.post(url, missing), 422)["message"]
    high = {
        "scores": [{"priority_id": p.pk, "importance": 6, "feasibility": 1} for p in candidates]
    }
    assert assert_error(bob_api.post(url, high), 422)["errors"][0]["field"] == "scores.0.importance"
    good = {
        "scores": [{"priority_id": p.pk, "importance": 5, "feasibility": 2} for p in candidates]
    }
    assert bob_api.post(url, good).status_code == 201
    assert Ballot.objects.get().scores.filter(importance=5, feasibility=2).count() == 2


def test_it_closes_a_vote_and_then_shows_results(
    alice_api: ApiClient,
    bob_api: ApiClient,
    vote: PriorityVote,
    candidates: list[Priority],
    partnership_a: Partnership,
    council: Organisation,
) -> None:
    for _ in range(3):
        voter = add_member(partnership_a, council, "Management side")
        assert (
            api_client_for(voter)
            .post(f"/votes/{vote.pk}/ballots", scores(candidates, 2, 8))
            .status_code
            == 201
        )
    before = bob_api.get(f"/votes/{vote.pk}/results").json()
    assert before["published"] is False
    assert before["candidates"] == []
    assert "when the vote closes" in before["reason"]

    assert_error(bob_api.patch(f"/votes/{vote.pk}", {"close_now": True}), 403)
    closed = alice_api.patch(f"/votes/{vote.pk}", {"close_now": True})
    assert closed.json()["state"] == "closed"
    assert_error(alice_api.patch(f"/votes/{vote.pk}", {"close_now": True}), 409)
    late = assert_error(bob_api.post(f"/votes/{vote.pk}/ballots", scores(candidates, 10, 0)), 409)
    assert "has closed" in late["message"]

    results = bob_api.get(f"/votes/{vote.pk}/results").json()
    assert results["published"] is True
    assert [(c["title"], c["rank"], c["score"]) for c in results["candidates"]] == [
        ("Beta", 1, 24.0),
        ("Alpha", 2, 6.0),
    ]
    # One side voted; the other is listed all the same, hidden and without a count.
    assert results["breakdown"]["groups"] == [{"name": "Management side", "n": 3}]
    assert results["breakdown"]["hidden_groups"] == ["Staff side"]


def test_it_reveals_only_the_turnout_before_and_after_one_ballot_while_open(
    alice_api: ApiClient,
    vote: PriorityVote,
    candidates: list[Priority],
    partnership_a: Partnership,
    union: Organisation,
) -> None:
    def everything() -> tuple[int, int, dict[str, Any], dict[str, Any]]:
        results = alice_api.get(f"/votes/{vote.pk}/results").json()
        detail = alice_api.get(f"/votes/{vote.pk}").json()
        return results.pop("ballots"), detail.pop("voted"), results, detail

    for _ in range(4):
        voter = add_member(partnership_a, union, "Staff side")
        api_client_for(voter).post(f"/votes/{vote.pk}/ballots", scores(candidates, 10, 0))
    before = everything()
    # One more ballot, all ten points on Beta, from the management side.
    voter = add_member(partnership_a, union, "Management side")
    assert (
        api_client_for(voter)
        .post(f"/votes/{vote.pk}/ballots", scores(candidates, 0, 10))
        .status_code
        == 201
    )
    after = everything()

    # The manager sees the turnout go up by one, and nothing else move.
    assert (before[0], after[0]) == (4, 5)
    assert (before[1], after[1]) == (4, 5)
    assert before[2:] == after[2:]
    assert after[2]["published"] is False
    assert after[2]["candidates"] == [] and after[2]["breakdown"] is None


def test_it_moves_the_closing_time_of_an_open_vote(
    alice_api: ApiClient, vote: PriorityVote
) -> None:
    later = (timezone.now() + dt.timedelta(days=30)).isoformat()
    assert (
        alice_api.patch(f"/votes/{vote.pk}", {"closes_at": later, "title": "Longer"}).status_code
        == 200
    )
    vote.refresh_from_db()
    assert vote.title == "Longer"
    assert vote.closes_at > timezone.now() + dt.timedelta(days=29)
    past = assert_error(
        alice_api.patch(f"/votes/{vote.pk}", {"closes_at": "2001-01-01T00:00:00Z"}), 422
    )
    assert past["errors"][0]["field"] == "closes_at"


def test_it_lists_votes_and_priorities_of_the_partnership_only(
    bob_api: ApiClient, carol_api: ApiClient, vote: PriorityVote, partnership_a: Partnership
) -> None:
    votes = bob_api.get(f"/partnerships/{partnership_a.pk}/votes").json()
    assert [v["id"] for v in votes] == [vote.pk]
    priorities = bob_api.get(f"/partnerships/{partnership_a.pk}/priorities").json()["items"]
    assert [p["title"] for p in priorities] == ["Alpha", "Beta"]
    assert_error(carol_api.get(f"/partnerships/{partnership_a.pk}/votes"), 404)
    assert_error(carol_api.get(f"/votes/{vote.pk}/results"), 404)
