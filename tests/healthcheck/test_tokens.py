"""Answering by personal link: the journey, drafts, and every way a link can be refused."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from partnerwell.core import guessing
from partnerwell.core.models import Membership, Organisation, Partnership, User
from partnerwell.healthcheck import services
from partnerwell.healthcheck.models import (
    Framework,
    HeldResponse,
    Invitation,
    Rating,
    Response,
    Round,
    Statement,
)
from tests.healthcheck.builders import (
    add_member,
    close_and_seal,
    invite,
    make_round,
    outline_framework,
    page_text,
    statement_keys,
)


@pytest.fixture(autouse=True)
def _fresh_rate_limit() -> Iterator[None]:
    # Wrong-link counts live in the cache; one test's guesses must not slow the next.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def framework(partnership_a: Partnership) -> Framework:
    return outline_framework(partnership_a)


@pytest.fixture
def keys(framework: Framework) -> dict[str, str]:
    return statement_keys(framework)


@pytest.fixture
def round(partnership_a: Partnership, framework: Framework) -> Round:
    return make_round(partnership_a, framework)


@pytest.fixture
def link(round: Round, dave: User) -> Invitation:
    return invite(round, dave.memberships.get())


def respond_url(invitation: Invitation, step: int | None = None) -> str:
    if step is None:
        return reverse("healthcheck-respond", args=[invitation.token])
    return reverse("healthcheck-respond-step", args=[invitation.token, step])


def check_url(invitation: Invitation) -> str:
    return reverse("healthcheck-respond-check", args=[invitation.token])


def checked(response: Any, name: str) -> str | None:
    """The value of the ticked radio button called name, if any."""
    for tag in re.findall(r"<input\b[^>]*>", response.content.decode()):
        if f'name="{name}"' in tag and "checked" in tag:
            found = re.search(r'value="([^"]*)"', tag)
            return found.group(1) if found else None
    return None


def all_answers(keys: dict[str, str], value: int | None = 4) -> dict[str, int | None]:
    return dict.fromkeys(keys.values(), value)


# The whole journey ---------------------------------------------------------------


def test_it_takes_a_member_from_the_link_to_the_done_page(
    link: Invitation, keys: dict[str, str], round: Round, framework: Framework
) -> None:
    client = Client()

    start = client.get(respond_url(link))
    assert start.status_code == 200
    assert "Spring health check" in page_text(start)
    assert respond_url(link, 1) in start.content.decode()

    page1 = client.get(respond_url(link, 1))
    assert page1.status_code == 200
    assert "Part 1 of 2" in page_text(page1)
    assert "We trust each other." in page_text(page1)
    to_page2 = client.post(
        respond_url(link, 1),
        {
            keys["We trust each other."]: "5",
            keys["We share information openly."]: "dk",
            keys["Decisions are made jointly."]: "2",
            "comment": "Meetings run late.",
        },
    )
    assert to_page2.status_code == 302
    assert to_page2["Location"] == respond_url(link, 2)

    page2 = client.get(respond_url(link, 2))
    assert "Part 2 of 2" in page_text(page2)
    to_check = client.post(respond_url(link, 2), {keys["We deliver what we agree."]: "4"})
    assert to_check.status_code == 302
    assert to_check["Location"] == check_url(link)

    check = client.get(check_url(link))
    text = page_text(check)
    assert check.status_code == 200
    assert "Strongly agree" in text
    assert "Don't know" in text
    assert "Meetings run late." in text
    assert "Not answered" not in text
    assert not Response.objects.exists()

    done = client.post(check_url(link))
    assert done.status_code == 302
    assert done["Location"] == reverse("healthcheck-respond-done")
    assert "Your answers are sent" in page_text(client.get(done["Location"]))
    # Held apart until the round closes; then sealed into the results.
    assert HeldResponse.objects.filter(round=round).count() == 1
    assert not Response.objects.exists()
    close_and_seal(round)

    response = Response.objects.get()
    assert response.round == round
    raw = dict(Rating.objects.filter(response=response).values_list("statement__key", "raw"))
    assert raw == {
        keys["We trust each other."]: 5,
        keys["We share information openly."]: None,
        keys["Decisions are made jointly."]: 2,
        keys["We deliver what we agree."]: 4,
    }
    values = dict(Rating.objects.filter(response=response).values_list("statement__key", "value"))
    assert values[keys["We trust each other."]] == 100.0
    assert values[keys["We share information openly."]] is None
    working_together = framework.areas.get(order=0).key
    assert response.comments == {working_together: "Meetings run late."}
    link.refresh_from_db()
    assert link.answered is True


def test_it_stores_the_groups_but_nothing_that_links_back_to_the_person(
    link: Invitation, keys: dict[str, str], dave: User
) -> None:
    Invitation.objects.filter(pk=link.pk).update(draft={"answers": all_answers(keys, 3)})

    Client().post(check_url(link))
    held = HeldResponse.objects.get()
    close_and_seal(link.round)

    response = Response.objects.get()
    membership = dave.memberships.get()
    assert (held.side, held.sector, held.organisation) == (
        response.side,
        response.sector,
        response.organisation,
    )
    assert response.side == "Staff side"
    assert response.sector == membership.organisation.sector
    assert response.organisation == "Testshire UNISON"
    # No column of a response (held or sealed) points at an invitation, a person or a
    # membership ...
    linked = {f.related_model for f in Response._meta.get_fields() if f.is_relation}
    assert linked == {Round, Rating}
    assert not linked & {Invitation, User, Membership}
    assert {f.related_model for f in HeldResponse._meta.get_fields() if f.is_relation} == {Round}
    # ... and the invitation keeps no trace of which response it gave, nor the answers.
    assert Response not in {f.related_model for f in Invitation._meta.get_fields() if f.is_relation}
    link.refresh_from_db()
    assert link.answered is True
    assert link.draft == {}


def test_it_keeps_a_draft_for_when_the_member_comes_back(
    link: Invitation, keys: dict[str, str]
) -> None:
    first_visit = Client()
    first_visit.post(
        respond_url(link, 1),
        {
            keys["We trust each other."]: "2",
            keys["We share information openly."]: "dk",
            keys["Decisions are made jointly."]: "5",
            "comment": "Half done.",
        },
    )

    # Another browser, the next day: only the link is the same.
    page = Client().get(respond_url(link, 1))

    assert checked(page, keys["We trust each other."]) == "2"
    assert checked(page, keys["We share information openly."]) == "dk"
    assert checked(page, keys["Decisions are made jointly."]) == "5"
    assert "Half done." in page.content.decode()
    assert checked(Client().get(respond_url(link, 2)), keys["We deliver what we agree."]) is None
    assert not HeldResponse.objects.exists()


def test_it_shows_an_error_summary_and_keeps_the_answers_given(
    link: Invitation, keys: dict[str, str]
) -> None:
    client = Client()

    page = client.post(respond_url(link, 1), {keys["We trust each other."]: "4"})

    assert page.status_code == 200
    text = page_text(page)
    assert "There is a problem" in text
    assert "Choose an answer for “We share information openly.”, or “Don't know”." in text
    assert "Choose an answer for “Decisions are made jointly.”" in text
    assert "Choose an answer for “We trust each other.”" not in text
    assert re.search(r"<title>\s*Error:", page.content.decode())
    assert checked(page, keys["We trust each other."]) == "4"
    # The answer given is also saved, so leaving now loses nothing.
    link.refresh_from_db()
    assert link.draft["answers"] == {keys["We trust each other."]: 4}


def test_it_refuses_to_send_while_answers_are_missing(
    link: Invitation, keys: dict[str, str]
) -> None:
    Invitation.objects.filter(pk=link.pk).update(
        draft={"answers": {keys["We trust each other."]: 4}}
    )
    client = Client()

    page = client.post(check_url(link), follow=True)

    assert "3 statements still need an answer" in page_text(page)
    assert "Some statements have no answer yet" in page_text(page)
    assert not HeldResponse.objects.exists()
    link.refresh_from_db()
    assert link.answered is False


def test_it_ignores_answers_outside_the_scale(link: Invitation, keys: dict[str, str]) -> None:
    page = Client().post(
        respond_url(link, 1),
        {
            keys["We trust each other."]: "9",
            keys["We share information openly."]: "3",
            keys["Decisions are made jointly."]: "3",
        },
    )

    assert page.status_code == 200
    assert "There is a problem" in page_text(page)
    link.refresh_from_db()
    assert keys["We trust each other."] not in link.draft["answers"]


# Refused links ------------------------------------------------------------------------


def test_it_refuses_a_used_link_with_a_plain_message(
    link: Invitation, keys: dict[str, str]
) -> None:
    Invitation.objects.filter(pk=link.pk).update(draft={"answers": all_answers(keys)})
    Client().post(check_url(link))

    for url in (respond_url(link), respond_url(link, 1), check_url(link)):
        again = Client().post(url)
        assert again.status_code == 410, url
        assert "This link has been used" in page_text(again)
        assert "Traceback" not in page_text(again)
    assert HeldResponse.objects.count() == 1
    close_and_seal(link.round)
    assert Response.objects.count() == 1
    assert Rating.objects.count() == 4


def test_it_refuses_a_second_submission_of_the_same_invitation(
    link: Invitation, keys: dict[str, str]
) -> None:
    stale = Invitation.objects.get(pk=link.pk)
    services.response_submit(invitation=link, answers=all_answers(keys, 5), comments={})

    # A copy of the invitation read before the first submission cannot store again.
    with pytest.raises(services.InvitationProblem, match="has been used"):
        services.response_submit(invitation=stale, answers=all_answers(keys, 1), comments={})

    assert HeldResponse.objects.count() == 1
    close_and_seal(link.round)
    assert Response.objects.count() == 1
    assert set(Rating.objects.values_list("raw", flat=True)) == {5}


def test_it_says_a_closed_round_has_closed(link: Invitation, round: Round) -> None:
    Round.objects.filter(pk=round.pk).update(
        opens_at=timezone.now() - dt.timedelta(days=20),
        closes_at=timezone.now() - dt.timedelta(days=2),
    )

    for url in (respond_url(link), respond_url(link, 1), check_url(link)):
        page = Client().get(url)
        assert page.status_code == 410, url
        assert "This health check closed on" in page_text(page)
        assert "the link no longer works" in page_text(page)


def test_it_says_when_a_round_will_open(link: Invitation, round: Round) -> None:
    opens = timezone.now() + dt.timedelta(days=3)
    Round.objects.filter(pk=round.pk).update(opens_at=opens, closes_at=opens + dt.timedelta(days=7))

    page = Client().get(respond_url(link, 1))

    assert page.status_code == 410
    assert f"This health check opens on {timezone.localtime(opens):%-d %B %Y}" in page_text(page)
    assert not HeldResponse.objects.exists()


@pytest.mark.parametrize(
    "token", ["x" * 43, "short", "a" * 150, "pTi3uPuKvgHpnFlGlBtRio0rIXX9wS6PqE87PeV3Utc"]
)
def test_it_answers_an_unknown_link_with_a_404_page(db: None, token: str) -> None:
    page = Client().get(reverse("healthcheck-respond", args=[token]))

    assert page.status_code == 404
    assert "This link is not one we know" in page_text(page)
    assert "ask the partnership manager for your link" in page_text(page)


def test_it_ties_each_link_to_its_own_round(
    link: Invitation, keys: dict[str, str], dave: User, partnership_a: Partnership
) -> None:
    other_framework = outline_framework(
        partnership_a, title="Second framework", outline="# Part\n## Only\n- Only statement.\n"
    )
    other_round = make_round(partnership_a, other_framework, title="Autumn pulse")
    other_link = invite(other_round, dave.memberships.get())
    Invitation.objects.filter(pk=link.pk).update(draft={"answers": all_answers(keys)})

    Client().post(check_url(link))

    assert list(HeldResponse.objects.values_list("round", flat=True)) == [link.round_id]
    # The other round's link is untouched and still asks its own questions.
    page = Client().get(respond_url(other_link, 1))
    assert page.status_code == 200
    assert "Only statement." in page_text(page)
    assert "We trust each other." not in page_text(page)
    other_link.refresh_from_db()
    assert other_link.answered is False
    # Answers for one round's statements cannot be sent with the other round's link.
    with pytest.raises(ValidationError, match="is not a statement of this framework"):
        services.response_check(invitation=other_link, answers=all_answers(keys), comments={})


# Guessing links ----------------------------------------------------------------------


def test_it_slows_down_an_address_that_guesses_links(
    link: Invitation, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = 3
    monkeypatch.setattr(guessing, "TOKEN_WINDOW_SECONDS", window)
    guesser = Client(REMOTE_ADDR="203.0.113.9")
    neighbour = Client(REMOTE_ADDR="203.0.113.10")
    started = time.monotonic()

    for number in range(guessing.TOKEN_FAILURES_ALLOWED):
        wrong = guesser.get(reverse("healthcheck-respond", args=[f"{number:04d}" + "x" * 39]))
        assert wrong.status_code == 404
    blocked = guesser.get(reverse("healthcheck-respond", args=["y" * 43]))
    right_while_waiting = guesser.get(respond_url(link))
    elapsed = time.monotonic() - started

    assert elapsed < window, "the guesses took longer than the window; the test proves nothing"
    assert blocked.status_code == 429
    assert "Too many wrong links have come from your connection" in page_text(blocked)
    # A right link always works, even from an address that must wait (a shared connection).
    assert right_while_waiting.status_code == 200
    # Another address is not held up by the guesser.
    assert neighbour.get(reverse("healthcheck-respond", args=["y" * 43])).status_code == 404

    # The window runs from the first wrong link, which came after `started`.
    time.sleep(window + 0.2)
    assert guesser.get(reverse("healthcheck-respond", args=["y" * 43])).status_code == 404


def test_it_does_not_count_right_links_as_guesses(link: Invitation) -> None:
    client = Client(REMOTE_ADDR="203.0.113.20")

    for _ in range(guessing.TOKEN_FAILURES_ALLOWED + 5):
        assert client.get(respond_url(link)).status_code == 200

    assert client.get(reverse("healthcheck-respond", args=["z" * 43])).status_code == 404


# Many members at once ---------------------------------------------------------------


def _submit_all(tokens: list[str]) -> list[int]:
    """POST each token's check page from its own thread, all released together."""
    barrier = threading.Barrier(len(tokens))
    statuses: list[int] = [0] * len(tokens)
    errors: list[BaseException] = []

    def send(index: int, token: str) -> None:
        try:
            client = Client(REMOTE_ADDR=f"198.51.100.{index % 250}")
            barrier.wait(timeout=30)
            statuses[index] = client.post(
                reverse("healthcheck-respond-check", args=[token])
            ).status_code
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i, t)) for i, t in enumerate(tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return statuses


def _ready_links(
    partnership: Partnership, organisation: Organisation, count: int
) -> tuple[Round, list[Invitation]]:
    framework = outline_framework(partnership)
    round = make_round(partnership, framework)
    draft = {"answers": dict.fromkeys(statement_keys(framework).values(), 4)}
    links = []
    for _ in range(count):
        invitation = invite(round, add_member(partnership, organisation, side="Staff side"))
        Invitation.objects.filter(pk=invitation.pk).update(draft=draft)
        links.append(invitation)
    return round, links


@pytest.mark.django_db(transaction=True)
def test_it_stores_fifty_members_submitting_at_once(
    partnership_a: Partnership, union: Organisation
) -> None:
    round, links = _ready_links(partnership_a, union, 50)

    statuses = _submit_all([link.token for link in links])

    assert statuses == [302] * 50
    assert HeldResponse.objects.filter(round=round).count() == 50
    close_and_seal(round)
    assert not HeldResponse.objects.exists()
    assert Response.objects.filter(round=round).count() == 50
    assert Rating.objects.filter(round=round).count() == 50 * 4
    assert not Invitation.objects.filter(round=round, answered=False).exists()


@pytest.mark.django_db(transaction=True)
def test_it_stores_one_link_once_however_often_it_is_sent_at_once(
    partnership_a: Partnership, union: Organisation
) -> None:
    round, (link,) = _ready_links(partnership_a, union, 1)

    statuses = _submit_all([link.token] * 10)

    assert sorted(statuses) == [302] + [410] * 9
    assert HeldResponse.objects.filter(round=round).count() == 1
    close_and_seal(round)
    assert Response.objects.filter(round=round).count() == 1
    assert (
        Rating.objects.filter(round=round).count()
        == Statement.objects.filter(framework=round.framework).count()
    )
