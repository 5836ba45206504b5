"""Writing, changing, importing and exporting frameworks through the pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from partnerwell.core.models import Organisation, Partnership, User
from partnerwell.healthcheck.frameworks import load_framework
from partnerwell.healthcheck.models import Framework, Round, Statement
from tests.healthcheck.builders import (
    OUTLINE,
    add_member,
    answer,
    close_and_seal,
    make_round,
    outline_framework,
    page_text,
    statement_keys,
)


def create_url(partnership: Partnership) -> str:
    return reverse("healthcheck-create-framework", args=[partnership.pk])


def import_url(partnership: Partnership) -> str:
    return reverse("healthcheck-import-framework", args=[partnership.pk])


def outline_data(outline: str = OUTLINE, **overrides: Any) -> dict[str, Any]:
    data = {
        "title": "Our own check",
        "description": "What we ask ourselves each spring.",
        "source": "",
        "scale": "agreement",
        "outline": outline,
    }
    data.update(overrides)
    return data


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def upload(text: str | bytes, name: str = "framework.yaml") -> SimpleUploadedFile:
    content = text.encode() if isinstance(text, str) else text
    return SimpleUploadedFile(name, content, content_type="application/yaml")


# Writing a framework as an outline --------------------------------------------------


def test_it_creates_a_framework_from_an_outline(
    alice_client: Client, alice: User, partnership_a: Partnership
) -> None:
    outline = OUTLINE + "- [warning] We avoid hard conversations.\n"

    response = alice_client.post(create_url(partnership_a), outline_data(outline))

    framework = Framework.objects.get(partnership=partnership_a)
    assert response.status_code == 302
    assert response["Location"] == reverse("healthcheck-view-framework", args=[framework.pk])
    assert framework.title == "Our own check"
    assert framework.scope == f"p{partnership_a.pk}"
    assert framework.version == 1
    assert framework.builtin is False
    assert framework.created_by == alice
    assert list(framework.areas.values_list("title", flat=True)) == ["Working together", "Delivery"]
    assert list(framework.principles.values_list("title", flat=True)) == [
        "Trust",
        "Decisions",
        "Results",
    ]
    statements = {s.text: s for s in framework.statements.all()}
    assert set(statements) == {
        "We trust each other.",
        "We share information openly.",
        "Decisions are made jointly.",
        "We deliver what we agree.",
        "We avoid hard conversations.",
    }
    assert statements["We avoid hard conversations."].reverse is True
    assert statements["We avoid hard conversations."].principle.title == "Results"
    assert statements["We trust each other."].reverse is False
    assert {s.scale for s in statements.values()} == {"agreement"}
    assert load_framework(framework.document).key == framework.key


@pytest.mark.parametrize(
    ("outline", "message"),
    [
        ("- A statement first.\n", "Line 1: put a principle (“## ”) before the first statement."),
        (
            "# Part\n\n- No principle yet.\n",
            "Line 3: put a principle (“## ”) before the first statement.",
        ),
        ("## Principle first\n- S.\n", "Line 1: put a part (“# ”) before the first principle."),
        ("# Part\n## P\nJust some words\n", "Line 3: start the line with “# ” for a part"),
        (
            "# Part\n## Lonely\n# Next\n## Q\n- S.\n",
            "Line 2: the principle “Lonely” has no statements.",
        ),
        ("# Empty part\n# Part\n## P\n- S.\n", "Line 1: the part “Empty part” has no principles."),
        ("# Part\n## P\n- [warning]\n", "Line 3: the statement is empty."),
    ],
)
def test_it_explains_outline_mistakes_by_line(
    alice_client: Client, partnership_a: Partnership, outline: str, message: str
) -> None:
    before = Framework.objects.count()

    response = alice_client.post(create_url(partnership_a), outline_data(outline))

    assert response.status_code == 200
    errors = response.context["form"].errors["outline"]
    assert any(message in e for e in errors), errors
    assert "There is a problem" in page_text(response)
    assert Framework.objects.count() == before


def test_it_asks_for_a_title_and_statements(
    alice_client: Client, partnership_a: Partnership
) -> None:
    before = Framework.objects.count()

    response = alice_client.post(create_url(partnership_a), outline_data("", title=""))

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"title", "outline"}
    assert Framework.objects.count() == before


def test_it_does_not_overwrite_a_framework_with_the_same_title(
    alice_client: Client, partnership_a: Partnership
) -> None:
    alice_client.post(create_url(partnership_a), outline_data())
    first = Framework.objects.get(partnership=partnership_a)

    response = alice_client.post(
        create_url(partnership_a), outline_data("# Other\n## Other\n- Something else.\n")
    )

    assert response.status_code == 200
    assert "already" in " ".join(response.context["form"].errors["title"])
    first.refresh_from_db()
    assert Framework.objects.filter(partnership=partnership_a).count() == 1
    assert first.statements.filter(text="We trust each other.").exists()


def test_it_refuses_plain_members_the_framework_forms(
    bob_client: Client, partnership_a: Partnership
) -> None:
    before = Framework.objects.count()

    assert bob_client.get(create_url(partnership_a)).status_code == 403
    assert bob_client.post(create_url(partnership_a), outline_data()).status_code == 403
    assert bob_client.post(import_url(partnership_a), {"file": upload("x")}).status_code == 403
    assert Framework.objects.count() == before


def test_it_shows_a_partnerships_framework_to_its_members_only(
    alice_client: Client,
    bob_client: Client,
    carol_client: Client,
    partnership_a: Partnership,
) -> None:
    alice_client.post(create_url(partnership_a), outline_data())
    framework = Framework.objects.get(partnership=partnership_a)
    url = reverse("healthcheck-view-framework", args=[framework.pk])

    page = bob_client.get(url)
    assert page.status_code == 200
    assert "We share information openly." in page_text(page)
    assert "Our own check" in page_text(bob_client.get(reverse("healthcheck-list-frameworks")))
    # It is offered when Alpha opens a round.
    form = alice_client.get(reverse("healthcheck-create-round", args=[partnership_a.pk]))
    assert framework in form.context["form"].fields["framework"].queryset

    assert carol_client.get(url).status_code == 404
    assert "Our own check" not in page_text(
        carol_client.get(reverse("healthcheck-list-frameworks"))
    )


# Changing a framework ---------------------------------------------------------------------


def test_it_changes_an_unused_framework_in_place(
    alice_client: Client, partnership_a: Partnership
) -> None:
    alice_client.post(create_url(partnership_a), outline_data())
    framework = Framework.objects.get(partnership=partnership_a)
    edit_url = reverse("healthcheck-edit-framework", args=[framework.pk])
    form = alice_client.get(edit_url)
    assert form.status_code == 200
    assert "- We trust each other." in form.context["form"].initial["outline"]

    changed = OUTLINE.replace("We deliver what we agree.", "We deliver on time.")
    response = alice_client.post(edit_url, outline_data(changed, title="Our own check, revised"))

    assert response.status_code == 302
    assert response["Location"] == reverse("healthcheck-view-framework", args=[framework.pk])
    assert Framework.objects.filter(partnership=partnership_a).count() == 1
    framework.refresh_from_db()
    assert framework.version == 1
    assert framework.title == "Our own check, revised"
    texts = set(framework.statements.values_list("text", flat=True))
    assert "We deliver on time." in texts
    assert "We deliver what we agree." not in texts


def test_it_makes_a_new_version_once_a_round_used_it(
    alice_client: Client,
    alice: User,
    partnership_a: Partnership,
) -> None:
    alice_client.post(create_url(partnership_a), outline_data())
    first = Framework.objects.get(partnership=partnership_a)
    round = make_round(partnership_a, first)
    answer(round, alice.memberships.get(), 4)
    first_statements = set(first.statements.values_list("pk", "text"))
    changed = OUTLINE.replace("We deliver what we agree.", "We deliver on time.")

    response = alice_client.post(
        reverse("healthcheck-edit-framework", args=[first.pk]), outline_data(changed)
    )

    second = Framework.objects.get(partnership=partnership_a, version=2)
    assert response.status_code == 302
    assert response["Location"] == reverse("healthcheck-view-framework", args=[second.pk])
    assert any("as a new version" in m for m in messages_of(response))
    assert second.key == first.key
    assert "We deliver on time." in set(second.statements.values_list("text", flat=True))
    round.refresh_from_db()
    first.refresh_from_db()
    assert round.framework_id == first.pk
    assert first.version == 1
    assert set(first.statements.values_list("pk", "text")) == first_statements
    # The framework page links both versions.
    page = page_text(alice_client.get(reverse("healthcheck-view-framework", args=[second.pk])))
    assert "Version 1" in page
    assert "Version 2" in page


def test_it_compares_rounds_of_two_versions_on_their_shared_statements(
    alice_client: Client,
    alice: User,
    partnership_a: Partnership,
    council: Organisation,
) -> None:
    first = outline_framework(partnership_a, title="Our own check")
    now = timezone.now()
    before = make_round(
        partnership_a,
        first,
        title="Last year",
        opens_at=now - dt.timedelta(days=365),
        closes_at=now - dt.timedelta(days=350),
    )
    for _ in range(4):
        answer(before, add_member(partnership_a, council), 2)
    # Version 2 drops one trust statement and rewords the decisions one.
    changed = OUTLINE.replace("- We share information openly.\n", "").replace(
        "Decisions are made jointly.", "Decisions are made together."
    )
    second = outline_framework(partnership_a, outline=changed, title="Our own check")
    assert (second.key, second.version) == (first.key, 2)
    after = make_round(partnership_a, second, title="This year")
    for _ in range(4):
        answer(after, add_member(partnership_a, council), 5)
    close_and_seal(after)

    results = alice_client.get(reverse("healthcheck-view-results", args=[after.pk])).context[
        "results"
    ]

    change = results["change"]
    assert change["previous_round"] == {
        "id": before.pk,
        "title": "Last year",
        "framework_version": 1,
    }
    # Trust and Results share a statement with version 1; Decisions shares none.
    assert [c["title"] for c in change["principles"]] == ["Trust", "Results"]
    assert all(c["difference"] == 75.0 for c in change["principles"])
    assert set(statement_keys(first)) & set(statement_keys(second)) == {
        "We trust each other.",
        "We deliver what we agree.",
    }


def test_it_refuses_to_change_a_built_in_framework(alice_client: Client) -> None:
    pulse = Framework.objects.get(scope="builtin", key="member-pulse")
    document = pulse.document

    response = alice_client.post(
        reverse("healthcheck-edit-framework", args=[pulse.pk]), outline_data()
    )

    assert response.status_code == 302
    assert any("Built-in frameworks cannot be changed" in m for m in messages_of(response))
    pulse.refresh_from_db()
    assert pulse.document == document


def test_it_refuses_plain_members_the_edit_form(
    bob_client: Client, partnership_a: Partnership
) -> None:
    framework = outline_framework(partnership_a)
    url = reverse("healthcheck-edit-framework", args=[framework.pk])

    assert bob_client.get(url).status_code == 403
    assert bob_client.post(url, outline_data("# X\n## Y\n- Z.\n")).status_code == 403
    framework.refresh_from_db()
    assert framework.statements.count() == 4


# Import and export ---------------------------------------------------------------------


def test_it_imports_an_exported_built_in_under_a_new_key(
    alice_client: Client, alice: User, partnership_a: Partnership
) -> None:
    pulse = Framework.objects.get(scope="builtin", key="member-pulse")
    exported = alice_client.get(reverse("healthcheck-export-framework", args=[pulse.pk]))
    assert exported.status_code == 200
    text = exported.content.decode().replace("key: member-pulse", "key: our-pulse", 1)

    response = alice_client.post(import_url(partnership_a), {"file": upload(text, "ours.yaml")})

    imported = Framework.objects.get(scope=f"p{partnership_a.pk}")
    assert response.status_code == 302
    assert response["Location"] == reverse("healthcheck-view-framework", args=[imported.pk])
    assert imported.key == "our-pulse"
    assert imported.partnership == partnership_a
    assert imported.created_by == alice
    assert imported.title == pulse.title
    assert sorted(imported.statements.values_list("key", flat=True)) == sorted(
        pulse.statements.values_list("key", flat=True)
    )
    pulse.refresh_from_db()
    assert pulse.partnership is None
    assert Framework.objects.filter(key="member-pulse").count() == 1


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (
            "format: partnerwell-framework/1\nkey: broken\nversion: 1\ntitle: Broken\n"
            "areas:\n  - key: a\n    title: A\n    principles: []\n",
            "Line 8: the list of principles in area 'a' is empty; add at least one.",
        ),
        ("key: [unclosed\n", "Line 2: this is not valid YAML"),
        ("format: partnerwell-framework/1\nkey: x\n\ttitle: tab\n", "Line 3: this is not valid"),
        (b"\xff\xfe\x00\x00not text", "The file is not UTF-8 text; save it as UTF-8"),
        ("", "The submitted file is empty."),
    ],
)
def test_it_lists_what_is_wrong_with_a_bad_file_and_imports_nothing(
    alice_client: Client, partnership_a: Partnership, content: str | bytes, words: str
) -> None:
    before = Framework.objects.count()

    response = alice_client.post(import_url(partnership_a), {"file": upload(content)})

    assert response.status_code == 200
    text = page_text(response)
    assert words in text
    # Problems inside the file are listed by line under a heading that says so.
    if words.startswith("Line "):
        assert "nothing was imported" in text
    else:
        assert "There is a problem" in text or "nothing was imported" in text
    assert "Traceback" not in text
    assert Framework.objects.count() == before


def test_it_exports_yaml_that_loads_again(
    alice_client: Client, carol_client: Client, partnership_a: Partnership
) -> None:
    alice_client.post(create_url(partnership_a), outline_data())
    framework = Framework.objects.get(partnership=partnership_a)

    exported = alice_client.get(reverse("healthcheck-export-framework", args=[framework.pk]))

    assert exported.status_code == 200
    assert exported["Content-Type"].startswith("application/yaml")
    assert f'filename="{framework.key}-v1.yaml"' in exported["Content-Disposition"]
    spec = load_framework(exported.content)
    assert spec.key == framework.key
    assert spec.title == "Our own check"
    assert [s.text for a in spec.areas for p in a.principles for s in p.statements] == list(
        Statement.objects.filter(framework=framework).values_list("text", flat=True)
    )
    for builtin in Framework.objects.filter(scope="builtin"):
        again = carol_client.get(reverse("healthcheck-export-framework", args=[builtin.pk]))
        assert load_framework(again.content).key == builtin.key
    assert not Round.objects.exists()
