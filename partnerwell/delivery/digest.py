"""The action sections of the email digest (registered from DeliveryConfig.ready())."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from partnerwell.core.digest import DigestItem, register_section
from partnerwell.core.models import Membership, User
from partnerwell.delivery.actions import DUE_SOON_DAYS
from partnerwell.delivery.models import Action, DigestPreference, ProgressNote

OVERDUE = "OVERDUE"
DUE_SOON = f"DUE IN THE NEXT {DUE_SOON_DAYS} DAYS"


def actions_due(person: User, since: dt.datetime, today: dt.date) -> list[DigestItem]:
    """Open actions the person owns that are overdue or due within 7 days (one query)."""
    actions = (
        Action.objects.open()
        .filter(
            owner__in=Membership.objects.current(today).filter(person=person).values("pk"),
            due_date__lte=today + dt.timedelta(days=DUE_SOON_DAYS),
        )
        .select_related("partnership")
        .order_by("due_date", "pk")
    )
    items = []
    for action in actions:
        late = action.due_date < today
        when = "Was due" if late else "Due"
        items.append(
            DigestItem(
                title=action.title,
                detail=f"{action.partnership.name}. {when} {action.due_date:%-d %B %Y}.",
                path=action.get_absolute_url(),
                group=OVERDUE if late else DUE_SOON,
            )
        )
    # Overdue first, then due soon; each already in date order.
    return sorted(items, key=lambda i: i.group != OVERDUE)


def actions_assigned(person: User, since: dt.datetime, today: dt.date) -> list[DigestItem]:
    """Open actions given to the person by someone else since their last digest (one query).

    New actions count, and so do actions reassigned to them (action_update notes a
    reassignment on the timeline, which is the only record of it).
    """
    created = Q(created_at__gt=since) & ~Q(created_by=person)
    reassigned = ProgressNote.objects.filter(
        action=OuterRef("pk"), created_at__gt=since, text__startswith="Reassigned from"
    ).exclude(author=person)
    actions = (
        Action.objects.open()
        .filter(owner__in=Membership.objects.current(today).filter(person=person).values("pk"))
        .filter(created | Exists(reassigned))
        .select_related("partnership")
        .order_by("created_at", "pk")
    )
    return [
        DigestItem(
            title=action.title,
            detail=f"{action.partnership.name}. Due {action.due_date:%-d %B %Y}.",
            path=action.get_absolute_url(),
        )
        for action in actions
    ]


def register() -> None:
    register_section(
        kind="actions_due",
        label="Your actions that are overdue or due soon",
        heading="Your actions that need attention",
        nouns=("action needing attention", "actions needing attention"),
        provider=actions_due,
        order=10,
    )
    register_section(
        kind="actions_assigned",
        label="Actions newly given to you",
        heading="Actions newly given to you",
        nouns=("new action for you", "new actions for you"),
        provider=actions_assigned,
        order=20,
    )


@transaction.atomic
def digest_unsubscribe(*, person: User, kind: str) -> DigestPreference:
    """Leave one section out of the person's future digests (again is harmless)."""
    preference, _ = DigestPreference.objects.select_for_update().get_or_create(person=person)
    if kind not in preference.unsubscribed:
        preference.unsubscribed = [*preference.unsubscribed, kind]
        preference.save(update_fields=["unsubscribed"])
    return preference
