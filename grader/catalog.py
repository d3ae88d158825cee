"""The exercise catalog: YAML files -> validated specs -> versioned database rows.

Errors name the file, the line and the field, in an instructor's words. Import is atomic: all
files are validated first and written in one transaction, so one bad file imports nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from grader.kinds.registry import kind_names
from grader.kinds.spec import ExerciseSpec

MAX_FILE_BYTES = 1_000_000
Location = tuple[str | int, ...]


class CatalogLoader(yaml.SafeLoader):
    """PyYAML's safe loader, reading ``1e-6`` as a float (YAML 1.2) as instructors expect."""


CatalogLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def load_yaml(source: str) -> Any:
    """Return the data of a YAML document read with ``CatalogLoader`` (safe: no tags run)."""
    return yaml.load(source, Loader=CatalogLoader)  # a SafeLoader subclass


@dataclass(frozen=True)
class SpecIssue:
    """One problem in one exercise file."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class CatalogError(Exception):
    """Raised when one or more exercise files are invalid; ``issues`` lists every problem."""

    def __init__(self, issues: list[SpecIssue]) -> None:
        super().__init__("\n".join(str(issue) for issue in issues))
        self.issues = issues


@dataclass(frozen=True)
class LoadedExercise:
    """A validated exercise file: the spec, its source text and the hash of that text."""

    path: str
    spec: ExerciseSpec
    source: str
    content_hash: str


def field_name(location: Location) -> str:
    """Return ``('parts', 2, 'answer')`` as ``parts[2].answer``."""
    text = ""
    for item in location:
        text += f"[{item}]" if isinstance(item, int) else (f".{item}" if text else str(item))
    return text


class _LineMap:
    """Line numbers of the values in a YAML document, looked up by a validation location."""

    def __init__(self, root: yaml.Node | None) -> None:
        self.root = root

    def line(self, location: Location) -> int | None:
        """Return the 1-based line of the deepest node ``location`` reaches (tags skipped)."""
        node = self.root
        if node is None:
            return None
        best = node.start_mark.line + 1
        for item in location:
            child = self._child(node, item)
            if child is None:
                continue  # a union tag or a missing key: stay at the parent
            node = child
            best = node.start_mark.line + 1
        return best

    @staticmethod
    def _child(node: yaml.Node, item: str | int) -> yaml.Node | None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(item):
                    return value
        elif isinstance(node, yaml.SequenceNode) and isinstance(item, int):
            if 0 <= item < len(node.value):
                return node.value[item]
        return None


def _check_tree(node: yaml.Node, path: str) -> list[SpecIssue]:
    """Reject duplicate keys and anchors/aliases (which PyYAML would accept silently)."""
    issues: list[SpecIssue] = []
    seen_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, Location]] = [(node, ())]
    while stack:
        current, location = stack.pop()
        if id(current) in seen_nodes:
            issues.append(
                SpecIssue(
                    path,
                    current.start_mark.line + 1,
                    field_name(location),
                    "anchors and aliases (&, *) are not supported; write the value out",
                )
            )
            continue
        seen_nodes.add(id(current))
        if isinstance(current, yaml.MappingNode):
            keys: set[str] = set()
            for key, value in current.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else "?"
                if name in keys:
                    issues.append(
                        SpecIssue(
                            path,
                            key.start_mark.line + 1,
                            field_name((*location, name)),
                            f"the key {name!r} appears twice in the same block",
                        )
                    )
                keys.add(name)
                stack.append((value, (*location, name)))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend((item, (*location, i)) for i, item in enumerate(current.value))
    return issues


def _message(error: ErrorDetails) -> str:
    """Return a pydantic error in an instructor's words."""
    kind = error["type"]
    if kind == "missing":
        return "this field is required"
    if kind == "extra_forbidden":
        return "unknown field (check the spelling, or see `grader exercises schema`)"
    if kind == "union_tag_invalid":
        tag = error.get("ctx", {}).get("tag", "?")
        return f"unknown kind {tag!r}; known kinds: {', '.join(kind_names())}"
    if kind == "union_tag_not_found":
        return f"every part needs a kind: one of {', '.join(kind_names())}"
    if kind == "string_pattern_mismatch":
        return f"{error['msg'].lower()} (got {error.get('input')!r})"
    message = error["msg"]
    return message.removeprefix("Value error, ")


def _location(error: ErrorDetails) -> Location:
    location = tuple(error["loc"])
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        location += ("kind",)  # point at the kind line, not at the start of the part
    return location


