"""The attendance record over recent meetings: rates, warnings, decision-makers, exports."""

from __future__ import annotations

import csv
import io
import re
from fractions import Fraction

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from partnerwell.core.models import Membership, Organisation, Partnership, Role, User
from partnerwell.meetings import attendance
from partnerwell.meetings.models import Attendance, Meeting, MeetingStatus
from tests.conftest import _join, _person
from tests.meetings.conftest import make_meeting

pytestmark = pytest.mark.django_db

P, A, D, X = "present", "absent", "deputy", "apologies"


def held_meetings(
    partnership: Partnership, by: User, count: int, *, first: int = 1
) -> list[Meeting]:
    """`count` held meetings a week apart, most recent first, the first `first` weeks ago."""
    meetings = [
        make_meeting(
            partnership, by, days=-7 * (first + k), status=MeetingStatus.HELD, title=f"Forum {k}"
        )
        for k in range(count)
    ]
    return meetings


def record(meetings: list[Meeting], membership: Membership, presences: str) -> None:
    """One register row per meeting (most recent first); letters P A D X as above."""
    letters = {"P": P, "A": A, "D": D, "X": X}
    Attendance.objects.bulk_create(
        Attendance(
            meeting=m,
            membership=membership,
            presence=letters[c],
            deputy_name="Dee Deputy" if c == "D" else "",
        )
        for m, c in zip(meetings, presences, strict=True)
    )


def member(user: User, partnership: Partnership) -> Membership:
    return Membership.objects.get(person=user, partnership=partnership)


@pytest.fixture
def ten_meetings(partnership_a: Partnership, alice: User, bob: User, dave: User) -> list[Meeting]:
    """Ten held meetings; with a window of 5, the first five are "now", the rest "before"."""
    meetings = held_meetings(partnership_a, alice, 10)
    record(meetings, member(alice, partnership_a), "PPPPP" + "PPPPP")
    # Bob: 60% now (not below the line) but down from 100%: a fall of 40 points.
    record(meetings, member(bob, partnership_a), "PPPXA" + "PPPPP")
    # Dave: 40% now (one by deputy), 60% before.
    record(meetings, member(dave, partnership_a), "PDXXA" + "PPPAA")
    Meeting.objects.filter(pk=meetings[0].pk).update(decision_makers_present=2, quorum_met=True)
    return meetings


# The warning rules at their boundaries ---------------------------------------------


def test_it_warns_on_a_fall_of_exactly_fifteen_points() -> None:
    warnings = attendance.attendance_warnings(Fraction(70), Fraction(85))
    assert warnings == ["Attendance fell by 15 points, from 85% to 70%."]


def test_it_does_not_warn_on_a_fall_of_fourteen_points() -> None:
    assert attendance.attendance_warnings(Fraction(71), Fraction(85)) == []


def test_it_does_not_warn_at_sixty_percent_but_does_at_fifty_nine() -> None:
    assert attendance.attendance_warnings(Fraction(60), None) == []
    assert attendance.attendance_warnings(Fraction(59), None) == ["Attendance is below 60%."]


def test_it_compares_exact_rates_not_rounded_ones() -> None:
    # 2 of 3 is 66.67%; a fall from 81.67% is 15 points exactly and warns.
    now = attendance.rate(2, 3)
    assert now == Fraction(200, 3)
    assert attendance.attendance_warnings(now, now + 15) != []
    assert attendance.attendance_warnings(now, now + Fraction(29, 2)) == []
    assert attendance.rate(0, 0) is None


# The record -------------------------------------------------------------------------


def test_it_counts_by_person_and_by_organisation(
    partnership_a: Partnership, ten_meetings: list[Meeting]
) -> None:
    result = attendance.attendance_record(partnership_a, window=5)
    people = {row["name"]: row for row in result["people"]}
    bob = people["Bob Member"]
    assert (bob["expected"], bob["attended"], bob["apologies"], bob["absent"]) == (5, 3, 1, 1)
    assert (bob["rate"], bob["rate_before"]) == (60, 100)
    assert bob["warnings"] == ["Attendance fell by 40 points, from 100% to 60%."]
    dave = people["Dave Staffside"]
    # A deputy standing in counts as attended.
    assert (dave["attended"], dave["rate"], dave["rate_before"]) == (2, 40, 60)
    assert dave["warnings"] == [
        "Attendance is below 60%.",
        "Attendance fell by 20 points, from 60% to 40%.",
    ]
    assert people["Alice Manager"]["warnings"] == []
    organisations = {row["name"]: row for row in result["organisations"]}
    council = organisations["Testshire Council"]
    assert (council["expected"], council["attended"], council["rate"]) == (10, 8, 80)
    assert council["warnings"] == ["Attendance fell by 20 points, from 100% to 80%."]
    assert organisations["Testshire UNISON"]["rate"] == 40
    assert result["warnings"] == 2
    assert [m.pk for m in result["meetings"]] == [m.pk for m in ten_meetings[:5]]


def test_it_counts_only_held_meetings(
    partnership_a: Partnership, alice: User, ten_meetings: list[Meeting]
) -> None:
    not_held = make_meeting(partnership_a, alice, days=-1, status=MeetingStatus.PAPERS_PUBLISHED)
    cancelled = make_meeting(partnership_a, alice, days=-2, status=MeetingStatus.HELD)
    Meeting.objects.filter(pk=cancelled.pk).update(
        cancel_reason="x", cancelled_at=cancelled.starts_at
    )
    for m in (not_held, cancelled):
        Attendance.objects.create(meeting=m, membership=member(alice, partnership_a), presence=A)
    result = attendance.attendance_record(partnership_a, window=5)
    alice_row = next(r for r in result["people"] if r["name"] == "Alice Manager")
    assert (alice_row["expected"], alice_row["absent"]) == (5, 0)


