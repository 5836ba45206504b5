"""`partnerwell serve` keeps its task worker running, its gunicorn does not name itself,
and personal links never reach the logs."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from partnerwell.logs import MARK, redact

ROOT = Path(__file__).resolve().parents[2]
PARTNERWELL = [sys.executable, "-m", "partnerwell.cli"]
TIMEOUT = 90
SECRET = "Zq9SeCrEt4token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(condition: Callable[[], object], what: str, log: Path) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out waiting for {what}. Log:\n{log.read_text()}")
        time.sleep(0.2)


def _alive(pid: int) -> bool:
    """Running and not a zombie, read from /proc (psutil is not installed)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _worker_pids(log: Path) -> list[int]:
    return [int(p) for p in re.findall(r"task worker started \(pid (\d+)\)", log.read_text())]


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database with every table, made once for this module's servers."""
    path = tmp_path_factory.mktemp("serve") / "migrated.sqlite3"
    env = {**os.environ, "DEBUG": "true", "DATABASE_URL": f"sqlite:///{path}"}
    result = subprocess.run(
        [*PARTNERWELL, "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return path


def _serve(
    tmp_path: Path, migrated: Path, env: dict[str, str], *args: str
) -> tuple[subprocess.Popen[bytes], int, Path]:
    database = tmp_path / "db.sqlite3"
    shutil.copy(migrated, database)
    port = _free_port()
    log = tmp_path / "serve.log"
    full_env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "MEDIA_ROOT": str(tmp_path / "media"),
        **env,
    }
    with log.open("wb") as out:
        # A session of its own, so that whatever happens every child can be stopped.
        process = subprocess.Popen(
            [*PARTNERWELL, "serve", "--port", str(port), *args],
            cwd=ROOT,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, port, log


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    # Whatever serve left behind in its session goes too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def debug_serve(tmp_path: Path, migrated: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    process, _, log = _serve(tmp_path, migrated, {"DEBUG": "true", "TASKS_BACKEND": "database"})
    try:
        yield process, log
    finally:
        _stop(process)


def test_it_starts_the_worker_again_when_it_dies(
    debug_serve: tuple[subprocess.Popen[bytes], Path],
) -> None:
    serve, log = debug_serve
    _wait_for(lambda: _worker_pids(log), "the first worker", log)
    first = _worker_pids(log)[0]
    assert _parent(first) == serve.pid
    os.kill(first, signal.SIGKILL)
    _wait_for(lambda: len(_worker_pids(log)) == 2, "a new worker", log)
    second = _worker_pids(log)[1]
    assert second != first
    assert _alive(second)
    assert _parent(second) == serve.pid
    assert not _alive(first)
    assert re.search(rf"task worker \(pid {first}\) exited with code -9", log.read_text())

    # Stopped by its service manager, serve takes the worker with it.
    serve.send_signal(signal.SIGTERM)
    assert serve.wait(timeout=30) is not None
    _wait_for(lambda: not _alive(second), "the worker to stop", log)


def test_it_stops_with_its_worker_on_ctrl_c(
    debug_serve: tuple[subprocess.Popen[bytes], Path],
) -> None:
    serve, log = debug_serve
    _wait_for(lambda: "Starting worker" in log.read_text(), "the worker to start", log)
    worker = _worker_pids(log)[0]
    # Ctrl+C in a terminal signals the whole foreground group: serve and its children.
    os.killpg(serve.pid, signal.SIGINT)
    assert serve.wait(timeout=45) is not None
    _wait_for(lambda: not _alive(worker), "the worker to stop", log)
    # The worker that stopped on Ctrl+C was not taken for one that died.
    assert "starting it again" not in log.read_text()
    assert _worker_pids(log) == [worker]


def test_it_hides_the_server_software_and_keeps_links_out_of_the_access_log(
    tmp_path: Path, migrated: Path
) -> None:
    env = {
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SITE_URL": "http://127.0.0.1",
        "CACHE_URL": "locmem://",
        "WEB_CONCURRENCY": "1",
    }
    serve, port, log = _serve(tmp_path, migrated, env, "--no-worker")
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: "Booting worker" in log.read_text(), "gunicorn", log)

        def fetch(path: str) -> dict[str, str]:
            try:
                with urllib.request.urlopen(base + path, timeout=TIMEOUT) as response:  # noqa: S310
                    return dict(response.headers)
            except urllib.error.HTTPError as error:
                return dict(error.headers)

        headers = fetch("/accounts/login/")
        assert headers["Server"] == "partnerwell"
        fetch(f"/r/{SECRET}/")
        fetch(f"/calendar/me/{SECRET}.ics")
        fetch(f"/accounts/reset/MQ/{SECRET}/")
        _wait_for(lambda: "/calendar/me/" in log.read_text(), "the access log", log)
    finally:
        _stop(serve)
    text = log.read_text()
    assert "gunicorn" in text  # the log is gunicorn's own, with its access lines
    assert f"GET /r/{MARK}/ HTTP/1.1" in text
    assert f"GET /calendar/me/{MARK}.ics" in text
    assert SECRET not in text


# Redaction ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            '127.0.0.1 - - "GET /r/abcDEF_123-x/ HTTP/1.1" 200 512 "-" "curl"',
            f'127.0.0.1 - - "GET /r/{MARK}/ HTTP/1.1" 200 512 "-" "curl"',
        ),
        ('"POST /r/abc/2/ HTTP/1.1" 302', f'"POST /r/{MARK}/2/ HTTP/1.1" 302'),
        ('"GET /r/abc/check/ HTTP/1.1"', f'"GET /r/{MARK}/check/ HTTP/1.1"'),
        ("Not Found: /meeting-review/tok3n/", f"Not Found: /meeting-review/{MARK}/"),
        ("/digest/unsubscribe/a.b:c/", f"/digest/unsubscribe/{MARK}/"),
        ("GET /calendar/me/xyz.ics", f"GET /calendar/me/{MARK}.ics"),
        ("GET /calendar/partnership/xyz.ics?x=1", f"GET /calendar/partnership/{MARK}.ics?x=1"),
        ("/accounts/reset/MQ/c4f-8a1b/", f"/accounts/reset/{MARK}/"),
        ("/accounts/invitation/MQ/c4f-8a1b/", f"/accounts/invitation/{MARK}/"),
        ('"https://example.org/r/abc/" "Firefox"', f'"https://example.org/r/{MARK}/" "Firefox"'),
        ("/anything?token=abc&page=2", f"/anything?token={MARK}&page=2"),
        # Addresses without a secret are left alone.
        ("GET /partnerships/3/calendar/ HTTP/1.1", "GET /partnerships/3/calendar/ HTTP/1.1"),
        ("GET /accounts/password-reset/sent/", "GET /accounts/password-reset/sent/"),
        ("GET /api-tokens/4/revoke/", "GET /api-tokens/4/revoke/"),
    ],
)
def test_it_redacts_secrets_from_log_lines(line: str, expected: str) -> None:
    assert redact(line) == expected


