"""Priority votes: opening, casting ballots once, closing, and the results with their spread."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from partnerwell.core.models import (
    Membership,
    Organisation,
    Partnership,
    PartnershipType,
    Role,
    Sector,
    User,
)
from partnerwell.delivery import priorities as services
from partnerwell.delivery.models import (
    Ballot,
    BallotScore,
    Priority,
    PriorityVote,
    VoteParticipation,
)
from partnerwell.delivery.priorities import Score
from tests.conftest import client_for

_people = iter(range(1, 10_000))


def add_member(
    partnership: Partnership, organisation: Organisation, side: str | None = None
) -> User:
    n = next(_people)
    user = User.objects.create_user(email=f"voter{n}@example.org", name=f"Voter {n}")
    Membership.objects.create(
        partnership=partnership,
        person=user,
        organisation=organisation,
        role=Role.MEMBER,
        side=partnership.sides.get(name=side) if side else None,
    )
    return user


def make_vote(
    partnership: Partnership,
    by: User,
    candidates: list[Priority],
    method: str = "points",
    floor: int = 3,
) -> PriorityVote:
    return services.vote_open(
        partnership=partnership,
        by=by,
        title="Our priorities for 2027",
        method=method,
        candidates=candidates,
        opens_at=timezone.now() - dt.timedelta(hours=1),
        closes_at=timezone.now() + dt.timedelta(days=7),
        anonymity_floor=floor,
    )


def points(vote: PriorityVote, *given: int) -> dict[int, Score]:
    """Scores for the vote's candidates in title order."""
    ids = list(vote.candidates.order_by("title").values_list("pk", flat=True))
    return {pk: Score(points=p) for pk, p in zip(ids, given, strict=True)}


def ratings(vote: PriorityVote, *given: tuple[int, int]) -> dict[int, Score]:
    ids = list(vote.candidates.order_by("title").values_list("pk", flat=True))
    return {pk: Score(importance=i, feasibility=f) for pk, (i, f) in zip(ids, given, strict=True)}


def form_points(vote: PriorityVote, *given: int | str) -> dict[str, Any]:
    ids = list(vote.candidates.order_by("title").values_list("pk", flat=True))
    return {f"points_{pk}": p for pk, p in zip(ids, given, strict=True)}


@pytest.fixture
def candidates(partnership_a: Partnership) -> list[Priority]:
    return [
        Priority.objects.create(partnership=partnership_a, title=title)
        for title in ("Alpha", "Beta", "Gamma")
    ]


@pytest.fixture
def vote(partnership_a: Partnership, alice: User, candidates: list[Priority]) -> PriorityVote:
    return make_vote(partnership_a, alice, candidates)


@pytest.fixture
def rating_vote(
    partnership_a: Partnership, alice: User, candidates: list[Priority]
) -> PriorityVote:
    return make_vote(partnership_a, alice, candidates, method="rating")


# Opening and closing ------------------------------------------------------------------


def _vote_form(candidates: list[Priority], **extra: Any) -> dict[str, Any]:
    today = timezone.localdate()
    data = {
        "title": "Priorities 2027",
        "method": "rating",
        "candidates": [p.pk for p in candidates],
        "opens_on": today.isoformat(),
        "closes_on": (today + dt.timedelta(days=14)).isoformat(),
        "anonymity_floor": "4",
    }
    data.update(extra)
    return data


def test_it_opens_a_vote(
    alice_client: Client, partnership_a: Partnership, candidates: list[Priority]
) -> None:
    response = alice_client.post(
        reverse("delivery-open-vote", args=[partnership_a.pk]), _vote_form(candidates)
    )
    vote = PriorityVote.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("delivery-view-vote", args=[vote.pk])
    assert vote.method == "rating"
    assert vote.anonymity_floor == 4
    assert set(vote.candidates.all()) == set(candidates)
    assert vote.is_open


