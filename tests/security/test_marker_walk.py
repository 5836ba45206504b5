"""Marker payloads in every free-text column, then every page, export, PDF source, email
and calendar file that shows them: the markers must come out as text only.

The demo gives every kind of object; the walker writes a payload (htmx attributes,
on* handlers, <script>, <svg>, javascript: links, template syntax) into every
free-text column of every project model, then opens every route as the demo's
manager and as a plain member, and the personal links as an anonymous visitor.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import openpyxl
import pytest
from django.apps import apps
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.http import HttpResponse
from django.test import Client, override_settings
from django.utils import timezone

from partnerwell.core import digest
from partnerwell.core.models import MemberImport, Membership, Partnership, Role, User
from partnerwell.delivery import priorities as priority_services
from partnerwell.delivery.models import Priority
from partnerwell.healthcheck.models import Invitation, Principle, ResultsPdf, Round
from partnerwell.meetings.models import Meeting
from tests.healthcheck.builders import outline_framework
from tests.security.markers import MARK, check_html
from tests.security.walker import (
    Written,
    fill,
    fill_values,
    page_routes,
    route_kwargs,
    spread,
    target_model,
    visible,
    write_payloads,
)

MANAGER = "manager@example.org"
MEMBER = "member@example.org"
MORE = 25  # further objects tried for a page none of the first ones opens
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# Routes a signed-in GET may not open with the demo, and why that loses nothing.
NOT_SHOWN = {
    "login": "a signed-in person is sent on; the page shows no stored text",
    "healthcheck-download-results-pdf": "a PDF file; its HTML source is checked below",
    "meetings-download-pack": "a PDF file; its cover's HTML source is checked below",
}
# Pages that need a query string to show anything.
QUERIES: dict[str, Callable[[Any], list[str]]] = {
    "delivery-create-action": lambda round: [
        f"?principle={p}"
        for p in Principle.objects.filter(framework=round.framework).values_list("pk", flat=True)[
            :1
        ]
    ],
    "meetings-export-attendance": lambda _: ["?format=csv", "?format=xlsx"],
}


@dataclass
class World:
    manager: User
    member: User
    written: Written
    answer_token: str
    answer_steps: int
    tokens: dict[str, str]
    extra_urls: list[str] = field(default_factory=list)


def _extras(manager: User) -> tuple[str, int, dict[str, str]]:
    """Objects the demo may lack: an open ballot, a pending import, a PDF, personal links."""
    forum = Partnership.objects.filter(memberships__person=manager).order_by("pk").last()
    assert forum is not None
    own = Membership.objects.filter(person=manager, partnership=forum).first()
    priorities = list(Priority.objects.filter(partnership=forum)[:3]) or [
        Priority.objects.create(partnership=forum, title=f"Priority {n}") for n in range(3)
    ]
    for method in ("points", "rating"):
        priority_services.vote_open(
            partnership=forum,
            by=manager,
            title=f"Walker's {method} vote",
            method=method,
            candidates=priorities,
            opens_at=timezone.now() - dt.timedelta(hours=1),
            closes_at=timezone.now() + dt.timedelta(days=7),
            anonymity_floor=3,
        )
    # A framework of the partnership's own, as its manager writes one in the browser.
    outline_framework(forum, title="Our own framework", by=manager)
    MemberImport.objects.create(
        partnership=forum,
        created_by=manager,
        filename="members.csv",
        rows=[
            {
                "line": 2,
                "organisation": "Org",
                "sector": "voluntary",
                "name": "Someone New",
                "email": "someone.new@example.org",
                "role": Role.MEMBER,
                "side": "",
                "decision_maker": False,
                "end_date": "",
            }
        ],
    )
    round = Round.objects.filter(
        opens_at__lte=timezone.now(), closes_at__gte=timezone.now()
    ).first()
    assert round is not None, "the demo has an open health check"
    for round_ in Round.objects.all()[:2]:
        ResultsPdf.objects.create(round=round_, requested_by=manager, error="Failed.")
    # A fresh link for someone already asked: answers are not tied to links, so nothing clashes.
    old = round.invitations.order_by("pk").last()
    assert old is not None
    membership = old.membership
    old.delete()
    invitation = Invitation.build(round=round, membership=membership)
    invitation.save()
    steps = round.framework.areas.count()
    meeting = Meeting.objects.filter(partnership=forum).order_by("starts_at").last()
    assert meeting is not None and own is not None
    # The review open, and its shared link taking answers where the model has that switch.
    switches = {f.name for f in Meeting._meta.fields} & {"review_open", "review_shared_link"}
    Meeting.objects.filter(pk=meeting.pk).update(**dict.fromkeys(switches, True))
    kind = digest.sections()[0].kind
    tokens = {
        "meetings-respond-review": meeting.review_token,
        "delivery-unsubscribe-digest": digest.unsubscribe_token(manager, kind),
    }
    return invitation.token, steps, tokens


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """The demo with payloads in every free-text column, rolled back after the module."""
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
    ):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            call_command("demo", verbosity=0)
            manager = User.objects.get(email=MANAGER)
            member = User.objects.get(email=MEMBER)
            token, steps, tokens = _extras(manager)
            written = write_payloads()
            yield World(manager, member, written, token, steps, tokens)
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@dataclass
class Visit:
    url: str
    status: int
    problems: list[str]
    shows_marker: bool


def _check(response: HttpResponse, url: str) -> tuple[list[str], bool]:
    """Problems in one response, by its kind, and whether it shows a marker as text."""
    kind = response.get("Content-Type", "").split(";")[0]
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if kind == "text/html":
        findings = check_html(body, url)
        return findings.problems, findings.shows_marker
    if kind == "text/calendar":
        lines = body.decode().split("\r\n")
        forged = [line for line in lines if line.startswith(("X-PWMARK", "SUMMARY:pwmark"))]
        return [f"{url}: a calendar line from user text: {line!r}" for line in forged], (
            MARK in body.decode()
        )
    if kind == "text/csv":
        cells = [c for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for c in row]
        return _formulas(cells, url), any(MARK in c for c in cells)
    if "spreadsheetml" in kind:
        book = openpyxl.load_workbook(io.BytesIO(body))
        values = [c for sheet in book for row in sheet.iter_rows() for c in row]
        problems = [f"{url}: formula in {c.coordinate}" for c in values if c.data_type == "f"]
        strings = [c.value for c in values if isinstance(c.value, str)]
        return problems + _formulas(strings, url), any(MARK in s for s in strings)
    return [], False


def _formulas(cells: list[str], url: str) -> list[str]:
    return [
        f"{url}: a cell starts a formula: {c[:40]!r}"
        for c in cells
        if MARK in c and c.startswith(FORMULA_START)
    ]


def _visit(client: Client, url: str) -> Visit:
    response = client.get(url)
    if response.status_code != 200:
        return Visit(url, response.status_code, [], False)
    problems, shows = _check(response, url)
    return Visit(url, 200, problems, shows)


def _urls_for(world: World, user: User, route: str, name: str, count: int) -> list[str]:
    names = route_kwargs(route)
    if not names:
        return [fill(route, {})]
    if name.startswith("healthcheck-respond"):
        return []  # walked by the anonymous visitor below
    if name in FEEDS:
        return _feed_urls(user, name)
    if "token" in names:
        return [fill(route, {"token": world.tokens[name]})]
    model = target_model(route)
    assert model is not None, f"{route}: teach the walker which model its ids name"
    partnerships = list(user.memberships.values_list("partnership_id", flat=True))
    rows = visible(apps.get_model(model), partnerships)
    chosen = spread(rows, count)
    # Then the others, tried only while none of the chosen ones opens the page.
    rest = list(rows.exclude(pk__in=[o.pk for o in chosen]).order_by("pk")[:MORE])
    urls = []
    for obj in chosen + rest:
        url = fill(route, fill_values(obj, route))
        queries = QUERIES[name](obj) if name in QUERIES else [""]
        urls += [url + q for q in queries]
    return urls


FEEDS = {
    "meetings-view-personal-feed": "/calendar/me/",
    "meetings-view-partnership-feed": "/calendar/partnership/",
}


def _feed_urls(user: User, name: str) -> list[str]:
    """The secret feed addresses, as the person finds them on their partnerships' feeds pages."""
    client = Client()
    client.force_login(user)
    found: set[str] = set()
    for partnership_id in user.memberships.values_list("partnership_id", flat=True)[:3]:
        page = client.get(f"/partnerships/{partnership_id}/calendar/").content.decode()
        found |= set(re.findall(r"(/calendar/[a-z]+/[\w-]+\.ics)", page))
    return sorted(u for u in found if u.startswith(FEEDS[name]))


