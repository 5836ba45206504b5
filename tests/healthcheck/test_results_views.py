"""The results page, its spreadsheet, PDF and API twins, and marking items to discuss."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from io import BytesIO
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from partnerwell.api.models import AccessToken
from partnerwell.core.models import Organisation, Partnership, User
from partnerwell.healthcheck.models import DiscussionItem, Framework, ResultsPdf, Round
from tests.healthcheck.builders import (
    add_member,
    answer,
    close_and_seal,
    make_round,
    outline_framework,
    page_text,
    statement_keys,
)

TRUST = ("We trust each other.", "We share information openly.")
DECISIONS = "Decisions are made jointly."
DELIVERY = "We deliver what we agree."
SCORE_KEYS = {"score", "spread", "agreement", "difference", "previous_score", "p_value"}


@pytest.fixture
def framework(partnership_a: Partnership) -> Framework:
    return outline_framework(partnership_a)


@pytest.fixture
def keys(framework: Framework) -> dict[str, str]:
    return statement_keys(framework)


def answers_for(
    keys: dict[str, str], trust: int, decisions: int, delivery: int | None
) -> dict[str, int | None]:
    return {
        keys[TRUST[0]]: trust,
        keys[TRUST[1]]: trust,
        keys[DECISIONS]: decisions,
        keys[DELIVERY]: delivery,
    }


@pytest.fixture
def answered(
    alice: User,
    partnership_a: Partnership,
    framework: Framework,
    keys: dict[str, str],
    council: Organisation,
    union: Organisation,
    charity: Organisation,
) -> Round:
    """Nine answers: management (council) 4, staff side from the union 3 and a charity 2.

    Management trust the partnership (5), the staff side do not (2): a side gap.
    Decisions split the room between 1 and 5: disputed. Delivery is agreed (4).
    """
    round = make_round(partnership_a, framework)
    people = (
        [(council, "Management side", 5)] * 4
        + [(union, "Staff side", 2)] * 3
        + [(charity, "Staff side", 2)] * 2
    )
    for number, (organisation, side, trust) in enumerate(people):
        membership = add_member(partnership_a, organisation, side=side)
        split = 1 if number % 2 else 5
        comments = {}
        if number == 0:
            comments = {framework.areas.get(order=0).key: "Officers set the agenda."}
        answer(round, membership, answers_for(keys, trust, split, 4), comments)
    # Results appear only once a round has closed.
    close_and_seal(round)
    return round


@pytest.fixture
def too_few(
    alice: User, partnership_a: Partnership, framework: Framework, charity: Organisation
) -> Round:
    """Two answers, below the floor of 3: 2 and 3 everywhere, which would score 37.5."""
    round = make_round(partnership_a, framework)
    for value in (2, 3):
        membership = add_member(partnership_a, charity, side="Staff side")
        answer(round, membership, value, {framework.areas.get(order=0).key: f"Comment {value}"})
    close_and_seal(round)
    return round


def api_get(user: User, path: str) -> Any:
    _, plain = AccessToken.issue(user=user, name="results script")
    response = Client(headers={"Authorization": f"Bearer {plain}"}).get("/api/v1" + path)
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


def xlsx_rows(client: Client, round: Round) -> dict[str, list[tuple[Any, ...]]]:
    response = client.get(reverse("healthcheck-export-results-xlsx", args=[round.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(BytesIO(response.content), read_only=True)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in workbook.worksheets}


def assert_no_scores(data: Any, where: str = "") -> None:
    """No score, spread or count anywhere in a results dict: nothing to read off."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key in SCORE_KEYS or key == "n":
                assert value in (None, 0), f"{where}.{key} = {value}"
            elif key in ("count", "dont_know"):
                assert value == 0, f"{where}.{key} = {value}"
            else:
                assert_no_scores(value, f"{where}.{key}")
    elif isinstance(data, list):
        for index, item in enumerate(data):
            assert_no_scores(item, f"{where}[{index}]")


