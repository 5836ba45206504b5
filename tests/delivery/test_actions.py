"""Actions: status rules, the action page, progress notes, adding and changing actions,
and who may see or change what."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from partnerwell.core.models import Membership, Organisation, Partnership, User
from partnerwell.delivery.actions import Origin, action_create, action_update, progress_note_add
from partnerwell.delivery.models import Action, ActionSource, ActionStatus, Priority, ProgressNote

TODAY = timezone.localdate


def make_action(
    owner: User,
    partnership: Partnership,
    *,
    title: str = "Agree a timetable for joint briefings",
    due: dt.date | None = None,
    status: str = ActionStatus.AGREED,
    done_on: dt.date | None = None,
    organisation: Organisation | None = None,
    **extra: Any,
) -> Action:
    """An action straight in the database, owned by the person's membership."""
    membership = Membership.objects.get(person=owner, partnership=partnership)
    return Action.objects.create(
        partnership=partnership,
        title=title,
        owner=membership,
        organisation=organisation or membership.organisation,
        due_date=due or TODAY() + dt.timedelta(days=14),
        status=status,
        done_on=done_on,
        **extra,
    )


@pytest.fixture
def alices_action(alice: User, partnership_a: Partnership) -> Action:
    return make_action(alice, partnership_a, title="Alice's action")


@pytest.fixture
def bobs_action(bob: User, partnership_a: Partnership) -> Action:
    return make_action(bob, partnership_a, title="Bob's action")


# Status rules -------------------------------------------------------------------------


def test_it_needs_a_reason_to_drop(alice: User, alices_action: Action) -> None:
    with pytest.raises(ValidationError) as caught:
        progress_note_add(by=alice, action=alices_action, status=ActionStatus.DROPPED)
    assert "drop_reason" in caught.value.message_dict
    alices_action.refresh_from_db()
    assert alices_action.status == ActionStatus.AGREED
    assert not ProgressNote.objects.exists()


def test_it_drops_with_a_reason(alice: User, alices_action: Action) -> None:
    progress_note_add(
        by=alice,
        action=alices_action,
        status=ActionStatus.DROPPED,
        drop_reason="Overtaken by the trust's new policy.",
    )
    alices_action.refresh_from_db()
    assert alices_action.status == ActionStatus.DROPPED
    assert alices_action.drop_reason == "Overtaken by the trust's new policy."


def test_it_sets_done_on_from_the_note_date(alice: User, alices_action: Action) -> None:
    day = TODAY() - dt.timedelta(days=3)
    note = progress_note_add(
        by=alice, action=alices_action, text="Sent.", status=ActionStatus.DONE, written_on=day
    )
    alices_action.refresh_from_db()
    assert alices_action.status == ActionStatus.DONE
    assert alices_action.done_on == day
    assert note.status == ActionStatus.DONE
    assert note.written_on == day


def test_it_moves_the_status_with_a_note_and_clears_done_on_when_reopened(
    alice: User, alices_action: Action
) -> None:
    progress_note_add(by=alice, action=alices_action, status=ActionStatus.DONE)
    progress_note_add(
        by=alice, action=alices_action, text="Not finished after all.", status="in_progress"
    )
    alices_action.refresh_from_db()
    assert alices_action.status == ActionStatus.IN_PROGRESS
    assert alices_action.done_on is None
    statuses = list(alices_action.notes.order_by("created_at").values_list("status", flat=True))
    assert statuses == ["done", "in_progress"]


def test_it_records_a_note_without_a_status_change(alice: User, alices_action: Action) -> None:
    note = progress_note_add(
        by=alice, action=alices_action, text="Spoke to HR.", status=ActionStatus.AGREED
    )
    assert note.status == ""
    alices_action.refresh_from_db()
    assert alices_action.status == ActionStatus.AGREED


def test_it_refuses_an_empty_note(alice: User, alices_action: Action) -> None:
    with pytest.raises(ValidationError) as caught:
        progress_note_add(by=alice, action=alices_action, text="  ")
    assert "text" in caught.value.message_dict


def test_it_refuses_a_note_dated_in_the_future(alice: User, alices_action: Action) -> None:
    with pytest.raises(ValidationError):
        progress_note_add(
            by=alice, action=alices_action, text="x", written_on=TODAY() + dt.timedelta(days=1)
        )
    assert not ProgressNote.objects.exists()


