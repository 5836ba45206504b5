"""Benchmark the partnership page's dashboard panels on national-scale data.

    .venv/bin/python bench/dashboard_bench.py               # full national data, 4-8 minutes
    .venv/bin/python bench/dashboard_bench.py --small       # 1/20 scale, shorter load runs
    .venv/bin/python bench/dashboard_bench.py --keep --repeat 51 --duration 30 --connections 4

It makes its own PostgreSQL database (partnerwell_dash_bench on the server
--database-url names; dropped at the end unless --keep), migrates it, and:

1. runs the national generator (bench/generate.py: 1,000 partnerships, 25,000
   members, 5 health-check rounds each) into it, then adds delivery records to
   every partnership from a seed, with COPY: about 20 actions of every status,
   3 outcomes with 10 measures of 24 monthly values (baseline, two targets;
   some on track, some behind, some no longer updated), 15 risks (some overdue
   for review, many above target), a few issues and wins. Dates are relative
   to today, so "overdue" means what it will mean on the page. One small
   partnership gets very little (2 actions, 1 measure of 3 values, 2 risks, 1
   issue, 1 win) and the largest gets ten times as much as usual (200
   actions, 100 measures of 120 values, 150 risks, 40 issues, 40 wins); then
   VACUUM ANALYZE;
2. in this process, with Django's test Client logged in as a manager (a
   session made with SessionStore), requests /partnerships/<id>/ for the
   little, the typical (median size) and the large partnership, one new
   partnership with no records at all, and a bare Django view (/bench-bare/,
   bench/bench_urls.py), interleaved, --repeat times each: median and fastest
   server time, time in SQL, and the number of SQL statements
   (CaptureQueriesContext), which must be the same for the little, typical
   and large partnership (PASS/FAIL); it runs EXPLAIN (ANALYZE, BUFFERS) on
   every statement of the typical and large pages and flags sequential scans
   of large tables;
3. starts gunicorn (partnerwell.wsgi, 2 sync workers, DEBUG off, settings
   bench.bench_settings = the project's settings + the bare view) on a free
   port of 127.0.0.1 and runs wrk (or, without wrk, a bounded Python load
   loop) against the typical partnership's page and the bare view on the same
   server, alternating short segments (page, bare, bare, page, ...) so both
   see the same machine: requests per second, the ratio page / bare, and
   p50 / p99 latency; the load average is recorded with every segment;
4. prints a table and writes bench/results/dashboard_bench.json.

The exit status is 1 when a check fails (statement count, or a page that did
not answer 200).
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import hashlib
import http.client
import itertools
import json
import os
import platform
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

import generate  # noqa: E402  (bench/generate.py, next to this file)

DB_NAME = "partnerwell_dash_bench"
DELIVERY_SEED_OFFSET = 7_919  # the delivery records' seed is --seed plus this
HEAVY_FACTOR = 10
LARGE_TABLE_ROWS = 1_000  # a sequential scan of a table larger than this is flagged
PAGES = ("little", "typical", "large", "empty", "bare")
MEASURED_FILES = (
    "partnerwell/core/views.py",
    "partnerwell/core/panels.py",
    "partnerwell/healthcheck/panel.py",
    "partnerwell/healthcheck/results.py",
    "partnerwell/delivery/panels.py",
    "partnerwell/delivery/measures.py",
    "partnerwell/delivery/risks.py",
    "partnerwell/templates/core/view_partnership.html",
    "partnerwell/templates/healthcheck/panel.html",
    "partnerwell/templates/delivery/panels/delivery.html",
)

WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format(
    'BENCHJSON {"requests": %.0f, "duration_us": %.0f, "bytes": %.0f, "connect_errors": %.0f, '
    .. '"read_errors": %.0f, "write_errors": %.0f, "status_errors": %.0f, "timeouts": %.0f, '
    .. '"p50_us": %.0f, "p90_us": %.0f, "p99_us": %.0f, "mean_us": %.1f, "max_us": %.0f}\\n',
    summary.requests, summary.duration, summary.bytes, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean,
    latency.max))
end
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL server to make the partnerwell_dash_bench database on "
        "(the database in the address is only used to connect)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--small", action="store_true", help="national data at 1/20 scale")
    parser.add_argument("--partnerships", type=int, default=1000)
    parser.add_argument("--members", type=int, default=25_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1, help="seed of the national data (1)")
    parser.add_argument("--repeat", type=int, help="in-process requests per page (31; small 15)")
    parser.add_argument(
        "--duration", type=float, help="seconds of load on each page in all (15; small 6)"
    )
    parser.add_argument("--segments", type=int, default=3, help="load segments per page (3)")
    parser.add_argument("--connections", type=int, default=4, help="open connections (4)")
    parser.add_argument(
        "--load-tool", choices=("auto", "wrk", "python"), default="auto", help="auto: wrk if found"
    )
    parser.add_argument(
        "--profile", action="store_true", help="also cProfile the typical page (into the JSON)"
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS / "dashboard_bench.json", help="JSON file to write"
    )
    args = parser.parse_args()
    if args.small:
        args.partnerships, args.members = 50, 1250
    args.repeat = args.repeat or (15 if args.small else 31)
    args.duration = args.duration or (6.0 if args.small else 15.0)
    if args.repeat < 3:
        parser.error("--repeat must be at least 3")
    if args.segments < 1 or args.duration / args.segments < 1:
        parser.error("each load segment needs at least one second")
    return args


def log(text: str = "") -> None:
    print(text, flush=True)


# ---------------------------------------------------------------------------
# Database and Django
# ---------------------------------------------------------------------------


@contextmanager
def bench_database(args: argparse.Namespace) -> Iterator[str]:
    """A new PostgreSQL database for this run; its DATABASE_URL is yielded."""
    import psycopg

    parts = urlsplit(args.database_url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise SystemExit("--database-url must be a postgres:// address.")
    if parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise SystemExit("This benchmark only talks to a database on 127.0.0.1.")
    admin_url = urlunsplit(parts._replace(scheme="postgresql"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DB_NAME}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{DB_NAME}"))
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        if not args.keep:
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def server_environment(database_url: str) -> dict[str, str]:
    """Production-like settings (DEBUG off), the same here and in gunicorn.

    The secret key is made for this run only: sessions made here are signed
    with it and gunicorn must check them with the same key.
    """
    return {
        "DJANGO_SETTINGS_MODULE": "bench.bench_settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "STATIC_MANIFEST": "false",
        "DATABASE_URL": database_url,
        "TASKS_BACKEND": "immediate",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "LOG_LEVEL": "WARNING",
    }


def setup_django(environment: dict[str, str]) -> None:
    os.environ.update(environment)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


# ---------------------------------------------------------------------------
# The partnerships measured
# ---------------------------------------------------------------------------


def choose_partnerships() -> dict[str, dict[str, Any]]:
    """A little, a typical (median) and the largest partnership of the same shape.

    Same shape, so that only the amount of data differs: no parent (the page
    then looks the parent up), a latest round and the round before it both on
    good governance and both with enough answers to show results (so the
    change between rounds is worked out), and a current chair or manager.
    """
    from django.db.models import Count
    from django.utils import timezone

    from partnerwell.core.models import MANAGING_ROLES, Membership, Partnership
    from partnerwell.healthcheck.models import Response, Round

    now = timezone.now()
    members = dict(
        Membership.objects.current()
        .values("partnership_id")
        .annotate(n=Count("id"))
        .values_list("partnership_id", "n")
    )
    managed = set(
        Membership.objects.current()
        .filter(role__in=MANAGING_ROLES)
        .values_list("partnership_id", flat=True)
    )
    responded = dict(
        Response.objects.values("round_id").annotate(n=Count("id")).values_list("round_id", "n")
    )
    rounds: dict[int, list[tuple[int, str, int, dt.datetime]]] = defaultdict(list)
    for pid, rid, key, floor, closes in (
        Round.objects.filter(opens_at__lte=now)
        .order_by("partnership_id", "-opens_at")
        .values_list("partnership_id", "id", "framework__key", "anonymity_floor", "closes_at")
    ):
        rounds[pid].append((rid, key, floor, closes))
    candidates = []
    for pid in Partnership.objects.filter(parent__isnull=True).values_list("pk", flat=True):
        latest_two = rounds.get(pid, [])[:2]
        if (
            len(latest_two) == 2
            and pid in managed
            and all(key == "good-governance" for _, key, _, _ in latest_two)
            and all(responded.get(rid, 0) >= floor for rid, _, floor, _ in latest_two)
            and latest_two[0][3] <= now
        ):
            candidates.append((members.get(pid, 0), pid, responded[latest_two[0][0]]))
    if len(candidates) < 3:
        raise SystemExit("Too few partnerships of the same shape; use more partnerships.")
    candidates.sort()
    picked = {
        "little": candidates[0],
        "typical": candidates[len(candidates) // 2],
        "large": candidates[-1],
    }
    return {
        role: {"id": pid, "members": n, "latest_round_responses": answered}
        for role, (n, pid, answered) in picked.items()
    }


def make_empty_partnership() -> dict[str, Any]:
    """A new partnership with one manager and no records, rounds or other members."""
    from partnerwell.core.models import Membership, Organisation, Partnership, Role, User

    partnership = Partnership.objects.create(name="Bench partnership with no records", kind="other")
    person = User.objects.create(
        email="empty-manager@dashboard.bench.example", name="Bench Manager"
    )
    Membership.objects.create(
        partnership=partnership,
        person=person,
        organisation=Organisation.objects.order_by("pk").first(),
        role=Role.MANAGER,
    )
    return {"id": partnership.pk, "members": 1, "latest_round_responses": None}


def manager_of(partnership_id: int) -> Any:
    """A current manager of the partnership (else its chair, else a co-chair)."""
    from partnerwell.core.models import Membership, Role

    order = {Role.MANAGER: 0, Role.CHAIR: 1, Role.CO_CHAIR: 2}
    memberships = list(
        Membership.objects.current()
        .filter(partnership_id=partnership_id, role__in=list(order))
        .select_related("person")
        .order_by("pk")
    )
    memberships.sort(key=lambda m: order[m.role])
    return memberships[0]


def session_for(user: Any) -> str:
    """A logged-in session for the user, stored as the login view would store it."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return store.session_key