def assert_small_groups_underivable(
    groups: list[dict[str, Any]], responded: int, floor: int
) -> None:
    """For every breakdown, the answers not in a shown group are none or at least the floor."""
    by_breakdown: dict[str, list[dict[str, Any]]] = {}
    for group in groups:
        by_breakdown.setdefault(group["by"], []).append(group)
    assert by_breakdown
    for by, members in by_breakdown.items():
        shown = sum(g["n"] for g in members if not g["suppressed"])
        rest = responded - shown
        assert rest == 0 or rest >= floor, f"{by}: {rest} answers could be worked out"
        for group in members:
            if group["suppressed"]:
                assert group["n"] is None
                assert group["overall"] is None
                assert all(p["score"] is None for p in group["principles"])


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# The results page ------------------------------------------------------------------


def test_it_shows_scores_disputes_and_gaps(alice_client: Client, answered: Round) -> None:
    response = alice_client.get(reverse("healthcheck-view-results", args=[answered.pk]))

    assert response.status_code == 200
    results = response.context["results"]
    text = page_text(response)
    assert results["suppressed"] is False
    assert results["round"]["responded"] == 9
    principles = {p["title"]: p for a in results["areas"] for p in a["principles"]}
    assert principles["Results"]["score"] == 75.0
    assert "Results 75 " in text
    # Decisions split 5 against 4 between "strongly agree" and "strongly disagree".
    decisions = principles["Decisions"]["statements"][0]
    assert decisions["disputed"] is True
    assert principles["Results"]["disputed"] is False
    assert "Disputed" in text
    # Management answered 5 (100) on trust, the staff side 2 (25): a 75-point gap.
    side_gaps = [g for g in results["gaps"] if g["by"] == "side"]
    assert [(g["principle_title"], g["groups"], g["difference"]) for g in side_gaps] == [
        ("Trust", ["Management side", "Staff side"], 75.0)
    ]
    assert "Where groups see things differently" in text
    assert "Trust: Management side scores it 75 points higher than Staff side (by side)" in text
    assert side_gaps[0]["p_value"] == 0.0159
    assert "Beyond chance (p = 0.016, after allowing for every gap tested)" in text


def test_it_shows_no_gap_for_a_small_difference(
    alice_client: Client,
    alice: User,
    partnership_a: Partnership,
    framework: Framework,
    council: Organisation,
    union: Organisation,
) -> None:
    round = make_round(partnership_a, framework)
    # Management all agree (75); the staff side 4, 4 and 3: 66.7, a gap of 8 points.
    for organisation, side, value in [(council, "Management side", 4)] * 3 + [
        (union, "Staff side", 4),
        (union, "Staff side", 4),
        (union, "Staff side", 3),
    ]:
        answer(round, add_member(partnership_a, organisation, side=side), value)
    close_and_seal(round)

    response = alice_client.get(reverse("healthcheck-view-results", args=[round.pk]))

    sides = {g["name"]: g for g in response.context["results"]["groups"] if g["by"] == "side"}
    assert sides["Management side"]["overall"]["score"] == 75.0
    assert sides["Staff side"]["overall"]["score"] == pytest.approx(66.7, abs=0.05)
    assert response.context["results"]["gaps"] == []
    assert "Where groups see things differently" not in page_text(response)


