"""While a round is open nobody, manager included, sees more than how many have answered.

The attack: read everything a member can (the API, the results page, the printable
page, the round page, the partnership page) just before and just after one person
answers. Were any score, answer count, group or comment shown, the difference would
be that person's answers. Only the number who have answered may change.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from partnerwell.api.models import AccessToken
from partnerwell.core.models import Organisation, Partnership, User
from partnerwell.healthcheck import services
from partnerwell.healthcheck.models import DiscussionItem, Framework, ResultsPdf, Round
from tests.healthcheck.builders import (
    add_member,
    answer,
    close_and_seal,
    invite,
    make_round,
    outline_framework,
    page_text,
)


@pytest.fixture
def framework(partnership_a: Partnership) -> Framework:
    return outline_framework(partnership_a)


@pytest.fixture
def open_round(
    partnership_a: Partnership,
    framework: Framework,
    council: Organisation,
    union: Organisation,
) -> Round:
    """Open, with six answers (over the floor of 3) from both sides, and 21 invited."""
    round = make_round(partnership_a, framework, title="Autumn check")
    for number in range(6):
        side, organisation = ("Management side", council) if number % 2 else ("Staff side", union)
        area = framework.areas.get(order=0).key
        answer(
            round,
            add_member(partnership_a, organisation, side=side),
            5 if number % 2 else 1,
            {area: f"Comment {number}"},
        )
    for _ in range(15):
        invite(round, add_member(partnership_a, council, side="Management side"))
    return round


def _api(user: User, round: Round) -> dict[str, Any]:
    _, plain = AccessToken.issue(user=user, name="before and after")
    response = Client(headers={"Authorization": f"Bearer {plain}"}).get(
        f"/api/v1/rounds/{round.pk}/results"
    )
    assert response.status_code == 200
    data: dict[str, Any] = json.loads(response.content)
    return data


def _everything(client: Client, user: User, round: Round) -> dict[str, Any]:
    """All a person can read of the round, with the answered count taken out."""
    api = _api(user, round)
    responded = api["round"].pop("responded")
    results = client.get(reverse("healthcheck-view-results", args=[round.pk]))
    printable = client.get(reverse("healthcheck-print-results", args=[round.pk]))
    round_page = client.get(reverse("healthcheck-view-round", args=[round.pk]))
    partnership = client.get(reverse("core-view-partnership", args=[round.partnership_id]))
    count = re.compile(rf"\b{responded} of\b")
    # The printable page gives the answered count as a share of those invited, too.
    rate = re.compile(r"\(\d+%\)")
    return {
        "responded": responded,
        "api": api,
        "pages": [
            rate.sub("(N%)", count.sub("N of", page_text(page)))
            for page in (results, printable, round_page, partnership)
        ],
        # The page's context holds nothing either, not only its text.
        "context": {k: v for k, v in results.context["results"].items() if k != "round"},
    }


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_it_reveals_only_the_answered_count_before_and_after_one_answer(
    who: str, request: pytest.FixtureRequest, open_round: Round, partnership_a: Partnership
) -> None:
    user: User = request.getfixturevalue(who)
    client = Client()
    client.force_login(user)
    before = _everything(client, user, open_round)
    invitation = open_round.invitations.filter(answered=False).first()
    assert invitation is not None
    keys = open_round.framework.statements.values_list("key", flat=True)
    services.response_submit(
        invitation=invitation,
        answers=dict.fromkeys(keys, 5),
        comments={open_round.framework.areas.get(order=0).key: "A telling remark"},
    )
    after = _everything(client, user, open_round)

    assert (before["responded"], after["responded"]) == (6, 7)
    assert {k: v for k, v in before.items() if k != "responded"} == {
        k: v for k, v in after.items() if k != "responded"
    }
    api = after["api"]
    assert api["pending"] is True and api["suppressed"] is True
    assert api["overall"] == {"score": None, "band": None}
    for key in ("areas", "groups", "gaps", "comments", "evidence"):
        assert api[key] == [], key
    assert api["change"] == {"previous_round": None, "principles": []}
    results_page, printable, round_page, partnership_page = after["pages"]
    assert "N of 21 people asked have answered so far" in results_page
    assert "The results appear when the health check closes" in results_page
    assert "Comment" not in results_page + printable
    assert "No results are shown while the round is open" in printable
    # The round page's answers by side and sector are gone until the round closes.
    assert "Answers by side" not in round_page
    assert "Autumn check is open until" in partnership_page
    assert "N of 21 have answered so far" in partnership_page


def test_it_refuses_downloads_and_discussion_marks_while_open(
    alice_client: Client, alice: User, open_round: Round
) -> None:
    xlsx = alice_client.get(reverse("healthcheck-export-results-xlsx", args=[open_round.pk]))
    pdf = alice_client.post(reverse("healthcheck-request-results-pdf", args=[open_round.pk]))
    trust = open_round.framework.principles.get(title="Trust")
    mark = alice_client.post(
        reverse("healthcheck-mark-discuss", args=[open_round.pk]), {"principle": trust.pk}
    )

    results_url = reverse("healthcheck-view-results", args=[open_round.pk])
    for response in (xlsx, pdf, mark):
        assert response.status_code == 302
        assert response["Location"] == results_url
    assert not ResultsPdf.objects.exists()
    assert not DiscussionItem.objects.exists()
    assert "Turn into an action" not in alice_client.get(results_url).content.decode()


def test_it_shows_the_results_once_the_round_closes(
    alice_client: Client, bob: User, open_round: Round
) -> None:
    close_and_seal(open_round)

    api = _api(bob, open_round)
    assert api["pending"] is False and api["suppressed"] is False
    assert api["round"]["responded"] == 6
    trust = api["areas"][0]["principles"][0]
    # Three answered 5 (100) and three 1 (0): 50, and split down the middle.
    assert (trust["score"], trust["disputed"]) == (50.0, True)
    assert {g["name"] for g in api["groups"] if g["by"] == "side"} == {
        "Management side",
        "Staff side",
    }
    assert sorted(api["comments"][0]["comments"]) == [f"Comment {n}" for n in range(6)]
    xlsx = alice_client.get(reverse("healthcheck-export-results-xlsx", args=[open_round.pk]))
    assert xlsx.status_code == 200


def test_it_heads_the_partnership_page_with_the_latest_closed_round(
    alice_client: Client,
    partnership_a: Partnership,
    framework: Framework,
    council: Organisation,
    open_round: Round,
) -> None:
    now = timezone.now()
    spring = make_round(
        partnership_a,
        framework,
        title="Spring check",
        opens_at=now - dt.timedelta(days=200),
        closes_at=now - dt.timedelta(days=180),
    )
    for _ in range(4):
        answer(spring, add_member(partnership_a, council, side="Management side"), 4)

    text = page_text(alice_client.get(reverse("core-view-partnership", args=[partnership_a.pk])))

    # The open round (three 5s and three 1s: 50) gives no score; spring (all 4s) scores 75.
    assert "Autumn check is open until" in text
    assert "6 of 21 have answered so far. Its results appear when it closes." in text
    assert re.search(r"Spring check \(closed [^)]*\): 4 of 4 answered\. 75 Strength", text)
    assert " 50 " not in text


def test_it_never_compares_with_an_earlier_round_still_open(
    alice_client: Client,
    partnership_a: Partnership,
    framework: Framework,
    council: Organisation,
    open_round: Round,
) -> None:
    # A shorter round opened after the autumn one and has closed already.
    now = timezone.now()
    quick = make_round(
        partnership_a,
        framework,
        title="Quick check",
        opens_at=now - dt.timedelta(hours=2),
        closes_at=now - dt.timedelta(hours=1),
    )
    for _ in range(4):
        answer(quick, add_member(partnership_a, council, side="Management side"), 4)

    response = alice_client.get(reverse("healthcheck-view-results", args=[quick.pk]))

    assert response.context["results"]["pending"] is False
    assert response.context["results"]["change"] == {"previous_round": None, "principles": []}
