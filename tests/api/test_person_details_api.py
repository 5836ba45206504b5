"""Through the API, too, a manager renames only people known only through their partnerships."""

from __future__ import annotations

from django.core import mail

from partnerwell.core.models import Membership, Organisation, Partnership, Role, User
from tests.api.conftest import ApiClient
from tests.api.test_members_api import CaptureCallbacks
from tests.conftest import client_for


def test_it_keeps_the_name_of_a_person_of_another_partnership(
    carol_api: ApiClient,
    partnership_b: Partnership,
    bob: User,
    charity: Organisation,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = carol_api.post(
            f"/partnerships/{partnership_b.pk}/members",
            {"email": "bob@example.org", "name": "Robert Renamed", "organisation_id": charity.pk},
        )
    assert response.status_code == 201
    assert response.json()["person"]["name"] == "Bob Member"
    bob.refresh_from_db()
    assert (bob.name, bob.email) == ("Bob Member", "bob@example.org")
    assert [m.to for m in mail.outbox] == [["bob@example.org"]]
    assert f"/partnerships/{partnership_b.pk}/" in str(mail.outbox[0].body)
    assert "Beta Board" in client_for(bob).get("/").content.decode()


def test_it_renames_someone_known_only_through_the_callers_partnerships(
    alice: User,
    alice_api: ApiClient,
    partnership_a: Partnership,
    council: Organisation,
) -> None:
    child = Partnership.objects.create(name="Alpha Task Group", kind="sub_group")
    Membership.objects.create(
        partnership=child, person=alice, organisation=council, role=Role.MANAGER
    )
    erin = User.objects.create_user(email="erin@example.org", name="Erin Typo")
    Membership.objects.create(partnership=child, person=erin, organisation=council)
    response = alice_api.post(
        f"/partnerships/{partnership_a.pk}/members",
        {
            "email": "erin@example.org",
            "name": "Erin Right",
            "organisation_id": council.pk,
            "side": "Staff side",
        },
    )
    assert response.status_code == 201
    erin.refresh_from_db()
    assert erin.name == "Erin Right"
