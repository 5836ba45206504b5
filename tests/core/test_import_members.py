"""Importing a member list: upload and check, preview, confirm, and the bulk service.

The flow under test: POST a file to core-import-members, which stores it as a
MemberImport being checked and redirects to core-preview-import; the worker's
task (run at commit) reads and checks it; a file with any bad row is refused and
its status page lists every bad row; a good one shows the preview; POST to
core-confirm-import applies it through services.members_import.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import random
import re
import zipfile
from collections.abc import Callable, Sequence

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.mail import EmailMessage
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse
from django.utils import timezone
from openpyxl import Workbook

from partnerwell.core import services
from partnerwell.core.imports import MAX_ROWS, ImportFileError, check_rows, read_table
from partnerwell.core.models import (
    ImportStatus,
    MemberImport,
    Membership,
    Organisation,
    Partnership,
    Role,
    Sector,
    User,
)
from tests.conftest import client_for

HEADER = ["organisation", "sector", "name", "email", "role", "side", "decision-maker"]

# Three good rows for partnership A: an existing organisation (sector left
# blank), another existing one named with its sector, and a new one.
GOOD_ROWS = [
    ["Testshire Council", "", "Fay Finance", "fay@example.org", "member", "Management side", "yes"],
    [
        "Testshire UNISON",
        "Trade union",
        "Gil Steward",
        "gil@example.org",
        "Co-chair",
        "Staff side",
        "no",
    ],
    [
        "Northfield Housing",
        "Housing",
        "Hana Homes",
        "Hana@Example.org",
        "adviser",
        "staff side",
        "",
    ],
]

Cells = Sequence[object]


def csv_bytes(
    rows: Sequence[Cells],
    header: Sequence[str] = HEADER,
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: Sequence[Cells], header: Sequence[str] = HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Members"
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def import_url(partnership: Partnership) -> str:
    return reverse("core-import-members", args=[partnership.pk])


def preview_url(pending: MemberImport) -> str:
    return reverse("core-preview-import", args=[pending.partnership_id, pending.pk])


def confirm_url(pending: MemberImport) -> str:
    return reverse("core-confirm-import", args=[pending.partnership_id, pending.pk])


def upload(
    client: Client,
    partnership: Partnership,
    data: bytes,
    name: str = "members.csv",
    *,
    invite: bool = False,
):
    """Post a file and let the worker check it, as a person who follows the redirect sees it.

    A good file answers with the redirect to its preview; a refused one with the status
    page that redirect leads to, where the reasons are.
    """
    payload: dict[str, object] = {"file": SimpleUploadedFile(name, data)}
    if invite:
        payload["invite"] = "on"
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(import_url(partnership), payload)
    if (
        response.status_code == 302
        and MemberImport.objects.filter(
            status=ImportStatus.REFUSED, pk=resolve(response["Location"]).kwargs.get("import_id")
        ).exists()
    ):
        return client.get(response["Location"])
    return response


def plain(response) -> str:
    """The page as text a person reads: tags gone, entities decoded, spaces collapsed."""
    text = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(text))


_ERROR_ROW = re.compile(
    r'<td class="govuk-table__cell govuk-table__cell--numeric">(\d+)</td>'
    r'<td class="govuk-table__cell">(.*?)</td>'
)


def listed_errors(response) -> dict[int, str]:
    """Line number → reason, as the page's "Rows to fix" table shows them."""
    return {
        int(line): html.unescape(reason)
        for line, reason in _ERROR_ROW.findall(response.content.decode())
    }


def file_error(response) -> str:
    """The sentence about the file as a whole: the form's (size) or the checked file's."""
    if "form" in response.context:
        errors = response.context["form"].errors.get("file")
    else:
        errors = [response.context["pending"].file_error]
    assert errors and errors[0], "expected an error about the file as a whole"
    assert errors[0] in plain(response)
    return errors[0]


def counts() -> tuple[int, int, int, int]:
    return (
        User.objects.count(),
        Organisation.objects.count(),
        Membership.objects.count(),
        # A refused file is kept only to show its reasons; it can never be confirmed.
        MemberImport.objects.exclude(status=ImportStatus.REFUSED).count(),
    )


def upload_and_confirm(
    client: Client, partnership: Partnership, data: bytes, name: str = "members.csv", **kw: bool
) -> MemberImport:
    response = upload(client, partnership, data, name, **kw)
    assert response.status_code == 302, plain(response)
    pending = MemberImport.objects.latest("pk")
    assert response["Location"] == preview_url(pending)
    response = client.post(confirm_url(pending))
    assert response.status_code == 302
    assert response["Location"] == reverse("core-list-members", args=[partnership.pk])
    pending.refresh_from_db()
    assert pending.applied_at is not None
    return pending


def member(partnership: Partnership, email: str) -> Membership:
    return Membership.objects.select_related("organisation", "side", "person").get(
        partnership=partnership, person__email=email
    )


def side_of(membership: Membership) -> str | None:
    return membership.side.name if membership.side else None


