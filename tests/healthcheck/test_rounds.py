"""Opening, closing and reminding rounds, and who may reach every round and framework URL."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from partnerwell.core.models import Organisation, Partnership, User
from partnerwell.healthcheck import services
from partnerwell.healthcheck.models import (
    DiscussionItem,
    Framework,
    Invitation,
    ResultsPdf,
    Round,
    hash_token,
)
from tests.healthcheck.builders import (
    add_member,
    answer,
    close_and_seal,
    invite,
    make_round,
    outline_framework,
    page_text,
)
from tests.url_walk import all_routes

ID_KWARGS = {"round_id", "framework_id", "pdf_id", "item_id"}


@pytest.fixture
def pulse(db: None) -> Framework:
    return Framework.objects.get(scope="builtin", key="member-pulse")


def round_data(framework: Framework, **overrides: Any) -> dict[str, Any]:
    today = timezone.localdate()
    data: dict[str, Any] = {
        "framework": framework.pk,
        "title": "Spring health check",
        "audience": "all",
        "opens_on": today.isoformat(),
        "closes_on": (today + dt.timedelta(days=14)).isoformat(),
        "anonymity_floor": "3",
        "ask_comments": "on",
        "reminder_days": ["3"],
    }
    data.update(overrides)
    return data


def open_through_view(
    client: Client,
    partnership: Partnership,
    data: dict[str, Any],
    capture: Callable[..., Any],
) -> Any:
    url = reverse("healthcheck-create-round", args=[partnership.pk])
    with capture(execute=True):
        return client.post(url, data)


def emailed_tokens() -> dict[str, str]:
    """Recipient -> the token in the link their email carries."""
    tokens = {}
    for message in mail.outbox:
        found = re.search(r"/r/([A-Za-z0-9_-]+)/", str(message.body))
        assert found, message.body
        tokens[message.to[0]] = found.group(1)
    return tokens


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# Opening a round --------------------------------------------------------------------


def test_it_opens_a_round_for_all_current_members(
    alice_client: Client,
    alice: User,
    bob: User,
    dave: User,
    partnership_a: Partnership,
    charity: Organisation,
    pulse: Framework,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    former = add_member(partnership_a, charity, side="Staff side", ended=True)

    response = open_through_view(
        alice_client, partnership_a, round_data(pulse), django_capture_on_commit_callbacks
    )

    round = Round.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("healthcheck-view-round", args=[round.pk])
    round.refresh_from_db()
    assert round.partnership == partnership_a
    assert round.framework == pulse
    assert round.created_by == alice
    assert round.invited_count == 3
    assert round.sent_count == 3
    invited = set(round.invitations.values_list("membership__person__email", flat=True))
    assert invited == {alice.email, bob.email, dave.email}
    assert former.person.email not in invited
    tokens = emailed_tokens()
    assert set(tokens) == invited
    # Each email carries that person's own working link, and only its hash is stored.
    for email, token in tokens.items():
        invitation = Invitation.objects.get(round=round, membership__person__email=email)
        assert invitation.token_hash == hash_token(token)
        assert invitation.sent_at is not None
    assert len(set(tokens.values())) == 3


def test_it_invites_only_the_members_chosen(
    alice_client: Client,
    bob: User,
    dave: User,
    partnership_a: Partnership,
    pulse: Framework,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    bob_membership = bob.memberships.get()
    data = round_data(pulse, audience="chosen", chosen=[bob_membership.pk])

    response = open_through_view(
        alice_client, partnership_a, data, django_capture_on_commit_callbacks
    )

    assert response.status_code == 302
    round = Round.objects.get()
    assert list(round.invitations.values_list("membership", flat=True)) == [bob_membership.pk]
    assert [m.to for m in mail.outbox] == [[bob.email]]


def test_it_invites_one_side(
    alice_client: Client,
    alice: User,
    bob: User,
    dave: User,
    partnership_a: Partnership,
    pulse: Framework,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    staff = partnership_a.sides.get(name="Staff side")

    response = open_through_view(
        alice_client,
        partnership_a,
        round_data(pulse, audience="side", side=staff.pk),
        django_capture_on_commit_callbacks,
    )

    assert response.status_code == 302
    round = Round.objects.get()
    assert round.side == staff
    assert set(round.invitations.values_list("membership__person", flat=True)) == {dave.pk}
    assert [m.to for m in mail.outbox] == [[dave.email]]


def test_it_can_open_a_round_with_a_custom_framework(
    alice_client: Client,
    alice: User,
    partnership_a: Partnership,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    framework = outline_framework(partnership_a)

    response = open_through_view(
        alice_client, partnership_a, round_data(framework), django_capture_on_commit_callbacks
    )

    assert response.status_code == 302
    assert Round.objects.get().framework == framework


def test_it_refuses_another_partnerships_framework(
    alice_client: Client,
    alice: User,
    carol: User,
    partnership_a: Partnership,
    partnership_b: Partnership,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    theirs = outline_framework(partnership_b, title="Beta's own")

    response = open_through_view(
        alice_client, partnership_a, round_data(theirs), django_capture_on_commit_callbacks
    )

    assert response.status_code == 200
    assert response.context["form"].errors["framework"]
    assert not Round.objects.exists()


# Bad input: a clear message and nothing created -----------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        (
            {"opens_on": "2099-05-10", "closes_on": "2099-05-01"},
            "closes_on",
            "The closing date must be on or after the opening date.",
        ),
        ({"closes_on": "2020-01-01"}, "closes_on", "The closing date has passed"),
        ({"anonymity_floor": "2"}, "anonymity_floor", "greater than or equal to 3"),
        ({"audience": "side"}, "side", "Choose the side to ask."),
        ({"audience": "chosen"}, "chosen", "Choose at least one member to ask."),
        ({"title": ""}, "title", "required"),
    ],
)
def test_it_explains_bad_round_input_and_creates_nothing(
    alice_client: Client,
    bob: User,
    partnership_a: Partnership,
    pulse: Framework,
    django_capture_on_commit_callbacks: Callable[..., Any],
    overrides: dict[str, Any],
    field: str,
    words: str,
) -> None:
    response = open_through_view(
        alice_client,
        partnership_a,
        round_data(pulse, **overrides),
        django_capture_on_commit_callbacks,
    )

    assert response.status_code == 200
    errors = response.context["form"].errors[field]
    assert any(words in e for e in errors), errors
    # The error summary at the top of the page repeats it.
    assert "There is a problem" in page_text(response)
    assert not Round.objects.exists()
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_it_keeps_the_anonymity_floor_in_the_database(
    partnership_a: Partnership, pulse: Framework
) -> None:
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        Round.objects.create(
            partnership=partnership_a,
            framework=pulse,
            title="Too small",
            opens_at=now,
            closes_at=now + dt.timedelta(days=1),
            anonymity_floor=2,
        )
    assert not Round.objects.exists()


def test_it_keeps_closing_after_opening_in_the_database(
    partnership_a: Partnership, pulse: Framework
) -> None:
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        Round.objects.create(
            partnership=partnership_a,
            framework=pulse,
            title="Backwards",
            opens_at=now,
            closes_at=now - dt.timedelta(days=1),
        )
    assert not Round.objects.exists()


# Who may open, close, remind and print -------------------------------------------


def test_it_refuses_plain_members_the_round_form(
    bob_client: Client, partnership_a: Partnership, pulse: Framework
) -> None:
    url = reverse("healthcheck-create-round", args=[partnership_a.pk])

    assert bob_client.get(url).status_code == 403
    assert bob_client.post(url, round_data(pulse)).status_code == 403
    assert not Round.objects.exists()


@pytest.fixture
def open_round(alice: User, bob: User, dave: User, partnership_a: Partnership) -> Round:
    round = make_round(partnership_a, outline_framework(partnership_a))
    for membership in partnership_a.memberships.all():
        invite(round, membership)
    return round


@pytest.mark.parametrize("name", ["close-round", "remind-round", "print-links"])
def test_it_refuses_plain_members_the_manager_actions(
    bob_client: Client, open_round: Round, name: str
) -> None:
    url = reverse(f"healthcheck-{name}", args=[open_round.pk])

    response = bob_client.get(url) if name == "print-links" else bob_client.post(url)

    assert response.status_code == 403
    open_round.refresh_from_db()
    assert open_round.closed_early_at is None
    assert not open_round.invitations.filter(reminded_at__isnull=False).exists()
    assert mail.outbox == []


@pytest.mark.parametrize("name", ["close-round", "remind-round", "mark-discuss"])
def test_it_answers_get_with_405_on_state_changes(
    alice_client: Client, open_round: Round, name: str
) -> None:
    response = alice_client.get(reverse(f"healthcheck-{name}", args=[open_round.pk]))

    assert response.status_code == 405
    open_round.refresh_from_db()
    assert open_round.closed_early_at is None
    assert mail.outbox == []


def test_it_answers_get_with_405_on_unmarking(
    alice_client: Client, alice: User, open_round: Round
) -> None:
    principle = open_round.framework.principles.first()
    assert principle is not None
    item = DiscussionItem.objects.create(round=open_round, principle=principle, marked_by=alice)

    response = alice_client.get(
        reverse("healthcheck-unmark-discuss", args=[open_round.pk, item.pk])
    )

    assert response.status_code == 405
    assert DiscussionItem.objects.filter(pk=item.pk).exists()


def test_it_prints_unused_links_for_managers(
    alice_client: Client, open_round: Round, bob: User
) -> None:
    bob_invitation = open_round.invitations.get(membership__person=bob)
    answer_for = open_round.invitations.exclude(pk=bob_invitation.pk).first()
    assert answer_for is not None
    Invitation.objects.filter(pk=answer_for.pk).update(answered=True)

    response = alice_client.get(reverse("healthcheck-print-links", args=[open_round.pk]))

    assert response.status_code == 200
    content = response.content.decode()
    assert bob_invitation.token in content
    assert answer_for.token not in content
    assert "<svg" in content


# Closing and reminding -------------------------------------------------------------


def test_it_closes_a_round_early_and_the_links_say_so(
    alice_client: Client, open_round: Round, bob: User
) -> None:
    token = open_round.invitations.get(membership__person=bob).token

    response = alice_client.post(reverse("healthcheck-close-round", args=[open_round.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("healthcheck-view-round", args=[open_round.pk])
    open_round.refresh_from_db()
    assert open_round.closed_early_at is not None
    assert open_round.status == "closed"
    link = Client().get(reverse("healthcheck-respond", args=[token]))
    assert link.status_code == 410
    assert "closed" in page_text(link)
    assert "no longer works" in page_text(link)


def test_it_does_not_close_a_round_that_has_not_opened(
    alice_client: Client, partnership_a: Partnership, alice: User
) -> None:
    now = timezone.now()
    scheduled = make_round(
        partnership_a,
        outline_framework(partnership_a),
        opens_at=now + dt.timedelta(days=2),
        closes_at=now + dt.timedelta(days=9),
    )

    response = alice_client.post(reverse("healthcheck-close-round", args=[scheduled.pk]))

    assert response.status_code == 302
    scheduled.refresh_from_db()
    assert scheduled.closed_early_at is None
    assert scheduled.status == "scheduled"
    assert any("not open" in m for m in messages_of(response)), messages_of(response)


def test_it_reminds_only_people_who_have_not_answered(
    alice_client: Client,
    alice: User,
    bob: User,
    dave: User,
    partnership_a: Partnership,
    pulse: Framework,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    open_through_view(
        alice_client, partnership_a, round_data(pulse), django_capture_on_commit_callbacks
    )
    round = Round.objects.get()
    bob_invitation = round.invitations.get(membership__person=bob)
    keys = list(pulse.statements.values_list("key", flat=True))
    services.response_submit(invitation=bob_invitation, answers=dict.fromkeys(keys, 4), comments={})
    mail.outbox.clear()

    response = alice_client.post(reverse("healthcheck-remind-round", args=[round.pk]))

    assert response.status_code == 302
    assert sorted(m.to[0] for m in mail.outbox) == sorted([alice.email, dave.email])
    assert all("reminder" in m.body.lower() for m in mail.outbox)
    bob_invitation.refresh_from_db()
    assert bob_invitation.reminded_at is None
    assert round.invitations.filter(reminded_at__isnull=False).count() == 2


def test_it_sends_no_reminders_once_closed(alice_client: Client, open_round: Round) -> None:
    Round.objects.filter(pk=open_round.pk).update(closed_early_at=timezone.now())

    response = alice_client.post(reverse("healthcheck-remind-round", args=[open_round.pk]))

    assert response.status_code == 302
    assert mail.outbox == []
    assert any("only while" in m for m in messages_of(response))


# Progress ----------------------------------------------------------------------------


def test_it_shows_progress_per_group_only_at_the_floor(
    alice_client: Client,
    alice: User,
    partnership_a: Partnership,
    council: Organisation,
    union: Organisation,
    charity: Organisation,
) -> None:
    round = make_round(partnership_a, outline_framework(partnership_a))
    for organisation, side, count in (
        (council, "Management side", 4),
        (union, "Staff side", 3),
        (charity, "Staff side", 2),
    ):
        for _ in range(count):
            answer(round, add_member(partnership_a, organisation, side=side), 4)
    invite(round, alice.memberships.get())
    # Answers are held apart while the round is open; groups count once it is sealed.
    close_and_seal(round)

    for name in ("view-round", "round-progress"):
        response = alice_client.get(reverse(f"healthcheck-{name}", args=[round.pk]))
        text = page_text(response)
        assert response.status_code == 200
        assert "9 of 10 people asked have answered" in text
        assert "Management side 4" in text
        assert "Staff side 5" in text
        assert "Local authority 4" in text
        # The charity's 2 are hidden, and so is the union's 3: 9 - 4 - 3 would give them away.
        assert "Voluntary and community Hidden to protect anonymity" in text
        assert "Trade union Hidden to protect anonymity" in text
        assert "Trade union 3" not in text
        assert "Voluntary and community 2" not in text


# Every round and framework URL is scoped to the partnership -----------------------


def _object_routes() -> list[tuple[str, str]]:
    routes = []
    for route, pattern in all_routes():
        if route.startswith(("admin/", "api/v1/")):
            continue
        if set(re.findall(r"<(?:\w+:)?(\w+)>", route)) & ID_KWARGS:
            routes.append((route, pattern.name or route))
    return sorted(routes)


def _fill(route: str, values: dict[str, int]) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[str(m.group(1))]), route)


@pytest.fixture
def a_objects(alice: User, bob: User, partnership_a: Partnership) -> dict[str, int]:
    framework = outline_framework(partnership_a, title="Alpha's own")
    round = make_round(partnership_a, framework)
    answer(round, bob.memberships.get(), 4)
    principle = framework.principles.first()
    assert principle is not None
    item = DiscussionItem.objects.create(round=round, principle=principle, marked_by=alice)
    pdf = ResultsPdf.objects.create(round=round, requested_by=alice)
    return {
        "round_id": round.pk,
        "framework_id": framework.pk,
        "pdf_id": pdf.pk,
        "item_id": item.pk,
    }


def _call(client: Client, url: str) -> Any:
    # State changes take POST only; GET then answers 405 before looking anything up.
    response = client.get(url)
    return client.post(url) if response.status_code == 405 else response


def test_it_finds_the_round_and_framework_routes() -> None:
    # Guards the walker: if it found nothing, the tests below would prove nothing.
    names = {name for _, name in _object_routes()}
    assert {
        "healthcheck-view-round",
        "healthcheck-round-progress",
        "healthcheck-close-round",
        "healthcheck-remind-round",
        "healthcheck-print-links",
        "healthcheck-view-results",
        "healthcheck-print-results",
        "healthcheck-export-results-xlsx",
        "healthcheck-request-results-pdf",
        "healthcheck-view-results-pdf",
        "healthcheck-download-results-pdf",
        "healthcheck-mark-discuss",
        "healthcheck-unmark-discuss",
        "healthcheck-view-framework",
        "healthcheck-edit-framework",
        "healthcheck-export-framework",
    } <= names


@pytest.mark.parametrize(("route", "name"), _object_routes())
def test_it_hides_other_partnerships_rounds_and_frameworks(
    route: str, name: str, a_objects: dict[str, int], carol_client: Client
) -> None:
    url = _fill(route, a_objects)
    before = (
        Round.objects.filter(closed_early_at__isnull=False).count(),
        DiscussionItem.objects.count(),
        ResultsPdf.objects.count(),
        Framework.objects.count(),
    )

    response = _call(carol_client, url)

    assert response.status_code == 404, f"{url} answered {response.status_code}"
    assert b"Alpha" not in response.content
    after = (
        Round.objects.filter(closed_early_at__isnull=False).count(),
        DiscussionItem.objects.count(),
        ResultsPdf.objects.count(),
        Framework.objects.count(),
    )
    assert after == before
    assert mail.outbox == []


@pytest.mark.parametrize(("route", "name"), _object_routes())
def test_it_sends_anonymous_visitors_to_sign_in(
    route: str, name: str, a_objects: dict[str, int], client: Client
) -> None:
    response = _call(client, _fill(route, a_objects))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_hides_items_and_pdfs_behind_another_round(
    carol_client: Client, carol: User, partnership_b: Partnership, a_objects: dict[str, int]
) -> None:
    # Carol's own round with partnership A's item and PDF ids must not reach them.
    own = make_round(partnership_b, outline_framework(partnership_b, title="Beta's own"))

    unmark = carol_client.post(
        reverse("healthcheck-unmark-discuss", args=[own.pk, a_objects["item_id"]])
    )
    pdf = carol_client.get(
        reverse("healthcheck-view-results-pdf", args=[own.pk, a_objects["pdf_id"]])
    )

    assert unmark.status_code == 404
    assert pdf.status_code == 404
    assert DiscussionItem.objects.filter(pk=a_objects["item_id"]).exists()


@pytest.mark.parametrize("name", ["view-framework", "export-framework"])
def test_it_shows_built_in_frameworks_to_everyone(carol_client: Client, name: str) -> None:
    builtin = Framework.objects.filter(scope="builtin")
    assert set(builtin.values_list("key", flat=True)) >= {
        "good-governance",
        "member-pulse",
        "model-social-partnership",
        "partnership-ingredients",
        "peer-leadership",
    }
    for framework in builtin:
        response = carol_client.get(reverse(f"healthcheck-{name}", args=[framework.pk]))
        assert response.status_code == 200, framework.key


def test_it_lists_a_partnerships_own_framework_only_to_its_members(
    bob_client: Client, carol_client: Client, partnership_a: Partnership
) -> None:
    outline_framework(partnership_a, title="Alpha's very own framework")
    url = reverse("healthcheck-list-frameworks")

    assert "Alpha's very own framework" in page_text(bob_client.get(url))
    carols = page_text(carol_client.get(url))
    assert "Alpha's very own framework" not in carols
    assert "Member pulse" in carols