def test_it_never_shows_numbers_for_a_small_group(
    alice_client: Client, alice: User, answered: Round
) -> None:
    response = alice_client.get(reverse("healthcheck-view-results", args=[answered.pk]))

    results = response.context["results"]
    sectors = {g["name"]: g for g in results["groups"] if g["by"] == "sector"}
    assert sectors["Voluntary and community"]["suppressed"] is True
    assert sectors["Voluntary and community"]["n"] is None
    assert sectors["Local authority"]["n"] == 4
    assert_small_groups_underivable(results["groups"], 9, answered.anonymity_floor)
    text = page_text(response)
    assert "Voluntary and community hidden" in text
    assert "Testshire Carers hidden" in text
    assert "Voluntary and community 2 answers" not in text
    assert "Testshire Carers 2 answers" not in text
    assert "Local authority 4 answers" in text

    api = api_get(alice, f"/rounds/{answered.pk}/results")
    assert_small_groups_underivable(
        api["groups"], api["round"]["responded"], api["anonymity_floor"]
    )
    carers = [
        g for g in api["groups"] if g["name"] in ("Voluntary and community", "Testshire Carers")
    ]
    assert len(carers) == 2
    assert all(g["suppressed"] and g["n"] is None and g["overall"] is None for g in carers)

    sheets = xlsx_rows(alice_client, answered)
    responded = dict(row[:2] for row in sheets["Summary"] if row and row[0])["Responded"]
    header, *rows = sheets["Groups"]
    assert header[:4] == ("Breakdown", "Group", "Shown", "People who answered")
    groups = [
        {
            "by": row[0],
            "suppressed": row[2] == "hidden",
            "n": row[3],
            "overall": row[4],
            "principles": [{"score": s} for s in row[6:]],
        }
        for row in rows
    ]
    assert any(g["suppressed"] for g in groups)
    assert_small_groups_underivable(groups, responded, 3)
    hidden_rows = [row for row in rows if row[2] == "hidden"]
    assert all(value is None for row in hidden_rows for value in row[3:])


def test_it_hides_every_score_below_the_floor(
    alice_client: Client, alice: User, too_few: Round
) -> None:
    response = alice_client.get(reverse("healthcheck-view-results", args=[too_few.pk]))

    text = page_text(response)
    assert response.status_code == 200
    assert "Fewer than 3 people have answered, so no results are shown yet" in text
    assert response.context["results"]["suppressed"] is True
    assert_no_scores(response.context["results"]["areas"], "page.areas")
    assert_no_scores(response.context["results"]["groups"], "page.groups")
    assert response.context["results"]["overall"]["score"] is None
    # Every score would be 37.5 (shown as 38) had the two answers been counted.
    printable = page_text(alice_client.get(reverse("healthcheck-print-results", args=[too_few.pk])))
    for shown in (text, printable):
        assert "37.5" not in shown
        assert " 38 " not in shown
        assert "Comment 2" not in shown

    api = api_get(alice, f"/rounds/{too_few.pk}/results")
    assert api["suppressed"] is True
    assert api["overall"] == {"score": None, "band": None}
    assert_no_scores(api["areas"], "api.areas")
    assert_no_scores(api["groups"], "api.groups")
    assert api["gaps"] == []
    assert api["comments"] == []
    assert api["round"]["responded"] == 2

    sheets = xlsx_rows(alice_client, too_few)
    summary = dict(row[:2] for row in sheets["Summary"] if row and row[0])
    assert summary["Overall score"] is None
    assert summary["Scores hidden (too few answers, or still open)"] == "Yes"
    assert summary["Results wait for the round to close"] == "No"
    for title, rows in sheets.items():
        if title == "Summary":
            continue
        for row in rows[1:]:
            numbers = [v for v in row if isinstance(v, (int, float)) and not isinstance(v, bool)]
            assert all(v == 0 for v in numbers), (title, row)
    assert len(sheets["Comments"]) == 1


# Exports -----------------------------------------------------------------------------


def test_it_exports_the_results_as_a_workbook(alice_client: Client, answered: Round) -> None:
    sheets = xlsx_rows(alice_client, answered)

    assert {"Summary", "Principles", "Statements", "Groups", "Gaps", "Comments"} <= set(sheets)
    principles = {row[2]: row for row in sheets["Principles"][1:]}
    assert principles["Results"][3] == 75.0
    assert sheets["Gaps"][0][5:] == ("Difference", "p-value")
    # Four unanimous against five unanimous: 2 splits in 126 are as extreme, p = 0.0159.
    assert [(row[0], row[5], row[6]) for row in sheets["Gaps"][1:]] == [("Side", 75.0, 0.0159)]


