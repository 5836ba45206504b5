"""Priority votes keep no times, and a closed vote's ballots are rewritten at random.

Drops Ballot.submitted_on and VoteParticipation.voted_at (a time could be matched to
a ballot's position in a database copy), adds PriorityVote.sealed, and seals every
vote that has already closed: its ballots and scores are written again in an order
drawn from the system's random source, with fresh ids, in this one transaction.
"""

import secrets
from typing import Any

from django.db import migrations, models
from django.db.models import Q
from django.utils import timezone


def seal_closed_votes(apps: Any, schema_editor: Any) -> None:
    PriorityVote = apps.get_model("delivery", "PriorityVote")
    Ballot = apps.get_model("delivery", "Ballot")
    BallotScore = apps.get_model("delivery", "BallotScore")
    now = timezone.now()
    closed = PriorityVote.objects.filter(opens_at__lte=now).filter(
        Q(closes_at__lte=now) | Q(closed_early_at__lte=now)
    )
    shuffler = secrets.SystemRandom()
    for vote in closed.order_by("pk"):
        entries: dict[int, tuple[str, str, list[tuple[Any, ...]]]] = {
            pk: (side, sector, [])
            for pk, side, sector in Ballot.objects.filter(vote=vote).values_list(
                "pk", "side", "sector"
            )
        }
        for row in BallotScore.objects.filter(ballot__vote=vote).values_list(
            "ballot_id", "priority_id", "points", "importance", "feasibility"
        ):
            entries[row[0]][2].append(row[1:])
        ordered = list(entries.values())
        shuffler.shuffle(ordered)
        Ballot.objects.filter(vote=vote).delete()
        ballots = Ballot.objects.bulk_create(
            Ballot(vote=vote, side=side, sector=sector) for side, sector, _ in ordered
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
        PriorityVote.objects.filter(pk=vote.pk).update(sealed=True)


class Migration(migrations.Migration):
    dependencies = [
        ("delivery", "0003_action_source_decision_index"),
    ]

    operations = [
        migrations.RemoveField(model_name="ballot", name="submitted_on"),
        migrations.RemoveField(model_name="voteparticipation", name="voted_at"),
        migrations.AddField(
            model_name="priorityvote",
            name="sealed",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(seal_closed_votes, migrations.RunPython.noop),
    ]
