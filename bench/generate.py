"""Generate national-scale partnership data, fast and repeatably, into the configured database.

    .venv/bin/python bench/generate.py                 # 1,000 partnerships, 25,000 members, 5 rounds
    .venv/bin/python bench/generate.py --small         # 50 partnerships, 1,250 members: a quick check
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mydb .venv/bin/python bench/generate.py --seed 2

It writes into the database DATABASE_URL names (default: the project's
partnerwell.sqlite3), migrating it first so the built-in frameworks exist, and
adds to what is there: people get addresses under s<seed>.national.example, so
one database can hold several seeds, and a seed that is already there is
refused. The same seed and --until always give the same rows.

What it makes, for the defaults:

* about 3,000 organisations in every sector, in about 250 places;
* 1,000 partnerships of every type: sub-groups report to a strategic
  partnership or board of the same place, most forums have a management side
  and a staff side (staff side mostly from trade unions);
* 25,000 memberships of about 18,000 people (people sit on several
  partnerships of their place), with chairs, managers, deputies, observers,
  late joiners and members who have left;
* 5 rounds per partnership, half a year apart, mostly on good governance
  (52 statements), forums often on the model social partnership, others on
  the shorter built-in frameworks; every member current at a round is invited;
* 60-80% of the invited answer. Answers follow each partnership's health and
  trend, its strong and weak principles, its sides (staff side lower, with
  gaps on some principles) and sectors, each person's leniency, and noise;
  a few statements per partnership are disputed (people split to both ends),
  some statements draw many "don't know"s, and some people say "don't know"
  often. Reverse-scored statements are answered the other way round.

Ratings (several million) go in with PostgreSQL's COPY FROM STDIN, or with
executemany on SQLite, 250,000 at a time; responses and invitations too.
Primary keys of responses are UUIDs made from the seed. While ratings and
invitations load, their non-unique indexes (and, on PostgreSQL, foreign keys)
are dropped and then rebuilt from their catalogue definitions, all in one
transaction (see BulkWriter.loading), which takes a lock on those tables for
the duration: run it on a database made for benchmarks. If it stops part way,
ratings and invitations roll back but earlier rows stay: use a fresh database
or another seed. On PostgreSQL the tables are ANALYZEd at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import os
import random
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# The day the generated history runs up to: fixed, so that a seed always gives
# the same rows. Rounds are half a year apart before it.
UNTIL = dt.date(2026, 9, 30)
ROUND_SPACING_DAYS = 182
ROUND_LENGTH_DAYS = 21

ORGANISATIONS_PER_PARTNERSHIP = 3
PARTNERSHIPS_PER_PLACE = 4
PEOPLE_PER_MEMBERSHIP = 0.72  # so people sit on 1.4 partnerships on average
LOCAL_SHARE = 0.85  # of a partnership's members come from its own place
RATING_CHUNK = 250_000  # ratings per COPY / executemany transaction

SECTOR_WEIGHTS = {
    "local_authority": 10,
    "nhs_commissioner": 4,
    "nhs_provider": 8,
    "public_health": 4,
    "police": 4,
    "fire": 3,
    "education": 8,
    "housing": 7,
    "business": 9,
    "voluntary": 18,
    "trade_union": 8,
    "environment": 4,
    "culture": 5,
    "children": 5,
    "other": 3,
}
ORG_TEMPLATES = {
    "local_authority": ["{p} Council", "{p} Borough Council", "{p} District Council"],
    "nhs_commissioner": ["{p} Integrated Care Board", "{p} Commissioning Partnership"],
    "nhs_provider": ["{p} NHS Foundation Trust", "{p} Community Health Trust", "{p} GP Federation"],
    "public_health": ["{p} Public Health", "{p} Health Protection Team"],
    "police": ["{p} Police", "{p} Community Safety Partnership"],
    "fire": ["{p} Fire and Rescue Service"],
    "education": ["{p} College", "{p} Academy Trust", "University of {p}", "{p} High School"],
    "housing": ["{p} Homes", "{p} Housing Association", "{p} Housing Trust"],
    "business": ["{p} Chamber of Commerce", "{p} Business Improvement District", "{p} Works Ltd"],
    "voluntary": [
        "{p} CVS",
        "{p} Citizens Advice",
        "{p} Food Bank",
        "{p} Carers Centre",
        "{p} Mind",
        "{p} Age Concern",
        "{p} Youth Trust",
    ],
    "trade_union": [
        "UNISON {p} Branch",
        "GMB {p} Branch",
        "Unite {p} Branch",
        "RCN {p} Branch",
        "NEU {p} District",
    ],
    "environment": ["{p} Wildlife Trust", "{p} Rivers Trust", "{p} Climate Partnership"],
    "culture": ["{p} Leisure Trust", "{p} Museums", "{p} Arts Centre"],
    "children": ["{p} Children's Services", "{p} Family Hubs", "{p} Early Years Network"],
    "other": ["{p} Community Foundation", "{p} Faith Forum"],
}
PLACE_STARTS = [
    "Ash",
    "Brad",
    "Chester",
    "Dun",
    "Ely",
    "Fern",
    "Glen",
    "Hart",
    "Ilk",
    "King",
    "Lang",
    "Mill",
    "Nor",
    "Oak",
    "Pen",
    "Ring",
    "Stan",
    "Thorn",
    "Up",
    "Wes",
    "Black",
    "Brook",
    "Cole",
    "Dale",
    "Elm",
    "Fair",
    "Green",
    "Holm",
    "Long",
    "Mark",
]
PLACE_ENDS = ["ford", "ham", "ton", "bury", "field", "wick", "ley", "worth", "by", "mouth"]
FIRST_NAMES = [
    "Aisha",
    "Alan",
    "Amir",
    "Anna",
    "Ben",
    "Bridget",
    "Carl",
    "Chloe",
    "Dan",
    "Deepa",
    "Eve",
    "Femi",
    "Gary",
    "Grace",
    "Hannah",
    "Ian",
    "Imran",
    "Jane",
    "Joe",
    "Kate",
    "Kwame",
    "Liam",
    "Lucy",
    "Mark",
    "Maya",
    "Neil",
    "Nina",
    "Omar",
    "Paula",
    "Priya",
    "Raj",
    "Rosa",
    "Sam",
    "Sarah",
    "Tom",
    "Uma",
    "Vic",
    "Wendy",
    "Yusuf",
    "Zoe",
]
LAST_NAMES = [
    "Ahmed",
    "Baker",
    "Clarke",
    "Davies",
    "Evans",
    "Fisher",
    "Green",
    "Hughes",
    "Iqbal",
    "Jones",
    "Khan",
    "Lewis",
    "Morgan",
    "Nowak",
    "Okafor",
    "Patel",
    "Quinn",
    "Roberts",
    "Smith",
    "Taylor",
    "Usman",
    "Vaughan",
    "Walker",
    "Wright",
    "Young",
]
KIND_WEIGHTS = {"strategic": 20, "hwb": 12, "forum": 25, "sub_group": 33, "other": 10}
KIND_SIZE = {"strategic": 30, "hwb": 22, "forum": 30, "sub_group": 16, "other": 20}
SUB_GROUP_TOPICS = [
    "Mental Health",
    "Housing and Homelessness",
    "Community Safety",
    "Children and Young People",
    "Healthy Weight",
    "Employment and Skills",
    "Climate Action",
    "Ageing Well",
    "Carers",
]
# The framework a partnership of each type usually uses (weights over built-in keys).
PRIMARY_FRAMEWORK = {
    "strategic": {"good-governance": 80, "partnership-ingredients": 20},
    "hwb": {"good-governance": 85, "partnership-ingredients": 15},
    "forum": {"model-social-partnership": 60, "good-governance": 40},
    "sub_group": {
        "good-governance": 70,
        "member-pulse": 12,
        "partnership-ingredients": 12,
        "peer-leadership": 6,
    },
    "other": {"good-governance": 75, "partnership-ingredients": 25},
}
PULSE_ROUND_SHARE = 0.1  # rounds that are a quick member pulse instead
OPEN_LAST_ROUND_SHARE = 0.08  # partnerships whose latest round is still open on --until
COMMENT_SHARE = 0.12  # respondents who leave a comment
COMMENTS = [
    "Meetings are well run but decisions drift afterwards.",
    "We need more time on the big strategic questions.",
    "Papers arrive too late to read properly.",
    "The staff side is listened to more than it used to be.",
    "Good relationships; the challenge is turning talk into action.",
    "Not every partner sends someone who can commit their organisation.",
    "The data we get is out of date by the time we discuss it.",
    "I would like clearer actions and owners at the end of each meeting.",
]

# How a latent "health" (in answer steps on a 1-5 scale) becomes an answer:
# raw = centre + slope * latent, rounded and clamped to the scale.
NOISE = 0.5  # one person's answer to one statement, around what they think overall
SCALE_SHAPE = {
    "agreement": (3.0, 1.0),
    "maturity": (3.0, 1.0),
    "zero_ten": (5.0, 2.0),
    "yes_no": (1.2, 0.5),
}


# ---------------------------------------------------------------------------
# Writing rows fast
# ---------------------------------------------------------------------------


class BulkWriter:
    """Insert rows with COPY FROM STDIN on PostgreSQL, executemany on SQLite.

    Each call is one transaction (a savepoint inside `loading`), so SQLite
    never commits row by row.
    """

    def __init__(self) -> None:
        from django.db import connection

        self.connection = connection
        self.vendor = connection.vendor
        self.copy = self.vendor == "postgresql"
        self.rows = 0

    @contextmanager
    def loading(self, table: str) -> Iterator[None]:
        """One transaction for a bulk load into table; its indexes and keys are rebuilt at the end.

        Keeping six secondary indexes up to date row by row costs several
        times more than writing the rows, and on PostgreSQL each foreign key
        also checks (and locks) the row it refers to for every row written.
        PostgreSQL's advice for bulk loads ("Populating a Database") is to
        drop indexes and foreign keys and create them afterwards, when one
        sort builds each index and one join checks each key for every row at
        once. The definitions are read from the catalogue and put back exactly
        as they were, in the same transaction, so a failed load leaves the
        table as it was. (SQLite checks foreign keys cheaply and cannot drop
        them, so there only the indexes are rebuilt.)
        """
        from django.db import transaction

        with transaction.atomic(), self.connection.cursor() as cursor:
            keys: list[tuple[str, str]] = []
            if self.copy:
                cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
                cursor.execute(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = %s::regclass AND contype = 'f'",
                    [table],
                )
                keys = cursor.fetchall()
                cursor.execute(
                    "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
                    "JOIN pg_class i ON i.oid = x.indexrelid "
                    "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary "
                    "AND NOT x.indisunique",
                    [table],
                )
            else:
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                    "AND tbl_name = %s AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%%'",
                    [table],
                )
            indexes = cursor.fetchall()
            for name, _ in keys:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            yield
            for _, definition in indexes:
                cursor.execute(definition)
            for name, definition in keys:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')

    def sql_value(self, value: Any) -> Any:
        """A Python value as the database's driver should get it."""
        if isinstance(value, dt.datetime):
            return self.connection.ops.adapt_datetimefield_value(value)
        if isinstance(value, dt.date):
            return self.connection.ops.adapt_datefield_value(value)
        return value

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        from django.db import transaction

        if not rows:
            return
        with transaction.atomic(), self.connection.cursor() as cursor:
            if self.copy:
                names = ", ".join(columns)
                with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608
                    [tuple(self.sql_value(v) for v in row) for row in rows],
                )
        self.rows += len(rows)

    def insert_answers(self, responses: Sequence[tuple[Any, ...]], ratings: Sequence[Any]) -> None:
        """Responses and their ratings in one transaction (the ratings refer to them).

        ratings are COPY text lines on PostgreSQL and tuples on SQLite (see Item).
        """
        from django.db import transaction

        response_columns = (
            "id",
            "round_id",
            "side",
            "sector",
            "organisation",
            "comments",
        )
        rating_columns = ("response_id", "round_id", "statement_id", "principle_id", "raw", "value")
        with transaction.atomic(), self.connection.cursor() as cursor:
            if self.copy:
                with cursor.cursor.copy(
                    f"COPY healthcheck_response ({', '.join(response_columns)}) FROM STDIN"
                ) as copy:
                    for row in responses:
                        copy.write_row(row)
                with cursor.cursor.copy(
                    f"COPY healthcheck_rating ({', '.join(rating_columns)}) FROM STDIN"
                ) as copy:
                    step = 50_000
                    for start in range(0, len(ratings), step):
                        copy.write("".join(ratings[start : start + step]))
            else:
                cursor.executemany(
                    "INSERT INTO healthcheck_response "  # noqa: S608
                    f"({', '.join(response_columns)}) VALUES (%s, %s, %s, %s, %s, %s)",
                    [tuple(self.sql_value(v) for v in row) for row in responses],
                )
                cursor.executemany(
                    "INSERT INTO healthcheck_rating "  # noqa: S608
                    f"({', '.join(rating_columns)}) VALUES (%s, %s, %s, %s, %s, %s)",
                    ratings,
                )
        self.rows += len(responses) + len(ratings)