def test_it_gives_a_new_action_the_owners_organisation(
    alice: User, bob: User, partnership_a: Partnership, council: Organisation
) -> None:
    action = action_create(
        by=alice,
        partnership=partnership_a,
        title="  Write the briefing  ",
        owner=Membership.objects.get(person=bob),
        due_date=TODAY(),
    )
    action.refresh_from_db()
    assert action.organisation == council
    assert action.title == "Write the briefing"
    assert action.created_by == alice


def test_it_refuses_an_owner_from_another_partnership(
    alice: User, carol: User, partnership_a: Partnership
) -> None:
    with pytest.raises(ValidationError) as caught:
        action_create(
            by=alice,
            partnership=partnership_a,
            title="x",
            owner=Membership.objects.get(person=carol),
            due_date=TODAY(),
        )
    assert "owner" in caught.value.message_dict
    assert not Action.objects.exists()


def test_it_refuses_a_source_from_another_partnership(
    alice: User, partnership_a: Partnership, partnership_b: Partnership
) -> None:
    elsewhere = Priority.objects.create(partnership=partnership_b, title="Theirs")
    with pytest.raises(ValidationError) as caught:
        action_create(
            by=alice,
            partnership=partnership_a,
            title="x",
            owner=Membership.objects.get(person=alice),
            due_date=TODAY(),
            origin=Origin(source=ActionSource.PRIORITY, priority=elsewhere),
        )
    assert "priority" in caught.value.message_dict


def test_it_notes_a_reassignment_and_a_new_due_date(
    alice: User, bob: User, alices_action: Action
) -> None:
    new_due = alices_action.due_date + dt.timedelta(days=30)
    action_update(
        by=alice,
        action=alices_action,
        title=alices_action.title,
        detail="",
        owner=Membership.objects.get(person=bob),
        organisation=None,
        due_date=new_due,
    )
    alices_action.refresh_from_db()
    assert alices_action.owner.person == bob
    note = alices_action.notes.get()
    assert "Reassigned from Alice Manager to Bob Member." in note.text
    assert "Due date moved" in note.text


# The action page and progress notes -----------------------------------------------------


