"""The task worker behind `partnerwell worker`: django-tasks-db's worker, made to
survive the database going away.

django-tasks-db's own worker dies on the first database error it does not expect,
and a task whose run hit that error is either left RUNNING for ever or marked
FAILED (lost). This worker:

- on OperationalError / InterfaceError closes the broken connections, waits with
  backoff (1, 2, 4 … 30 s; one WARNING per outage), reconnects and carries on;
- runs each task inside one transaction together with its SUCCESSFUL/FAILED mark,
  so a run cut short by the database leaves no half-done writes and is put back
  in the queue to run again (at most MAX_ATTEMPTS times);
- holds the emails a task sends until that transaction has committed, so a run
  that is retried never emailed anyone the first time: each email goes out once.

What this cannot cover: a worker killed outright (SIGKILL, power loss) between
commit and sending loses those emails, and its task stays RUNNING as with the
upstream worker; a mail server failure after the commit is logged and the task
marked FAILED, but its emails are not retried.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import DatabaseError, InterfaceError, OperationalError, connections, transaction
from django_tasks_db.compat import TaskContext, TaskResultStatus, task_finished, task_started
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

logger = logging.getLogger("partnerwell.worker")

# The errors that mean "the database went away", not "the task is wrong".
DATABASE_GONE = (OperationalError, InterfaceError)
# Longest wait between two attempts to reach the database again, in seconds.
MAX_WAIT = 30.0
# A database error this soon after reconnecting counts as the same outage, in seconds.
STEADY_SECONDS = 60.0
# A task cut short by the database this many times is marked FAILED rather than run again.
MAX_ATTEMPTS = 5
HELD_BACKEND = "partnerwell.worker.HeldEmails"


class HeldEmails(BaseEmailBackend):
    """The email backend while a task runs: keeps its messages until the task has committed."""

    outbox: list[EmailMessage] = []

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        messages = list(email_messages)
        HeldEmails.outbox.extend(messages)
        return len(messages)


def caused_by_database(exc: BaseException | None) -> bool:
    """Whether this error, or one it was raised while handling, is the database going away."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, DATABASE_GONE):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def close_connections() -> None:
    """Drop every open connection, broken ones included, so the next query reconnects."""
    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except DatabaseError:
            # A connection that is already broken may refuse to close cleanly; it is gone anyway.
            connection.connection = None


@contextmanager
def holding_emails() -> Iterator[list[EmailMessage]]:
    outbox: list[EmailMessage] = []
    HeldEmails.outbox = outbox
    real = settings.EMAIL_BACKEND
    settings.EMAIL_BACKEND = HELD_BACKEND
    try:
        yield outbox
    finally:
        settings.EMAIL_BACKEND = real
        HeldEmails.outbox = []


