"""Tests for partnerwell.healthcheck.frameworks: the built-in files and the loader's errors."""

from __future__ import annotations

import dataclasses
import time

import pytest

from partnerwell.healthcheck.frameworks import (
    EVIDENCE_INDICATORS,
    FORMAT,
    MAX_FILE_BYTES,
    FrameworkFileError,
    FrameworkSpec,
    LineError,
    builtin_framework_paths,
    dump_framework,
    load_builtin_frameworks,
    load_framework,
    load_framework_file,
)

BUILTIN_KEYS = {
    "good-governance",
    "partnership-ingredients",
    "model-social-partnership",
    "peer-leadership",
    "member-pulse",
}

# A small valid framework. Line numbers, for the tests below:
#  1 format            7 areas:             13 statements:
#  2 key               8 - key: only-area   14 - key: s-1
#  3 version           9   title            15   text
#  4 title            10   principles:      16 - key: s-2
#  5 source           11   - key: only-...  17   text
#  6 description      12     title          18   reverse
TINY = """\
format: partnerwell-framework/1
key: tiny
version: 1
title: Tiny framework
source: A test
description: Used by the tests.
areas:
  - key: only-area
    title: Only area
    principles:
      - key: only-principle
        title: Only principle
        statements:
          - key: s-1
            text: We get on.
          - key: s-2
            text: We argue.
            reverse: true
"""


def builtin(key: str) -> FrameworkSpec:
    return {spec.key: spec for spec in load_builtin_frameworks()}[key]


def errors_of(text: str | bytes) -> list[str]:
    with pytest.raises(FrameworkFileError) as caught:
        load_framework(text, filename="test.yaml")
    return [str(e) for e in caught.value.errors]


def tiny_with(old: str, new: str) -> str:
    assert old in TINY
    return TINY.replace(old, new, 1)


# --------------------------------------------------------------------------
# The built-in frameworks
# --------------------------------------------------------------------------


def test_it_ships_the_five_builtin_frameworks() -> None:
    paths = builtin_framework_paths()
    assert {p.stem for p in paths} == BUILTIN_KEYS
    for path in paths:
        spec = load_framework_file(path)
        assert spec.key == path.stem
        assert spec.version == 1
        assert spec.source and spec.description and spec.title


@pytest.mark.parametrize("key", sorted(BUILTIN_KEYS))
def test_it_round_trips_each_builtin_through_dump_and_load(key: str) -> None:
    spec = builtin(key)
    text = dump_framework(spec)
    assert text.startswith(f"format: {FORMAT}\n")
    assert load_framework(text) == spec


def test_it_gives_good_governance_four_areas_and_fourteen_principles() -> None:
    spec = builtin("good-governance")
    assert [a.title for a in spec.areas] == [
        "Behaviours",
        "Processes",
        "Performance measurement and management",
        "Use of resources",
    ]
    assert [len(a.principles) for a in spec.areas] == [2, 6, 3, 3]
    statements = list(spec.statements())
    assert 45 <= len(statements) <= 55
    assert {s.scale for s in statements} == {"agreement"}
    # Every principle has signs of health and warning signs (reverse-scored).
    for principle in spec.principles():
        kinds = {s.reverse for s in principle.statements}
        assert kinds == {True, False}, principle.key


def test_it_gives_partnership_ingredients_thirteen_yes_no_items_and_three_skill_areas() -> None:
    spec = builtin("partnership-ingredients")
    statements = list(spec.statements())
    assert len(statements) == 13
    assert {s.scale for s in statements} == {"yes_no"}
    assert [a.key for a in spec.skill_areas] == ["leadership", "trust", "learning-and-review"]
    assert all(len(area.skills) >= 3 for area in spec.skill_areas)


def test_it_gives_model_social_partnership_nine_themes_compared_by_side() -> None:
    spec = builtin("model-social-partnership")
    principles = list(spec.principles())
    assert {p.key for p in principles} == {
        "communications",
        "resources",
        "behaviours-and-culture",
        "processes-and-organisation",
        "clear-vision",
        "membership-skills-accountability",
        "delivering",
        "joint-agenda-setting",
        "improvement-and-review",
    }
    assert all(3 <= len(p.statements) <= 5 for p in principles)
    assert {s.scale for s in spec.statements()} == {"agreement"}
    assert spec.compare_by == "side"