# ---------------------------------------------------------------------------
# Delivery records
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """How many delivery records one partnership gets."""

    outcomes: int
    measures: int
    points: int  # monthly values per measure
    actions: int
    risks: int
    issues: int
    wins: int


LITTLE = Plan(outcomes=1, measures=1, points=3, actions=2, risks=2, issues=1, wins=1)


def usual_plan(rnd: random.Random) -> Plan:
    return Plan(
        outcomes=3,
        measures=10,
        points=24,
        actions=rnd.randint(15, 25),
        risks=rnd.randint(12, 18),
        issues=rnd.randint(2, 6),
        wins=rnd.randint(2, 6),
    )


HEAVY = Plan(
    outcomes=3 * HEAVY_FACTOR,
    measures=10 * HEAVY_FACTOR,
    points=120,
    actions=20 * HEAVY_FACTOR,
    risks=15 * HEAVY_FACTOR,
    issues=4 * HEAVY_FACTOR,
    wins=4 * HEAVY_FACTOR,
)

OUTCOMES = [
    "Fewer people sleep rough",
    "Children are ready for school",
    "Older people live well at home",
    "People get mental health help early",
    "More local people in good jobs",
    "Homes are warm and safe",
    "Neighbourhoods feel safe",
    "Carers get a break",
]
MEASURE_TITLES = [
    ("People supported", "people", "how_much"),
    ("Referrals seen within 28 days", "%", "how_well"),
    ("Average wait", "days", "how_well"),
    ("People who say they are better off", "%", "better_off"),
    ("Rate per 100,000", "per 100,000", "population"),
    ("Sessions delivered", "sessions", "how_much"),
    ("Repeat contacts", "%", "how_well"),
    ("Households helped", "households", "how_much"),
]
ACTION_TITLES = [
    "Agree the data-sharing protocol",
    "Map services for {o}",
    "Draft the joint commissioning plan",
    "Hold a workshop with frontline staff",
    "Report back on the pilot",
    "Set up the steering group",
    "Review the referral pathway",
    "Write to partners about funding",
    "Recruit community champions",
    "Publish the annual report",
]
RISK_TITLES = [
    "Funding ends before the work is done",
    "Partners stop sending decision-makers",
    "Data cannot be shared in time",
    "Staff turnover loses key knowledge",
    "The public loses confidence",
    "Demand outgrows capacity",
    "Priorities of member organisations diverge",
    "Governance is unclear for joint decisions",
]
ISSUE_TITLES = [
    "Who chairs the sub-group",
    "Venue for meetings",
    "Budget for the evaluation",
    "Terms of reference out of date",
    "Minutes take too long to arrive",
]
WIN_TITLES = [
    "New shared front door opened",
    "Funding bid succeeded",
    "Waiting list halved",
    "Award for joint working",
    "First joint training day",
]
ACTION_STATUS_WEIGHTS = {
    "done": 40,
    "in_progress": 18,
    "agreed": 22,
    "proposed": 8,
    "dropped": 6,
}
RISK_CATEGORIES = [
    "governance",
    "relationships",
    "resources",
    "delivery",
    "information",
    "reputation",
    "other",
]


