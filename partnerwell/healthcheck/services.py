"""Health-check workflows that touch several models. Each is atomic and typed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
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
    if invitation.used_at is not None:
        raise InvitationProblem(
            "This link has been used: your answers were sent on "
            f"{timezone.localtime(invitation.used_at):%-d %B %Y}. Thank you."
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
) -> Response:
    """Store the answers once, unlinked from the invitation and the person.

    The invitation is marked used in the same transaction with a conditional
    update, so two submissions of one link can never both be stored.
    """
    round = invitation.round
    statements = list(round.framework.statements.all())
    with transaction.atomic():
        claimed = Invitation.objects.filter(pk=invitation.pk, used_at__isnull=True).update(
            used_at=timezone.now(), draft={}
        )
        if claimed != 1:
            raise InvitationProblem("This link has been used: your answers were already sent.")
        membership = Membership.objects.select_related("organisation", "side").get(
            pk=invitation.membership_id
        )
        response = Response.objects.create(
            round=round,
            submitted_on=timezone.localdate(),
            side=membership.side.name if membership.side else "",
            sector=membership.organisation.sector,
            organisation=membership.organisation.name,
            comments={k: v.strip()[:4000] for k, v in comments.items() if v and v.strip()},
        )
        Rating.objects.bulk_create(
            Rating(
                response=response,
                round=round,
                statement=s,
                principle_id=s.principle_id,
                raw=answers.get(s.key),
                value=normalise(s.scale, answers.get(s.key), s.reverse),
            )
            for s in statements
        )
    return response


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
    Invitation.objects.filter(pk=invitation.pk, used_at__isnull=True).update(draft=draft)


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