def parse_exercise(source: str, path: str = "<text>") -> ExerciseSpec:
    """Validate one exercise's YAML text; raise ``CatalogError`` listing every problem found,
    each naming file, line and field.

    The stages go on past a failing one where the next can still say something: duplicate keys
    and aliases do not stop validation; parts that fail validation are set aside so that the
    other parts still get the cross-field and kind checks; the kind checks run unless the
    exercise's variables, sizes or model (what they build on) have problems of their own.
    """
    if len(source.encode()) > MAX_FILE_BYTES:
        raise CatalogError([SpecIssue(path, None, "", f"file larger than {MAX_FILE_BYTES} bytes")])
    loader = CatalogLoader(source)
    try:
        root = loader.get_single_node()
        if root is None:
            raise CatalogError([SpecIssue(path, 1, "", "the file is empty")])
        issues = _check_tree(root, path)
        data = loader.construct_document(root)  # the nodes already read: no second parse
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise CatalogError([SpecIssue(path, line, "", f"not valid YAML: {problem}")]) from None
    except (ValueError, TypeError) as exc:  # a scalar YAML cannot build, e.g. 2020-13-45
        raise CatalogError([SpecIssue(path, None, "", f"not valid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    lines = _LineMap(root)
    if not isinstance(data, dict):
        raise CatalogError([SpecIssue(path, 1, "", "an exercise file is a mapping of fields")])
    spec, kept = _validate(data, path, lines, issues)
    if spec is None:
        raise CatalogError(issues)
    set_aside = {
        str(part.get("id"))
        for index, part in enumerate(data.get("parts") or [])
        if index not in kept and isinstance(part, dict)
    }
    problems = spec.cross_problems()
    if not any(loc[:1] in (("variables",), ("dims",), ("model",)) for loc, _ in problems):
        problems += spec.kind_problems()
    for location, message in problems:
        if location[:1] == ("examples",) and spec.examples[int(location[1])].part in set_aside:
            continue  # the example's part is invalid, which is said already
        if location[:1] == ("parts",):
            location = ("parts", kept[int(location[1])], *location[2:])
        issues.append(SpecIssue(path, lines.line(location), field_name(location), message))
    if issues:
        raise CatalogError(issues)
    return spec


def _validate(
    data: dict[str, Any], path: str, lines: _LineMap, issues: list[SpecIssue]
) -> tuple[ExerciseSpec | None, list[int]]:
    """Return the spec of ``data`` and the file's index of each of its parts, appending the
    validation errors to ``issues``. When only some parts are invalid, the spec holds the
    others (so that their own checks still run); when more is wrong, the spec is None."""
    try:
        return ExerciseSpec.model_validate(data), list(range(len(data.get("parts") or [])))
    except ValidationError as exc:
        errors = exc.errors()
    issues += [
        SpecIssue(path, lines.line(_location(e)), field_name(_drop_tags(_location(e))), _message(e))
        for e in errors
    ]
    parts = data.get("parts")
    bad = {e["loc"][1] for e in errors if len(e["loc"]) >= 2 and e["loc"][0] == "parts"}
    if not isinstance(parts, list) or len(bad) != len({e["loc"][:2] for e in errors}):
        return None, []  # something outside the parts is wrong as well
    kept = [index for index in range(len(parts)) if index not in bad]
    if not kept:
        return None, []
    try:
        spec = ExerciseSpec.model_validate(data | {"parts": [parts[i] for i in kept]})
    except ValidationError:
        return None, []
    return spec, kept


def _drop_tags(location: Location) -> Location:
    """Drop the union tags pydantic inserts (``parts.0.shape.answer`` -> ``parts.0.answer``)."""
    names = set(kind_names())
    out: list[str | int] = []
    for index, item in enumerate(location):
        if (
            item in names
            and index > 0
            and location[index - 1] == out[-1]
            and isinstance(out[-1], int)
        ):
            continue
        out.append(item)
    return tuple(out)


def exercise_files(paths: Iterable[str | Path]) -> list[Path]:
    """Return the YAML files named by ``paths`` (directories expand to their *.yaml, sorted)."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
        elif path.exists():
            files.append(path)
        else:
            raise CatalogError([SpecIssue(str(path), None, "", "no such file or directory")])
    return files


def load_files(
    paths: Iterable[str | Path], progress: Callable[[Path], None] | None = None
) -> list[LoadedExercise]:
    """Validate every file; raise one ``CatalogError`` with all problems of all files.

    Two files with the same slug are an error too (the second one is named).
    """
    loaded, issues = read_files(paths, progress)
    if issues:
        raise CatalogError(issues)
    return loaded


def read_files(
    paths: Iterable[str | Path], progress: Callable[[Path], None] | None = None
) -> tuple[list[LoadedExercise], list[SpecIssue]]:
    """Validate every file; return the valid ones and every problem of the others (see
    ``load_files``). Raises ``CatalogError`` only for a path that does not exist."""
    issues: list[SpecIssue] = []
    loaded: list[LoadedExercise] = []
    slugs: dict[str, str] = {}
    for path in exercise_files(paths):
        if progress:
            progress(path)
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            issues.append(SpecIssue(str(path), None, "", f"cannot read the file: {exc}"))
            continue
        try:
            spec = parse_exercise(source, str(path))
        except CatalogError as exc:
            issues += exc.issues
            continue
        if spec.slug in slugs:
            issues.append(
                SpecIssue(
                    str(path),
                    line_of(source, ("slug",)),
                    "slug",
                    f"slug {spec.slug!r} is already used by {slugs[spec.slug]}",
                )
            )
            continue
        slugs[spec.slug] = str(path)
        loaded.append(LoadedExercise(str(path), spec, source, content_hash(spec)))
    return loaded, issues


def line_of(source: str, location: Location) -> int | None:
    """Return the line of the value at ``location`` (e.g. ``("parts", 2)``) in a valid
    exercise file's text."""
    return _LineMap(yaml.compose(source, Loader=CatalogLoader)).line(location)


OPTIONAL_LATER_FIELDS = ("order",)


def content_hash(spec: ExerciseSpec) -> str:
    """Return the SHA-256 of the spec's canonical JSON: formatting and comments do not count."""
    content = spec.model_dump(mode="json")
    # A field added to the format after exercises were stored counts only when set, so that
    # adding it does not make every stored exercise a new version.
    for field in OPTIONAL_LATER_FIELDS:
        if content.get(field) is None:
            content.pop(field, None)
    for part in content.get("parts", []):
        for mistake in part.get("mistakes") or []:
            if isinstance(mistake, dict) and mistake.get("hint", "") is None:
                del mistake["hint"]  # ``hint`` came after exercises were stored, as ``order``
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema of the exercise format, for editors and CI checks."""
    schema = ExerciseSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "backprop-grader exercise"
    return schema
