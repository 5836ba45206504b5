"""Benchmark the member import: reading and checking a file, then applying it in bulk.

    .venv/bin/python bench/import_members.py [--rows 10000] [--repeat 3]
    .venv/bin/python bench/import_members.py --database-url postgres://postgres@127.0.0.1:5432/test

It builds a throwaway database (a SQLite file under bench/results/, or a new
PostgreSQL database on the server --database-url names, dropped at the end),
migrates it, seeds people and organisations, and generates a seeded CSV that
mixes new and known people and organisations. Each repeat times, separately:

  read+check      read_table + check_rows (parse, validate, look up organisations)
  members_import  services.members_import (bulk create and update, one transaction)
  total           the two together

and, in the same run, a baseline: one bare bulk_create of the same number of
Membership rows. It prints medians and their ratio to the baseline, and writes
every timing to bench/results/import_members.json.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SEED = 20240101

# The mix in the generated file, as shares of its rows.
KNOWN_PEOPLE_SHARE = 0.2  # people who already have an account
MEMBER_SHARE = 0.1  # of which these are already on the partnership
KNOWN_ORGS = 100
NEW_ORGS = 50


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000, help="rows in the file (10000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; medians reported (3)")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server to create (and drop) a throwaway database on; "
        "default: a SQLite file under bench/results/",
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS / "import_members.json", help="JSON file to write"
    )
    args = parser.parse_args()
    if args.rows < 10 or args.repeat < 1:
        parser.error("--rows must be at least 10 and --repeat at least 1")
    return args


@contextmanager
def throwaway_database(url: str | None) -> Iterator[str]:
    """Yield a DATABASE_URL for a database that exists only for this run."""
    name = f"partnerwell_bench_{uuid.uuid4().hex[:8]}"
    if url is None:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{name}.sqlite3"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise SystemExit("--database-url must be a postgres:// address.")
    import psycopg

    admin_url = urlunsplit(parts._replace(scheme="postgresql"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as admin:
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
    # DEBUG=true gives the development settings; its query log (every statement
    # formatted and kept) would be timed too, so it is turned off for the run.
    settings.DEBUG = False


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


@contextmanager
def counting_queries() -> Iterator[QueryCounter]:
    from django.db import connection

    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        yield counter


def seed(rows: int) -> dict[str, Any]:
    """The partnership, its manager, known organisations and known people."""
    from django.contrib.auth.hashers import make_password

    from partnerwell.core import services
    from partnerwell.core.models import Membership, Organisation, PartnershipType, Sector, User

    rnd = random.Random(SEED)
    sectors = [s for s, _ in Sector.choices]
    orgs = Organisation.objects.bulk_create(
        Organisation(name=f"Known Organisation {i:03}", sector=rnd.choice(sectors))
        for i in range(KNOWN_ORGS)
    )
    manager = User.objects.create_user(email="manager@bench.example", name="Bench Manager")
    partnership = services.partnership_create(
        by=manager, name="Bench Forum", kind=PartnershipType.FORUM, organisation=orgs[0]
    )
    side = partnership.sides.first()
    known = User.objects.bulk_create(
        User(
            email=f"known{i:06}@bench.example",
            name=f"Known Person {i}",
            password=make_password(None),
        )
        for i in range(int(rows * KNOWN_PEOPLE_SHARE))
    )
    members = Membership.objects.bulk_create(
        Membership(partnership=partnership, person=p, organisation=rnd.choice(orgs), side=side)
        for p in known[: int(rows * MEMBER_SHARE)]
    )
    seeded = [*members, *partnership.memberships.filter(person=manager)]
    return {
        "manager": manager,
        "partnership": partnership,
        "orgs": orgs,
        "known": known,
        "seeded_memberships": seeded,
    }


def member_csv(rows: int, world: dict[str, Any]) -> bytes:
    """A seeded member file: known and new people, known and new organisations."""
    from partnerwell.core.models import Sector

    rnd = random.Random(SEED + 1)
    known_orgs = [o.name for o in world["orgs"]]
    new_orgs = [(f"New Organisation {i:03}", rnd.choice(Sector.labels)) for i in range(NEW_ORGS)]
    sides = [s.name for s in world["partnership"].sides.all()]
    known_people = world["known"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["organisation", "sector", "name", "email", "role", "side", "decision-maker"])
    for i in range(rows):
        if i < len(known_people):
            # Known people in another case and with a new name: they are updated.
            email, name = known_people[i].email.upper(), f"Known Person {i} Renamed"
        else:
            email, name = f"new{i:06}@bench.example", f"New Person {i}"
        if rnd.random() < 0.7:
            organisation, sector = rnd.choice(known_orgs), ""
        else:
            organisation, sector = rnd.choice(new_orgs)
        role = rnd.choice(["", "member", "member", "adviser", "observer", "vice-chair"])
        writer.writerow(
            [
                organisation,
                sector,
                name,
                email,
                role,
                rnd.choice(sides),
                rnd.choice(["yes", "no", ""]),
            ]
        )
    return buffer.getvalue().encode()


def reset(world: dict[str, Any]) -> None:
    """Remove what an import added and restore known names, untimed."""
    from django.db import transaction

    from partnerwell.core.models import Membership, Organisation, User

    with transaction.atomic():
        seeded = world["seeded_memberships"]
        world["partnership"].memberships.exclude(pk__in=[m.pk for m in seeded]).delete()
        # Put the seeded memberships back as they were (the import changed them).
        Membership.objects.bulk_update(
            seeded, ["organisation", "role", "side", "decision_maker"], batch_size=1000
        )
        User.objects.filter(email__startswith="new").delete()
        Organisation.objects.filter(name__startswith="New Organisation").delete()
        for person in world["known"]:
            person.name = person.name.removesuffix(" Renamed")
        User.objects.bulk_update(world["known"], ["name"], batch_size=1000)


def run_import(data: bytes, world: dict[str, Any]) -> dict[str, Any]:
    from partnerwell.core import services
    from partnerwell.core.imports import check_rows, read_table

    partnership = world["partnership"]
    with counting_queries() as check_queries:
        start = time.perf_counter()
        rows, errors = check_rows(read_table(data, "bench.csv"), partnership)
        checked = time.perf_counter()
    if errors:
        raise SystemExit(f"The generated file has bad rows, first: {errors[0]}")
    with counting_queries() as import_queries:
        before = time.perf_counter()
        summary = services.members_import(
            by=world["manager"], partnership=partnership, rows=rows, invite=False
        )
        done = time.perf_counter()
    return {
        "read_check": checked - start,
        "members_import": done - before,
        "total": (checked - start) + (done - before),
        "queries": {"read_check": check_queries.count, "members_import": import_queries.count},
        "summary": summary.__dict__,
    }


def run_baseline(count: int, world: dict[str, Any]) -> tuple[float, int]:
    """One bare bulk_create of `count` memberships, in a transaction like the import's."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from partnerwell.core.models import Membership, Partnership, PartnershipType, User

    people = User.objects.bulk_create(
        User(email=f"base{i:06}@bench.example", name=f"Base {i}", password=make_password(None))
        for i in range(count)
    )
    partnership = Partnership.objects.create(name="Baseline", kind=PartnershipType.OTHER)
    organisation = world["orgs"][0]
    with counting_queries() as queries:
        start = time.perf_counter()
        with transaction.atomic():
            Membership.objects.bulk_create(
                [
                    Membership(partnership=partnership, person=p, organisation=organisation)
                    for p in people
                ],
                batch_size=1000,
            )
        seconds = time.perf_counter() - start
    partnership.delete()
    User.objects.filter(email__startswith="base").delete()
    return seconds, queries.count


