"""The marker walker's parts: which columns hold free text, writing payloads into them,
and filling every route's ids from the objects a person may see.

The columns are read from the models, not listed by hand, so a later app's text
is written into as soon as its models exist; only columns that are not free text
are left out, each with its reason in ``NOT_FREE_TEXT``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import Value
from django.db.models.functions import Cast, Concat
from django.urls import URLPattern

from partnerwell.core.models import Partnership, User
from tests.security.markers import TINY, URL, payload_for
from tests.url_walk import all_routes

PROJECT_APPS = ("core", "healthcheck", "delivery", "meetings", "api")

# "app.Model.column": why it is not free text a person writes. Unique columns filled by a
# generator (random tokens such as review and calendar-feed secrets) are left out as well.
NOT_FREE_TEXT = {
    "core.User.password": "a password hash",
    "core.User.email": "an email address, checked by EmailField (no < > or quotes) on every way in",
    "healthcheck.Framework.key": "a slug used in URLs and as form field names",
    "healthcheck.Area.key": "a slug used in URLs and as form field names",
    "healthcheck.Principle.key": "a slug used in URLs and as form field names",
    "healthcheck.Statement.key": "a slug used as the answer form's field names",
    "healthcheck.Framework.scope": "'builtin' or 'p<partnership id>', set by the code",
    "healthcheck.Framework.compare_by": "a group name the framework file chooses from a fixed set",
    "healthcheck.Framework.document": (
        "the YAML the framework columns were parsed from; only served as a text/yaml download"
    ),
    "healthcheck.Invitation.nonce": "a random value the personal link is derived from",
    "healthcheck.Invitation.token_hash": "a hash",
    "healthcheck.Response.sector": "a Sector code copied from the organisation, shown by its label",
    "healthcheck.HeldResponse.sector": "a Sector code copied from the organisation",
    "delivery.Ballot.sector": "a Sector code copied from the organisation, shown by its label",
    "meetings.Meeting.time_zone": "a time-zone name checked against zoneinfo",
    "api.AccessToken.token_hash": "a hash",
    "api.AccessToken.hint": "the first characters of a random token",
}

# JSON columns whose string values are text a person wrote (or a file carried), with the
# keys that hold it (None: every string value).
JSON_TEXT: dict[str, set[str] | None] = {
    "core.Membership.responsibilities": None,
    "core.MemberImport.rows": {"name", "organisation", "side"},
    "core.MemberImport.row_errors": {"message"},
    "healthcheck.Statement.anchors": None,
    "healthcheck.Response.comments": None,
    "healthcheck.HeldResponse.comments": None,
    "healthcheck.Invitation.draft": None,
}
NOT_TEXT_JSON = {
    "core.MemberImport.rows (email, role, sector, end_date)": "checked values the import parsed",
    "healthcheck.Principle.evidence": "indicator codes the framework file names",
    "healthcheck.Framework.extra": "settings read from the framework file, never shown",
    "healthcheck.Round.reminder_days": "numbers of days",
    "healthcheck.HeldResponse.answers": "statement keys and numbers",
    "delivery.DigestPreference.unsubscribed": "digest section codes",
    "meetings.MeetingSettings.quorum_sectors": "Sector codes",
    "meetings.Meeting.quorum_detail": "the quorum check's own results, computed by the code",
}


def project_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if m._meta.app_label in PROJECT_APPS]


def label(model: type[models.Model], field: models.Field[Any, Any]) -> str:
    return f"{model._meta.label}.{field.name}"


def text_columns() -> Iterator[tuple[type[models.Model], models.Field[Any, Any]]]:
    """Every CharField or TextField without choices in the project's models."""
    for model in project_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.CharField | models.TextField) and not field.choices:
                yield model, field


def json_columns() -> Iterator[tuple[type[models.Model], models.Field[Any, Any]]]:
    for model in project_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.JSONField):
                yield model, field