# --- good files, end to end ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "build"), [("members.csv", csv_bytes), ("members.xlsx", xlsx_bytes)]
)
def test_it_imports_a_good_file_end_to_end(
    alice_client: Client,
    alice: User,
    partnership_a: Partnership,
    council: Organisation,
    union: Organisation,
    name: str,
    build: Callable[[Sequence[Cells]], bytes],
) -> None:
    before = counts()
    response = upload(alice_client, partnership_a, build(GOOD_ROWS), name)
    assert response.status_code == 302
    pending = MemberImport.objects.get()
    assert (pending.partnership, pending.created_by, pending.filename) == (
        partnership_a,
        alice,
        name,
    )
    assert response["Location"] == preview_url(pending)
    # Checking the file saves the pending import and nothing else.
    assert counts()[:3] == before[:3]

    response = alice_client.get(preview_url(pending))
    assert response.status_code == 200
    page = plain(response)
    assert "Importing adds 3 members and updates 0 who are already on the partnership" in page
    assert "Import 3 members" in page
    for email in ("fay@example.org", "gil@example.org", "hana@example.org"):
        assert email in page

    response = alice_client.post(confirm_url(pending))
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.applied_at is not None
    assert User.objects.count() == before[0] + 3
    assert Organisation.objects.count() == before[1] + 1
    assert Membership.objects.count() == before[2] + 3

    fay = member(partnership_a, "fay@example.org")
    assert (fay.person.name, fay.organisation, fay.role) == ("Fay Finance", council, Role.MEMBER)
    assert (side_of(fay), fay.decision_maker) == ("Management side", True)
    assert fay.start_date == timezone.localdate() and fay.end_date is None
    assert not fay.person.has_usable_password()

    gil = member(partnership_a, "gil@example.org")
    assert (gil.organisation, gil.role, side_of(gil)) == (union, Role.CO_CHAIR, "Staff side")
    assert gil.decision_maker is False

    # The email is stored in lower case; the side is matched whatever its case.
    hana = member(partnership_a, "hana@example.org")
    assert (hana.person.name, hana.role, side_of(hana)) == (
        "Hana Homes",
        Role.ADVISER,
        "Staff side",
    )
    assert hana.decision_maker is False
    assert (hana.organisation.name, hana.organisation.sector) == (
        "Northfield Housing",
        Sector.HOUSING,
    )

    # Confirming again is refused and changes nothing.
    after = counts()
    assert alice_client.post(confirm_url(pending)).status_code == 404
    assert alice_client.get(preview_url(pending)).status_code == 404
    assert counts() == after


def test_it_refuses_a_second_confirm_without_duplicating(
    alice_client: Client, partnership_a: Partnership, council: Organisation
) -> None:
    pending = upload_and_confirm(alice_client, partnership_a, csv_bytes(GOOD_ROWS[:1]))
    first_applied = pending.applied_at
    assert alice_client.post(confirm_url(pending)).status_code == 404
    pending.refresh_from_db()
    assert pending.applied_at == first_applied
    assert Membership.objects.filter(person__email="fay@example.org").count() == 1
    assert User.objects.filter(email__iexact="fay@example.org").count() == 1


def test_it_keeps_the_import_pending_until_confirmed(
    alice_client: Client, partnership_a: Partnership, council: Organisation
) -> None:
    upload(alice_client, partnership_a, csv_bytes(GOOD_ROWS))
    pending = MemberImport.objects.get()
    assert pending.applied_at is None
    assert [r["email"] for r in pending.rows] == [
        "fay@example.org",
        "gil@example.org",
        "hana@example.org",
    ]
    assert [r["line"] for r in pending.rows] == [2, 3, 4]
    assert not User.objects.filter(email="fay@example.org").exists()


# --- bad rows ----------------------------------------------------------------------------


def test_it_lists_a_bad_row_and_imports_nothing(
    alice_client: Client, partnership_a: Partnership, council: Organisation
) -> None:
    rows = [list(r) for r in GOOD_ROWS]
    rows[1][3] = "gil.example.org"
    before = counts()
    response = upload(alice_client, partnership_a, csv_bytes(rows))
    assert response.status_code == 200
    assert listed_errors(response) == {3: "“gil.example.org” is not an email address."}
    page = plain(response)
    assert "1 row of members.csv needs fixing" in page
    assert "Nothing has been imported" in page
    assert "2 other rows had no problem" in page
    assert counts() == before

    # The fixed file goes through.
    rows[1][3] = "gil@example.org"
    upload_and_confirm(alice_client, partnership_a, csv_bytes(rows))
    assert Membership.objects.filter(partnership=partnership_a).count() == 4
    assert Organisation.objects.filter(name="Testshire UNISON", sector=Sector.TRADE_UNION).exists()


def test_it_lists_every_bad_row_with_every_reason(
    alice_client: Client, partnership_a: Partnership, council: Organisation
) -> None:
    rows = [
        GOOD_ROWS[0],
        ["", "", "", "", "", "Management side", ""],
        GOOD_ROWS[2],
        ["Testshire Council", "", "Ida", "ida@", "boss", "Management side", "maybe"],
    ]
    before = counts()
    response = upload(alice_client, partnership_a, csv_bytes(rows))
    assert response.status_code == 200
    assert listed_errors(response) == {
        3: "The organisation is missing; the name is missing; the email address is missing.",
        5: "“ida@” is not an email address; “boss” is not a role we know; "
        "decision-maker must be yes or no, not “maybe”.",
    }
    assert "2 rows of members.csv need fixing" in plain(response)
    assert counts() == before


# A well-formed address too long for the database's 254 characters.
LONG_EMAIL = "g" * 64 + "@" + ".".join(["e" * 60] * 3) + ".example.org"

