"""Benchmark meetings: the papers pack build, and the meeting page and decision log at national scale.

    .venv/bin/python bench/meetings_bench.py                  # both parts, national data
    .venv/bin/python bench/meetings_bench.py --small          # both parts, national data at 1/20
    .venv/bin/python bench/meetings_bench.py --pack-only      # the papers pack alone (SQLite)
    .venv/bin/python bench/meetings_bench.py --pages-only --small --keep
    .venv/bin/python bench/meetings_bench.py --database-url postgres://postgres@127.0.0.1:5432/postgres

1. Papers pack. Ten papers of about six pages each (about 60 pages; made once
   with WeasyPrint from generated text into a temporary directory) are attached
   to accepted agenda items of a meeting whose agenda both sides have agreed,
   in a scratch SQLite database in that directory (MEDIA_ROOT there too). Each
   build runs in a fresh Python process, exactly as the task worker runs it:
   the build task's own function (partnerwell.meetings.tasks, `Task.func`)
   with a newly queued PapersPack, or, when no task is there yet,
   partnerwell.meetings.pack.build. The child reports the build's seconds, its
   peak resident memory (ru_maxrss, before and after the build), and the pages
   and size of the PDF written. Builds alternate between plain runs (timed)
   and runs under tracemalloc (the peak of Python's own allocations; slower,
   so their seconds are reported apart). Median of --pack-repeat (5) each.

2. Meeting page and decision log. On a new PostgreSQL database
   (bench_meetings_<pid> on the server --database-url names; dropped at the end
   unless --keep) it runs the national generator (bench/generate.py: 1,000
   partnerships, 25,000 members; --small 50 and 1,250), the delivery records of
   bench/dashboard_bench.py (actions and risks for the standing items), then,
   seeded and with COPY, 8 meetings a year for 5 years per partnership: 37
   held (minutes approved at the next meeting, the last one's circulated), one
   coming with papers published, one with its agenda open, one planned; 5
   standing items and 2-4 others each (some late, some declined, a few for the
   forward plan), papers and packs, both sides' agenda approvals, the register
   of every member current on the day (replies for the next meeting), 2-4
   decisions (a third with an action in the action log), minutes per item (a
   few corrected after approval, the old version kept) and 3-8 anonymous
   reviews per held meeting; then VACUUM ANALYZE. It picks a typical
   partnership (no parent, two sides, the median number of current members)
   and the largest, and copies the typical one's rows (and only the rows they
   refer to) into a twin database bench_meetings_<pid>_twin, ids unchanged.
   With Django's test Client, signed in as a current plain member (a session
   stored as login would), it requests the latest held meeting, the next
   meeting, the decision log and the decision log searched for a word, in both
   databases and for the largest partnership, interleaved, --repeat (31) times:
   median and fastest server time, time in SQL, and SQL statements
   (CaptureQueriesContext). Checks: every page answers 200; the statements are
   the same in the national database and the twin, and the same for the
   typical and the largest partnership (PASS/FAIL, exit status 1 on FAIL); the
   national median within 25% of the twin's (reported, not an exit failure:
   medians move with the machine's load).

Prints a table and writes bench/results/meetings_<timestamp>.json (--output).
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
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

import dashboard_bench  # noqa: E402  (bench/dashboard_bench.py: delivery records, sessions)
import generate  # noqa: E402  (bench/generate.py, next to this file)

MEETINGS_SEED_OFFSET = 104_729  # the meetings' seed is --seed plus this
PAPER_SEED = 5
PAPERS = 10
PAPER_PAGES = (6, 6, 5, 7, 6, 6, 7, 5, 6, 6)  # 60 pages in all
MEETINGS_PER_YEAR = 8
YEARS = 5
MEETING_SPACING_DAYS = 365 // MEETINGS_PER_YEAR  # 45
HELD = MEETINGS_PER_YEAR * YEARS - 3  # the last three meetings are still to come
SEARCH_WORD = "wellbeing"
TIME_RATIO_LIMIT = 1.25
PAGES = ("meeting", "next_meeting", "decisions", "decisions_search")
MEASURED_FILES = (
    "partnerwell/meetings/pack.py",
    "partnerwell/meetings/tasks.py",
    "partnerwell/meetings/papers.py",
    "partnerwell/meetings/agenda.py",
    "partnerwell/meetings/attendance.py",
    "partnerwell/meetings/minutes.py",
    "partnerwell/meetings/review.py",
    "partnerwell/meetings/views/meetings.py",
    "partnerwell/meetings/views/minutes.py",
    "partnerwell/templates/meetings/view_meeting.html",
)

TOPICS = (
    "workforce plan",
    "estates strategy",
    "winter pressures plan",
    "staff wellbeing offer",
    "digital inclusion programme",
    "budget for next year",
    "recruitment and retention plan",
    "housing pathway",
    "safeguarding arrangements",
    "procurement framework",
    "training programme",
    "flexible working policy",
    "pay and grading review",
    "health and safety report",
    "equality objectives",
    "communications plan",
)
DECISION_OPENINGS = (
    "Agreed the",
    "Approved the",
    "Endorsed the",
    "Accepted the recommendations of the",
    "Asked for a revised",
    "Noted and supported the",
)
DECISION_TAILS = (
    "",
    ", subject to the comments made at the meeting",
    ", with a review in six months",
    " and asked the joint group to report back",
    ", with the staff side's amendments",
    " for consultation with members",
)
WORDS = re.findall(
    r"\w+",
    "partnership members agreed that the service should keep improving access and quality "
    "while the budget stays under pressure staff side representatives raised workload "
    "recruitment wellbeing training and the pace of change management side colleagues set "
    "out the options the risks and the timetable for delivery across every organisation "
    "the group asked for evidence from residents patients and staff before the next meeting "
    "and for the plan to show who will do what by when with measures of progress",
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL server to make bench_meetings_<pid> (and its twin) on "
        "(the database in the address is only used to connect)",
    )
    parser.add_argument("--small", action="store_true", help="national data at 1/20 scale")
    parser.add_argument("--pack-only", action="store_true", help="only the papers pack")
    parser.add_argument("--pages-only", action="store_true", help="only the pages")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--partnerships", type=int, default=1000)
    parser.add_argument("--members", type=int, default=25_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1, help="seed of the national data (1)")
    parser.add_argument("--repeat", type=int, default=31, help="requests per page (31)")
    parser.add_argument("--pack-repeat", type=int, default=5, help="builds of each kind (5)")
    parser.add_argument("--output", type=Path, help="JSON file to write")
    # Internal: the papers-pack child processes.
    parser.add_argument("--pack-setup", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--pack-build", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pack_only and args.pages_only:
        parser.error("choose --pack-only or --pages-only, not both")
    if args.small:
        args.partnerships, args.members = 50, 1250
    if args.repeat < 3 or args.pack_repeat < 1:
        parser.error("--repeat must be at least 3 and --pack-repeat at least 1")
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    args.output = args.output or RESULTS / f"meetings_{stamp}.json"
    return args


def log(text: str = "") -> None:
    print(text, flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


# ===========================================================================
# Part 1: the papers pack
# ===========================================================================


def chart_uri(rnd: random.Random) -> str:
    """A bar chart over a photo-like textured background, as a JPEG data: URI.

    Real papers carry charts and photographs; their images are most of a PDF's bytes.
    """
    import base64
    from io import BytesIO

    from PIL import Image, ImageDraw

    image = Image.merge(
        "RGB", [Image.effect_noise((900, 420), rnd.uniform(20, 60)) for _ in range(3)]
    )
    draw = ImageDraw.Draw(image)
    for bar in range(8):
        height = rnd.randint(60, 380)
        colour = (29, 112, 184) if bar % 2 else (0, 112, 60)
        draw.rectangle((40 + bar * 105, 400 - height, 120 + bar * 105, 400), fill=colour)
    out = BytesIO()
    image.save(out, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def paper_html(number: int, paragraphs: int, rnd: random.Random) -> str:
    """A committee paper: headings, paragraphs, tables of figures and a chart now and then."""
    parts = [
        "<html><head><style>@page { size: A4; margin: 2cm } "
        "body { font-family: sans-serif; font-size: 11pt; line-height: 1.4 } "
        "table { border-collapse: collapse } td, th { border: 1px solid #999; padding: 2px 6px }"
        "img { width: 100%; height: auto }"
        "</style></head><body>",
        f"<h1>Paper {number}: {TOPICS[number % len(TOPICS)].capitalize()}</h1>",
    ]
    for p in range(paragraphs):
        if p % 6 == 0:
            parts.append(f"<h2>{p // 6 + 1}. {rnd.choice(TOPICS).capitalize()}</h2>")
        words = [rnd.choice(WORDS) for _ in range(rnd.randint(70, 110))]
        parts.append(f"<p>{' '.join(words).capitalize()}.</p>")
        if p % 10 == 4:
            parts.append(f'<p><img src="{chart_uri(rnd)}" alt="Chart {p // 10 + 1}"></p>')
        if p % 9 == 8:
            rows = "".join(
                f"<tr><td>{rnd.choice(TOPICS)}</td>"
                + "".join(f"<td>{rnd.randint(10, 999)}</td>" for _ in range(4))
                + "</tr>"
                for _ in range(6)
            )
            parts.append(
                "<table><tr><th>Area</th><th>Q1</th><th>Q2</th><th>Q3</th><th>Q4</th></tr>"
                f"{rows}</table>"
            )
    parts.append("</body></html>")
    return "".join(parts)


def make_papers(directory: Path) -> list[dict[str, Any]]:
    """Ten PDF papers with WeasyPrint, each grown or shrunk to its number of pages.

    The same seed gives the same text, so the papers are the same on every run.
    """
    from pypdf import PdfReader
    from weasyprint import HTML

    papers = []
    per_page = 5.0  # paragraphs per page, refined as papers are made
    for number, pages in enumerate(PAPER_PAGES, start=1):
        paragraphs = max(1, round(pages * per_page))
        tried: dict[int, int] = {}
        while paragraphs not in tried and len(tried) < 12:
            html = paper_html(number, paragraphs, random.Random(PAPER_SEED * 1000 + number))
            document = HTML(string=html).render()
            got = tried[paragraphs] = len(document.pages)
            if got == pages:
                break
            per_page = paragraphs / got
            step = max(1, round(abs(pages - got) * per_page))
            paragraphs = max(1, paragraphs + (step if got < pages else -step))
        path = directory / f"paper-{number:02d}.pdf"
        document.write_pdf(path)
        made = len(PdfReader(path).pages)
        papers.append({"path": str(path), "pages": made, "bytes": path.stat().st_size})
    return papers


def pack_environment(directory: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "partnerwell.settings",
        "DEBUG": "true",  # the development key; the query log is switched off after setup
        "DATABASE_URL": f"sqlite:///{directory / 'pack.sqlite3'}",
        "MEDIA_ROOT": str(directory / "media"),
        # As in production: the emails the build asks for are queued, not sent, in the build.
        "TASKS_BACKEND": "database",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "LOG_LEVEL": "WARNING",
    }


def pack_child_django(migrate: bool) -> None:
    import django
    from django.conf import settings

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
    settings.DEBUG = False


def pack_setup(directory: Path) -> None:
    """Child process: a partnership with two sides and a meeting with 10 papers, agenda agreed."""
    pack_child_django(migrate=True)
    from django.core.files import File
    from django.utils import timezone

    from partnerwell.core.models import Membership, Organisation, Partnership, Role, Side, User
    from partnerwell.meetings import services
    from partnerwell.meetings.models import (
        AgendaApproval,
        AgendaItem,
        ItemStatus,
        Meeting,
        MeetingStatus,
        Paper,
    )

    papers = json.loads((directory / "papers.json").read_text())
    partnership = Partnership.objects.create(
        name="Northbridge Joint Partnership Forum", kind="forum", area="Northbridge"
    )
    council = Organisation.objects.create(name="Northbridge Council", sector="local_authority")
    union = Organisation.objects.create(name="Unison Northbridge", sector="trade_union")
    sides = [
        Side.objects.create(partnership=partnership, name="Management side", order=1),
        Side.objects.create(partnership=partnership, name="Staff side", order=2),
    ]
    people = []
    for n in range(20):
        side = sides[n % 2]
        person = User.objects.create(email=f"member{n}@pack.bench.example", name=f"Member {n}")
        role = {0: Role.CHAIR, 1: Role.CO_CHAIR, 2: Role.MANAGER}.get(n, Role.MEMBER)
        Membership.objects.create(
            partnership=partnership,
            person=person,
            organisation=council if side == sides[0] else union,
            side=side,
            role=role,
            decision_maker=n % 3 == 0,
        )
        people.append(person)
    start = (timezone.now() + dt.timedelta(days=14)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    meeting = services.meeting_create(
        partnership=partnership,
        by=people[2],
        title="Joint partnership forum",
        kind="forum",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=4),
        time_zone="Europe/London",
        place="Civic Centre, Committee Room 1",
        video_link="",
    )
    for number, spec in enumerate(papers, start=1):
        submitter = people[number % len(people)]
        item = AgendaItem.objects.create(
            partnership=partnership,
            meeting=meeting,
            title=f"{TOPICS[number % len(TOPICS)].capitalize()}",
            description="What the forum is asked to consider, with the paper attached.",
            ask=("decision", "discussion", "information", "assurance")[number % 4],
            nature="strategic" if number % 3 else "operational",
            presenter=submitter.name,
            minutes_needed=15,
            status=ItemStatus.ACCEPTED,
            position=50 + number * 10,
            submitted_by=submitter,
            submitter_side=sides[number % 2],
            triaged_by=people[0],
            triaged_at=timezone.now(),
        )
        with open(spec["path"], "rb") as handle:
            paper = Paper(
                item=item,
                title=f"Paper {number}: {item.title}",
                original_name=Path(spec["path"]).name,
                kind="pdf",
                size=spec["bytes"],
                pages=spec["pages"],
                uploaded_by=submitter,
            )
            paper.file.save(Path(spec["path"]).name, File(handle), save=True)
    for person, side in ((people[0], sides[0]), (people[1], sides[1])):
        AgendaApproval.objects.create(meeting=meeting, side=side, approved_by=person, revision=0)
    Meeting.objects.filter(pk=meeting.pk).update(
        status=MeetingStatus.AGENDA_AGREED, agenda_agreed_at=timezone.now()
    )
    (directory / "setup.json").write_text(json.dumps({"meeting": meeting.pk}))


def find_build() -> tuple[str, Callable[..., Any], str]:
    """The function the worker runs to build a pack: (name, callable, what it takes).

    A django-tasks Task in partnerwell.meetings.tasks whose name mentions a pack;
    its `func` is what the worker calls. Without one, pack.build(pack, out).
    """
    import inspect

    try:
        from partnerwell.meetings import tasks
    except ImportError:
        tasks = None  # type: ignore[assignment]
    if tasks is not None:
        from django_tasks.base import Task

        found = [
            (name, value)
            for name, value in vars(tasks).items()
            if isinstance(value, Task) and "pack" in name.lower()
        ]
        found.sort(key=lambda pair: "build" not in pair[0])  # not the one sending emails
        for name, value in found[:1]:
            params = list(inspect.signature(value.func).parameters)
            takes = params[0] if params else ""
            return f"partnerwell.meetings.tasks.{name}.func", value.func, takes
    from partnerwell.meetings import pack

    return "partnerwell.meetings.pack.build", pack.build, "pack,out"


def pack_build(directory: Path, trace: bool) -> None:
    """Child process: one build of the pack, timed; prints its figures as one JSON line."""
    import resource
    import tracemalloc

    pack_child_django(migrate=False)
    import pypdf
    import weasyprint  # noqa: F401  (imported before the build: a warm worker has it loaded)
    from django.core.files.storage import default_storage

    from partnerwell.meetings.models import Meeting, PackStatus, PapersPack

    meeting = Meeting.objects.get(pk=json.loads((directory / "setup.json").read_text())["meeting"])
    for old in PapersPack.objects.filter(meeting=meeting):
        if old.file:
            old.file.delete(save=False)
    PapersPack.objects.filter(meeting=meeting).delete()
    name, build, takes = find_build()
    pack = PapersPack.objects.create(meeting=meeting, version=1, status=PackStatus.QUEUED)
    out_path = directory / "pack-direct.pdf"
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    if takes == "pack,out":
        with open(out_path, "wb") as out:
            build(pack, out)
    elif "meeting" in takes:
        build(meeting.pk)
    else:
        build(pack.pk)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    if trace:
        tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    pdf_path: Path | None
    if takes == "pack,out":
        pdf_path, status = out_path, "written by pack.build"
    else:
        pack = PapersPack.objects.filter(meeting=meeting).order_by("-version").first() or pack
        status = pack.status
        pdf_path = Path(default_storage.path(pack.file.name)) if pack.file else None
    pages = len(pypdf.PdfReader(pdf_path).pages) if pdf_path and pdf_path.exists() else None
    print(
        "PACKJSON "
        + json.dumps(
            {
                "build": name,
                "trace": trace,
                "seconds": seconds,
                "maxrss_before_kb": rss_before,
                "maxrss_after_kb": rss_after,
                "tracemalloc_peak_bytes": peak,
                "status": status,
                "error": getattr(pack, "error", ""),
                "pages": pages,
                "pack_pages_field": getattr(pack, "pages", None),
                "bytes": pdf_path.stat().st_size if pdf_path and pdf_path.exists() else None,
            }
        ),
        flush=True,
    )


def run_child(args: list[str], environment: dict[str, str]) -> tuple[str, int]:
    """Run this script as a child; returns its output and its own peak RSS (KB).

    The child is reaped with os.wait4, whose rusage is that child's alone
    (RUSAGE_CHILDREN would give the largest of all children so far).
    """
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), *args],
        env=environment,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    out = process.stdout.read()
    process.stdout.close()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"child {' '.join(args)} failed ({process.returncode}):\n{out}")
    return out, usage.ru_maxrss


def run_pack(args: argparse.Namespace) -> dict[str, Any]:
    log("papers pack: making 10 papers with WeasyPrint ...")
    with tempfile.TemporaryDirectory(prefix="meetings-pack-bench-") as name:
        directory = Path(name)
        (directory / "media").mkdir()
        started = time.perf_counter()
        papers = make_papers(directory)
        made = time.perf_counter() - started
        log(
            f"  {len(papers)} papers, {sum(p['pages'] for p in papers)} pages, "
            f"{sum(p['bytes'] for p in papers) / 1e6:.2f} MB, in {made:.1f} s"
        )
        (directory / "papers.json").write_text(json.dumps(papers))
        environment = pack_environment(directory)
        started = time.perf_counter()
        run_child(["--pack-setup", str(directory)], environment)
        log(f"  scratch SQLite database and meeting ready in {time.perf_counter() - started:.1f} s")
        runs: list[dict[str, Any]] = []
        for i in range(args.pack_repeat * 2):
            trace = i % 2 == 1
            wall = time.perf_counter()
            out, child_rss = run_child(
                ["--pack-build", str(directory), *(["--trace"] if trace else [])], environment
            )
            line = next(x for x in out.splitlines() if x.startswith("PACKJSON "))
            run = json.loads(line.removeprefix("PACKJSON "))
            run["child_maxrss_kb"] = child_rss
            run["process_seconds"] = time.perf_counter() - wall
            runs.append(run)
            log(
                f"  build {i + 1}/{args.pack_repeat * 2}"
                f"{' (tracemalloc)' if trace else ''}: {run['seconds']:.2f} s, "
                f"{run['pages']} pages, child peak RSS {child_rss / 1024:.0f} MB"
                + (
                    f", Python peak {run['tracemalloc_peak_bytes'] / 2**20:.1f} MiB"
                    if trace
                    else ""
                )
            )
    plain = [r for r in runs if not r["trace"]]
    traced = [r for r in runs if r["trace"]]
    return {
        "papers": [{"pages": p["pages"], "bytes": p["bytes"]} for p in papers],
        "paper_pages": sum(p["pages"] for p in papers),
        "papers_made_seconds": made,
        "build": runs[0]["build"],
        "runs": runs,
        "median_seconds": statistics.median(r["seconds"] for r in plain),
        "min_seconds": min(r["seconds"] for r in plain),
        "median_child_maxrss_mb": statistics.median(r["child_maxrss_kb"] for r in plain) / 1024,
        "median_rss_before_build_mb": statistics.median(r["maxrss_before_kb"] for r in plain)
        / 1024,
        "median_rss_growth_mb": statistics.median(
            r["maxrss_after_kb"] - r["maxrss_before_kb"] for r in plain
        )
        / 1024,
        "median_tracemalloc_peak_mib": statistics.median(
            r["tracemalloc_peak_bytes"] for r in traced
        )
        / 2**20,
        "median_seconds_under_tracemalloc": statistics.median(r["seconds"] for r in traced),
        "pages": sorted({r["pages"] for r in runs if r["pages"] is not None}),
        "statuses": sorted({str(r["status"]) for r in runs}),
        "bytes": statistics.median(r["bytes"] or 0 for r in plain),
    }


# ===========================================================================
# Part 2: meeting page and decision log at national scale
# ===========================================================================


@contextmanager
def bench_databases(args: argparse.Namespace) -> Iterator[tuple[str, str, str]]:
    """Two new PostgreSQL databases; yields the main one's DATABASE_URL and both names."""
    import psycopg

    parts = urlsplit(args.database_url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise SystemExit("--database-url must be a postgres:// address.")
    if parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise SystemExit("This benchmark only talks to a database on 127.0.0.1.")
    admin_url = urlunsplit(parts._replace(scheme="postgresql"))
    main = f"bench_meetings_{os.getpid()}"
    names = (main, f"{main}_twin")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{main}")), main, names[1]
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        if args.keep:
            log(f"kept the databases {', '.join(names)}")
        else:
            with psycopg.connect(admin_url, autocommit=True) as admin:
                for name in names:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def use_database(name: str) -> None:
    """Point the default connection at another database (it reconnects on next use)."""
    from django.db import connection

    if connection.settings_dict["NAME"] != name:
        connection.close()
        connection.settings_dict["NAME"] = name


class Table:
    """Rows for one model's table, in its column order, with ids given here.

    Columns not given take the field's default (a callable is called per row),
    auto_now(_add) fields the load's time, nullable ones NULL and blank text
    "", so a field another part of the app adds later does not break the load.
    """

    def __init__(self, model: Any, writer: generate.BulkWriter, now: dt.datetime) -> None:
        from django.db import models

        self.model = model
        self.table = model._meta.db_table
        self.writer = writer
        self.fields = list(model._meta.concrete_fields)
        self.columns = [f.column for f in self.fields]
        self.rows: list[tuple[Any, ...]] = []
        self.count = 0
        self.next_id = 1
        self.auto_id = isinstance(model._meta.pk, models.AutoField)
        self.fill: list[Callable[[], Any] | None] = []
        self.json = {i for i, f in enumerate(self.fields) if isinstance(f, models.JSONField)}
        self.uuid = {i for i, f in enumerate(self.fields) if isinstance(f, models.UUIDField)}
        for f in self.fields:
            if f.has_default():
                default = f.default
                self.fill.append(default if callable(default) else _constant(default))
            elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                self.fill.append(lambda: now)
            elif f.null:
                self.fill.append(lambda: None)
            elif f.blank and isinstance(f, models.CharField | models.TextField):
                self.fill.append(lambda: "")
            else:
                self.fill.append(None)
        self.names = [f.attname for f in self.fields]

    def start_after_existing(self) -> None:
        if self.auto_id:
            found = self.model.objects.order_by("-pk").values_list("pk", flat=True).first()
            self.next_id = (found or 0) + 1

    def add(self, **values: Any) -> Any:
        if self.auto_id:
            if "id" not in values:
                values["id"] = self.next_id
            self.next_id = max(self.next_id, values["id"] + 1)
        row = []
        for i, name in enumerate(self.names):
            if name in values:
                value = values[name]
            else:
                fill = self.fill[i]
                if fill is None:
                    raise KeyError(f"{self.table}.{name} needs a value")
                value = fill()
            if i in self.json:
                value = json.dumps(value)
            elif i in self.uuid and value is not None:
                value = str(value)
            row.append(value)
        self.rows.append(tuple(row))
        if len(self.rows) >= 100_000:
            self.flush()
        return values.get("id")

    def flush(self) -> None:
        self.writer.insert(self.table, self.columns, self.rows)
        self.count += len(self.rows)
        self.rows = []

    def reset_sequence(self) -> None:
        from django.db import connection

        if self.auto_id and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{self.table}', 'id'), "  # noqa: S608
                    f"COALESCE((SELECT MAX(id) FROM {self.table}), 1))"
                )


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value