# ---------------------------------------------------------------------------
# Statements prepared for answering, and the answer model
# ---------------------------------------------------------------------------


@dataclass
class Item:
    """A statement, with every row it can produce prepared in advance.

    ``rows[k]`` is the rating for answer ``lo + k`` without its response and
    round (a COPY text tail on PostgreSQL, a tuple tail on SQLite); ``dk_row``
    is "don't know". Reverse-scored statements store the mirrored answer, and
    ``value`` follows scoring.normalise exactly.
    """

    id: int
    key: str
    principle_id: int
    principle_key: str
    lo: int
    hi: int
    centre: float
    slope: float
    rows: list[Any]
    dk_row: Any
    dk: float


def load_items(framework_id: int, rnd: random.Random, text: bool) -> list[Item]:
    from partnerwell.healthcheck.models import Statement
    from partnerwell.healthcheck.scoring import SCALES, normalise

    items = []
    for s in Statement.objects.filter(framework_id=framework_id).select_related("principle"):
        scale = SCALES[s.scale]
        lo, hi = scale.answers[0], scale.answers[-1]
        rows: list[Any] = []
        for healthy in range(lo, hi + 1):
            raw = lo + hi - healthy if s.reverse else healthy
            value = normalise(s.scale, raw, s.reverse)
            rows.append(
                f"{s.pk}\t{s.principle_id}\t{raw}\t{value!r}\n"
                if text
                else (s.pk, s.principle_id, raw, value)
            )
        centre, slope = SCALE_SHAPE[s.scale]
        items.append(
            Item(
                id=s.pk,
                key=s.key,
                principle_id=s.principle_id,
                principle_key=s.principle.key,
                lo=lo,
                hi=hi,
                centre=centre,
                slope=slope,
                rows=rows,
                dk_row=f"{s.pk}\t{s.principle_id}\t\\N\t\\N\n"
                if text
                else (s.pk, s.principle_id, None, None),
                # Some statements are hard to judge from the table: many don't know.
                dk=0.12 if rnd.random() < 0.15 else 0.02,
            )
        )
    return items