def test_it_shows_the_action_with_its_timeline(
    bob_client: Client, alice: User, alices_action: Action
) -> None:
    progress_note_add(by=alice, action=alices_action, text="Draft circulated.")
    response = bob_client.get(f"/actions/{alices_action.pk}/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Alice&#x27;s action" in content
    assert "Draft circulated." in content
    # Bob neither owns nor manages it, so there is no form for him.
    assert "Add a progress note" not in content


def test_it_adds_a_note_that_marks_the_action_done(
    alice_client: Client, alices_action: Action
) -> None:
    response = alice_client.post(
        f"/actions/{alices_action.pk}/notes/",
        {"text": "Briefing sent to all staff.", "status": "done", "written_on": TODAY()},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/actions/{alices_action.pk}/"
    alices_action.refresh_from_db()
    assert alices_action.status == ActionStatus.DONE
    assert alices_action.done_on == TODAY()
    assert alices_action.notes.get().text == "Briefing sent to all staff."


def test_it_refuses_get_on_the_note_url(alice_client: Client, alices_action: Action) -> None:
    assert alice_client.get(f"/actions/{alices_action.pk}/notes/").status_code == 405


def test_it_says_why_a_drop_was_refused(alice_client: Client, alices_action: Action) -> None:
    response = alice_client.post(
        f"/actions/{alices_action.pk}/notes/",
        {"text": "", "status": "dropped", "drop_reason": "", "written_on": TODAY()},
    )
    assert response.status_code == 200
    assert b"Say why the action is dropped" in response.content
    assert b"There is a problem" in response.content
    alices_action.refresh_from_db()
    assert alices_action.status == ActionStatus.AGREED


def test_it_refuses_a_note_from_a_member_who_does_not_own_the_action(
    bob_client: Client, alices_action: Action
) -> None:
    response = bob_client.post(
        f"/actions/{alices_action.pk}/notes/",
        {"text": "Hijack", "status": "done", "written_on": TODAY()},
    )
    assert response.status_code == 403
    alices_action.refresh_from_db()
    assert alices_action.status == ActionStatus.AGREED
    assert not ProgressNote.objects.exists()


def test_it_lets_a_member_update_their_own_action(bob_client: Client, bobs_action: Action) -> None:
    response = bob_client.post(
        f"/actions/{bobs_action.pk}/notes/",
        {"text": "Started.", "status": "in_progress", "written_on": TODAY()},
    )
    assert response.status_code == 302
    bobs_action.refresh_from_db()
    assert bobs_action.status == ActionStatus.IN_PROGRESS
    assert bobs_action.notes.get().author_id == bobs_action.owner.person_id


def test_it_lets_a_manager_update_any_action(alice_client: Client, bobs_action: Action) -> None:
    response = alice_client.post(
        f"/actions/{bobs_action.pk}/notes/", {"text": "Chased.", "written_on": TODAY()}
    )
    assert response.status_code == 302
    assert bobs_action.notes.get().text == "Chased."


# Adding and changing actions --------------------------------------------------------------


def test_it_adds_an_action(
    alice_client: Client, bob: User, partnership_a: Partnership, union: Organisation
) -> None:
    bobs = Membership.objects.get(person=bob)
    due = TODAY() + dt.timedelta(days=20)
    response = alice_client.post(
        f"/partnerships/{partnership_a.pk}/actions/new/",
        {
            "title": "Publish the joint statement",
            "detail": "",
            "owner": bobs.pk,
            "organisation": "",
            "due_date": due.isoformat(),
            "status": "proposed",
        },
    )
    assert response.status_code == 302
    action = Action.objects.get()
    assert response["Location"] == f"/actions/{action.pk}/"
    assert (action.owner, action.organisation.name, action.due_date, action.status) == (
        bobs,
        "Testshire Council",
        due,
        "proposed",
    )


def test_it_links_an_action_to_a_priority_from_the_address(
    alice_client: Client, alice: User, partnership_a: Partnership
) -> None:
    priority = Priority.objects.create(partnership=partnership_a, title="Healthy workplaces")
    url = f"/partnerships/{partnership_a.pk}/actions/new/?priority={priority.pk}"
    page = alice_client.get(url)
    assert b"Healthy workplaces" in page.content
    response = alice_client.post(
        url,
        {
            "title": "Run a stress survey",
            "owner": Membership.objects.get(person=alice).pk,
            "due_date": TODAY().isoformat(),
            "status": "agreed",
        },
    )
    assert response.status_code == 302
    action = Action.objects.get()
    assert (action.source, action.source_priority) == (ActionSource.PRIORITY, priority)


def test_it_refuses_a_priority_of_another_partnership_in_the_address(
    alice_client: Client, partnership_a: Partnership, partnership_b: Partnership
) -> None:
    theirs = Priority.objects.create(partnership=partnership_b, title="Theirs")
    response = alice_client.get(
        f"/partnerships/{partnership_a.pk}/actions/new/?priority={theirs.pk}"
    )
    assert response.status_code == 404


def test_it_explains_missing_fields(alice_client: Client, partnership_a: Partnership) -> None:
    response = alice_client.post(
        f"/partnerships/{partnership_a.pk}/actions/new/", {"title": "", "due_date": "soon"}
    )
    assert response.status_code == 200
    assert b"Say what is to be done." in response.content
    assert b"Enter a valid date" in response.content
    assert not Action.objects.exists()


def test_it_refuses_adding_an_action_to_a_plain_member(
    bob_client: Client, bob: User, partnership_a: Partnership
) -> None:
    response = bob_client.post(
        f"/partnerships/{partnership_a.pk}/actions/new/",
        {
            "title": "Mine",
            "owner": Membership.objects.get(person=bob).pk,
            "due_date": TODAY().isoformat(),
            "status": "agreed",
        },
    )
    assert response.status_code == 403
    assert not Action.objects.exists()


def test_it_reassigns_an_action(
    alice_client: Client, dave: User, alices_action: Action, union: Organisation
) -> None:
    daves = Membership.objects.get(person=dave)
    response = alice_client.post(
        f"/actions/{alices_action.pk}/edit/",
        {
            "title": "Alice's action, now Dave's",
            "detail": "Dave leads now.",
            "owner": daves.pk,
            "organisation": "",
            "due_date": alices_action.due_date.isoformat(),
        },
    )
    assert response.status_code == 302
    alices_action.refresh_from_db()
    assert alices_action.owner == daves
    assert alices_action.organisation == union
    assert alices_action.title == "Alice's action, now Dave's"
    assert "Reassigned" in alices_action.notes.get().text


def test_it_refuses_changing_an_action_to_its_owner_who_is_not_a_manager(
    bob_client: Client, bobs_action: Action
) -> None:
    response = bob_client.post(
        f"/actions/{bobs_action.pk}/edit/",
        {
            "title": "Renamed",
            "owner": bobs_action.owner_id,
            "due_date": bobs_action.due_date.isoformat(),
        },
    )
    assert response.status_code == 403
    bobs_action.refresh_from_db()
    assert bobs_action.title == "Bob's action"


# Another partnership sees nothing -----------------------------------------------------------


def test_it_hides_every_action_page_from_another_partnership(
    carol_client: Client, alices_action: Action, partnership_a: Partnership, alice: User
) -> None:
    from tests.healthcheck.builders import make_round, outline_framework

    round = make_round(partnership_a, outline_framework(partnership_a))
    principle = round.framework.principles.first()
    assert principle is not None
    pid, aid = partnership_a.pk, alices_action.pk
    gets = [
        f"/actions/{aid}/",
        f"/actions/{aid}/edit/",
        f"/partnerships/{pid}/actions/",
        f"/partnerships/{pid}/actions/new/",
        f"/partnerships/{pid}/actions/export.csv",
        f"/partnerships/{pid}/actions/export.xlsx",
        f"/partnerships/{pid}/accountability/",
        f"/rounds/{round.pk}/actions/new/?principle={principle.pk}",
    ]
    for url in gets:
        response = carol_client.get(url)
        assert response.status_code == 404, url
        assert b"Alice" not in response.content, url
    posts = [
        (f"/actions/{aid}/notes/", {"text": "x", "status": "done", "written_on": TODAY()}),
        (f"/actions/{aid}/edit/", {"title": "Hijacked"}),
        (f"/partnerships/{pid}/actions/new/", {"title": "Hijacked"}),
    ]
    for url, data in posts:
        assert carol_client.post(url, data).status_code == 404, url
    alices_action.refresh_from_db()
    assert (alices_action.title, alices_action.status) == ("Alice's action", "agreed")
    assert Action.objects.count() == 1


def test_it_hides_an_action_from_a_former_member(
    bob_client: Client, bob: User, bobs_action: Action
) -> None:
    Membership.objects.filter(person=bob).update(end_date=TODAY() - dt.timedelta(days=1))
    assert bob_client.get(f"/actions/{bobs_action.pk}/").status_code == 404


def test_it_sends_anonymous_visitors_to_sign_in(client: Client, alices_action: Action) -> None:
    response = client.get(f"/actions/{alices_action.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def _measure(partnership: Partnership, title: str = "Sickness absence") -> Any:
    from partnerwell.delivery.models import Measure, MeasureKind, Outcome

    outcome = Outcome.objects.create(partnership=partnership, title="Healthier staff")
    return Measure.objects.create(
        partnership=partnership, outcome=outcome, title=title, kind=MeasureKind.BETTER_OFF
    )


def test_it_links_an_action_to_a_measure(
    alice_client: Client, alice: User, partnership_a: Partnership
) -> None:
    measure = _measure(partnership_a)
    url = f"/partnerships/{partnership_a.pk}/actions/new/?measure={measure.pk}"
    page = alice_client.get(url).content.decode()
    assert f'<option value="{measure.pk}" selected>Sickness absence</option>' in page
    response = alice_client.post(
        url,
        {
            "title": "Pilot flexible rotas",
            "owner": Membership.objects.get(person=alice).pk,
            "due_date": TODAY().isoformat(),
            "status": "agreed",
            "measure": measure.pk,
        },
    )
    assert response.status_code == 302
    assert Action.objects.get().measure == measure


def test_it_refuses_a_measure_of_another_partnership(
    alice: User, partnership_a: Partnership, partnership_b: Partnership
) -> None:
    theirs = _measure(partnership_b)
    with pytest.raises(ValidationError) as caught:
        action_create(
            by=alice,
            partnership=partnership_a,
            title="x",
            owner=Membership.objects.get(person=alice),
            due_date=TODAY(),
            measure=theirs,
        )
    assert "measure" in caught.value.message_dict
    assert not Action.objects.exists()
