"""The risk register: ratings, reviews, the heat map, escalation and who may do what."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from partnerwell.core.models import Membership, Organisation, Partnership, User
from partnerwell.delivery import risks as services
from partnerwell.delivery.models import Risk, RiskStatus

TODAY = timezone.localdate


def make_risk(partnership: Partnership, **fields: Any) -> Risk:
    """A risk straight in the database; owned by the partnership's first member unless told."""
    owner = fields.pop("owner", None)
    if owner is None:
        owner = Membership.objects.filter(partnership=partnership).order_by("pk").first()
    values: dict[str, Any] = {
        "title": "Partners drift apart",
        "likelihood": 3,
        "impact": 3,
        "target_likelihood": 2,
        "target_impact": 2,
        "review_on": TODAY() + dt.timedelta(days=30),
        "owner": owner,
        "organisation": owner.organisation if owner else None,
        **fields,
    }
    return Risk.objects.create(partnership=partnership, **values)


def member(user: User) -> Membership:
    return Membership.objects.get(person=user)


def risk_form(owner: Membership, **changes: Any) -> dict[str, Any]:
    data = {
        "title": "Funding falls through",
        "description": "",
        "cause": "Budget cuts",
        "effect": "Projects stop",
        "category": "resources",
        "owner": owner.pk,
        "organisation": "",
        "likelihood": "4",
        "impact": "5",
        "controls": "Three-year agreement",
        "target_likelihood": "2",
        "target_impact": "3",
        "review_on": (TODAY() + dt.timedelta(days=60)).isoformat(),
    }
    data.update(changes)
    return data


# Ratings and overdue reviews ---------------------------------------------------------


def test_it_rates_a_risk_as_likelihood_times_impact(
    partnership_a: Partnership, alice: User
) -> None:
    risk = make_risk(partnership_a, likelihood=4, impact=5, target_likelihood=2, target_impact=3)
    assert risk.rating == 20
    assert risk.target_rating == 6
    assert services.rating_band(risk.rating).key == "very_high"
    assert services.rating_band(risk.target_rating).key == "medium"


@pytest.mark.parametrize(
    ("rating", "band"),
    [(1, "low"), (4, "low"), (5, "medium"), (9, "medium"), (10, "high"), (12, "high"),
     (15, "very_high"), (25, "very_high")],
)  # fmt: skip
def test_it_bands_ratings_at_their_edges(rating: int, band: str) -> None:
    assert services.rating_band(rating).key == band


def test_it_flags_an_overdue_review_only_after_the_review_date(
    partnership_a: Partnership, alice: User
) -> None:
    today = TODAY()
    due_today = make_risk(partnership_a, title="Due today", review_on=today)
    due_yesterday = make_risk(
        partnership_a, title="Due yesterday", review_on=today - dt.timedelta(days=1)
    )
    closed = make_risk(
        partnership_a,
        title="Closed",
        review_on=today - dt.timedelta(days=100),
        status=RiskStatus.CLOSED,
    )
    assert due_today.review_overdue is False
    assert due_yesterday.review_overdue is True
    assert closed.review_overdue is False
    counts = services.register_counts(partnership_a, today)
    assert counts["overdue"] == 1
    assert counts["open"] == 2
    assert counts["closed"] == 1


def test_it_counts_risks_above_their_target_in_the_database(
    partnership_a: Partnership, alice: User
) -> None:
    make_risk(
        partnership_a, title="Above", likelihood=3, impact=3, target_likelihood=2, target_impact=4
    )
    make_risk(
        partnership_a,
        title="On target",
        likelihood=2,
        impact=4,
        target_likelihood=4,
        target_impact=2,
    )
    make_risk(
        partnership_a, title="Below", likelihood=1, impact=2, target_likelihood=2, target_impact=2
    )
    counts = services.register_counts(partnership_a, TODAY())
    # 9 > 8 is above; 8 = 8 is not; 2 < 4 is not.
    assert counts["above_target"] == 1


# The register page and heat map --------------------------------------------------------


def test_it_counts_open_risks_per_heat_map_cell(partnership_a: Partnership, alice: User) -> None:
    make_risk(partnership_a, title="A", likelihood=4, impact=5)
    make_risk(partnership_a, title="B", likelihood=4, impact=5)
    make_risk(partnership_a, title="C", likelihood=1, impact=2)
    make_risk(partnership_a, title="Closed", likelihood=4, impact=5, status=RiskStatus.CLOSED)
    grid = services.heat_map(partnership_a)
    assert [row["impact"] for row in grid] == [5, 4, 3, 2, 1]
    cells = {(c["likelihood"], c["impact"]): c for row in grid for c in row["cells"]}
    assert len(cells) == 25
    assert cells[(4, 5)]["count"] == 2
    assert cells[(1, 2)]["count"] == 1
    assert sum(c["count"] for c in cells.values()) == 3
    assert cells[(4, 5)]["band"].label == "Very high"


