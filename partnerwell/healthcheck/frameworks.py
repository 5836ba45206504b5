"""Framework files: read, check and write the health-check item banks.

A framework is a YAML file in the ``partnerwell-framework/1`` format
(described field by field in ``frameworks/README.md``). The five built-in
frameworks live in ``frameworks/`` at the repository root; custom ones are
imported from the same format.

This module is pure: no Django, no database. :func:`load_framework` reads the
text with ``yaml.compose`` so every value keeps its line number, checks
everything, and either returns a frozen :class:`FrameworkSpec` or raises
:class:`FrameworkFileError` listing every problem it found, each as a sentence
that names the line and says what to change.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from partnerwell.healthcheck.scoring import SCALES

__all__ = [
    "COMPARE_BY",
    "EVIDENCE_INDICATORS",
    "FORMAT",
    "MAX_FILE_BYTES",
    "MAX_STATEMENTS",
    "AreaSpec",
    "FrameworkFileError",
    "FrameworkSpec",
    "LineError",
    "PrincipleSpec",
    "SkillAreaSpec",
    "SkillSpec",
    "StatementSpec",
    "builtin_framework_paths",
    "dump_framework",
    "load_builtin_frameworks",
    "load_framework",
    "load_framework_file",
]

#: The value of the ``format`` field this module reads and writes.
FORMAT = "partnerwell-framework/1"
#: Files larger than this (in bytes of UTF-8) are refused before parsing.
MAX_FILE_BYTES = 1_000_000
#: A framework may hold at most this many statements.
MAX_STATEMENTS = 500
#: At most this many problems are listed; a note says how many more there are.
MAX_REPORTED_ERRORS = 100
#: The scales a statement can use (see partnerwell.healthcheck.scoring.SCALES).
SCALE_KEYS: tuple[str, ...] = tuple(SCALES)
#: The groups a framework may suggest comparing results between.
COMPARE_BY: tuple[str, ...] = ("side", "sector", "organisation")
#: Records that can be shown beside a principle's rating as evidence.
EVIDENCE_INDICATORS: frozenset[str] = frozenset(
    {
        "action_on_time",
        "risks_reviewed",
        "measures_current",
        "decision_maker_attendance",
        "strategic_agenda_share",
        "items_by_side",
        "papers_on_time",
        "meeting_review",
    }
)
#: Levels of the anchored maturity scale.
MATURITY_LEVELS: tuple[int, ...] = (1, 2, 3, 4, 5)

MAX_KEY_LENGTH = 64
MAX_TITLE_LENGTH = 200
MAX_TEXT_LENGTH = 1000
MAX_DESCRIPTION_LENGTH = 10_000

_KEY_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_NULL_TAG = "tag:yaml.org,2002:null"
_STR_TAG = "tag:yaml.org,2002:str"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"


# --------------------------------------------------------------------------
# The parsed framework
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementSpec:
    """One statement (item) people rate.

    ``scale`` and ``anchors`` are always the effective values: a statement that
    does not set its own inherits the framework's. ``anchors`` is None unless
    the scale is maturity.
    """

    key: str
    text: str
    scale: str
    reverse: bool = False
    anchors: dict[int, str] | None = None


@dataclass(frozen=True)
class PrincipleSpec:
    """A principle: the level at which scores, gaps and changes are reported."""

    key: str
    title: str
    description: str
    evidence: tuple[str, ...]
    statements: tuple[StatementSpec, ...]


@dataclass(frozen=True)
class AreaSpec:
    """A group of principles (for example "Behaviours")."""

    key: str
    title: str
    principles: tuple[PrincipleSpec, ...]
    description: str = ""


@dataclass(frozen=True)
class SkillSpec:
    """One skill a skills audit can ask members about."""

    key: str
    title: str


@dataclass(frozen=True)
class SkillAreaSpec:
    """A group of skills offered to the skills audit (for example "Trust")."""

    key: str
    title: str
    description: str
    skills: tuple[SkillSpec, ...]


@dataclass(frozen=True)
class FrameworkSpec:
    """A whole framework, checked and ready to store.

    ``extra`` holds optional sections that scoring does not use, as plain
    data; today that is only ``bottom_lines`` (a mapping with ``guidance`` and
    optionally ``title`` and ``examples``). ``anchors`` is the framework-wide
    maturity anchors, the default for maturity statements and for any custom
    statement a partnership adds later.
    """

    key: str
    version: int
    title: str
    source: str
    description: str
    scale: str
    compare_by: str | None
    areas: tuple[AreaSpec, ...]
    skill_areas: tuple[SkillAreaSpec, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    anchors: dict[int, str] | None = None

    def principles(self) -> Iterator[PrincipleSpec]:
        """Every principle, in file order."""
        for area in self.areas:
            yield from area.principles

    def statements(self) -> Iterator[StatementSpec]:
        """Every statement, in file order."""
        for principle in self.principles():
            yield from principle.statements

    @property
    def bottom_lines(self) -> dict[str, Any] | None:
        """The bottom-lines guidance, when the framework has one."""
        value = self.extra.get("bottom_lines")
        return value if isinstance(value, dict) else None


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class LineError:
    """One problem in a framework file.

    ``message`` is written to follow "Line N: "; ``str()`` gives the whole
    sentence, e.g. "Line 12: the statement key 'gg-1' is used twice (first
    on line 8)." Problems that belong to no line (an empty or oversized file)
    have ``line`` None and read as a sentence on their own.
    """

    line: int | None
    message: str

    def __str__(self) -> str:
        if self.line is None:
            return self.message[:1].upper() + self.message[1:]
        return f"Line {self.line}: {self.message}"


class FrameworkFileError(ValueError):
    """A framework file could not be used; ``errors`` lists every problem, by line.

    Problems without a line come first. Past MAX_REPORTED_ERRORS problems the
    list is cut short and ends with a sentence saying how many were left out.
    """

    def __init__(self, errors: list[LineError], *, filename: str = "framework") -> None:
        ordered = sorted(errors, key=lambda e: -1 if e.line is None else e.line)
        if len(ordered) > MAX_REPORTED_ERRORS:
            more = len(ordered) - MAX_REPORTED_ERRORS
            ordered = [
                *ordered[:MAX_REPORTED_ERRORS],
                LineError(
                    None,
                    f"there are {more:,} more problems after these; "
                    "fix these first and check the file again.",
                ),
            ]
        self.errors: list[LineError] = ordered
        self.filename = filename
        lines = "\n".join(f"  {e}" for e in self.errors)
        count = len(self.errors)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{filename} has {count} {noun}:\n{lines}")


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a set of fields"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag == _NULL_TAG:
        return "empty"
    value = str(node.value)
    if len(value) > 40:
        value = value[:37] + "..."
    return f"'{value}'"


def _join(words: Sequence[str]) -> str:
    return ", ".join(words)


# Hints added to "has no 'x' field" messages, so the reader knows what to write.
_MISSING_HINTS = {
    "format": f"add 'format: {FORMAT}' at the top",
    "key": "add a short key of lowercase letters, digits and hyphens, such as 'shared-purpose'",
    "version": "add 'version: 1' (raise it whenever the wording changes)",
    "title": "add a title",
    "source": "name the document or organisation the framework is based on",
    "description": "add a sentence or two saying what the framework is for",
    "areas": "add a list of areas, each with its principles",
    "principles": "add a list of principles",
    "statements": "add a list of statements people will rate",
    "text": "add the words people will rate",
    "skills": "add a list of skills",
    "guidance": "add the guidance text",
}


class _Checker:
    """Walks the composed YAML tree, collecting every problem it meets."""

    def __init__(self) -> None:
        self.errors: list[LineError] = []
        self._constructor = SafeConstructor()
        # First line each key was seen on, per kind of key.
        self._seen: dict[str, dict[str, int]] = {}
        # Framework-wide defaults, set before the areas are read.
        self._framework_scale: str | None = "agreement"
        self._framework_anchors: dict[int, str] | None = None
        self._framework_anchors_given = False
        self._uses_maturity = False
        self._inherited_maturity_without_anchors = False

    def error(self, at: Node | int | None, message: str) -> None:
        line = at if at is None or isinstance(at, int) else _line(at)
        self.errors.append(LineError(line, message))

    # -- generic shapes ----------------------------------------------------

    def fields(
        self,
        node: Node,
        what: str,
        required: Sequence[str],
        optional: Sequence[str] = (),
    ) -> dict[str, tuple[Node, Node]] | None:
        """The fields of a mapping by name, after checking names and duplicates."""
        if not isinstance(node, MappingNode):
            self.error(node, f"{what} must be a set of fields, but it is {_describe(node)}.")
            return None
        allowed = [*required, *optional]
        found: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.error(key_node, f"{what} has a field name that is not plain text.")
                continue
            name = str(key_node.value)
            if name in found:
                first = _line(found[name][0])
                self.error(
                    key_node, f"the field '{name}' appears twice in {what} (first on line {first})."
                )
                continue
            if name not in allowed:
                self.error(
                    key_node,
                    f"{what} has an unknown field '{name}'; "
                    f"the fields allowed here are {_join(allowed)}.",
                )
                continue
            found[name] = (key_node, value_node)
        for name in required:
            if name not in found:
                hint = _MISSING_HINTS.get(name, "add it")
                self.error(node, f"{what} has no '{name}' field; {hint}.")
        return found

    def items(self, node: Node, what: str) -> list[Node] | None:
        """The entries of a non-empty list."""
        if isinstance(node, ScalarNode) and node.tag == _NULL_TAG:
            self.error(node, f"{what} is empty; add at least one.")
            return None
        if not isinstance(node, SequenceNode):
            self.error(node, f"{what} must be a list, but it is {_describe(node)}.")
            return None
        if not node.value:
            self.error(node, f"{what} is empty; add at least one.")
            return None
        return list(node.value)

    def text(
        self,
        node: Node,
        what: str,
        *,
        max_length: int,
        required: bool = True,
        hint: str = "",
    ) -> str | None:
        """A piece of text; numbers and yes/no written as text are taken literally."""
        if not isinstance(node, ScalarNode):
            self.error(node, f"{what} must be plain text, but it is {_describe(node)}.")
            return None
        # An unquoted `No` or `2024` in a text field is meant as words, so the
        # literal text is kept rather than the boolean or number YAML sees.
        value = "" if node.tag == _NULL_TAG else str(node.value).strip()
        if not value:
            if required:
                suffix = f"; {hint}" if hint else ""
                self.error(node, f"{what} is empty{suffix}.")
            return None
        if len(value) > max_length:
            self.error(
                node,
                f"{what} is {len(value)} characters long; shorten it to {max_length} or fewer.",
            )
            return None
        return value

    def key(self, node: Node, what: str, kind: str | None = None) -> str | None:
        """A key slug; when ``kind`` is given it must be unique among keys of that kind."""
        value = self.text(node, what, max_length=10_000, hint="write a short key")
        if value is None:
            return None
        if not _KEY_RE.fullmatch(value) or len(value) > MAX_KEY_LENGTH:
            shown = value if len(value) <= 40 else value[:37] + "..."
            self.error(
                node,
                f"{what} '{shown}' is not a valid key; use up to {MAX_KEY_LENGTH} lowercase "
                "letters, digits and single hyphens, such as 'shared-purpose'.",
            )
            return None
        if kind is not None:
            seen = self._seen.setdefault(kind, {})
            if value in seen:
                self.error(
                    node,
                    f"the {kind} key '{value}' is used twice (first on line {seen[value]}).",
                )
                return None
            seen[value] = _line(node)
        return value

    def boolean(self, node: Node, what: str) -> bool | None:
        if isinstance(node, ScalarNode) and node.tag == _BOOL_TAG:
            return bool(self._constructor.construct_object(node))
        self.error(node, f"{what} must be true or false, but it is {_describe(node)}.")
        return None

    def integer(self, node: Node, what: str, minimum: int) -> int | None:
        if isinstance(node, ScalarNode) and node.tag == _INT_TAG:
            value = self._constructor.construct_object(node)
            if isinstance(value, int) and value >= minimum:
                return value
        self.error(
            node,
            f"{what} must be a whole number of {minimum} or more, but it is {_describe(node)}.",
        )
        return None

    def choice(self, node: Node, what: str, allowed: Sequence[str]) -> str | None:
        value = self.text(node, what, max_length=100, hint=f"use one of {_join(allowed)}")
        if value is None:
            return None
        if value not in allowed:
            self.error(node, f"{what} must be one of {_join(allowed)}, but it is '{value}'.")
            return None
        return value

    def anchors(self, node: Node, what: str) -> dict[int, str] | None:
        """Anchor texts for exactly the levels 1 to 5."""
        if not isinstance(node, MappingNode):
            self.error(
                node,
                f"{what} must give a text for each level 1 to 5 (lines such as '1: ...'), "
                f"but it is {_describe(node)}.",
            )
            return None
        result: dict[int, str] = {}
        first_line: dict[int, int] = {}
        ok = True
        for key_node, value_node in node.value:
            raw = str(key_node.value).strip() if isinstance(key_node, ScalarNode) else ""
            level = int(raw) if raw in {"1", "2", "3", "4", "5"} else None
            if level is None:
                shown = raw or _describe(key_node)
                self.error(
                    key_node,
                    f"'{shown}' is not a maturity level; {what} must be given for the levels "
                    "1, 2, 3, 4 and 5 only.",
                )
                ok = False
                continue
            if level in first_line:
                self.error(
                    key_node,
                    f"level {level} appears twice in {what} (first on line {first_line[level]}).",
                )
                ok = False
                continue
            first_line[level] = _line(key_node)
            text = self.text(
                value_node,
                f"the anchor text for level {level}",
                max_length=MAX_TEXT_LENGTH,
                hint="describe what this level looks like",
            )
            if text is None:
                ok = False
                continue
            result[level] = text
        missing = [str(level) for level in MATURITY_LEVELS if level not in first_line]
        if missing:
            noun = "level" if len(missing) == 1 else "levels"
            self.error(
                node,
                f"{what} must describe each level from 1 to 5, but {noun} "
                f"{_join(missing)} {'is' if len(missing) == 1 else 'are'} missing.",
            )
            ok = False
        return dict(sorted(result.items())) if ok else None

    # -- the framework -----------------------------------------------------

    def framework(self, root: Node) -> FrameworkSpec | None:
        if not isinstance(root, MappingNode):
            self.error(
                root,
                "a framework file must be a set of fields (format, key, title, areas and so on), "
                f"but this one is {_describe(root)}.",
            )
            return None
        f = self.fields(
            root,
            "the framework",
            required=("format", "key", "version", "title", "source", "description", "areas"),
            optional=("scale", "anchors", "compare_by", "skill_areas", "bottom_lines"),
        )
        assert f is not None

        if "format" in f:
            node = f["format"][1]
            value = self.text(node, "the format", max_length=100, hint=f"write '{FORMAT}'")
            if value is not None and value != FORMAT:
                self.error(
                    node,
                    f"this file says its format is '{value}', but partnerwell reads "
                    f"'{FORMAT}' files; set 'format: {FORMAT}' and check the fields "
                    "against frameworks/README.md.",
                )
        key = self.key(f["key"][1], "the framework key") if "key" in f else None
        version = self.integer(f["version"][1], "the version", 1) if "version" in f else None
        title = (
            self.text(f["title"][1], "the framework title", max_length=MAX_TITLE_LENGTH)
            if "title" in f
            else None
        )
        source = (
            self.text(
                f["source"][1],
                "the source",
                max_length=MAX_TITLE_LENGTH * 2,
                hint="name the document the framework is based on",
            )
            if "source" in f
            else None
        )
        description = (
            self.text(
                f["description"][1], "the framework description", max_length=MAX_DESCRIPTION_LENGTH
            )
            if "description" in f
            else None
        )

        scale: str | None = "agreement"
        scale_node: Node | None = None
        if "scale" in f:
            scale_node = f["scale"][1]
            scale = self.choice(scale_node, "the default scale", SCALE_KEYS)
        anchors: dict[int, str] | None = None
        anchors_node: Node | None = None
        if "anchors" in f:
            anchors_node = f["anchors"][1]
            anchors = self.anchors(anchors_node, "the framework's anchors")
        compare_by: str | None = None
        if "compare_by" in f:
            node = f["compare_by"][1]
            if not (isinstance(node, ScalarNode) and node.tag == _NULL_TAG):
                compare_by = self.choice(node, "compare_by", COMPARE_BY)

        self._framework_scale = scale
        self._framework_anchors = anchors
        self._framework_anchors_given = "anchors" in f
        self._uses_maturity = scale == "maturity"

        areas: list[AreaSpec] = []
        areas_ok = "areas" in f
        if "areas" in f:
            area_nodes = self.items(f["areas"][1], "the list of areas")
            if area_nodes is None:
                areas_ok = False
            else:
                total = _count_statements(area_nodes)
                if total > MAX_STATEMENTS:
                    self.error(
                        f["areas"][0],
                        f"the framework has {total} statements, but a framework may have at most "
                        f"{MAX_STATEMENTS}; split it into smaller frameworks.",
                    )
                for area_node in area_nodes:
                    area = self.area(area_node)
                    if area is None:
                        areas_ok = False
                    else:
                        areas.append(area)

        if self._inherited_maturity_without_anchors and scale_node is not None:
            self.error(
                scale_node,
                "the default scale is maturity, so the framework needs 'anchors' describing "
                "levels 1 to 5 (or every maturity statement needs its own anchors).",
            )
        if anchors_node is not None and not self._uses_maturity:
            self.error(
                anchors_node,
                "the framework has anchors but no statement uses the maturity scale; "
                "remove the anchors or set 'scale: maturity'.",
            )

        skill_areas: list[SkillAreaSpec] = []
        skills_ok = True
        if "skill_areas" in f:
            nodes = self.items(f["skill_areas"][1], "the list of skill areas")
            if nodes is None:
                skills_ok = False
            else:
                for node in nodes:
                    skill_area = self.skill_area(node)
                    if skill_area is None:
                        skills_ok = False
                    else:
                        skill_areas.append(skill_area)

        extra: dict[str, Any] = {}
        if "bottom_lines" in f:
            bottom_lines = self.bottom_lines(f["bottom_lines"][1])
            if bottom_lines is not None:
                extra["bottom_lines"] = bottom_lines

        if (
            self.errors
            or key is None
            or version is None
            or title is None
            or source is None
            or description is None
            or scale is None
            or not areas_ok
            or not skills_ok
        ):
            return None
        return FrameworkSpec(
            key=key,
            version=version,
            title=title,
            source=source,
            description=description,
            scale=scale,
            compare_by=compare_by,
            areas=tuple(areas),
            skill_areas=tuple(skill_areas),
            extra=extra,
            anchors=anchors,
        )

    def area(self, node: Node) -> AreaSpec | None:
        what = _label(node, "area")
        f = self.fields(
            node, what, required=("key", "title", "principles"), optional=("description",)
        )
        if f is None:
            return None
        key = self.key(f["key"][1], "the area key", "area") if "key" in f else None
        if key is not None:
            what = f"area '{key}'"
        title = (
            self.text(f["title"][1], f"the title of {what}", max_length=MAX_TITLE_LENGTH)
            if "title" in f
            else None
        )
        description = ""
        if "description" in f:
            description = (
                self.text(
                    f["description"][1],
                    f"the description of {what}",
                    max_length=MAX_DESCRIPTION_LENGTH,
                    required=False,
                )
                or ""
            )
        principles: list[PrincipleSpec] = []
        ok = "principles" in f
        if "principles" in f:
            nodes = self.items(f["principles"][1], f"the list of principles in {what}")
            if nodes is None:
                ok = False
            else:
                for child in nodes:
                    principle = self.principle(child)
                    if principle is None:
                        ok = False
                    else:
                        principles.append(principle)
        if key is None or title is None or not ok:
            return None
        return AreaSpec(key=key, title=title, principles=tuple(principles), description=description)

    def principle(self, node: Node) -> PrincipleSpec | None:
        what = _label(node, "principle")
        f = self.fields(
            node,
            what,
            required=("key", "title", "statements"),
            optional=("description", "evidence"),
        )
        if f is None:
            return None
        key = self.key(f["key"][1], "the principle key", "principle") if "key" in f else None
        if key is not None:
            what = f"principle '{key}'"
        title = (
            self.text(f["title"][1], f"the title of {what}", max_length=MAX_TITLE_LENGTH)
            if "title" in f
            else None
        )
        description = ""
        if "description" in f:
            description = (
                self.text(
                    f["description"][1],
                    f"the description of {what}",
                    max_length=MAX_DESCRIPTION_LENGTH,
                    required=False,
                )
                or ""
            )
        evidence: list[str] = []
        ok = True
        if "evidence" in f:
            ev = self.evidence(f["evidence"][1], what)
            if ev is None:
                ok = False
            else:
                evidence = ev
        statements: list[StatementSpec] = []
        ok = ok and "statements" in f
        if "statements" in f:
            nodes = self.items(f["statements"][1], f"the list of statements in {what}")
            if nodes is None:
                ok = False
            else:
                for child in nodes:
                    statement = self.statement(child)
                    if statement is None:
                        ok = False
                    else:
                        statements.append(statement)
        if key is None or title is None or not ok:
            return None
        return PrincipleSpec(
            key=key,
            title=title,
            description=description,
            evidence=tuple(evidence),
            statements=tuple(statements),
        )

    def evidence(self, node: Node, what: str) -> list[str] | None:
        if isinstance(node, ScalarNode) and node.tag == _NULL_TAG:
            return []
        if not isinstance(node, SequenceNode):
            self.error(node, f"the evidence of {what} must be a list, but it is {_describe(node)}.")
            return None
        allowed = sorted(EVIDENCE_INDICATORS)
        result: list[str] = []
        first: dict[str, int] = {}
        ok = True
        for item in node.value:
            value = self.text(item, f"an evidence entry of {what}", max_length=100)
            if value is None:
                ok = False
                continue
            if value not in EVIDENCE_INDICATORS:
                self.error(
                    item,
                    f"'{value}' is not an evidence indicator; use one of {_join(allowed)}.",
                )
                ok = False
                continue
            if value in first:
                self.error(
                    item,
                    f"the evidence indicator '{value}' is listed twice for {what} "
                    f"(first on line {first[value]}).",
                )
                ok = False
                continue
            first[value] = _line(item)
            result.append(value)
        return result if ok else None

    def statement(self, node: Node) -> StatementSpec | None:
        what = _label(node, "statement")
        f = self.fields(
            node, what, required=("key", "text"), optional=("reverse", "scale", "anchors")
        )
        if f is None:
            return None
        key = self.key(f["key"][1], "the statement key", "statement") if "key" in f else None
        if key is not None:
            what = f"statement '{key}'"
        text = (
            self.text(
                f["text"][1],
                f"the text of {what}",
                max_length=MAX_TEXT_LENGTH,
                hint="write the words people will rate",
            )
            if "text" in f
            else None
        )
        reverse: bool | None = False
        if "reverse" in f:
            reverse = self.boolean(f["reverse"][1], f"'reverse' in {what}")
        scale = self._framework_scale
        scale_ok = scale is not None
        if "scale" in f:
            scale = self.choice(f["scale"][1], f"the scale of {what}", SCALE_KEYS)
            scale_ok = scale is not None
        anchors: dict[int, str] | None = None
        anchors_ok = True
        if "anchors" in f:
            anchors = self.anchors(f["anchors"][1], f"the anchors of {what}")
            anchors_ok = anchors is not None
            if scale_ok and scale != "maturity":
                self.error(
                    f["anchors"][0],
                    f"{what} has anchors but uses the {scale} scale; anchors belong to the "
                    "maturity scale only, so remove them or set 'scale: maturity'.",
                )
                anchors_ok = False
        if scale == "maturity":
            self._uses_maturity = True
            if anchors is None and "anchors" not in f:
                anchors = self._framework_anchors
                if "scale" in f and not self._framework_anchors_given:
                    self.error(
                        f["scale"][1],
                        f"{what} uses the maturity scale, so it needs 'anchors' describing "
                        "levels 1 to 5, here or at the top of the file.",
                    )
                    anchors_ok = False
                elif anchors is None:
                    if not self._framework_anchors_given:
                        # Reported once, at the framework's scale line.
                        self._inherited_maturity_without_anchors = True
                    anchors_ok = False
        if key is None or text is None or reverse is None or not scale_ok or not anchors_ok:
            return None
        assert scale is not None
        return StatementSpec(key=key, text=text, scale=scale, reverse=reverse, anchors=anchors)

    def skill_area(self, node: Node) -> SkillAreaSpec | None:
        what = _label(node, "skill area")
        f = self.fields(node, what, required=("key", "title", "skills"), optional=("description",))
        if f is None:
            return None
        key = self.key(f["key"][1], "the skill area key", "skill area") if "key" in f else None
        if key is not None:
            what = f"skill area '{key}'"
        title = (
            self.text(f["title"][1], f"the title of {what}", max_length=MAX_TITLE_LENGTH)
            if "title" in f
            else None
        )
        description = ""
        if "description" in f:
            description = (
                self.text(
                    f["description"][1],
                    f"the description of {what}",
                    max_length=MAX_DESCRIPTION_LENGTH,
                    required=False,
                )
                or ""
            )
        skills: list[SkillSpec] = []
        ok = "skills" in f
        if "skills" in f:
            nodes = self.items(f["skills"][1], f"the list of skills in {what}")
            if nodes is None:
                ok = False
            else:
                for child in nodes:
                    sf = self.fields(
                        child, f"the skill starting on line {_line(child)}", ("key", "title")
                    )
                    if sf is None or "key" not in sf or "title" not in sf:
                        ok = False
                        continue
                    skill_key = self.key(sf["key"][1], "the skill key", "skill")
                    skill_title = self.text(
                        sf["title"][1], "the title of the skill", max_length=MAX_TITLE_LENGTH
                    )
                    if skill_key is None or skill_title is None:
                        ok = False
                        continue
                    skills.append(SkillSpec(skill_key, skill_title))
        if key is None or title is None or not ok:
            return None
        return SkillAreaSpec(key=key, title=title, description=description, skills=tuple(skills))

    def bottom_lines(self, node: Node) -> dict[str, Any] | None:
        what = "bottom_lines"
        f = self.fields(node, what, required=("guidance",), optional=("title", "examples"))
        if f is None:
            return None
        result: dict[str, Any] = {}
        ok = True
        if "title" in f:
            title = self.text(
                f["title"][1], "the title of bottom_lines", max_length=MAX_TITLE_LENGTH
            )
            ok = ok and title is not None
            result["title"] = title
        if "guidance" in f:
            guidance = self.text(
                f["guidance"][1], "the guidance of bottom_lines", max_length=MAX_DESCRIPTION_LENGTH
            )
            ok = ok and guidance is not None
            result["guidance"] = guidance
        if "examples" in f:
            nodes = self.items(f["examples"][1], "the list of examples in bottom_lines")
            examples: list[str] = []
            if nodes is None:
                ok = False
            else:
                for item in nodes:
                    example = self.text(item, "an example bottom line", max_length=MAX_TEXT_LENGTH)
                    if example is None:
                        ok = False
                    else:
                        examples.append(example)
            result["examples"] = examples
        return result if ok and "guidance" in f else None


def _label(node: Node, kind: str) -> str:
    """How messages name a mapping: by its key when it has a usable one, else by its line."""
    for key_node in _field_nodes(node, "key"):
        if isinstance(key_node, ScalarNode) and _KEY_RE.fullmatch(str(key_node.value).strip()):
            return f"{kind} '{str(key_node.value).strip()}'"
    return f"the {kind} starting on line {_line(node)}"


def _field_nodes(node: Node, name: str) -> list[Node]:
    if not isinstance(node, MappingNode):
        return []
    return [v for k, v in node.value if isinstance(k, ScalarNode) and k.value == name]


def _list_nodes(nodes: list[Node]) -> list[Node]:
    return [item for n in nodes if isinstance(n, SequenceNode) for item in n.value]


def _count_statements(area_nodes: list[Node]) -> int:
    """Statements in the file as written, before any of them is checked."""
    total = 0
    for area in area_nodes:
        for principle in _list_nodes(_field_nodes(area, "principles")):
            total += len(_list_nodes(_field_nodes(principle, "statements")))
    return total


class _TooDeepError(Exception):
    def __init__(self, line: int | None) -> None:
        super().__init__(line)
        self.line = line


#: Brackets ([ or {) may nest this deep; framework files need two levels at most.
MAX_FLOW_DEPTH = 20
#: Indented blocks may nest this deep; framework files need about eight.
MAX_BLOCK_DEPTH = 40


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses absurd nesting before it costs time.

    PyYAML's scanner does work proportional to the bracket depth for every
    token, so a megabyte of '[' would take hours to reject, and a megabyte of
    nested '- ' half a minute. Stopping at a depth no framework needs keeps
    every file, good or bad, quick to read.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        # (line, anchor) of every alias met while composing.
        self.aliases: list[tuple[int | None, str]] = []

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        # An alias (*name) reuses another part of the tree, so a small file could
        # stand for an enormous one; note it and put an empty value in its place.
        if self.check_event(yaml.AliasEvent):
            event = self.get_event()
            mark = event.start_mark
            self.aliases.append((None if mark is None else int(mark.line) + 1, event.anchor))
            return ScalarNode(_NULL_TAG, "", event.start_mark, event.end_mark)
        return super().compose_node(parent, index)

    def _too_deep(self) -> _TooDeepError:
        mark = self.get_mark()
        return _TooDeepError(None if mark is None else int(mark.line) + 1)

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        if self.flow_level >= MAX_FLOW_DEPTH:
            raise self._too_deep()
        super().fetch_flow_collection_start(TokenClass)

    def add_indent(self, column: int) -> bool:
        if len(self.indents) >= MAX_BLOCK_DEPTH:
            raise self._too_deep()
        return bool(super().add_indent(column))


def _yaml_error(exc: yaml.YAMLError, text: str) -> LineError:
    """Turn a PyYAML exception into a sentence with a line number."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = None if mark is None else int(mark.line) + 1
        problem = exc.problem or exc.context or "unreadable YAML"
        if "single document" in f"{exc.context} {exc.problem}":
            return LineError(
                line,
                "the file holds more than one YAML document (separated by '---'); "
                "a framework file holds exactly one.",
            )
        return LineError(
            line,
            f"this is not valid YAML ({problem}). Check the indentation (spaces, not tabs) "
            "and put any text that contains ': ' or starts with a symbol in quotes.",
        )
    if isinstance(exc, yaml.reader.ReaderError):
        line = text[: exc.position].count("\n") + 1
        char = exc.character
        code = ord(char) if isinstance(char, str) and len(char) == 1 else char
        shown = f"U+{code:04X}" if isinstance(code, int) else repr(code)
        return LineError(
            line,
            f"the file contains a control character YAML does not allow ({shown}); remove it.",
        )
    return LineError(None, f"the file is not valid YAML ({exc}).")