# Each case: the second data row (line 3) and the reason the page gives for it.
ROW_RULES = {
    "bad email": (
        ["Testshire Council", "", "Gil", "gil@example", "", "Management side", ""],
        "“gil@example” is not an email address.",
    ),
    "email repeated in the file in another case": (
        ["Testshire Council", "", "Fay Again", "FAY@example.org", "", "Management side", ""],
        "The email address fay@example.org is also on line 2.",
    ),
    "unknown sector": (
        ["Brand New Trust", "Space travel", "Gil", "gil@example.org", "", "Staff side", ""],
        "“Space travel” is not a sector in the list.",
    ),
    "existing organisation with another sector": (
        ["testshire council", "Housing", "Gil", "gil@example.org", "", "Staff side", ""],
        "The organisation Testshire Council is recorded as Local authority; "
        "leave the sector blank or use that one.",
    ),
    "new organisation without a sector": (
        ["Brand New Trust", "", "Gil", "gil@example.org", "", "Staff side", ""],
        "The organisation Brand New Trust is new, so give its sector.",
    ),
    "deputy": (
        ["Testshire Council", "", "Gil", "gil@example.org", "Deputy", "Staff side", ""],
        "Deputies are added on the member page, where you name who they stand in for.",
    ),
    "unknown role": (
        ["Testshire Council", "", "Gil", "gil@example.org", "boss", "Staff side", ""],
        "“boss” is not a role we know.",
    ),
    "missing side": (
        ["Testshire Council", "", "Gil", "gil@example.org", "", "", ""],
        "This partnership has sides, so give the member's side.",
    ),
    "unknown side": (
        ["Testshire Council", "", "Gil", "gil@example.org", "", "Middle side", ""],
        "“Middle side” is not one of the sides (Management side, Staff side).",
    ),
    "bad decision-maker": (
        ["Testshire Council", "", "Gil", "gil@example.org", "", "Staff side", "perhaps"],
        "Decision-maker must be yes or no, not “perhaps”.",
    ),
    "name too long for the database": (
        ["Testshire Council", "", "G" * 201, "gil@example.org", "", "Staff side", ""],
        "The name is longer than 200 characters.",
    ),
    "email too long for the database": (
        ["Testshire Council", "", "Gil", LONG_EMAIL, "", "Staff side", ""],
        "The email address is longer than 254 characters.",
    ),
    "organisation name too long for the database": (
        ["O" * 201, "Housing", "Gil", "gil@example.org", "", "Staff side", ""],
        "The organisation's name is longer than 200 characters.",
    ),
}


@pytest.mark.parametrize(("row", "reason"), ROW_RULES.values(), ids=ROW_RULES.keys())
def test_it_explains_each_row_rule(
    alice_client: Client,
    partnership_a: Partnership,
    council: Organisation,
    row: list[str],
    reason: str,
) -> None:
    before = counts()
    response = upload(alice_client, partnership_a, csv_bytes([GOOD_ROWS[0], row]))
    assert response.status_code == 200
    assert listed_errors(response) == {3: reason}
    assert counts() == before


def test_it_refuses_a_new_organisation_given_two_sectors(
    alice_client: Client, partnership_a: Partnership
) -> None:
    rows = [
        ["Brand New Trust", "Housing", "Fay", "fay@example.org", "", "Staff side", ""],
        ["brand new trust", "Business", "Gil", "gil@example.org", "", "Staff side", ""],
    ]
    before = counts()
    response = upload(alice_client, partnership_a, csv_bytes(rows))
    assert listed_errors(response) == {
        3: "The organisation brand new trust has a different sector on an earlier line."
    }
    assert counts() == before


def test_it_refuses_a_side_for_a_partnership_without_sides(
    carol_client: Client, partnership_b: Partnership
) -> None:
    rows = [
        ["Testshire Carers", "", "Fay", "fay@example.org", "", "", ""],
        ["Testshire Carers", "", "Gil", "gil@example.org", "", "Staff side", ""],
    ]
    before = counts()
    response = upload(carol_client, partnership_b, csv_bytes(rows))
    assert listed_errors(response) == {3: "This partnership has no sides, so leave the side blank."}
    assert counts() == before

    # Without the side the same file imports, with no side set.
    rows[1][5] = ""
    upload_and_confirm(carol_client, partnership_b, csv_bytes(rows))
    assert member(partnership_b, "gil@example.org").side is None


# --- people and memberships that already exist --------------------------------------------


@pytest.mark.parametrize(
    ("stored", "in_file"),
    [
        ("erin@example.org", "ERIN@Example.ORG"),
        # An address stored with capitals (from before addresses were lower-cased).
        ("Erin.Old@Example.ORG", "erin.old@example.org"),
    ],
)
def test_it_updates_a_known_person_instead_of_adding_another(
    alice_client: Client,
    partnership_a: Partnership,
    council: Organisation,
    stored: str,
    in_file: str,
) -> None:
    erin = User.objects.create(email=stored, name="Erin Old")
    # Known only through alice's partnership (a past seat) and never signed in, so
    # alice's file may rename her (access.editable_people).
    Membership.objects.create(
        partnership=partnership_a,
        person=erin,
        organisation=council,
        side=partnership_a.sides.first(),
        start_date=dt.date(2020, 1, 1),
        end_date=dt.date(2021, 1, 1),
    )
    before = counts()
    rows = [["Testshire Council", "", "Erin New", in_file, "", "Management side", "no"]]
    upload_and_confirm(alice_client, partnership_a, csv_bytes(rows))
    assert User.objects.count() == before[0]
    assert User.objects.filter(email__iexact=stored).count() == 1
    erin.refresh_from_db()
    assert erin.name == "Erin New"
    assert Membership.objects.get(partnership=partnership_a, person=erin).organisation == council


def test_it_updates_a_membership_instead_of_duplicating_it(
    alice_client: Client,
    partnership_a: Partnership,
    bob: User,
    union: Organisation,
) -> None:
    membership = Membership.objects.get(partnership=partnership_a, person=bob)
    rows = [
        ["TESTSHIRE unison", "", "Bob Member", "Bob@example.org", "vice-chair", "staff side", "Yes"]
    ]
    response = upload(alice_client, partnership_a, csv_bytes(rows))
    pending = MemberImport.objects.get()
    response = alice_client.get(preview_url(pending))
    assert "Importing adds 0 members and updates 1 who is already on the partnership" in plain(
        response
    )
    before = counts()
    alice_client.post(confirm_url(pending))
    assert counts()[:3] == before[:3]
    membership.refresh_from_db()
    assert Membership.objects.filter(partnership=partnership_a, person=bob).count() == 1
    assert membership.organisation == union
    assert (membership.role, side_of(membership)) == (Role.VICE_CHAIR, "Staff side")
    assert membership.decision_maker is True
    # The original start date stays: the person did not join again.
    assert membership.start_date == dt.date(2024, 1, 1)


