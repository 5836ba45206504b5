"""The shared cast of the tests.

alice manages partnership A (a forum with two sides), bob is a plain member
of A, dave is a member of A on the other side, and carol belongs only to
partnership B. Everyone's password is PASSWORD.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from partnerwell.core.models import (
    Membership,
    Organisation,
    Partnership,
    PartnershipType,
    Role,
    Sector,
    Side,
    User,
)

PASSWORD = "correct horse battery staple"


def pytest_sessionstart(session: pytest.Session) -> None:
    # The PostgreSQL pass must really run on PostgreSQL, or fail loudly.
    expected = os.environ.get("PARTNERWELL_EXPECT_DB")
    if expected and connection.vendor != expected:
        raise pytest.UsageError(
            f"Tests were meant to run on {expected} but Django is using {connection.vendor}."
        )


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    # Tests that submit from many threads need SQLite's real file locking, which waits
    # for a busy database; the shared in-memory test database fails at once instead
    # ("database table is locked"). One file per process keeps parallel runs apart.
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        name = Path(tempfile.gettempdir()) / f"partnerwell-test-{os.getpid()}.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(name)
        # Nothing here must survive a power cut, so skip the waits for the disk.
        database.setdefault("OPTIONS", {})["init_command"] = "PRAGMA synchronous=OFF"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: pytest.FixtureRequest) -> None:
    # Real hashing costs a third of a second a person; tests only need it to work.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    # Rate limits live in the cache; one test's wrong tokens must not slow the next.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def council(db: None) -> Organisation:
    return Organisation.objects.create(name="Testshire Council", sector=Sector.LOCAL_AUTHORITY)


@pytest.fixture
def union(db: None) -> Organisation:
    return Organisation.objects.create(name="Testshire UNISON", sector=Sector.TRADE_UNION)


@pytest.fixture
def charity(db: None) -> Organisation:
    return Organisation.objects.create(name="Testshire Carers", sector=Sector.VOLUNTARY)


@pytest.fixture
def partnership_a(db: None) -> Partnership:
    partnership = Partnership.objects.create(
        name="Alpha Forum", kind=PartnershipType.FORUM, area="Testshire"
    )
    Side.objects.create(partnership=partnership, name="Management side", order=0)
    Side.objects.create(partnership=partnership, name="Staff side", order=1)
    return partnership


@pytest.fixture
def partnership_b(db: None) -> Partnership:
    return Partnership.objects.create(name="Beta Board", kind=PartnershipType.STRATEGIC)


def _person(email: str, name: str) -> User:
    return User.objects.create_user(email=email, name=name, password=PASSWORD)


def _join(
    partnership: Partnership,
    person: User,
    organisation: Organisation,
    role: str,
    side: str | None = None,
    **extra: object,
) -> Membership:
    return Membership.objects.create(
        partnership=partnership,
        person=person,
        organisation=organisation,
        role=role,
        side=partnership.sides.get(name=side) if side else None,
        start_date=dt.date(2024, 1, 1),
        **extra,
    )


@pytest.fixture
def alice(partnership_a: Partnership, council: Organisation) -> User:
    user = _person("alice@example.org", "Alice Manager")
    _join(partnership_a, user, council, Role.MANAGER, "Management side", decision_maker=True)
    return user


@pytest.fixture
def bob(partnership_a: Partnership, council: Organisation) -> User:
    user = _person("bob@example.org", "Bob Member")
    _join(partnership_a, user, council, Role.MEMBER, "Management side")
    return user


@pytest.fixture
def dave(partnership_a: Partnership, union: Organisation) -> User:
    user = _person("dave@example.org", "Dave Staffside")
    _join(partnership_a, user, union, Role.MEMBER, "Staff side")
    return user


@pytest.fixture
def carol(partnership_b: Partnership, charity: Organisation) -> User:
    user = _person("carol@example.org", "Carol Other")
    _join(partnership_b, user, charity, Role.MANAGER)
    return user


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice_client(alice: User) -> Client:
    return client_for(alice)


@pytest.fixture
def bob_client(bob: User) -> Client:
    return client_for(bob)


@pytest.fixture
def carol_client(carol: User) -> Client:
    return client_for(carol)


def allow_creating_partnerships(*people: User) -> None:
    """Grant core.add_partnership, as an administrator does for an area coordinator."""
    from django.contrib.auth.models import Permission

    permission = Permission.objects.get(content_type__app_label="core", codename="add_partnership")
    for person in people:
        person.user_permissions.add(permission)
