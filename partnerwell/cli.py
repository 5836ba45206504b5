"""The `partnerwell` command: a friendly front to Django's management commands.

partnerwell serve [--host H] [--port P] [--no-worker]
partnerwell demo | worker | migrate | createsuperuser | check --deploy | <any manage.py command>
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

USAGE = """usage: partnerwell COMMAND [options]

commands:
  serve            serve the app (development server with DEBUG on, gunicorn otherwise)
                   and run the task worker beside it; --no-worker to run the worker apart
  demo             load the demo data (safe to run again)
  worker           run the task worker that sends emails and builds reports
  migrate          create or upgrade the database tables
  createsuperuser  add an instance administrator
  check --deploy   check the production settings
  any other Django management command, as with manage.py
"""


def _django(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerwell.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["partnerwell", *argv])


# The worker is restarted after waiting 1, 2, 4 … seconds, at most this long.
WORKER_MAX_BACKOFF = 30.0
# A worker that ran this long before exiting starts the backoff afresh.
WORKER_STEADY_SECONDS = 60.0
# How long a stopping worker may take to finish its task before it is killed.
WORKER_STOP_SECONDS = 30


def _log(message: str) -> None:
    print(f"partnerwell serve: {message}", file=sys.stderr, flush=True)


class _Supervisor:
    """Runs the web server and keeps the task worker running beside it."""

    def __init__(self, server_command: list[str], worker_command: list[str] | None) -> None:
        self.server_command = server_command
        self.worker_command = worker_command
        self.server: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.stopping = False
        self.worker_started = 0.0
        self.backoff = 1.0
        self.restart_at: float | None = None

    def start_worker(self) -> None:
        assert self.worker_command is not None
        self.worker = subprocess.Popen(self.worker_command)  # noqa: S603 - our own arguments
        self.worker_started = time.monotonic()
        _log(f"task worker started (pid {self.worker.pid})")

    def stop(self, signum: int, frame: object) -> None:
        """SIGTERM from a service manager or Ctrl+C: stop the server; the worker follows."""
        self.stopping = True
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)

    def watch_worker(self) -> None:
        worker = self.worker
        now = time.monotonic()
        if worker is not None and worker.poll() is not None:
            if now - self.worker_started >= WORKER_STEADY_SECONDS:
                self.backoff = 1.0
            _log(
                f"task worker (pid {worker.pid}) exited with code {worker.returncode}; "
                f"starting it again in {self.backoff:.0f} s"
            )
            self.worker = None
            self.restart_at = now + self.backoff
            self.backoff = min(self.backoff * 2, WORKER_MAX_BACKOFF)
        if self.worker is None and self.restart_at is not None and now >= self.restart_at:
            self.restart_at = None
            self.start_worker()

    def stop_worker(self) -> None:
        worker = self.worker
        if worker is None or worker.poll() is not None:
            return
        # The worker finishes the task in hand first (killed, its task would stay RUNNING).
        worker.terminate()
        try:
            worker.wait(timeout=WORKER_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            _log(f"task worker (pid {worker.pid}) did not stop in time; killing it")
            worker.kill()
            worker.wait()

    def run(self) -> int:
        # Handled explicitly (not as KeyboardInterrupt), so that a worker stopping on Ctrl+C
        # is never mistaken for one that died, even where SIGINT started out ignored.
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        if self.worker_command is not None:
            self.start_worker()
        self.server = subprocess.Popen(self.server_command)  # noqa: S603 - our own arguments
        if self.stopping:
            self.server.terminate()
        try:
            while True:
                try:
                    return self.server.wait(timeout=0.5)
                except subprocess.TimeoutExpired:
                    if not self.stopping:
                        self.watch_worker()
        finally:
            self.stop_worker()


def _serve(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="partnerwell serve")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--no-worker", action="store_true", help="do not start the task worker")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerwell.settings")
    import django
    from django.conf import settings

    django.setup()
    worker_command = None
    uses_worker = "django_tasks_db" in settings.TASKS["default"]["BACKEND"]
    if uses_worker and not args.no_worker:
        # No autoreloader: serve restarts the worker itself, and a reloader's child
        # would outlive a killed parent.
        worker_command = [sys.executable, "-m", "partnerwell.cli", "worker", "--no-reload"]
    print(f"partnerwell is at http://{args.host}:{args.port}/  (Ctrl+C to stop)", flush=True)
    if settings.DEBUG:
        command = [
            sys.executable,
            "-m",
            "partnerwell.cli",
            "runserver",
            "--noreload",
            f"{args.host}:{args.port}",
        ]
    else:
        workers = os.environ.get("WEB_CONCURRENCY", "2")
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "python:partnerwell.gunicorn_conf",
            "partnerwell.wsgi",
            "--bind",
            f"{args.host}:{args.port}",
            "--workers",
            workers,
        ]
    return _Supervisor(command, worker_command).run()


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(USAGE)
        return 0
    command, rest = args[0], args[1:]
    if command == "serve":
        return _serve(rest)
    if command == "worker":
        _django(["worker", *rest])
        return 0
    _django([command, *rest])
    return 0


if __name__ == "__main__":
    sys.exit(main())