def test_it_counts_a_known_address_in_another_case_as_an_update_in_the_preview(
    alice_client: Client, partnership_a: Partnership, council: Organisation
) -> None:
    person = User.objects.create(email="Mixed.Case@Example.org", name="Mixed Case")
    Membership.objects.create(
        partnership=partnership_a,
        person=person,
        organisation=council,
        side=partnership_a.sides.get(name="Staff side"),
    )
    rows = [["Testshire Council", "", "Mixed Case", "mixed.case@example.org", "", "Staff side", ""]]
    upload(alice_client, partnership_a, csv_bytes(rows))
    pending = MemberImport.objects.get()
    page = plain(alice_client.get(preview_url(pending)))
    assert "Importing adds 0 members and updates 1 who is already on the partnership" in page
    assert "Update" in page
    assert alice_client.post(confirm_url(pending)).status_code == 302
    assert Membership.objects.filter(partnership=partnership_a, person=person).count() == 1
    assert User.objects.filter(email__iexact="mixed.case@example.org").count() == 1


@pytest.mark.parametrize("ended_days_ago", [200, 1, 0])
def test_it_makes_an_ended_membership_current_when_relisted(
    alice_client: Client,
    partnership_a: Partnership,
    dave: User,
    ended_days_ago: int,
) -> None:
    membership = Membership.objects.get(partnership=partnership_a, person=dave)
    membership.end_date = timezone.localdate() - dt.timedelta(days=ended_days_ago)
    membership.save()
    rows = [["Testshire UNISON", "", "Dave Staffside", "dave@example.org", "", "Staff side", ""]]
    upload_and_confirm(alice_client, partnership_a, csv_bytes(rows))
    membership.refresh_from_db()
    assert membership.end_date is None
    assert Membership.objects.current().filter(pk=membership.pk).exists()
    assert Membership.objects.filter(partnership=partnership_a, person=dave).count() == 1


def test_it_keeps_a_planned_end_date_when_relisted(
    alice_client: Client, partnership_a: Partnership, dave: User
) -> None:
    membership = Membership.objects.get(partnership=partnership_a, person=dave)
    planned = timezone.localdate() + dt.timedelta(days=30)
    membership.end_date = planned
    membership.save()
    rows = [["Testshire UNISON", "", "Dave Staffside", "dave@example.org", "", "Staff side", ""]]
    upload_and_confirm(alice_client, partnership_a, csv_bytes(rows))
    membership.refresh_from_db()
    assert membership.end_date == planned


def test_it_clears_the_stand_in_when_a_deputy_is_listed_in_another_role(
    alice_client: Client, partnership_a: Partnership, bob: User, dave: User
) -> None:
    deputy = Membership.objects.get(partnership=partnership_a, person=dave)
    deputy.role = Role.DEPUTY
    deputy.deputy_for = Membership.objects.get(partnership=partnership_a, person=bob)
    deputy.save()
    rows = [
        ["Testshire UNISON", "", "Dave Staffside", "dave@example.org", "member", "Staff side", ""]
    ]
    upload_and_confirm(alice_client, partnership_a, csv_bytes(rows))
    deputy.refresh_from_db()
    assert deputy.role == Role.MEMBER
    assert deputy.deputy_for is None
    deputy.full_clean()


# --- files that cannot be read -------------------------------------------------------------


def _random_bytes(seed: int, low: int = 0) -> bytes:
    rnd = random.Random(seed)
    return bytes(rnd.randrange(low, 256) for _ in range(3000))


def _zip_that_is_not_a_workbook() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "not a workbook")
    return buffer.getvalue()


def _empty_workbook() -> bytes:
    buffer = io.BytesIO()
    Workbook().save(buffer)
    return buffer.getvalue()


# Each case: the file name, its bytes and words the message must contain.
BAD_FILES = {
    "unknown and missing columns": (
        "members.csv",
        csv_bytes(
            [GOOD_ROWS[0]],
            ["organisation", "sector", "name", "mail", "role", "side", "decision-maker"],
        ),
        ["“mail” is not one we know", "the column email is missing", "Use the columns"],
    ),
    "several missing columns": (
        "members.csv",
        csv_bytes([["x"]], ["surname"]),
        ["“surname”", "the columns organisation, name and email are missing"],
    ),
    "a repeated column": (
        "members.csv",
        csv_bytes([[*GOOD_ROWS[0], "x"]], [*HEADER, "E-mail"]),
        ["the column “E-mail” appears twice"],
    ),
    "an empty file": ("members.csv", b"", ["The submitted file is empty"]),
    "a file of blank lines": ("members.csv", b"\r\n \r\n", ["The file is empty"]),
    "a heading only": ("members.csv", csv_bytes([]), ["heading row but no members"]),
    "a heading and blank rows": (
        "members.csv",
        csv_bytes([["", "", "", "", "", "", ""]] * 3),
        ["heading row but no members"],
    ),
    "random bytes": ("members.csv", _random_bytes(1), ["not a CSV or XLSX file"]),
    "random bytes with no zero byte": (
        "members.csv",
        _random_bytes(2, low=1),
        ["not a CSV or XLSX file"],
    ),
    "a PNG image": (
        "photo.png",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(200),
        ["not a CSV or XLSX file"],
    ),
    "a text file named .xlsx": (
        "members.xlsx",
        csv_bytes(GOOD_ROWS),
        ["named .xlsx but is not an Excel workbook"],
    ),
    "a zip named .xlsx": (
        "members.xlsx",
        _zip_that_is_not_a_workbook(),
        ["Excel file cannot be opened"],
    ),
    "a cut-short workbook": (
        "members.xlsx",
        xlsx_bytes(GOOD_ROWS)[:500],
        ["Excel file cannot be opened"],
    ),
    "an empty workbook": ("members.xlsx", _empty_workbook(), ["The file is empty"]),
    "a workbook with a heading only": (
        "members.xlsx",
        xlsx_bytes([]),
        ["heading row but no members"],
    ),
    "a CSV field too long to read": (
        "members.csv",
        csv_bytes([["Testshire Council", "", "x" * 200_000, "a@example.org", "", "", ""]]),
        ["cannot be read near line"],
    ),
}


