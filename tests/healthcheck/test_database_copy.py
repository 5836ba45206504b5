"""A copy of the database, taken after a round closes, read by someone trying to link
each answer to its person: by ids, by row (physical) order, by transaction id and by
time. However they order the rows, they do no better than chance.

Twenty members answer one after another, each through the real submit service in a
transaction of its own, with answers that say (to the test, not the attacker) who gave
them. The attacker knows the order in which people answered — the strongest case: on
PostgreSQL the invitations' own transaction ids give it away — and pairs that order
with the order of the stored responses. A random pairing gets about one right.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from partnerwell.core.models import Membership, Organisation, Partnership
from partnerwell.healthcheck import services
from partnerwell.healthcheck.models import (
    HeldResponse,
    Invitation,
    Rating,
    Response,
    Round,
    Statement,
)
from tests.healthcheck.builders import add_member, invite, make_round, outline_framework

MEMBERS = 20
# A random pairing of 20 gets k right with probability about e^-1/k!: 8 or more right
# happens about once in 100,000 tries, so a bound of 7 fails only for a real leak.
CHANCE_BOUND = 7

pytestmark = pytest.mark.django_db(transaction=True)


def _code(number: int) -> tuple[int, int, int, int]:
    """Answers (1-5) to the four statements that spell out the member's number."""
    return (number // 125 % 5 + 1, number // 25 % 5 + 1, number // 5 % 5 + 1, number % 5 + 1)


def _answered_one_by_one(
    partnership: Partnership, organisation: Organisation
) -> tuple[Round, list[Invitation], dict[tuple[int, ...], int]]:
    """A round with MEMBERS invitations, answered in turn; the answers -> membership."""
    framework = outline_framework(partnership)
    keys = list(
        Statement.objects.filter(framework=framework)
        .order_by("principle__area__order", "principle__order", "order")
        .values_list("key", flat=True)
    )
    round = make_round(partnership, framework)
    members: list[Membership] = [
        add_member(partnership, organisation, side="Staff side") for _ in range(MEMBERS)
    ]
    links = [invite(round, m) for m in members]
    truth: dict[tuple[int, ...], int] = {}
    for number, link in enumerate(links):
        code = _code(number)
        truth[code] = link.membership_id
        link.refresh_from_db()
        # Each call is its own transaction (the test is not wrapped in one).
        services.response_submit(
            invitation=link, answers=dict(zip(keys, code, strict=True)), comments={}
        )
    return round, links, truth


def _close_and_seal(round: Round) -> None:
    assert services.round_close_early(round)
    round.refresh_from_db()
    assert round.sealed


def _owner_of_each_response(round: Round, truth: dict[tuple[int, ...], int]) -> dict[str, int]:
    """Response id -> the membership that gave it (known to the test only)."""
    answers: dict[str, list[int]] = {}
    for response_id, raw in (
        Rating.objects.filter(round=round)
        .order_by(
            "response_id",
            "statement__principle__area__order",
            "statement__principle__order",
            "statement__order",
        )
        .values_list("response_id", "raw")
    ):
        answers.setdefault(response_id.hex, []).append(raw)
    return {response_id: truth[tuple(raws)] for response_id, raws in answers.items()}


def _select(column: str, table: str, round: Round, order: str) -> list[str]:
    """One column of a round's rows of a table, in the given order, as text."""
    sql = f"SELECT {column} FROM {table} WHERE round_id = %s ORDER BY {order}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [round.pk])
        # Ids as 32 hex digits, however the database spells a uuid.
        return [str(value).replace("-", "") for (value,) in cursor.fetchall()]


def _first_seen(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _response_orders(round: Round) -> dict[str, list[str]]:
    """Every order of the stored responses a database copy offers, as response ids."""
    response, rating = Response._meta.db_table, Rating._meta.db_table
    # The place of a row in the table file: ctid on PostgreSQL, the rowid on SQLite.
    place = "ctid" if connection.vendor == "postgresql" else "rowid"
    orders = {
        "response id": _select("id", response, round, "id"),
        "response physical order": _select("id", response, round, place),
        "lowest rating id": _first_seen(_select("response_id", rating, round, "id")),
        "rating physical order": _first_seen(_select("response_id", rating, round, place)),
    }
    if connection.vendor == "postgresql":
        xmin = "xmin::text::bigint, ctid"
        orders["response transaction id"] = _select("id", response, round, xmin)
        orders["rating transaction id"] = _first_seen(_select("response_id", rating, round, xmin))
    return orders


def test_it_keeps_no_time_or_date_that_could_order_the_answers(
    partnership_a: Partnership, union: Organisation
) -> None:
    for model in (Response, Rating, HeldResponse):
        kinds = {f.get_internal_type() for f in model._meta.concrete_fields}
        assert not kinds & {"DateField", "DateTimeField", "TimeField"}, model
    _, links, _ = _answered_one_by_one(partnership_a, union)
    # Answering changes nothing on the invitation but the flag (and wipes the draft).
    for link in links:
        before = {f.attname: getattr(link, f.attname) for f in Invitation._meta.concrete_fields}
        link.refresh_from_db()
        after = {f.attname: getattr(link, f.attname) for f in Invitation._meta.concrete_fields}
        changed = {k for k in before if before[k] != after[k]}
        assert changed <= {"answered", "draft"}
        assert after["answered"] is True
        assert after["sent_at"] is None and after["reminded_at"] is None


def test_it_links_answers_to_people_no_better_than_chance_after_closing(
    partnership_a: Partnership, union: Organisation
) -> None:
    round, links, truth = _answered_one_by_one(partnership_a, union)
    # Until the round closes the answers are held apart, not in the results.
    assert not Response.objects.filter(round=round).exists()
    assert HeldResponse.objects.filter(round=round).count() == MEMBERS

    _close_and_seal(round)

    assert not HeldResponse.objects.exists()
    assert Response.objects.filter(round=round).count() == MEMBERS
    owners = _owner_of_each_response(round, truth)
    # The attacker's best case: the order in which the members answered.
    answer_order = [link.membership_id for link in links]
    found = {}
    for name, order in _response_orders(round).items():
        assert len(order) == MEMBERS, name
        found[name] = sum(
            owners[response_id] == member
            for response_id, member in zip(order, answer_order, strict=True)
        )
        # Nor does the reverse order, or any shift of it, line up.
        found[name + " reversed"] = sum(
            owners[response_id] == member
            for response_id, member in zip(reversed(order), answer_order, strict=True)
        )
    assert all(correct <= CHANCE_BOUND for correct in found.values()), found


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Transaction ids (xmin) are PostgreSQL's; SQLite keeps none.",
)
def test_it_leaves_no_transaction_id_shared_by_an_answer_and_an_invitation(
    partnership_a: Partnership, union: Organisation
) -> None:
    round, links, truth = _answered_one_by_one(partnership_a, union)
    invitation, response, rating = (
        Invitation._meta.db_table,
        Response._meta.db_table,
        Rating._meta.db_table,
    )
    # The invitations do give away the order of answering: each was marked in its own
    # transaction. That is why the answers must not keep any order of their own.
    by_xmin = _select("membership_id", invitation, round, "xmin::text::bigint")
    assert by_xmin == [str(link.membership_id) for link in links]

    _close_and_seal(round)

    invitation_xmins = set(_select("xmin::text", invitation, round, "id"))
    answer_xmins = set(_select("xmin::text", response, round, "id")) | set(
        _select("xmin::text", rating, round, "id")
    )
    # Every answer row was written by the one sealing transaction, which touched no invitation.
    assert len(answer_xmins) == 1
    assert not answer_xmins & invitation_xmins
    owners = _owner_of_each_response(round, truth)
    assert sorted(owners.values()) == sorted(truth.values())


def test_it_seals_a_round_that_closed_on_time_from_the_command_once(
    partnership_a: Partnership, union: Organisation
) -> None:
    from django.core.management import call_command

    from tests.healthcheck.builders import answer

    round = make_round(partnership_a, outline_framework(partnership_a))
    for value in (2, 4, 5):
        answer(round, add_member(partnership_a, union, side="Staff side"), value)
    call_command("seal_rounds")
    # Still open: nothing moves.
    assert HeldResponse.objects.filter(round=round).count() == 3
    assert not Response.objects.filter(round=round).exists()

    Round.objects.filter(pk=round.pk).update(
        opens_at=timezone.now() - dt.timedelta(days=10),
        closes_at=timezone.now() - dt.timedelta(minutes=1),
    )
    call_command("seal_rounds")
    call_command("seal_rounds")

    round.refresh_from_db()
    assert round.sealed is True
    assert not HeldResponse.objects.exists()
    assert Response.objects.filter(round=round).count() == 3
    assert Rating.objects.filter(round=round).count() == 3 * 4
    assert sorted(Rating.objects.filter(round=round).values_list("raw", flat=True)) == sorted(
        [2, 4, 5] * 4
    )
    assert services.round_seal(round) == 0


def test_it_seals_a_closed_round_before_its_results_are_read(
    partnership_a: Partnership, union: Organisation
) -> None:
    from partnerwell.healthcheck.results import round_results
    from tests.healthcheck.builders import answer

    round = make_round(partnership_a, outline_framework(partnership_a))
    for value in (2, 4, 5):
        answer(round, add_member(partnership_a, union, side="Staff side"), value)
    Round.objects.filter(pk=round.pk).update(closed_early_at=timezone.now())
    round.refresh_from_db()

    results = round_results(round)

    assert results["round"]["responded"] == 3
    assert not HeldResponse.objects.exists()
    assert Round.objects.get(pk=round.pk).sealed is True
