"""The real server and a real Chromium for the browser tests.

The server runs as a user runs it: `partnerwell migrate`, `partnerwell demo`
and `partnerwell serve` in a scratch folder with a database of its own, so the
tests need none of pytest-django's database fixtures.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.browser.helpers import SCREENSHOTS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PARTNERWELL = Path(sys.executable).parent / "partnerwell"
STARTUP_SECONDS = 30


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _psycopg_url(url: str) -> str:
    # psycopg understands postgres:// and postgresql://, not SQLAlchemy's dialect suffix.
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture(scope="session")
def server_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("partnerwell-server")


@pytest.fixture(scope="session")
def mail_dir(server_dir: Path) -> Path:
    """Where the server's file email backend writes every message it sends."""
    return server_dir / "mail"


@pytest.fixture(scope="session")
def server_database(server_dir: Path) -> Iterator[str]:
    """A fresh database for the server: PostgreSQL when the tests run on it, else SQLite."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield f"sqlite:///{server_dir / 'browser.sqlite3'}"
        return

    import psycopg
    from psycopg import sql

    name = f"partnerwell_browser_{os.getpid()}"
    admin_url = _psycopg_url(url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    parts = urlsplit(url)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _assert_demo_loaded_into(database_url: str) -> None:
    """Prove the server really uses the database made for it, not a default one."""
    if database_url.startswith("postgres"):
        import psycopg

        with psycopg.connect(_psycopg_url(database_url)) as conn:
            row = conn.execute("SELECT count(*) FROM core_partnership").fetchone()
    else:
        import sqlite3

        path = database_url.removeprefix("sqlite:///")
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            row = conn.execute("SELECT count(*) FROM core_partnership").fetchone()
    assert row and row[0] > 0, f"The demo data is not in {database_url}"


def _wait_for_http(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"partnerwell serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own http URL
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    pytest.fail(f"partnerwell serve did not answer {url} in {STARTUP_SECONDS}s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def server(server_dir: Path, mail_dir: Path, server_database: str) -> Iterator[str]:
    """Base URL of a real `partnerwell serve` with the demo data loaded."""
    env = {
        **os.environ,
        "DEBUG": "true",
        "TASKS_BACKEND": "immediate",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "MEDIA_ROOT": str(server_dir / "media"),
        "DATABASE_URL": server_database,
    }
    for command in (["migrate", "--noinput"], ["demo"]):
        result = subprocess.run(
            [str(PARTNERWELL), *command],
            cwd=server_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"partnerwell {command[0]} failed:\n{result.stderr}"
    _assert_demo_loaded_into(server_database)

    port = _free_port()
    log = server_dir / "serve.log"
    with log.open("wb") as out:
        # A process group of its own, so stopping it stops its runserver child too.
        process = subprocess.Popen(
            [str(PARTNERWELL), "serve", "--port", str(port), "--no-worker"],
            cwd=server_dir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_http(f"{base_url}/accounts/login/", process, log)
        yield base_url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


# Module scope: while Playwright runs, its event loop counts as running in this thread and
# Django refuses database work there, so it must stop before other tests' modules run.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def _console_problem(problems: list[str], message: ConsoleMessage) -> None:
    # A failed load is reported with its address by the response listener instead.
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        problems.append(f"console error: {message.text}")


def _open_page(browser: Browser, server: str, **options: Any) -> Iterator[Page]:
    context = browser.new_context(base_url=server, **options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    # Anything the Content-Security-Policy blocks, or any script error, is a bug.
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: _console_problem(problems, message))
    page.on(
        "response",
        lambda response: (
            problems.append(f"HTTP {response.status} from {response.url}")
            if response.status >= 400
            else None
        ),
    )
    yield page
    context.close()
    assert not problems, "The browser reported errors:\n" + "\n".join(problems)


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    yield from _open_page(browser, server)


@pytest.fixture
def phone_page(browser: Browser, server: str) -> Iterator[Page]:
    yield from _open_page(
        browser,
        server,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