def _unique(model: type[models.Model], field: models.Field[Any, Any]) -> bool:
    together = [set(names) for names in model._meta.unique_together]
    for c in model._meta.constraints:
        if isinstance(c, models.UniqueConstraint):
            # Expressions such as Lower("name") name their column only in their text.
            together.append(
                set(c.fields) | {field.name for e in c.expressions if field.name in str(e)}
            )
    return field.unique or any(field.name in names for names in together)


def _generated_secret(field: models.Field[Any, Any]) -> bool:
    """A unique column the code fills from a generator: a random token nobody types."""
    return field.unique and callable(field.default)


def _poisoned(value: Any, payload: str, keys: set[str] | None, key: str | None = None) -> Any:
    """The same JSON shape with the string values (not keys) under `keys` made the payload."""
    if isinstance(value, str):
        return payload if keys is None or key in keys else value
    if isinstance(value, list):
        return [_poisoned(v, payload, keys, key) for v in value]
    if isinstance(value, dict):
        return {k: _poisoned(v, payload, keys, k) for k, v in value.items()}
    return value


def free_text_columns() -> set[str]:
    """Every column the walker writes into, read from the models alone."""
    columns = {
        label(model, field)
        for model, field in text_columns()
        if label(model, field) not in NOT_FREE_TEXT and not _generated_secret(field)
    }
    return columns | set(JSON_TEXT)


@dataclass
class Written:
    columns: set[str]
    skipped: dict[str, str]


def write_payloads() -> Written:
    """Write the richest payload that fits into every free-text column of every row."""
    written: set[str] = set()
    skipped: dict[str, str] = {}
    for model, field in text_columns():
        name = label(model, field)
        if name in NOT_FREE_TEXT or _generated_secret(field):
            continue
        unique = _unique(model, field)
        room = None if field.max_length is None else field.max_length - (12 if unique else 0)
        if isinstance(field, models.URLField):
            payload = URL if room is None or len(URL) <= room else None
        else:
            payload = payload_for(room)
        if payload is None:
            payload = TINY if room is None or len(TINY) <= room else None
        if payload is None:
            skipped[name] = f"no payload fits {field.max_length} characters"
            continue
        rows = model._default_manager.all()
        if unique:
            # Unique columns get the row's id after the payload to stay unique.
            rows.update(
                **{
                    field.name: Concat(
                        Value(payload), Value(" #"), Cast("pk", output_field=models.CharField())
                    )
                }
            )
        else:
            rows.update(**{field.name: payload})
        written.add(name)
    for model, field in json_columns():
        name = label(model, field)
        if name not in JSON_TEXT:
            assert name in NOT_TEXT_JSON, f"{name}: add it to JSON_TEXT or NOT_TEXT_JSON"
            continue
        payload = payload_for(None)
        assert payload is not None
        for pk, value in model._default_manager.values_list("pk", field.name):
            poisoned = _poisoned(value, payload, JSON_TEXT[name])
            model._default_manager.filter(pk=pk).update(**{field.name: poisoned})
        written.add(name)
    return Written(written, skipped)


# Filling the routes -------------------------------------------------------------------------

# The meetings app names every id "pk"; the route's first part says which model it is.
PK_BY_PREFIX = {
    "meetings": "meetings.Meeting",
    "agenda-items": "meetings.AgendaItem",
    "papers": "meetings.Paper",
    "papers-packs": "meetings.PapersPack",
    "minutes": "meetings.Minutes",
    "decisions": "meetings.Decision",
}
MODEL_BY_KWARG = {
    "partnership_id": "core.Partnership",
    "organisation_id": "core.Organisation",
    "membership_id": "core.Membership",
    "person_id": "core.User",
    "import_id": "core.MemberImport",
    "version": "core.TermsOfReference",
    "token_id": "api.AccessToken",
    "round_id": "healthcheck.Round",
    "framework_id": "healthcheck.Framework",
    "pdf_id": "healthcheck.ResultsPdf",
    "item_id": "healthcheck.DiscussionItem",
    "action_id": "delivery.Action",
    "priority_id": "delivery.Priority",
    "vote_id": "delivery.PriorityVote",
    "outcome_id": "delivery.Outcome",
    "measure_id": "delivery.Measure",
    "target_id": "delivery.Target",
    "point_id": "delivery.DataPoint",
    "risk_id": "delivery.Risk",
    "issue_id": "delivery.Issue",
    "win_id": "delivery.Win",
}
_KWARG = re.compile(r"<(?:\w+:)?(\w+)>")


