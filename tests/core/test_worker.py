"""The task worker (`partnerwell worker`) survives the database going away: the task it
was running runs again, its writes and emails happen once, and the worker carries on."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from partnerwell import worker
from partnerwell.core.models import Partnership, User
from partnerwell.healthcheck.models import Framework, Round
from tests.core import worker_tasks

DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60


def _runs(folder: Path) -> int:
    runs = folder / "runs"
    return len(runs.read_text().splitlines()) if runs.exists() else 0


def _status(task_id: str) -> str:
    return DBTaskResult.objects.get(pk=task_id).status


@pytest.mark.django_db(transaction=True)
def test_it_runs_a_task_again_when_the_database_drops_and_emails_once(
    settings: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings.TASKS = DATABASE_QUEUE
    result = worker_tasks.email_then_lose_database_once.enqueue(str(tmp_path), "ann@example.org")
    call_command("worker", "--batch", "--no-startup-delay", "--interval", "0", verbosity=0)
    assert _runs(tmp_path) == 2
    assert _status(result.id) == TaskResultStatus.SUCCESSFUL
    # The first run's write was rolled back with it, and its email never left.
    assert list(User.objects.values_list("email", flat=True)) == ["run2@example.org"]
    assert [m.body for m in mail.outbox] == ["Run 2"]
    outage = [r for r in caplog.records if r.levelname == "WARNING" and "not reachable" in r.msg]
    assert len(outage) == 1


@pytest.mark.django_db(transaction=True)
def test_it_gives_up_on_a_task_the_database_cuts_short_every_time(
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.TASKS = DATABASE_QUEUE
    waits: list[float] = []
    monkeypatch.setattr(worker.time, "sleep", waits.append)
    result = worker_tasks.email_then_always_lose_database.enqueue(str(tmp_path), "ann@example.org")
    call_command("worker", "--batch", "--no-startup-delay", "--interval", "0", verbosity=0)
    assert _runs(tmp_path) == worker.MAX_ATTEMPTS
    assert _status(result.id) == TaskResultStatus.FAILED
    assert mail.outbox == []
    # Failing again straight after each reconnection is one outage: one warning, longer waits.
    assert waits == [1, 2, 4, 8, 16]
    outage = [r for r in caplog.records if r.levelname == "WARNING" and "not reachable" in r.msg]
    assert len(outage) == 1


@pytest.mark.django_db(transaction=True)
def test_it_keeps_a_failing_task_failed_and_not_run_again(settings: Any, tmp_path: Path) -> None:
    settings.TASKS = DATABASE_QUEUE
    result = worker_tasks.email_then_fail.enqueue(str(tmp_path), "ann@example.org")
    call_command("worker", "--batch", "--no-startup-delay", "--interval", "0", verbosity=0)
    assert _runs(tmp_path) == 1
    failed = DBTaskResult.objects.get(pk=result.id)
    assert failed.status == TaskResultStatus.FAILED
    assert "a task bug" in failed.traceback
    # As before: what the task sent before failing is sent, once.
    assert [m.body for m in mail.outbox] == ["Failing run"]
    # The real email backend is back once the task is over.
    assert django_settings.EMAIL_BACKEND == "django.core.mail.backends.locmem.EmailBackend"


@pytest.mark.django_db(transaction=True)
def test_it_sends_a_real_round_s_invitations_once_each(
    settings: Any,
    alice_client: Client,
    partnership_a: Partnership,
    alice: User,
    bob: User,
    dave: User,
) -> None:
    settings.TASKS = DATABASE_QUEUE
    pulse = Framework.objects.get(scope="builtin", key="member-pulse")
    today = timezone.localdate()
    response = alice_client.post(
        reverse("healthcheck-create-round", args=[partnership_a.pk]),
        {
            "framework": pulse.pk,
            "title": "Spring health check",
            "audience": "all",
            "opens_on": today.isoformat(),
            "closes_on": (today + dt.timedelta(days=14)).isoformat(),
            "anonymity_floor": "3",
            "reminder_days": ["3"],
        },
    )
    assert response.status_code == 302
    # Nothing goes out in the request; the worker sends it.
    assert mail.outbox == []
    call_command("worker", "--batch", "--no-startup-delay", "--interval", "0", verbosity=0)
    round = Round.objects.get()
    assert sorted(m.to[0] for m in mail.outbox) == sorted([alice.email, bob.email, dave.email])
    assert round.sent_count == 3
    assert not round.invitations.filter(sent_at__isnull=True).exists()
    # The reminder it planned waits in the queue.
    waiting = DBTaskResult.objects.filter(status=TaskResultStatus.READY)
    assert "partnerwell.healthcheck.tasks.send_round_reminders" in set(
        waiting.values_list("task_path", flat=True)
    )
    failed = DBTaskResult.objects.filter(status=TaskResultStatus.FAILED)
    assert not failed.exists(), [f.traceback for f in failed]


# The real worker process against PostgreSQL ------------------------------------


def _database_url() -> str:
    params = connection.settings_dict
    user = quote(params["USER"] or "")
    password = f":{quote(params['PASSWORD'])}" if params["PASSWORD"] else ""
    host = params["HOST"] or "localhost"
    port = f":{params['PORT']}" if params["PORT"] else ""
    return f"postgres://{user}{password}@{host}{port}/{params['NAME']}"


def _sent_to(mail_dir: Path, address: str) -> int:
    return sum(f.read_text().count(f"To: {address}") for f in mail_dir.iterdir())


def _wait_for(condition: Any, what: str, log: Path) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out waiting for {what}. Worker log:\n{log.read_text()}")
        time.sleep(0.1)


def _cut_connections(allow_new: bool) -> int:
    """Refuse (or allow again) new connections to the test database and end every one but
    the test's own. Done from the server's `postgres` database: a database cannot refuse
    connections to itself."""
    import psycopg
    from psycopg import sql

    params = connection.settings_dict
    name = params["NAME"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        ours = cursor.fetchone()[0]
    admin = psycopg.connect(
        dbname="postgres",
        user=params["USER"] or None,
        password=params["PASSWORD"] or None,
        host=params["HOST"] or None,
        port=params["PORT"] or None,
        autocommit=True,
    )
    with admin:
        admin.execute(
            sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS {}").format(
                sql.Identifier(name), sql.SQL("true" if allow_new else "false")
            )
        )
        row = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> %s",
            (name, ours),
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.fixture
def worker_process(
    tmp_path: Path, transactional_db: None
) -> Iterator[tuple[subprocess.Popen[bytes], Path, Path]]:
    if connection.vendor != "postgresql":
        pytest.skip("Needs PostgreSQL: the test cuts the worker's connections on the server.")
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "TASKS_BACKEND": "database",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
    }
    command = [sys.executable, "-m", "partnerwell.cli", "worker", "--no-reload"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--no-startup-delay", "--interval", "0.2"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process, mail_dir, log
    finally:
        _cut_connections(allow_new=True)
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.django_db(transaction=True)
def test_it_survives_its_database_connections_being_cut_mid_task(
    settings: Any,
    tmp_path: Path,
    worker_process: tuple[subprocess.Popen[bytes], Path, Path],
) -> None:
    process, mail_dir, log = worker_process
    settings.TASKS = DATABASE_QUEUE
    folder = tmp_path / "task"
    folder.mkdir()
    result = worker_tasks.email_after_go.enqueue(str(folder), "ann@example.org")
    _wait_for(lambda: _runs(folder) == 1, "the task to start", log)

    # An outage: every connection of the worker ends and new ones are refused for a while.
    assert _cut_connections(allow_new=False) >= 1
    (folder / "go").touch()
    time.sleep(4)
    assert process.poll() is None, log.read_text()
    _cut_connections(allow_new=True)

    _wait_for(lambda: _status(result.id) == TaskResultStatus.SUCCESSFUL, "the task to end", log)
    _wait_for(lambda: _sent_to(mail_dir, "ann@example.org") >= 1, "the email", log)
    time.sleep(0.5)
    text = log.read_text()
    assert process.poll() is None, text
    assert _runs(folder) == 2, text
    assert _sent_to(mail_dir, "ann@example.org") == 1, text
    assert DBTaskResult.objects.get(pk=result.id).return_value == User.objects.count()
    assert text.count("The database is not reachable") == 1, text
    assert "The database is reachable again" in text, text

    # And it carries on with the next task.
    again = worker_tasks.email_after_go.enqueue(str(folder), "bea@example.org")
    _wait_for(lambda: _status(again.id) == TaskResultStatus.SUCCESSFUL, "the next task", log)
    _wait_for(lambda: _sent_to(mail_dir, "bea@example.org") == 1, "the next email", log)