class ResilientWorker(Worker):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.email_backend = settings.EMAIL_BACKEND
        self.outage_started: float | None = None
        self.recovered_at: float | None = None
        self.delay = 1.0
        self.recovering = False
        # The task whose transaction the database cut, with the emails it was holding.
        self.interrupted: tuple[Any, list[EmailMessage]] | None = None

    def run(self) -> None:
        while True:
            try:
                if self.recovering:
                    self.recover()
                super().run()
                return
            except DATABASE_GONE as exc:
                if not self.running:
                    raise
                self.recovering = True
                self.wait_for_database(exc)
                # The random start-up delay is for a cold start, not for a reconnection.
                self.startup_delay = False

    def wait_for_database(self, exc: BaseException) -> None:
        now = time.monotonic()
        # Failing again soon after reconnecting (a flapping database, a missing table) is
        # the same outage: no second warning, and the wait keeps growing.
        if self.recovered_at is not None and now - self.recovered_at < STEADY_SECONDS:
            self.delay = min(self.delay * 2, MAX_WAIT)
        else:
            self.delay = 1.0
            self.outage_started = now
            logger.warning(
                "The database is not reachable (%s). The worker waits and tries again "
                "(every %d seconds at most); tasks are not lost.",
                str(exc).strip() or type(exc).__name__,
                MAX_WAIT,
            )
        while True:
            close_connections()
            time.sleep(self.delay)
            try:
                connections[DBTaskResult.objects.db].ensure_connection()
            except DATABASE_GONE as again:
                logger.debug("The database is still not reachable: %s", again)
                self.delay = min(self.delay * 2, MAX_WAIT)
            else:
                return

    def recover(self) -> None:
        """Once the database answers again: put back the tasks an outage cut short."""
        if self.interrupted is not None:
            pk, outbox = self.interrupted
            status = DBTaskResult.objects.filter(pk=pk).values_list("status", flat=True).first()
            # The commit went through before the connection dropped: its emails are due.
            if status == TaskResultStatus.SUCCESSFUL:
                self.deliver(DBTaskResult.objects.get(pk=pk), outbox)
            self.interrupted = None
        running = DBTaskResult.objects.running().filter(backend_name=self.backend_name)
        for result in running:
            # Only this process's claims: another worker's RUNNING task may be running now.
            if not result.worker_ids or result.worker_ids[-1] != self.worker_id:
                continue
            if len(result.worker_ids) >= MAX_ATTEMPTS:
                logger.error(
                    "Task id=%s was cut short by the database %d times; it is marked failed.",
                    result.pk,
                    len(result.worker_ids),
                )
                result.set_failed(OperationalError("The database went away during every run."))
                continue
            DBTaskResult.objects.filter(pk=result.pk, status=TaskResultStatus.RUNNING).update(
                status=TaskResultStatus.READY
            )
            logger.warning(
                "Task id=%s was cut short by the database; it will run again.", result.pk
            )
        if self.outage_started is not None:
            logger.warning(
                "The database is reachable again after %.0f seconds; the worker carries on.",
                time.monotonic() - self.outage_started,
            )
        self.outage_started = None
        self.recovered_at = time.monotonic()
        self.recovering = False

    def run_task(self, db_task_result: DBTaskResult) -> None:
        try:
            self.running_task = True
            self.run_in_transaction(db_task_result)
        finally:
            self.running_task = False
            self._run_tasks += 1

    def run_in_transaction(self, db_task_result: DBTaskResult) -> None:
        try:
            task = db_task_result.task
            task_result = db_task_result.task_result
            sender = type(task.get_backend())
        except (ImportError, SuspiciousOperation) as exc:
            logger.exception("Task id=%s failed unexpectedly", db_task_result.id)
            db_task_result.set_failed(exc)
            return
        failure: BaseException | None = None
        try:
            with holding_emails() as outbox, transaction.atomic(using=db_task_result._state.db):
                task_started.send(sender=sender, task_result=task_result)
                try:
                    if task.takes_context:
                        value = task.call(
                            TaskContext(task_result=task_result),
                            *task_result.args,
                            **task_result.kwargs,
                        )
                    else:
                        value = task.call(*task_result.args, **task_result.kwargs)
                    # Inside the same transaction: the task's writes and "done" commit together.
                    db_task_result.set_successful(value)
                except Exception as exc:
                    if caused_by_database(exc):
                        raise
                    failure = exc
                if failure is not None:
                    # The task's own writes (such as an error it recorded) stay, as before.
                    db_task_result.set_failed(failure)
        except Exception as exc:
            if caused_by_database(exc):
                self.interrupted = (db_task_result.pk, outbox)
                raise
            # The writes could not be committed with the failure (say the task broke its
            # transaction): they are rolled back and the failure is recorded on its own.
            db_task_result.set_failed(failure or exc)
            outbox = []
        except BaseException:
            # Stopped by force mid-run: nothing was committed; leave the task to run again.
            self.release(db_task_result)
            raise
        self.deliver(db_task_result, outbox)
        task_finished.send(sender=sender, task_result=db_task_result.task_result)

    def release(self, db_task_result: DBTaskResult) -> None:
        try:
            DBTaskResult.objects.filter(
                pk=db_task_result.pk, status=TaskResultStatus.RUNNING
            ).update(status=TaskResultStatus.READY)
        except DatabaseError:
            logger.warning("Task id=%s could not be put back in the queue", db_task_result.pk)

    def deliver(self, db_task_result: DBTaskResult, outbox: list[EmailMessage]) -> None:
        if not outbox:
            return
        try:
            with get_connection(self.email_backend) as mail:
                mail.send_messages(outbox)
        except Exception as exc:
            logger.exception(
                "Task id=%s finished but its %d emails could not be sent",
                db_task_result.pk,
                len(outbox),
            )
            db_task_result.set_failed(exc)
