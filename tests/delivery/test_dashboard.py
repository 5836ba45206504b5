"""The delivery dashboard on the partnership page, and its fixed cost in queries."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from partnerwell.core.models import Membership, Partnership, User
from partnerwell.delivery.models import (
    Action,
    ActionStatus,
    DataPoint,
    Issue,
    IssueStatus,
    Measure,
    MeasureKind,
    Outcome,
    Risk,
    RiskStatus,
    Target,
    Win,
)
from partnerwell.healthcheck.models import Framework
from tests.healthcheck.builders import add_member, answer, make_round

TODAY = timezone.localdate


def _fill(partnership: Partnership, owner: Membership, n: int) -> None:
    """n of everything the panel counts: overdue actions, risks, issues, wins, measures."""
    today = TODAY()
    Action.objects.bulk_create(
        Action(
            partnership=partnership,
            title=f"Late action {i}",
            owner=owner,
            organisation=owner.organisation,
            due_date=today - dt.timedelta(days=i + 1),
            status=ActionStatus.AGREED,
        )
        for i in range(n)
    )
    Risk.objects.bulk_create(
        Risk(
            partnership=partnership,
            title=f"Risk {i}",
            owner=owner,
            likelihood=1 + i % 5,
            impact=5,
            target_likelihood=1,
            target_impact=1,
            review_on=today - dt.timedelta(days=i % 3),
        )
        for i in range(n)
    )
    Issue.objects.bulk_create(
        Issue(partnership=partnership, title=f"Issue {i}", raised_by=owner) for i in range(n)
    )
    outcome = Outcome.objects.create(partnership=partnership, title=f"Outcome {n}")
    Win.objects.bulk_create(
        Win(partnership=partnership, title=f"Win {i}", outcome=outcome) for i in range(n)
    )
    measures = Measure.objects.bulk_create(
        Measure(
            partnership=partnership,
            outcome=outcome,
            title=f"Measure {n}-{i}",
            kind=MeasureKind.HOW_MUCH,
            baseline_value=0,
            baseline_on=today - dt.timedelta(days=100),
        )
        for i in range(n)
    )
    Target.objects.bulk_create(
        Target(measure=m, value=100, target_on=today + dt.timedelta(days=100)) for m in measures
    )
    # Ten where forty-five was expected by now: off track.
    DataPoint.objects.bulk_create(
        DataPoint(measure=m, value=10, period_end=today - dt.timedelta(days=10)) for m in measures
    )


def test_it_shows_what_needs_attention_on_the_partnership_page(
    bob_client: Client, alice: User, bob: User, partnership_a: Partnership
) -> None:
    owner = Membership.objects.get(person=alice)
    today = TODAY()
    Action.objects.create(
        partnership=partnership_a,
        title="Write the funding paper",
        owner=owner,
        organisation=owner.organisation,
        due_date=today - dt.timedelta(days=4),
    )
    Action.objects.create(
        partnership=partnership_a,
        title="Done on time",
        owner=owner,
        organisation=owner.organisation,
        due_date=today - dt.timedelta(days=4),
        status=ActionStatus.DONE,
        done_on=today - dt.timedelta(days=5),
    )
    Risk.objects.create(
        partnership=partnership_a,
        title="Funding falls through",
        likelihood=4,
        impact=5,
        target_likelihood=4,
        target_impact=5,
        review_on=today - dt.timedelta(days=1),
    )
    Risk.objects.create(
        partnership=partnership_a,
        title="Above its target",
        likelihood=3,
        impact=3,
        target_likelihood=1,
        target_impact=2,
        review_on=today,
    )
    Risk.objects.create(
        partnership=partnership_a,
        title="Under control",
        likelihood=1,
        impact=2,
        target_likelihood=1,
        target_impact=2,
        review_on=today,
    )
    Risk.objects.create(
        partnership=partnership_a,
        title="Closed and forgotten",
        likelihood=5,
        impact=5,
        target_likelihood=1,
        target_impact=1,
        review_on=today - dt.timedelta(days=99),
        status=RiskStatus.CLOSED,
    )
    Issue.objects.create(partnership=partnership_a, title="Where do we meet?")
    Issue.objects.create(
        partnership=partnership_a, title="Settled", status=IssueStatus.RESOLVED, resolution="x"
    )
    Win.objects.create(partnership=partnership_a, title="Clinic opened")

    page = bob_client.get(f"/partnerships/{partnership_a.pk}/").content.decode()
    assert "Write the funding paper" in page
    assert "Done on time" not in page
    assert "1</span> action overdue" in page
    assert f'href="/partnerships/{partnership_a.pk}/actions/"' in page
    assert "Funding falls through" in page and "Above its target" in page
    assert "Under control" not in page and "Closed and forgotten" not in page
    assert "2</span> of 3 open risks need attention: 1 overdue for review, 1 above target" in page
    assert "Where do we meet?" in page and "Settled" not in page
    assert "Clinic opened" in page
    assert f'href="/partnerships/{partnership_a.pk}/risks/"' in page


def test_it_shows_measures_off_track(
    bob_client: Client, alice: User, bob: User, partnership_a: Partnership
) -> None:
    _fill(partnership_a, Membership.objects.get(person=alice), 2)
    page = bob_client.get(f"/partnerships/{partnership_a.pk}/").content.decode()
    assert "2</span> of 2 measures off track" in page
    assert "Measure 2-0" in page


def test_it_costs_the_same_number_of_queries_however_much_is_recorded(
    bob_client: Client,
    alice: User,
    bob: User,
    partnership_a: Partnership,
    django_assert_num_queries: object,
) -> None:
    owner = Membership.objects.get(person=alice)
    url = f"/partnerships/{partnership_a.pk}/"
    # A health check with evidence rows, so the headline panel computes every indicator too.
    round = make_round(partnership_a, Framework.objects.get(scope="builtin", key="good-governance"))
    for _ in range(3):
        answer(round, add_member(partnership_a, owner.organisation, side="Staff side"), 4)
    _fill(partnership_a, owner, 2)
    bob_client.get(url)  # warm the session and any caches
    with CaptureQueriesContext(connection) as small:
        assert bob_client.get(url).status_code == 200
    _fill(partnership_a, owner, 60)
    with django_assert_num_queries(len(small.captured_queries)):  # type: ignore[operator]
        response = bob_client.get(url)
    assert "62</span> actions overdue" in response.content.decode()
    assert "62</span> of 62 measures off track" in response.content.decode()
    assert round.title in response.content.decode()


def test_it_keeps_the_panel_from_another_partnership(
    carol_client: Client, alice: User, carol: User, partnership_a: Partnership
) -> None:
    Issue.objects.create(partnership=partnership_a, title="Alpha's private issue")
    assert carol_client.get(f"/partnerships/{partnership_a.pk}/").status_code == 404
