"""An outsider cannot rename people of other partnerships, and nobody is added silently.

The attack as found: carol, who manages only partnership B, imports a file naming
bob (of partnership A, never signed in) under another name. Before the fix bob was
renamed and quietly put on B. The rule (access.editable_people) is the same for the
import, the member form and the API.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core import mail
from django.test import Client

from partnerwell.core import access
from partnerwell.core.models import MemberImport, Membership, Organisation, Partnership, Role, User
from tests.conftest import client_for
from tests.core.test_import_members import confirm_url, csv_bytes, plain, preview_url, upload


def _row(name: str, email: str, side: str = "") -> list[str]:
    return ["Testshire Carers", "", name, email, "", side, ""]


def _import(client: Client, partnership: Partnership, rows: list[list[str]], hooks: Any) -> str:
    """Upload, read the preview, confirm; returns the preview as text."""
    assert upload(client, partnership, csv_bytes(rows)).status_code == 302
    pending = MemberImport.objects.get(partnership=partnership, applied_at=None)
    preview = plain(client.get(preview_url(pending)))
    with hooks(execute=True):
        assert client.post(confirm_url(pending)).status_code == 302
    return preview


def _sees_partnership(person: User, partnership: Partnership) -> bool:
    return partnership.name in plain(client_for(person).get("/"))


def test_it_keeps_the_name_of_a_person_of_another_partnership_in_an_import(
    carol_client: Client,
    partnership_b: Partnership,
    bob: User,
    charity: Organisation,
    django_capture_on_commit_callbacks: Any,
) -> None:
    assert bob.last_login is None
    preview = _import(
        carol_client,
        partnership_b,
        [_row("Robert Renamed", "BOB@example.org")],
        django_capture_on_commit_callbacks,
    )
    assert "bob@example.org stays Bob Member (the file says Robert Renamed)" in preview
    bob.refresh_from_db()
    assert bob.name == "Bob Member"
    assert bob.email == "bob@example.org"
    # Added, and told so by email with a link to the partnership.
    assert Membership.objects.filter(partnership=partnership_b, person=bob).exists()
    assert [m.to for m in mail.outbox] == [["bob@example.org"]]
    assert "Beta Board" in mail.outbox[0].subject
    assert "Carol Other" in str(mail.outbox[0].body)
    assert f"/partnerships/{partnership_b.pk}/" in str(mail.outbox[0].body)
    assert _sees_partnership(bob, partnership_b)


def test_it_renames_someone_known_only_through_the_importers_partnership(
    alice_client: Client,
    alice: User,
    partnership_a: Partnership,
    council: Organisation,
    django_capture_on_commit_callbacks: Any,
) -> None:
    erin = User.objects.create_user(email="erin@example.org", name="Erin Typo")
    Membership.objects.create(
        partnership=partnership_a,
        person=erin,
        organisation=council,
        role=Role.MEMBER,
        side=partnership_a.sides.first(),
    )
    assert access.may_edit_person_details(alice, erin)
    preview = _import(
        alice_client,
        partnership_a,
        [["Testshire Council", "", "Erin Right", "erin@example.org", "", "Management side", ""]],
        django_capture_on_commit_callbacks,
    )
    assert "keeps their own name" not in preview
    erin.refresh_from_db()
    assert erin.name == "Erin Right"


def test_it_keeps_the_name_of_someone_who_has_signed_in(
    alice_client: Client,
    alice: User,
    partnership_a: Partnership,
    council: Organisation,
    django_capture_on_commit_callbacks: Any,
) -> None:
    erin = User.objects.create_user(email="erin@example.org", name="Erin Own", password="x")
    Membership.objects.create(
        partnership=partnership_a,
        person=erin,
        organisation=council,
        side=partnership_a.sides.first(),
        end_date=dt.date(2024, 6, 1),
    )
    client_for(erin)  # signs in once
    erin.refresh_from_db()
    assert not access.may_edit_person_details(alice, erin)
    preview = _import(
        alice_client,
        partnership_a,
        [["Testshire Council", "", "Erin Other", "erin@example.org", "", "Management side", ""]],
        django_capture_on_commit_callbacks,
    )
    assert "erin@example.org stays Erin Own" in preview
    erin.refresh_from_db()
    assert erin.name == "Erin Own"
    # Her ended membership is current again, and she is told.
    assert [m.to for m in mail.outbox] == [["erin@example.org"]]


def test_it_keeps_the_name_of_someone_also_on_a_partnership_the_importer_does_not_manage(
    alice: User,
    partnership_a: Partnership,
    partnership_b: Partnership,
    council: Organisation,
) -> None:
    erin = User.objects.create_user(email="erin@example.org", name="Erin Both")
    for partnership in (partnership_a, partnership_b):
        Membership.objects.create(partnership=partnership, person=erin, organisation=council)
    assert not access.may_edit_person_details(alice, erin)
    # A past seat elsewhere counts too: she is known outside alice's partnerships.
    Membership.objects.filter(person=erin, partnership=partnership_b).update(
        end_date=dt.date(2020, 1, 1)
    )
    assert not access.may_edit_person_details(alice, erin)
    Membership.objects.filter(person=erin, partnership=partnership_b).delete()
    assert access.may_edit_person_details(alice, erin)


def test_it_keeps_the_name_when_the_member_form_names_an_existing_person(
    carol_client: Client,
    partnership_b: Partnership,
    bob: User,
    charity: Organisation,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = carol_client.post(
            f"/partnerships/{partnership_b.pk}/members/add/",
            {
                "name": "Robert Renamed",
                "email": "bob@example.org",
                "organisation": charity.pk,
                "role": Role.MEMBER,
            },
            follow=True,
        )
    assert response.status_code == 200
    assert "already has an account, so they keep their own name, Bob Member" in plain(response)
    bob.refresh_from_db()
    assert bob.name == "Bob Member"
    assert Membership.objects.filter(partnership=partnership_b, person=bob).exists()
    # Bob has a password, so he gets a notice with a link, not an invitation.
    assert [m.to for m in mail.outbox] == [["bob@example.org"]]
    assert f"/partnerships/{partnership_b.pk}/" in str(mail.outbox[0].body)
    assert _sees_partnership(bob, partnership_b)


def test_it_renames_through_the_member_form_only_under_the_rule(
    alice_client: Client,
    alice: User,
    partnership_a: Partnership,
    council: Organisation,
    union: Organisation,
    django_capture_on_commit_callbacks: Any,
) -> None:
    child = Partnership.objects.create(name="Alpha Task Group", kind="sub_group")
    Membership.objects.create(partnership=child, person=alice, organisation=council, role="manager")
    erin = User.objects.create_user(email="erin@example.org", name="Erin Typo")
    Membership.objects.create(partnership=child, person=erin, organisation=council)
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(
            f"/partnerships/{partnership_a.pk}/members/add/",
            {
                "name": "Erin Right",
                "email": "erin@example.org",
                "organisation": union.pk,
                "role": Role.MEMBER,
                "side": partnership_a.sides.get(name="Staff side").pk,
            },
        )
    erin.refresh_from_db()
    assert erin.name == "Erin Right"
    assert Membership.objects.filter(partnership=partnership_a, person=erin).exists()
