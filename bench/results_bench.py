"""Benchmark a round's results: round_results on an empty and on a national-scale database.

    .venv/bin/python bench/results_bench.py                  # PostgreSQL, full national data
    .venv/bin/python bench/results_bench.py --small          # national data at 1/20 scale
    .venv/bin/python bench/results_bench.py --sqlite         # the same on a SQLite file
    .venv/bin/python bench/results_bench.py --database-url postgres://user@host:5432/postgres

It makes its own database (a new PostgreSQL database partnerwell_bench on the
server --database-url names, dropped at the end; or with --sqlite a file under
bench/results/, deleted at the end; --keep keeps either) and migrates it.

1. On the otherwise empty database it builds a partnership forum of 1,000
   members (two sides, 40 organisations in several sectors) and a custom
   framework of 60 statements (5 areas, 15 principles, 4 statements each,
   stored with services.framework_store), opens one round and stores 1,000
   responses of 60 ratings. Two more partnerships built the same way give
   rounds of 10 and 100 respondents.
2. It times round_results(round) for the 1,000-respondent round (median of
   --repeat runs, after a warm-up; the round is read afresh before each run,
   outside the timing) and counts its SQL statements. In the same loop it
   times one hand-written SQL aggregate over the same round's ratings (COUNT,
   SUM, SUM of squares per statement), and reports round_results as a
   multiple of it (the goal is under 2x).
3. It counts round_results' statements for the 10, 100 and 1,000 respondent
   rounds: they must be equal (PASS/FAIL).
4. It runs the national generator (bench/generate.py: 1,000 partnerships,
   25,000 members, 5 rounds, several million ratings) into the same
   database, then measures the same round again: the medians before and
   after must differ by less than 20% (PASS/FAIL). It also measures the
   largest national round that has an earlier round to compare with.
5. On PostgreSQL it shows EXPLAIN (ANALYZE, BUFFERS) for every statement of
   round_results that reads healthcheck_rating, and lists the indexes used
   (on SQLite, EXPLAIN QUERY PLAN).

It prints a table and writes everything to bench/results/results_bench.json.
The exit status is 1 when a PASS/FAIL check fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import random
import re
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402  (bench/generate.py, next to this file)

DB_NAME = "partnerwell_bench"
SEED = 7
STATEMENTS = 60
AREAS = 5
PRINCIPLES_PER_AREA = 3
SIZES = (10, 100, 1000)
SAME_WITHIN = 0.20  # medians before and after the national data may differ by less than this
GOAL_X_SQL = 2.0

HAND_SQL = (
    "SELECT statement_id, COUNT(value), SUM(value), SUM(value * value), COUNT(*) "
    "FROM healthcheck_rating WHERE round_id = %s GROUP BY statement_id"
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15, help="timed runs; medians (15)")
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL server to create the partnerwell_bench database on "
        "(the database in the address is only used to connect)",
    )
    parser.add_argument(
        "--sqlite",
        nargs="?",
        const=RESULTS / f"{DB_NAME}.sqlite3",
        type=Path,
        help="use a SQLite file instead (default bench/results/partnerwell_bench.sqlite3)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--small", action="store_true", help="national data at 1/20 scale")
    parser.add_argument("--partnerships", type=int, default=1000)
    parser.add_argument("--members", type=int, default=25_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1, help="seed of the national data (1)")
    parser.add_argument(
        "--output", type=Path, default=RESULTS / "results_bench.json", help="JSON file to write"
    )
    args = parser.parse_args()
    if args.small:
        args.partnerships, args.members = 50, 1250
    if args.repeat < 3:
        parser.error("--repeat must be at least 3")
    return args


@contextmanager
def bench_databases(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    """Yield the DATABASE_URL of the database made for this run, and the name of its twin.

    The twin gets the benchmark rounds only, never the national data, so that
    the same round can be timed in both side by side.
    """
    if args.sqlite:
        path = Path(args.sqlite).resolve()
        twin = path.with_name(f"{path.stem}_twin{path.suffix}")
        path.parent.mkdir(parents=True, exist_ok=True)

        def remove() -> None:
            for file in (path, twin):
                for suffix in ("", "-wal", "-shm", "-journal"):
                    Path(f"{file}{suffix}").unlink(missing_ok=True)

        remove()
        try:
            yield f"sqlite:///{path}", str(twin)
        finally:
            if not args.keep:
                remove()
        return
    import psycopg

    parts = urlsplit(args.database_url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise SystemExit("--database-url must be a postgres:// address.")
    admin_url = urlunsplit(parts._replace(scheme="postgresql"))
    names = (DB_NAME, f"{DB_NAME}_twin")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{DB_NAME}")), names[1]
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        if not args.keep:
            with psycopg.connect(admin_url, autocommit=True) as admin:
                for name in names:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django(database_url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "partnerwell.settings"
    os.environ["DEBUG"] = "true"
    os.environ["DATABASE_URL"] = database_url
    os.environ["TASKS_BACKEND"] = "immediate"
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    sys.path.insert(0, str(ROOT))
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    # Development settings (no secret key needed); their query log is switched
    # off so that logging every statement is not timed.
    settings.DEBUG = False


# ---------------------------------------------------------------------------
# The benchmark's own partnerships and rounds
# ---------------------------------------------------------------------------


def sixty_statement_spec() -> tuple[Any, str]:
    """A custom framework of 60 agreement statements, a quarter reverse-scored."""
    from partnerwell.healthcheck.frameworks import (
        AreaSpec,
        FrameworkSpec,
        PrincipleSpec,
        StatementSpec,
        dump_framework,
        load_framework,
    )

    per_principle = STATEMENTS // (AREAS * PRINCIPLES_PER_AREA)
    areas = []
    n = 0
    for a in range(AREAS):
        principles = []
        for p in range(PRINCIPLES_PER_AREA):
            statements = []
            for _ in range(per_principle):
                n += 1
                statements.append(
                    StatementSpec(
                        key=f"bench-{n}",
                        text=f"Benchmark statement {n}: the partnership does this well.",
                        scale="agreement",
                        reverse=n % 4 == 0,
                    )
                )
            principles.append(
                PrincipleSpec(
                    key=f"principle-{a + 1}-{p + 1}",
                    title=f"Principle {a + 1}.{p + 1}",
                    description="A principle of the benchmark framework.",
                    evidence=(),
                    statements=tuple(statements),
                )
            )
        areas.append(
            AreaSpec(key=f"area-{a + 1}", title=f"Area {a + 1}", principles=tuple(principles))
        )
    spec = FrameworkSpec(
        key="bench-sixty",
        version=1,
        title="Benchmark framework of sixty statements",
        source="bench/results_bench.py",
        description="Sixty statements in five areas, for timing results.",
        scale="agreement",
        compare_by="side",
        areas=tuple(areas),
    )
    document = dump_framework(spec)
    return load_framework(document, filename="bench-sixty.yaml"), document


def build_round(size: int, rnd: random.Random, writer: generate.BulkWriter) -> int:
    """A forum of `size` members who all answer one round of the 60-statement framework."""
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from partnerwell.core.models import Membership, Organisation, Partnership, Side, User
    from partnerwell.healthcheck.models import Area, Round
    from partnerwell.healthcheck.services import framework_store

    label = f"b{size}"
    unusable = make_password(None)
    sectors = list(generate.SECTOR_WEIGHTS)
    n_orgs = max(2, min(40, size // 8))
    orgs = Organisation.objects.bulk_create(
        Organisation(name=f"Bench {label} Organisation {i:02}", sector=sectors[i % len(sectors)])
        for i in range(n_orgs)
    )
    people = User.objects.bulk_create(
        (
            User(email=f"{label}-{i:05}@bench.example", name=f"Bench Person {i}", password=unusable)
            for i in range(size)
        ),
        batch_size=2000,
    )
    partnership = Partnership.objects.create(name=f"Bench forum of {size}", kind="forum")
    sides = Side.objects.bulk_create(
        [
            Side(partnership=partnership, name="Management side", order=0),
            Side(partnership=partnership, name="Staff side", order=1),
        ]
    )
    # Round robin, so that even ten respondents give groups above the floor.
    members = Membership.objects.bulk_create(
        (
            Membership(
                partnership=partnership,
                person=person,
                organisation=orgs[i % n_orgs],
                side=sides[i % 2],
                role="chair" if i == 0 else "member",
            )
            for i, person in enumerate(people)
        ),
        batch_size=2000,
    )
    spec, document = sixty_statement_spec()
    framework = framework_store(spec=spec, document=document, partnership=partnership)
    now = timezone.now()
    opens, closes = now - dt.timedelta(days=30), now - dt.timedelta(days=9)
    round_ = Round.objects.create(
        partnership=partnership,
        framework=framework,
        title=f"Benchmark round of {size}",
        opens_at=opens,
        closes_at=closes,
        invited_count=size,
        sent_count=size,
        # The answers are written straight into the results, already shuffled.
        sealed=True,
    )
    invitations = []
    for m in members:
        nonce = rnd.randbytes(16).hex()
        invitations.append(
            (round_.pk, m.pk, nonce, generate.invitation_hash(nonce), opens, None, True, "{}")
        )
    writer.insert(
        "healthcheck_invitation",
        (
            "round_id",
            "membership_id",
            "nonce",
            "token_hash",
            "sent_at",
            "reminded_at",
            "answered",
            "draft",
        ),
        invitations,
    )
    items = generate.load_items(framework.pk, rnd, writer.copy)
    character = generate.Character.draw(rnd)
    character.pick_disputed(rnd, items)
    respondents = [
        generate.Respondent(
            side=sides[i % 2].name,
            sector=orgs[i % n_orgs].sector,
            organisation=orgs[i % n_orgs].name,
        )
        for i in range(size)
    ]
    rnd.shuffle(respondents)
    responses: list[tuple[Any, ...]] = []
    ratings: list[Any] = []
    generate.answer_round(
        rnd,
        round_id=round_.pk,
        items=items,
        character=character,
        step=0,
        respondents=respondents,
        submitted=lambda: closes.date(),
        area_keys=list(Area.objects.filter(framework=framework).values_list("key", flat=True)),
        text=writer.copy,
        responses=responses,
        ratings=ratings,
    )
    writer.insert_answers(responses, ratings)
    return round_.pk


def vacuum_analyze() -> None:
    """VACUUM ANALYZE on PostgreSQL, before each measurement, so both start alike.

    Autovacuum would do the same after a bulk load, at a time of its choosing
    (and, on two cores, in the middle of a timing).
    """
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


# ---------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------


def fresh_round(pk: int) -> Any:
    from partnerwell.healthcheck.models import Round

    return Round.objects.get(pk=pk)


def hand_sql(pk: int) -> list[tuple[Any, ...]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(HAND_SQL, [pk])
        return cursor.fetchall()


def capture(pk: int) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """round_results once with every statement recorded (untimed)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from partnerwell.healthcheck.results import round_results

    round_ = fresh_round(pk)
    with CaptureQueriesContext(connection) as ctx:
        result = round_results(round_)
    return result, list(ctx.captured_queries)


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