def month_end(day: dt.date, back: int) -> dt.date:
    """The last day of the month `back` months before day's month."""
    index = day.year * 12 + day.month - 1 - back
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, calendar.monthrange(year, month + 1)[1])


def _weighted(rnd: random.Random, weights: dict[str, int]) -> str:
    return rnd.choices(list(weights), weights=list(weights.values()))[0]


def _trajectory(line: list[tuple[dt.date, float]], day: dt.date) -> float:
    if day <= line[0][0]:
        return line[0][1]
    for (a_on, a), (b_on, b) in itertools.pairwise(line):
        if day <= b_on:
            return a + (b - a) * (day - a_on).days / (b_on - a_on).days
    return line[-1][1]


def add_delivery(
    *, seed: int, today: dt.date, plans: dict[int, Plan], default: Plan | None = None
) -> dict[str, Any]:
    """Delivery records for every partnership, with COPY; returns counts and seconds.

    plans gives some partnerships their own plan; the others get usual_plan.
    The first action of each partnership is overdue, its first risk overdue
    for review and above target, and its first issue open, so every part of
    the panel has something to list.
    """
    from django.db import connection

    from partnerwell.core.models import Membership, Partnership
    from partnerwell.delivery.models import Measure, Outcome

    started = time.perf_counter()
    rnd = random.Random(seed + DELIVERY_SEED_OFFSET)
    writer = generate.BulkWriter()
    now = generate._at(today)
    last_month = month_end(today, 1)

    owners: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    current = set(Membership.objects.current().values_list("pk", flat=True))
    everyone: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for pk, pid, org, person in Membership.objects.order_by("pk").values_list(
        "pk", "partnership_id", "organisation_id", "person_id"
    ):
        everyone[pid].append((pk, org, person))
        if pk in current:
            owners[pid].append((pk, org, person))
    partnership_ids = list(Partnership.objects.order_by("pk").values_list("pk", flat=True))
    plan_of = {
        pid: plans.get(pid) or default or usual_plan(rnd)
        for pid in partnership_ids
        if everyone.get(pid)
    }

    # Outcomes and measures go through the ORM: their ids are needed below.
    outcome_rows = []
    for pid, plan in plan_of.items():
        for i in range(plan.outcomes):
            outcome_rows.append(
                Outcome(
                    partnership_id=pid,
                    title=OUTCOMES[(pid + i) % len(OUTCOMES)],
                    for_whom="Residents",
                )
            )
    outcomes = Outcome.objects.bulk_create(outcome_rows, batch_size=2000)
    outcomes_of: dict[int, list[int]] = defaultdict(list)
    for o in outcomes:
        outcomes_of[o.partnership_id].append(o.pk)

    specs = []
    measure_rows = []
    for pid, plan in plan_of.items():
        for i in range(plan.measures):
            title, unit, kind = MEASURE_TITLES[i % len(MEASURE_TITLES)]
            direction = "lower" if unit == "days" or rnd.random() < 0.3 else "higher"
            stale = rnd.choice((3, 5, 8)) if rnd.random() < 0.15 else 0
            first = month_end(last_month, stale + plan.points - 1)
            baseline_on = month_end(first, 1)
            base = rnd.uniform(20, 80)
            change = base * rnd.uniform(0.1, 0.3) * (1 if direction == "higher" else -1)
            line = [
                (baseline_on, base),
                (month_end(baseline_on, -12), base + change / 2),
                (month_end(baseline_on, -36), base + change),
            ]
            frequency = 31 if rnd.random() < 0.8 else 92
            specs.append(
                (
                    line,
                    rnd.choice((1.08, 1.0, 0.97, 0.85, 0.5, 0.1)),  # share of the plan achieved
                    [month_end(last_month, stale + k) for k in range(plan.points)][::-1],
                )
            )
            measure_rows.append(
                Measure(
                    partnership_id=pid,
                    outcome_id=outcomes_of[pid][i % len(outcomes_of[pid])],
                    title=f"{title} ({i + 1})",
                    kind=kind,
                    unit=unit,
                    direction=direction,
                    baseline_value=round(base, 1),
                    baseline_on=baseline_on,
                    frequency_days=frequency,
                )
            )
    measures = Measure.objects.bulk_create(measure_rows, batch_size=2000)
    measures_of: dict[int, list[int]] = defaultdict(list)
    targets = []
    points = []
    for measure, (line, achieved, periods) in zip(measures, specs, strict=True):
        measures_of[measure.partnership_id].append(measure.pk)
        for on, value in line[1:]:
            targets.append((measure.pk, round(value, 1), on))
        base = line[0][1]
        spread = abs(line[-1][1] - base) * 0.06
        for on in periods:
            value = base + (_trajectory(line, on) - base) * achieved + rnd.gauss(0, spread)
            points.append((measure.pk, on, round(max(0.0, value), 2), "", now))
    writer.insert("delivery_target", ("measure_id", "value", "target_on"), targets)
    with writer.loading("delivery_datapoint"):
        writer.insert(
            "delivery_datapoint",
            ("measure_id", "period_end", "value", "note", "entered_at"),
            points,
        )

    risks, issues, wins, actions = [], [], [], []
    for pid, plan in plan_of.items():
        people = owners.get(pid) or everyone[pid]
        for i in range(plan.risks):
            owner = rnd.choice(people) if rnd.random() < 0.9 else None
            likelihood = rnd.choice((1, 2, 2, 3, 3, 3, 4, 4, 5))
            impact = rnd.choice((1, 2, 3, 3, 3, 4, 4, 5, 5))
            target_l = max(1, likelihood - rnd.choice((0, 1, 1, 2)))
            target_i = max(1, impact - rnd.choice((0, 0, 1)))
            review_on = today + dt.timedelta(days=rnd.randint(-90, 120))
            status = "open" if rnd.random() < 0.85 else "closed"
            if i == 0:
                likelihood, impact, target_l, target_i, status = 4, 4, 2, 3, "open"
                review_on = today - dt.timedelta(days=14)
            reviewed = review_on - dt.timedelta(days=91)
            risks.append(
                (
                    pid,
                    RISK_TITLES[(pid + i) % len(RISK_TITLES)],
                    "",
                    "",
                    "",
                    rnd.choice(RISK_CATEGORIES),
                    owner[0] if owner else None,
                    owner[1] if owner else None,
                    likelihood,
                    impact,
                    "Quarterly review at the board.",
                    target_l,
                    target_i,
                    review_on,
                    reviewed if reviewed <= today else None,
                    status,
                    status == "open" and rnd.random() < 0.08,
                    now - dt.timedelta(days=rnd.randint(100, 700)),
                )
            )
        for i in range(plan.issues):
            raised_on = today - dt.timedelta(days=rnd.randint(1, 300))
            open_ = i == 0 or rnd.random() < 0.6
            resolved_on = min(today, raised_on + dt.timedelta(days=rnd.randint(1, 60)))
            raiser = rnd.choice(people)
            issues.append(
                (
                    pid,
                    ISSUE_TITLES[(pid + i) % len(ISSUE_TITLES)],
                    "",
                    raiser[0],
                    raised_on,
                    "open" if open_ else "resolved",
                    "" if open_ else "Agreed at the board.",
                    None if open_ else resolved_on,
                )
            )
        for i in range(plan.wins):
            outcome = rnd.choice(outcomes_of[pid]) if rnd.random() < 0.5 else None
            wins.append(
                (
                    pid,
                    WIN_TITLES[(pid + i) % len(WIN_TITLES)],
                    "",
                    today - dt.timedelta(days=rnd.randint(0, 400)),
                    outcome,
                    rnd.choice(people)[2],
                )
            )
        for i in range(plan.actions):
            owner = rnd.choice(people)
            due = today + dt.timedelta(days=rnd.randint(-365, 180))
            status = _weighted(rnd, ACTION_STATUS_WEIGHTS)
            if i == 0:
                status, due = "in_progress", today - dt.timedelta(days=10)
            done_on = None
            if status == "done":
                done_on = min(today, due + dt.timedelta(days=rnd.randint(-20, 30)))
            measure = rnd.choice(measures_of[pid]) if rnd.random() < 0.3 else None
            created = generate._at(min(due, today) - dt.timedelta(days=rnd.randint(30, 120)))
            actions.append(
                (
                    pid,
                    ACTION_TITLES[(pid + i) % len(ACTION_TITLES)].format(o="families"),
                    "",
                    owner[0],
                    owner[1],
                    due,
                    status,
                    "Overtaken by the new plan." if status == "dropped" else "",
                    done_on,
                    "",
                    measure,
                    created,
                    created,
                )
            )
    writer.insert(
        "delivery_risk",
        (
            "partnership_id",
            "title",
            "description",
            "cause",
            "effect",
            "category",
            "owner_id",
            "organisation_id",
            "likelihood",
            "impact",
            "controls",
            "target_likelihood",
            "target_impact",
            "review_on",
            "last_reviewed_on",
            "status",
            "escalate",
            "created_at",
        ),
        risks,
    )
    writer.insert(
        "delivery_issue",
        (
            "partnership_id",
            "title",
            "detail",
            "raised_by_id",
            "raised_on",
            "status",
            "resolution",
            "resolved_on",
        ),
        issues,
    )
    writer.insert(
        "delivery_win",
        ("partnership_id", "title", "detail", "won_on", "outcome_id", "recorded_by_id"),
        wins,
    )
    with writer.loading("delivery_action"):
        writer.insert(
            "delivery_action",
            (
                "partnership_id",
                "title",
                "detail",
                "owner_id",
                "organisation_id",
                "due_date",
                "status",
                "drop_reason",
                "done_on",
                "source",
                "measure_id",
                "created_at",
                "updated_at",
            ),
            actions,
        )
    with connection.cursor() as cursor:
        for table in (
            "delivery_outcome",
            "delivery_measure",
            "delivery_target",
            "delivery_datapoint",
            "delivery_risk",
            "delivery_issue",
            "delivery_win",
            "delivery_action",
        ):
            cursor.execute(f"ANALYZE {table}")
    counts = {
        "outcomes": len(outcomes),
        "measures": len(measures),
        "targets": len(targets),
        "data_points": len(points),
        "actions": len(actions),
        "risks": len(risks),
        "issues": len(issues),
        "wins": len(wins),
    }
    return {
        "counts": counts,
        "rows": sum(counts.values()),
        "seconds": time.perf_counter() - started,
        "partnerships": len(plan_of),
    }