def test_it_uses_the_partnerships_window_unless_told(
    alice_client: Client, partnership_a: Partnership, ten_meetings: list[Meeting]
) -> None:
    url = reverse("meetings-view-attendance-record", args=[partnership_a.pk])
    default = alice_client.get(url)
    assert default.context["record"]["window"] == 6
    chosen = alice_client.get(url, {"n": "3"})
    assert chosen.context["record"]["window"] == 3
    page = chosen.content.decode()
    assert "below 60%, or has fallen by 15 percentage points or more" in page
    assert "Attendance fell by 40 points, from 100% to 60%." not in page
    bad = alice_client.get(url, {"n": "1"})
    assert "Look back over at least 2 meetings." in bad.content.decode()
    assert bad.context["record"]["window"] == 6


def test_it_shows_decision_makers_at_each_meeting(
    bob_client: Client, partnership_a: Partnership, ten_meetings: list[Meeting]
) -> None:
    url = reverse("meetings-view-attendance-record", args=[partnership_a.pk])
    page = bob_client.get(url, {"n": "5"}).content.decode()
    assert "Attendance fell by 40 points, from 100% to 60%." in page
    # Only the decision-makers table: the other tables have numeric cells too.
    table = page.split("Decision-makers at each meeting</h2>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr class="govuk-table__row">(.*?)</tr>', table, re.S)
    cells: dict[str, list[str]] = {}
    for row in rows[1:]:  # the first row is the heading
        title = re.search(r'<a class="govuk-link" href="[^"]*">([^<]*)</a>', row)
        assert title is not None, row
        cells[title.group(1)] = re.findall(r'<td class="govuk-table__cell[^"]*">([^<]*)</td>', row)
    assert list(cells) == [m.title for m in ten_meetings[:5]]
    assert cells[ten_meetings[0].title] == ["2", "Quorate"]
    for m in ten_meetings[1:5]:
        assert cells[m.title] == ["Register not taken", "No rule or not recorded"]


def test_it_costs_the_same_queries_for_3_or_12_meetings(
    alice_client: Client,
    partnership_a: Partnership,
    alice: User,
    bob: User,
    dave: User,
) -> None:
    url = reverse("meetings-view-attendance-record", args=[partnership_a.pk])

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert alice_client.get(url, {"n": "6"}).status_code == 200
        return len(ctx.captured_queries)

    people = [member(u, partnership_a) for u in (alice, bob, dave)]
    three = held_meetings(partnership_a, alice, 3)
    for m in people:
        record(three, m, "PAX")
    small = queries()
    twelve_more = held_meetings(partnership_a, alice, 9, first=4)
    for m in people:
        record(twelve_more, m, "PPPDAXPPP")
    assert Meeting.objects.filter(partnership=partnership_a).count() == 12
    assert queries() == small
    assert small <= 10


# Exports ----------------------------------------------------------------------------


def test_it_exports_the_record_as_csv(
    alice_client: Client, partnership_a: Partnership, ten_meetings: list[Meeting]
) -> None:
    url = reverse("meetings-export-attendance", args=[partnership_a.pk])
    response = alice_client.get(url, {"format": "csv", "n": "5"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="Alpha Forum attendance.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == attendance.EXPORT_HEADER
    bob = next(r for r in rows if r[1] == "Bob Member")
    assert bob == [
        "person",
        "Bob Member",
        "Testshire Council",
        "5",
        "3",
        "1",
        "1",
        "60",
        "100",
        "Attendance fell by 40 points, from 100% to 60%.",
    ]
    union = next(r for r in rows if r[0] == "organisation" and r[1] == "Testshire UNISON")
    assert union[7] == "40"


def test_it_exports_the_record_as_xlsx_with_formulas_defused(
    alice_client: Client,
    partnership_a: Partnership,
    council: Organisation,
    ten_meetings: list[Meeting],
) -> None:
    sneaky = _person("sneaky@example.org", '=HYPERLINK("http://evil.example","click")')
    membership = _join(partnership_a, sneaky, council, Role.MEMBER, "Management side")
    record(ten_meetings[:1], membership, "P")
    url = reverse("meetings-export-attendance", args=[partnership_a.pk])
    response = alice_client.get(url, {"format": "xlsx", "n": "5"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == attendance.EXPORT_HEADER
    names = [row[1] for row in values[1:]]
    assert '\'=HYPERLINK("http://evil.example","click")' in names
    assert not any(str(n).startswith("=") for n in names)


def test_it_refuses_an_unknown_export_format(
    alice_client: Client, partnership_a: Partnership
) -> None:
    url = reverse("meetings-export-attendance", args=[partnership_a.pk])
    response = alice_client.get(url, {"format": "pdf"}, follow=True)
    assert "Choose CSV or Excel for the download." in response.content.decode()


def test_it_hides_the_record_from_other_partnerships(
    carol_client: Client, partnership_a: Partnership, ten_meetings: list[Meeting]
) -> None:
    record_url = reverse("meetings-view-attendance-record", args=[partnership_a.pk])
    export_url = reverse("meetings-export-attendance", args=[partnership_a.pk])
    assert carol_client.get(record_url).status_code == 404
    assert carol_client.get(export_url, {"format": "csv"}).status_code == 404
    assert carol_client.get(export_url, {"format": "xlsx"}).status_code == 404