def _seeded_uuid(rnd: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rnd.getrandbits(128), version=4)


def _token(rnd: random.Random) -> str:
    return "".join(
        rnd.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
        for _ in range(43)
    )


def _text(rnd: random.Random, low: int, high: int) -> str:
    return " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(low, high))).capitalize() + "."


class Member(NamedTuple):
    pk: int
    partnership_id: int
    person_id: int
    organisation_id: int
    side_id: int | None
    role: str
    decision_maker: bool
    start_date: dt.date | None
    end_date: dt.date | None

    def current_on(self, day: dt.date) -> bool:
        return (self.start_date is None or self.start_date <= day) and (
            self.end_date is None or self.end_date > day
        )


@dataclass
class Held:
    """What one meeting's later rows need to know about it."""

    pk: int
    day: dt.date
    starts: dt.datetime
    status: str
    here: list[Member]
    chair: Member
    items: list[int]
    substantive: list[int]


# Statuses of the last meetings, oldest first: the last held one, then the three to come.
COMING = ("papers_published", "agenda_open", "planned")
STANDING = (("apologies", 5), ("minutes", 5), ("actions", 15), ("risks", 10), ("aob", 5))
TABLES = (  # in an order where every row's parents are written first
    ("settings", "meetings.MeetingSettings"),
    ("series", "meetings.MeetingSeries"),
    ("meeting", "meetings.Meeting"),
    ("item", "meetings.AgendaItem"),
    ("paper", "meetings.Paper"),
    ("approval", "meetings.AgendaApproval"),
    ("pack", "meetings.PapersPack"),
    ("attendance", "meetings.Attendance"),
    ("minutes", "meetings.Minutes"),
    ("entry", "meetings.MinuteEntry"),
    ("decision", "meetings.Decision"),
    ("review", "meetings.MeetingReview"),
    ("action", "delivery.Action"),
)
# Tables loaded with their secondary indexes and foreign keys dropped (BulkWriter.loading).
BIG_TABLES = ("attendance", "item", "entry", "review", "decision", "approval", "paper", "action")


