"""The action log: filters, sorting, constant queries, my actions, and exports."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from partnerwell.core.models import Organisation, Partnership, User
from partnerwell.delivery.models import Action, ActionSource, ActionStatus, Priority, ProgressNote
from tests.delivery.test_actions import make_action

TODAY = timezone.localdate


def _days(n: int) -> dt.date:
    return TODAY() + dt.timedelta(days=n)


@pytest.fixture
def log(
    alice: User,
    bob: User,
    dave: User,
    carol: User,
    partnership_a: Partnership,
    partnership_b: Partnership,
    charity: Organisation,
) -> dict[str, Action]:
    """A small log on A, each action with a title that names what makes it stand out."""
    priority = Priority.objects.create(partnership=partnership_a, title="Healthy workplaces")
    actions = {
        "overdue": make_action(alice, partnership_a, title="Overdue-alice", due=_days(-5)),
        "soon": make_action(bob, partnership_a, title="Soon-bob", due=_days(3)),
        "later": make_action(
            dave,
            partnership_a,
            title="Later-dave",
            due=_days(20),
            status=ActionStatus.PROPOSED,
            source=ActionSource.PRIORITY,
            source_priority=priority,
        ),
        "done": make_action(
            dave,
            partnership_a,
            title="Done-dave",
            due=_days(-10),
            status="done",
            done_on=_days(-12),
        ),
        "dropped": make_action(
            bob,
            partnership_a,
            title="Dropped-bob",
            due=_days(-2),
            status="dropped",
            drop_reason="No longer needed.",
        ),
        "charity": make_action(
            bob, partnership_a, title="Charity-owned", due=_days(30), organisation=charity
        ),
    }
    make_action(carol, partnership_b, title="Elsewhere-carol", due=_days(1))
    return actions


def _titles(client: Client, partnership: Partnership, query: str = "") -> list[str]:
    response = client.get(f"/partnerships/{partnership.pk}/actions/?{query}")
    assert response.status_code == 200
    content = response.content.decode()
    found = [
        (content.index(t), t)
        for t in (
            "Overdue-alice",
            "Soon-bob",
            "Later-dave",
            "Done-dave",
            "Dropped-bob",
            "Charity-owned",
            "Elsewhere-carol",
        )
        if t in content
    ]
    return [t for _, t in sorted(found)]


def test_it_lists_the_partnerships_actions_by_due_date(
    bob_client: Client, partnership_a: Partnership, log: dict[str, Action]
) -> None:
    assert _titles(bob_client, partnership_a) == [
        "Done-dave",
        "Overdue-alice",
        "Dropped-bob",
        "Soon-bob",
        "Later-dave",
        "Charity-owned",
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("who=mine", ["Dropped-bob", "Soon-bob", "Charity-owned"]),
        ("who=my_organisation", ["Overdue-alice", "Dropped-bob", "Soon-bob"]),
        ("due=overdue", ["Overdue-alice"]),
        ("due=soon", ["Soon-bob"]),
        ("status=open", ["Overdue-alice", "Soon-bob", "Later-dave", "Charity-owned"]),
        ("status=done", ["Done-dave"]),
        ("status=proposed", ["Later-dave"]),
        ("source=priority", ["Later-dave"]),
        (
            "source=none",
            ["Done-dave", "Overdue-alice", "Dropped-bob", "Soon-bob", "Charity-owned"],
        ),
        ("who=mine&status=open", ["Soon-bob", "Charity-owned"]),
    ],
)
def test_it_filters_the_log(
    bob_client: Client,
    partnership_a: Partnership,
    log: dict[str, Action],
    query: str,
    expected: list[str],
) -> None:
    assert _titles(bob_client, partnership_a, query) == expected


def test_it_filters_by_organisation(
    bob_client: Client, partnership_a: Partnership, log: dict[str, Action], charity: Organisation
) -> None:
    assert _titles(bob_client, partnership_a, f"organisation={charity.pk}") == ["Charity-owned"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (
            "owner",
            [
                "Overdue-alice",
                "Dropped-bob",
                "Soon-bob",
                "Charity-owned",
                "Done-dave",
                "Later-dave",
            ],
        ),
        (
            "status",
            [
                "Later-dave",
                "Overdue-alice",
                "Soon-bob",
                "Charity-owned",
                "Done-dave",
                "Dropped-bob",
            ],
        ),
        (
            "organisation",
            [
                "Charity-owned",
                "Overdue-alice",
                "Dropped-bob",
                "Soon-bob",
                "Done-dave",
                "Later-dave",
            ],
        ),
    ],
)
def test_it_sorts_the_log(
    bob_client: Client,
    partnership_a: Partnership,
    log: dict[str, Action],
    sort: str,
    expected: list[str],
) -> None:
    assert _titles(bob_client, partnership_a, f"sort={sort}") == expected


def test_it_says_which_filter_is_wrong_and_shows_everything_else(
    bob_client: Client, partnership_a: Partnership, log: dict[str, Action]
) -> None:
    response = bob_client.get(f"/partnerships/{partnership_a.pk}/actions/?status=bogus&due=soon")
    assert response.status_code == 200
    assert b"Choose a status from the list." in response.content
    assert _titles(bob_client, partnership_a, "status=bogus&due=soon") == ["Soon-bob"]


def _log_queries(client: Client, partnership: Partnership, query: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/partnerships/{partnership.pk}/actions/?{query}")
    assert response.status_code == 200
    return len(captured.captured_queries)


def _add_actions(owner: User, partnership: Partnership, count: int) -> None:
    for i in range(count):
        action = make_action(
            owner,
            partnership,
            title=f"Bulk {i}",
            due=_days(i - 10),
            status=[s.value for s in ActionStatus][i % 5],
            drop_reason="x",
        )
        ProgressNote.objects.create(action=action, text=f"Note {i}")


@pytest.mark.parametrize("query", ["", "who=my_organisation&sort=owner", "due=overdue&sort=status"])
def test_it_costs_the_same_queries_for_5_or_50_actions(
    bob_client: Client, bob: User, partnership_a: Partnership, query: str
) -> None:
    _add_actions(bob, partnership_a, 5)
    few = _log_queries(bob_client, partnership_a, query)
    _add_actions(bob, partnership_a, 45)
    many = _log_queries(bob_client, partnership_a, query)
    assert few == many
    assert many <= 12


def test_it_lists_my_actions_in_every_partnership(
    bob_client: Client,
    bob: User,
    log: dict[str, Action],
    partnership_b: Partnership,
    charity: Organisation,
) -> None:
    from partnerwell.core.models import Membership, Role

    Membership.objects.create(
        partnership=partnership_b, person=bob, organisation=charity, role=Role.MEMBER
    )
    make_action(bob, partnership_b, title="Beta-bob", due=_days(2))
    content = bob_client.get("/actions/mine/").content.decode()
    # Open by default: the dropped one waits behind a filter.
    assert "Soon-bob" in content and "Charity-owned" in content and "Beta-bob" in content
    assert "Dropped-bob" not in content
    assert "Overdue-alice" not in content and "Elsewhere-carol" not in content
    every = bob_client.get("/actions/mine/?status=").content.decode()
    assert "Dropped-bob" in every


def test_it_exports_the_filtered_log_as_csv(
    bob_client: Client, partnership_a: Partnership, log: dict[str, Action]
) -> None:
    response = bob_client.get(f"/partnerships/{partnership_a.pk}/actions/export.csv?status=open")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["id", "partnership", "title"]
    titles = [r[2] for r in rows[1:]]
    assert titles == ["Overdue-alice", "Soon-bob", "Later-dave", "Charity-owned"]
    overdue = rows[1]
    assert overdue[rows[0].index("overdue")] == "yes"
    assert rows[3][rows[0].index("came from")] == "Priority: Healthy workplaces"


def test_it_stops_formulas_in_exports(
    alice: User, alice_client: Client, partnership_a: Partnership
) -> None:
    make_action(alice, partnership_a, title='=HYPERLINK("http://evil")', detail="+1", due=_days(1))
    make_action(alice, partnership_a, title="@SUM(A1)", detail="-2", due=_days(2))
    content = alice_client.get(f"/partnerships/{partnership_a.pk}/actions/export.csv").content
    rows = list(csv.reader(io.StringIO(content.decode())))
    assert [r[2] for r in rows[1:]] == ['\'=HYPERLINK("http://evil")', "'@SUM(A1)"]
    assert [r[3] for r in rows[1:]] == ["'+1", "'-2"]


def test_it_exports_the_log_as_xlsx(
    alice: User, alice_client: Client, partnership_a: Partnership, log: dict[str, Action]
) -> None:
    make_action(alice, partnership_a, title="=1+1", due=_days(100))
    response = alice_client.get(f"/partnerships/{partnership_a.pk}/actions/export.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][2] == "title"
    assert len(rows) == 1 + 7
    assert rows[-1][2] == "'=1+1"
    assert "Done-dave" in [r[2] for r in rows]


def test_it_answers_odd_addresses_without_a_server_error(
    bob_client: Client, partnership_a: Partnership, log: dict[str, Action]
) -> None:
    base = f"/partnerships/{partnership_a.pk}/actions/"
    for query in ("organisation=99999999999999999999", "page=99999", "page=abc", "sort=%00"):
        assert bob_client.get(f"{base}?{query}").status_code == 200, query
    assert bob_client.get("/actions/99999999999999999999/").status_code == 404


def test_it_keeps_my_actions_open_ones_on_later_pages(
    bob_client: Client, bob: User, partnership_a: Partnership
) -> None:
    make_action(bob, partnership_a, title="Finished-bob", status="done", done_on=_days(-1))
    assert "Finished-bob" not in bob_client.get("/actions/mine/?page=1").content.decode()