def test_it_gives_peer_leadership_six_anchored_maturity_criteria() -> None:
    spec = builtin("peer-leadership")
    statements = list(spec.statements())
    assert len(statements) == 6
    for s in statements:
        assert s.scale == "maturity"
        assert s.anchors is not None
        assert sorted(s.anchors) == [1, 2, 3, 4, 5]
        assert all(text.strip() for text in s.anchors.values())
    # Framework-wide anchors serve the bottom lines a partnership adds later.
    assert spec.anchors is not None and sorted(spec.anchors) == [1, 2, 3, 4, 5]
    assert spec.bottom_lines is not None
    assert "custom statement" in spec.bottom_lines["guidance"]


def test_it_gives_the_member_pulse_eight_statements_and_one_overall_rating() -> None:
    statements = list(builtin("member-pulse").statements())
    agreement = [s for s in statements if s.scale == "agreement"]
    zero_ten = [s for s in statements if s.scale == "zero_ten"]
    assert 7 <= len(agreement) <= 9
    assert len(zero_ten) == 1
    assert len(statements) == len(agreement) + 1


def test_it_uses_only_known_evidence_indicators_in_builtins() -> None:
    used = {e for spec in load_builtin_frameworks() for p in spec.principles() for e in p.evidence}
    assert used
    assert used <= EVIDENCE_INDICATORS


def test_it_keeps_statement_keys_unique_across_all_builtins() -> None:
    keys = [s.key for spec in load_builtin_frameworks() for s in spec.statements()]
    assert len(keys) == len(set(keys))


# --------------------------------------------------------------------------
# Loading and dumping
# --------------------------------------------------------------------------


def test_it_loads_a_small_framework_with_defaults_filled_in() -> None:
    spec = load_framework(TINY)
    assert spec.scale == "agreement"
    assert spec.compare_by is None
    assert spec.skill_areas == ()
    assert spec.extra == {}
    [area] = spec.areas
    [principle] = area.principles
    assert principle.description == ""
    assert principle.evidence == ()
    assert [(s.key, s.text, s.scale, s.reverse, s.anchors) for s in spec.statements()] == [
        ("s-1", "We get on.", "agreement", False, None),
        ("s-2", "We argue.", "agreement", True, None),
    ]


def test_it_inherits_framework_anchors_for_maturity_statements() -> None:
    text = tiny_with(
        "areas:\n",
        "scale: maturity\nanchors: {1: one, 2: two, 3: three, 4: four, 5: five}\nareas:\n",
    )
    spec = load_framework(text)
    assert all(
        s.anchors == {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}
        for s in spec.statements()
    )
    assert load_framework(dump_framework(spec)) == spec
    # The dump states the anchors once, at the top, as a person would.
    assert dump_framework(spec).count("three") == 1


def test_it_round_trips_awkward_text() -> None:
    spec = load_framework(TINY)
    awkward = dataclasses.replace(
        spec,
        description="Two lines:\nthe second has a colon: here",
        title="No",
        source="2024",
        compare_by="organisation",
    )
    text = dump_framework(awkward)
    assert load_framework(text) == awkward


def test_it_reads_unquoted_yes_and_numbers_in_text_fields_as_words() -> None:
    spec = load_framework(tiny_with("title: Tiny framework", "title: No"))
    assert spec.title == "No"


def test_it_accepts_utf8_bytes() -> None:
    spec = load_framework(tiny_with("We get on.", "We get on at the café.").encode("utf-8"))
    assert next(spec.statements()).text == "We get on at the café."


# --------------------------------------------------------------------------
# Errors, each with its line
# --------------------------------------------------------------------------


def test_it_reports_a_duplicate_statement_key_with_both_lines() -> None:
    assert errors_of(tiny_with("key: s-2", "key: s-1")) == [
        "Line 16: the statement key 's-1' is used twice (first on line 14)."
    ]


