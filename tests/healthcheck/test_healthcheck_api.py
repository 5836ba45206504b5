"""The health-check API: frameworks, opening rounds, results and answering by token."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from partnerwell.api.healthcheck import Results
from partnerwell.api.models import AccessToken
from partnerwell.core.guessing import TOKEN_FAILURES_ALLOWED
from partnerwell.core.models import Membership, Partnership, User
from partnerwell.healthcheck.models import (
    Framework,
    HeldResponse,
    Invitation,
    Rating,
    Response,
    Round,
)
from tests.healthcheck.builders import (
    add_member,
    answer,
    close_and_seal,
    invite,
    make_round,
    outline_framework,
    statement_keys,
)

API = "/api/v1"
RESULT_KEYS = {
    "round",
    "anonymity_floor",
    "overall",
    "areas",
    "groups",
    "gaps",
    "change",
    "comments",
    "suppressed",
}
BUILTIN_KEYS = {
    "good-governance",
    "member-pulse",
    "model-social-partnership",
    "partnership-ingredients",
    "peer-leadership",
}


@pytest.fixture(autouse=True)
def _fresh_rate_limit() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


class Api:
    """JSON in, JSON out, as one person (with their own token) or as nobody."""

    def __init__(self, user: User | None = None) -> None:
        headers = {}
        if user is not None:
            _, plain = AccessToken.issue(user=user, name="test script")
            headers["Authorization"] = f"Bearer {plain}"
        # Answering by token happens without a session, so CSRF must not stand in the way.
        self.client = Client(enforce_csrf_checks=True, headers=headers)

    def get(self, path: str) -> Any:
        return self.client.get(API + path)

    def post(self, path: str, body: Any = None, *, raw: bytes | None = None) -> Any:
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(API + path, data=data, content_type="application/json")


def body(response: Any) -> Any:
    assert response["Content-Type"].startswith("application/json"), response.content[:300]
    return json.loads(response.content)


def refusal(response: Any, status: int) -> str:
    """The refusal's message, after checking it is the right status with a sentence."""
    assert response.status_code == status, response.content[:500]
    message = body(response)["message"]
    assert isinstance(message, str)
    assert message.strip()
    return message


@pytest.fixture
def pulse(db: None) -> Framework:
    return Framework.objects.get(scope="builtin", key="member-pulse")


def round_payload(framework: Framework, **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "framework_id": framework.pk,
        "title": "Spring health check",
        "closes_at": (timezone.now() + dt.timedelta(days=14)).isoformat(),
    }
    payload.update(overrides)
    return payload


# Frameworks ---------------------------------------------------------------------------


def test_it_lists_built_in_frameworks_and_the_partnerships_own(
    alice: User, carol: User, partnership_a: Partnership
) -> None:
    own = outline_framework(partnership_a, title="Alpha's own")

    alices = body(Api(alice).get("/frameworks"))
    carols = body(Api(carol).get("/frameworks"))

    assert {f["key"] for f in alices if f["builtin"]} == BUILTIN_KEYS
    assert own.pk in {f["id"] for f in alices}
    assert set(alices[0]) == {
        "id",
        "key",
        "version",
        "title",
        "source",
        "builtin",
        "partnership_id",
    }
    assert {f["key"] for f in carols if f["builtin"]} == BUILTIN_KEYS
    assert own.pk not in {f["id"] for f in carols}
    refusal(Api(carol).get(f"/frameworks/{own.pk}"), 404)
    detail = body(Api(alice).get(f"/frameworks/{own.pk}"))
    assert [a["title"] for a in detail["areas"]] == ["Working together", "Delivery"]
    assert detail["areas"][0]["principles"][0]["statements"][0]["answers"] == [1, 2, 3, 4, 5]


def test_it_asks_for_a_token(db: None) -> None:
    refusal(Client().get(API + "/frameworks"), 401)


# Opening a round ---------------------------------------------------------------------


