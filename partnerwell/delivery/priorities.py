"""Priorities and priority votes: services, and the results of a vote.

Voting rules (shown on the vote pages):

* every current member of the partnership votes once; the ballot is stored
  with their side and sector but not their name or any time, and a separate
  record says only that they voted (not when);
* when the vote closes its ballots are rewritten in a random order with fresh
  ids (``vote_seal``), so a database copy cannot pair ballots with voters by
  id, row order or transaction id;
* "points": each member spreads exactly 10 whole points over the candidates;
  the ranking is by total points;
* "rating": each member rates every candidate's importance and feasibility
  from 1 to 5; the score is mean importance × mean feasibility (1 to 25), so a
  priority ranks high only if members think it both matters and can be done;
* results appear when the vote closes, to everyone, managers included, so that
  early results cannot sway later votes; and only once at least as many
  members as the anonymity floor have voted;
* the spread between groups is shown by side when the partnership has sides,
  otherwise by sector, never both (one could be subtracted from the other);
  groups below the floor, and any group that could be worked out from the
  others, are hidden (``healthcheck.scoring.suppress_groups``); the groups
  listed are those of the members who could vote, whether or not they did.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Avg, Count, Q, QuerySet, Sum
from django.utils import timezone

from partnerwell.core.models import Membership, Partnership, Sector, User
from partnerwell.delivery.models import (
    Ballot,
    BallotScore,
    Priority,
    PriorityStatus,
    PriorityVote,
    VoteMethod,
    VoteParticipation,
)
from partnerwell.healthcheck.scoring import suppress_groups

POINTS_TO_SPREAD = 10
MIN_CANDIDATES = 2
MAX_CANDIDATES = 30
RATING_SCALE = range(1, 6)
METHOD_RULES = {
    VoteMethod.POINTS: (
        "Each member spreads exactly 10 points over the candidates, in whole numbers: all "
        "10 on one, or some on several. Candidates are ranked by their total points."
    ),
    VoteMethod.RATING: (
        "Each member rates every candidate from 1 to 5 for how important it is and for how "
        "feasible it is. A candidate's score is its mean importance multiplied by its mean "
        "feasibility, from 1 to 25, so it ranks high only if members think it both matters "
        "and can be done."
    ),
}
VISIBILITY_RULE = (
    "Results appear when the vote closes, for everyone, managers included, so that early "
    "results cannot sway later votes. They appear only if at least {floor} members voted, "
    "and a side or sector is shown only if at least {floor} of its members voted (and no "
    "hidden group can be worked out from the others)."
)


class VoteNotOpen(Exception):
    """The vote has not opened yet or has closed; the message says which."""


class AlreadyVoted(Exception):
    """The member has voted in this vote before."""


@dataclass(frozen=True)
class Score:
    points: int | None = None
    importance: int | None = None
    feasibility: int | None = None


# Priorities ------------------------------------------------------------------------


def proposer_membership(user: User, partnership: Partnership) -> Membership | None:
    return Membership.objects.current().filter(person=user, partnership=partnership).first()


@transaction.atomic
def priority_propose(
    *, partnership: Partnership, by: User, title: str, description: str = ""
) -> Priority:
    priority = Priority(
        partnership=partnership,
        title=title,
        description=description,
        proposed_by=proposer_membership(by, partnership),
        status=PriorityStatus.CANDIDATE,
    )
    priority.full_clean()
    priority.save()
    return priority


@transaction.atomic
def priority_decide(*, priority: Priority, status: str, agreed_on: dt.date | None) -> Priority:
    """Record the partnership's decision: agreed (on a date), set aside, or proposed again."""
    if status == PriorityStatus.AGREED and agreed_on is None:
        raise ValidationError({"agreed_on": "Give the date the priority was agreed."})
    if status == PriorityStatus.AGREED and agreed_on and agreed_on > timezone.localdate():
        raise ValidationError({"agreed_on": "The date it was agreed cannot be in the future."})
    priority.status = status
    priority.agreed_on = agreed_on if status == PriorityStatus.AGREED else None
    priority.full_clean()
    priority.save(update_fields=["status", "agreed_on"])
    return priority