def timed_round_results(pk: int) -> tuple[float, list[float]]:
    """One timed run on a freshly read round: total seconds and each statement's seconds."""
    from django.db import connection

    from partnerwell.healthcheck.results import round_results

    round_ = fresh_round(pk)  # read outside the timing
    timer = StatementTimer()
    with connection.execute_wrapper(timer):
        start = time.perf_counter()
        round_results(round_)
        total = time.perf_counter() - start
    return total, timer.times


def timed_hand_sql(pk: int) -> float:
    start = time.perf_counter()
    hand_sql(pk)
    return time.perf_counter() - start


def measure(pk: int, repeat: int) -> dict[str, Any]:
    """Median seconds of round_results and of the hand SQL, interleaved, plus statements."""
    result, queries = capture(pk)  # also the warm-up
    hand_sql(pk)
    app: list[float] = []
    sql: list[float] = []
    in_sql: list[float] = []
    per_query: list[list[float]] = [[] for _ in queries]
    for _ in range(repeat):
        total, times = timed_round_results(pk)
        app.append(total)
        in_sql.append(sum(times))
        for i, seconds in enumerate(times[: len(per_query)]):
            per_query[i].append(seconds)
        sql.append(timed_hand_sql(pk))
    return {
        "load_average": os.getloadavg(),
        "round_id": pk,
        "responded": result["round"]["responded"],
        "statements": sum(len(p["statements"]) for a in result["areas"] for p in a["principles"]),
        "queries": len(queries),
        "sql": [q["sql"] for q in queries],
        "query_median_seconds": [statistics.median(t) if t else None for t in per_query],
        "round_results_seconds": app,
        "hand_sql_seconds": sql,
        "round_results_median": statistics.median(app),
        "round_results_min": min(app),
        "hand_sql_median": statistics.median(sql),
        "hand_sql_min": min(sql),
        # Time executing the SQL statements (on SQLite, rows fetched after the
        # first are not included) and the rest, in Python: Django and results.py.
        "in_statements_median": statistics.median(in_sql),
        "in_python_median": statistics.median(a - b for a, b in zip(app, in_sql, strict=True)),
        "x_hand_sql": statistics.median(app) / statistics.median(sql),
        "has_change": bool(result["change"]["principles"]),
        "groups_shown": sum(1 for g in result["groups"] if not g["suppressed"]),
    }