@pytest.mark.parametrize(("name", "data", "words"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_it_explains_a_file_it_cannot_use(
    alice_client: Client,
    partnership_a: Partnership,
    council: Organisation,
    name: str,
    data: bytes,
    words: list[str],
) -> None:
    before = counts()
    response = upload(alice_client, partnership_a, data, name)
    assert response.status_code == 200
    message = file_error(response)
    for word in words:
        assert word in message
    # A message about the whole file, short enough to read, with no row table.
    assert len(message) < 400
    assert listed_errors(response) == {}
    assert counts() == before


def test_it_refuses_a_file_over_the_size_limit(
    alice_client: Client, partnership_a: Partnership, council: Organisation, settings
) -> None:
    settings.IMPORT_MAX_MB = 1
    rows = [
        ["Testshire Council", "", f"Person {i}", f"p{i}@example.org", "", "Staff side", ""]
        for i in range(30_000)
    ]
    data = csv_bytes(rows)
    assert len(data) > 1024 * 1024
    before = counts()
    response = upload(alice_client, partnership_a, data)
    assert response.status_code == 200
    assert "larger than 1 MB" in file_error(response)
    assert counts() == before


def test_it_refuses_more_rows_than_the_limit(partnership_a: Partnership) -> None:
    rows = [
        ["Org", "Housing", "P", f"p{i}@example.org", "", "Staff side", ""]
        for i in range(MAX_ROWS + 1)
    ]
    with pytest.raises(ImportFileError, match="more than 20,000 members"):
        check_rows(read_table(csv_bytes(rows), "big.csv"), partnership_a)


def test_it_reads_a_csv_separated_by_semicolons(
    alice_client: Client, partnership_a: Partnership, council: Organisation
) -> None:
    data = csv_bytes(GOOD_ROWS, delimiter=";")
    assert b";" in data and b"," not in data
    upload_and_confirm(alice_client, partnership_a, data)
    gil = member(partnership_a, "gil@example.org")
    assert (gil.person.name, gil.role, side_of(gil)) == (
        "Gil Steward",
        Role.CO_CHAIR,
        "Staff side",
    )
    assert Membership.objects.filter(partnership=partnership_a).count() == 4


def test_it_reads_a_windows_encoded_csv(
    alice_client: Client, partnership_a: Partnership, council: Organisation
) -> None:
    rows = [["Café Noël", "Culture", "Zoë Brontë", "zoe@example.org", "", "Staff side", "yes"]]
    data = csv_bytes(rows, encoding="cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    upload_and_confirm(alice_client, partnership_a, data)
    zoe = member(partnership_a, "zoe@example.org")
    assert zoe.person.name == "Zoë Brontë"
    assert (zoe.organisation.name, zoe.organisation.sector) == ("Café Noël", Sector.CULTURE)


def test_it_reads_a_utf8_csv_with_a_byte_order_mark(
    alice_client: Client, partnership_a: Partnership, council: Organisation
) -> None:
    data = b"\xef\xbb\xbf" + csv_bytes(
        [["Testshire Council", "", "Zoë", "zoe@example.org", "", "Staff side", ""]]
    )
    upload_and_confirm(alice_client, partnership_a, data)
    assert member(partnership_a, "zoe@example.org").person.name == "Zoë"


def test_it_reads_numbers_and_booleans_from_a_workbook(
    alice_client: Client, partnership_a: Partnership, council: Organisation
) -> None:
    rows = [["Testshire Council", None, "Fay", "fay@example.org", None, "Staff side", True]]
    upload_and_confirm(alice_client, partnership_a, xlsx_bytes(rows), "members.xlsx")
    fay = member(partnership_a, "fay@example.org")
    assert (fay.role, fay.decision_maker) == (Role.MEMBER, True)


# --- scale ----------------------------------------------------------------------------------


def big_rows(count: int, partnership: Partnership) -> tuple[list[list[str]], dict[str, int]]:
    """A seeded mix: some rows for people and organisations that already exist.

    Returns the rows and what the import should report.
    """
    rnd = random.Random(20_240_101)
    sides = [s.name for s in partnership.sides.all()]
    known_orgs = Organisation.objects.bulk_create(
        Organisation(name=f"Known Org {i}", sector=Sector.HOUSING) for i in range(40)
    )
    known_people = User.objects.bulk_create(
        User(email=f"known{i}@example.org", name=f"Known {i}") for i in range(count // 10)
    )
    members = Membership.objects.bulk_create(
        Membership(
            partnership=partnership,
            person=p,
            organisation=known_orgs[0],
            side=partnership.sides.first(),
        )
        for p in known_people[: count // 20]
    )
    rows = []
    for i in range(count):
        if i < len(known_people):
            email, name = known_people[i].email.upper(), f"Renamed {i}"
        else:
            email, name = f"new{i}@example.org", f"New Person {i}"
        if rnd.random() < 0.5:
            org, sector = rnd.choice(known_orgs).name, ""
        else:
            org, sector = f"New Org {rnd.randrange(60)}", "Voluntary and community"
        role = rnd.choice(["", "member", "adviser", "observer"])
        rows.append(
            [org, sector, name, email, role, rnd.choice(sides), rnd.choice(["yes", "no", ""])]
        )
    new_orgs = {r[0] for r in rows if r[0].startswith("New Org")}
    # Known people on no partnership are not alice's to rename; they are told they were added.
    outsiders = len(known_people) - len(members)
    expected = {
        "added": count - len(members),
        "updated": len(members),
        "new_people": count - len(known_people),
        "new_organisations": len(new_orgs),
        "kept_names": outsiders,
        "told": outsiders,
    }
    return rows, expected


def test_it_imports_ten_thousand_rows_through_the_service(
    alice: User, partnership_a: Partnership
) -> None:
    rows, expected = big_rows(10_000, partnership_a)
    people_before = User.objects.count()
    members_before = Membership.objects.filter(partnership=partnership_a).count()
    checked, errors = check_rows(read_table(csv_bytes(rows), "big.csv"), partnership_a)
    assert errors == []
    assert len(checked) == 10_000
    with CaptureQueriesContext(connection) as queries:
        summary = services.members_import(
            by=alice, partnership=partnership_a, rows=checked, invite=False
        )
    assert summary.__dict__ == expected
    # Bulk work: batches of rows (SQLite caps a query at 999 values), not a query a row.
    assert len(queries) < 400
    assert User.objects.count() == people_before + expected["new_people"]
    assert (
        Membership.objects.filter(partnership=partnership_a).count()
        == members_before + expected["added"]
    )
    assert User.objects.get(email="known7@example.org").name == "Renamed 7"
    assert (
        Organisation.objects.filter(name__startswith="New Org").count()
        == expected["new_organisations"]
    )


def test_it_imports_ten_thousand_rows_through_the_pages(
    alice_client: Client, partnership_a: Partnership
) -> None:
    rows, expected = big_rows(10_000, partnership_a)
    members_before = Membership.objects.filter(partnership=partnership_a).count()
    response = upload(alice_client, partnership_a, csv_bytes(rows))
    assert response.status_code == 302, plain(response)
    pending = MemberImport.objects.get()
    assert len(pending.rows) == 10_000
    response = alice_client.get(preview_url(pending))
    page = plain(response)
    assert (
        f"Importing adds {expected['added']} members and updates {expected['updated']} who are"
        in page
    )
    assert "The first 200 of 10000 rows" in page
    assert alice_client.post(confirm_url(pending)).status_code == 302
    assert (
        Membership.objects.filter(partnership=partnership_a).count()
        == members_before + expected["added"]
    )
    assert Membership.objects.filter(
        partnership=partnership_a, person__email="new9999@example.org"
    ).exists()


# --- who may import -----------------------------------------------------------------------


@pytest.fixture
def pending_a(alice: User, partnership_a: Partnership, council: Organisation) -> MemberImport:
    rows, errors = check_rows(read_table(csv_bytes(GOOD_ROWS[:1]), "a.csv"), partnership_a)
    assert errors == []
    return MemberImport.objects.create(
        partnership=partnership_a,
        created_by=alice,
        filename="a.csv",
        rows=[{**r.as_dict(), "invite": False} for r in rows],
    )


def _assert_not_applied(pending: MemberImport) -> None:
    pending.refresh_from_db()
    assert pending.applied_at is None
    assert not User.objects.filter(email="fay@example.org").exists()


def test_it_forbids_a_plain_member(bob_client: Client, pending_a: MemberImport) -> None:
    partnership = pending_a.partnership
    before = counts()
    assert bob_client.get(import_url(partnership)).status_code == 403
    assert upload(bob_client, partnership, csv_bytes(GOOD_ROWS[1:2])).status_code == 403
    assert bob_client.get(preview_url(pending_a)).status_code == 403
    assert bob_client.post(confirm_url(pending_a)).status_code == 403
    assert counts() == before
    _assert_not_applied(pending_a)


def test_it_hides_the_pages_from_another_partnership(
    carol_client: Client, pending_a: MemberImport
) -> None:
    partnership = pending_a.partnership
    before = counts()
    assert carol_client.get(import_url(partnership)).status_code == 404
    assert upload(carol_client, partnership, csv_bytes(GOOD_ROWS[1:2])).status_code == 404
    assert carol_client.get(preview_url(pending_a)).status_code == 404
    assert carol_client.post(confirm_url(pending_a)).status_code == 404
    assert counts() == before
    _assert_not_applied(pending_a)


def test_it_keeps_an_import_from_another_partnerships_manager(
    carol_client: Client, partnership_b: Partnership, pending_a: MemberImport
) -> None:
    # carol manages B; alice's import for A is not reachable through B's addresses.
    preview = reverse("core-preview-import", args=[partnership_b.pk, pending_a.pk])
    confirm = reverse("core-confirm-import", args=[partnership_b.pk, pending_a.pk])
    assert carol_client.get(preview).status_code == 404
    assert carol_client.post(confirm).status_code == 404
    _assert_not_applied(pending_a)
    assert not Membership.objects.filter(
        partnership=partnership_b, person__email="fay@example.org"
    ).exists()


def test_it_keeps_an_import_from_another_manager_of_the_same_partnership(
    pending_a: MemberImport, dave: User
) -> None:
    Membership.objects.filter(person=dave).update(role=Role.CHAIR)
    client = client_for(dave)
    assert client.get(import_url(pending_a.partnership)).status_code == 200
    assert client.get(preview_url(pending_a)).status_code == 404
    assert client.post(confirm_url(pending_a)).status_code == 404
    _assert_not_applied(pending_a)


def test_it_answers_405_to_get_on_confirm(alice_client: Client, pending_a: MemberImport) -> None:
    assert alice_client.get(confirm_url(pending_a)).status_code == 405
    _assert_not_applied(pending_a)


def test_it_sends_a_stranger_to_sign_in(client: Client, pending_a: MemberImport) -> None:
    for url in (import_url(pending_a.partnership), preview_url(pending_a)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    assert client.post(confirm_url(pending_a)).status_code == 302
    _assert_not_applied(pending_a)


def test_it_shows_the_upload_form_to_a_manager(
    alice_client: Client, partnership_a: Partnership
) -> None:
    response = alice_client.get(import_url(partnership_a))
    assert response.status_code == 200
    page = plain(response)
    assert "Import members" in page
    assert "Management side, Staff side" in page
    assert response.context["form"].fields["invite"].initial is True


# --- invitations ----------------------------------------------------------------------------


INVITE_ROWS = [
    GOOD_ROWS[0],
    GOOD_ROWS[2],
    ["Testshire Council", "", "Bob Member", "bob@example.org", "", "Management side", ""],
    ["Testshire Council", "", "Erin Known", "erin@example.org", "", "Management side", ""],
]


def test_it_invites_each_new_person_once(
    alice_client: Client,
    partnership_a: Partnership,
    bob: User,
    django_capture_on_commit_callbacks,
    mailoutbox: list[EmailMessage],
) -> None:
    User.objects.create_user(email="erin@example.org", name="Erin Known", password="x")
    upload(alice_client, partnership_a, csv_bytes(INVITE_ROWS), invite=True)
    pending = MemberImport.objects.get()
    assert mailoutbox == []
    with django_capture_on_commit_callbacks(execute=True):
        assert alice_client.post(confirm_url(pending)).status_code == 302
    # New people are invited; erin, who has an account, is told she was added; bob,
    # already on the partnership, hears nothing.
    assert sorted(m.to[0] for m in mailoutbox) == [
        "erin@example.org",
        "fay@example.org",
        "hana@example.org",
    ]
    assert all(len(m.to) == 1 for m in mailoutbox)
    erin_mail = next(m for m in mailoutbox if m.to == ["erin@example.org"])
    assert "Alpha Forum" in erin_mail.subject and "Alice Manager" in str(erin_mail.body)
    assert "/accounts/invitation/" not in str(erin_mail.body)
    assert f"/partnerships/{partnership_a.pk}/" in str(erin_mail.body)
    fay_mail = next(m for m in mailoutbox if m.to == ["fay@example.org"])
    assert "Alpha Forum" in fay_mail.subject
    assert "Fay Finance" in fay_mail.body and "Alice Manager" in fay_mail.body
    # The link is the one the accept page answers to (uid and token are per person).
    link = re.search(r"http\S+", str(fay_mail.body))
    assert link is not None
    path = link.group(0).removeprefix(settings.SITE_URL)
    assert resolve(path).url_name == "core-accept-invitation"


def test_it_sends_no_email_when_invitations_are_unchecked(
    alice_client: Client,
    partnership_a: Partnership,
    bob: User,
    django_capture_on_commit_callbacks,
    mailoutbox: list[EmailMessage],
) -> None:
    upload(alice_client, partnership_a, csv_bytes(INVITE_ROWS[:3]), invite=False)
    pending = MemberImport.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        assert alice_client.post(confirm_url(pending)).status_code == 302
    assert User.objects.filter(email="fay@example.org").exists()
    assert mailoutbox == []


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_it_reads_apostrophes_as_part_of_the_text(
    alice_client: Client, partnership_a: Partnership, council: Organisation, delimiter: str
) -> None:
    rows = [
        ["'t Hoff Trust", "Business", "'=Dee", "dee@example.org", "", "Staff side", ""],
        [
            "St John's Hospice",
            "Voluntary",
            "Sean O'Brien",
            "sean@example.org",
            "",
            "Staff side",
            "y",
        ],
        ["Testshire Council", "", "Ann 'Nan' Smith", "ann@example.org", "", "Staff side", ""],
    ]
    upload_and_confirm(alice_client, partnership_a, csv_bytes(rows, delimiter=delimiter))
    dee = member(partnership_a, "dee@example.org")
    # A leading apostrophe before = + - @ is the escape our export adds, so it goes.
    assert (dee.person.name, dee.organisation.name) == ("=Dee", "'t Hoff Trust")
    sean = member(partnership_a, "sean@example.org")
    assert (sean.person.name, sean.organisation.name) == ("Sean O'Brien", "St John's Hospice")
    assert sean.decision_maker is True
    assert member(partnership_a, "ann@example.org").person.name == "Ann 'Nan' Smith"


def test_it_records_the_end_date_column(
    alice_client: Client, partnership_a: Partnership, dave: User
) -> None:
    # An exported list re-imported keeps leavers as leavers.
    ended = timezone.localdate() - dt.timedelta(days=10)
    membership = Membership.objects.get(partnership=partnership_a, person=dave)
    membership.end_date = ended
    membership.save()
    header = [*HEADER, "end date"]
    rows = [
        [
            "Testshire UNISON",
            "",
            "Dave Staffside",
            "dave@example.org",
            "",
            "Staff side",
            "",
            ended.isoformat(),
        ],
        ["Testshire UNISON", "", "Ed Leaver", "ed@example.org", "", "Staff side", "", "31/01/2025"],
    ]
    upload_and_confirm(alice_client, partnership_a, csv_bytes(rows, header))
    membership.refresh_from_db()
    assert membership.end_date == ended
    assert member(partnership_a, "ed@example.org").end_date == dt.date(2025, 1, 31)
    assert not Membership.objects.current().filter(person__email="ed@example.org").exists()


def test_it_refuses_an_end_date_that_is_not_a_date(
    alice_client: Client, partnership_a: Partnership
) -> None:
    header = [*HEADER, "end date"]
    rows = [
        ["Testshire UNISON", "Trade union", "Ed", "ed@example.org", "", "Staff side", "", "soon"]
    ]
    response = upload(alice_client, partnership_a, csv_bytes(rows, header), "members.csv")
    assert "is not a date" in listed_errors(response)[2]
    assert not User.objects.filter(email="ed@example.org").exists()


def test_it_leaves_the_name_of_someone_who_has_signed_in(
    alice_client: Client, partnership_a: Partnership, carol: User, union: Organisation
) -> None:
    carol.last_login = timezone.now()
    carol.save()
    rows = [["Testshire UNISON", "", "Someone Else", "carol@example.org", "", "Staff side", ""]]
    upload_and_confirm(alice_client, partnership_a, csv_bytes(rows))
    carol.refresh_from_db()
    assert carol.name == "Carol Other"
    assert member(partnership_a, "carol@example.org").organisation.name == "Testshire UNISON"


# --- checking in the worker -----------------------------------------------------------------


def _post_unchecked(
    client: Client, partnership: Partnership, data: bytes, callbacks_fixture, name: str = "m.csv"
) -> tuple[MemberImport, list[Callable[[], object]]]:
    """Post a file with the worker's task held back; returns the import and the held task."""
    with callbacks_fixture(execute=False) as callbacks:
        response = client.post(import_url(partnership), {"file": SimpleUploadedFile(name, data)})
    pending = MemberImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == preview_url(pending)
    return pending, callbacks


def test_it_checks_the_file_in_the_worker_not_in_the_request(
    alice_client: Client,
    partnership_a: Partnership,
    council: Organisation,
    django_capture_on_commit_callbacks,
) -> None:
    data = xlsx_bytes(GOOD_ROWS)
    pending, callbacks = _post_unchecked(
        alice_client, partnership_a, data, django_capture_on_commit_callbacks, "m.xlsx"
    )
    # The request only stored the bytes: nothing read, no rows, one task waiting.
    assert (pending.status, pending.rows, bytes(pending.data)) == (ImportStatus.CHECKING, [], data)
    assert len(callbacks) == 1

    response = alice_client.get(preview_url(pending))
    assert response.status_code == 200
    assert "Checking your file m.xlsx" in plain(response)
    assert "Import 3 members" not in plain(response)
    page = response.content.decode()
    assert f'hx-get="{preview_url(pending)}" hx-trigger="every 2s"' in page
    assert f'<a class="govuk-link" href="{preview_url(pending)}">Check again</a>' in page
    # htmx asks for the panel alone while checking.
    polled = alice_client.get(preview_url(pending), headers={"HX-Request": "true"})
    assert polled.content.decode().lstrip().startswith('<div id="import-status"')
    # Nothing can be confirmed before the file is checked.
    assert alice_client.post(confirm_url(pending)).status_code == 404

    callbacks[0]()
    pending.refresh_from_db()
    assert pending.status == ImportStatus.READY
    assert [r["line"] for r in pending.rows] == [2, 3, 4]
    # The uploaded bytes are not kept once checked.
    assert bytes(pending.data) == b""
    # The next poll tells htmx to load the whole page again, which is now the preview.
    polled = alice_client.get(preview_url(pending), headers={"HX-Request": "true"})
    assert (polled.status_code, polled["HX-Refresh"]) == (204, "true")
    assert "Import 3 members" in plain(alice_client.get(preview_url(pending)))
    assert alice_client.post(confirm_url(pending)).status_code == 302
    assert alice_client.post(confirm_url(pending)).status_code == 404
    assert Membership.objects.filter(person__email="fay@example.org").count() == 1


def test_it_shows_a_refused_file_its_sentence_and_a_way_back(
    alice_client: Client,
    partnership_a: Partnership,
    council: Organisation,
    django_capture_on_commit_callbacks,
) -> None:
    pending, callbacks = _post_unchecked(
        alice_client, partnership_a, csv_bytes([]), django_capture_on_commit_callbacks
    )
    callbacks[0]()
    pending.refresh_from_db()
    assert (pending.status, bytes(pending.data), pending.rows) == (ImportStatus.REFUSED, b"", [])
    response = alice_client.get(preview_url(pending))
    assert response.status_code == 200
    page = plain(response)
    assert pending.file_error.startswith("The file has a heading row but no members")
    assert pending.file_error in page
    assert "m.csv cannot be imported" in page and "Nothing has been imported" in page
    assert (
        f'href="{import_url(partnership_a)}">Upload a corrected file' in response.content.decode()
    )
    assert "hx-get" not in response.content.decode()
    assert alice_client.post(confirm_url(pending)).status_code == 404
    assert not User.objects.filter(email="fay@example.org").exists()


def test_it_lists_refused_rows_with_their_lines_on_the_status_page(
    alice_client: Client,
    partnership_a: Partnership,
    council: Organisation,
    django_capture_on_commit_callbacks,
) -> None:
    rows = [list(r) for r in GOOD_ROWS]
    rows[2][3] = "hana.example.org"
    pending, callbacks = _post_unchecked(
        alice_client, partnership_a, csv_bytes(rows), django_capture_on_commit_callbacks
    )
    callbacks[0]()
    response = alice_client.get(preview_url(pending))
    assert listed_errors(response) == {4: "“hana.example.org” is not an email address."}
    assert "Error: Import members" in response.content.decode()
    assert "2 other rows had no problem" in plain(response)
    assert alice_client.post(confirm_url(pending)).status_code == 404


def test_it_hides_a_file_being_checked_from_another_partnership(
    alice_client: Client,
    carol_client: Client,
    partnership_a: Partnership,
    partnership_b: Partnership,
    council: Organisation,
    django_capture_on_commit_callbacks,
) -> None:
    pending, _ = _post_unchecked(
        alice_client, partnership_a, csv_bytes(GOOD_ROWS), django_capture_on_commit_callbacks
    )
    assert carol_client.get(preview_url(pending)).status_code == 404
    through_b = reverse("core-preview-import", args=[partnership_b.pk, pending.pk])
    assert carol_client.get(through_b).status_code == 404
    assert carol_client.get(through_b, headers={"HX-Request": "true"}).status_code == 404


def test_it_logs_how_long_the_check_took_and_its_peak_memory(
    alice_client: Client,
    partnership_a: Partnership,
    council: Organisation,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("INFO", logger="partnerwell.core.tasks"):
        upload(alice_client, partnership_a, csv_bytes(GOOD_ROWS))
    pending = MemberImport.objects.get()
    line = next(r.getMessage() for r in caplog.records if r.name == "partnerwell.core.tasks")
    assert f"Member import {pending.pk} checked: ready, 3 rows, 0 row errors" in line
    assert re.search(r"peak memory \d+ MB \(grew \d+ MB while reading\)", line)