def votable_priorities(partnership: Partnership) -> QuerySet[Priority]:
    """Priorities a vote may be about: those proposed and not yet agreed or set aside."""
    return Priority.objects.filter(partnership=partnership, status=PriorityStatus.CANDIDATE)


# Votes -------------------------------------------------------------------------------


@transaction.atomic
def vote_open(
    *,
    partnership: Partnership,
    by: User,
    title: str,
    method: str,
    candidates: Sequence[Priority],
    opens_at: dt.datetime,
    closes_at: dt.datetime,
    anonymity_floor: int = 3,
) -> PriorityVote:
    errors: dict[str, str] = {}
    allowed = set(votable_priorities(partnership).values_list("pk", flat=True))
    chosen = {p.pk for p in candidates}
    if len(chosen) < MIN_CANDIDATES:
        errors["candidates"] = f"Choose at least {MIN_CANDIDATES} proposed priorities to vote on."
    elif len(chosen) > MAX_CANDIDATES:
        errors["candidates"] = f"Choose at most {MAX_CANDIDATES} priorities for one vote."
    elif not chosen <= allowed:
        errors["candidates"] = "Choose only this partnership's proposed priorities."
    if closes_at <= opens_at:
        errors["closes_at"] = "The vote must close after it opens."
    elif closes_at <= timezone.now():
        errors["closes_at"] = "The closing time has passed; choose a later one."
    if anonymity_floor < 3:
        errors["anonymity_floor"] = "The anonymity floor cannot be below 3."
    if errors:
        raise ValidationError(errors)
    vote = PriorityVote(
        partnership=partnership,
        title=title,
        method=method,
        opens_at=opens_at,
        closes_at=closes_at,
        anonymity_floor=anonymity_floor,
        created_by=by,
    )
    vote.full_clean()
    vote.save()
    vote.candidates.set(sorted(chosen))
    return vote


def vote_close(*, vote: PriorityVote) -> bool:
    """Close an open vote now and seal its ballots; False if it was not open."""
    now = timezone.now()
    closed = PriorityVote.objects.filter(
        pk=vote.pk, closed_early_at__isnull=True, opens_at__lte=now, closes_at__gt=now
    ).update(closed_early_at=now)
    if not closed:
        return False
    vote.closed_early_at = now
    vote_seal(vote)
    return True


def _shuffler() -> random.Random:
    """The random source for sealing; the system's, so the order cannot be predicted."""
    return secrets.SystemRandom()


def vote_seal(vote: PriorityVote) -> int:
    """Rewrite a closed vote's ballots in random order with fresh ids; returns how many.

    All of the vote's ballots and their scores are deleted and written again in one
    transaction, in an order drawn from the system's random source: afterwards
    neither ids, row order nor transaction ids follow the order in which members
    voted, and no ballot shares a transaction with a participation. Idempotent: a
    sealed vote is left alone. Does nothing while the vote is open.
    """
    with transaction.atomic():
        locked = PriorityVote.objects.select_for_update().get(pk=vote.pk)
        if locked.sealed or vote_state(locked) != "closed":
            return 0
        entries: dict[int, tuple[str, str, list[tuple[int, Any, Any, Any]]]] = {
            pk: (side, sector, [])
            for pk, side, sector in Ballot.objects.filter(vote=locked).values_list(
                "pk", "side", "sector"
            )
        }
        for row in BallotScore.objects.filter(ballot__vote=locked).values_list(
            "ballot_id", "priority_id", "points", "importance", "feasibility"
        ):
            entries[row[0]][2].append(row[1:])
        ordered = list(entries.values())
        _shuffler().shuffle(ordered)
        Ballot.objects.filter(vote=locked).delete()
        ballots = Ballot.objects.bulk_create(
            Ballot(vote=locked, side=side, sector=sector) for side, sector, _ in ordered
        )
        BallotScore.objects.bulk_create(
            (
                BallotScore(
                    ballot=ballot,
                    priority_id=priority_id,
                    points=points,
                    importance=importance,
                    feasibility=feasibility,
                )
                for ballot, (_, _, scores) in zip(ballots, ordered, strict=True)
                for priority_id, points, importance, feasibility in scores
            ),
            batch_size=2000,
        )
        PriorityVote.objects.filter(pk=locked.pk).update(sealed=True)
    vote.sealed = True
    return len(ordered)


