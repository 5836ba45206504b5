"""Run every check and test: lint, types, migrations, deploy check, then the suite.

The suite runs on SQLite, then again on PostgreSQL when DATABASE_URL points to
one. If DATABASE_URL is set but PostgreSQL cannot be reached, this fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PROD_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "check-deploy-" + "x" * 60,
    "ALLOWED_HOSTS": "partnerwell.example.org",
    "SITE_URL": "https://partnerwell.example.org",
}


def run(title: str, command: list[str], env: dict[str, str] | None = None) -> None:
    print(f"\n=== {title}", flush=True)
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, env={**os.environ, **(env or {})})
    print(
        f"--- {title}: {'ok' if result.returncode == 0 else 'FAILED'} "
        f"in {time.monotonic() - started:.0f}s",
        flush=True,
    )
    if result.returncode != 0:
        sys.exit(result.returncode)


def counted(report: Path) -> tuple[int, int]:
    """(passed, failed) from a pytest JUnit report; errors count as failures."""
    # Our own pytest just wrote this file; it is not untrusted input.
    suite = ET.parse(report).getroot()  # noqa: S314
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")  # type: ignore[assignment]
    assert suite is not None
    total, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
    failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    return total - skipped - failed, failed


def postgres_reachable(url: str) -> None:
    import psycopg

    try:
        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), connect_timeout=5):
            pass
    except psycopg.Error as exc:
        sys.exit(f"DATABASE_URL is set but PostgreSQL cannot be reached: {exc}")


def main() -> None:
    database_url = os.environ.pop("DATABASE_URL", "")
    (ROOT / "test-results").mkdir(exist_ok=True)
    extra = sys.argv[1:]
    sqlite_env = {"DATABASE_URL": f"sqlite:///{ROOT / 'test-results' / 'unused.sqlite3'}"}
    run("ruff", [str(BIN / "ruff"), "check", "."])
    run("mypy", [str(BIN / "mypy"), "partnerwell"], {"DEBUG": "true"})
    run(
        "migrations are up to date",
        [str(BIN / "python"), "manage.py", "makemigrations", "--check", "--dry-run"],
        {"DEBUG": "true", **sqlite_env},
    )
    run(
        "deploy check",
        [str(BIN / "python"), "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        {**PROD_ENV, **sqlite_env},
    )
    # Two workers: the machines have two cores, and the suite must stay under ten minutes.
    workers = os.environ.get("PYTEST_WORKERS", "2")
    pytest = [str(BIN / "pytest"), "-p", "no:cacheprovider", "-n", workers, *extra]
    reports = [ROOT / "test-results" / "sqlite.xml"]
    run(
        "tests on SQLite",
        [*pytest, f"--junitxml={reports[0]}"],
        {"PARTNERWELL_EXPECT_DB": "sqlite", **sqlite_env},
    )
    if database_url:
        postgres_reachable(database_url)
        reports.append(ROOT / "test-results" / "postgresql.xml")
        run(
            "tests on PostgreSQL",
            [*pytest, f"--junitxml={reports[1]}"],
            {"DATABASE_URL": database_url, "PARTNERWELL_EXPECT_DB": "postgresql"},
        )
    else:
        print("\nDATABASE_URL is not set: the PostgreSQL pass was skipped.")
    passed = failed = 0
    for report in reports:
        ok, bad = counted(report)
        passed, failed = passed + ok, failed + bad
    print(f"\nall databases: {passed} passed, {failed} failed")


if __name__ == "__main__":
    main()