def _routes(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        route = str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + route)
        elif not route.startswith("^"):
            yield prefix + route


SECRET_PARAMETER = re.compile(r"<(?:(?:str|slug|path):)?(\w*(?:token|secret|uid|key|code)\w*)>")


def _sample(route: str) -> str:
    path = SECRET_PARAMETER.sub(SECRET, route)
    return "/" + re.sub(r"<int:\w+>", "7", re.sub(r"<(?:\w+:)?\w+>", "plain", path))


def test_it_redacts_every_route_that_carries_a_secret() -> None:
    secret_routes = [r for r in _routes(get_resolver().url_patterns) if SECRET_PARAMETER.search(r)]
    # The walk finds the known ones, so an empty list cannot pass unnoticed.
    assert "r/<str:token>/" in secret_routes
    assert "accounts/reset/<uidb64>/<token>/" in secret_routes
    for route in secret_routes:
        path = _sample(route)
        for line in (f'"GET {path} HTTP/1.1" 200', f"Not Found: {path}", f"https://x.org{path}"):
            assert SECRET not in redact(line), route


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_it_redacts_django_request_and_server_logs() -> None:
    kept = _Kept()
    request_log, server_log = (
        logging.getLogger("django.request"),
        logging.getLogger("django.server"),
    )
    # Straight on each logger: django.server does not pass its lines on to the root.
    request_log.addHandler(kept)
    server_log.addHandler(kept)
    try:
        request_log.warning("Not Found: %s", f"/r/{SECRET}/")
        server_log.info('"%s" %s %s', f"GET /r/{SECRET}/ HTTP/1.1", 200, 9)
    finally:
        request_log.removeHandler(kept)
        server_log.removeHandler(kept)
    assert kept.lines == [f"Not Found: /r/{MARK}/", f'"GET /r/{MARK}/ HTTP/1.1" 200 9']


def test_it_documents_supervised_services_with_the_gunicorn_settings() -> None:
    readme = (ROOT / "README.md").read_text()
    production = readme[readme.index("## Running in production") : readme.index("## Backups")]
    assert "gunicorn -c python:partnerwell.gunicorn_conf partnerwell.wsgi" in production
    assert production.count("Restart=always") == 2
    assert "ExecStart=/srv/partnerwell/.venv/bin/partnerwell worker" in production