@dataclass
class Character:
    """A partnership's tendencies: what makes its answers its own."""

    health: float
    trend: float
    response_rate: float
    principle: dict[str, float] = field(default_factory=dict)
    side: dict[str, float] = field(default_factory=dict)
    side_principle: dict[tuple[str, str], float] = field(default_factory=dict)
    sector: dict[str, float] = field(default_factory=dict)
    disputed: set[str] = field(default_factory=set)

    @classmethod
    def draw(cls, rnd: random.Random) -> Character:
        return cls(
            health=rnd.gauss(0.35, 0.45),
            trend=rnd.gauss(0.06, 0.12),
            response_rate=rnd.uniform(0.6, 0.8),
        )

    def principle_shift(self, rnd: random.Random, key: str) -> float:
        if key not in self.principle:
            self.principle[key] = rnd.gauss(0.0, 0.45)
        return self.principle[key]

    def side_shift(self, rnd: random.Random, side: str) -> float:
        if side not in self.side:
            staff = side.lower().startswith("staff")
            self.side[side] = rnd.gauss(-0.45, 0.3) if staff else rnd.gauss(0.15, 0.15)
        return self.side[side]

    def side_principle_shift(self, rnd: random.Random, side: str, key: str) -> float:
        if not side:
            return 0.0
        if (side, key) not in self.side_principle:
            self.side_principle[side, key] = rnd.gauss(0.0, 0.35)
        return self.side_principle[side, key]

    def sector_shift(self, rnd: random.Random, sector: str) -> float:
        if sector not in self.sector:
            self.sector[sector] = rnd.gauss(0.0, 0.2)
        return self.sector[sector]

    def pick_disputed(self, rnd: random.Random, items: Sequence[Item]) -> None:
        # One or two statements per framework on which people split to both ends.
        keys = [i.key for i in items]
        if not any(k in self.disputed for k in keys):
            self.disputed.update(rnd.sample(keys, min(len(keys), rnd.choice((1, 2, 2, 3)))))