def votes_seal_due() -> int:
    """Seal every vote that has closed but is not sealed (for `partnerwell seal_rounds`);
    returns how many ballots were rewritten."""
    now = timezone.now()
    due = PriorityVote.objects.filter(sealed=False, opens_at__lte=now).filter(
        Q(closes_at__lte=now) | Q(closed_early_at__lte=now)
    )
    return sum(vote_seal(vote) for vote in due.order_by("pk"))


def vote_seal_due(vote: PriorityVote) -> None:
    """Before reading a vote's results: seal it if it has closed. No query once sealed."""
    if not vote.sealed and vote_state(vote) == "closed":
        vote_seal(vote)


def vote_state(vote: PriorityVote) -> str:
    """'scheduled', 'open' or 'closed'."""
    now = timezone.now()
    if now < vote.opens_at:
        return "scheduled"
    return "open" if now < vote.effective_close else "closed"


def voter_membership(user: User, vote: PriorityVote) -> Membership | None:
    """The person's current membership of the vote's partnership, if any."""
    return (
        Membership.objects.current()
        .filter(person=user, partnership_id=vote.partnership_id)
        .select_related("organisation", "side")
        .first()
    )


def points_problem(total: int) -> str | None:
    """What to do when a ballot's points do not add up to 10, or None."""
    if total == POINTS_TO_SPREAD:
        return None
    if total < POINTS_TO_SPREAD:
        left = POINTS_TO_SPREAD - total
        return (
            f"You have given {total} of the 10 points; give the {left} point"
            f"{'s' if left != 1 else ''} left as well."
        )
    over = total - POINTS_TO_SPREAD
    return f"You have given {total} points, {over} too many; take {over} away so they add up to 10."


