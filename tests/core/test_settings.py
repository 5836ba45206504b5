from __future__ import annotations

import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from partnerwell.env import env_bool, env_cache, env_choice, env_int, env_list, env_networks


def test_it_reads_typed_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PW_FLAG", "Yes")
    monkeypatch.setenv("PW_NUMBER", "42")
    monkeypatch.setenv("PW_HOSTS", "a.example.org, b.example.org,")
    assert env_bool("PW_FLAG") is True
    assert env_int("PW_NUMBER", 1) == 42
    assert env_list("PW_HOSTS", []) == ["a.example.org", "b.example.org"]
    assert env_int("PW_UNSET", 7) == 7


@pytest.mark.parametrize(
    ("reader", "value", "name"),
    [
        (lambda: env_bool("PW_BAD"), "maybe", "PW_BAD"),
        (lambda: env_int("PW_BAD", 1), "ten", "PW_BAD"),
        (lambda: env_int("PW_BAD", 1, minimum=5), "2", "PW_BAD"),
        (lambda: env_choice("PW_BAD", "a", {"a", "b"}), "c", "PW_BAD"),
    ],
)
def test_it_names_the_variable_with_a_bad_value(
    monkeypatch: pytest.MonkeyPatch, reader: object, value: str, name: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=name):
        reader()  # type: ignore[operator]


def test_it_refuses_to_start_without_a_secret_key_in_production() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import partnerwell.settings"],
        env={"DEBUG": "false", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_it_explains_a_bad_database_url() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import partnerwell.settings"],
        env={"DEBUG": "true", "DATABASE_URL": "nonsense://x", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


def _production_settings(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import partnerwell.settings as s; print(s.CACHES['default']['BACKEND'])",
        ],
        env={"DEBUG": "false", "SECRET_KEY": "x" * 60, "PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
    )


def test_it_shares_the_cache_between_processes_by_default_in_production() -> None:
    result = _production_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.core.cache.backends.db.DatabaseCache"


def test_it_refuses_a_per_process_cache_with_several_web_processes() -> None:
    refused = _production_settings(CACHE_URL="locmem://")
    assert refused.returncode != 0
    assert "CACHE_URL=locmem:// keeps a separate cache in each web process" in refused.stderr
    # One web process may keep its own.
    alone = _production_settings(CACHE_URL="locmem://", WEB_CONCURRENCY="1")
    assert alone.stdout.strip() == "django.core.cache.backends.locmem.LocMemCache"


@pytest.mark.parametrize(
    ("url", "backend", "location"),
    [
        ("redis://127.0.0.1:6379/0", "redis.RedisCache", "redis://127.0.0.1:6379/0"),
        ("db://", "db.DatabaseCache", "partnerwell_cache"),
        ("db://my_cache", "db.DatabaseCache", "my_cache"),
        ("file:///var/cache/pw", "filebased.FileBasedCache", "/var/cache/pw"),
        ("locmem://", "locmem.LocMemCache", "partnerwell"),
    ],
)
def test_it_reads_a_cache_url(
    monkeypatch: pytest.MonkeyPatch, url: str, backend: str, location: str
) -> None:
    monkeypatch.setenv("CACHE_URL", url)
    read = env_cache("CACHE_URL", "db://")
    assert (read["BACKEND"], read["LOCATION"]) == (
        f"django.core.cache.backends.{backend}",
        location,
    )
    # Enough room that a flood of new keys cannot push the counts out of the cache.
    assert read.get("OPTIONS", {}).get("MAX_ENTRIES", 10**6) >= 100_000


@pytest.mark.parametrize(
    "url", ["memcached://x", "redis://", "db://bad-name", "file://relative", "nonsense"]
)
def test_it_names_cache_url_when_it_is_wrong(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("CACHE_URL", url)
    with pytest.raises(ImproperlyConfigured, match="CACHE_URL"):
        env_cache("CACHE_URL", "db://")


def test_it_names_trusted_proxies_when_one_is_not_an_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16")
    assert env_networks("TRUSTED_PROXIES") == ["10.0.0.1", "192.168.0.0/16"]
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.1, proxy.internal")
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES"):
        env_networks("TRUSTED_PROXIES")