@dataclass(frozen=True)
class Respondent:
    side: str
    sector: str
    organisation: str


def new_uuid(rnd: random.Random) -> str:
    return uuid.UUID(int=rnd.getrandbits(128), version=4).hex


def answer_round(
    rnd: random.Random,
    *,
    round_id: int,
    items: Sequence[Item],
    character: Character,
    step: int,
    respondents: Iterable[Respondent],
    submitted: Callable[[], dt.date],
    area_keys: Sequence[str],
    text: bool,
    responses: list[tuple[Any, ...]],
    ratings: list[Any],
) -> int:
    """Append one round's responses and ratings; returns how many responses."""
    gauss, random_ = rnd.gauss, rnd.random
    base = character.health + character.trend * step + gauss(0.0, 0.08)
    principle = [character.principle_shift(rnd, i.principle_key) for i in items]
    disputed = [i.key in character.disputed for i in items]
    shapes = list(zip(items, principle, disputed, strict=True))
    by_side: dict[str, list[float]] = {}
    count = 0
    for person in respondents:
        offsets = by_side.get(person.side)
        if offsets is None:
            offsets = by_side[person.side] = [
                p + character.side_principle_shift(rnd, person.side, i.principle_key)
                for i, p, _ in shapes
            ]
        shift = (
            base
            + (character.side_shift(rnd, person.side) if person.side else 0.0)
            + character.sector_shift(rnd, person.sector)
            + gauss(0.0, 0.3)
        )
        unsure = 3.0 if random_() < 0.1 else 1.0
        response_id = new_uuid(rnd)
        comments = (
            {rnd.choice(area_keys): rnd.choice(COMMENTS)}
            if area_keys and random_() < COMMENT_SHARE
            else {}
        )
        responses.append(
            (
                response_id,
                round_id,
                person.side,
                person.sector,
                person.organisation,
                json.dumps(comments),
            )
        )
        answers = []
        append = answers.append
        for (item, _, split), offset in zip(shapes, offsets, strict=True):
            if random_() < item.dk * unsure:
                append(item.dk_row)
                continue
            if split:
                x = (1.5 if random_() < 0.5 else -1.5) + gauss(0.0, 0.45)
            else:
                x = shift + offset + gauss(0.0, NOISE)
            raw = math.floor(item.centre + item.slope * x + 0.5)
            if raw < item.lo:
                raw = item.lo
            elif raw > item.hi:
                raw = item.hi
            append(item.rows[raw - item.lo])
        if text:
            head = f"{response_id}\t{round_id}\t"
            ratings.extend([head + row for row in answers])
        else:
            ratings.extend([(response_id, round_id, *row) for row in answers])
        count += 1
    return count


