"""Health-check workflows that touch several models. Each is atomic and typed."""

from __future__ import annotations

import datetime as dt
import secrets
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from partnerwell.core.models import Membership, Partnership, Side, User
from partnerwell.healthcheck.frameworks import (
    FrameworkSpec,
    builtin_framework_paths,
    dump_framework,
    load_framework,
)
from partnerwell.healthcheck.models import (
    Area,
    Audience,
    Framework,
    HeldResponse,
    Invitation,
    Principle,
    Rating,
    Response,
    Round,
    Statement,
)
from partnerwell.healthcheck.scoring import normalise

BUILTIN = "builtin"


def scope_for(partnership: Partnership | None) -> str:
    return BUILTIN if partnership is None else f"p{partnership.pk}"


@transaction.atomic
def framework_store(
    *,
    spec: FrameworkSpec,
    document: str,
    partnership: Partnership | None = None,
    by: User | None = None,
) -> Framework:
    """Save a framework file as a new version, or over the latest one if no round used it.

    Rounds keep the version they were answered on; a changed framework that has
    been used becomes a new version with the next number.
    """
    scope = scope_for(partnership)
    latest = (
        Framework.objects.select_for_update()
        .filter(scope=scope, key=spec.key)
        .order_by("-version")
        .first()
    )
    if latest is not None and latest.document == document:
        return latest
    if latest is not None and not latest.in_use:
        latest.areas.all().delete()
        framework = latest
        version = latest.version
    else:
        framework = Framework(scope=scope, key=spec.key)
        version = (latest.version + 1) if latest else 1
    framework.version = version
    framework.title = spec.title
    framework.source = spec.source
    framework.description = spec.description
    framework.compare_by = spec.compare_by or ""
    framework.partnership = partnership
    framework.builtin = partnership is None
    framework.document = document
    framework.extra = {"skill_areas": [asdict(a) for a in spec.skill_areas], **spec.extra}
    framework.created_by = by
    framework.save()
    _store_items(framework, spec)
    return framework


def _store_items(framework: Framework, spec: FrameworkSpec) -> None:
    for area_order, area_spec in enumerate(spec.areas):
        area = Area.objects.create(
            framework=framework, key=area_spec.key, title=area_spec.title, order=area_order
        )
        for principle_order, principle_spec in enumerate(area_spec.principles):
            principle = Principle.objects.create(
                framework=framework,
                area=area,
                key=principle_spec.key,
                title=principle_spec.title,
                description=principle_spec.description or "",
                evidence=list(principle_spec.evidence),
                order=principle_order,
            )
            Statement.objects.bulk_create(
                Statement(
                    framework=framework,
                    principle=principle,
                    key=s.key,
                    text=s.text,
                    scale=s.scale,
                    reverse=s.reverse,
                    anchors={str(k): v for k, v in s.anchors.items()} if s.anchors else None,
                    order=order,
                )
                for order, s in enumerate(principle_spec.statements)
            )


def frameworks_load_builtin() -> list[Framework]:
    """Bring the built-in frameworks in line with the files under frameworks/."""
    loaded = []
    for path in builtin_framework_paths():
        text = path.read_text(encoding="utf-8")
        loaded.append(framework_store(spec=load_framework(text, filename=path.name), document=text))
    return loaded


def framework_export(framework: Framework) -> str:
    return framework.document or dump_framework(load_framework(framework.document))


# Rounds and invitations -------------------------------------------------------


@dataclass(frozen=True)
class RoundPlan:
    framework: Framework
    title: str
    audience: str
    opens_at: dt.datetime
    closes_at: dt.datetime
    anonymity_floor: int = 3
    ask_comments: bool = True
    reminder_days: tuple[int, ...] = ()
    side: Side | None = None
    chosen: tuple[int, ...] = ()


def audience_members(partnership: Partnership, plan: RoundPlan) -> QuerySet[Membership]:
    members = Membership.objects.current().filter(partnership=partnership)
    if plan.audience == Audience.SIDE:
        members = members.filter(side=plan.side)
    elif plan.audience == Audience.CHOSEN:
        members = members.filter(pk__in=plan.chosen)
    return members


