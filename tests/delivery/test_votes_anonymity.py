"""Priority votes against a determined member and a database copy (issue 10, sections 3 and 5).

A member reading the results must not learn whether the lone member of a side voted
from which sides are listed; someone holding a dump taken after the vote closed must
not pair ballots with voters by id, row order or transaction id.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from partnerwell.core.models import (
    Membership,
    Organisation,
    Partnership,
    PartnershipType,
    Role,
    Side,
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

VOTERS = 15


def _member(partnership: Partnership, organisation: Organisation, side: str | None) -> User:
    n = next(_people)
    user = User.objects.create_user(email=f"anon{n}@example.org", name=f"Anon {n}")
    Membership.objects.create(
        partnership=partnership,
        person=user,
        organisation=organisation,
        role=Role.MEMBER,
        side=partnership.sides.get(name=side) if side else None,
    )
    return user


def _partnership(sides: list[str]) -> Partnership:
    partnership = Partnership.objects.create(name="Gamma Forum", kind=PartnershipType.FORUM)
    for order, name in enumerate(sides):
        Side.objects.create(partnership=partnership, name=name, order=order)
    return partnership


def _vote(partnership: Partnership, by: User, titles: str = "ABC") -> PriorityVote:
    candidates = [Priority.objects.create(partnership=partnership, title=t) for t in titles]
    return services.vote_open(
        partnership=partnership,
        by=by,
        title="Priorities",
        method="points",
        candidates=candidates,
        opens_at=timezone.now() - dt.timedelta(hours=1),
        closes_at=timezone.now() + dt.timedelta(days=7),
    )


def _points(vote: PriorityVote, *given: int) -> dict[int, Score]:
    ids = list(vote.candidates.order_by("title").values_list("pk", flat=True))
    return {pk: Score(points=p) for pk, p in zip(ids, given, strict=True)}


# Who voted: the groups listed ---------------------------------------------------------


def _listing(lone_member_votes: bool, council: Organisation) -> tuple[Any, str]:
    """Results of a vote where the police side's one member votes or does not."""
    sizes = {"Management side": 4, "Staff side": 4, "Voluntary side": 2, "Housing side": 2}
    partnership = _partnership([*sizes, "Police side"])
    members = {
        side: [_member(partnership, council, side) for _ in range(n)] for side, n in sizes.items()
    }
    police = _member(partnership, council, "Police side")
    vote = _vote(partnership, members["Management side"][0])
    voters = [user for users in members.values() for user in users]
    if lone_member_votes:
        voters.append(police)
    for user in voters:
        services.ballot_cast(vote=vote, user=user, scores=_points(vote, 5, 5, 0))
    services.vote_close(vote=vote)
    breakdown = services.vote_results(vote)["breakdown"]
    page = client_for(police).get(reverse("delivery-view-vote", args=[vote.pk]))
    return breakdown, page.content.decode()


def test_it_lists_the_same_sides_whether_or_not_a_sides_lone_member_voted(
    council: Organisation,
) -> None:
    voted, voted_page = _listing(True, council)
    stayed_away, stayed_away_page = _listing(False, council)
    assert voted["hidden_groups"] == stayed_away["hidden_groups"]
    assert "Police side" in voted["hidden_groups"]
    assert voted["hidden"] == stayed_away["hidden"] == 3
    # Counts only where a side is shown; the shown sides are the same either way.
    assert (
        voted["groups"]
        == stayed_away["groups"]
        == [
            {"name": "Management side", "n": 4},
            {"name": "Staff side", "n": 4},
        ]
    )
    expected = "Hidden: Housing side, Police side, Voluntary side"
    assert expected in voted_page
    assert expected in stayed_away_page
    assert "Police side (" not in voted_page + stayed_away_page


def test_it_lists_a_side_nobody_from_voted_with_no_count(
    partnership_a: Partnership, alice: User, council: Organisation
) -> None:
    vote = _vote(partnership_a, alice)
    for _ in range(3):
        user = _member(partnership_a, council, "Management side")
        services.ballot_cast(vote=vote, user=user, scores=_points(vote, 10, 0, 0))
    services.vote_close(vote=vote)
    breakdown = services.vote_results(vote)["breakdown"]
    assert breakdown["groups"] == [{"name": "Management side", "n": 3}]
    assert breakdown["hidden_groups"] == ["Staff side"]