def test_it_draws_the_heat_map_without_inline_styles(
    partnership_a: Partnership, alice: User
) -> None:
    make_risk(partnership_a, likelihood=4, impact=5)
    svg = str(services.heat_map_svg(services.heat_map(partnership_a)))
    assert "style=" not in svg
    assert "<style" not in svg
    assert 'role="img"' in svg
    assert "Heat map of 1 risk by likelihood and impact" in svg
    assert "likelihood 4, impact 5 (rating 20, very high): 1 risk" in svg
    # Every cell says its band in words, not only in colour.
    assert svg.count(">Very high</text>") == 6  # the cells rated 15 and up


def test_it_shows_the_register_to_a_member(
    bob_client: Client, partnership_a: Partnership, alice: User, bob: User
) -> None:
    make_risk(partnership_a, title="Funding falls through", likelihood=4, impact=5)
    make_risk(partnership_a, title="Old worry", status=RiskStatus.CLOSED)
    response = bob_client.get(f"/partnerships/{partnership_a.pk}/risks/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Funding falls through" in page
    assert "Old worry" not in page
    assert "<svg" in page
    assert "style=" not in page
    # Plain members cannot add risks, so the button is not offered.
    assert "Add a risk" not in page
    closed = bob_client.get(f"/partnerships/{partnership_a.pk}/risks/?status=closed")
    assert "Old worry" in closed.content.decode()


def test_it_ignores_an_unknown_register_filter(
    bob_client: Client, partnership_a: Partnership, alice: User
) -> None:
    make_risk(partnership_a, title="Funding falls through")
    response = bob_client.get(f"/partnerships/{partnership_a.pk}/risks/?status=<script>")
    assert response.status_code == 200
    assert "Funding falls through" in response.content.decode()


def test_it_shows_an_overdue_review_on_the_risk_page(
    bob_client: Client, partnership_a: Partnership, alice: User
) -> None:
    risk = make_risk(partnership_a, review_on=TODAY() - dt.timedelta(days=3))
    page = bob_client.get(f"/risks/{risk.pk}/").content.decode()
    assert "This risk was due for review on" in page


# Creating and changing risks --------------------------------------------------------


def test_it_lets_a_manager_add_a_risk(
    alice_client: Client, alice: User, bob: User, partnership_a: Partnership
) -> None:
    assert alice_client.get(f"/partnerships/{partnership_a.pk}/risks/new/").status_code == 200
    response = alice_client.post(
        f"/partnerships/{partnership_a.pk}/risks/new/", risk_form(member(bob))
    )
    risk = Risk.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/risks/{risk.pk}/"
    assert (risk.rating, risk.target_rating) == (20, 6)
    assert risk.owner == member(bob)
    # Left empty, the owning organisation is the owner's.
    assert risk.organisation == member(bob).organisation
    assert risk.status == RiskStatus.OPEN


def test_it_refuses_a_risk_from_a_plain_member(
    bob_client: Client, bob: User, partnership_a: Partnership
) -> None:
    url = f"/partnerships/{partnership_a.pk}/risks/new/"
    assert bob_client.get(url).status_code == 403
    assert bob_client.post(url, risk_form(member(bob))).status_code == 403
    assert not Risk.objects.exists()


def test_it_refuses_an_owner_from_another_partnership(
    alice_client: Client, alice: User, carol: User, partnership_a: Partnership
) -> None:
    response = alice_client.post(
        f"/partnerships/{partnership_a.pk}/risks/new/", risk_form(member(carol))
    )
    assert response.status_code == 200
    assert "Choose a current member of this partnership as the risk" in response.content.decode()
    assert not Risk.objects.exists()


def test_it_says_what_is_missing_from_a_risk(
    alice_client: Client, alice: User, partnership_a: Partnership
) -> None:
    response = alice_client.post(
        f"/partnerships/{partnership_a.pk}/risks/new/",
        risk_form(member(alice), title="", likelihood="", review_on="not a date"),
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in page
    assert "Name the risk." in page
    assert "Choose the likelihood, from 1 to 5." in page
    assert "Enter the next review date as a real date" in page


def test_it_lets_a_manager_change_and_close_a_risk(
    alice_client: Client, alice: User, partnership_a: Partnership
) -> None:
    risk = make_risk(partnership_a, escalate=True)
    response = alice_client.post(
        f"/risks/{risk.pk}/edit/",
        risk_form(member(alice), title="Renamed", status="closed"),
    )
    assert response.status_code == 302
    risk.refresh_from_db()
    assert risk.title == "Renamed"
    assert risk.status == RiskStatus.CLOSED
    # A closed risk has nothing to bring to a meeting.
    assert risk.escalate is False


def test_it_refuses_changes_from_a_plain_member(
    bob_client: Client, bob: User, alice: User, partnership_a: Partnership
) -> None:
    risk = make_risk(partnership_a, owner=member(bob))
    assert bob_client.get(f"/risks/{risk.pk}/edit/").status_code == 403
    response = bob_client.post(f"/risks/{risk.pk}/edit/", risk_form(member(bob), title="Mine"))
    assert response.status_code == 403
    risk.refresh_from_db()
    assert risk.title == "Partners drift apart"


# Reviews ---------------------------------------------------------------------------


def _review(client: Client, risk: Risk, **changes: Any):
    data = {
        "reviewed_on": TODAY().isoformat(),
        "next_review_on": (TODAY() + dt.timedelta(days=90)).isoformat(),
        "likelihood": "2",
        "impact": "3",
        "controls": "New controls",
    }
    data.update(changes)
    return client.post(f"/risks/{risk.pk}/review/", data)


def test_it_lets_the_owner_record_a_review(
    bob_client: Client, bob: User, alice: User, partnership_a: Partnership
) -> None:
    risk = make_risk(partnership_a, owner=member(bob), review_on=TODAY() - dt.timedelta(days=5))
    assert bob_client.get(f"/risks/{risk.pk}/review/").status_code == 200
    response = _review(bob_client, risk)
    assert response.status_code == 302
    risk.refresh_from_db()
    assert risk.last_reviewed_on == TODAY()
    assert risk.review_on == TODAY() + dt.timedelta(days=90)
    assert (risk.likelihood, risk.impact, risk.rating) == (2, 3, 6)
    assert risk.controls == "New controls"
    assert risk.review_overdue is False


def test_it_lets_a_manager_review_a_risk_they_do_not_own(
    alice_client: Client, bob: User, alice: User, partnership_a: Partnership
) -> None:
    risk = make_risk(partnership_a, owner=member(bob))
    assert _review(alice_client, risk).status_code == 302
    risk.refresh_from_db()
    assert risk.last_reviewed_on == TODAY()


def test_it_refuses_a_review_from_a_member_who_does_not_own_the_risk(
    bob_client: Client, bob: User, dave: User, partnership_a: Partnership
) -> None:
    risk = make_risk(partnership_a, owner=member(dave))
    assert bob_client.get(f"/risks/{risk.pk}/review/").status_code == 403
    assert _review(bob_client, risk).status_code == 403
    risk.refresh_from_db()
    assert risk.last_reviewed_on is None
    assert (risk.likelihood, risk.impact) == (3, 3)


def test_it_needs_the_next_review_after_this_one(
    alice_client: Client, alice: User, partnership_a: Partnership
) -> None:
    risk = make_risk(partnership_a)
    response = _review(alice_client, risk, next_review_on=TODAY().isoformat())
    assert response.status_code == 200
    assert "The next review must come after this one" in response.content.decode()
    risk.refresh_from_db()
    assert risk.last_reviewed_on is None


def test_it_refuses_a_review_dated_in_the_future(
    alice_client: Client, alice: User, partnership_a: Partnership
) -> None:
    risk = make_risk(partnership_a)
    tomorrow = (TODAY() + dt.timedelta(days=1)).isoformat()
    response = _review(alice_client, risk, reviewed_on=tomorrow)
    assert "is in the future" in response.content.decode()
    risk.refresh_from_db()
    assert risk.last_reviewed_on is None


# Escalation ------------------------------------------------------------------------


def test_it_lets_a_manager_mark_a_risk_for_the_next_meeting(
    alice_client: Client, alice: User, partnership_a: Partnership
) -> None:
    risk = make_risk(partnership_a)
    response = alice_client.post(f"/risks/{risk.pk}/escalate/", {"escalate": "yes"})
    assert response.status_code == 302
    risk.refresh_from_db()
    assert risk.escalate is True
    assert list(Risk.objects.filter(escalate=True)) == [risk]
    alice_client.post(f"/risks/{risk.pk}/escalate/", {"escalate": "no"})
    risk.refresh_from_db()
    assert risk.escalate is False


def test_it_lets_the_owner_mark_their_risk_for_the_next_meeting(
    bob_client: Client, bob: User, alice: User, partnership_a: Partnership
) -> None:
    risk = make_risk(partnership_a, owner=member(bob))
    assert bob_client.post(f"/risks/{risk.pk}/escalate/", {"escalate": "yes"}).status_code == 302
    risk.refresh_from_db()
    assert risk.escalate is True


def test_it_escalates_only_by_post(
    alice_client: Client, alice: User, partnership_a: Partnership
) -> None:
    risk = make_risk(partnership_a)
    assert alice_client.get(f"/risks/{risk.pk}/escalate/").status_code == 405
    risk.refresh_from_db()
    assert risk.escalate is False


def test_it_refuses_escalation_by_a_member_who_does_not_own_the_risk(
    bob_client: Client, alice: User, bob: User, partnership_a: Partnership
) -> None:
    risk = make_risk(partnership_a, owner=member(alice))
    assert bob_client.post(f"/risks/{risk.pk}/escalate/", {"escalate": "yes"}).status_code == 403
    risk.refresh_from_db()
    assert risk.escalate is False


def test_it_refuses_to_escalate_a_closed_risk(
    alice_client: Client, alice: User, partnership_a: Partnership
) -> None:
    risk = make_risk(partnership_a, status=RiskStatus.CLOSED)
    response = alice_client.post(f"/risks/{risk.pk}/escalate/", {"escalate": "yes"}, follow=True)
    assert "Reopen it before bringing it to a meeting" in response.content.decode()
    risk.refresh_from_db()
    assert risk.escalate is False


def test_it_stops_a_former_owner_from_reviewing(
    bob_client: Client, bob: User, alice: User, partnership_a: Partnership, council: Organisation
) -> None:
    risk = make_risk(partnership_a, owner=member(bob))
    Membership.objects.filter(person=bob).update(end_date=TODAY())
    # No longer a member, bob cannot even see the risk.
    assert _review(bob_client, risk).status_code == 404


# Carol, of another partnership, gets 404 everywhere ---------------------------------


def _a_urls(partnership: Partnership, risk: Risk, issue_id: int, win_id: int) -> list[str]:
    p = partnership.pk
    return [
        f"/partnerships/{p}/risks/",
        f"/partnerships/{p}/risks/new/",
        f"/partnerships/{p}/risks/export.csv",
        f"/partnerships/{p}/risks/export.xlsx",
        f"/risks/{risk.pk}/",
        f"/risks/{risk.pk}/edit/",
        f"/risks/{risk.pk}/review/",
        f"/risks/{risk.pk}/escalate/",
        f"/partnerships/{p}/issues/",
        f"/partnerships/{p}/issues/new/",
        f"/issues/{issue_id}/",
        f"/issues/{issue_id}/edit/",
        f"/issues/{issue_id}/resolve/",
        f"/issues/{issue_id}/reopen/",
        f"/partnerships/{p}/wins/",
        f"/partnerships/{p}/wins/new/",
        f"/wins/{win_id}/edit/",
    ]


def test_it_hides_every_page_of_partnership_a_from_carol(
    carol_client: Client, alice: User, carol: User, partnership_a: Partnership
) -> None:
    from django.urls import get_resolver

    from partnerwell.delivery.models import Issue, Win

    risk = make_risk(partnership_a, title="Alpha secret risk")
    issue = Issue.objects.create(partnership=partnership_a, title="Alpha secret issue")
    win = Win.objects.create(partnership=partnership_a, title="Alpha secret win")
    urls = _a_urls(partnership_a, risk, issue.pk, win.pk)
    # The list covers every page of this area, so a new page is not left out.
    names = {
        n for n in get_resolver().reverse_dict if isinstance(n, str) and re.match(
            r"delivery-.*-(risk|risks|issue|issues|win|wins)(-csv|-xlsx)?$", n
        )
    }  # fmt: skip
    assert len(names) == len(urls)
    for url in urls:
        for method in ("get", "post"):
            response = getattr(carol_client, method)(url, {"escalate": "yes", "title": "x"})
            if method == "get" and url.endswith(("/escalate/", "/reopen/")):
                assert response.status_code == 405, url
                continue
            assert response.status_code == 404, (method, url)
            assert "Alpha" not in response.content.decode()
    risk.refresh_from_db()
    assert (risk.title, risk.escalate) == ("Alpha secret risk", False)
    assert Risk.objects.count() == 1
