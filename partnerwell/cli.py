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
    worker = None
    uses_worker = "django_tasks_db" in settings.TASKS["default"]["BACKEND"]
    if uses_worker and not args.no_worker:
        worker = subprocess.Popen([sys.executable, "-m", "partnerwell.cli", "worker"])
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
            "partnerwell.wsgi",
            "--bind",
            f"{args.host}:{args.port}",
            "--workers",
            workers,
            "--access-logfile",
            "-",
        ]
    server = subprocess.Popen(command)  # noqa: S603 - our own interpreter and arguments

    # A service manager stops us with SIGTERM: pass it on so no child is left running.
    def _stop(signum: int, frame: object) -> None:
        server.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, _stop)
    try:
        return server.wait()
    except KeyboardInterrupt:
        server.send_signal(signal.SIGINT)
        return server.wait()
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(USAGE)
        return 0
    command, rest = args[0], args[1:]
    if command == "serve":
        return _serve(rest)
    if command == "worker":
        _django(["db_worker", *rest])
        return 0
    _django([command, *rest])
    return 0


if __name__ == "__main__":
    sys.exit(main())