class MeetingsLoad:
    """Eight meetings a year for five years for every partnership, written with COPY.

    Dates are relative to today: the last held meeting was about three weeks
    ago and three are still to come. One seeded Random draws everything, in
    the same order every run.
    """

    def __init__(self, *, seed: int, today: dt.date) -> None:
        from django.apps import apps

        from partnerwell.core.models import MANAGING_ROLES
        from partnerwell.meetings.models import Standing

        self.managing = MANAGING_ROLES
        self.standing_labels = {s.value: s.label for s in Standing}
        self.rnd = random.Random(seed + MEETINGS_SEED_OFFSET)
        self.today = today
        self.now = generate._at(today)
        self.writer = generate.BulkWriter()
        self.t = {
            name: Table(apps.get_model(label), self.writer, self.now) for name, label in TABLES
        }
        for table in self.t.values():
            table.start_after_existing()

    def run(self) -> dict[str, Any]:
        from partnerwell.core.models import Membership, Side

        started = time.perf_counter()
        sides: dict[int, list[int]] = defaultdict(list)
        for pk, pid in Side.objects.order_by("order", "pk").values_list("pk", "partnership_id"):
            sides[pid].append(pk)
        members: dict[int, list[Member]] = defaultdict(list)
        for row in Membership.objects.order_by("pk").values_list(*Member._fields):
            members[row[1]].append(Member(*row))
        with ExitStack() as stack:
            for name in BIG_TABLES:
                stack.enter_context(self.writer.loading(self.t[name].table))
            for pid in sorted(members):
                if any(m.current_on(self.today) for m in members[pid]):
                    self.partnership(pid, members[pid], sides.get(pid, []))
            for table in self.t.values():
                table.flush()
        for table in self.t.values():
            table.reset_sequence()
        counts = {name: table.count for name, table in self.t.items()}
        return {
            "counts": counts,
            "rows": sum(counts.values()),
            "seconds": time.perf_counter() - started,
        }

    def partnership(self, pid: int, rows: list[Member], side_ids: list[int]) -> None:
        rnd, t = self.rnd, self.t
        now_members = [m for m in rows if m.current_on(self.today)]
        t["settings"].add(
            partnership_id=pid,
            quorum_each_side=bool(side_ids),
            quorum_min_members=None,
            quorum_sectors=[],
        )
        series = t["series"].add(partnership_id=pid, name="Partnership meetings")
        days = [
            self.today
            + dt.timedelta(days=25 + (k - HELD) * MEETING_SPACING_DAYS + rnd.randint(-3, 3))
            for k in range(MEETINGS_PER_YEAR * YEARS)
        ]
        ids = [t["meeting"].next_id + k for k in range(len(days))]
        numbers: dict[int, int] = defaultdict(int)  # decisions so far in each year
        for k, day in enumerate(days):
            here = [m for m in rows if m.current_on(day)] or now_members
            chair = next((m for m in here if m.role in self.managing), here[0])
            if k < HELD - 1:
                status = "minutes_approved"
            elif k == HELD - 1:
                status = "minutes_drafted"
            else:
                status = COMING[k - HELD]
            starts = dt.datetime.combine(day, dt.time(9, 30), tzinfo=dt.UTC)
            held = Held(ids[k], day, starts, status, here, chair, [], [])
            register = self.register_draw(held) if k < HELD else []
            self.meeting(held, pid, series, k, register)
            self.agenda(held, pid, last=k == len(days) - 1)
            if k < HELD or status == "papers_published":
                self.approvals_and_pack(held, side_ids)
            self.attendance(held, register)
            if k < HELD:
                self.decisions(held, pid, numbers)
                approved_at = (ids[k + 1], days[k + 1]) if k < HELD - 1 else None
                self.minutes(held, approved_at)
                self.reviews(held)
        for _ in range(3):  # a few items waiting on the forward plan
            by = rnd.choice(now_members)
            t["item"].add(
                partnership_id=pid,
                meeting_id=None,
                title=rnd.choice(TOPICS).capitalize(),
                description=_text(rnd, 15, 40),
                ask="discussion",
                nature="strategic",
                minutes_needed=20,
                status="submitted",
                position=0,
                submitted_by_id=by.person_id,
                submitter_side_id=by.side_id,
                submitted_at=self.now - dt.timedelta(days=rnd.randint(1, 30)),
            )

    def register_draw(self, held: Held) -> list[tuple[Member, str]]:
        """Who was present, sent apologies or a deputy, or was absent."""
        register = []
        for m in held.here:
            draw = self.rnd.random()
            if draw < 0.75:
                presence = "present"
            elif draw < 0.87:
                presence = "apologies"
            elif draw < 0.92:
                presence = "deputy"
            else:
                presence = "absent"
            register.append((m, presence))
        return register

    def meeting(
        self, held: Held, pid: int, series: int, k: int, register: list[tuple[Member, str]]
    ) -> None:
        rnd = self.rnd
        present = [m for m, presence in register if presence in ("present", "deputy")]
        agreed = k < HELD or held.status == "papers_published"
        starts = held.starts
        self.t["meeting"].add(
            id=held.pk,
            partnership_id=pid,
            series_id=series,
            title=f"Partnership meeting {held.day:%B %Y}",
            kind="board" if k % 4 else "forum",
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=2, minutes=30),
            time_zone="Europe/London",
            place="Civic Centre, Committee Room 2",
            video_link="https://video.example/partnership" if k % 2 else "",
            status=held.status,
            cancelled_at=None,
            uid=_seeded_uuid(rnd),
            sequence=rnd.randint(0, 3),
            agenda_revision=1 if agreed else 0,
            agenda_agreed_at=starts - dt.timedelta(days=12) if agreed else None,
            papers_published_at=starts - dt.timedelta(days=rnd.choice((3, 6, 7, 8)))
            if agreed
            else None,
            quorum_met=bool(present) if register else None,
            quorum_detail={"met": True, "present": len(present)} if register else {},
            decision_makers_present=sum(1 for m in present if m.decision_maker)
            if register
            else None,
            review_token=_token(rnd),
            review_open=False,
            created_by_id=held.chair.person_id,
            created_at=starts - dt.timedelta(days=60),
            updated_at=starts,
        )

    def agenda(self, held: Held, pid: int, *, last: bool) -> None:
        """The standing items, then 2-4 others before any other business (some with a paper)."""
        rnd, t, starts = self.rnd, self.t, held.starts
        for n, (standing, minutes) in enumerate(STANDING):
            held.items.append(
                t["item"].add(
                    partnership_id=pid,
                    meeting_id=held.pk,
                    title=self.standing_labels[standing],
                    ask="information",
                    nature="operational",
                    minutes_needed=minutes,
                    standing=standing,
                    status="accepted",
                    position=(n + 1) * 10 if standing != "aob" else 10_000,
                    submitted_by_id=held.chair.person_id,
                    submitter_side_id=held.chair.side_id,
                    submitted_at=starts - dt.timedelta(days=60),
                )
            )
        triaged = held.status != "planned"
        for n in range(0 if last else rnd.randint(2, 4)):
            by = rnd.choice(held.here)
            topic = rnd.choice(TOPICS)
            declined = rnd.random() < 0.08
            item = t["item"].add(
                partnership_id=pid,
                meeting_id=held.pk,
                title=topic.capitalize(),
                description=_text(rnd, 15, 40),
                ask=rnd.choice(("decision", "decision", "discussion", "information", "assurance")),
                nature="strategic" if rnd.random() < 0.6 else "operational",
                presenter=f"Presenter {by.person_id}",
                minutes_needed=rnd.choice((15, 20, 25, 30)),
                status="declined" if declined else "accepted",
                late=rnd.random() < 0.1,
                position=60 + n * 10,
                submitted_by_id=by.person_id,
                submitter_side_id=by.side_id,
                submitted_at=starts - dt.timedelta(days=rnd.randint(14, 40)),
                triage_reason="Not for this forum: please take it to the service board."
                if declined
                else "",
                triaged_by_id=held.chair.person_id if triaged else None,
                triaged_at=starts - dt.timedelta(days=13) if triaged else None,
            )
            if declined:
                continue
            held.substantive.append(item)
            held.items.append(item)
            if rnd.random() < 0.6:
                t["paper"].add(
                    item_id=item,
                    title=f"Paper: {topic}",
                    file=f"papers/{held.day:%Y/%m}/bench-{item}.pdf",
                    original_name=f"{topic.replace(' ', '-')}.pdf",
                    kind="pdf",
                    size=rnd.randint(80_000, 900_000),
                    pages=rnd.randint(2, 12),
                    uploaded_by_id=by.person_id,
                    uploaded_at=starts - dt.timedelta(days=14),
                    replaced_at=None,
                )

    def approvals_and_pack(self, held: Held, side_ids: list[int]) -> None:
        """A chair (or else a member) of each side approved the agenda; the pack was built."""
        approvers: list[Member] = []
        choices: list[int | None] = [*side_ids] or [None]  # no sides: one approval
        for side in choices:
            on_side = [m for m in held.here if side is None or m.side_id == side]
            ranked = sorted(on_side, key=lambda m: m.role not in self.managing)
            if ranked and ranked[0].person_id not in [a.person_id for a in approvers]:
                approvers.append(ranked[0])
        for approver in approvers:
            self.t["approval"].add(
                meeting_id=held.pk,
                side_id=approver.side_id,
                approved_by_id=approver.person_id,
                revision=1,
                approved_at=held.starts - dt.timedelta(days=12),
            )
        self.t["pack"].add(
            meeting_id=held.pk,
            version=1,
            status="ready",
            file=f"packs/{held.day:%Y/%m}/pack-{held.pk}-v1.pdf",
            pages=self.rnd.randint(20, 80),
            requested_at=held.starts - dt.timedelta(days=7),
            built_at=held.starts - dt.timedelta(days=7),
        )

    def attendance(self, held: Held, register: list[tuple[Member, str]]) -> None:
        """The register of a held meeting; replies before the next one."""
        replies = {"present": "attending", "deputy": "deputy", "apologies": "apologies"}
        for m, presence in register:
            self.t["attendance"].add(
                meeting_id=held.pk,
                membership_id=m.pk,
                reply=replies.get(presence, ""),
                replied_at=held.starts - dt.timedelta(days=5) if presence != "absent" else None,
                presence=presence,
                deputy_name=f"Deputy for {m.person_id}" if presence == "deputy" else "",
            )
        if held.status != "papers_published":
            return
        rnd = self.rnd
        for m in held.here:
            if rnd.random() < 0.6:
                reply = rnd.choice(("attending", "attending", "attending", "apologies", "deputy"))
                self.t["attendance"].add(
                    meeting_id=held.pk,
                    membership_id=m.pk,
                    reply=reply,
                    replied_at=self.now - dt.timedelta(days=rnd.randint(0, 5)),
                    presence="",
                    deputy_name=f"Deputy for {m.person_id}" if reply == "deputy" else "",
                )

    def decisions(self, held: Held, pid: int, numbers: dict[int, int]) -> None:
        """2-4 decisions, a third of them with an action in the action log."""
        rnd, t, day = self.rnd, self.t, held.day
        for _ in range(rnd.randint(2, 4)):
            numbers[day.year] += 1
            text = (
                f"{rnd.choice(DECISION_OPENINGS)} {rnd.choice(TOPICS)}{rnd.choice(DECISION_TAILS)}."
            )
            decision = t["decision"].add(
                partnership_id=pid,
                meeting_id=held.pk,
                item_id=rnd.choice(held.substantive) if held.substantive else None,
                reference=f"D{day.year}/{numbers[day.year]:02d}",
                text=text,
                decided_on=day,
                created_by_id=held.chair.person_id,
                created_at=held.starts + dt.timedelta(days=2),
            )
            if rnd.random() < 1 / 3:
                owner = rnd.choice(held.here)
                due = day + dt.timedelta(days=rnd.choice((30, 60, 90)))
                done = due < self.today and rnd.random() < 0.8
                t["action"].add(
                    partnership_id=pid,
                    title=f"Carry out: {text[:150]}",
                    owner_id=owner.pk,
                    organisation_id=owner.organisation_id,
                    due_date=due,
                    status="done" if done else "agreed",
                    done_on=due - dt.timedelta(days=3) if done else None,
                    source="decision",
                    source_decision_id=decision,
                    created_by_id=held.chair.person_id,
                    created_at=held.starts + dt.timedelta(days=2),
                    updated_at=held.starts + dt.timedelta(days=2),
                )

    def minutes(self, held: Held, approved_at: tuple[int, dt.date] | None) -> None:
        """Minutes with an entry per item: approved at the next meeting, now and then corrected."""
        rnd, t = self.rnd, self.t
        versions = 2 if approved_at and rnd.random() < 0.05 else 1
        for version in range(1, versions + 1):
            if version < versions:
                status = "superseded"
            else:
                status = "approved" if approved_at else "circulated"
            minutes = t["minutes"].add(
                meeting_id=held.pk,
                version=version,
                status=status,
                summary=_text(rnd, 20, 40),
                correction_reason="The wording of a decision was corrected." if version > 1 else "",
                circulated_at=held.starts + dt.timedelta(days=7),
                approved_at=generate._at(approved_at[1]) if approved_at else None,
                approved_at_meeting_id=approved_at[0] if approved_at else None,
                created_by_id=held.chair.person_id,
                created_at=held.starts + dt.timedelta(days=3),
                updated_at=held.starts + dt.timedelta(days=7),
            )
            for item in held.items:
                t["entry"].add(minutes_id=minutes, item_id=item, text=_text(rnd, 20, 60))

    def reviews(self, held: Held) -> None:
        """3-8 anonymous answers to the review at the end of the meeting."""
        rnd = self.rnd
        for _ in range(rnd.randint(3, 8)):
            self.t["review"].add(
                id=_seeded_uuid(rnd),
                meeting_id=held.pk,
                added_value=rnd.choice((2, 3, 4, 4, 5)),
                voices_heard=rnd.choice((2, 3, 3, 4, 5)),
                time_well_spent=rnd.choice((1, 3, 4, 4, 5)),
                comment=_text(rnd, 5, 15) if rnd.random() < 0.2 else "",
            )