def round_open(*, by: User, partnership: Partnership, plan: RoundPlan) -> Round:
    """Create the round; invitations are made and sent by the worker, not here."""
    from partnerwell.healthcheck.tasks import send_round_invitations

    errors: dict[str, str] = {}
    if plan.closes_at <= plan.opens_at:
        errors["closes_at"] = "The round must close after it opens."
    if plan.anonymity_floor < 3:
        errors["anonymity_floor"] = "The anonymity floor cannot be lower than 3."
    if plan.audience == Audience.SIDE and (
        plan.side is None or plan.side.partnership_id != partnership.pk
    ):
        errors["side"] = "Choose one of this partnership's sides."
    if plan.audience == Audience.CHOSEN and not plan.chosen:
        errors["chosen"] = "Choose at least one member to invite."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        round = Round.objects.create(
            partnership=partnership,
            framework=plan.framework,
            title=plan.title,
            audience=plan.audience,
            side=plan.side if plan.audience == Audience.SIDE else None,
            opens_at=plan.opens_at,
            closes_at=plan.closes_at,
            anonymity_floor=plan.anonymity_floor,
            ask_comments=plan.ask_comments,
            reminder_days=sorted(set(plan.reminder_days), reverse=True),
            invited_count=len(list(audience_members(partnership, plan).values("pk"))),
            created_by=by,
        )
        chosen = list(plan.chosen)
        transaction.on_commit(
            lambda: send_round_invitations.enqueue(round_id=round.pk, chosen=chosen)
        )
    return round


def invitations_create(round: Round, chosen: list[int]) -> int:
    """Make the round's invitations in bulk; returns how many were made."""
    plan = RoundPlan(
        framework=round.framework,
        title=round.title,
        audience=round.audience,
        opens_at=round.opens_at,
        closes_at=round.closes_at,
        side=round.side,
        chosen=tuple(chosen),
    )
    existing = set(round.invitations.values_list("membership_id", flat=True))
    new = [
        Invitation.build(round=round, membership=m)
        for m in audience_members(round.partnership, plan).only("pk")
        if m.pk not in existing
    ]
    Invitation.objects.bulk_create(new, batch_size=1000)
    return len(new)


# Responding -------------------------------------------------------------------


class InvitationProblem(Exception):
    """Why a link cannot be used, in words for the person holding it."""


def invitation_check(invitation: Invitation | None) -> Invitation:
    if invitation is None:
        raise InvitationProblem(
            "This link is not one we know. Check it was copied in full, or ask the "
            "partnership manager for your link."
        )
    if invitation.answered:
        raise InvitationProblem(
            "This link has been used: your answers have been sent. Thank you. "
            "Each link takes one set of answers."
        )
    round = invitation.round
    if round.status == "scheduled":
        raise InvitationProblem(
            f"This health check opens on {timezone.localtime(round.opens_at):%-d %B %Y at %H:%M}."
        )
    if round.status == "closed":
        raise InvitationProblem(
            f"This health check closed on {timezone.localtime(round.effective_close):%-d %B %Y}, "
            "so the link no longer works."
        )
    return invitation