def delivery_counts(partnership_id: int) -> dict[str, int]:
    from partnerwell.delivery.models import Action, DataPoint, Issue, Measure, Risk, Win

    return {
        "actions": Action.objects.filter(partnership_id=partnership_id).count(),
        "measures": Measure.objects.filter(partnership_id=partnership_id).count(),
        "data_points": DataPoint.objects.filter(measure__partnership_id=partnership_id).count(),
        "risks": Risk.objects.filter(partnership_id=partnership_id).count(),
        "issues": Issue.objects.filter(partnership_id=partnership_id).count(),
        "wins": Win.objects.filter(partnership_id=partnership_id).count(),
    }


def vacuum_analyze() -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


# ---------------------------------------------------------------------------
# In-process measurement
# ---------------------------------------------------------------------------


class StatementTimer:
    """Seconds spent executing each SQL statement of the wrapped calls."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.times.append(time.perf_counter() - start)


def normalise_sql(sql: str) -> str:
    """A statement with its literals replaced, to compare the statements of two pages."""
    sql = re.sub(r"'(?:[^']|'')*'", "'?'", sql)
    sql = re.sub(r"\b\d+(\.\d+)?\b", "?", sql)
    return re.sub(r"IN \((\?(, )?)+\)", "IN (?...)", sql)


def make_client(session_key: str) -> Any:
    from django.conf import settings
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.cookies[settings.SESSION_COOKIE_NAME] = session_key
    return client


def capture_page(client: Any, path: str) -> dict[str, Any]:
    """One request with every statement recorded (untimed)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    return {
        "status": response.status_code,
        "bytes": len(response.content),
        "content": response.content.decode("utf-8", "replace"),
        "queries": len(ctx.captured_queries),
        "sql": [q["sql"] for q in ctx.captured_queries],
    }