def test_it_opens_a_round(
    alice: User,
    bob: User,
    dave: User,
    partnership_a: Partnership,
    pulse: Framework,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = Api(alice).post(f"/partnerships/{partnership_a.pk}/rounds", round_payload(pulse))

    assert response.status_code == 201, response.content
    data = body(response)
    round = Round.objects.get()
    assert data["id"] == round.pk
    assert data["status"] == "open"
    assert data["framework_id"] == pulse.pk
    assert data["anonymity_floor"] == 3
    assert round.created_by == alice
    assert round.invited_count == 3
    assert sorted(m.to[0] for m in mail.outbox) == sorted([alice.email, bob.email, dave.email])
    assert body(Api(bob).get(f"/rounds/{round.pk}"))["invited"] == 3
    listed = body(Api(bob).get(f"/partnerships/{partnership_a.pk}/rounds"))
    assert [r["id"] for r in listed] == [round.pk]


def test_it_opens_a_round_for_one_side_or_chosen_members(
    alice: User,
    bob: User,
    dave: User,
    partnership_a: Partnership,
    pulse: Framework,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    api = Api(alice)
    path = f"/partnerships/{partnership_a.pk}/rounds"
    with django_capture_on_commit_callbacks(execute=True):
        side = api.post(path, round_payload(pulse, audience="side", side="staff side"))
        chosen = api.post(
            path,
            round_payload(pulse, audience="chosen", member_ids=[bob.memberships.get().pk]),
        )

    assert side.status_code == 201
    assert chosen.status_code == 201
    invited = {
        r.audience: set(r.invitations.values_list("membership__person", flat=True))
        for r in Round.objects.all()
    }
    assert invited == {"side": {dave.pk}, "chosen": {bob.pk}}


def test_it_refuses_plain_members_and_strangers(
    bob: User, carol: User, partnership_a: Partnership, pulse: Framework
) -> None:
    path = f"/partnerships/{partnership_a.pk}/rounds"

    assert "managers" in refusal(Api(bob).post(path, round_payload(pulse)), 403)
    refusal(Api(carol).post(path, round_payload(pulse)), 404)
    refusal(Api(carol).get(path), 404)
    assert not Round.objects.exists()


def _bad_round_payloads(
    pulse: Framework, theirs: Framework, carols: Membership
) -> dict[str, tuple[dict[str, Any], str]]:
    now = timezone.now()
    return {
        "nothing": ({}, "framework_id"),
        "empty title": (round_payload(pulse, title=""), "title"),
        "long title": (round_payload(pulse, title="x" * 201), "title"),
        "floor of 2": (round_payload(pulse, anonymity_floor=2), "anonymity_floor"),
        "floor too big": (round_payload(pulse, anonymity_floor=51), "anonymity_floor"),
        "closes before it opens": (
            round_payload(
                pulse,
                opens_at=(now + dt.timedelta(days=5)).isoformat(),
                closes_at=(now + dt.timedelta(days=1)).isoformat(),
            ),
            "close after it opens",
        ),
        "closed already": (
            round_payload(pulse, closes_at=(now - dt.timedelta(days=1)).isoformat()),
            "close after it opens",
        ),
        "not a date": (round_payload(pulse, closes_at="next Tuesday"), "closes_at"),
        "side without a side": (round_payload(pulse, audience="side"), "sides"),
        "unknown side": (round_payload(pulse, audience="side", side="Middle"), "Middle"),
        "chosen without members": (round_payload(pulse, audience="chosen"), "member"),
        "chosen from elsewhere": (
            round_payload(pulse, audience="chosen", member_ids=[carols.pk]),
            "member",
        ),
        "unknown audience": (round_payload(pulse, audience="everyone"), "audience"),
        "unknown framework": (round_payload(pulse, framework_id=999999), "framework"),
        "another partnership's framework": (
            round_payload(pulse, framework_id=theirs.pk),
            "framework",
        ),
        "framework as text": (round_payload(pulse, framework_id="pulse"), "framework_id"),
        "reminders as words": (round_payload(pulse, reminder_days=["soon"]), "reminder_days"),
    }


BAD_ROUND_CASES = [
    "nothing",
    "empty title",
    "long title",
    "floor of 2",
    "floor too big",
    "closes before it opens",
    "closed already",
    "not a date",
    "side without a side",
    "unknown side",
    "chosen without members",
    "chosen from elsewhere",
    "unknown audience",
    "unknown framework",
    "another partnership's framework",
    "framework as text",
    "reminders as words",
]


@pytest.mark.parametrize("case", BAD_ROUND_CASES)
def test_it_explains_a_bad_round_with_422(
    alice: User,
    carol: User,
    partnership_a: Partnership,
    partnership_b: Partnership,
    pulse: Framework,
    case: str,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    theirs = outline_framework(partnership_b, title="Beta's own")
    payload, words = _bad_round_payloads(pulse, theirs, carol.memberships.get())[case]

    with django_capture_on_commit_callbacks(execute=True):
        response = Api(alice).post(f"/partnerships/{partnership_a.pk}/rounds", payload)

    message = refusal(response, 422)
    assert words.lower() in message.lower(), message
    assert not Round.objects.exists()
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_it_refuses_a_body_that_is_not_json(alice: User, partnership_a: Partnership) -> None:
    response = Api(alice).post(f"/partnerships/{partnership_a.pk}/rounds", raw=b"{title:")

    assert 400 <= response.status_code < 500
    assert "JSON" in body(response)["message"]
    assert not Round.objects.exists()


def test_it_sends_invitations_and_reminders_on_request(
    alice: User, bob: User, dave: User, partnership_a: Partnership
) -> None:
    round = make_round(partnership_a, outline_framework(partnership_a))
    answer(round, bob.memberships.get(), 4)
    path = f"/rounds/{round.pk}/invitations"

    refusal(Api(bob).post(path, {}), 403)
    sent = Api(alice).post(path, {})
    assert sent.status_code == 202
    assert sorted(m.to[0] for m in mail.outbox) == sorted([alice.email, dave.email])
    mail.outbox.clear()
    reminded = Api(alice).post(path, {"reminders": True})
    assert reminded.status_code == 202
    assert sorted(m.to[0] for m in mail.outbox) == sorted([alice.email, dave.email])

    Round.objects.filter(pk=round.pk).update(closed_early_at=timezone.now())
    mail.outbox.clear()
    assert "not open" in refusal(Api(alice).post(path, {}), 422)
    assert mail.outbox == []


# Results ------------------------------------------------------------------------------


def test_it_gives_results_with_exactly_the_documented_keys(
    alice: User, bob: User, carol: User, partnership_a: Partnership
) -> None:
    round = make_round(partnership_a, outline_framework(partnership_a))
    for value in (2, 4, 5):
        answer(round, add_member(partnership_a, bob.memberships.get().organisation), value)
    # Results appear only once a round has closed.
    close_and_seal(round)

    response = Api(bob).get(f"/rounds/{round.pk}/results")

    data = body(response)
    assert response.status_code == 200
    # Exactly what the schema behind the OpenAPI document lists, which includes at least these.
    assert set(data) == set(Results.model_json_schema()["properties"])
    assert set(data) >= RESULT_KEYS
    assert data["round"]["responded"] == 3
    assert data["suppressed"] is False
    assert data["overall"]["score"] == pytest.approx(66.7, abs=0.05)
    refusal(Api(carol).get(f"/rounds/{round.pk}/results"), 404)
    refusal(Api(carol).get(f"/rounds/{round.pk}"), 404)


# Answering by token ------------------------------------------------------------------


@pytest.fixture
def token_round(partnership_a: Partnership) -> Round:
    return make_round(partnership_a, outline_framework(partnership_a))


@pytest.fixture
def link(token_round: Round, dave: User) -> Invitation:
    return invite(token_round, dave.memberships.get())


def full_answers(round: Round, value: int | None = 4) -> dict[str, int | None]:
    return dict.fromkeys(statement_keys(round.framework).values(), value)


def test_it_stores_answers_sent_with_a_token(link: Invitation, token_round: Round) -> None:
    area = token_round.framework.areas.get(order=0).key
    answers = full_answers(token_round)
    answers[next(iter(answers))] = None

    response = Api().post(
        "/responses",
        {"token": link.token, "answers": answers, "comments": {area: "Good meetings."}},
    )

    assert response.status_code == 201, response.content
    assert body(response)["message"]
    # Held apart until the round closes, then sealed into the results.
    assert HeldResponse.objects.filter(round=token_round).count() == 1
    close_and_seal(token_round)
    stored = Response.objects.get()
    assert stored.round == token_round
    assert stored.side == "Staff side"
    assert stored.comments == {area: "Good meetings."}
    assert Rating.objects.filter(response=stored, raw__isnull=True).count() == 1
    link.refresh_from_db()
    assert link.answered is True


def test_it_refuses_a_token_used_before(link: Invitation, token_round: Round) -> None:
    Api().post("/responses", {"token": link.token, "answers": full_answers(token_round)})

    again = Api().post("/responses", {"token": link.token, "answers": full_answers(token_round, 1)})

    assert "has been used" in refusal(again, 422)
    close_and_seal(token_round)
    assert Response.objects.count() == 1
    assert set(Rating.objects.values_list("raw", flat=True)) == {4}


def _answers_case(round: Round, case: str) -> tuple[dict[str, Any], str]:
    keys = statement_keys(round.framework)
    answers: dict[str, Any] = full_answers(round)
    comments: dict[str, str] = {}
    trust = keys["We trust each other."]
    if case == "missing statement":
        del answers[trust]
        words = f"“{trust}” has no answer"
    elif case == "unknown key":
        answers["s-made-up"] = 3
        words = "“s-made-up” is not a statement of this framework"
    elif case == "out of scale":
        answers[trust] = 7
        words = trust
    elif case == "negative":
        answers[trust] = -1
        words = trust
    elif case == "comment on no area":
        comments = {"nowhere": "Hello"}
        words = "“nowhere” is not an area of this framework"
    elif case == "answer as text":
        answers[trust] = "agree"
        words = trust
    else:
        raise AssertionError(case)
    return {"answers": answers, "comments": comments}, words


@pytest.mark.parametrize(
    "case",
    [
        "missing statement",
        "unknown key",
        "out of scale",
        "negative",
        "comment on no area",
        "answer as text",
    ],
)
def test_it_lists_what_is_wrong_with_the_answers_and_stores_nothing(
    link: Invitation, token_round: Round, case: str
) -> None:
    payload, words = _answers_case(token_round, case)

    response = Api().post("/responses", {"token": link.token, **payload})

    message = refusal(response, 422)
    assert words in message, message
    assert not HeldResponse.objects.exists()
    assert not Rating.objects.exists()
    link.refresh_from_db()
    assert link.answered is False


def test_it_refuses_a_closed_or_unknown_token(link: Invitation, token_round: Round) -> None:
    unknown = Api().post("/responses", {"token": "u" * 43, "answers": full_answers(token_round)})
    Round.objects.filter(pk=token_round.pk).update(closed_early_at=timezone.now())
    closed = Api().post("/responses", {"token": link.token, "answers": full_answers(token_round)})

    assert "not one we know" in refusal(unknown, 422)
    assert "closed" in refusal(closed, 422)
    assert not Response.objects.exists()


def test_it_slows_down_token_guessing(link: Invitation, token_round: Round) -> None:
    api = Api()
    for number in range(TOKEN_FAILURES_ALLOWED):
        guess = api.post("/responses", {"token": f"{number:04d}" + "g" * 39, "answers": {}})
        assert guess.status_code == 422

    blocked = api.post("/responses", {"token": "y" * 43, "answers": full_answers(token_round)})
    # A right link always works, even from an address that must wait.
    right = api.post("/responses", {"token": link.token, "answers": full_answers(token_round)})

    assert "Wait 15 minutes" in refusal(blocked, 429)
    assert right.status_code == 201, right.content


def test_it_lets_no_member_work_out_anyone_from_groups_across_breakdowns(
    bob: User, partnership_a: Partnership
) -> None:
    from tests.healthcheck.test_disclosure import (
        attack_results,
        build_issue_forum,
        issue_cells,
    )

    # The issue's forum: staff side of 8 = 7 trade union + 1 voluntary; management side
    # - local authority - NHS provider = the one police member.
    round = build_issue_forum(partnership_a, outline_framework(partnership_a))

    data = body(Api(bob).get(f"/rounds/{round.pk}/results"))

    assert data["suppressed"] is False
    assert data["round"]["responded"] == 16
    shown = {(g["by"], g["name"]) for g in data["groups"] if not g["suppressed"]}
    assert {("side", "Staff side"), ("side", "Management side")} <= shown
    assert attack_results(data, issue_cells()) == []
