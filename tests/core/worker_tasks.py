"""Tasks the worker tests enqueue: each records every run in a folder, emails once per
run, and can be told to wait for the test before it touches the database again."""

from __future__ import annotations

import time
from pathlib import Path

from django.core.mail import EmailMessage
from django.db import OperationalError
from django_tasks import task

from partnerwell.core.models import User

WAIT_SECONDS = 60


def _record_run(folder: Path) -> int:
    runs = folder / "runs"
    with runs.open("a") as out:
        out.write("run\n")
    return len(runs.read_text().splitlines())


@task()
def email_after_go(folder: str, to: str) -> int:
    """Email `to`, then wait for a `go` file before reading the database again."""
    here = Path(folder)
    run = _record_run(here)
    EmailMessage("Worker test", f"Run {run}", to=[to]).send()
    deadline = time.monotonic() + WAIT_SECONDS
    while not (here / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return User.objects.count()


@task()
def email_then_lose_database_once(folder: str, to: str) -> int:
    """Email `to`, then fail the way a dropped connection does, on the first run only."""
    run = _record_run(Path(folder))
    User.objects.create(email=f"run{run}@example.org", name=f"Run {run}")
    EmailMessage("Worker test", f"Run {run}", to=[to]).send()
    if run == 1:
        raise OperationalError("server closed the connection unexpectedly")
    return run


@task()
def email_then_fail(folder: str, to: str) -> int:
    """Email `to`, then fail for a reason of its own (not the database)."""
    _record_run(Path(folder))
    EmailMessage("Worker test", "Failing run", to=[to]).send()
    raise ValueError("a task bug")


@task()
def email_then_always_lose_database(folder: str, to: str) -> int:
    """Email `to`, then fail the way a dropped connection does, every time."""
    _record_run(Path(folder))
    EmailMessage("Worker test", "Never sent", to=[to]).send()
    raise OperationalError("server closed the connection unexpectedly")