# A database copy: ids, row order, transaction ids ------------------------------------


def _vote_one_by_one(council: Organisation) -> tuple[PriorityVote, list[tuple[int, int, int]]]:
    """15 members vote one after another, each with a ballot no one else gives."""
    partnership = _partnership([])
    people = [_member(partnership, council, None) for _ in range(VOTERS)]
    vote = _vote(partnership, people[0])
    ballots = [(a, b, 10 - a - b) for a in range(11) for b in range(11 - a)][:VOTERS]
    for person, given in zip(people, ballots, strict=True):
        services.ballot_cast(vote=vote, user=person, scores=_points(vote, *given))
    return vote, ballots


def _stored_order(vote: PriorityVote, order: str) -> list[tuple[int, int, int]]:
    """The vote's ballots as (points A, B, C), in the given order of the ballot table."""
    table = Ballot._meta.db_table
    sql = f"SELECT id FROM {table} WHERE vote_id = %s ORDER BY {order}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [vote.pk])
        ids = [pk for (pk,) in cursor.fetchall()]
    titles = {p.pk: p.title for p in vote.candidates.all()}
    given: dict[int, dict[str, int]] = {pk: {} for pk in ids}
    for ballot_id, priority_id, points in BallotScore.objects.filter(ballot_id__in=ids).values_list(
        "ballot_id", "priority_id", "points"
    ):
        given[ballot_id][titles[priority_id]] = points
    return [(g["A"], g["B"], g["C"]) for g in (given[pk] for pk in ids)]


def _in_voting_place(stored: list[tuple[int, int, int]], cast: list[tuple[int, int, int]]) -> int:
    return sum(1 for rank, ballot in enumerate(stored) if cast[rank] == ballot)


def test_it_rewrites_ballots_out_of_voting_order_when_the_vote_closes(
    council: Organisation, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(services._shuffler(), random.SystemRandom)
    # A fixed seed, so the assertion is the same on every run.
    monkeypatch.setattr(services, "_shuffler", lambda: random.Random(1015))
    vote, cast = _vote_one_by_one(council)
    place = "ctid" if connection.vendor == "postgresql" else "rowid"
    # While open the table follows the voting order; that is why it is rewritten.
    assert _stored_order(vote, "id") == cast
    before = set(Ballot.objects.filter(vote=vote).values_list("pk", flat=True))

    services.vote_close(vote=vote)

    by_id, by_place = _stored_order(vote, "id"), _stored_order(vote, place)
    assert sorted(by_id) == sorted(cast)
    assert not before & set(Ballot.objects.filter(vote=vote).values_list("pk", flat=True))
    # A random order puts one ballot in its voting place on average; identity would be 15.
    assert _in_voting_place(by_id, cast) <= 3
    assert _in_voting_place(by_place, cast) <= 3
    vote.refresh_from_db()
    assert vote.sealed is True


def test_it_seals_once_and_keeps_every_ballot(council: Organisation) -> None:
    vote, cast = _vote_one_by_one(council)
    PriorityVote.objects.filter(pk=vote.pk).update(closes_at=timezone.now())
    vote.refresh_from_db()
    results = services.vote_results(vote)
    assert results["ballots"] == VOTERS
    sealed = list(Ballot.objects.filter(vote=vote).order_by("pk").values_list("pk", flat=True))
    # Reading again rewrites nothing.
    assert services.vote_seal(vote) == 0
    services.vote_results(vote)
    assert list(Ballot.objects.filter(vote=vote).order_by("pk").values_list("pk", flat=True)) == (
        sealed
    )
    assert sorted(_stored_order(vote, "id")) == sorted(cast)
    assert BallotScore.objects.filter(ballot__vote=vote).count() == VOTERS * 3


def test_it_seals_nothing_while_the_vote_is_open(council: Organisation) -> None:
    vote, cast = _vote_one_by_one(council)
    assert services.vote_seal(vote) == 0
    services.vote_results(vote)
    assert _stored_order(vote, "id") == cast
    vote.refresh_from_db()
    assert vote.sealed is False


def test_it_keeps_no_time_on_ballots_or_participations() -> None:
    for model in (Ballot, VoteParticipation, BallotScore):
        kinds = {f.get_internal_type() for f in model._meta.concrete_fields}
        assert not kinds & {"DateTimeField", "DateField", "TimeField"}, model


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Transaction ids (xmin) are PostgreSQL's; SQLite keeps none.",
)
def test_it_leaves_no_transaction_id_shared_by_a_ballot_and_a_participation(
    council: Organisation,
) -> None:
    vote, _ = _vote_one_by_one(council)

    def xmins(table: str, where: str) -> set[str]:
        sql = f"SELECT xmin::text FROM {table} WHERE {where}"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, [vote.pk])
            return {value for (value,) in cursor.fetchall()}

    participation = xmins(VoteParticipation._meta.db_table, "vote_id = %s")
    ballots = xmins(Ballot._meta.db_table, "vote_id = %s")
    # While open each ballot shares its participation's transaction.
    assert len(participation) == VOTERS
    assert ballots == participation

    services.vote_close(vote=vote)

    ballots = xmins(Ballot._meta.db_table, "vote_id = %s")
    scores = xmins(
        BallotScore._meta.db_table,
        f"ballot_id IN (SELECT id FROM {Ballot._meta.db_table} WHERE vote_id = %s)",  # noqa: S608
    )
    # Every ballot and score was written by the one sealing transaction.
    assert len(ballots | scores) == 1
    assert not (ballots | scores) & participation