def invitation_hash(nonce: str) -> str:
    """The token hash Invitation.build stores for this nonce (same secret, same rule)."""
    from partnerwell.healthcheck.models import _token_for, hash_token

    return hash_token(_token_for(nonce))


# ---------------------------------------------------------------------------
# The national generator
# ---------------------------------------------------------------------------


def _weighted(rnd: random.Random, weights: dict[str, int]) -> str:
    return rnd.choices(list(weights), weights=list(weights.values()))[0]


def _at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def _sizes(rnd: random.Random, kinds: list[str], total: int) -> list[int]:
    """Membership counts per partnership, varied by type, summing to total."""
    raw = [KIND_SIZE[k] * rnd.lognormvariate(0.0, 0.45) for k in kinds]
    scale = total / sum(raw)
    sizes = [max(5, round(r * scale)) for r in raw]
    i = 0
    while sum(sizes) != total:  # nudge to the exact total, keeping the minimum
        j = i % len(sizes)
        if sum(sizes) > total and sizes[j] > 5:
            sizes[j] -= 1
        elif sum(sizes) < total:
            sizes[j] += 1
        i += 1
    return sizes


def generate(
    *,
    partnerships: int,
    members: int,
    rounds: int,
    seed: int,
    until: dt.date = UNTIL,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    from django.db import connection

    from partnerwell.core.models import (
        Membership,
        Organisation,
        Partnership,
        Role,
        Side,
        User,
    )
    from partnerwell.healthcheck.models import Area, Framework, Round

    if members < partnerships * 5:
        raise SystemExit("Give at least 5 members per partnership.")
    domain = f"s{seed}.national.example"
    if User.objects.filter(email__endswith=f"@{domain}").exists():
        raise SystemExit(f"Seed {seed} is already in this database; use another --seed.")
    rnd = random.Random(seed)
    writer = BulkWriter()
    text = writer.copy
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    mark = started

    def phase(name: str, detail: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        seconds[name] = now - mark
        mark = now
        log(f"  {name:<14}{detail:<48}{seconds[name]:>7.1f} s")

    log(
        f"Generating seed {seed} into {connection.vendor} "
        f"({connection.settings_dict['NAME']}): {partnerships:,} partnerships, "
        f"{members:,} memberships, {rounds} rounds each"
    )

    # Places and organisations -------------------------------------------------
    place_names = [a + b for a in PLACE_STARTS for b in PLACE_ENDS]
    rnd.shuffle(place_names)
    n_places = max(2, min(len(place_names), partnerships // PARTNERSHIPS_PER_PLACE))
    places = place_names[:n_places]
    taken = {n.lower() for n in Organisation.objects.values_list("name", flat=True)}
    orgs: list[Organisation] = []
    org_place: list[str | None] = []
    sectors = list(SECTOR_WEIGHTS)
    sector_weights = list(SECTOR_WEIGHTS.values())
    for _ in range(partnerships * ORGANISATIONS_PER_PARTNERSHIP):
        sector = rnd.choices(sectors, weights=sector_weights)[0]
        national = rnd.random() < 0.04
        place = None if national else rnd.choice(places)
        name = rnd.choice(ORG_TEMPLATES[sector]).format(p=place or "National")
        base, n = name, 2
        while name.lower() in taken:
            name = f"{base} ({n})"
            n += 1
        taken.add(name.lower())
        orgs.append(
            Organisation(
                name=name,
                sector=sector,
                website=f"https://{hashlib.md5(name.encode()).hexdigest()[:10]}"  # noqa: S324
                ".example.org",
            )
        )
        org_place.append(place)
    orgs = Organisation.objects.bulk_create(orgs, batch_size=2000)
    phase("organisations", f"{len(orgs):,} in {n_places} places")

    # People --------------------------------------------------------------------
    n_people = max(members // 5, int(members * PEOPLE_PER_MEMBERSHIP))
    org_weight = [rnd.lognormvariate(0.0, 1.0) for _ in orgs]
    home = rnd.choices(range(len(orgs)), weights=org_weight, k=n_people)
    joined = _at(until - dt.timedelta(days=ROUND_SPACING_DAYS * (rounds + 1)))
    people = User.objects.bulk_create(
        (
            User(
                email=f"person{i:06}@{domain}",
                name=f"{rnd.choice(FIRST_NAMES)} {rnd.choice(LAST_NAMES)}",
                password="!" + rnd.randbytes(20).hex(),  # unusable, like set_unusable_password
                date_joined=joined,
            )
            for i in range(n_people)
        ),
        batch_size=2000,
    )
    pool: dict[str | None, list[int]] = defaultdict(list)
    for person, org in enumerate(home):
        pool[org_place[org]].append(person)
    phase("people", f"{len(people):,}")

    # Partnerships and sides -------------------------------------------------
    kinds = [_weighted(rnd, KIND_WEIGHTS) for _ in range(partnerships)]
    kinds.sort(key=lambda k: k == "sub_group")  # parents first
    p_place = [rnd.choice(places) for _ in kinds]
    parents_by_place: dict[str, list[Partnership]] = defaultdict(list)
    created: list[Partnership] = []
    labels = {
        "strategic": "Strategic Partnership",
        "hwb": "Health and Wellbeing Board",
        "forum": "Partnership Forum",
        "other": "Partnership",
    }
    for batch_kind in (False, True):
        batch = []
        for kind, place in zip(kinds, p_place, strict=True):
            if (kind == "sub_group") != batch_kind:
                continue
            parent = None
            if kind == "sub_group":
                parent = rnd.choice(parents_by_place.get(place) or created)
                name = f"{place} {rnd.choice(SUB_GROUP_TOPICS)} Group"
            else:
                name = f"{place} {labels[kind]}"
            batch.append(
                Partnership(
                    name=name,
                    kind=kind,
                    area=place,
                    parent=parent,
                    purpose=f"Joint work for people in {place}.",
                )
            )
        batch = Partnership.objects.bulk_create(batch, batch_size=1000)
        created.extend(batch)
        if not batch_kind:
            for p in batch:
                if p.kind in ("strategic", "hwb"):
                    parents_by_place[p.area].append(p)
    sides_of: dict[int, list[Side]] = {}
    side_rows = []
    for p in created:
        if p.kind == "forum" and rnd.random() < 0.85:
            side_rows += [
                Side(partnership=p, name="Management side", order=0),
                Side(partnership=p, name="Staff side", order=1),
            ]
    for side in Side.objects.bulk_create(side_rows, batch_size=2000):
        sides_of.setdefault(side.partnership_id, []).append(side)
    phase("partnerships", f"{len(created):,}, {len(side_rows):,} sides")

    # Memberships -------------------------------------------------------------
    sizes = _sizes(rnd, [p.kind for p in created], members)
    first_round = until - dt.timedelta(days=ROUND_SPACING_DAYS * rounds)
    everyone = list(range(n_people))
    membership_rows: list[Membership] = []
    for p, size in zip(created, sizes, strict=True):
        local = pool.get(p.area, [])
        chosen = rnd.sample(local, min(len(local), round(size * LOCAL_SHARE)))
        seen = set(chosen)
        while len(chosen) < size:
            person = rnd.choice(everyone)
            if person not in seen:
                seen.add(person)
                chosen.append(person)
        sides = sides_of.get(p.pk)
        for n, person in enumerate(chosen):
            org = orgs[home[person]]
            role = Role.MEMBER
            if n == 0:
                role = Role.CHAIR
            elif n == 1:
                role = Role.MANAGER
            elif n == 2 and size > 8:
                role = Role.VICE_CHAIR
            else:
                r = rnd.random()
                role = (
                    Role.ADVISER
                    if r < 0.04
                    else Role.OBSERVER
                    if r < 0.07
                    else Role.DEPUTY
                    if r < 0.12
                    else Role.MEMBER
                )
            side = None
            if sides:
                staff = org.sector == "trade_union" or rnd.random() < 0.35
                side = sides[1] if staff else sides[0]
            start = end = None
            r = rnd.random()
            if n > 2 and r < 0.10:  # joined after the first round
                start = first_round + dt.timedelta(
                    days=rnd.randrange(30, ROUND_SPACING_DAYS * rounds)
                )
            elif n > 2 and r < 0.15:  # left before the latest round
                end = first_round + dt.timedelta(
                    days=rnd.randrange(ROUND_SPACING_DAYS, ROUND_SPACING_DAYS * rounds)
                )
            membership_rows.append(
                Membership(
                    partnership=p,
                    person=people[person],
                    organisation=org,
                    role=role,
                    side=side,
                    decision_maker=rnd.random() < 0.6,
                    start_date=start,
                    end_date=end,
                    responsibilities=["media liaison"] if rnd.random() < 0.02 else [],
                )
            )
    memberships = Membership.objects.bulk_create(membership_rows, batch_size=2000)
    by_partnership: dict[int, list[Membership]] = defaultdict(list)
    for m in memberships:
        by_partnership[m.partnership_id].append(m)
    deputies = []
    for group in by_partnership.values():
        principals = [m for m in group if m.role != Role.DEPUTY]
        for m in group:
            if m.role == Role.DEPUTY:
                m.deputy_for_id = rnd.choice(principals).pk
                deputies.append(m)
    Membership.objects.bulk_update(deputies, ["deputy_for"], batch_size=500)
    phase("memberships", f"{len(memberships):,} ({len(deputies):,} deputies)")

    # Frameworks ----------------------------------------------------------------
    latest: dict[str, Framework] = {}
    for f in Framework.objects.filter(builtin=True, scope="builtin").order_by("version"):
        latest[f.key] = f
    items_of = {key: load_items(f.pk, rnd, text) for key, f in sorted(latest.items())}
    areas_of = {
        key: list(Area.objects.filter(framework=f).values_list("key", flat=True))
        for key, f in latest.items()
    }

    # Rounds --------------------------------------------------------------------
    round_rows: list[Round] = []
    plan: list[tuple[Partnership, int, str]] = []
    for p in created:
        primary = _weighted(rnd, PRIMARY_FRAMEWORK[p.kind])
        offset = rnd.randrange(0, 40)
        still_open = rnd.random() < OPEN_LAST_ROUND_SHARE
        chair = by_partnership[p.pk][0].person_id
        for step in range(rounds):
            key = primary
            if primary != "member-pulse" and step > 0 and rnd.random() < PULSE_ROUND_SHARE:
                key = "member-pulse"
            opens = until - dt.timedelta(days=ROUND_SPACING_DAYS * (rounds - step) - offset)
            if still_open and step == rounds - 1:
                opens = until - dt.timedelta(days=10)
            framework = latest[key]
            round_rows.append(
                Round(
                    partnership=p,
                    framework=framework,
                    title=f"{framework.title}, {opens:%B %Y}",
                    opens_at=_at(opens),
                    closes_at=_at(opens + dt.timedelta(days=ROUND_LENGTH_DAYS), 17),
                    anonymity_floor=5 if rnd.random() < 0.1 else 3,
                    reminder_days=[7, 2],
                    created_by_id=chair,
                    # The answers are written straight into the results, already shuffled.
                    sealed=True,
                )
            )
            plan.append((p, step, key))
    round_objects = Round.objects.bulk_create(round_rows, batch_size=2000)
    phase("rounds", f"{len(round_objects):,}")

    # Invitations, responses and ratings -------------------------------------
    characters: dict[int, Character] = {}
    invitations: list[tuple[Any, ...]] = []
    responses: list[tuple[Any, ...]] = []
    ratings: list[Any] = []
    totals = {"invitations": 0, "responses": 0, "ratings": 0}
    round_counts: list[tuple[int, int, int]] = []
    rated_at = time.perf_counter()

    def flush() -> None:
        writer.insert_answers(responses, ratings)
        totals["responses"] += len(responses)
        totals["ratings"] += len(ratings)
        responses.clear()
        ratings.clear()
        rate = totals["ratings"] / (time.perf_counter() - rated_at)
        log(
            f"    ratings {totals['ratings']:>12,}   responses {totals['responses']:>9,}"
            f"   {rate:>10,.0f} ratings/s"
        )

    # Foreign keys of ratings are checked once, at the end (see BulkWriter.loading).
    with writer.loading("healthcheck_rating"):
        for rnd_round, (p, step, key) in zip(round_objects, plan, strict=True):
            character = characters.get(p.pk)
            if character is None:
                character = characters[p.pk] = Character.draw(rnd)
            items = items_of[key]
            character.pick_disputed(rnd, items)
            day = rnd_round.opens_at.date()
            invited = [
                m
                for m in by_partnership[p.pk]
                if (m.start_date is None or m.start_date <= day)
                and (m.end_date is None or m.end_date > day)
            ]
            rate = min(0.95, max(0.3, character.response_rate + rnd.gauss(0.0, 0.04)))
            answered: list[Respondent] = []
            closes = rnd_round.closes_at
            span = int((closes - rnd_round.opens_at).total_seconds())
            for m in invited:
                nonce = rnd.randbytes(16).hex()
                used = reminded = None
                if rnd.random() < rate:
                    used = rnd_round.opens_at + dt.timedelta(seconds=rnd.randrange(span))
                    org = m.organisation
                    answered.append(
                        Respondent(
                            side=m.side.name if m.side_id else "",
                            sector=org.sector,
                            organisation=org.name,
                        )
                    )
                elif rnd.random() < 0.8:
                    reminded = closes - dt.timedelta(days=2)
                invitations.append(
                    (
                        rnd_round.pk,
                        m.pk,
                        nonce,
                        invitation_hash(nonce),
                        rnd_round.opens_at,
                        reminded,
                        used is not None,
                        "{}",
                    )
                )
            rnd.shuffle(answered)  # stored order says nothing about who answered first
            n = answer_round(
                rnd,
                round_id=rnd_round.pk,
                items=items,
                character=character,
                step=step,
                respondents=answered,
                submitted=lambda r=rnd_round, s=span: (
                    r.opens_at + dt.timedelta(seconds=rnd.randrange(s))
                ).date(),
                area_keys=areas_of[key],
                text=text,
                responses=responses,
                ratings=ratings,
            )
            round_counts.append((rnd_round.pk, len(invited), n))
            if len(ratings) >= RATING_CHUNK:
                flush()
        if ratings or responses:
            flush()
    totals["invitations"] = len(invitations)
    phase("answers", f"{totals['responses']:,} responses, {totals['ratings']:,} ratings")

    with writer.loading("healthcheck_invitation"):
        writer.insert(
            "healthcheck_invitation",
            (
                "round_id",
                "membership_id",
                "nonce",
                "token_hash",
                "sent_at",
                "reminded_at",
                "answered",
                "draft",
            ),
            invitations,
        )
    # invited_count and sent_count, in one statement per 1,000 rounds.
    with connection.cursor() as cursor:
        for start in range(0, len(round_counts), 1000):
            chunk = round_counts[start : start + 1000]
            cases = " ".join("WHEN %s THEN %s" for _ in chunk)
            params: list[int] = []
            for pk, invited_n, _ in chunk:
                params += [pk, invited_n]
            ids = [pk for pk, _, _ in chunk]
            cursor.execute(
                f"UPDATE healthcheck_round SET invited_count = CASE id {cases} END, "  # noqa: S608
                f"sent_count = CASE id {cases} END "
                f"WHERE id IN ({', '.join(['%s'] * len(ids))})",
                [*params, *params, *ids],
            )
    phase("invitations", f"{len(invitations):,}")

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in (
                "core_organisation",
                "core_user",
                "core_partnership",
                "core_side",
                "core_membership",
                "healthcheck_round",
                "healthcheck_invitation",
                "healthcheck_response",
                "healthcheck_rating",
            ):
                cursor.execute(f"ANALYZE {table}")
        phase("analyze", "planner statistics refreshed")

    total_seconds = time.perf_counter() - started
    counts = {
        "organisations": len(orgs),
        "people": len(people),
        "partnerships": len(created),
        "sides": len(side_rows),
        "memberships": len(memberships),
        "rounds": len(round_objects),
        **totals,
    }
    rows = sum(counts.values())
    rated = sum(n for _, _, n in round_counts)
    invited_total = sum(n for _, n, _ in round_counts)
    summary = {
        "seed": seed,
        "until": until.isoformat(),
        "database": connection.vendor,
        "counts": counts,
        "rows": rows,
        "seconds": seconds,
        "total_seconds": total_seconds,
        "rows_per_second": rows / total_seconds,
        "ratings_per_second": totals["ratings"] / seconds["answers"],
        "response_rate": rated / invited_total if invited_total else 0.0,
        "rounds_by_framework": {
            key: sum(1 for _, _, k in plan if k == key) for key in sorted(latest)
        },
    }
    log("")
    for name, count in counts.items():
        log(f"  {name:<14}{count:>12,}")
    log(
        f"  {'total rows':<14}{rows:>12,}  in {total_seconds:.1f} s = {rows / total_seconds:,.0f}"
        f" rows/s (ratings alone {summary['ratings_per_second']:,.0f}/s);"
        f" response rate {summary['response_rate']:.0%}"
    )
    return summary


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerwell.settings")
    if not os.environ.get("SECRET_KEY"):
        os.environ.setdefault("DEBUG", "true")  # the development key, as `make run` uses
    sys.path.insert(0, str(ROOT))
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    settings.DEBUG = False  # no query log: it would keep every statement in memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partnerships", type=int, default=1000)
    parser.add_argument("--members", type=int, default=25_000, help="memberships in all")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per partnership")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--until",
        type=dt.date.fromisoformat,
        default=UNTIL,
        help=f"the day the history runs up to ({UNTIL})",
    )
    parser.add_argument(
        "--small", action="store_true", help="50 partnerships and 1,250 members, for a quick check"
    )
    parser.add_argument("--output", type=Path, help="write the summary as JSON here")
    args = parser.parse_args()
    if args.small:
        args.partnerships, args.members = 50, 1250
    setup_django()
    summary = generate(
        partnerships=args.partnerships,
        members=args.members,
        rounds=args.rounds,
        seed=args.seed,
        until=args.until,
    )
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