def response_submit(
    *, invitation: Invitation, answers: Mapping[str, int | None], comments: Mapping[str, str]
) -> HeldResponse:
    """Hold the answers once, unlinked from the invitation and the person, until the round
    is sealed (round_seal moves them into the results in random order).

    The invitation is marked answered in the same transaction with a conditional
    update, so two submissions of one link can never both be stored.
    """
    round = invitation.round
    statements = list(round.framework.statements.all())
    kept = {s.key: answers.get(s.key) for s in statements}
    for s in statements:
        # Refuse an answer off the scale before anything is written.
        normalise(s.scale, kept[s.key], s.reverse)
    with transaction.atomic():
        claimed = Invitation.objects.filter(pk=invitation.pk, answered=False).update(
            answered=True, draft={}
        )
        if claimed != 1:
            raise InvitationProblem("This link has been used: your answers were already sent.")
        membership = Membership.objects.select_related("organisation", "side").get(
            pk=invitation.membership_id
        )
        # The row's foreign key share-locks the round, so round_seal (which locks the
        # round for update) waits for this transaction and then sees this row.
        held = HeldResponse.objects.create(
            round=round,
            side=membership.side.name if membership.side else "",
            sector=membership.organisation.sector,
            organisation=membership.organisation.name,
            answers=kept,
            comments={k: v.strip()[:4000] for k, v in comments.items() if v and v.strip()},
        )
        if round.status == "closed":
            # Answers that arrive after closing (at the very edge) are sealed at once.
            transaction.on_commit(lambda: round_seal(round))
    return held


# Sealing: answers into the results in random order ------------------------------------


def round_seal(round: Round) -> int:
    """Move a closed round's held answers into Response and Rating; returns how many.

    All of the round's responses (any already in the results as well as the held
    ones) are written again in one transaction, in an order drawn from the system's
    random source, with fresh random ids: after this, neither ids, row order nor
    transaction ids follow the order in which people answered. Idempotent: a sealed
    round with nothing held is left alone. Does nothing while the round is open.
    """
    with transaction.atomic():
        locked = Round.objects.select_for_update().select_related("framework").get(pk=round.pk)
        if locked.status != "closed":
            return 0
        held = list(HeldResponse.objects.filter(round=locked))
        if locked.sealed and not held:
            return 0
        statements = list(Statement.objects.filter(framework_id=locked.framework_id))
        by_key = {s.key: s for s in statements}
        earlier: dict[Any, dict[int, int | None]] = defaultdict(dict)
        for response_id, statement_id, raw in Rating.objects.filter(round=locked).values_list(
            "response_id", "statement_id", "raw"
        ):
            earlier[response_id][statement_id] = raw
        entries: list[tuple[tuple[str, str, str], dict[int, int | None], dict[str, str]]] = [
            ((r.side, r.sector, r.organisation), earlier[r.pk], r.comments)
            for r in Response.objects.filter(round=locked)
        ]
        entries += [
            (
                (h.side, h.sector, h.organisation),
                {by_key[k].pk: raw for k, raw in h.answers.items() if k in by_key},
                h.comments,
            )
            for h in held
        ]
        secrets.SystemRandom().shuffle(entries)
        Rating.objects.filter(round=locked).delete()
        Response.objects.filter(round=locked).delete()
        responses = Response.objects.bulk_create(
            Response(round=locked, side=side, sector=sector, organisation=org, comments=comments)
            for (side, sector, org), _, comments in entries
        )
        Rating.objects.bulk_create(
            (
                Rating(
                    response=response,
                    round=locked,
                    statement=s,
                    principle_id=s.principle_id,
                    raw=raws[s.pk],
                    value=normalise(s.scale, raws[s.pk], s.reverse),
                )
                for response, (_, raws, _) in zip(responses, entries, strict=True)
                for s in statements
                if s.pk in raws
            ),
            batch_size=2000,
        )
        HeldResponse.objects.filter(pk__in=[h.pk for h in held]).delete()
        Round.objects.filter(pk=locked.pk).update(sealed=True)
    round.sealed = True
    return len(held)


def _due(rounds: QuerySet[Round]) -> QuerySet[Round]:
    now = timezone.now()
    return (
        rounds.filter(Q(closes_at__lte=now) | Q(closed_early_at__lte=now))
        .filter(Q(sealed=False) | Q(held_responses__isnull=False))
        .distinct()
    )


def rounds_seal_due(rounds: QuerySet[Round] | None = None) -> int:
    """Seal every closed round (of those given) that is unsealed or holds answers."""
    due = _due(rounds if rounds is not None else Round.objects.all())
    return sum(round_seal(r) for r in due.order_by("pk"))