def test_it_builds_a_pdf_for_whoever_asked(
    alice_client: Client,
    bob_client: Client,
    answered: Round,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("healthcheck-request-results-pdf", args=[answered.pk]))

    export = ResultsPdf.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "healthcheck-view-results-pdf", args=[answered.pk, export.pk]
    )
    export.refresh_from_db()
    assert export.error == ""
    assert export.ready
    download_url = reverse("healthcheck-download-results-pdf", args=[answered.pk, export.pk])
    download = alice_client.get(download_url)
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download.content.startswith(b"%PDF")
    # Bob sees the round, but the PDF Alice asked for is hers alone.
    assert bob_client.get(download_url).status_code == 404
    assert (
        bob_client.get(
            reverse("healthcheck-view-results-pdf", args=[answered.pk, export.pk])
        ).status_code
        == 404
    )


def test_it_answers_get_with_405_on_pdf_requests(alice_client: Client, answered: Round) -> None:
    response = alice_client.get(reverse("healthcheck-request-results-pdf", args=[answered.pk]))

    assert response.status_code == 405
    assert not ResultsPdf.objects.exists()


# To discuss --------------------------------------------------------------------------


def test_it_marks_a_principle_and_a_statement_to_discuss(
    alice_client: Client, alice: User, answered: Round
) -> None:
    trust = answered.framework.principles.get(title="Trust")
    statement = trust.statements.get(text=TRUST[1])

    principle_mark = alice_client.post(
        reverse("healthcheck-mark-discuss", args=[answered.pk]), {"principle": trust.pk}
    )
    statement_mark = alice_client.post(
        reverse("healthcheck-mark-discuss", args=[answered.pk]),
        {"principle": trust.pk, "statement": statement.pk, "note": "Ask the staff side"},
    )

    assert principle_mark.status_code == 302
    assert principle_mark["Location"].endswith(f"#p-{trust.key}")
    assert statement_mark.status_code == 302
    items = DiscussionItem.objects.filter(round=answered)
    assert {(i.principle_id, i.statement_id, i.marked_by_id) for i in items} == {
        (trust.pk, None, alice.pk),
        (trust.pk, statement.pk, alice.pk),
    }
    text = page_text(alice_client.get(reverse("healthcheck-view-round", args=[answered.pk])))
    assert "To discuss at the next meeting" in text
    assert "“We share information openly.” (Trust) – Ask the staff side" in text
    results = page_text(alice_client.get(reverse("healthcheck-view-results", args=[answered.pk])))
    assert "On the list to discuss" in results


def test_it_marks_each_item_once(alice_client: Client, answered: Round) -> None:
    trust = answered.framework.principles.get(title="Trust")
    url = reverse("healthcheck-mark-discuss", args=[answered.pk])

    alice_client.post(url, {"principle": trust.pk})
    alice_client.post(url, {"principle": trust.pk})

    assert DiscussionItem.objects.filter(round=answered).count() == 1


def test_it_refuses_to_mark_what_the_round_does_not_ask(
    alice_client: Client, answered: Round, partnership_a: Partnership
) -> None:
    trust = answered.framework.principles.get(title="Trust")
    elsewhere = answered.framework.statements.get(text=DELIVERY)
    other = outline_framework(partnership_a, title="Other", outline="# A\n## B\n- C.\n")
    url = reverse("healthcheck-mark-discuss", args=[answered.pk])

    wrong_parent = alice_client.post(url, {"principle": trust.pk, "statement": elsewhere.pk})
    other_framework = alice_client.post(url, {"principle": other.principles.get().pk})
    nonsense = alice_client.post(url, {"principle": "many"})

    for response in (wrong_parent, other_framework, nonsense):
        assert response.status_code == 302
        assert "That item is not part of this health check." in messages_of(response)
    assert not DiscussionItem.objects.exists()