def use_database(name: str) -> None:
    """Point the default connection at another database (it reconnects on next use)."""
    from django.db import connection

    if connection.settings_dict["NAME"] != name:
        connection.close()
        connection.settings_dict["NAME"] = name


def side_by_side(title: str, names: list[str], repeat: int) -> dict[str, Any]:
    """round_results on the same round in several databases, runs interleaved.

    Whatever else the machine is doing then falls on every database alike.
    Each switch reconnects; one untimed run warms the new connection.
    """
    from partnerwell.healthcheck.models import Round

    pks = {}
    for name in names:
        use_database(name)
        pks[name] = Round.objects.get(title=title).pk
    app: dict[str, list[float]] = {name: [] for name in names}
    sql: dict[str, list[float]] = {name: [] for name in names}
    for i in range(repeat):
        for name in names if i % 2 == 0 else names[::-1]:
            use_database(name)
            timed_round_results(pks[name])  # warm-up of this connection
            hand_sql(pks[name])
            app[name].append(timed_round_results(pks[name])[0])
            sql[name].append(timed_hand_sql(pks[name]))
    use_database(names[0])
    return {
        "databases": names,
        "round_results_seconds": app,
        "hand_sql_seconds": sql,
        "round_results_median": {n: statistics.median(t) for n, t in app.items()},
        "round_results_min": {n: min(t) for n, t in app.items()},
        "hand_sql_median": {n: statistics.median(t) for n, t in sql.items()},
        "hand_sql_min": {n: min(t) for n, t in sql.items()},
        "load_average": os.getloadavg(),
    }