def _check_scores(
    method: str, candidate_ids: set[int], scores: Mapping[int, Score]
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if set(scores) != candidate_ids:
        errors["scores"] = "Give a score for each candidate in this vote, and for no others."
        return errors
    if method == VoteMethod.POINTS:
        values = [s.points for s in scores.values()]
        if any(
            isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= POINTS_TO_SPREAD
            for v in values
        ):
            errors["scores"] = "Give each candidate a whole number of points from 0 to 10."
        elif problem := points_problem(sum(v for v in values if v is not None)):
            errors["scores"] = problem
    else:
        for s in scores.values():
            if s.importance not in RATING_SCALE or s.feasibility not in RATING_SCALE:
                errors["scores"] = (
                    "Rate every candidate's importance and feasibility with a whole number "
                    "from 1 to 5."
                )
                break
    return errors


def _claim_vote(vote: PriorityVote, membership: Membership) -> bool:
    """Insert the participation unless it exists; True if this call inserted it.

    One INSERT … ON CONFLICT DO NOTHING: of two submissions at once, the
    database lets exactly one insert the row (the other waits on the unique
    index, then inserts nothing), so a ballot is stored at most once.
    """
    table = connection.ops.quote_name(VoteParticipation._meta.db_table)
    sql = (
        f"INSERT INTO {table} (vote_id, membership_id) "  # noqa: S608 - the table name is our own
        "VALUES (%s, %s) ON CONFLICT (vote_id, membership_id) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [vote.pk, membership.pk])
        return cursor.rowcount == 1


def ballot_cast(*, vote: PriorityVote, user: User, scores: Mapping[int, Score]) -> Ballot:
    """Record that the member voted and store their ballot, both or neither, at most once."""
    state = vote_state(vote)
    if state == "scheduled":
        raise VoteNotOpen(
            f"This vote opens on {timezone.localtime(vote.opens_at):%-d %B %Y at %H:%M}."
        )
    if state == "closed":
        raise VoteNotOpen("This vote has closed, so no more votes can be cast.")
    membership = voter_membership(user, vote)
    if membership is None:
        raise PermissionDenied("Only current members of the partnership can vote.")
    candidate_ids = set(vote.candidates.values_list("pk", flat=True))
    errors = _check_scores(vote.method, candidate_ids, scores)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if not _claim_vote(vote, membership):
            raise AlreadyVoted("You have already voted in this vote; each member votes once.")
        ballot = Ballot.objects.create(
            vote=vote,
            side=membership.side.name if membership.side else "",
            sector=membership.organisation.sector,
        )
        BallotScore.objects.bulk_create(
            BallotScore(
                ballot=ballot,
                priority_id=pk,
                points=s.points if vote.method == VoteMethod.POINTS else None,
                importance=s.importance if vote.method == VoteMethod.RATING else None,
                feasibility=s.feasibility if vote.method == VoteMethod.RATING else None,
            )
            for pk, s in scores.items()
        )
        # The ballot's foreign key share-locks the vote, so a vote_seal that has not
        # committed yet waits for this transaction and then rewrites this ballot too;
        # one that committed before the lock was taken would leave it out, so refuse.
        if PriorityVote.objects.filter(pk=vote.pk, sealed=True).exists():
            raise VoteNotOpen("This vote has closed, so no more votes can be cast.")
        # A ballot that arrives as the vote closes is sealed at once.
        if vote_state(vote) == "closed":
            transaction.on_commit(lambda: vote_seal(vote))
    return ballot


def has_voted(vote: PriorityVote, membership: Membership | None) -> bool:
    if membership is None:
        return False
    return VoteParticipation.objects.filter(vote=vote, membership=membership).exists()


# Results -----------------------------------------------------------------------------


def rank(scores: Mapping[Any, float]) -> dict[Any, int]:
    """Standard competition ranking: equal scores share a rank (1, 2, 2, 4)."""
    ordered = sorted(scores.items(), key=lambda item: -item[1])
    ranks: dict[Any, int] = {}
    previous: float | None = None
    for position, (key, score) in enumerate(ordered, start=1):
        rounded = round(score, 9)
        if rounded != previous:
            current = position
            previous = rounded
        ranks[key] = current
    return ranks


def _score(method: str, row: Mapping[str, Any], ballots: int) -> float | None:
    if not ballots:
        return None
    if method == VoteMethod.POINTS:
        return float(row.get("total") or 0)
    if row.get("importance") is None or row.get("feasibility") is None:
        return None
    return float(row["importance"]) * float(row["feasibility"])


def _eligible_groups(vote: PriorityVote, by: str) -> set[str]:
    """The sides (or sectors) of everyone who was a member at some time while the vote
    was open, as a ballot records them (anyone who voted is among them), and every side."""
    opened = timezone.localdate(vote.opens_at)
    closed = timezone.localdate(vote.effective_close)
    members = Membership.objects.filter(partnership_id=vote.partnership_id).filter(
        Q(start_date__isnull=True) | Q(start_date__lte=closed),
        Q(end_date__isnull=True) | Q(end_date__gt=opened),
    )
    field = "side__name" if by == "side" else "organisation__sector"
    groups = {value or "" for value in members.values_list(field, flat=True).distinct()}
    if by == "side":
        # Every side of the partnership is listed, even one with no members yet.
        groups |= set(vote.partnership.sides.values_list("name", flat=True))
    return groups


def _group_name(by: str, raw: str) -> str:
    if not raw:
        return "Not recorded"
    return str(Sector(raw).label) if by == "sector" and raw in Sector.values else raw


def vote_results(vote: PriorityVote) -> dict[str, Any]:
    """The ranked candidates and the spread between groups; a fixed number of queries.

    ``published`` is False (and nothing else is filled in) while the vote is
    open or when fewer members than the floor voted; ``reason`` says why.
    Every reader of results comes through here, so a closed vote is sealed first.
    """
    vote_seal_due(vote)
    ballots = vote.ballots.count()
    state = vote_state(vote)
    floor = vote.anonymity_floor
    result: dict[str, Any] = {
        "published": False,
        "reason": "",
        "ballots": ballots,
        "method": vote.method,
        "rule": METHOD_RULES[VoteMethod(vote.method)],
        "visibility": VISIBILITY_RULE.format(floor=floor),
        "anonymity_floor": floor,
        "candidates": [],
        "breakdown": None,
    }
    if state != "closed":
        result["reason"] = (
            f"The results appear when the vote closes on {timezone.localtime(vote.effective_close):%-d %B %Y}."
        )
        return result
    if ballots < floor:
        result["reason"] = (
            f"Only {ballots} member{'s' if ballots != 1 else ''} voted; results are shown only "
            f"when at least {floor} have voted, to keep ballots anonymous."
        )
        return result

    scores = BallotScore.objects.filter(ballot__vote=vote)
    candidates = list(vote.candidates.order_by("title", "pk"))
    breakdown = _breakdown(vote, scores, candidates)
    rows = _ranked(vote, scores, candidates, ballots)
    for row in rows:
        row["groups"] = breakdown["by_candidate"].get(row["id"], []) if breakdown else []
        row["spread"] = breakdown["spread"].get(row["id"]) if breakdown else None
    result.update(published=True, candidates=rows, breakdown=breakdown)
    return result


def _ranked(
    vote: PriorityVote, scores: QuerySet[BallotScore], candidates: list[Priority], ballots: int
) -> list[dict[str, Any]]:
    """Each candidate's score and rank, best first; one query."""
    totals = {
        row["priority_id"]: row
        for row in scores.values("priority_id").annotate(
            total=Sum("points"), importance=Avg("importance"), feasibility=Avg("feasibility")
        )
    }
    overall = {p.pk: _score(vote.method, totals.get(p.pk, {}), ballots) or 0.0 for p in candidates}
    ranks = rank(overall)
    points = vote.method == VoteMethod.POINTS
    rows = [
        {
            "priority": p,
            "id": p.pk,
            "title": p.title,
            "rank": ranks[p.pk],
            "score": overall[p.pk],
            "mean_points": float(totals.get(p.pk, {}).get("total") or 0) / ballots
            if points
            else None,
            "importance": totals.get(p.pk, {}).get("importance"),
            "feasibility": totals.get(p.pk, {}).get("feasibility"),
        }
        for p in candidates
    ]
    return sorted(rows, key=lambda r: (r["rank"], r["title"]))


def _breakdown(
    vote: PriorityVote, scores: QuerySet[BallotScore], candidates: list[Priority]
) -> dict[str, Any] | None:
    """Each shown group's score per candidate, by side if there are sides, else by sector.

    Only this one breakdown is ever shown (never side and sector together), so
    suppress_groups, which protects one breakdown against the total, is enough:
    there is no second breakdown whose groups could be subtracted from these.
    """
    by = "side" if vote.partnership.sides.exists() else "sector"
    # Every group that had a member able to vote is listed, voted or not, so the
    # list (shown or hidden) says nothing about who voted.
    counts = dict.fromkeys(_eligible_groups(vote, by), 0)
    counts.update(
        (row[by], row["n"]) for row in vote.ballots.values(by).annotate(n=Count("id")).order_by(by)
    )
    counts = dict(sorted(counts.items()))
    if len(counts) < 2:
        return None
    hidden = suppress_groups(counts, vote.anonymity_floor)
    shown = [g for g in counts if g not in hidden]
    per_group = {
        (row["priority_id"], row[f"ballot__{by}"]): row
        for row in scores.filter(~Q(**{f"ballot__{by}__in": sorted(hidden)}))
        .values("priority_id", f"ballot__{by}")
        .annotate(total=Sum("points"), importance=Avg("importance"), feasibility=Avg("feasibility"))
    }
    by_candidate: dict[int, list[dict[str, Any]]] = {}
    spread: dict[int, float | None] = {}
    for p in candidates:
        cells: list[dict[str, Any]] = []
        for g in shown:
            row = per_group.get((p.pk, g), {})
            score = _score(vote.method, row, counts[g])
            # Groups differ in size, so points compare as a mean per member.
            if vote.method == VoteMethod.POINTS and score is not None:
                score = score / counts[g]
            cells.append({"name": _group_name(by, g), "n": counts[g], "score": score})
        by_candidate[p.pk] = cells
        values = [c["score"] for c in cells if c["score"] is not None]
        spread[p.pk] = max(values) - min(values) if len(values) >= 2 else None
    return {
        "by": by,
        "groups": [{"name": _group_name(by, g), "n": counts[g]} for g in shown],
        "hidden": len(hidden),
        # Names only: a hidden group's count is never shown.
        "hidden_groups": sorted(_group_name(by, g) for g in hidden),
        "by_candidate": by_candidate,
        "spread": spread,
        "measure": "mean points per member"
        if vote.method == VoteMethod.POINTS
        else "importance × feasibility",
    }
