"""Every free-text input of every form and API body lands in a column the walker poisons,
and payloads sent through the real forms and the API come out as text.

The inputs are read from the project's Form classes and the OpenAPI schema, so a
later app's new text input fails here until its column is written into by the
walker (which reads the models) or the input is listed below with a reason.
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
import re
from collections.abc import Iterator
from typing import Any

import yaml
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

import partnerwell
from partnerwell.api.api import api
from partnerwell.core.models import Membership, Partnership, User
from partnerwell.delivery import priorities as priority_services
from partnerwell.delivery.models import Priority
from partnerwell.healthcheck.models import Framework, Statement
from tests.api.conftest import api_client_for
from tests.healthcheck.builders import invite, make_round
from tests.security.markers import FULL, MARK, check_html
from tests.security.walker import free_text_columns

# Inputs whose name is not their column's, with the column they are stored in, or why
# they are not stored text.
FORM_INPUTS = {
    "core.auth_forms.ChoosePasswordForm.new_password1": "a password, never shown",
    "core.auth_forms.ChoosePasswordForm.new_password2": "a password, never shown",
    "core.auth_forms.SignInForm.password": "a password, never shown",
    "core.auth_forms.SignInForm.username": "an email address, only looked up",
    "core.forms.AddMemberForm.responsibilities_text": "core.Membership.responsibilities",
    "core.forms.EditMemberForm.responsibilities_text": "core.Membership.responsibilities",
    "core.forms.MembershipFieldsMixin.responsibilities_text": "core.Membership.responsibilities",
    "core.forms.OwnMembershipForm.responsibilities_text": "core.Membership.responsibilities",
    "core.forms.NewPartnershipForm.custom_sides": "core.Side.name",
    "core.forms.PartnershipForm.custom_sides": "core.Side.name",
    "healthcheck.forms.OutlineFrameworkForm.outline": "healthcheck.Statement.text",
    "meetings.forms.CancelForm.reason": "meetings.Meeting.cancel_reason",
    "meetings.forms.MeetingForm.new_series": "meetings.MeetingSeries.name",
    "meetings.forms.MeetingForm.time_zone": "a time-zone name checked against zoneinfo",
    "meetings.forms_agenda.ItemForm.paper_title": "meetings.Paper.title",
    "meetings.forms_agenda.TriageForm.reason": "meetings.AgendaItem.triage_reason",
    "meetings.forms_minutes.CorrectionForm.reason": "meetings.Minutes.correction_reason",
    "meetings.forms_minutes.DecisionSearchForm.q": "a search term, shown back: see below",
    "meetings.forms_minutes.DecisionExportForm.q": "a search term for a download",
}
API_INPUTS = {
    "create_member.email": "an email address, validated",
    "submit_response.token": "a personal link's token, only looked up",
    "cancel_meeting.reason": "meetings.Meeting.cancel_reason",
    "triage_item.reason": "meetings.AgendaItem.triage_reason",
    "create_meeting.series": "meetings.MeetingSeries.name",
    "update_meeting.series": "meetings.MeetingSeries.name",
    "create_meeting.time_zone": "a time-zone name checked against zoneinfo",
    "update_meeting.time_zone": "a time-zone name checked against zoneinfo",
    "update_meeting.status": "a meeting stage, checked against the stages",
}
DATE_NAME = re.compile(r"(_on|_at|_date)$")
NOT_TEXT_FIELDS = (
    forms.ChoiceField,
    forms.EmailField,
    forms.URLField,
    forms.SlugField,
    forms.DateField,
    forms.DateTimeField,
)


def _project_modules() -> None:
    for module in pkgutil.walk_packages(partnerwell.__path__, "partnerwell."):
        if ".migrations" not in module.name and not module.name.endswith(
            ("wsgi", "gunicorn_conf", "pytest_env")
        ):
            importlib.import_module(module.name)


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def form_text_inputs() -> list[str]:
    """'module.Form.field' for every free-text CharField a project form declares."""
    _project_modules()
    found = set()
    for cls in _subclasses(forms.BaseForm):
        if not cls.__module__.startswith("partnerwell."):
            continue
        for name, field in getattr(cls, "base_fields", {}).items():
            if isinstance(field, forms.CharField) and not isinstance(field, NOT_TEXT_FIELDS):
                found.add(f"{cls.__module__.removeprefix('partnerwell.')}.{cls.__name__}.{name}")
    return sorted(found)


def _is_text(schema: dict[str, Any]) -> bool:
    options = [schema, *schema.get("anyOf", [])]
    return any(
        o.get("type") == "string" and not o.get("format") and not o.get("enum") for o in options
    ) and not any(o.get("format") for o in options)


def api_text_inputs() -> list[str]:
    """'operation.property' for every free-text string in an API request body."""
    schema = api.get_openapi_schema()
    components = schema["components"]["schemas"]
    found = set()
    for item in schema["paths"].values():
        for operation in item.values():
            body = operation.get("requestBody")
            if not body:
                continue
            ref = body["content"]["application/json"]["schema"].get("$ref", "")
            properties = components.get(ref.rsplit("/", 1)[-1], {}).get("properties", {})
            # partnerwell_api_<module>_<operation>: the operation is what people read.
            op = operation["operationId"].split("_api_", 1)[-1].split("_", 1)[-1]
            for name, prop in properties.items():
                if _is_text(prop) and not DATE_NAME.search(name):
                    found.add(f"{op}.{name}")
    return sorted(found)


def _uncovered(inputs: list[str], listed: dict[str, str]) -> list[str]:
    columns = free_text_columns()
    names = {c.rsplit(".", 1)[1] for c in columns}
    missing = []
    for key in inputs:
        name = key.rsplit(".", 1)[1]
        if key in listed:
            target = listed[key]
            # A listed column must really be one the walker writes into.
            if re.fullmatch(r"\w+\.\w+\.\w+", target) and target not in columns:
                missing.append(f"{key} -> {target}, which the walker does not write")
        elif name not in names:
            missing.append(key)
    return missing


def test_it_finds_the_text_inputs() -> None:
    # Guards the readers: finding nothing would make the checks below pass for nothing.
    forms_found = form_text_inputs()
    api_found = api_text_inputs()
    assert "delivery.forms_priorities.PriorityForm.description" in forms_found
    assert "healthcheck.forms.OutlineFrameworkForm.outline" in forms_found
    assert "propose_priority.description" in api_found
    assert len(forms_found) > 50
    assert len(api_found) > 50


def test_it_poisons_the_column_of_every_form_text_input() -> None:
    assert _uncovered(form_text_inputs(), FORM_INPUTS) == []


def test_it_poisons_the_column_of_every_api_text_input() -> None:
    assert _uncovered(api_text_inputs(), API_INPUTS) == []


# Through the real entry paths ----------------------------------------------------------


def _ballot(partnership: Partnership, manager: User, priorities: list[Priority]) -> str:
    vote = priority_services.vote_open(
        partnership=partnership,
        by=manager,
        title="Priorities",
        method="points",
        candidates=priorities,
        opens_at=timezone.now() - dt.timedelta(hours=1),
        closes_at=timezone.now() + dt.timedelta(days=7),
        anonymity_floor=3,
    )
    return reverse("delivery-view-vote", args=[vote.pk])


def test_it_shows_priorities_proposed_by_form_and_api_as_text(
    partnership_a: Partnership, alice: User, bob: User, alice_client: Client, bob_client: Client
) -> None:
    bob_membership = Membership.objects.get(person=bob)
    attack = f'<i hx-post="/members/{bob_membership.pk}/edit/" hx-trigger="load"></i>{FULL}'
    proposed = bob_client.post(
        reverse("delivery-create-priority", args=[partnership_a.pk]),
        {"title": FULL, "description": attack},
    )
    sent = api_client_for(bob).post(
        f"/partnerships/{partnership_a.pk}/priorities",
        {"title": FULL + " 2", "description": attack},
    )
    assert proposed.status_code == 302
    assert sent.status_code == 201, sent.content
    priorities = list(Priority.objects.filter(partnership=partnership_a))
    assert len(priorities) == 2
    assert all(p.description == attack for p in priorities)

    for url in (
        reverse("delivery-list-priorities", args=[partnership_a.pk]),
        reverse("delivery-view-priority", args=[priorities[0].pk]),
        _ballot(partnership_a, alice, priorities),
    ):
        page = alice_client.get(url)
        findings = check_html(page.content, url)
        assert page.status_code == 200
        assert findings.problems == []
        assert findings.shows_marker


def test_it_shows_statements_of_an_imported_and_an_edited_framework_as_text(
    partnership_a: Partnership, alice: User, dave: User, alice_client: Client
) -> None:
    document = {
        "format": "partnerwell-framework/1",
        "key": "ours",
        "version": 1,
        "title": FULL,
        "source": "Ours",
        "description": FULL,
        "scale": "agreement",
        "areas": [
            {
                "key": "part",
                "title": FULL,
                "principles": [
                    {
                        "key": "principle",
                        "title": FULL,
                        "description": FULL,
                        "statements": [{"key": "s1", "text": FULL}],
                    }
                ],
            }
        ],
    }
    upload = SimpleUploadedFile("ours.yaml", yaml.safe_dump(document).encode(), "text/yaml")
    imported = alice_client.post(
        reverse("healthcheck-import-framework", args=[partnership_a.pk]), {"file": upload}
    )
    assert imported.status_code == 302, imported.content.decode()[-2000:]
    framework = Framework.objects.get(partnership=partnership_a)
    assert Statement.objects.get(framework=framework).text == FULL
    edited = alice_client.post(
        reverse("healthcheck-edit-framework", args=[framework.pk]),
        {"title": FULL, "scale": "agreement", "outline": f"# {FULL}\n## {FULL}\n- {FULL} edited\n"},
    )
    assert edited.status_code == 302, edited.content.decode()[-2000:]
    latest = Framework.objects.filter(partnership=partnership_a).order_by("-pk").first()
    assert latest is not None
    assert Statement.objects.filter(framework=latest, text=f"{FULL} edited").exists()

    link = invite(make_round(partnership_a, latest), dave.memberships.get())
    client = Client()
    for url in (
        reverse("healthcheck-view-framework", args=[latest.pk]),
        reverse("healthcheck-respond-step", args=[link.token, 1]),
    ):
        page = (alice_client if "frameworks" in url else client).get(url)
        findings = check_html(page.content, url)
        assert page.status_code == 200
        assert findings.problems == []
        assert findings.shows_template_syntax
    errors = client.post(reverse("healthcheck-respond-step", args=[link.token, 1]), {"go": "next"})
    assert check_html(errors.content, "errors").problems == []
    assert MARK in errors.content.decode()


def test_it_shows_a_search_term_as_text(partnership_a: Partnership, alice_client: Client) -> None:
    url = reverse("meetings-list-decisions", args=[partnership_a.pk])
    page = alice_client.get(url, {"q": FULL})
    findings = check_html(page.content, url)
    assert page.status_code == 200
    assert findings.problems == []
