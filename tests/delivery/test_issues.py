"""The issues log: any member raises an issue, managers resolve it with a resolution."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from partnerwell.core.models import Membership, Partnership, User
from partnerwell.delivery import risks as services
from partnerwell.delivery.models import Issue, IssueStatus


def _issue(partnership: Partnership, **fields: object) -> Issue:
    return Issue.objects.create(partnership=partnership, title="Who chairs the group?", **fields)


def test_it_lets_any_member_raise_an_issue(
    bob_client: Client, bob: User, partnership_a: Partnership
) -> None:
    url = f"/partnerships/{partnership_a.pk}/issues/new/"
    assert bob_client.get(url).status_code == 200
    response = bob_client.post(url, {"title": "Where do we meet?", "detail": "The room is gone."})
    assert response.status_code == 302
    issue = Issue.objects.get()
    assert issue.title == "Where do we meet?"
    assert issue.raised_by == Membership.objects.get(person=bob)
    assert issue.raised_on == timezone.localdate()
    assert issue.status == IssueStatus.OPEN
    log = bob_client.get(f"/partnerships/{partnership_a.pk}/issues/").content.decode()
    assert "Where do we meet?" in log and "Bob Member" in log


def test_it_says_an_issue_needs_a_title(
    bob_client: Client, bob: User, partnership_a: Partnership
) -> None:
    response = bob_client.post(f"/partnerships/{partnership_a.pk}/issues/new/", {"title": " "})
    assert response.status_code == 200
    assert "Say what the issue is." in response.content.decode()
    assert not Issue.objects.exists()


def test_it_lets_a_manager_resolve_an_issue(
    alice_client: Client, alice: User, partnership_a: Partnership
) -> None:
    issue = _issue(partnership_a, raised_on=timezone.localdate() - dt.timedelta(days=10))
    assert alice_client.get(f"/issues/{issue.pk}/resolve/").status_code == 200
    response = alice_client.post(
        f"/issues/{issue.pk}/resolve/",
        {"resolution": "  The vice-chair takes it on.  ", "resolved_on": timezone.localdate()},
    )
    assert response.status_code == 302
    issue.refresh_from_db()
    assert issue.status == IssueStatus.RESOLVED
    assert issue.resolution == "The vice-chair takes it on."
    assert issue.resolved_on == timezone.localdate()


@pytest.mark.parametrize("resolution", ["", "   \n  "])
def test_it_needs_a_resolution_to_resolve_an_issue(
    alice_client: Client, alice: User, partnership_a: Partnership, resolution: str
) -> None:
    issue = _issue(partnership_a)
    response = alice_client.post(
        f"/issues/{issue.pk}/resolve/",
        {"resolution": resolution, "resolved_on": timezone.localdate()},
    )
    assert response.status_code == 200
    assert "Say how the issue was resolved." in response.content.decode()
    issue.refresh_from_db()
    assert issue.status == IssueStatus.OPEN
    assert issue.resolved_on is None


def test_it_refuses_a_blank_resolution_in_the_service(partnership_a: Partnership) -> None:
    issue = _issue(partnership_a)
    with pytest.raises(ValidationError) as caught:
        services.issue_resolve(issue=issue, resolution=" ", resolved_on=timezone.localdate())
    assert caught.value.message_dict == {"resolution": ["Say how the issue was resolved."]}
    issue.refresh_from_db()
    assert issue.status == IssueStatus.OPEN


def test_it_refuses_a_resolution_dated_before_the_issue_was_raised(
    alice_client: Client, alice: User, partnership_a: Partnership
) -> None:
    today = timezone.localdate()
    issue = _issue(partnership_a, raised_on=today)
    response = alice_client.post(
        f"/issues/{issue.pk}/resolve/",
        {"resolution": "Done", "resolved_on": today - dt.timedelta(days=1)},
    )
    assert "it cannot be resolved before then" in response.content.decode()
    issue.refresh_from_db()
    assert issue.status == IssueStatus.OPEN


def test_it_refuses_resolution_by_a_plain_member(
    bob_client: Client, bob: User, partnership_a: Partnership
) -> None:
    issue = _issue(partnership_a)
    assert bob_client.get(f"/issues/{issue.pk}/resolve/").status_code == 403
    response = bob_client.post(
        f"/issues/{issue.pk}/resolve/",
        {"resolution": "Sorted", "resolved_on": timezone.localdate()},
    )
    assert response.status_code == 403
    issue.refresh_from_db()
    assert issue.status == IssueStatus.OPEN


def test_it_lets_a_manager_reopen_an_issue(
    alice_client: Client, alice: User, partnership_a: Partnership
) -> None:
    issue = _issue(
        partnership_a,
        status=IssueStatus.RESOLVED,
        resolution="Sorted",
        resolved_on=timezone.localdate(),
    )
    assert alice_client.get(f"/issues/{issue.pk}/reopen/").status_code == 405
    issue.refresh_from_db()
    assert issue.status == IssueStatus.RESOLVED
    assert alice_client.post(f"/issues/{issue.pk}/reopen/").status_code == 302
    issue.refresh_from_db()
    assert issue.status == IssueStatus.OPEN
    assert issue.resolved_on is None
    # The earlier resolution stays for the record.
    assert issue.resolution == "Sorted"


def test_it_refuses_reopening_by_a_plain_member(
    bob_client: Client, bob: User, partnership_a: Partnership
) -> None:
    issue = _issue(partnership_a, status=IssueStatus.RESOLVED, resolution="Sorted")
    assert bob_client.post(f"/issues/{issue.pk}/reopen/").status_code == 403
    issue.refresh_from_db()
    assert issue.status == IssueStatus.RESOLVED


def test_it_lets_only_a_manager_change_an_issue(
    alice_client: Client, bob_client: Client, partnership_a: Partnership
) -> None:
    issue = _issue(partnership_a)
    assert bob_client.post(f"/issues/{issue.pk}/edit/", {"title": "Bob's"}).status_code == 403
    assert alice_client.post(f"/issues/{issue.pk}/edit/", {"title": "Clearer"}).status_code == 302
    issue.refresh_from_db()
    assert issue.title == "Clearer"


def test_it_shows_an_issue_to_members(
    bob_client: Client, bob: User, partnership_a: Partnership
) -> None:
    issue = _issue(partnership_a, detail="Nobody has volunteered.")
    page = bob_client.get(f"/issues/{issue.pk}/").content.decode()
    assert "Nobody has volunteered." in page
    # Resolving is for managers, so bob is not offered it.
    assert f"/issues/{issue.pk}/resolve/" not in page
