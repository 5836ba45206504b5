"""The README's PostgreSQL backup round trip, run exactly as written.

A scratch database gets the demo, is dumped with the README's pg_dump command and
restored into a second, fresh database with the README's pg_restore command. The
restore must exit 0 without a single error line, every table must hold as many rows
as before, and a health-check link made before the dump must still open afterwards
under the same SECRET_KEY (and not under another, which is why the key is kept).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent.parent
CLI = Path(sys.executable).parent / "partnerwell"
KEY_TABLES = [
    "core_partnership",
    "core_membership",
    "healthcheck_response",
    "meetings_meeting",
]

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="pg_dump and pg_restore need PostgreSQL; SQLite's backup is a file copy",
)

# Run inside `partnerwell shell`: load the demo and print one open round's link.
LOAD_DEMO = """
import json
from django.core.management import call_command
from django.utils import timezone
from partnerwell.healthcheck.models import Invitation
call_command("migrate", interactive=False, verbosity=0)
call_command("demo", verbosity=0)
now = timezone.now()
invitation = Invitation.objects.filter(
    round__opens_at__lte=now, round__closes_at__gt=now, answered=False
).order_by("pk").first()
print(json.dumps({"token": invitation.token}))
"""

# Run inside `partnerwell shell` on the restored database, with the link in LINK.
OPEN_LINK = """
import json, os
from django.conf import settings
from django.test import Client
from partnerwell.healthcheck.models import Invitation, hash_token
link = os.environ["LINK"]
found = Invitation.objects.filter(token_hash=hash_token(link)).first()
status = Client(HTTP_HOST="localhost").get(f"/r/{link}/", follow=True).status_code
settings.SECRET_KEY = "another-key-" + "x" * 50
print(json.dumps({"found": found is not None, "status": status,
                  "under_another_key": found is not None and found.token == link}))
"""


def readme_command(program: str) -> str:
    """The one line of the README's Backups section that runs the program."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Backups\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith(program + " ")]
    assert len(lines) == 1, f"expected one {program} command in README Backups: {lines}"
    return lines[0]


def _server() -> dict[str, Any]:
    db = settings.DATABASES["default"]
    return {
        "host": db["HOST"] or "127.0.0.1",
        "port": int(db["PORT"] or 5432),
        "user": db["USER"],
        "password": db["PASSWORD"] or None,
    }


def _url(name: str) -> str:
    s = _server()
    auth = s["user"] + (f":{s['password']}" if s["password"] else "")
    return f"postgres://{auth}@{s['host']}:{s['port']}/{name}"


def _admin(statement: sql.Composed) -> None:
    with psycopg.connect(dbname="postgres", autocommit=True, **_server()) as admin:
        admin.execute(statement)


def _row_counts(name: str) -> dict[str, int]:
    with psycopg.connect(dbname=name, **_server()) as db:
        tables = [
            row[0]
            for row in db.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        counts: dict[str, int] = {}
        for table in tables:
            row = db.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
            counts[table] = int(row.fetchone()[0])  # type: ignore[index]
        return counts


def _run(command: list[str], env: dict[str, str], timeout: int = 300) -> str:
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{command[:3]} exited {result.returncode}:\n{result.stderr}"
    return result.stdout


@pytest.fixture
def scratch() -> Iterator[tuple[str, str]]:
    """Two scratch databases of this process (so parallel runs do not collide)."""
    names = (f"pw_backup_src_{os.getpid()}", f"pw_backup_dst_{os.getpid()}")
    for name in names:
        _admin(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    try:
        yield names
    finally:
        for name in names:
            _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.mark.skipif(
    shutil.which("pg_dump") is None or shutil.which("pg_restore") is None,
    reason="pg_dump/pg_restore not installed (make chromium installs postgresql-client)",
)
def test_it_restores_the_readme_backup_into_a_fresh_database(
    scratch: tuple[str, str], tmp_path: Path
) -> None:
    source, target = scratch
    dump = tmp_path / "partnerwell-backup.dump"
    env = {
        **os.environ,
        "DEBUG": "true",
        "SECRET_KEY": "backup-round-trip-" + secrets.token_urlsafe(32),
        "TASKS_BACKEND": "immediate",
        "CACHE_URL": "locmem://",
        "WEB_CONCURRENCY": "1",
        "DUMP": str(dump),
    }
    _admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(source)))
    loaded = _run(
        [str(CLI), "shell", "-c", LOAD_DEMO], {**env, "DATABASE_URL": _url(source)}, timeout=600
    )
    link = json.loads(loaded.strip().splitlines()[-1])["token"]
    before = _row_counts(source)

    _run(["bash", "-c", readme_command("pg_dump")], {**env, "DATABASE_URL": _url(source)})
    _admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target)))
    restore = subprocess.run(
        ["bash", "-c", readme_command("pg_restore")],
        env={**env, "DATABASE_URL": _url(target)},
        capture_output=True,
        text=True,
        timeout=300,
    )

    output = restore.stdout + restore.stderr
    assert restore.returncode == 0, output
    assert not re.search(r"error", output, re.IGNORECASE), output
    after = _row_counts(target)
    assert all(before[table] > 0 for table in KEY_TABLES), before
    assert {t: after.get(t) for t in KEY_TABLES} == {t: before[t] for t in KEY_TABLES}
    assert after == before

    opened = _run(
        [str(CLI), "shell", "-c", OPEN_LINK],
        {**env, "DATABASE_URL": _url(target), "LINK": link},
    )
    result = json.loads(opened.strip().splitlines()[-1])
    assert result == {"found": True, "status": 200, "under_another_key": False}