def test_it_reports_a_yaml_syntax_error_with_its_line() -> None:
    text = tiny_with("text: We get on.", "text: [We get on.")
    [error] = errors_of(text)
    assert error.startswith("Line 16: this is not valid YAML")
    assert "indentation" in error


def test_it_reports_tab_indentation() -> None:
    [error] = errors_of(tiny_with("    title: Only area", "\ttitle: Only area"))
    assert error.startswith("Line 9: this is not valid YAML")


def test_it_reports_an_empty_file() -> None:
    [error] = errors_of("")
    assert error.startswith("The file is empty")


def test_it_reports_a_file_that_is_not_a_mapping() -> None:
    assert errors_of("- just\n- a list\n") == [
        "Line 1: a framework file must be a set of fields (format, key, title, areas and so on), "
        "but this one is a list."
    ]


def test_it_reports_a_wrong_format() -> None:
    [error] = errors_of(tiny_with(FORMAT, "partnerwell-framework/2"))
    assert error.startswith("Line 1: this file says its format is 'partnerwell-framework/2'")


def test_it_reports_missing_required_fields_at_the_start_of_their_mapping() -> None:
    text = TINY.replace("title: Tiny framework\n", "").replace("source: A test\n", "")
    assert errors_of(text) == [
        "Line 1: the framework has no 'title' field; add a title.",
        "Line 1: the framework has no 'source' field; "
        "name the document or organisation the framework is based on.",
    ]


def test_it_reports_an_empty_required_field() -> None:
    assert errors_of(tiny_with("text: We get on.", 'text: ""')) == [
        "Line 15: the text of statement 's-1' is empty; write the words people will rate."
    ]
    assert errors_of(tiny_with("title: Only principle", "title:")) == [
        "Line 12: the title of principle 'only-principle' is empty."
    ]


def test_it_reports_a_bad_key() -> None:
    [error] = errors_of(tiny_with("key: only-area", "key: Only Area"))
    assert error.startswith("Line 8: the area key 'Only Area' is not a valid key; use up to 64")


def test_it_reports_duplicate_principle_keys_across_areas() -> None:
    second_area = (
        "  - key: second-area\n"  # line 19
        "    title: Second area\n"
        "    principles:\n"
        "      - key: only-principle\n"  # line 22
        "        title: Again\n"
        "        statements:\n"
        "          - key: s-3\n"
        "            text: Three.\n"
    )
    assert errors_of(TINY + second_area) == [
        "Line 22: the principle key 'only-principle' is used twice (first on line 11)."
    ]


def test_it_reports_a_field_given_twice() -> None:
    assert errors_of(tiny_with("title: Only area\n", "title: Only area\n    title: Again\n")) == [
        "Line 10: the field 'title' appears twice in area 'only-area' (first on line 9)."
    ]


def test_it_reports_an_unknown_scale() -> None:
    assert errors_of(tiny_with("areas:\n", "scale: likert\nareas:\n")) == [
        "Line 7: the default scale must be one of agreement, yes_no, zero_ten, maturity, "
        "but it is 'likert'."
    ]


def test_it_reports_a_maturity_default_without_anchors() -> None:
    assert errors_of(tiny_with("areas:\n", "scale: maturity\nareas:\n")) == [
        "Line 7: the default scale is maturity, so the framework needs 'anchors' describing "
        "levels 1 to 5 (or every maturity statement needs its own anchors)."
    ]


def test_it_reports_a_maturity_statement_without_anchors() -> None:
    assert errors_of(tiny_with("reverse: true", "scale: maturity")) == [
        "Line 18: statement 's-2' uses the maturity scale, so it needs 'anchors' describing "
        "levels 1 to 5, here or at the top of the file."
    ]


def test_it_reports_anchors_that_are_not_exactly_one_to_five() -> None:
    text = tiny_with(
        "reverse: true",
        "scale: maturity\n"  # line 18
        "            anchors:\n"  # line 19
        "              1: one\n"
        "              2: two\n"
        "              3: three\n"
        "              4: four\n"
        "              6: six\n",  # line 24
    )
    assert errors_of(text) == [
        "Line 20: the anchors of statement 's-2' must describe each level from 1 to 5, "
        "but level 5 is missing.",
        "Line 24: '6' is not a maturity level; the anchors of statement 's-2' must be given "
        "for the levels 1, 2, 3, 4 and 5 only.",
    ]