def query_count(pk: int) -> int:
    return len(capture(pk)[1])


def largest_national_round() -> int | None:
    """The national round with most respondents that has an earlier round to compare with."""
    from django.db.models import Count

    from partnerwell.healthcheck.models import Round
    from partnerwell.healthcheck.results import previous_round

    candidates = Round.objects.filter(partnership__name__startswith="Bench forum").values("pk")
    rounds = (
        Round.objects.exclude(pk__in=candidates)
        .filter(framework__key="good-governance")
        .annotate(n=Count("responses"))
        .order_by("-n", "pk")[:20]
    )
    for r in rounds:
        if previous_round(r) is not None:
            return r.pk
    return None


# Tables that grow with the national data: reading all of one is a cost that grows with it.
GROWING = ("healthcheck_rating", "healthcheck_response")
INDEX_RE = re.compile(r"(?:Index|Bitmap Index|Index Only) Scan(?: Backward)? using (\S+)")
SEQ_RE = re.compile(r"Seq Scan on (\S+)")


def explain(queries: list[str]) -> list[dict[str, Any]]:
    """EXPLAIN every statement that reads ratings; which indexes and table scans it uses."""
    from django.db import connection

    plans = []
    with connection.cursor() as cursor:
        for sql in queries:
            if "healthcheck_rating" not in sql:
                continue
            if connection.vendor == "postgresql":
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                lines = [row[0] for row in cursor.fetchall()]
                text = "\n".join(lines)
                plans.append(
                    {
                        "sql": sql,
                        "plan": lines,
                        "indexes": sorted(set(INDEX_RE.findall(text))),
                        "seq_scans": sorted(set(SEQ_RE.findall(text))),
                    }
                )
            else:
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
                lines = [str(row[-1]) for row in cursor.fetchall()]
                text = "\n".join(lines)
                plans.append(
                    {
                        "sql": sql,
                        "plan": lines,
                        "indexes": sorted(
                            set(re.findall(r"USING (?:COVERING )?INDEX (\S+)", text))
                        ),
                        "seq_scans": sorted(set(re.findall(r"SCAN (\w+)(?! USING)", text))),
                    }
                )
    return plans