def copy_to_twin(main_url: str, twin_url: str, partnership_id: int) -> dict[str, int]:
    """Copy one partnership's rows, and every row they refer to, into the twin; ids unchanged.

    A table with a partnership_id column gives that partnership's rows; a table
    with a foreign key to rows being copied gives its rows that point at them
    (meetings -> items -> papers, rounds -> responses -> ratings, ...); then
    every row a copied row refers to (people, organisations) is added, until
    nothing new turns up. Rows the twin already has (from the migrations, such
    as the built-in frameworks) are left alone. Foreign keys are deferred, so
    the order of the tables does not matter inside the one transaction.
    """
    import psycopg

    def connect(url: str) -> psycopg.Connection[Any]:
        return psycopg.connect(urlunsplit(urlsplit(url)._replace(scheme="postgresql")))

    with connect(main_url) as src, connect(twin_url) as dst:
        fks = src.execute(
            "SELECT cl.relname, a.attname, rcl.relname, ra.attname FROM pg_constraint c "
            "JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_class rcl ON rcl.oid = c.confrelid "
            "JOIN pg_namespace n ON n.oid = cl.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1] "
            "WHERE c.contype = 'f' AND n.nspname = 'public'"
        ).fetchall()
        columns: dict[str, list[str]] = defaultdict(list)
        for table, column in src.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
        ).fetchall():
            columns[table].append(column)
        owned = {"core_partnership": f"id = {int(partnership_id)}"}
        for table, names in columns.items():
            if "partnership_id" in names:
                owned[table] = f"partnership_id = {int(partnership_id)}"
        # Level by level, so that a table reached through several keys follows the
        # shortest path to the partnership (ratings through their round, not through
        # a principle of a framework that only some partnerships own).
        frontier = set(owned)
        while frontier:
            found: dict[str, str] = {}
            for table, column, ref, _ in fks:
                if ref in frontier and table not in owned and table not in found:
                    found[table] = f'"{column}" IN (SELECT id FROM "{ref}" WHERE {owned[ref]})'  # noqa: S608
            owned.update(found)
            frontier = set(found)
        extra: dict[str, set[Any]] = defaultdict(set)

        def condition(table: str) -> str:
            parts = [f"({owned[table]})"] if table in owned else []
            if extra[table]:
                ids = ", ".join(str(int(i)) for i in sorted(extra[table]))
                parts.append(f"id IN ({ids})")
            return " OR ".join(parts) or "FALSE"

        changed = True
        while changed:
            changed = False
            for table, column, ref, ref_column in fks:
                if table not in owned and not extra[table]:
                    continue
                wanted = {
                    row[0]
                    for row in src.execute(
                        f'SELECT DISTINCT "{column}" FROM "{table}" '  # noqa: S608
                        f'WHERE ({condition(table)}) AND "{column}" IS NOT NULL'
                    )
                }
                if not wanted:
                    continue
                have = {
                    row[0]
                    for row in src.execute(
                        f'SELECT "{ref_column}" FROM "{ref}" WHERE ({condition(ref)}) '  # noqa: S608
                        f'AND "{ref_column}" = ANY(%s)',
                        [list(wanted)],
                    )
                }
                have |= {
                    row[0]
                    for row in dst.execute(
                        f'SELECT "{ref_column}" FROM "{ref}" WHERE "{ref_column}" = ANY(%s)',  # noqa: S608
                        [list(wanted)],
                    )
                }
                missing = wanted - have
                if missing:
                    extra[ref] |= missing
                    changed = True
        counts: dict[str, int] = {}
        with dst.transaction():
            dst.execute("SET CONSTRAINTS ALL DEFERRED")
            for table in sorted(set(owned) | {t for t, ids in extra.items() if ids}):
                listed = ", ".join(f'"{c}"' for c in columns[table])
                with (
                    src.cursor().copy(
                        f'COPY (SELECT {listed} FROM "{table}" WHERE {condition(table)}) TO STDOUT'  # noqa: S608
                    ) as reader,
                    dst.cursor().copy(f'COPY "{table}" ({listed}) FROM STDIN') as writer,
                ):
                    for block in reader:
                        writer.write(block)
                counts[table] = dst.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]  # type: ignore[index]  # noqa: S608
                sequence = dst.execute(
                    "SELECT pg_get_serial_sequence(%s, 'id')", [f'"{table}"']
                ).fetchone()
                if "id" in columns[table] and sequence and sequence[0]:
                    dst.execute(
                        f'SELECT setval(%s, COALESCE((SELECT MAX(id) FROM "{table}"), 1))',  # noqa: S608
                        [sequence[0]],
                    ).fetchall()
    return {table: n for table, n in counts.items() if n}


