"""The guard against guessed links: shared by every web process, keyed on the real client.

Attacked as found (issue 9, item 4): several gunicorn workers each kept their
own count; a locked address was refused its genuine link; behind a proxy
everyone shared one address.
"""

from __future__ import annotations

import importlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest
from django.test import Client, RequestFactory, override_settings

from partnerwell.core import guessing
from partnerwell.core.guessing import TooManyAttempts, client_address, guarded_lookup
from partnerwell.core.models import Partnership, User
from partnerwell.meetings.models import Meeting, MeetingStatus
from tests.meetings.conftest import make_meeting

ROOT = Path(__file__).resolve().parents[2]
GENUINE = "g" * 43


def _request(remote: str, forwarded: str | None = None) -> HttpRequest:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **extra)


def _find(token: str) -> str | None:
    return "found" if token == GENUINE else None


# The client address ----------------------------------------------------------------


def test_it_ignores_x_forwarded_for_from_an_untrusted_address(settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.1"]

    assert client_address(_request("203.0.113.5", "198.51.100.1")) == "203.0.113.5"
    settings.TRUSTED_PROXIES = []
    assert client_address(_request("10.0.0.1", "198.51.100.1")) == "10.0.0.1"


def test_it_takes_the_right_most_untrusted_address_from_a_trusted_proxy(
    settings: Any,
) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "2001:db8::1"]

    # The client made up the left-most entry; our proxies appended the rest.
    forged = "1.2.3.4, 198.51.100.9, 10.0.0.2"
    assert client_address(_request("10.0.0.1", forged)) == "198.51.100.9"
    assert client_address(_request("2001:db8::1", "198.51.100.9")) == "198.51.100.9"
    # No header, or nothing usable in it: the proxy's own address is all we know.
    assert client_address(_request("10.0.0.1")) == "10.0.0.1"
    assert client_address(_request("10.0.0.1", "not-an-address")) == "10.0.0.1"


def test_it_keeps_two_clients_behind_a_trusted_proxy_apart(db: None, settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    guesser = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.1")
    neighbour = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.2")
    for number in range(guessing.TOKEN_FAILURES_ALLOWED):
        assert guesser.get(f"/meeting-review/{number:04d}{'x' * 39}/").status_code == 404

    assert guesser.get(f"/meeting-review/{'y' * 43}/").status_code == 429
    assert neighbour.get(f"/meeting-review/{'y' * 43}/").status_code == 404


def test_it_counts_a_forged_header_from_an_untrusted_address_as_that_address(
    db: None, settings: Any
) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    guesser = Client(REMOTE_ADDR="203.0.113.9")
    for number in range(guessing.TOKEN_FAILURES_ALLOWED):
        # A fresh made-up address every time does not escape the count.
        forged = f"198.51.100.{number}"
        guesser.get(f"/meeting-review/{number:04d}{'x' * 39}/", HTTP_X_FORWARDED_FOR=forged)

    refused = guesser.get(f"/meeting-review/{'y' * 43}/", HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert refused.status_code == 429


# Right links always work -----------------------------------------------------------


def test_it_gives_a_genuine_link_to_an_address_that_must_wait() -> None:
    request = _request("203.0.113.40")
    for number in range(guessing.TOKEN_FAILURES_ALLOWED):
        assert guarded_lookup(request, f"{number:04d}" + "x" * 39, _find) is None

    with pytest.raises(TooManyAttempts) as refused:
        guarded_lookup(request, "y" * 43, _find)
    assert refused.value.wait_minutes == 15
    for _ in range(5):
        assert guarded_lookup(request, GENUINE, _find) == "found"


def test_it_counts_one_ipv6_customer_network_as_one_address() -> None:
    for number in range(guessing.TOKEN_FAILURES_ALLOWED):
        request = _request(f"2001:db8:1:2::{number + 1:x}")
        guarded_lookup(request, f"{number:04d}" + "x" * 39, _find)

    with pytest.raises(TooManyAttempts):
        guarded_lookup(_request("2001:db8:1:2::ffff"), "y" * 43, _find)
    assert guarded_lookup(_request("2001:db8:1:3::1"), "y" * 43, _find) is None


# Several processes -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - our own server
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


DATABASE_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "partnerwell_cache",
    }
}


def _database_url() -> str:
    """The test database, for another process to use."""
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{database['NAME']}"
    password = f":{database['PASSWORD']}" if database["PASSWORD"] else ""
    return (
        f"postgres://{database['USER']}{password}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )


@pytest.mark.django_db(transaction=True)
def test_it_shares_the_count_between_gunicorn_workers(
    tmp_path: Path, partnership_a: Partnership, alice: User
) -> None:
    meeting = make_meeting(partnership_a, alice, days=-1, status=MeetingStatus.HELD)
    Meeting.objects.filter(pk=meeting.pk).update(review_open=True)
    # The table comes from the core migration, as `partnerwell migrate` makes it.
    migration = importlib.import_module("partnerwell.core.migrations.0002_cache_table")
    with override_settings(CACHES=DATABASE_CACHE):
        with connection.schema_editor() as editor:
            migration.create_cache_table(django_apps, editor)
        assert "partnerwell_cache" in connection.introspection.table_names()
        cache.clear()
    port = _free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DEBUG": "false",
        "SECRET_KEY": "multi-process-test-" + "x" * 50,
        "DATABASE_URL": _database_url(),
        "CACHE_URL": "db://partnerwell_cache",
        "WEB_CONCURRENCY": "3",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "STATIC_MANIFEST": "false",
        "TASKS_BACKEND": "immediate",
    }
    access_log = tmp_path / "access.log"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "partnerwell.wsgi",
            # Import the app once and fork, so three workers start in the time of one.
            "--preload",
            "--workers",
            "3",
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            str(access_log),
            "--access-logformat",
            "%(p)s %(s)s",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                _status(f"{base}/accounts/login/")
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)

        wrong = [_status(f"{base}/meeting-review/{n:04d}{'x' * 39}/") for n in range(30)]
        genuine = [_status(f"{base}/meeting-review/{meeting.review_token}/") for _ in range(3)]
    finally:
        server.terminate()
        server.wait(timeout=30)

    allowed = guessing.TOKEN_FAILURES_ALLOWED
    assert wrong == [404] * allowed + [429] * (30 - allowed)
    # Found and not held up by the guard (whether the review takes answers is the page's business).
    assert len(set(genuine)) == 1
    assert genuine[0] not in {404, 429}
    workers = {line.split()[0] for line in access_log.read_text().splitlines()}
    assert len(workers) > 1, "one worker answered everything; the test proves nothing"


def test_it_counts_in_redis_too() -> None:
    try:
        import redis

        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except Exception:
        pytest.skip("no Redis on 127.0.0.1:6379")
    redis_cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/0",
            "KEY_PREFIX": f"pw-test-{os.getpid()}-{time.time_ns()}",
        }
    }
    with override_settings(CACHES=redis_cache):
        request = _request("203.0.113.77")
        for number in range(guessing.TOKEN_FAILURES_ALLOWED):
            assert guarded_lookup(request, f"{number:04d}" + "x" * 39, _find) is None
        with pytest.raises(TooManyAttempts) as refused:
            guarded_lookup(request, "y" * 43, _find)
        assert guarded_lookup(request, GENUINE, _find) == "found"
        # Not cache.clear(): on Redis that empties the whole database, others' keys too.
        cache.delete_many(
            ["pw-token-failures:203.0.113.77", "pw-token-failures:203.0.113.77:until"]
        )
    assert refused.value.wait_minutes == 15