def test_it_reports_anchors_on_a_statement_that_is_not_maturity() -> None:
    text = tiny_with("reverse: true", "anchors: {1: a, 2: b, 3: c, 4: d, 5: e}")
    assert errors_of(text) == [
        "Line 18: statement 's-2' has anchors but uses the agreement scale; anchors belong to "
        "the maturity scale only, so remove them or set 'scale: maturity'."
    ]


@pytest.mark.parametrize("value", ["maybe", "1", '"true"', "[true]"])
def test_it_reports_a_reverse_that_is_not_true_or_false(value: str) -> None:
    [error] = errors_of(tiny_with("reverse: true", f"reverse: {value}"))
    assert error.startswith(
        "Line 18: 'reverse' in statement 's-2' must be true or false, but it is"
    )


def test_it_reports_an_unknown_evidence_indicator() -> None:
    text = tiny_with("        statements:", "        evidence: [attendance]\n        statements:")
    [error] = errors_of(text)
    assert error.startswith("Line 13: 'attendance' is not an evidence indicator; use one of ")
    assert "action_on_time" in error


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            TINY[TINY.index("areas:") :],
            "areas: []\n",
            "Line 7: the list of areas is empty; add at least one.",
        ),
        (
            TINY[TINY.index("    principles:") :],
            "    principles: []\n",
            "Line 10: the list of principles in area 'only-area' is empty; add at least one.",
        ),
        (
            TINY[TINY.index("        statements:") :],
            "        statements: []\n",
            "Line 13: the list of statements in principle 'only-principle' is empty; "
            "add at least one.",
        ),
    ],
)
def test_it_reports_empty_lists(old: str, new: str, expected: str) -> None:
    assert errors_of(tiny_with(old, new)) == [expected]


def test_it_reports_unknown_top_level_fields_and_lists_the_allowed_ones() -> None:
    assert errors_of(tiny_with("areas:\n", "colour: blue\nareas:\n")) == [
        "Line 7: the framework has an unknown field 'colour'; the fields allowed here are "
        "format, key, version, title, source, description, areas, scale, anchors, compare_by, "
        "skill_areas, bottom_lines."
    ]


def test_it_reports_an_unknown_statement_field() -> None:
    assert errors_of(tiny_with("reverse: true", "revers: true")) == [
        "Line 18: statement 's-2' has an unknown field 'revers'; "
        "the fields allowed here are key, text, reverse, scale, anchors."
    ]


@pytest.mark.parametrize("value", ["0", "one", "1.5", "true"])
def test_it_reports_a_bad_version(value: str) -> None:
    [error] = errors_of(tiny_with("version: 1", f"version: {value}"))
    assert error.startswith("Line 3: the version must be a whole number of 1 or more")


def test_it_refuses_a_file_larger_than_one_megabyte() -> None:
    text = TINY + "#" * MAX_FILE_BYTES
    [error] = errors_of(text)
    assert error.startswith("The file is ")
    assert "larger than the 1,000,000 bytes" in error


def test_it_refuses_more_than_500_statements() -> None:
    many = "".join(
        f"          - key: extra-{i}\n            text: Statement {i}.\n" for i in range(499)
    )
    assert errors_of(TINY + many) == [
        "Line 7: the framework has 501 statements, but a framework may have at most 500; "
        "split it into smaller frameworks."
    ]


def test_it_accepts_exactly_500_statements() -> None:
    many = "".join(
        f"          - key: extra-{i}\n            text: Statement {i}.\n" for i in range(498)
    )
    assert len(list(load_framework(TINY + many).statements())) == 500


def test_it_refuses_yaml_aliases() -> None:
    text = tiny_with("text: We get on.", "text: &t We get on.").replace(
        "text: We argue.", "text: *t"
    )
    assert errors_of(text) == [
        "Line 17: the alias '*t' repeats another part of the file; framework files do not allow "
        "aliases, so write the value out in full."
    ]


