"""Load the demo: a fictional county, its partnerships, organisations and people.

Safe to run again: everything is found by its name or email before it is
created, so a second run changes nothing.
"""

from __future__ import annotations

import datetime as dt
import importlib
import itertools
import random
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from partnerwell.core.management.commands.allow_partnership_creation import creator_permission
from partnerwell.core.models import (
    Membership,
    Organisation,
    Partnership,
    PartnershipType,
    Role,
    Sector,
    Side,
    TermsOfReference,
    User,
)

DEMO_PASSWORD = "partnerwell-demo"  # noqa: S105 - a published demo log-in, not a secret
LOGINS = {
    "manager": ("manager@example.org", "Priya Shah"),
    "chair": ("chair@example.org", "Gareth Lloyd"),
    "member": ("member@example.org", "Sam Okafor"),
    "staff chair": ("staffchair@example.org", "Rachel Okoye"),
}

S = Sector
ORGANISATIONS: list[tuple[str, str]] = [
    ("Northmoor County Council", S.LOCAL_AUTHORITY),
    ("Ashby District Council", S.LOCAL_AUTHORITY),
    ("Fernside Borough Council", S.LOCAL_AUTHORITY),
    ("Kettleby Town Council", S.LOCAL_AUTHORITY),
    ("Northmoor Integrated Care Board", S.NHS_COMMISSIONER),
    ("Northmoor Community Health NHS Trust", S.NHS_PROVIDER),
    ("Northmoor General Hospitals NHS Trust", S.NHS_PROVIDER),
    ("Moorland Mental Health NHS Trust", S.NHS_PROVIDER),
    ("Northmoor Public Health Team", S.PUBLIC_HEALTH),
    ("Northmoor Constabulary", S.POLICE),
    ("Office of the Police and Crime Commissioner", S.POLICE),
    ("Northmoor Community Safety Partnership", S.POLICE),
    ("Northmoor Fire and Rescue Service", S.FIRE),
    ("Northmoor College", S.EDUCATION),
    ("University of Northmoor", S.EDUCATION),
    ("Fernside Schools Trust", S.EDUCATION),
    ("Moorside Homes", S.HOUSING),
    ("Ashby Housing Association", S.HOUSING),
    ("Northmoor Chamber of Commerce", S.BUSINESS),
    ("Federation of Small Businesses, Northmoor", S.BUSINESS),
    ("Kettleby Manufacturing Ltd", S.BUSINESS),
    ("Northmoor Council for Voluntary Service", S.VOLUNTARY),
    ("Age Well Northmoor", S.VOLUNTARY),
    ("Northmoor Citizens Advice", S.VOLUNTARY),
    ("Healthwatch Northmoor", S.VOLUNTARY),
    ("Fernside Food Bank", S.VOLUNTARY),
    ("Northmoor Carers' Network", S.VOLUNTARY),
    ("UNISON Northmoor Health Branch", S.TRADE_UNION),
    ("Royal College of Nursing, Northmoor", S.TRADE_UNION),
    ("Unite, Northmoor Health Branch", S.TRADE_UNION),
    ("GMB Northmoor", S.TRADE_UNION),
    ("Northmoor Wildlife Trust", S.ENVIRONMENT),
    ("Moorland Rivers Partnership", S.ENVIRONMENT),
    ("Northmoor Leisure Trust", S.CULTURE),
    ("Northmoor Libraries and Arts", S.CULTURE),
    ("Northmoor Children's Services", S.CHILDREN),
    ("Family Hubs Northmoor", S.CHILDREN),
    ("Northmoor Youth Service", S.CHILDREN),
    ("Jobcentre Plus, Northmoor", S.OTHER),
    ("Northmoor Local Enterprise Board", S.BUSINESS),
]