def _walk(world: World, user: User, count: int, *, more: bool) -> dict[str, list[Visit]]:
    client = Client()
    client.force_login(user)
    visits: dict[str, list[Visit]] = {}
    for route, pattern in page_routes():
        name = pattern.name or route
        urls = _urls_for(world, user, route, name, count)
        visits[name] = [_visit(client, url) for url in urls[:count]]
        for url in urls[count:] if more else []:
            if any(v.status == 200 for v in visits[name]):
                break
            visits[name].append(_visit(client, url))
    return visits


def _report(visits: dict[str, list[Visit]]) -> list[str]:
    return [p for vs in visits.values() for v in vs for p in v.problems]


@pytest.mark.django_db
def test_it_writes_markers_into_every_free_text_column(world: World) -> None:
    assert not world.written.skipped, world.written.skipped
    # The columns the ballot attack and the answer page used are among them.
    assert {
        "delivery.Priority.title",
        "delivery.Priority.description",
        "healthcheck.Statement.text",
        "healthcheck.Response.comments",
    } <= world.written.columns
    assert Priority.objects.filter(title__contains=MARK).exists()


@pytest.mark.django_db
def test_it_shows_markers_only_as_text_on_every_page_a_manager_opens(world: World) -> None:
    visits = _walk(world, world.manager, count=3, more=True)

    assert _report(visits) == []
    shown = {name for name, vs in visits.items() if any(v.status == 200 for v in vs)}
    with_marker = {name for name, vs in visits.items() if any(v.shows_marker for v in vs)}
    refused = {
        name: sorted({v.status for v in vs})
        for name, vs in visits.items()
        if vs and name not in shown and name not in NOT_SHOWN
    }
    # Every page a GET can open was opened; only POST-only routes answer 405.
    not_opened = {n: s for n, s in refused.items() if s != [405]}
    assert not_opened == {}, "; ".join(f"{n} {s}" for n, s in sorted(not_opened.items()))
    assert {"delivery-view-vote", "core-view-partnership", "meetings-view-meeting"} <= with_marker
    assert len(with_marker) > 60, sorted(shown - with_marker)