def test_it_needs_two_candidates_and_a_floor_of_three(
    alice_client: Client, partnership_a: Partnership, candidates: list[Priority]
) -> None:
    response = alice_client.post(
        reverse("delivery-open-vote", args=[partnership_a.pk]),
        _vote_form(candidates[:1], anonymity_floor="2"),
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Choose between 2 and 30 priorities." in page
    assert "Ensure this value is greater than or equal to 3." in page
    assert not PriorityVote.objects.exists()


def test_it_refuses_to_let_a_plain_member_open_a_vote(
    bob_client: Client, partnership_a: Partnership, candidates: list[Priority]
) -> None:
    url = reverse("delivery-open-vote", args=[partnership_a.pk])
    assert bob_client.get(url).status_code == 403
    assert bob_client.post(url, _vote_form(candidates)).status_code == 403
    assert not PriorityVote.objects.exists()


def test_it_closes_a_vote(alice_client: Client, bob_client: Client, vote: PriorityVote) -> None:
    url = reverse("delivery-close-vote", args=[vote.pk])
    assert alice_client.get(url).status_code == 405
    assert bob_client.post(url).status_code == 403
    vote.refresh_from_db()
    assert vote.is_open
    assert alice_client.post(url).status_code == 302
    vote.refresh_from_db()
    assert not vote.is_open
    assert vote.closed_early_at is not None


# Casting a ballot -------------------------------------------------------------------------


def test_it_stores_a_points_ballot_without_the_name(
    bob_client: Client, bob: User, vote: PriorityVote
) -> None:
    response = bob_client.post(
        reverse("delivery-cast-ballot", args=[vote.pk]), form_points(vote, 7, "", 3)
    )
    assert response.status_code == 302
    ballot = Ballot.objects.get()
    assert (ballot.side, ballot.sector) == ("Management side", Sector.LOCAL_AUTHORITY)
    assert sorted(ballot.scores.values_list("priority__title", "points")) == [
        ("Alpha", 7),
        ("Beta", 0),
        ("Gamma", 3),
    ]
    assert VoteParticipation.objects.get().membership.person == bob
    page = bob_client.get(reverse("delivery-view-vote", args=[vote.pk])).content.decode()
    assert "You have voted." in page
    assert "Cast my vote" not in page


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ((5, 4, 0), "You have given 9 of the 10 points; give the 1 point left as well."),
        ((5, 4, 3), "You have given 12 points, 2 too many; take 2 away so they add up to 10."),
        (("", "", ""), "You have given 0 of the 10 points; give the 10 points left as well."),
        ((11, 0, 0), "Give “Alpha” at most 10 points."),
        ((-1, 6, 5), "Give “Alpha” 0 points or more."),
        (("2.5", 5, "2.5"), "Give “Alpha” a whole number of points, from 0 to 10."),
    ],
)
def test_it_needs_exactly_ten_whole_points(
    bob_client: Client, vote: PriorityVote, given: tuple[Any, ...], message: str
) -> None:
    response = bob_client.post(
        reverse("delivery-cast-ballot", args=[vote.pk]), form_points(vote, *given)
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Ballot.objects.exists()
    assert not VoteParticipation.objects.exists()


def test_it_says_how_many_points_are_left_without_storing(
    bob_client: Client, vote: PriorityVote
) -> None:
    response = bob_client.post(
        reverse("delivery-cast-ballot", args=[vote.pk]),
        {**form_points(vote, 4, 3, ""), "check": "1"},
    )
    page = response.content.decode()
    assert "You have given 7 of the 10 points: 3 left to give." in page
    assert not Ballot.objects.exists()
    response = bob_client.post(
        reverse("delivery-cast-ballot", args=[vote.pk]),
        {**form_points(vote, 4, 3, 3), "check": "1"},
    )
    assert "Your points add up to 10. Nothing is stored until you cast your vote." in (
        response.content.decode()
    )
    assert not Ballot.objects.exists()


def test_it_offers_the_points_form_without_javascript(
    bob_client: Client, vote: PriorityVote
) -> None:
    page = bob_client.get(reverse("delivery-view-vote", args=[vote.pk])).content.decode()
    assert "You have 10 points to spread." in page
    assert 'name="check"' in page
    assert "<script" not in page.split("<main", 1)[1].split("</main>", 1)[0]


def test_it_stores_a_rating_ballot(bob_client: Client, rating_vote: PriorityVote) -> None:
    ids = list(rating_vote.candidates.order_by("title").values_list("pk", flat=True))
    data = {}
    for pk, (i, f) in zip(ids, [(5, 2), (3, 3), (1, 5)], strict=True):
        data[f"importance_{pk}"], data[f"feasibility_{pk}"] = str(i), str(f)
    response = bob_client.post(reverse("delivery-cast-ballot", args=[rating_vote.pk]), data)
    assert response.status_code == 302
    assert sorted(BallotScore.objects.values_list("importance", "feasibility", "points")) == [
        (1, 5, None),
        (3, 3, None),
        (5, 2, None),
    ]


@pytest.mark.parametrize("bad", ["0", "6", "", "x"])
def test_it_needs_ratings_from_one_to_five(
    bob_client: Client, rating_vote: PriorityVote, bad: str
) -> None:
    ids = list(rating_vote.candidates.order_by("title").values_list("pk", flat=True))
    data = {f"{aspect}_{pk}": "3" for pk in ids for aspect in ("importance", "feasibility")}
    data[f"feasibility_{ids[1]}"] = bad
    response = bob_client.post(reverse("delivery-cast-ballot", args=[rating_vote.pk]), data)
    assert response.status_code == 200
    assert "Rate how feasible “Beta” is, from 1 to 5." in response.content.decode()
    assert not Ballot.objects.exists()


def test_the_service_checks_ratings_and_points_too(
    bob: User, vote: PriorityVote, rating_vote: PriorityVote
) -> None:
    with pytest.raises(ValidationError, match="from 1 to 5"):
        services.ballot_cast(
            vote=rating_vote, user=bob, scores=ratings(rating_vote, (6, 1), (1, 1), (1, 1))
        )
    with pytest.raises(ValidationError, match="2 too many"):
        services.ballot_cast(vote=vote, user=bob, scores=points(vote, 10, 1, 1))
    with pytest.raises(ValidationError, match="for each candidate"):
        services.ballot_cast(
            vote=vote, user=bob, scores=dict(list(points(vote, 10, 0, 0).items())[:2])
        )
    assert not Ballot.objects.exists()
    assert not VoteParticipation.objects.exists()


def test_it_counts_one_vote_per_member(bob_client: Client, vote: PriorityVote) -> None:
    url = reverse("delivery-cast-ballot", args=[vote.pk])
    assert bob_client.post(url, form_points(vote, 10, 0, 0)).status_code == 302
    response = bob_client.post(url, form_points(vote, 0, 0, 10), follow=True)
    assert "You have already voted in this vote; each member votes once." in (
        response.content.decode()
    )
    assert Ballot.objects.count() == 1
    assert BallotScore.objects.get(points=10).priority.title == "Alpha"


def test_it_inserts_the_participation_only_once(bob: User, vote: PriorityVote) -> None:
    membership = Membership.objects.get(person=bob)
    assert services._claim_vote(vote, membership) is True
    assert services._claim_vote(vote, membership) is False
    assert VoteParticipation.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_stores_a_double_submit_once(
    partnership_a: Partnership, alice: User, bob: User, candidates: list[Priority]
) -> None:
    vote = make_vote(partnership_a, alice, candidates)
    url = reverse("delivery-cast-ballot", args=[vote.pk])
    body = form_points(vote, 5, 5, 0)
    clients = [client_for(bob) for _ in range(4)]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []
    errors: list[BaseException] = []

    def send(client: Client) -> None:
        try:
            barrier.wait(timeout=30)
            statuses.append(client.post(url, body).status_code)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert statuses == [302] * len(clients)
    assert VoteParticipation.objects.count() == 1
    assert Ballot.objects.count() == 1
    assert BallotScore.objects.count() == 3


def test_it_refuses_ballots_once_closed(bob_client: Client, vote: PriorityVote) -> None:
    services.vote_close(vote=vote)
    response = bob_client.post(
        reverse("delivery-cast-ballot", args=[vote.pk]), form_points(vote, 10, 0, 0), follow=True
    )
    assert "This vote has closed, so no more votes can be cast." in response.content.decode()
    assert not Ballot.objects.exists()


def test_it_takes_ballots_only_by_post(bob_client: Client, vote: PriorityVote) -> None:
    assert bob_client.get(reverse("delivery-cast-ballot", args=[vote.pk])).status_code == 405


def test_it_keeps_a_vote_from_another_partnership(
    carol_client: Client, carol: User, vote: PriorityVote
) -> None:
    response = carol_client.post(
        reverse("delivery-cast-ballot", args=[vote.pk]), form_points(vote, 10, 0, 0)
    )
    assert response.status_code == 404
    with pytest.raises(PermissionDenied):
        services.ballot_cast(vote=vote, user=carol, scores=points(vote, 10, 0, 0))
    assert not Ballot.objects.exists()


# Results ------------------------------------------------------------------------------------


@pytest.fixture
def six_voters(
    partnership_a: Partnership, council: Organisation, union: Organisation
) -> list[User]:
    """Three on the management side, three on the staff side."""
    return [add_member(partnership_a, council, "Management side") for _ in range(3)] + [
        add_member(partnership_a, union, "Staff side") for _ in range(3)
    ]


def test_it_hides_results_while_the_vote_is_open_even_from_managers(
    alice_client: Client, vote: PriorityVote, six_voters: list[User]
) -> None:
    for voter in six_voters:
        services.ballot_cast(vote=vote, user=voter, scores=points(vote, 10, 0, 0))
    assert services.vote_results(vote)["published"] is False
    page = alice_client.get(reverse("delivery-view-vote", args=[vote.pk])).content.decode()
    assert "The results appear when the vote closes" in page
    assert "Total points" not in page


def test_it_ranks_by_total_points_with_ties_and_shows_the_spread_between_sides(
    bob_client: Client, vote: PriorityVote, six_voters: list[User]
) -> None:
    given = [(5, 5, 0), (10, 0, 0), (4, 3, 3), (0, 6, 4), (2, 2, 6), (0, 5, 5)]
    for voter, ballot in zip(six_voters, given, strict=True):
        services.ballot_cast(vote=vote, user=voter, scores=points(vote, *ballot))
    services.vote_close(vote=vote)

    results = services.vote_results(vote)
    rows = {r["title"]: r for r in results["candidates"]}
    # Alpha 5+10+4+0+2+0 = 21, Beta 5+0+3+6+2+5 = 21, Gamma 0+0+3+4+6+5 = 18.
    assert [(r["title"], r["rank"], r["score"]) for r in results["candidates"]] == [
        ("Alpha", 1, 21),
        ("Beta", 1, 21),
        ("Gamma", 3, 18),
    ]
    assert rows["Gamma"]["mean_points"] == 3
    assert results["breakdown"]["by"] == "side"
    # Management gave Alpha 19 points from 3 people, staff 2: means 6.33 and 0.67.
    assert [c["score"] for c in rows["Alpha"]["groups"]] == pytest.approx([19 / 3, 2 / 3])
    assert rows["Alpha"]["spread"] == pytest.approx(17 / 3)
    assert rows["Beta"]["spread"] == pytest.approx(13 / 3 - 8 / 3)
    assert rows["Gamma"]["spread"] == pytest.approx(4)

    page = bob_client.get(reverse("delivery-view-vote", args=[vote.pk])).content.decode()
    assert "Ranking from 6 ballots" in page
    assert "Where the sides differ" in page
    assert "Staff side (3 voted)" in page
    assert "5.7" in page  # Alpha's spread


def test_it_ranks_a_rating_vote_by_mean_importance_times_mean_feasibility(
    rating_vote: PriorityVote, six_voters: list[User]
) -> None:
    given = [
        ((5, 2), (3, 5), (5, 1)),
        ((4, 3), (3, 5), (5, 1)),
        ((3, 4), (3, 5), (5, 2)),
    ]
    for voter, ballot in zip(six_voters, given, strict=False):
        services.ballot_cast(vote=rating_vote, user=voter, scores=ratings(rating_vote, *ballot))
    services.vote_close(vote=rating_vote)
    results = services.vote_results(rating_vote)
    # Alpha 4 × 3 = 12, Beta 3 × 5 = 15, Gamma 5 × 4/3 = 6.67.
    assert [(r["title"], r["rank"]) for r in results["candidates"]] == [
        ("Beta", 1),
        ("Alpha", 2),
        ("Gamma", 3),
    ]
    assert [r["score"] for r in results["candidates"]] == pytest.approx([15, 12, 20 / 3])
    # Only the management side voted; the staff side is listed all the same, with no count.
    assert results["breakdown"]["groups"] == [{"name": "Management side", "n": 3}]
    assert results["breakdown"]["hidden_groups"] == ["Staff side"]


def test_it_hides_a_side_below_the_floor_and_the_side_that_would_reveal_it(
    bob_client: Client,
    vote: PriorityVote,
    partnership_a: Partnership,
    council: Organisation,
    union: Organisation,
) -> None:
    voters = [add_member(partnership_a, council, "Management side") for _ in range(4)] + [
        add_member(partnership_a, union, "Staff side") for _ in range(2)
    ]
    for voter in voters[:4]:
        services.ballot_cast(vote=vote, user=voter, scores=points(vote, 10, 0, 0))
    for voter in voters[4:]:
        services.ballot_cast(vote=vote, user=voter, scores=points(vote, 0, 0, 10))
    services.vote_close(vote=vote)
    results = services.vote_results(vote)
    assert results["published"] is True
    breakdown = results["breakdown"]
    # Staff side has 2 (< 3); showing management alone would reveal staff by subtraction.
    assert breakdown["groups"] == []
    assert breakdown["hidden"] == 2
    assert all(r["groups"] == [] and r["spread"] is None for r in results["candidates"])
    page = bob_client.get(reverse("delivery-view-vote", args=[vote.pk])).content.decode()
    assert "Hidden: Management side, Staff side" in page
    assert "Staff side (2 voted)" not in page
    assert "Management side (4 voted)" not in page


def test_it_compares_sectors_when_there_are_no_sides(
    db: None, council: Organisation, union: Organisation, charity: Organisation
) -> None:
    partnership = Partnership.objects.create(name="Sideless", kind=PartnershipType.STRATEGIC)
    manager = add_member(partnership, council)
    Membership.objects.filter(person=manager).update(role=Role.MANAGER)
    housing = Organisation.objects.create(name="Homes Ltd", sector=Sector.HOUSING)
    voters = (
        [add_member(partnership, council) for _ in range(3)]
        + [add_member(partnership, charity) for _ in range(3)]
        + [add_member(partnership, housing) for _ in range(3)]
        + [add_member(partnership, union)]
    )
    candidates = [Priority.objects.create(partnership=partnership, title=t) for t in "AB"]
    vote = make_vote(partnership, manager, candidates)
    for voter in voters:
        services.ballot_cast(vote=vote, user=voter, scores=points(vote, 6, 4))
    services.vote_close(vote=vote)
    breakdown = services.vote_results(vote)["breakdown"]
    assert breakdown["by"] == "sector"
    # The trade union (1) is hidden, and so is the first group of 3 by name (housing),
    # so the hidden remainder is 4 people, never one that could be worked out.
    assert [g["name"] for g in breakdown["groups"]] == [
        "Local authority",
        "Voluntary and community",
    ]
    assert breakdown["hidden"] == 2


def test_it_publishes_nothing_when_fewer_than_the_floor_voted(
    bob: User, dave: User, vote: PriorityVote
) -> None:
    services.ballot_cast(vote=vote, user=bob, scores=points(vote, 10, 0, 0))
    services.ballot_cast(vote=vote, user=dave, scores=points(vote, 0, 10, 0))
    services.vote_close(vote=vote)
    results = services.vote_results(vote)
    assert results["published"] is False
    assert results["candidates"] == []
    assert "Only 2 members voted" in results["reason"]


def test_it_shows_results_to_members_once_closed(
    bob_client: Client, vote: PriorityVote, six_voters: list[User]
) -> None:
    for voter in six_voters:
        services.ballot_cast(vote=vote, user=voter, scores=points(vote, 1, 2, 7))
    services.vote_close(vote=vote)
    page = bob_client.get(reverse("delivery-view-vote", args=[vote.pk])).content.decode()
    assert page.index("Gamma") < page.index("Beta") < page.index("Alpha", page.index("Ranking"))
    assert "Points per member" in page


def test_it_shows_results_in_a_fixed_number_of_queries(
    bob_client: Client,
    partnership_a: Partnership,
    alice: User,
    council: Organisation,
    union: Organisation,
    django_assert_max_num_queries: Any,
) -> None:
    def closed_vote_with(voters: int) -> PriorityVote:
        candidates = [
            Priority.objects.create(partnership=partnership_a, title=f"P{voters}-{n}")
            for n in range(5)
        ]
        vote = make_vote(partnership_a, alice, candidates)
        for n in range(voters):
            voter = add_member(
                partnership_a,
                council if n % 2 else union,
                "Management side" if n % 2 else "Staff side",
            )
            services.ballot_cast(vote=vote, user=voter, scores=points(vote, 2, 2, 2, 2, 2))
        services.vote_close(vote=vote)
        return vote

    small, large = closed_vote_with(6), closed_vote_with(40)
    with django_assert_max_num_queries(20) as few:
        bob_client.get(reverse("delivery-view-vote", args=[small.pk]))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = bob_client.get(reverse("delivery-view-vote", args=[large.pk]))
    assert "Ranking from 40 ballots" in response.content.decode()
