"""The priorities, votes, outcomes and measures of the demo."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from partnerwell.core.models import Partnership, User
from partnerwell.delivery import priorities as vote_services
from partnerwell.delivery.demo import measures_demo
from partnerwell.delivery.measures import status_for, with_latest
from partnerwell.delivery.models import (
    DataPoint,
    Measure,
    Outcome,
    Priority,
    PriorityStatus,
    PriorityVote,
    VoteParticipation,
)
from tests.conftest import client_for


def _counts() -> tuple[int, ...]:
    return (
        Priority.objects.count(),
        PriorityVote.objects.count(),
        VoteParticipation.objects.count(),
        Outcome.objects.count(),
        Measure.objects.count(),
        DataPoint.objects.count(),
    )


@pytest.fixture
def demo(db: None) -> None:
    call_command("demo", verbosity=0)


def test_it_loads_once_with_measures_on_track_at_risk_and_off_track(demo: None) -> None:
    first = _counts()
    measures_demo.load()
    assert _counts() == first
    assert first[3] >= 6
    for name in (measures_demo.STRATEGIC, measures_demo.HWB):
        partnership = Partnership.objects.get(name=name)
        measures = with_latest(Measure.objects.filter(partnership=partnership))
        statuses = {status.status if (status := status_for(m)) else None for m in measures}
        assert {"on_track", "at_risk", "off_track"} <= statuses, name
    falls = Outcome.objects.get(title="Fewer older people admitted to hospital after a fall")
    assert falls.partnership.name == measures_demo.HWB
    assert falls.priority is not None and falls.priority.status == PriorityStatus.AGREED
    monthly = falls.measures.get(title__startswith="Emergency admissions")
    assert monthly.data_points.count() == 24
    assert monthly.baseline_value is not None and monthly.targets.count() == 2


def test_it_has_a_closed_vote_with_agreed_priorities_an_open_one_and_working_pages(
    demo: None,
) -> None:
    strategic = Partnership.objects.get(name=measures_demo.STRATEGIC)
    closed = PriorityVote.objects.get(partnership=strategic, title=measures_demo.CLOSED_VOTE)
    results = vote_services.vote_results(closed)
    assert results["published"] is True
    assert results["ballots"] >= 6
    assert closed.participations.count() == results["ballots"]
    top = [row["priority"] for row in results["candidates"][:3]]
    assert {p.title for p in top} == {t for t, _, _ in measures_demo.STRATEGIC_PRIORITIES[:3]}
    for priority in top:
        priority.refresh_from_db()
        assert priority.status == PriorityStatus.AGREED
        assert priority.agreed_on is not None
        assert priority.outcomes.exists()
    assert results["breakdown"]["by"] == "sector"

    open_vote = PriorityVote.objects.get(partnership=strategic, title=measures_demo.OPEN_VOTE)
    assert vote_services.vote_state(open_vote) == "open"
    member = User.objects.get(email=measures_demo.DEMO_MEMBER)
    page = client_for(member).get(reverse("delivery-view-vote", args=[open_vote.pk]))
    assert "Cast my vote" in page.content.decode()

    # Every page of the area renders with the demo's data.
    manager: Client = client_for(User.objects.get(email="manager@example.org"))
    for name in (measures_demo.STRATEGIC, measures_demo.HWB):
        partnership = Partnership.objects.get(name=name)
        for route in ("delivery-list-priorities", "delivery-list-outcomes"):
            assert manager.get(reverse(route, args=[partnership.pk])).status_code == 200
    for measure in Measure.objects.all():
        assert manager.get(reverse("delivery-view-measure", args=[measure.pk])).status_code == 200
    for vote in PriorityVote.objects.all():
        assert manager.get(reverse("delivery-view-vote", args=[vote.pk])).status_code == 200