def round_seal_due(round: Round) -> None:
    """Before reading a round's results: seal it, and any other closed round of its
    partnership still holding answers (the change since last time reads the previous
    one). One query when there is nothing to do."""
    rounds_seal_due(Round.objects.filter(partnership_id=round.partnership_id))


def rounds_seal_for(rounds: Iterable[Round]) -> None:
    """round_seal_due for several rounds (of any partnerships) in one query."""
    ids = [r.pk for r in rounds]
    if ids:
        rounds_seal_due(Round.objects.filter(pk__in=ids))


def round_close_early(round: Round) -> bool:
    """Close an open round now and seal its answers into the results; False if not open."""
    now = timezone.now()
    closed = Round.objects.filter(
        pk=round.pk, closed_early_at__isnull=True, opens_at__lte=now, closes_at__gt=now
    ).update(closed_early_at=now)
    if not closed:
        return False
    round.refresh_from_db()
    round_seal(round)
    return True


def draft_save(*, invitation: Invitation, area_key: str, form: Any) -> None:
    """Keep whatever valid answers a page carried, even if others are missing."""
    draft = dict(invitation.draft or {})
    answers = dict(draft.get("answers", {}))
    for statement in form.statements:
        raw = form.data.get(statement.key)
        allowed = {value for value, _ in form.fields[statement.key].choices}
        if raw in allowed:
            answers[statement.key] = None if raw == "dk" else int(raw)
    draft["answers"] = answers
    if "comment" in form.fields:
        comments = dict(draft.get("comments", {}))
        comments[area_key] = str(form.data.get("comment", ""))[:4000]
        draft["comments"] = comments
    invitation.draft = draft
    # A link that has just been used elsewhere keeps its wiped draft.
    Invitation.objects.filter(pk=invitation.pk, answered=False).update(draft=draft)


def draft_summary(*, invitation: Invitation, areas: list[Any]) -> tuple[list[dict[str, Any]], int]:
    """The answers so far, area by area, and how many statements still have none."""
    from partnerwell.healthcheck.forms import answer_choices

    answers = invitation.draft.get("answers", {})
    comments = invitation.draft.get("comments", {})
    summary = []
    missing = 0
    for number, area in enumerate(areas, start=1):
        rows = []
        for principle in area.principles.all():
            for statement in principle.statements.all():
                labels = dict(answer_choices(statement))
                if statement.key in answers:
                    raw = answers[statement.key]
                    answer = labels["dk"] if raw is None else labels.get(str(raw), str(raw))
                else:
                    answer = None
                    missing += 1
                rows.append({"text": statement.text, "answer": answer})
        summary.append(
            {
                "step": number,
                "title": area.title,
                "rows": rows,
                "comment": comments.get(area.key, ""),
            }
        )
    return summary, missing


class TooManyAttemptsError(Exception):
    """Raised to the API when one address has sent too many wrong tokens."""


def response_check(
    *, invitation: Invitation, answers: Mapping[str, int | None], comments: Mapping[str, str]
) -> None:
    """Check a complete set of answers sent at once (through the API)."""
    statements = list(invitation.round.framework.statements.all())
    errors: list[str] = []
    keys = {s.key for s in statements}
    for unknown in sorted(set(answers) - keys):
        errors.append(f"“{unknown}” is not a statement of this framework.")
    for s in statements:
        if s.key not in answers:
            errors.append(f"“{s.key}” has no answer; send null for don't know.")
        elif answers[s.key] is not None:
            try:
                normalise(s.scale, answers[s.key], s.reverse)
            except (ValueError, TypeError) as exc:
                errors.append(f"“{s.key}”: {exc}")
    areas = set(invitation.round.framework.areas.values_list("key", flat=True))
    for key, text in comments.items():
        if key not in areas:
            errors.append(f"“{key}” is not an area of this framework, so cannot take a comment.")
        elif len(text) > 4000:
            errors.append(f"The comment on “{key}” is longer than 4,000 characters.")
    if errors:
        raise ValidationError(errors)
