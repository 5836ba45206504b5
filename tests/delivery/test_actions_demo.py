"""The demo's actions: a realistic mix on the forum and the strategic partnership, loaded once."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.utils import timezone

from partnerwell.delivery.actions import accountability, action_on_time, one_year_before
from partnerwell.delivery.demo.actions_demo import FORUM, STRATEGIC
from partnerwell.delivery.models import Action, ActionSource, ActionStatus, ProgressNote


@pytest.mark.django_db
def test_it_loads_a_mix_of_actions_once() -> None:
    call_command("demo", verbosity=0)
    forum = Action.objects.filter(partnership__name=FORUM)
    strategic = Action.objects.filter(partnership__name=STRATEGIC)
    assert forum.count() >= 10 and strategic.count() >= 6
    counts = (Action.objects.count(), ProgressNote.objects.count())
    assert 18 <= counts[0] <= 25

    today = timezone.localdate()
    everything = Action.objects.all()
    assert everything.overdue(today).count() >= 3
    done = list(everything.filter(status=ActionStatus.DONE))
    assert any(a.days_late for a in done) and any(a.days_late == 0 for a in done)
    assert everything.filter(status=ActionStatus.DROPPED).exclude(drop_reason="").count() == 1
    assert everything.filter(status=ActionStatus.PROPOSED).exists()
    assert everything.filter(status=ActionStatus.IN_PROGRESS).exists()
    from_check = forum.filter(source=ActionSource.HEALTH_CHECK)
    assert from_check.filter(source_principle__key="communications").count() >= 2
    assert from_check.filter(source_round__title="Forum health check 2026").count() >= 3
    # Actions answering the 2026 check fall due after it closed, not before.
    check = from_check.filter(source_round__title="Forum health check 2026").first()
    assert check is not None and check.source_round is not None
    assert all(
        a.due_date >= timezone.localdate(check.source_round.closes_at)
        for a in from_check.filter(source_round=check.source_round)
    )
    assert Action.objects.filter(owner__person__email="member@example.org").count() >= 2

    partnership = forum.first().partnership  # type: ignore[union-attr]
    result = accountability(partnership, start=one_year_before(today), end=today)
    assert result.total.due >= 8 and result.total.median_days_late is not None
    assert action_on_time(partnership, today) is not None

    call_command("demo", verbosity=0)
    assert (Action.objects.count(), ProgressNote.objects.count()) == counts
