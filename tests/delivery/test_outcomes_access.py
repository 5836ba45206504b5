"""Every page of priorities, votes, outcomes and measures keeps partnership A's records to A.

The routes are read from the two view modules, so a new page is walked as
soon as it exists, and fails here until it is sorted into the lists below.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import URLPattern

from partnerwell.core.models import Partnership, User
from partnerwell.delivery.models import (
    Ballot,
    DataPoint,
    Measure,
    Outcome,
    Priority,
    PriorityVote,
    Target,
)
from partnerwell.delivery.views import outcomes, priorities
from tests.delivery.test_outcomes import make_measure, make_outcome
from tests.delivery.test_votes import make_vote

ROUTES: list[URLPattern] = [*priorities.urlpatterns, *outcomes.urlpatterns]

# Pages a plain member may change; every other change is for managers and chairs.
MEMBER_WRITES = {"delivery-create-priority", "delivery-cast-ballot"}
MANAGER_WRITES = {
    "delivery-edit-priority",
    "delivery-decide-priority",
    "delivery-open-vote",
    "delivery-close-vote",
    "delivery-create-outcome",
    "delivery-edit-outcome",
    "delivery-delete-outcome",
    "delivery-create-measure",
    "delivery-edit-measure",
    "delivery-delete-measure",
    "delivery-add-target",
    "delivery-delete-target",
    "delivery-add-data-point",
    "delivery-delete-data-point",
    "delivery-import-data-points",
}
READS = {
    "delivery-list-priorities",
    "delivery-view-priority",
    "delivery-view-vote",
    "delivery-list-outcomes",
    "delivery-view-outcome",
    "delivery-view-measure",
    "delivery-export-measures-csv",
    "delivery-export-measures-xlsx",
}


def _path(pattern: URLPattern, ids: dict[str, int]) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[m.group(1)]), str(pattern.pattern))


def _params() -> list[object]:
    return [pytest.param(p, id=p.name) for p in ROUTES]


@pytest.fixture
def a_ids(partnership_a: Partnership, alice: User) -> dict[str, int]:
    priority = Priority.objects.create(partnership=partnership_a, title="A's priority")
    other = Priority.objects.create(partnership=partnership_a, title="A's other priority")
    vote = make_vote(partnership_a, alice, [priority, other])
    outcome = make_outcome(partnership_a)
    measure = make_measure(outcome, points=[(dt.date(2024, 6, 30), 150.0)])
    return {
        "partnership_id": partnership_a.pk,
        "priority_id": priority.pk,
        "vote_id": vote.pk,
        "outcome_id": outcome.pk,
        "measure_id": measure.pk,
        "target_id": measure.targets.get().pk,
        "point_id": measure.data_points.get().pk,
    }


def _state() -> tuple[object, ...]:
    return (
        list(Priority.objects.order_by("pk").values_list("pk", "title", "status", "agreed_on")),
        list(PriorityVote.objects.order_by("pk").values_list("pk", "closed_early_at")),
        Ballot.objects.count(),
        list(Outcome.objects.order_by("pk").values_list("pk", "title")),
        list(Measure.objects.order_by("pk").values_list("pk", "title", "baseline_value")),
        list(Target.objects.order_by("pk").values_list("pk", "value")),
        list(DataPoint.objects.order_by("pk").values_list("pk", "value")),
    )


def test_it_sorts_every_route() -> None:
    names = {p.name for p in ROUTES}
    assert names == MEMBER_WRITES | MANAGER_WRITES | READS
    assert len(names) == len(ROUTES)


@pytest.mark.parametrize("pattern", _params())
def test_it_hides_partnership_as_records_from_another_partnership(
    pattern: URLPattern, a_ids: dict[str, int], carol: User, carol_client: Client
) -> None:
    url = _path(pattern, a_ids)
    before = _state()
    assert carol_client.post(url, {"title": "Hijacked", "status": "agreed"}).status_code == 404
    assert carol_client.get(url).status_code in (404, 405)
    assert _state() == before


@pytest.mark.parametrize("pattern", _params())
def test_it_sends_anonymous_visitors_to_sign_in(
    pattern: URLPattern, a_ids: dict[str, int], client: Client
) -> None:
    url = _path(pattern, a_ids)
    response = client.post(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    "pattern", [pytest.param(p, id=p.name) for p in ROUTES if p.name in MANAGER_WRITES]
)
def test_it_refuses_manager_only_changes_to_a_plain_member(
    pattern: URLPattern, a_ids: dict[str, int], bob_client: Client
) -> None:
    url = _path(pattern, a_ids)
    before = _state()
    assert bob_client.post(url, {"title": "Hijacked", "status": "agreed"}).status_code == 403
    assert _state() == before


@pytest.mark.parametrize("pattern", [pytest.param(p, id=p.name) for p in ROUTES if p.name in READS])
def test_it_lets_members_read_their_own_partnerships_records(
    pattern: URLPattern, a_ids: dict[str, int], bob_client: Client
) -> None:
    # The control for the walks above: the same pages do answer, to the right people.
    assert bob_client.get(_path(pattern, a_ids)).status_code == 200
