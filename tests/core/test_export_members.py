"""Exporting a partnership's members as CSV and XLSX, and importing the export again."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, TestCase
from django.urls import reverse
from openpyxl import load_workbook

from partnerwell.core.exports import HEADER
from partnerwell.core.models import MemberImport, Membership, Organisation, Partnership, Role, User


def export_url(partnership: Partnership, fmt: str) -> str:
    return reverse(f"core-export-members-{fmt}", args=[partnership.pk])


def read_csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8"))))


def read_xlsx(content: bytes) -> list[list[str]]:
    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook.worksheets[0]
    # Every cell is written as text, so a formula never runs.
    assert all(c.data_type == "s" for row in sheet.iter_rows() for c in row if c.value)
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


READERS = {"csv": read_csv, "xlsx": read_xlsx}


@pytest.fixture
def members_a(alice: User, bob: User, dave: User, partnership_a: Partnership) -> Partnership:
    bob_membership = Membership.objects.get(partnership=partnership_a, person=bob)
    bob_membership.responsibilities = ["media liaison", "minutes"]
    bob_membership.end_date = dt.date(2030, 3, 31)
    bob_membership.save()
    dave_membership = Membership.objects.get(partnership=partnership_a, person=dave)
    dave_membership.role = Role.DEPUTY
    dave_membership.deputy_for = bob_membership
    dave_membership.save()
    return partnership_a


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_it_exports_a_row_per_member(
    alice_client: Client, members_a: Partnership, fmt: str
) -> None:
    response = alice_client.get(export_url(members_a, fmt))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="Alpha Forum members.{fmt}"'
    expected_type = "text/csv" if fmt == "csv" else "application/vnd.openxmlformats"
    assert response["Content-Type"].startswith(expected_type)
    rows = READERS[fmt](response.content)
    assert rows == [
        HEADER,
        [
            "Testshire Council",
            "Local authority",
            "Alice Manager",
            "alice@example.org",
            "Partnership manager",
            "Management side",
            "yes",
            "",
            "",
            "2024-01-01",
            "",
        ],
        [
            "Testshire Council",
            "Local authority",
            "Bob Member",
            "bob@example.org",
            "Member",
            "Management side",
            "no",
            "",
            "media liaison, minutes",
            "2024-01-01",
            "2030-03-31",
        ],
        [
            "Testshire UNISON",
            "Trade union",
            "Dave Staffside",
            "dave@example.org",
            "Deputy",
            "Staff side",
            "no",
            "Bob Member",
            "",
            "2024-01-01",
            "",
        ],
    ]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_it_escapes_cells_that_look_like_formulas(
    alice_client: Client, partnership_a: Partnership, bob: User, fmt: str
) -> None:
    bob.name = '=HYPERLINK("http://evil.example","click")'
    bob.save()
    organisation = Organisation.objects.create(name="@SUM(A1:A9)", sector="other")
    Membership.objects.filter(person=bob).update(
        organisation=organisation, responsibilities=["+44 1234", "-minus"]
    )
    rows = READERS[fmt](alice_client.get(export_url(partnership_a, fmt)).content)
    bob_row = next(r for r in rows if r[3] == "bob@example.org")
    assert bob_row[0] == "'@SUM(A1:A9)"
    assert bob_row[2] == '\'=HYPERLINK("http://evil.example","click")'
    assert bob_row[8] == "'+44 1234, -minus"
    # Ordinary values are left alone.
    alice_row = next(r for r in rows if r[3] == "alice@example.org")
    assert alice_row[:3] == ["Testshire Council", "Local authority", "Alice Manager"]


def test_it_imports_its_own_export_again(
    alice_client: Client, partnership_a: Partnership, bob: User, dave: User
) -> None:
    exported = alice_client.get(export_url(partnership_a, "csv")).content
    rows = read_csv(exported)
    assert rows[0][7:] == ["deputy for", "responsibilities", "start date", "end date"]
    # Change one name and one role in the spreadsheet, then bring it back.
    for row in rows:
        if row[3] == "bob@example.org":
            row[2], row[4], row[6] = "Robert Member", "Vice-chair", "yes"
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    before = (User.objects.count(), Organisation.objects.count(), Membership.objects.count())

    # The worker checks the file once the upload is committed.
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = alice_client.post(
            reverse("core-import-members", args=[partnership_a.pk]),
            {"file": SimpleUploadedFile("Alpha Forum members.csv", buffer.getvalue().encode())},
        )
    assert response.status_code == 302
    pending = MemberImport.objects.get()
    preview = alice_client.get(reverse("core-preview-import", args=[partnership_a.pk, pending.pk]))
    assert preview.context["adding"] == 0
    assert preview.context["updating"] == 3
    response = alice_client.post(
        reverse("core-confirm-import", args=[partnership_a.pk, pending.pk])
    )
    assert response.status_code == 302

    assert (
        User.objects.count(),
        Organisation.objects.count(),
        Membership.objects.count(),
    ) == before
    bob.refresh_from_db()
    assert bob.name == "Robert Member"
    membership = Membership.objects.get(partnership=partnership_a, person=bob)
    assert (membership.role, membership.decision_maker) == (Role.VICE_CHAIR, True)
    alice_membership = Membership.objects.get(
        partnership=partnership_a, person__email="alice@example.org"
    )
    assert (alice_membership.role, alice_membership.side and alice_membership.side.name) == (
        Role.MANAGER,
        "Management side",
    )
    assert alice_membership.decision_maker is True


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_it_hides_the_export_from_another_partnership(
    carol_client: Client, partnership_a: Partnership, alice: User, fmt: str
) -> None:
    response = carol_client.get(export_url(partnership_a, fmt))
    assert response.status_code == 404
    assert b"alice@example.org" not in response.content


def test_it_sends_a_stranger_to_sign_in(
    client: Client, partnership_a: Partnership, alice: User
) -> None:
    response = client.get(export_url(partnership_a, "csv"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_imports_an_export_with_escaped_cells_unchanged(
    alice_client: Client, partnership_a: Partnership, bob: User
) -> None:
    bob.name = "=Bob"
    bob.save()
    organisation = Organisation.objects.create(name="+Plus Housing", sector="housing")
    Membership.objects.filter(person=bob).update(organisation=organisation)
    exported = alice_client.get(export_url(partnership_a, "csv")).content
    assert b"'=Bob" in exported and b"'+Plus Housing" in exported
    before = (User.objects.count(), Organisation.objects.count(), Membership.objects.count())

    # The worker checks the file once the upload is committed.
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = alice_client.post(
            reverse("core-import-members", args=[partnership_a.pk]),
            {"file": SimpleUploadedFile("export.csv", exported)},
        )
    assert response.status_code == 302, response.context["row_errors"]
    pending = MemberImport.objects.get()
    alice_client.post(reverse("core-confirm-import", args=[partnership_a.pk, pending.pk]))
    pending.refresh_from_db()
    assert pending.applied_at is not None

    assert (
        User.objects.count(),
        Organisation.objects.count(),
        Membership.objects.count(),
    ) == before
    bob.refresh_from_db()
    assert bob.name == "=Bob"
    assert Membership.objects.get(person=bob).organisation == organisation


def test_it_matches_an_escaped_organisation_with_no_sector_given(
    alice_client: Client, partnership_a: Partnership, alice: User
) -> None:
    organisation = Organisation.objects.create(name="-Minus Trust", sector="voluntary")
    rows = [
        ["organisation", "sector", "name", "email", "side"],
        ["'-Minus Trust", "", "Pat", "pat@example.org", "Staff side"],
    ]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    # The worker checks the file once the upload is committed.
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = alice_client.post(
            reverse("core-import-members", args=[partnership_a.pk]),
            {"file": SimpleUploadedFile("members.csv", buffer.getvalue().encode())},
        )
    assert response.status_code == 302
    pending = MemberImport.objects.get()
    alice_client.post(reverse("core-confirm-import", args=[partnership_a.pk, pending.pk]))
    membership = Membership.objects.get(partnership=partnership_a, person__email="pat@example.org")
    assert membership.organisation == organisation