def database_version() -> str:
    from django.db import connection

    if connection.vendor == "sqlite":
        import sqlite3

        return sqlite3.sqlite_version
    connection.ensure_connection()
    number = connection.connection.info.server_version  # e.g. 150020 for 15.20
    return f"{number // 10000}.{number % 10000}"


def report(args: argparse.Namespace, results: dict[str, Any]) -> None:
    median = results["median_seconds"]
    base = median["baseline_bulk_create"]
    print()
    print(
        f"member import, {args.rows:,} rows, median of {args.repeat} "
        f"on {results['database']} {results['database_version']}"
    )
    header = f"{'phase':<22}{'median s':>10}{'min s':>10}{'max s':>10}{'rows/s':>12}{'x baseline':>12}{'queries':>9}"
    print(header)
    print("-" * len(header))
    for phase in ("read_check", "members_import", "total", "baseline_bulk_create"):
        times = results["seconds"][phase]
        queries = results["queries"].get(phase, "")
        print(
            f"{phase:<22}{median[phase]:>10.3f}{min(times):>10.3f}{max(times):>10.3f}"
            f"{args.rows / median[phase]:>12,.0f}{median[phase] / base:>12.1f}{queries!s:>9}"
        )
    print()
    print(f"import outcome: {results['summary']}")
    print(f"written to {args.output}")


def main() -> None:
    args = parse_args()
    with throwaway_database(args.database_url) as database_url:
        setup_django(database_url)
        import django
        from django.db import connection

        world = seed(args.rows)
        data = member_csv(args.rows, world)
        seconds: dict[str, list[float]] = {
            "read_check": [],
            "members_import": [],
            "total": [],
            "baseline_bulk_create": [],
        }
        queries: dict[str, int] = {}
        summary: dict[str, int] = {}
        for _ in range(args.repeat):
            outcome = run_import(data, world)
            for phase in ("read_check", "members_import", "total"):
                seconds[phase].append(outcome[phase])
            queries.update(outcome["queries"])
            if summary and outcome["summary"] != summary:
                raise SystemExit(f"Repeats differ ({summary} then {outcome['summary']}).")
            summary = outcome["summary"]
            reset(world)
            baseline, queries["baseline_bulk_create"] = run_baseline(args.rows, world)
            seconds["baseline_bulk_create"].append(baseline)
        queries["total"] = queries["read_check"] + queries["members_import"]
        median = {phase: statistics.median(times) for phase, times in seconds.items()}
        results = {
            "benchmark": "import_members",
            "rows": args.rows,
            "repeat": args.repeat,
            "seed": SEED,
            "file_bytes": len(data),
            "mix": {
                "known_people": len(world["known"]),
                "already_members": int(args.rows * MEMBER_SHARE),
                "known_organisations": KNOWN_ORGS,
                "new_organisation_names": NEW_ORGS,
            },
            "database": connection.vendor,
            "database_version": database_version(),
            "python": platform.python_version(),
            "django": django.get_version(),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
            "summary": summary,
            "queries": queries,
            "seconds": seconds,
            "median_seconds": median,
            "ratio_to_baseline": {
                phase: median[phase] / median["baseline_bulk_create"]
                for phase in ("read_check", "members_import", "total")
            },
        }
        connection.close()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    report(args, results)


if __name__ == "__main__":
    main()