FIRST = [
    "Aisha",
    "Ben",
    "Chloe",
    "Daniel",
    "Eleanor",
    "Farid",
    "Grace",
    "Harry",
    "Imogen",
    "Jamal",
    "Kate",
    "Liam",
    "Maya",
    "Nathan",
    "Olivia",
    "Patrick",
    "Rachel",
    "Simon",
    "Tara",
    "Umar",
    "Victoria",
    "William",
    "Yasmin",
    "Zoe",
    "Alan",
    "Bethan",
    "Connor",
    "Deborah",
    "Ewan",
    "Fiona",
    "George",
    "Hannah",
    "Ian",
    "Julia",
    "Kieran",
    "Laura",
    "Mohammed",
    "Nicola",
    "Owen",
    "Paula",
]
LAST = [
    "Adams",
    "Begum",
    "Campbell",
    "Davies",
    "Evans",
    "Fletcher",
    "Green",
    "Hughes",
    "Iqbal",
    "Jones",
    "Khan",
    "Lewis",
    "Morris",
    "Nowak",
    "O'Brien",
    "Patel",
    "Quinn",
    "Roberts",
    "Singh",
    "Turner",
    "Walsh",
    "Young",
    "Bennett",
    "Clarke",
    "Doyle",
    "Ellis",
    "Foster",
    "Graham",
    "Harris",
    "Jackson",
]

STRATEGIC = "Northmoor Partnership"
GROUPS = [
    (
        "Safer Northmoor Action Group",
        "Cut crime and the fear of crime, and keep people safe at home.",
    ),
    ("Economy and Skills Action Group", "Help people into good work and businesses to grow."),
    (
        "Children and Young People Action Group",
        "Give every child a good start and a safe place to grow.",
    ),
    (
        "Stronger Communities Action Group",
        "Support neighbourhoods to help themselves and each other.",
    ),
    (
        "Environment and Climate Action Group",
        "Cut carbon and look after the county's green spaces.",
    ),
]
HWB = "Northmoor Health and Wellbeing Board"
FORUM = "Northmoor Community Health NHS Trust Partnership Forum"

TERMS_TEXT = """## Purpose
{purpose}

## Membership
- One representative from each partner organisation, with a named deputy.
- Members can take decisions for their organisation, or say at the meeting when they cannot.

## Meetings
- The partnership meets every quarter; any member may put an item on the agenda.
- Papers go out a week before each meeting.
- A meeting is quorate when {quorum}.

## Review
These terms are reviewed every year, with a health check of the partnership.
"""


