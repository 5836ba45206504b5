"""From a weak principle in a health check's results to an owned action, and back: the
action page shows the principle's score then and in the next health check."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from partnerwell.core.models import Membership, Partnership, User
from partnerwell.delivery.actions import health_check_action_link
from partnerwell.delivery.models import Action, ActionSource
from partnerwell.healthcheck import services
from partnerwell.healthcheck.models import Framework, Principle, Round, Statement
from tests.healthcheck.builders import OUTLINE, outline_framework, page_text, statement_keys

TRUSTED = "We trust each other."
SHARED = "We share information openly."


def _open_round(
    by: User, partnership: Partnership, framework: Framework, title: str, days_ago: int
) -> Round:
    now = timezone.now()
    plan = services.RoundPlan(
        framework=framework,
        title=title,
        audience="all",
        opens_at=now - dt.timedelta(days=days_ago),
        closes_at=now - dt.timedelta(days=days_ago) + dt.timedelta(days=5),
    )
    round = services.round_open(by=by, partnership=partnership, plan=plan)
    # The worker makes the invitations after the commit; here they are made at once.
    services.invitations_create(round, [])
    return round


def _answer(round: Round, answers: dict[str, int], count: int | None = None) -> None:
    """Every invited member (or the first few) gives the same answers, by statement text."""
    keys = statement_keys(round.framework)
    by_key = {keys[text]: value for text, value in answers.items()}
    for key in keys.values():
        by_key.setdefault(key, 3)
    for invitation in round.invitations.order_by("pk")[:count]:
        services.response_submit(invitation=invitation, answers=by_key, comments={})


@pytest.fixture
def first_round(alice: User, bob: User, dave: User, partnership_a: Partnership) -> Round:
    framework = outline_framework(partnership_a, by=alice)
    round = _open_round(alice, partnership_a, framework, "Spring check", days_ago=60)
    # Trust: 2 of 5 is 25 and 3 of 5 is 50, so the principle scores 37.5, a concern.
    _answer(round, {TRUSTED: 2, SHARED: 3})
    return round


def _trust(round: Round) -> Principle:
    return Principle.objects.get(framework=round.framework, title="Trust")


def _create_url(round: Round, principle: Principle, statement: Statement | None = None) -> str:
    url = f"/rounds/{round.pk}/actions/new/?principle={principle.pk}"
    return url + (f"&statement={statement.pk}" if statement else "")


def test_it_turns_a_principle_into_an_action_and_follows_its_score(
    alice_client: Client, alice: User, bob: User, partnership_a: Partnership, first_round: Round
) -> None:
    trust = _trust(first_round)
    form = alice_client.get(_create_url(first_round, trust))
    assert form.status_code == 200
    content = form.content.decode()
    assert 'value="Act on the health check: Trust"' in content
    assert "Members scored Trust 37 out of 100 (concern)." in content
    assert "Health check “Spring check”, Trust" in content

    due = timezone.localdate() + dt.timedelta(days=30)
    response = alice_client.post(
        _create_url(first_round, trust),
        {
            "title": "Agree how we share papers",
            "detail": "From the spring check.",
            "owner": Membership.objects.get(person=bob).pk,
            "due_date": due.isoformat(),
            "status": "agreed",
        },
    )
    assert response.status_code == 302
    action = Action.objects.get()
    assert (action.source, action.source_round, action.source_principle) == (
        ActionSource.HEALTH_CHECK,
        first_round,
        trust,
    )
    assert action.source_statement is None
    assert (action.owner.person, action.due_date) == (bob, due)

    page = page_text(alice_client.get(f"/actions/{action.pk}/"))
    assert "Trust in the health checks" in page
    assert "Spring check Where the action came from 37 Concern" in page
    assert "once the next health check on the same framework has begun" in page

    # The framework changes (a new statement), so the next round uses version 2;
    # Trust is matched by its key, and members now rate it 75, a strength.
    newer = outline_framework(
        partnership_a, outline=OUTLINE.replace(SHARED, f"{SHARED}\n- We keep promises."), by=alice
    )
    assert newer.version == first_round.framework.version + 1
    assert _trust(first_round).key == Principle.objects.get(framework=newer, title="Trust").key
    autumn = _open_round(alice, partnership_a, newer, "Autumn check", days_ago=2)
    _answer(autumn, {TRUSTED: 4, SHARED: 4, "We keep promises.": 4})

    # While the autumn check is open its results, this score included, are shown to nobody.
    page = page_text(alice_client.get(f"/actions/{action.pk}/"))
    assert "Spring check Where the action came from 37 Concern" in page
    assert "Autumn check" not in page
    assert "75" not in page

    assert services.round_close_early(autumn)
    page = page_text(alice_client.get(f"/actions/{action.pk}/"))
    assert "Spring check Where the action came from 37 Concern" in page
    assert "Autumn check Latest since 75 Strength" in page


def test_it_turns_a_statement_into_an_action(
    alice_client: Client, alice: User, first_round: Round
) -> None:
    trust = _trust(first_round)
    shared = Statement.objects.get(framework=first_round.framework, text=SHARED)
    url = _create_url(first_round, trust, shared)
    assert f'value="Act on: {SHARED}"' in alice_client.get(url).content.decode()
    response = alice_client.post(
        url,
        {
            "title": f"Act on: {SHARED}",
            "owner": Membership.objects.get(person=alice).pk,
            "due_date": timezone.localdate().isoformat(),
            "status": "proposed",
        },
    )
    assert response.status_code == 302
    action = Action.objects.get()
    assert (action.source_principle, action.source_statement) == (trust, shared)


def test_it_hides_scores_from_a_round_too_few_answered(
    alice_client: Client, alice: User, partnership_a: Partnership
) -> None:
    framework = outline_framework(partnership_a, by=alice)
    round = _open_round(alice, partnership_a, framework, "Thin check", days_ago=10)
    _answer(round, {TRUSTED: 1}, count=2)
    content = alice_client.get(_create_url(round, _trust(round))).content.decode()
    assert "Members scored" not in content
    alice_client.post(
        _create_url(round, _trust(round)),
        {
            "title": "Build trust",
            "owner": Membership.objects.get(person=alice).pk,
            "due_date": timezone.localdate().isoformat(),
            "status": "agreed",
        },
    )
    page = page_text(alice_client.get(f"/actions/{Action.objects.get().pk}/"))
    assert "Hidden until enough people answer" in page


def test_it_refuses_a_principle_or_statement_from_elsewhere(
    alice_client: Client, alice: User, partnership_a: Partnership, first_round: Round
) -> None:
    other = outline_framework(partnership_a, title="Another framework", by=alice)
    foreign = Principle.objects.filter(framework=other).first()
    assert foreign is not None
    decisions = Principle.objects.get(framework=first_round.framework, title="Decisions")
    trusted = Statement.objects.get(framework=first_round.framework, text=TRUSTED)
    for url in (
        _create_url(first_round, foreign),
        _create_url(first_round, decisions, trusted),
        f"/rounds/{first_round.pk}/actions/new/",
        f"/rounds/{first_round.pk}/actions/new/?principle=abc",
    ):
        assert alice_client.get(url).status_code == 404, url


def test_it_refuses_a_plain_member(bob_client: Client, bob: User, first_round: Round) -> None:
    url = _create_url(first_round, _trust(first_round))
    assert bob_client.get(url).status_code == 403
    response = bob_client.post(
        url,
        {
            "title": "x",
            "owner": Membership.objects.get(person=bob).pk,
            "due_date": timezone.localdate().isoformat(),
            "status": "agreed",
        },
    )
    assert response.status_code == 403
    assert not Action.objects.exists()


def test_it_offers_the_link_on_the_results_to_managers_only(
    alice_client: Client, first_round: Round
) -> None:
    trust = _trust(first_round)
    shared = Statement.objects.get(framework=first_round.framework, text=SHARED)
    principle = {"id": trust.pk}
    assert health_check_action_link(first_round, principle, None, False) is None
    label, url = health_check_action_link(first_round, principle, {"id": shared.pk}, True) or (
        "",
        "",
    )
    assert label == "Turn into an action"
    assert url == _create_url(first_round, trust, shared)
    assert alice_client.get(url).status_code == 200


def test_it_puts_the_link_on_the_results_page_once_registered(
    alice_client: Client, bob_client: Client, first_round: Round, monkeypatch: pytest.MonkeyPatch
) -> None:
    from partnerwell.healthcheck import links

    # The delivery app registers the link at start-up; here only for this test.
    monkeypatch.setattr(links, "_providers", [health_check_action_link])
    url = f"/rounds/{first_round.pk}/results/"
    trust = _trust(first_round)
    expected = _create_url(first_round, trust).replace("&", "&amp;")
    assert expected in alice_client.get(url).content.decode()
    assert "Turn into an action" not in bob_client.get(url).content.decode()