def test_it_takes_an_item_off_the_list(
    alice_client: Client, bob_client: Client, bob: User, dave: User, answered: Round
) -> None:
    trust = answered.framework.principles.get(title="Trust")
    bob_client.post(
        reverse("healthcheck-mark-discuss", args=[answered.pk]), {"principle": trust.pk}
    )
    item = DiscussionItem.objects.get()
    assert item.marked_by == bob
    url = reverse("healthcheck-unmark-discuss", args=[answered.pk, item.pk])

    refused = Client()
    refused.force_login(dave)
    refusal = refused.post(url)
    assert DiscussionItem.objects.filter(pk=item.pk).exists()
    assert any("Only the person who added it" in m for m in messages_of(refusal))

    response = alice_client.post(url)

    assert response.status_code == 302
    assert not DiscussionItem.objects.filter(pk=item.pk).exists()
    text = page_text(alice_client.get(reverse("healthcheck-view-round", args=[answered.pk])))
    assert "Nothing yet" in text


# Change since last time ----------------------------------------------------------------


def test_it_flags_a_big_change_as_beyond_noise_but_not_a_tiny_one(
    alice_client: Client,
    alice: User,
    partnership_a: Partnership,
    framework: Framework,
    keys: dict[str, str],
    council: Organisation,
) -> None:
    now = timezone.now()
    before = make_round(
        partnership_a,
        framework,
        title="Last year",
        opens_at=now - dt.timedelta(days=365),
        closes_at=now - dt.timedelta(days=350),
    )
    after = make_round(partnership_a, framework, title="This year")
    for number in range(8):
        low = 2 if number % 2 else 3
        decisions = 3 if number % 2 else 4
        answer(before, add_member(partnership_a, council), answers_for(keys, low, decisions, 4))
        # Trust moves from 2-3 to 4-5; one person moves decisions from 3 to 4; delivery stays.
        nudged = 4 if number == 1 else decisions
        answer(after, add_member(partnership_a, council), answers_for(keys, low + 2, nudged, 4))
    close_and_seal(after)

    response = alice_client.get(reverse("healthcheck-view-results", args=[after.pk]))

    change = response.context["results"]["change"]
    assert change["previous_round"]["id"] == before.pk
    # In the framework's order, whatever order the database grouped them in.
    assert [c["title"] for c in change["principles"]] == ["Trust", "Decisions", "Results"]
    by_title = {c["title"]: c for c in change["principles"]}
    assert by_title["Trust"]["difference"] == 50.0
    assert by_title["Trust"]["beyond_noise"] is True
    assert by_title["Decisions"]["difference"] == pytest.approx(3.1, abs=0.05)
    assert by_title["Decisions"]["beyond_noise"] is False
    assert by_title["Results"]["beyond_noise"] is False
    text = page_text(response)
    assert "Change since Last year" in text
    assert re.search(r"Trust 3[78] \+50 Beyond noise", text)
    assert "Decisions 62 +3 Could be chance" in text

    first = alice_client.get(reverse("healthcheck-view-results", args=[before.pk]))
    assert first.context["results"]["change"] == {"previous_round": None, "principles": []}
    assert "Change since" not in page_text(first)


# Comments ----------------------------------------------------------------------------


def test_it_lists_comments_without_saying_who_wrote_them(
    alice_client: Client,
    alice: User,
    partnership_a: Partnership,
    framework: Framework,
    council: Organisation,
) -> None:
    round = make_round(partnership_a, framework)
    area = framework.areas.get(order=0).key
    writer = add_member(partnership_a, council, name="Zed Commenter")
    answer(round, writer, 4, {area: "The chair listens well."})
    for _ in range(3):
        answer(round, add_member(partnership_a, council), 4)
    close_and_seal(round)

    response = alice_client.get(reverse("healthcheck-view-results", args=[round.pk]))

    text = page_text(response)
    assert "Comments" in text
    assert "The chair listens well." in text
    assert "Zed Commenter" not in text
    api = api_get(alice, f"/rounds/{round.pk}/results")
    assert api["comments"] == [
        {"area": area, "title": "Working together", "comments": ["The chair listens well."]}
    ]