def rating_indexes() -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'healthcheck_rating'"
            )
        else:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name = 'healthcheck_rating'"
            )
        return dict(cursor.fetchall())


def table_sizes() -> dict[str, int]:
    from partnerwell.core.models import Membership, Organisation, Partnership, User
    from partnerwell.healthcheck.models import Invitation, Rating, Response, Round

    models = {
        "organisations": Organisation,
        "people": User,
        "partnerships": Partnership,
        "memberships": Membership,
        "rounds": Round,
        "invitations": Invitation,
        "responses": Response,
        "ratings": Rating,
    }
    return {name: model.objects.count() for name, model in models.items()}


def database_version() -> str:
    from django.db import connection

    if connection.vendor == "sqlite":
        import sqlite3

        return sqlite3.sqlite_version
    connection.ensure_connection()
    number = connection.connection.info.server_version
    return f"{number // 10000}.{number % 10000}"


# ---------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def report(results: dict[str, Any]) -> None:
    before, after = results["before"], results["after"]
    print()
    print(
        f"round_results, median of {results['repeat']} runs, on {results['database']} "
        f"{results['database_version']} ({results['machine']['cpus']} CPUs)"
    )
    header = f"{'':<44}{'empty db':>12}{'national':>12}{'after/before':>14}"
    print(header)
    print("-" * len(header))
    main_ = results["checks"]["same_time"]
    print(
        f"{'round_results, 1,000 x 60 (ms)':<44}{ms(before['round_results_median']):>12}"
        f"{ms(after['round_results_median']):>12}{main_['ratio']:>13.2f}x"
    )
    print(
        f"{'hand SQL aggregate, same round (ms)':<44}{ms(before['hand_sql_median']):>12}"
        f"{ms(after['hand_sql_median']):>12}"
        f"{after['hand_sql_median'] / before['hand_sql_median']:>13.2f}x"
    )
    print(
        f"{'round_results / hand SQL':<44}{before['x_hand_sql']:>11.1f}x"
        f"{after['x_hand_sql']:>11.1f}x{'goal < 2x':>14}"
    )
    print(
        f"{'  of which in SQL statements (ms)':<44}{ms(before['in_statements_median']):>12}"
        f"{ms(after['in_statements_median']):>12}"
    )
    print(
        f"{'  of which in Python (ms)':<44}{ms(before['in_python_median']):>12}"
        f"{ms(after['in_python_median']):>12}"
    )
    print(
        f"{'round_results fastest run (ms)':<44}{ms(before['round_results_min']):>12}"
        f"{ms(after['round_results_min']):>12}"
        f"{after['round_results_min'] / before['round_results_min']:>13.2f}x"
    )
    pair = results["side_by_side"]
    twin, main_db = pair["databases"][1], pair["databases"][0]
    print(
        f"{'same round, side by side, interleaved (ms)':<44}"
        f"{ms(pair['round_results_median'][twin]):>12}"
        f"{ms(pair['round_results_median'][main_db]):>12}"
        f"{results['checks']['same_time_side_by_side']['ratio']:>13.2f}x"
    )
    print(
        f"{'  hand SQL, side by side (ms)':<44}"
        f"{ms(pair['hand_sql_median'][twin]):>12}"
        f"{ms(pair['hand_sql_median'][main_db]):>12}"
        f"{pair['hand_sql_median'][main_db] / pair['hand_sql_median'][twin]:>13.2f}x"
    )
    print(f"{'statements per round_results':<44}{before['queries']:>12}{after['queries']:>12}")
    print(
        f"{'load average during the runs (1 min)':<44}{before['load_average'][0]:>12.2f}"
        f"{after['load_average'][0]:>12.2f}"
    )
    for size in SIZES:
        m = results["by_size"][str(size)]
        print(
            f"{f'round of {size:,} respondents (ms, queries)':<44}"
            f"{ms(m['round_results_median']):>12}{m['queries']:>12}"
        )
    national = results.get("national_round")
    if national:
        print(
            f"{'largest national round, with change (ms)':<44}{'':>12}"
            f"{ms(national['round_results_median']):>12}"
            f"   {national['responded']} resp., {national['queries']} queries, "
            f"{national['x_hand_sql']:.1f}x SQL"
        )
    print()
    gen = results["generation"]
    print(
        f"national data: {gen['rows']:,} rows ({gen['counts']['ratings']:,} ratings) in "
        f"{gen['total_seconds']:.0f} s = {gen['rows_per_second']:,.0f} rows/s; "
        f"tables now {results['sizes_after']['ratings']:,} ratings"
    )
    print()
    print(
        "statements of round_results on the national database (median ms executing, first 90 chars):"
    )
    for sql, seconds in zip(after["sql"], after["query_median_seconds"], strict=True):
        print(f"  {ms(seconds or 0.0):>7}  {' '.join(sql.split())[:90]}")
    print()
    print("rating statements' plans on the national database:")
    for plan in results["explain"]:
        indexes = ", ".join(plan["indexes"]) or "none"
        scans = ", ".join(plan["seq_scans"]) or "none"
        print(f"  {' '.join(plan['sql'].split())[:70]}...")
        print(f"      indexes: {indexes}; full scans: {scans}")
    print()
    for name, check in results["checks"].items():
        print(f"{'PASS' if check['pass'] else 'FAIL'}  {name}: {check['detail']}")
    print(f"\nwritten to {results['output']}")