def test_it_refuses_several_documents_in_one_file() -> None:
    [error] = errors_of(TINY + "---\nkey: other\n")
    assert error.startswith("Line 19: the file holds more than one YAML document")


def test_it_refuses_bytes_that_are_not_utf8() -> None:
    assert errors_of(TINY.encode("utf-16")) == [
        "The file is not UTF-8 text; save it as UTF-8 and try again."
    ]


def test_it_collects_every_problem_in_line_order() -> None:
    text = (
        TINY.replace("version: 1", "version: one")
        .replace("key: only-area", "key: Only_Area")
        .replace("key: s-2", "key: s-1")
        .replace("reverse: true", "reverse: sometimes")
    )
    errors = errors_of(text)
    assert [e.split(":")[0] for e in errors] == ["Line 3", "Line 8", "Line 16", "Line 18"]
    assert "used twice (first on line 14)" in errors[2]


def test_it_names_the_file_in_the_exception_message() -> None:
    with pytest.raises(FrameworkFileError) as caught:
        load_framework("- a list\n", filename="custom.yaml")
    assert str(caught.value).startswith("custom.yaml has 1 problem:\n  Line 1: ")
    assert caught.value.filename == "custom.yaml"


def test_it_formats_line_errors_as_sentences() -> None:
    assert str(LineError(12, "the thing is wrong.")) == "Line 12: the thing is wrong."
    assert str(LineError(None, "the file is empty.")) == "The file is empty."


def test_it_reports_skill_area_problems() -> None:
    text = TINY + (
        "skill_areas:\n"  # line 19
        "  - key: trust\n"
        "    title: Trust\n"
        "    skills:\n"
        "      - key: listening\n"  # line 23
        "        title: Listening\n"
        "      - key: listening\n"  # line 25
        "        title: Listening again\n"
    )
    assert errors_of(text) == [
        "Line 25: the skill key 'listening' is used twice (first on line 23)."
    ]


def test_it_reports_an_area_that_is_not_a_set_of_fields() -> None:
    assert errors_of(tiny_with("  - key: only-area", "  - just text\n  - key: only-area")) == [
        "Line 8: the area starting on line 8 must be a set of fields, but it is 'just text'."
    ]


def test_it_reports_a_field_left_without_a_value() -> None:
    text = TINY[: TINY.index("areas:")] + "areas:\n"
    assert errors_of(text) == ["Line 7: the list of areas is empty; add at least one."]


def test_it_reports_text_given_as_a_list() -> None:
    assert errors_of(tiny_with("text: We get on.", "text: [We, get, on]")) == [
        "Line 15: the text of statement 's-1' must be plain text, but it is a list."
    ]


def test_it_reports_a_control_character_with_its_line() -> None:
    assert errors_of(tiny_with("We argue.", "We\x07 argue.")) == [
        "Line 17: the file contains a control character YAML does not allow (U+0007); remove it."
    ]


def test_it_refuses_absurdly_nested_brackets_quickly() -> None:
    # PyYAML would spend hours scanning a megabyte of "["; the loader stops at depth 20.
    started = time.perf_counter()
    assert errors_of("key:\n  " + "[" * 900_000) == [
        "Line 2: the file is nested far deeper than a framework file needs; "
        "check the indentation and brackets on this line."
    ]
    assert time.perf_counter() - started < 5


def test_it_refuses_absurdly_nested_blocks_quickly() -> None:
    # Half a million levels of "- - - ...": PyYAML alone would take half a minute.
    started = time.perf_counter()
    assert errors_of("- " * 499_000 + "x\n") == [
        "Line 1: the file is nested far deeper than a framework file needs; "
        "check the indentation and brackets on this line."
    ]
    assert time.perf_counter() - started < 5


def test_it_lists_at_most_a_hundred_problems() -> None:
    junk = "".join(f"junk-{i}: {i}\n" for i in range(150))
    errors = errors_of(TINY + junk)
    assert len(errors) == 101
    assert errors[0].startswith("Line 19: the framework has an unknown field 'junk-0'")
    assert errors[-1] == (
        "There are 50 more problems after these; fix these first and check the file again."
    )