def panel_statements(chosen: dict[str, dict[str, Any]]) -> dict[str, dict[str, int]]:
    """How many SQL statements each registered panel's provider runs, for each partnership."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from partnerwell.core import panels
    from partnerwell.core.models import Partnership, User

    counts: dict[str, dict[str, int]] = {}
    for role, info in chosen.items():
        partnership = Partnership.objects.get(pk=info["id"])
        user = User.objects.get(pk=info["manager_person_id"])
        counts[role] = {}
        for panel in panels._panels:
            with CaptureQueriesContext(connection) as ctx:
                panel.provider(partnership, user)
            counts[role][panel.provider.__name__] = len(ctx.captured_queries)
    return counts


def panel_runners(chosen: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each registered panel's provider alone (no template) for the typical and large partnership.

    What a page costs beyond them is the view's own queries, the session,
    the middleware and rendering the templates.
    """
    from partnerwell.core import panels
    from partnerwell.core.models import Partnership, User

    runners = {}
    for role in ("typical", "large"):
        partnership = Partnership.objects.get(pk=chosen[role]["id"])
        user = User.objects.get(pk=chosen[role]["manager_person_id"])
        for panel in panels._panels:
            name = f"{role}:{panel.provider.__name__}"
            runners[name] = lambda f=panel.provider, p=partnership, u=user: f(p, u)
    return runners


def in_process(
    pages: dict[str, dict[str, Any]], parts: dict[str, Any], repeat: int
) -> dict[str, Any]:
    """Median server time of each page (and each panel alone), all interleaved, in this process.

    Every round runs every page and panel once, starting each round one
    further along the list, so whatever else the machine does falls on all alike.
    """
    from django.db import connection

    clients = {name: make_client(page["session"]) for name, page in pages.items()}
    captured = {name: capture_page(clients[name], page["path"]) for name, page in pages.items()}
    runners = {
        **{
            name: lambda c=clients[name], path=page["path"]: c.get(path).status_code
            for name, page in pages.items()
        },
        **{name: lambda f=run: f() and 200 for name, run in parts.items()},
    }
    names = list(runners)
    for name in names:  # a second warm-up each
        runners[name]()
    seconds: dict[str, list[float]] = {name: [] for name in names}
    in_sql: dict[str, list[float]] = {name: [] for name in names}
    statuses: Counter[tuple[str, int]] = Counter()
    load = [os.getloadavg()]
    for i in range(repeat):
        order = names[i % len(names) :] + names[: i % len(names)]
        for name in order:
            timer = StatementTimer()
            with connection.execute_wrapper(timer):
                start = time.perf_counter()
                status = runners[name]()
                elapsed = time.perf_counter() - start
            statuses[(name, status)] += 1
            seconds[name].append(elapsed)
            in_sql[name].append(sum(timer.times))
    load.append(os.getloadavg())

    def summary(name: str) -> dict[str, Any]:
        runs = seconds[name]
        return {
            "statuses": {str(k[1]): v for k, v in statuses.items() if k[0] == name},
            "seconds": runs,
            "median": statistics.median(runs),
            "min": min(runs),
            "p90": sorted(runs)[int(0.9 * (len(runs) - 1))],
            "in_sql_median": statistics.median(in_sql[name]),
            "in_python_median": statistics.median(
                a - b for a, b in zip(runs, in_sql[name], strict=True)
            ),
        }

    result = {}
    for name, page in pages.items():
        result[name] = {
            "path": page["path"],
            "status": captured[name]["status"],
            "bytes": captured[name]["bytes"],
            "queries": captured[name]["queries"],
            "sql": captured[name]["sql"],
            **summary(name),
            "content_check": page["expect"],
            "content_ok": all(text in captured[name]["content"] for text in page["expect"]),
        }
    return {
        "pages": result,
        "panels": {name: summary(name) for name in parts},
        "load_average": load,
        "repeat": repeat,
    }


def profile_page(page: dict[str, Any], runs: int) -> dict[str, list[str]]:
    """cProfile of `runs` requests of one page: the top functions by own and by total time."""
    import cProfile
    import io
    import pstats

    client = make_client(page["session"])
    client.get(page["path"])
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        client.get(page["path"])
    profiler.disable()
    found = {}
    for key in ("tottime", "cumulative"):
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats(key).print_stats(30)
        found[key] = stream.getvalue().splitlines()
    return found


def table_sizes() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.reltuples::bigint FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r'"
        )
        return dict(cursor.fetchall())


def explain(sqls: list[str], sizes: dict[str, int]) -> list[dict[str, Any]]:
    """EXPLAIN (ANALYZE, BUFFERS) of every SELECT; sequential scans of large tables flagged."""
    from django.db import connection

    plans = []
    for index, sql in enumerate(sqls):
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        match = re.search(r"Execution Time: ([\d.]+) ms", plan)
        seq = sorted(set(re.findall(r"Seq Scan on (\w+)", plan)))
        plans.append(
            {
                "index": index,
                "sql": sql,
                "plan": plan,
                "execution_ms": float(match.group(1)) if match else None,
                "seq_scans": seq,
                "large_seq_scans": [t for t in seq if sizes.get(t, 0) > LARGE_TABLE_ROWS],
                "indexes": sorted(
                    set(re.findall(r"Index (?:Only )?Scan (?:Backward )?(?:using|on) (\w+)", plan))
                ),
            }
        )
    return plans