def main() -> None:
    args = parse_args()
    with bench_databases(args) as (database_url, twin):
        setup_django(database_url)
        import django
        from django.core.management import call_command
        from django.db import connection

        main_db = connection.settings_dict["NAME"]
        print(f"building the benchmark rounds on {connection.vendor} ...")
        started = time.perf_counter()
        # The same seed gives the twin the very same rounds.
        for name in (twin, main_db):
            use_database(name)
            if name == twin:
                call_command("migrate", verbosity=0, interactive=False)
            writer = generate.BulkWriter()
            rnd = random.Random(SEED)
            rounds = {size: build_round(size, rnd, writer) for size in SIZES}
            vacuum_analyze()
        print(f"  {2 * sum(SIZES):,} responses in {time.perf_counter() - started:.1f} s")
        main_round = rounds[1000]
        main_title = fresh_round(main_round).title

        print(f"measuring round_results on the empty database ({args.repeat} runs) ...")
        before = measure(main_round, args.repeat)
        by_size = {
            str(size): before if pk == main_round else measure(pk, args.repeat)
            for size, pk in rounds.items()
        }
        counts_before = {size: by_size[str(size)]["queries"] for size in SIZES}

        print("generating national data ...")
        generation = generate.generate(
            partnerships=args.partnerships,
            members=args.members,
            rounds=args.rounds,
            seed=args.seed,
            log=lambda line: print(line, flush=True),
        )
        vacuum_analyze()

        print(f"measuring round_results on the national database ({args.repeat} runs) ...")
        after = measure(main_round, args.repeat)
        print("timing the round in the national and the empty twin database, interleaved ...")
        pair = side_by_side(main_title, [main_db, twin], args.repeat)
        pair_ratio = pair["round_results_median"][main_db] / pair["round_results_median"][twin]
        pair_min_ratio = pair["round_results_min"][main_db] / pair["round_results_min"][twin]
        # The hand SQL does the same work in both databases: its ratio shows the noise.
        pair_sql_ratio = pair["hand_sql_median"][main_db] / pair["hand_sql_median"][twin]
        counts_after = {size: query_count(pk) for size, pk in rounds.items()}
        national_pk = largest_national_round()
        national = measure(national_pk, args.repeat) if national_pk else None
        plans = explain(after["sql"])
        if national:
            seen = {p["sql"] for p in plans}
            plans += [p for p in explain(national["sql"]) if p["sql"] not in seen]

        ratio = after["round_results_median"] / before["round_results_median"]
        checks = {
            "same_time": {
                "pass": abs(ratio - 1.0) < SAME_WITHIN,
                "ratio": ratio,
                "detail": f"national/empty median {ratio:.2f}x (must be within "
                f"{SAME_WITHIN:.0%} of 1)",
            },
            "same_time_side_by_side": {
                "pass": abs(pair_ratio - 1.0) < SAME_WITHIN,
                "ratio": pair_ratio,
                "min_ratio": pair_min_ratio,
                "hand_sql_ratio": pair_sql_ratio,
                "detail": f"national/empty-twin median {pair_ratio:.2f}x, runs interleaved "
                f"(must be within {SAME_WITHIN:.0%} of 1); fastest runs {pair_min_ratio:.2f}x; "
                f"the hand SQL, same work in both, {pair_sql_ratio:.2f}x",
            },
            "queries_flat": {
                "pass": len(set(counts_before.values()) | set(counts_after.values())) == 1,
                "detail": "statements for 10/100/1,000 respondents: "
                f"{'/'.join(str(counts_before[s]) for s in SIZES)} on the empty database, "
                f"{'/'.join(str(counts_after[s]) for s in SIZES)} on the national one",
            },
            "indexes_used": {
                "pass": connection.vendor != "postgresql"
                or not any(t in GROWING for p in plans for t in p["seq_scans"]),
                "detail": (
                    "no rating statement reads all of healthcheck_rating or healthcheck_response"
                    + (
                        "; full scans in: "
                        + "; ".join(
                            f"{' '.join(p['sql'].split())[:60]}... ({', '.join(p['seq_scans'])})"
                            for p in plans
                            if any(t in GROWING for t in p["seq_scans"])
                        )
                        if any(t in GROWING for p in plans for t in p["seq_scans"])
                        else ""
                    )
                )
                if connection.vendor == "postgresql"
                else "EXPLAIN QUERY PLAN reported for information",
            },
        }
        results = {
            "benchmark": "results_bench",
            "repeat": args.repeat,
            "seed": SEED,
            "database": connection.vendor,
            "database_version": database_version(),
            "python": platform.python_version(),
            "django": django.get_version(),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
            "hand_sql": HAND_SQL,
            # The code measured: the lead edits these files, so figures belong to a version.
            "sources_sha256": {
                name: hashlib.sha256((ROOT / name).read_bytes()).hexdigest()
                for name in (
                    "partnerwell/healthcheck/results.py",
                    "partnerwell/healthcheck/models.py",
                    "partnerwell/healthcheck/scoring.py",
                )
            },
            "before": before,
            "after": after,
            "side_by_side": pair,
            "by_size": by_size,
            "query_counts": {"empty": counts_before, "national": counts_after},
            "national_round": national,
            "generation": generation,
            "sizes_after": table_sizes(),
            "rating_indexes": rating_indexes(),
            "explain": plans,
            "checks": checks,
            "goal_x_hand_sql": GOAL_X_SQL,
            "output": str(args.output),
        }
        connection.close()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, default=str) + "\n")
    report(results)
    if not all(c["pass"] for c in checks.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