def load_framework(text: str | bytes, *, filename: str = "framework") -> FrameworkSpec:
    """Read and check a framework file.

    Returns a :class:`FrameworkSpec`, or raises :class:`FrameworkFileError`
    with every problem found (not just the first), each tied to its line.
    ``text`` may be bytes, which must be UTF-8. ``filename`` is only used in
    the exception's message.
    """

    def fail(errors: list[LineError]) -> FrameworkFileError:
        return FrameworkFileError(errors, filename=filename)

    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_FILE_BYTES:
        raise fail(
            [
                LineError(
                    None,
                    f"the file is {size:,} bytes, larger than the {MAX_FILE_BYTES:,} bytes "
                    "allowed for a framework file; split it into smaller frameworks.",
                )
            ]
        )
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise fail(
                [LineError(None, "the file is not UTF-8 text; save it as UTF-8 and try again.")]
            ) from None
    text = text.removeprefix("\ufeff")

    aliases: list[tuple[int | None, str]] = []
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
        finally:
            aliases = loader.aliases
            loader.dispose()
    except yaml.YAMLError as exc:
        raise fail([_yaml_error(exc, text)]) from None
    except _TooDeepError as exc:
        message = (
            "the file is nested far deeper than a framework file needs; "
            "check the indentation and brackets on this line."
        )
        raise fail([LineError(exc.line, message)]) from None
    except RecursionError:
        raise fail(
            [LineError(None, "the file is nested too deeply to be a framework file.")]
        ) from None
    if aliases:
        raise fail(
            [
                LineError(
                    line,
                    f"the alias '*{anchor}' repeats another part of the file; "
                    "framework files do not allow aliases, so write the value out in full.",
                )
                for line, anchor in aliases
            ]
        )
    if root is None:
        raise fail(
            [
                LineError(
                    None,
                    "the file is empty; a framework file needs at least format, key, version, "
                    "title, source, description and areas.",
                )
            ]
        )
    checker = _Checker()
    spec = checker.framework(root)
    if checker.errors or spec is None:
        raise fail(checker.errors or [LineError(None, "the framework could not be read.")])
    return spec


