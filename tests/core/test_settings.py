from __future__ import annotations

import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from partnerwell.env import env_bool, env_choice, env_int, env_list


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