class Command(BaseCommand):
    help = "Load the demo county with its partnerships, organisations and people (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            created = self._load()
            # The demo manager plays an area coordinator, allowed to start partnerships
            # (PARTNERSHIP_CREATORS=administrators); granted on every run, idempotently.
            manager = User.objects.get(email=LOGINS["manager"][0])
            manager.user_permissions.add(creator_permission())
            # Other apps add their part of the demo (health checks, actions, meetings…).
            for config in apps.get_app_configs():
                if config.name.startswith("partnerwell.") and config.label != "core":
                    try:
                        module = importlib.import_module(f"{config.name}.demo")
                    except ModuleNotFoundError:
                        continue
                    module.load_demo()
        verb = "Loaded" if created else "The demo data was already loaded;"
        self.stdout.write(
            f"{verb} {Partnership.objects.count()} partnerships, "
            f"{Organisation.objects.count()} organisations, "
            f"{User.objects.count()} people."
        )
        self.stdout.write(f"Demo log-ins (password for all: {DEMO_PASSWORD}):")
        for label, (email, name) in LOGINS.items():
            self.stdout.write(f"  {label:11} {email}  ({name})")

    def _load(self) -> bool:
        if Partnership.objects.filter(name=STRATEGIC).exists():
            return False
        rng = random.Random(2026)
        today = timezone.localdate()
        orgs = {
            name: Organisation.objects.get_or_create(name=name, defaults={"sector": sector})[0]
            for name, sector in ORGANISATIONS
        }
        logins = {}
        for label, (email, name) in LOGINS.items():
            user, _ = User.objects.get_or_create(email=email, defaults={"name": name})
            user.set_password(DEMO_PASSWORD)
            user.save()
            logins[label] = user
        people = self._people(rng)

        strategic = Partnership.objects.create(
            name=STRATEGIC,
            kind=PartnershipType.STRATEGIC,
            area="Northmoor County",
            purpose="Bring the county's public, private and voluntary bodies together to agree "
            "shared priorities and deliver what no partner can deliver alone.",
            vision="A county where everyone can live a healthy, safe and fulfilling life.",
        )
        # Once everyone has a seat, people start sitting on a second partnership.
        pool = itertools.cycle(people)
        self._member(
            strategic,
            logins["manager"],
            orgs["Northmoor County Council"],
            Role.MANAGER,
            decides=False,
            responsibilities=["media liaison"],
        )
        self._member(
            strategic, logins["chair"], orgs["Northmoor County Council"], Role.CHAIR, decides=True
        )
        self._member(
            strategic,
            logins["member"],
            orgs["Northmoor Council for Voluntary Service"],
            Role.MEMBER,
            decides=False,
        )
        board_orgs = [o for name, o in orgs.items() if name != "Northmoor County Council"][:26]
        for org in board_orgs:
            self._member(strategic, next(pool), org, Role.MEMBER, decides=rng.random() < 0.6)
        self._deputies(strategic, pool, rng, count=3)
        self._end_some(strategic, today, count=2)
        self._terms(
            strategic,
            today,
            adopted_days=500,
            review_days=-30,
            quorum="a third of members, including the county council and the NHS",
        )

        sectors_for_group = [
            [S.POLICE, S.FIRE, S.LOCAL_AUTHORITY, S.VOLUNTARY, S.HOUSING],
            [S.BUSINESS, S.EDUCATION, S.LOCAL_AUTHORITY, S.OTHER, S.VOLUNTARY],
            [S.CHILDREN, S.EDUCATION, S.NHS_PROVIDER, S.POLICE, S.VOLUNTARY],
            [S.VOLUNTARY, S.LOCAL_AUTHORITY, S.HOUSING, S.CULTURE],
            [S.ENVIRONMENT, S.LOCAL_AUTHORITY, S.BUSINESS, S.VOLUNTARY],
        ]
        for (name, purpose), sectors in zip(GROUPS, sectors_for_group, strict=True):
            group = Partnership.objects.create(
                name=name,
                kind=PartnershipType.SUB_GROUP,
                area="Northmoor County",
                purpose=purpose,
                parent=strategic,
            )
            group_orgs = [o for o in orgs.values() if o.sector in sectors]
            rng.shuffle(group_orgs)
            self._member(group, next(pool), group_orgs[0], Role.CHAIR, decides=True)
            for org in group_orgs[1:11]:
                # Half the time the organisation sends the person who sits on the main board.
                board_rep = strategic.memberships.filter(organisation=org, role=Role.MEMBER).first()
                person = board_rep.person if board_rep and rng.random() < 0.5 else next(pool)
                self._member(group, person, org, Role.MEMBER, decides=rng.random() < 0.5)
        self._member(
            Partnership.objects.get(name=GROUPS[3][0]),
            logins["member"],
            orgs["Northmoor Council for Voluntary Service"],
            Role.VICE_CHAIR,
            decides=True,
        )

        hwb = Partnership.objects.create(
            name=HWB,
            kind=PartnershipType.HEALTH_AND_WELLBEING,
            area="Northmoor County",
            purpose="Improve health and wellbeing and reduce health inequalities across the county.",
            vision="Everyone in Northmoor has the same chance of a long and healthy life.",
            parent=strategic,
        )
        self._member(
            hwb,
            logins["manager"],
            orgs["Northmoor Public Health Team"],
            Role.MANAGER,
            decides=False,
        )
        hwb_sectors = {
            S.LOCAL_AUTHORITY,
            S.NHS_COMMISSIONER,
            S.NHS_PROVIDER,
            S.PUBLIC_HEALTH,
            S.VOLUNTARY,
            S.CHILDREN,
            S.HOUSING,
        }
        hwb_orgs = [o for o in orgs.values() if o.sector in hwb_sectors]
        self._member(hwb, next(pool), hwb_orgs[0], Role.CHAIR, decides=True)
        for org in hwb_orgs[1:16]:
            self._member(hwb, next(pool), org, Role.MEMBER, decides=rng.random() < 0.7)
        self._terms(
            hwb,
            today,
            adopted_days=200,
            review_days=165,
            quorum="the chair and at least five members, one of them from the NHS",
        )

        forum = Partnership.objects.create(
            name=FORUM,
            kind=PartnershipType.FORUM,
            area="Northmoor County",
            purpose="Where the trust's managers and staff representatives work together on "
            "changes that affect staff, before decisions are made.",
            vision="Staff and managers solve problems together, early and openly.",
        )
        management = Side.objects.create(partnership=forum, name="Management side", order=0)
        staff = Side.objects.create(partnership=forum, name="Staff side", order=1)
        trust = orgs["Northmoor Community Health NHS Trust"]
        self._member(forum, logins["manager"], trust, Role.MANAGER, side=management, decides=False)
        self._member(forum, logins["chair"], trust, Role.CO_CHAIR, side=management, decides=True)
        self._member(
            forum,
            logins["member"],
            orgs["UNISON Northmoor Health Branch"],
            Role.MEMBER,
            side=staff,
            decides=False,
        )
        unions = [o for o in orgs.values() if o.sector == S.TRADE_UNION]
        # The staff-side co-chair signs agendas off with the management side: a log-in.
        # (The pool still gives up a person, so everyone after stays the same.)
        next(pool)
        self._member(
            forum,
            logins["staff chair"],
            unions[0],
            Role.CO_CHAIR,
            side=staff,
            decides=True,
            responsibilities=["staff side secretary"],
        )
        for _ in range(8):
            self._member(
                forum, next(pool), trust, Role.MEMBER, side=management, decides=rng.random() < 0.5
            )
        for i in range(9):
            self._member(
                forum, next(pool), unions[i % len(unions)], Role.MEMBER, side=staff, decides=False
            )
        self._terms(
            forum,
            today,
            adopted_days=90,
            review_days=275,
            quorum="at least three members from each side are present",
        )
        return True

    def _people(self, rng: random.Random) -> list[User]:
        names = [f"{f} {last}" for f in FIRST for last in LAST]
        rng.shuffle(names)
        people = []
        for name in names[:117]:
            email = name.lower().replace(" ", ".").replace("'", "") + "@example.org"
            user, created = User.objects.get_or_create(email=email, defaults={"name": name})
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            people.append(user)
        return people

    def _member(
        self,
        partnership: Partnership,
        person: User,
        organisation: Organisation,
        role: str,
        *,
        decides: bool,
        side: Side | None = None,
        responsibilities: list[str] | None = None,
    ) -> Membership:
        start = timezone.localdate() - dt.timedelta(days=400)
        membership, _ = Membership.objects.get_or_create(
            partnership=partnership,
            person=person,
            defaults={
                "organisation": organisation,
                "role": role,
                "side": side,
                "decision_maker": decides,
                "start_date": start,
                "responsibilities": responsibilities or [],
            },
        )
        return membership

    def _deputies(
        self, partnership: Partnership, pool: Any, rng: random.Random, count: int
    ) -> None:
        members = list(
            partnership.memberships.filter(role=Role.MEMBER).select_related("organisation")
        )
        for principal in rng.sample(members, count):
            deputy = self._member(
                partnership, next(pool), principal.organisation, Role.DEPUTY, decides=False
            )
            deputy.deputy_for = principal
            deputy.save(update_fields=["deputy_for"])

    def _end_some(self, partnership: Partnership, today: dt.date, count: int) -> None:
        leavers = partnership.memberships.filter(role=Role.MEMBER).order_by("-pk")[:count]
        for membership in leavers:
            membership.end_date = today - dt.timedelta(days=45)
            membership.save(update_fields=["end_date"])

    def _terms(
        self,
        partnership: Partnership,
        today: dt.date,
        *,
        adopted_days: int,
        review_days: int,
        quorum: str,
    ) -> None:
        TermsOfReference.objects.get_or_create(
            partnership=partnership,
            version=1,
            defaults={
                "text": TERMS_TEXT.format(purpose=partnership.purpose, quorum=quorum),
                "adopted_on": today - dt.timedelta(days=adopted_days),
                "next_review_on": today + dt.timedelta(days=review_days),
            },
        )