def route_kwargs(route: str) -> list[str]:
    return _KWARG.findall(route)


def _path_to_partnership(model: type[models.Model], depth: int = 0) -> str | None:
    """The lookup from a model to its partnership, following foreign keys."""
    if model is Partnership:
        return "pk"
    if depth > 3:
        return None
    for field in sorted(model._meta.concrete_fields, key=lambda f: f.null):
        if isinstance(field, models.ForeignKey) and field.related_model is not User:
            related = field.related_model
            assert isinstance(related, type)
            if related is Partnership:
                return field.name
            rest = _path_to_partnership(related, depth + 1)
            if rest is not None:
                return f"{field.name}__{rest}"
    return None


def visible(model: type[models.Model], partnerships: list[int]) -> models.QuerySet[Any]:
    """The model's rows in the given partnerships (all rows when it belongs to none)."""
    rows = model._default_manager.all()
    if model is Partnership:
        return rows.filter(pk__in=partnerships)
    if model is User:
        return rows.filter(memberships__partnership__in=partnerships).distinct()
    path = _path_to_partnership(model)
    if path is None:
        return rows
    field = model._meta.get_field(path.split("__")[0])
    if field.null:
        # Built-in frameworks belong to nobody and everyone sees them.
        return rows.filter(models.Q(**{f"{path}__in": partnerships}) | models.Q(**{path: None}))
    return rows.filter(**{f"{path}__in": partnerships})


def spread(rows: models.QuerySet[Any], count: int) -> list[Any]:
    """Up to count rows from the first to the last, so early and late states both show."""
    ids = list(rows.order_by("pk").values_list("pk", flat=True))
    if len(ids) <= count:
        return [rows.model._default_manager.get(pk=pk) for pk in ids]
    step = (len(ids) - 1) / (count - 1) if count > 1 else 0
    chosen = sorted({ids[round(i * step)] for i in range(count)})
    return [rows.model._default_manager.get(pk=pk) for pk in chosen]


def target_model(route: str) -> str | None:
    """Which model the route's last id names."""
    names = route_kwargs(route)
    if not names:
        return None
    last = names[-1]
    if last == "pk":
        return PK_BY_PREFIX[route.split("/", 1)[0]]
    return MODEL_BY_KWARG.get(last)


def fill_values(obj: Any, route: str) -> dict[str, Any]:
    """The route's ids for one object: its own id and its parents' ids."""
    values: dict[str, Any] = {}
    for name in route_kwargs(route):
        if name == "version":
            values[name] = obj.version
        elif name == "pk" or MODEL_BY_KWARG.get(name) == obj._meta.label:
            values[name] = obj.pk
        elif name == "partnership_id":
            values[name] = obj.partnership_id
        else:
            values[name] = getattr(obj, name)
    return values


def fill(route: str, values: dict[str, Any]) -> str:
    return "/" + _KWARG.sub(lambda m: str(values[m.group(1)]), route)


def page_routes() -> list[tuple[str, URLPattern]]:
    """Routes a browser opens; the admin (Django's own, escaping) and the JSON API are apart."""
    return [
        (route, pattern)
        for route, pattern in all_routes()
        if not route.startswith(("admin/", "api/v1/", "accounts/reset/", "accounts/invitation/"))
    ]