def vacuum_analyze(url: str) -> None:
    import psycopg

    with psycopg.connect(
        urlunsplit(urlsplit(url)._replace(scheme="postgresql")), autocommit=True
    ) as conn:
        conn.execute("VACUUM ANALYZE")


def choose_partnerships(today: dt.date) -> dict[str, dict[str, Any]]:
    """The typical partnership (median current members) and the largest, of the same shape.

    Same shape: no parent, two sides, a current plain member to sign in as.
    """
    from django.db.models import Count

    from partnerwell.core.models import Membership, Partnership, Role, Side

    counts = dict(
        Membership.objects.current(today)
        .values("partnership_id")
        .annotate(n=Count("id"))
        .values_list("partnership_id", "n")
    )
    two_sides = {
        pid
        for pid, n in Side.objects.values("partnership_id")
        .annotate(n=Count("id"))
        .values_list("partnership_id", "n")
        if n == 2
    }
    with_member = set(
        Membership.objects.current(today)
        .filter(role=Role.MEMBER)
        .values_list("partnership_id", flat=True)
    )
    candidates = sorted(
        (counts[pid], pid)
        for pid in Partnership.objects.filter(parent__isnull=True).values_list("pk", flat=True)
        if pid in two_sides and pid in with_member and pid in counts
    )
    if len(candidates) < 2:
        raise SystemExit("Too few partnerships with two sides; use more partnerships.")
    picked = {"typical": candidates[len(candidates) // 2], "large": candidates[-1]}
    return {role: {"id": pid, "members": n} for role, (n, pid) in picked.items()}


def describe(role: str, info: dict[str, Any], today: dt.date) -> dict[str, Any]:
    """The member to sign in as, the pages' paths and what the partnership holds."""
    from django.urls import NoReverseMatch, reverse
    from django.utils import timezone

    from partnerwell.core.models import Membership, Role
    from partnerwell.meetings.models import Attendance, Decision, Meeting, MinuteEntry

    pid = info["id"]
    member = (
        Membership.objects.current(today)
        .filter(partnership_id=pid, role=Role.MEMBER)
        .select_related("person")
        .order_by("pk")
        .first()
    )
    assert member is not None
    now = timezone.now()
    meetings = Meeting.objects.filter(partnership_id=pid)
    last = meetings.filter(starts_at__lt=now).order_by("-starts_at").first()
    coming = meetings.filter(starts_at__gte=now).order_by("starts_at").first()
    assert last is not None and coming is not None
    paths = {
        "meeting": reverse("meetings-view-meeting", args=[last.pk]),
        "next_meeting": reverse("meetings-view-meeting", args=[coming.pk]),
    }
    missing = []
    try:
        log_path = reverse("meetings-list-decisions", args=[pid])
        paths["decisions"] = log_path
        paths["decisions_search"] = f"{log_path}?q={SEARCH_WORD}"
    except NoReverseMatch:
        missing.append("meetings-list-decisions")
    return {
        **info,
        "role": role,
        "person_id": member.person_id,
        "person": member.person,
        "paths": paths,
        "missing_urls": missing,
        "meeting_id": last.pk,
        "next_meeting_id": coming.pk,
        "data": {
            "meetings": meetings.count(),
            "decisions": Decision.objects.filter(partnership_id=pid).count(),
            "decisions_matching": Decision.objects.filter(
                partnership_id=pid, text__icontains=SEARCH_WORD
            ).count(),
            "attendance_rows": Attendance.objects.filter(meeting__partnership_id=pid).count(),
            "minute_entries": MinuteEntry.objects.filter(
                minutes__meeting__partnership_id=pid
            ).count(),
            "meeting_attendance_rows": Attendance.objects.filter(meeting_id=last.pk).count(),
        },
    }


HTML_NOISE = re.compile(
    r'(name="csrfmiddlewaretoken" value=")[^"]*|(nonce=")[^"]*|(csrf[-_]?token[^>]*?content=")[^"]*',
    re.I,
)


def same_html(a: str, b: str) -> bool:
    return HTML_NOISE.sub(r"\1\2\3", a) == HTML_NOISE.sub(r"\1\2\3", b)


def measure_pages(
    targets: dict[str, dict[str, Any]], databases: dict[str, str], repeat: int
) -> dict[str, Any]:
    """Every page of every target, interleaved, `repeat` times; statements captured once.

    A target is (database, partnership). Each round visits the databases in
    alternating order; each switch reconnects, and one untimed request of each
    page there warms the new connection.
    """
    from django.db import connection

    by_db: dict[str, list[str]] = defaultdict(list)
    for name, target in targets.items():
        by_db[target["database"]].append(name)
    clients: dict[str, Any] = {}
    captured: dict[str, dict[str, Any]] = {}
    paths = {
        f"{name}:{page}": path
        for name, target in targets.items()
        for page, path in target["paths"].items()
    }
    for db, names in by_db.items():
        use_database(databases[db])
        for name in names:
            clients[name] = dashboard_bench.make_client(targets[name]["session"])
            for page, path in targets[name]["paths"].items():
                captured[f"{name}:{page}"] = dashboard_bench.capture_page(clients[name], path)
    seconds: dict[str, list[float]] = defaultdict(list)
    in_sql: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, set[int]] = defaultdict(set)
    load = [os.getloadavg()]
    order = list(by_db)
    for i in range(repeat):
        for db in order if i % 2 == 0 else order[::-1]:
            use_database(databases[db])
            visits = [
                (f"{name}:{page}", clients[name], path)
                for name in by_db[db]
                for page, path in targets[name]["paths"].items()
            ]
            for _, client, path in visits:
                client.get(path)  # warm-up of this connection
            shift = i % len(visits)
            for key, client, path in visits[shift:] + visits[:shift]:
                timer = dashboard_bench.StatementTimer()
                with connection.execute_wrapper(timer):
                    start = time.perf_counter()
                    status = client.get(path).status_code
                    elapsed = time.perf_counter() - start
                seconds[key].append(elapsed)
                in_sql[key].append(sum(timer.times))
                statuses[key].add(status)
    load.append(os.getloadavg())
    use_database(databases[order[0]])
    pages = {}
    for key, runs in seconds.items():
        pages[key] = {
            "path": paths[key],
            "status": captured[key]["status"],
            "statuses": sorted(statuses[key]),
            "bytes": captured[key]["bytes"],
            "queries": captured[key]["queries"],
            "sql": captured[key]["sql"],
            "seconds": runs,
            "median": statistics.median(runs),
            "min": min(runs),
            "in_sql_median": statistics.median(in_sql[key]),
        }
    return {"pages": pages, "captured": captured, "load_average": load, "repeat": repeat}


def run_pages(args: argparse.Namespace) -> dict[str, Any]:
    import warnings

    from django.utils import timezone

    # WhiteNoise warns that collectstatic has not been run; the pages do not need it.
    warnings.filterwarnings("ignore", message="No directory at")

    with bench_databases(args) as (database_url, main_db, twin_db):
        environment = dashboard_bench.server_environment(database_url)
        started = time.perf_counter()
        dashboard_bench.setup_django(environment)
        from django.conf import settings
        from django.core.management import call_command

        settings.DEBUG = False
        use_database(twin_db)
        call_command("migrate", verbosity=0, interactive=False)
        use_database(main_db)
        log(
            f"pages: databases {main_db} and {twin_db} migrated in {time.perf_counter() - started:.1f} s"
        )
        today = timezone.localdate()
        generation = generate.generate(
            partnerships=args.partnerships,
            members=args.members,
            rounds=args.rounds,
            seed=args.seed,
            log=log,
        )
        started = time.perf_counter()
        delivery = dashboard_bench.add_delivery(seed=args.seed, today=today, plans={})
        log(
            f"  delivery      {delivery['rows']:>12,} rows{'':<26}{time.perf_counter() - started:>7.1f} s"
        )
        started = time.perf_counter()
        meetings = MeetingsLoad(seed=args.seed, today=today).run()
        log(
            f"  meetings      {meetings['rows']:>12,} rows "
            f"({meetings['counts']['meeting']:,} meetings, "
            f"{meetings['counts']['attendance']:,} attendance)"
            f"{'':<2}{time.perf_counter() - started:>7.1f} s"
        )
        started = time.perf_counter()
        vacuum_analyze(database_url)
        log(f"  VACUUM ANALYZE{'':<52}{time.perf_counter() - started:>7.1f} s")
        chosen = {
            role: describe(role, info, today) for role, info in choose_partnerships(today).items()
        }
        twin_url = urlunsplit(urlsplit(database_url)._replace(path=f"/{twin_db}"))
        started = time.perf_counter()
        from django.db import connections

        connections.close_all()
        copied = copy_to_twin(database_url, twin_url, chosen["typical"]["id"])
        vacuum_analyze(twin_url)
        log(
            f"  twin: partnership {chosen['typical']['id']}'s {sum(copied.values()):,} rows "
            f"in {len(copied)} tables copied{'':<4}{time.perf_counter() - started:>7.1f} s"
        )
        targets: dict[str, dict[str, Any]] = {}
        for label, role, db in (
            ("national", "typical", "main"),
            ("twin", "typical", "twin"),
            ("large", "large", "main"),
        ):
            use_database(main_db if db == "main" else twin_db)
            targets[label] = {
                "database": db,
                "paths": chosen[role]["paths"],
                "session": dashboard_bench.session_for(chosen[role]["person"]),
            }
        targets["national"]["paths"] = {**targets["national"]["paths"], "bare": "/bench-bare/"}
        use_database(main_db)
        log(f"measuring {len(PAGES)} pages x 3, {args.repeat} runs each, interleaved ...")
        started = time.perf_counter()
        measured = measure_pages(targets, {"main": main_db, "twin": twin_db}, args.repeat)
        log(f"  done in {time.perf_counter() - started:.1f} s")
        captured = measured.pop("captured")
        comparisons = {}
        for page in PAGES:
            n, t, big = (
                measured["pages"].get(f"{x}:{page}") for x in ("national", "twin", "large")
            )
            if n is None or t is None or big is None:
                continue
            differ = [
                {"national": a, "twin": b}
                for a, b in zip(
                    map(dashboard_bench.normalise_sql, n["sql"]),
                    map(dashboard_bench.normalise_sql, t["sql"]),
                    strict=False,
                )
                if a != b
            ]
            comparisons[page] = {
                "queries": {
                    "national": n["queries"],
                    "twin": t["queries"],
                    "large": big["queries"],
                },
                "median_ratio_national_twin": n["median"] / t["median"],
                "min_ratio_national_twin": n["min"] / t["min"],
                "median_ratio_large_typical": big["median"] / n["median"],
                "same_html_national_twin": same_html(
                    captured[f"national:{page}"]["content"], captured[f"twin:{page}"]["content"]
                ),
                "statements_differing": differ[:5],
            }
        # Plans of every statement of the typical partnership's pages, national database.
        sizes = dashboard_bench.table_sizes()
        plans = {
            page: dashboard_bench.explain(measured["pages"][f"national:{page}"]["sql"], sizes)
            for page in PAGES
            if f"national:{page}" in measured["pages"]
        }
        for described in chosen.values():
            described.pop("person")
        return {
            "databases": {"main": main_db, "twin": twin_db},
            "today": str(today),
            "generation": generation,
            "delivery": {k: v for k, v in delivery.items() if k != "plans"},
            "meetings": meetings,
            "twin_rows": copied,
            "chosen": chosen,
            "measured": measured,
            "comparisons": comparisons,
            "explain": plans,
            "table_sizes": sizes,
            "postgresql": connections["default"].cursor().connection.info.server_version,
        }


# ===========================================================================
# Report
# ===========================================================================


def versions() -> dict[str, str]:
    import django
    import pypdf
    import weasyprint

    return {
        "python": platform.python_version(),
        "django": django.get_version(),
        "weasyprint": weasyprint.__version__,
        "pypdf": pypdf.__version__,
    }


def file_hashes() -> dict[str, str]:
    return {
        name: hashlib.sha256((ROOT / name).read_bytes()).hexdigest()
        for name in MEASURED_FILES
        if (ROOT / name).exists()
    }


def checks(out: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    pack = out.get("pack")
    if pack:
        ok = pack["pages"] and min(pack["pages"]) >= pack["paper_pages"]
        found.append(
            {
                "check": "pack built with every paper page",
                "passed": bool(ok),
                "detail": f"pages {pack['pages']}, papers {pack['paper_pages']}, "
                f"statuses {pack['statuses']}",
                "fatal": True,
            }
        )
    pages = out.get("pages")
    if pages:
        measured = pages["measured"]["pages"]
        bad = {k: v["statuses"] for k, v in measured.items() if v["statuses"] != [200]}
        found.append(
            {
                "check": "every page answers 200",
                "passed": not bad,
                "detail": json.dumps(bad) if bad else f"{len(measured)} pages",
                "fatal": True,
            }
        )
        for page, c in pages["comparisons"].items():
            q = c["queries"]
            found.append(
                {
                    "check": f"{page}: statements the same, national / twin / largest",
                    "passed": q["national"] == q["twin"] == q["large"],
                    "detail": f"{q['national']} / {q['twin']} / {q['large']}",
                    "fatal": True,
                }
            )
            found.append(
                {
                    "check": f"{page}: national median within {TIME_RATIO_LIMIT:.2f}x of the twin",
                    "passed": c["median_ratio_national_twin"] <= TIME_RATIO_LIMIT,
                    "detail": f"{c['median_ratio_national_twin']:.2f}x "
                    f"(fastest {c['min_ratio_national_twin']:.2f}x)",
                    "fatal": False,
                }
            )
        for role in pages["chosen"].values():
            if role["missing_urls"]:
                found.append(
                    {
                        "check": f"URL names exist ({role['role']})",
                        "passed": False,
                        "detail": ", ".join(role["missing_urls"]),
                        "fatal": False,
                    }
                )
    return found


def report(out: dict[str, Any]) -> None:
    log()
    pack = out.get("pack")
    if pack:
        log(
            f"Papers pack: {len(pack['papers'])} papers of {pack['paper_pages']} pages, "
            f"built by {pack['build']}"
        )
        log(
            f"  {'median build (s)':<44}{pack['median_seconds']:>9.2f}   fastest {pack['min_seconds']:.2f}"
        )
        log(f"  {'pages of the pack PDF':<44}{', '.join(map(str, pack['pages'])):>9}")
        log(f"  {'size of the pack PDF (MB)':<44}{pack['bytes'] / 1e6:>9.2f}")
        log(f"  {'peak RSS of the build process (MB)':<44}{pack['median_child_maxrss_mb']:>9.0f}")
        log(f"  {'  of which before the build (MB)':<44}{pack['median_rss_before_build_mb']:>9.0f}")
        log(f"  {'  growth during the build (MB)':<44}{pack['median_rss_growth_mb']:>9.0f}")
        log(f"  {'Python peak, tracemalloc (MiB)':<44}{pack['median_tracemalloc_peak_mib']:>9.1f}")
        log(
            f"  {'median build under tracemalloc (s)':<44}"
            f"{pack['median_seconds_under_tracemalloc']:>9.2f}"
        )
        log()
    pages = out.get("pages")
    if pages:
        chosen = pages["chosen"]
        log(
            f"Pages: national data {pages['generation']['counts'].get('partnerships', '?'):,} partnerships + "
            f"{pages['meetings']['rows']:,} meeting rows; twin = partnership "
            f"{chosen['typical']['id']} alone ({sum(pages['twin_rows'].values()):,} rows)"
        )
        for role in chosen.values():
            d = role["data"]
            log(
                f"  {role['role']:<8} partnership {role['id']}: {role['members']} members, "
                f"{d['meetings']} meetings, {d['decisions']} decisions "
                f"({d['decisions_matching']} with '{SEARCH_WORD}'), "
                f"{d['meeting_attendance_rows']} on the register"
            )
        measured = pages["measured"]["pages"]
        log(
            f"  {'page':<18}{'statements':>22}{'median ms':>26}{'fastest ms':>26}"
            f"{'in SQL ms':>12}{'x twin':>8}{'same':>6}"
        )
        log(
            f"  {'':<18}{'nat / twin / large':>22}{'nat / twin / large':>26}{'nat / twin / large':>26}"
        )
        for page in (*PAGES, "bare"):
            rows = [measured.get(f"{x}:{page}") for x in ("national", "twin", "large")]
            if rows[0] is None:
                continue
            c = pages["comparisons"].get(page, {})

            def cell(
                key: str, scale: float = 1.0, fmt: str = "{:.1f}", rows: list[Any] = rows
            ) -> str:
                return " / ".join(fmt.format(r[key] * scale) if r else "-" for r in rows)

            log(
                f"  {page:<18}{cell('queries', fmt='{:.0f}'):>22}{cell('median', 1000):>26}"
                f"{cell('min', 1000):>26}{rows[0]['in_sql_median'] * 1000:>12.1f}"
                f"{(str(round(c['median_ratio_national_twin'], 2)) + 'x') if c else '':>8}"
                f"{('yes' if c.get('same_html_national_twin') else 'no') if c else '':>6}"
            )
        for page, plans in pages["explain"].items():
            slow = sorted(plans, key=lambda p: -(p["execution_ms"] or 0))[:2]
            flagged = sorted({t for p in plans for t in p["large_seq_scans"]})
            log(
                f"  EXPLAIN {page}: statements {sum(p['execution_ms'] or 0 for p in plans):.1f} ms"
                f" in all; slowest "
                + ", ".join(f"#{p['index']} {p['execution_ms']:.1f} ms" for p in slow)
                + (f"; sequential scans of large tables: {', '.join(flagged)}" if flagged else "")
            )
        load = pages["measured"]["load_average"]
        log(f"  load average {load[0][0]:.1f} before, {load[-1][0]:.1f} after")
        log()
    for c in out["checks"]:
        verdict = "PASS" if c["passed"] else "FAIL" if c["fatal"] else "WARN"
        log(f"{verdict}  {c['check']}: {c['detail']}")


def main() -> None:
    args = parse_args()
    if args.pack_setup:
        pack_setup(args.pack_setup)
        return
    if args.pack_build:
        pack_build(args.pack_build, args.trace)
        return
    started = time.perf_counter()
    out: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).isoformat(),
        "arguments": {k: str(v) for k, v in vars(args).items() if not k.startswith("pack_s")},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "versions": versions(),
    }
    if not args.pages_only:
        out["pack"] = run_pack(args)
    if not args.pack_only:
        out["pages"] = run_pages(args)
    out["file_hashes"] = file_hashes()
    out["checks"] = checks(out)
    out["seconds"] = time.perf_counter() - started
    report(out)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=1, default=str) + "\n")
    log(
        f"\n{out['seconds']:.0f} s in all; wrote {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}"
    )
    if any(not c["passed"] and c["fatal"] for c in out["checks"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