# Cost ------------------------------------------------------------------------------------


def test_it_costs_the_same_queries_for_5_or_40_answers(
    alice_client: Client,
    alice: User,
    partnership_a: Partnership,
    council: Organisation,
    union: Organisation,
) -> None:
    rounds = []
    for count, title in ((5, "Small"), (40, "Large")):
        framework = outline_framework(partnership_a, title=f"{title} framework")
        keys = statement_keys(framework)
        round = make_round(partnership_a, framework, title=title)
        area = framework.areas.get(order=0).key
        for number in range(count):
            answer(
                round,
                add_member(partnership_a, council, side="Management side"),
                answers_for(keys, 1 + number % 5, 1 + number % 3, None if number % 4 else 2),
                {area: f"Comment {number}"},
            )
        close_and_seal(round)
        rounds.append(round)
    DiscussionItem.objects.create(
        round=rounds[1], principle=rounds[1].framework.principles.all()[0], marked_by=alice
    )
    # The first request fills caches (content types, templates) that later ones reuse.
    alice_client.get(reverse("healthcheck-view-results", args=[rounds[0].pk]))

    counts = []
    for round in rounds:
        with CaptureQueriesContext(connection) as queries:
            response = alice_client.get(reverse("healthcheck-view-results", args=[round.pk]))
        assert response.status_code == 200
        assert response.context["results"]["suppressed"] is False
        counts.append(len(queries))

    assert counts[0] == counts[1], counts


def _listed_groups(client: Client, round: Round) -> dict[str, Any]:
    """Every group the page, the printable page, the API and the workbook list, and which are hidden."""
    page = client.get(reverse("healthcheck-view-results", args=[round.pk]))
    printable = page_text(client.get(reverse("healthcheck-print-results", args=[round.pk])))
    api = json.loads(client.get(f"/api/v1/rounds/{round.pk}/results").content)
    _, *rows = xlsx_rows(client, round)["Groups"]
    progress = client.get(reverse("healthcheck-view-round", args=[round.pk])).context["progress"]
    return {
        "round page": sorted(
            (b["label"], name, n is None) for b in progress["breakdowns"] for name, n in b["groups"]
        ),
        # Shown groups come largest first; their sizes are shown, so only the set must match.
        "page": sorted(
            (g["by"], g["name"], g["suppressed"]) for g in page.context["results"]["groups"]
        ),
        "api": sorted((g["by"], g["name"], g["suppressed"]) for g in api["groups"]),
        "xlsx": sorted((row[0], row[1], row[2] == "hidden") for row in rows),
        "print hidden": sorted(
            g["name"]
            for g in api["groups"]
            if g["suppressed"] and f"{g['name']} Hidden to protect anonymity" in printable
        ),
    }


def test_it_lists_the_same_groups_whether_or_not_a_lone_member_answered(
    alice_client: Client, partnership_a: Partnership, framework: Framework
) -> None:
    from partnerwell.healthcheck.models import Invitation, Response
    from tests.healthcheck.test_disclosure import build_issue_forum

    round = build_issue_forum(partnership_a, framework)
    answered = _listed_groups(alice_client, round)
    # The same round had the one police member not answered.
    Response.objects.filter(round=round, organisation="Constabulary").delete()
    Invitation.objects.filter(round=round, membership__organisation__name="Constabulary").update(
        answered=False
    )
    silent = _listed_groups(alice_client, round)

    assert ("organisation", "Constabulary", True) in answered["page"]
    assert ("sector", "Police and community safety", True) in answered["api"]
    assert "Constabulary" in answered["print hidden"]
    assert ("Sector", "Police and community safety", True) in answered["round page"]
    assert silent == answered