# ---------------------------------------------------------------------------
# Load on gunicorn
# ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(port: int, path: str, cookie: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Cookie": cookie, "Host": "127.0.0.1"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@contextmanager
def gunicorn(port: int, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """gunicorn partnerwell.wsgi with two sync workers, stopped (this one process) at the end."""
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "partnerwell.wsgi:application",
        "--workers",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "--chdir",
        str(ROOT),
        "--timeout",
        "60",
        "--error-logfile",
        str(log_path),
        "--log-level",
        "warning",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"gunicorn stopped at start; see {log_path}")
            try:
                if fetch(port, "/bench-bare/", "")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not answer within 60 s; see {log_path}")
            time.sleep(0.25)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def run_wrk(url: str, seconds: float, connections: int, cookie: str, script: Path) -> dict:
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        "-H",
        f"Cookie: {cookie}",
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCHJSON ")), None)
    if line is None:
        raise SystemExit(f"wrk gave no result:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line.removeprefix("BENCHJSON "))
    errors = sum(raw[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    return {
        "requests": int(raw["requests"]),
        "seconds": raw["duration_us"] / 1e6,
        "requests_per_second": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "mean_ms": raw["mean_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "bytes": int(raw["bytes"]),
        "non_2xx_3xx": int(raw["status_errors"]),
        "socket_errors": int(errors),
        "wrk_stderr": done.stderr.strip(),
    }


def run_python_load(url: str, seconds: float, connections: int, cookie: str) -> dict:
    """A bounded load loop: `connections` threads, each one request at a time until time is up."""
    parts = urlsplit(url)
    deadline = time.monotonic() + seconds
    latencies: list[list[float]] = [[] for _ in range(connections)]
    failures = [0] * connections
    received = [0] * connections

    def worker(n: int) -> None:
        while time.monotonic() < deadline and len(latencies[n]) < 1_000_000:
            start = time.perf_counter()
            try:
                status, body = fetch(parts.port or 80, parts.path, cookie)
            except OSError:
                failures[n] += 1
                continue
            latencies[n].append(time.perf_counter() - start)
            received[n] += len(body)
            if status >= 400:
                failures[n] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    elapsed = time.perf_counter() - started
    every = sorted(t for worker_times in latencies for t in worker_times)

    def pct(p: float) -> float:
        return every[min(len(every) - 1, int(p * len(every)))] * 1000 if every else float("nan")

    return {
        "requests": len(every),
        "seconds": elapsed,
        "requests_per_second": len(every) / elapsed,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "mean_ms": statistics.fmean(every) * 1000 if every else float("nan"),
        "max_ms": every[-1] * 1000 if every else float("nan"),
        "bytes": sum(received),
        "non_2xx_3xx": sum(failures),
        "socket_errors": 0,
    }


def throughput(
    *,
    port: int,
    dashboard_path: str,
    cookie: str,
    args: argparse.Namespace,
    tool: str,
) -> dict[str, Any]:
    """The dashboard and the bare view under load, in alternating segments on one server."""
    paths = {"dashboard": dashboard_path, "bare": "/bench-bare/"}
    segment = args.duration / args.segments
    with tempfile.TemporaryDirectory(prefix="dashboard_bench_") as tmp:
        script = Path(tmp) / "report.lua"
        script.write_text(WRK_SCRIPT)

        def load(name: str, seconds: float) -> dict[str, Any]:
            url = f"http://127.0.0.1:{port}{paths[name]}"
            before = os.getloadavg()
            if tool == "wrk":
                result = run_wrk(url, seconds, args.connections, cookie, script)
            else:
                result = run_python_load(url, seconds, args.connections, cookie)
            return {"page": name, "load_average_before": before, **result}

        warm = [load(name, 2) for name in ("dashboard", "bare")]  # untimed warm-up
        segments = []
        for i in range(args.segments):
            order = ("dashboard", "bare") if i % 2 == 0 else ("bare", "dashboard")
            for name in order:
                segments.append({"segment": i, **load(name, segment)})
    summary: dict[str, Any] = {}
    for name in paths:
        mine = [s for s in segments if s["page"] == name]
        requests = sum(s["requests"] for s in mine)
        seconds = sum(s["seconds"] for s in mine)
        summary[name] = {
            "requests": requests,
            "seconds": seconds,
            "requests_per_second": requests / seconds,
            "p50_ms_median_of_segments": statistics.median(s["p50_ms"] for s in mine),
            "p99_ms_highest_segment": max(s["p99_ms"] for s in mine),
            "p99_ms_median_of_segments": statistics.median(s["p99_ms"] for s in mine),
            "non_2xx_3xx": sum(s["non_2xx_3xx"] for s in mine),
            "socket_errors": sum(s["socket_errors"] for s in mine),
            "bytes_per_response": sum(s["bytes"] for s in mine) / max(1, requests),
        }
    pair_ratios = [
        next(s for s in segments if s["segment"] == i and s["page"] == "dashboard")[
            "requests_per_second"
        ]
        / next(s for s in segments if s["segment"] == i and s["page"] == "bare")[
            "requests_per_second"
        ]
        for i in range(args.segments)
    ]
    return {
        "tool": tool,
        "connections": args.connections,
        "segment_seconds": segment,
        "warm_up": warm,
        "segments": segments,
        "pages": summary,
        "ratio_dashboard_to_bare": summary["dashboard"]["requests_per_second"]
        / summary["bare"]["requests_per_second"],
        "ratio_per_segment_pair": pair_ratios,
        "ratio_median_of_pairs": statistics.median(pair_ratios),
        "load_average_range": [
            min(s["load_average_before"][0] for s in segments),
            max(s["load_average_before"][0] for s in segments),
        ],
    }


# ---------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------


def versions() -> dict[str, str]:
    import django
    import gunicorn as gunicorn_package
    from django.db import connection

    found = {
        "python": platform.python_version(),
        "django": django.get_version(),
        "gunicorn": gunicorn_package.__version__,
        "postgresql": connection.cursor().connection.info.server_version,
    }
    if shutil.which("wrk"):
        out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
        found["wrk"] = (
            (out.stdout or out.stderr).splitlines()[0] if (out.stdout or out.stderr) else ""
        )
    return found


def file_hashes() -> dict[str, str]:
    return {
        name: hashlib.sha256((ROOT / name).read_bytes()).hexdigest()
        for name in MEASURED_FILES
        if (ROOT / name).exists()
    }


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    RESULTS.mkdir(parents=True, exist_ok=True)
    tool = args.load_tool
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "python"
    elif tool == "wrk" and not shutil.which("wrk"):
        raise SystemExit(
            "wrk is not installed (apt-get install -y wrk), or use --load-tool python."
        )
    checks: dict[str, bool] = {}
    out: dict[str, Any] = {
        "command": " ".join([os.path.relpath(sys.executable, ROOT), *sys.argv]),
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_at_start": os.getloadavg(),
        },
        "settings": {
            "database": DB_NAME,
            "partnerships": args.partnerships,
            "members": args.members,
            "rounds": args.rounds,
            "seed": args.seed,
            "repeat": args.repeat,
            "duration": args.duration,
            "segments": args.segments,
            "connections": args.connections,
            "small": args.small,
            "gunicorn_workers": 2,
        },
    }
    with bench_database(args) as database_url:
        environment = server_environment(database_url)
        setup_django(environment)
        from django.urls import reverse
        from django.utils import timezone

        out["versions"] = versions()
        out["measured_files_sha256"] = file_hashes()
        log(f"Database {DB_NAME}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")

        summary = generate.generate(
            partnerships=args.partnerships,
            members=args.members,
            rounds=args.rounds,
            seed=args.seed,
            log=log,
        )
        out["generation"] = summary
        chosen = choose_partnerships()
        today = timezone.localdate()
        log("Delivery records ...")
        delivery = add_delivery(
            seed=args.seed,
            today=today,
            plans={chosen["little"]["id"]: LITTLE, chosen["large"]["id"]: HEAVY},
        )
        chosen["empty"] = make_empty_partnership()
        log(
            f"  delivery      {delivery['rows']:,} rows ("
            + ", ".join(f"{v:,} {k}" for k, v in delivery["counts"].items())
            + f") in {delivery['seconds']:.1f} s"
        )
        out["delivery"] = delivery
        out["today"] = today.isoformat()
        out["vacuum_analyze_seconds"] = vacuum_analyze()
        log(f"  vacuum analyze{out['vacuum_analyze_seconds']:>55.1f} s")

        from partnerwell.core.models import Partnership

        pages: dict[str, dict[str, Any]] = {}
        for role in ("little", "typical", "large", "empty"):
            info = chosen[role]
            partnership = Partnership.objects.get(pk=info["id"])
            manager = manager_of(info["id"])
            info.update(
                name=partnership.name,
                kind=partnership.kind,
                manager_role=manager.role,
                manager_person_id=manager.person_id,
                delivery=delivery_counts(info["id"]),
            )
            pages[role] = {
                "path": reverse("core-view-partnership", args=[info["id"]]),
                "session": session_for(manager.person),
                "expect": ["Health check", "Delivery", "Risks", "Recent wins"],
            }
        pages["bare"] = {
            "path": "/bench-bare/",
            "session": pages["typical"]["session"],
            "expect": ["bare"],
        }
        out["partnerships"] = chosen

        log(f"In-process requests ({args.repeat} per page, interleaved) ...")
        measured = in_process(pages, panel_runners(chosen), args.repeat)
        out["in_process"] = measured
        got = measured["pages"]
        checks["every page answered 200 with its panels"] = all(
            p["status"] == 200 and p["content_ok"] and set(p["statuses"]) == {"200"}
            for p in got.values()
        )
        counts = {role: got[role]["queries"] for role in ("little", "typical", "large")}
        # The same for the typical and the large partnership; never more for the large
        # one. (The little one may run fewer: results skip the groups' statement when
        # no group has enough answers to be shown.)
        checks["statements do not grow with data (little <= typical == large)"] = (
            counts["typical"] == counts["large"] and counts["little"] <= counts["large"]
        )
        out["panel_statements"] = panel_statements(chosen)
        little_sql = Counter(normalise_sql(s) for s in got["little"]["sql"])
        large_sql = Counter(normalise_sql(s) for s in got["large"]["sql"])
        out["statement_difference_large_minus_little"] = {
            "more_in_large": list((large_sql - little_sql).elements()),
            "more_in_little": list((little_sql - large_sql).elements()),
        }

        if args.profile:
            out["profile_typical"] = profile_page(pages["typical"], args.repeat)
            for line in out["profile_typical"]["cumulative"][:45]:
                log(f"  {line}")

        log("EXPLAIN (ANALYZE, BUFFERS) of the typical and large pages' statements ...")
        sizes = table_sizes()
        out["table_rows"] = {k: v for k, v in sorted(sizes.items()) if v > 0}
        out["explain"] = {role: explain(got[role]["sql"], sizes) for role in ("typical", "large")}

        port = free_port()
        gunicorn_log = RESULTS / "dashboard_bench_gunicorn.log"
        from django.conf import settings
        from django.db import connections

        cookie = f"{settings.SESSION_COOKIE_NAME}={pages['typical']['session']}"
        connections.close_all()  # gunicorn's workers have the database to themselves
        log(f"gunicorn on 127.0.0.1:{port}, 2 workers; {tool} with {args.connections} connections")
        with gunicorn(port, gunicorn_log):
            status, body = fetch(port, pages["typical"]["path"], cookie)
            served = body.decode("utf-8", "replace")
            checks["gunicorn served the dashboard (200, panels, logged in)"] = (
                status == 200 and all(text in served for text in pages["typical"]["expect"])
            )
            if not checks["gunicorn served the dashboard (200, panels, logged in)"]:
                raise SystemExit(
                    f"gunicorn answered {status} for the dashboard; see {gunicorn_log}"
                )
            load = throughput(
                port=port,
                dashboard_path=pages["typical"]["path"],
                cookie=cookie,
                args=args,
                tool=tool,
            )
        out["throughput"] = load
        checks["no errors under load"] = all(
            p["non_2xx_3xx"] == 0 and p["socket_errors"] == 0 for p in load["pages"].values()
        )
    out["checks"] = checks
    out["total_seconds"] = time.perf_counter() - started
    out["machine"]["load_average_at_end"] = os.getloadavg()
    report(out)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=2, default=str) + "\n")
    log(
        f"\nWrote {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}"
    )
    if not all(checks.values()):
        sys.exit(1)


def report(out: dict[str, Any]) -> None:
    got = out["in_process"]["pages"]
    parts = out["partnerships"]
    log("")
    log("Partnership page /partnerships/<id>/ in this process (Django test Client, DEBUG off)")
    log(
        f"  {'page':<9}{'id':>6}{'members':>9}{'actions':>9}{'measures':>9}{'values':>8}"
        f"{'risks':>7}{'SQL':>5}{'median ms':>11}{'fastest':>9}{'in SQL':>8}{'x bare':>8}"
    )
    bare = got["bare"]["median"]
    for role in PAGES:
        p = got[role]
        if role == "bare":
            log(
                f"  {'bare':<9}{'':>6}{'':>9}{'':>9}{'':>9}{'':>8}{'':>7}{p['queries']:>5}"
                f"{ms(p['median']):>11}{ms(p['min']):>9}{ms(p['in_sql_median']):>8}{1:>8.1f}"
            )
            continue
        info = parts[role]
        d = info["delivery"]
        log(
            f"  {role:<9}{info['id']:>6}{info['members']:>9}{d['actions']:>9}{d['measures']:>9}"
            f"{d['data_points']:>8}{d['risks']:>7}{p['queries']:>5}{ms(p['median']):>11}"
            f"{ms(p['min']):>9}{ms(p['in_sql_median']):>8}{p['median'] / bare:>8.1f}"
        )
    loads = out["in_process"]["load_average"]
    log(
        f"  load average {loads[0][0]:.2f} -> {loads[-1][0]:.2f}; {out['in_process']['repeat']} runs each"
    )
    for role in ("typical", "large"):
        found = {
            name.split(":", 1)[1]: p
            for name, p in out["in_process"]["panels"].items()
            if name.startswith(f"{role}:")
        }
        page, fastest = got[role]["median"], got[role]["min"]
        log(
            f"  {role} page, median / fastest ms: {ms(page)} / {ms(fastest)} = "
            + " + ".join(f"{name} {ms(p['median'])} / {ms(p['min'])}" for name, p in found.items())
            + " + the rest (view, session, middleware, templates) "
            + f"{ms(page - sum(p['median'] for p in found.values()))}"
            + f" / {ms(fastest - sum(p['min'] for p in found.values()))}"
        )
    log(
        "  statements per panel: "
        + "; ".join(
            f"{role} "
            + ", ".join(f"{name} {n}" for name, n in found.items())
            + f", page {got[role]['queries']}"
            for role, found in out["panel_statements"].items()
        )
    )
    diff = out["statement_difference_large_minus_little"]
    if diff["more_in_large"] or diff["more_in_little"]:
        log("  statements that differ between the little and the large page:")
        for sql in diff["more_in_large"]:
            log(f"    + large: {sql[:150]}")
        for sql in diff["more_in_little"]:
            log(f"    + little: {sql[:150]}")

    log("")
    log("Slowest statements of the large page (EXPLAIN ANALYZE ms; large tables scanned whole)")
    plans = sorted(out["explain"]["large"], key=lambda p: -(p["execution_ms"] or 0))
    for p in plans[:6]:
        sql = re.sub(r"\s+", " ", p["sql"])
        flag = f"  SEQ SCAN {', '.join(p['large_seq_scans'])}" if p["large_seq_scans"] else ""
        log(f"  {p['execution_ms']:>7.2f}  #{p['index']:<3}{sql[:110]}{flag}")
    flagged = [
        (role, p) for role, plans_ in out["explain"].items() for p in plans_ if p["large_seq_scans"]
    ]
    for role, plans_ in out["explain"].items():
        total = sum(p["execution_ms"] or 0 for p in plans_)
        log(
            f"  {role}: {len(plans_)} statements, {total:.1f} ms executing in PostgreSQL (EXPLAIN "
            f"ANALYZE) against {ms(got[role]['in_sql_median'])} ms in SQL calls during a request"
        )
    log(
        f"  sequential scans of tables over {LARGE_TABLE_ROWS:,} rows: "
        + (
            "; ".join(
                f"{role} #{p['index']} {', '.join(p['large_seq_scans'])}" for role, p in flagged
            )
            or "none"
        )
    )

    load = out["throughput"]
    log("")
    log(
        f"gunicorn, 2 sync workers, {load['tool']} with {load['connections']} connections, "
        f"{len(load['segments']) // 2} segments of {load['segment_seconds']:.0f} s per page, alternating"
    )
    log(
        f"  {'page':<11}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'KB/resp':>9}"
    )
    for name in ("dashboard", "bare"):
        p = load["pages"][name]
        log(
            f"  {name:<11}{p['requests']:>9}{p['requests_per_second']:>9.1f}"
            f"{p['p50_ms_median_of_segments']:>9.1f}{p['p99_ms_highest_segment']:>9.1f}"
            f"{p['non_2xx_3xx'] + p['socket_errors']:>8}{p['bytes_per_response'] / 1024:>9.1f}"
        )
    log(
        f"  dashboard / bare: {load['ratio_dashboard_to_bare']:.3f} "
        f"(per segment pair: {', '.join(f'{r:.3f}' for r in load['ratio_per_segment_pair'])}); "
        f"load average {load['load_average_range'][0]:.2f}-{load['load_average_range'][1]:.2f}"
    )
    log("")
    for name, ok in out["checks"].items():
        log(f"  {'PASS' if ok else 'FAIL'}  {name}")
    log(f"  total {out['total_seconds']:.0f} s")


if __name__ == "__main__":
    main()