@pytest.mark.django_db
def test_it_shows_markers_only_as_text_to_a_plain_member(world: World) -> None:
    visits = _walk(world, world.member, count=1, more=False)

    assert _report(visits) == []
    assert sum(v.shows_marker for vs in visits.values() for v in vs) > 30


@pytest.mark.django_db
def test_it_shows_markers_only_as_text_on_the_anonymous_answer_pages(world: World) -> None:
    client = Client()
    token = world.answer_token
    pages = [f"/r/{token}/"] + [f"/r/{token}/{n}/" for n in range(1, world.answer_steps + 1)]
    visits = [_visit(client, url) for url in pages]
    # Unanswered questions come back with error messages naming each statement.
    unanswered = client.post(f"/r/{token}/1/", {"go": "next"})
    assert unanswered.status_code == 200
    errors = check_html(unanswered.content, "errors")
    check = _visit(client, f"/r/{token}/check/")

    assert [v.status for v in visits] == [200] * len(visits)
    assert [p for v in visits for p in v.problems] + errors.problems + check.problems == []
    assert all(v.shows_marker for v in visits[1:])
    assert errors.shows_template_syntax
    assert re.search(r"Choose an answer for .{0,20}pwmark", unanswered.content.decode())


@pytest.mark.django_db
def test_it_keeps_markers_as_text_in_the_pdf_sources(world: World) -> None:
    from partnerwell.healthcheck import exports, results
    from partnerwell.meetings import pack as packs
    from partnerwell.meetings.models import PapersPack

    problems: list[str] = []
    shown = 0
    for round in Round.objects.filter(responses__isnull=False).distinct()[:2]:
        html = exports.render_to_string(
            exports.PRINT_TEMPLATE,
            {
                "results": results.round_results(round),
                "partnership": round.partnership.name,
                "opens_at": round.opens_at,
                "closes_at": round.closes_at,
            },
        )
        findings = check_html(html, f"results PDF of round {round.pk}")
        problems += findings.problems
        shown += findings.shows_marker
    for pack in PapersPack.objects.select_related("meeting")[:2]:
        html = packs._front_html(pack, packs.prepare(pack.meeting), None)
        findings = check_html(html, f"papers pack {pack.pk}")
        problems += findings.problems
        shown += findings.shows_marker

    assert problems == []
    assert shown >= 3


@pytest.mark.django_db
def test_it_sends_user_text_only_in_plain_text_emails(world: World) -> None:
    from partnerwell.delivery.tasks import send_digests
    from partnerwell.healthcheck.tasks import send_round_reminders
    from partnerwell.meetings.models import PapersPack
    from partnerwell.meetings.tasks import send_pack_emails

    round = Round.objects.filter(closes_at__gte=timezone.now()).first()
    assert round is not None
    send_round_reminders.call(round.pk)
    pack = PapersPack.objects.first()
    assert pack is not None
    send_pack_emails.call(pack.pk)
    send_digests.call()

    assert len(mail.outbox) > 3
    for message in mail.outbox:
        # A plain-text body is never read as markup; an HTML part would be.
        assert message.content_subtype == "plain"
        assert not getattr(message, "alternatives", [])
        assert "\n" not in message.subject
    assert any(MARK in m.body for m in mail.outbox)