def load_framework_file(path: Path | str) -> FrameworkSpec:
    """Read and check a framework file from disk (errors name the file)."""
    p = Path(path)
    return load_framework(p.read_bytes(), filename=p.name)


def builtin_framework_paths() -> list[Path]:
    """The built-in framework files in ``frameworks/`` at the repository root, sorted."""
    folder = Path(__file__).resolve().parents[2] / "frameworks"
    return sorted(folder.glob("*.yaml"))


def load_builtin_frameworks() -> list[FrameworkSpec]:
    """Every built-in framework, read and checked."""
    return [load_framework_file(p) for p in builtin_framework_paths()]


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """A SafeDumper that indents lists under their field and writes multi-line text as blocks."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Block style is only a preference: the emitter falls back to quotes when needed.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar(_STR_TAG, value, style=style)


_Dumper.add_representer(str, _represent_str)


def _statement_data(s: StatementSpec, spec: FrameworkSpec) -> dict[str, Any]:
    data: dict[str, Any] = {"key": s.key, "text": s.text}
    if s.reverse:
        data["reverse"] = True
    if s.scale != spec.scale:
        data["scale"] = s.scale
    if s.anchors is not None and s.anchors != spec.anchors:
        data["anchors"] = dict(s.anchors)
    return data


def dump_framework(spec: FrameworkSpec) -> str:
    """Write a framework in the file format; ``load_framework(dump_framework(x)) == x``.

    Statements only carry ``scale``, ``anchors`` and ``reverse`` when they
    differ from the framework's defaults, as a person would write them.
    """
    data: dict[str, Any] = {
        "format": FORMAT,
        "key": spec.key,
        "version": spec.version,
        "title": spec.title,
        "source": spec.source,
        "description": spec.description,
        "scale": spec.scale,
    }
    if spec.anchors is not None:
        data["anchors"] = dict(spec.anchors)
    if spec.compare_by is not None:
        data["compare_by"] = spec.compare_by
    areas = []
    for area in spec.areas:
        area_data: dict[str, Any] = {"key": area.key, "title": area.title}
        if area.description:
            area_data["description"] = area.description
        principles = []
        for p in area.principles:
            p_data: dict[str, Any] = {"key": p.key, "title": p.title}
            if p.description:
                p_data["description"] = p.description
            if p.evidence:
                p_data["evidence"] = list(p.evidence)
            p_data["statements"] = [_statement_data(s, spec) for s in p.statements]
            principles.append(p_data)
        area_data["principles"] = principles
        areas.append(area_data)
    data["areas"] = areas
    if spec.skill_areas:
        data["skill_areas"] = [
            {
                "key": sa.key,
                "title": sa.title,
                **({"description": sa.description} if sa.description else {}),
                "skills": [{"key": s.key, "title": s.title} for s in sa.skills],
            }
            for sa in spec.skill_areas
        ]
    for name, value in spec.extra.items():
        data[name] = value
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096, indent=2
    )