def test_it_seals_every_closed_vote_when_asked_and_leaves_open_ones(
    council: Organisation,
) -> None:
    closed, cast = _vote_one_by_one(council)
    still_open, _ = _vote_one_by_one(council)
    PriorityVote.objects.filter(pk=closed.pk).update(closes_at=timezone.now())
    assert services.votes_seal_due() == VOTERS
    assert services.votes_seal_due() == 0
    closed.refresh_from_db()
    still_open.refresh_from_db()
    assert (closed.sealed, still_open.sealed) == (True, False)
    assert sorted(_stored_order(closed, "id")) == sorted(cast)


def test_it_seals_closed_votes_from_the_seal_rounds_command(council: Organisation) -> None:
    closed, cast = _vote_one_by_one(council)
    still_open, _ = _vote_one_by_one(council)
    PriorityVote.objects.filter(pk=closed.pk).update(closes_at=timezone.now())
    out = io.StringIO()

    call_command("seal_rounds", stdout=out)

    assert f"{VOTERS} held priority-vote ballots" in out.getvalue()
    assert "held health-check answers" in out.getvalue()
    assert "held meeting-review answers" in out.getvalue()
    closed.refresh_from_db()
    still_open.refresh_from_db()
    assert (closed.sealed, still_open.sealed) == (True, False)
    assert sorted(_stored_order(closed, "id")) == sorted(cast)


def test_it_seals_votes_closed_before_the_migration(
    council: Organisation, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    from django.apps import apps

    migration = importlib.import_module("partnerwell.delivery.migrations.0004_vote_ballots_sealed")
    closed, cast = _vote_one_by_one(council)
    still_open, open_cast = _vote_one_by_one(council)
    PriorityVote.objects.filter(pk=closed.pk).update(closes_at=timezone.now())
    monkeypatch.setattr(migration.secrets, "SystemRandom", lambda: random.Random(1015))

    migration.seal_closed_votes(apps, None)

    closed.refresh_from_db()
    still_open.refresh_from_db()
    assert (closed.sealed, still_open.sealed) == (True, False)
    assert sorted(_stored_order(closed, "id")) == sorted(cast)
    assert _in_voting_place(_stored_order(closed, "id"), cast) <= 3
    assert _stored_order(still_open, "id") == open_cast
