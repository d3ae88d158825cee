"""The YAML catalog: validation messages name file, line and field; schema export."""

import json
import textwrap

import jsonschema
import pytest
import yaml

from grader.catalog import CatalogError, json_schema, load_files, load_yaml, parse_exercise

VALID = textwrap.dedent("""\
    slug: tiny
    title: Tiny
    dims: {d: [2, 5], h: [2, 5]}
    variables:
      W1: {shape: [h, d]}
    parts:
      - id: s
        kind: shape
        answer: h×d
      - id: c
        kind: choice
        options:
          - {id: a, text: it is}
          - {id: b, text: it is not}
        answer: [a]
    """)


def _issues(text, path="bad.yaml"):
    with pytest.raises(CatalogError) as info:
        parse_exercise(text, path)
    return info.value.issues


def test_valid_file_parses():
    spec = parse_exercise(VALID)
    assert [p.id for p in spec.parts] == ["s", "c"]
    assert spec.max_score == 2.0


# (name, yaml text, expected line, field substring, message substring)
MALFORMED = [
    ("bad yaml", VALID.replace("title: Tiny", "title: [Tiny"), 3, "", "not valid YAML"),
    ("tab indentation", VALID.replace("  W1:", "\tW1:"), 5, "", "not valid YAML"),
    ("empty file", "", 1, "", "empty"),
    ("not a mapping", "- a\n- b\n", 1, "", "mapping"),
    (
        "unknown kind",
        VALID.replace("kind: shape", "kind: shapes"),
        8,
        "parts[0].kind",
        "unknown kind 'shapes'",
    ),
    ("missing kind", VALID.replace("    kind: shape\n", ""), 7, "parts[0]", "needs a kind"),
    ("missing title", VALID.replace("title: Tiny\n", ""), 1, "title", "required"),
    (
        "missing part answer",
        VALID.replace("    answer: h×d\n", ""),
        7,
        "parts[0].answer",
        "required",
    ),
    (
        "wrong type points",
        VALID.replace("kind: shape\n", "kind: shape\n    points: many\n"),
        9,
        "parts[0].points",
        "number",
    ),
    (
        "wrong type dims",
        VALID.replace("{d: [2, 5], h: [2, 5]}", "{d: big, h: [2, 5]}"),
        3,
        "dims.d",
        "",
    ),
    ("duplicate part id", VALID.replace("id: c", "id: s"), 10, "parts[1].id", "used twice"),
    (
        "duplicate key",
        VALID.replace("title: Tiny\n", "title: Tiny\ntitle: Again\n"),
        3,
        "title",
        "appears twice",
    ),
    (
        "unknown field",
        VALID.replace("title: Tiny\n", "title: Tiny\ntitel: x\n"),
        3,
        "titel",
        "unknown field",
    ),
    (
        "unknown size in variable",
        VALID.replace("{shape: [h, d]}", "{shape: [h, k]}"),
        5,
        "variables.W1.shape",
        "'k'",
    ),
    ("bad slug", VALID.replace("slug: tiny", "slug: Tiny Exercise"), 1, "slug", "pattern"),
    ("choice key not listed", VALID.replace("answer: [a]", "answer: [z]"), 10, "parts[1]", "'z'"),
    (
        "single choice with two keys",
        VALID.replace("answer: [a]", "answer: [a, b]"),
        10,
        "parts[1]",
        "exactly one",
    ),
    (
        "reference shape unknown size",
        VALID.replace("answer: h×d", "answer: h×k"),
        9,
        "parts[0].answer",
        "Unknown size 'k'",
    ),
    (
        "alias anchors",
        VALID.replace("{id: b, text: it is not}", "&x {id: b, text: it is not}") + "extra: *x\n",
        None,
        "",
        "anchors and aliases",
    ),
    (
        "example names missing part",
        VALID + "examples:\n  - {part: nope, answer: x, correct: true}\n",
        17,
        "examples[0].part",
        "no part 'nope'",
    ),
    ("dims range reversed", VALID.replace("d: [2, 5]", "d: [5, 2]"), 3, "dims", "min <= max"),
    (
        "date that is no date",
        VALID.replace("title: Tiny", "title: 2020-13-45"),
        None,
        "",
        "not valid YAML: month must be in 1..12",
    ),
    (
        "python tag",
        VALID.replace("title: Tiny", "title: !!python/object:os.system x"),
        2,
        "",
        "not valid YAML: could not determine a constructor",
    ),
    (
        "unknown activation",
        VALID.replace("parts:", "functions:\n  phi: {choices: [tahn]}\nparts:"),
        7,
        "functions.phi.choices",
        "unknown activation 'tahn'",
    ),
]


@pytest.mark.parametrize("name,text,line,field,message", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_file_names_file_line_and_field(name, text, line, field, message):
    issues = _issues(text)
    assert issues, name
    first = issues[0]
    assert first.file == "bad.yaml"
    if line is not None:
        assert first.line == line, str(first)
    assert field in first.field, str(first)
    assert message in first.message, str(first)
    assert str(first).startswith("bad.yaml")


def test_every_problem_is_reported_not_just_the_first():
    text = VALID.replace("title: Tiny\n", "").replace("kind: shape", "kind: nope")
    fields = {issue.field for issue in _issues(text)}
    assert "title" in fields and any(f.startswith("parts[0]") for f in fields)


def test_duplicate_slug_across_files_is_named(tmp_path):
    (tmp_path / "a.yaml").write_text(VALID)
    (tmp_path / "b.yaml").write_text(VALID)
    with pytest.raises(CatalogError) as info:
        load_files([tmp_path])
    [issue] = info.value.issues
    assert issue.file.endswith("b.yaml") and issue.field == "slug" and issue.line == 1
    assert "a.yaml" in issue.message


def test_oversized_file_is_refused():
    issues = _issues(VALID + "#" * 1_100_000)
    assert "larger than" in issues[0].message


def test_schema_validates_repository_exercises(exercise_dir):
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    files = sorted(exercise_dir.glob("*.yaml"))
    assert files
    for path in files:
        jsonschema.validate(load_yaml(path.read_text()), schema)


def test_schema_rejects_what_validation_rejects():
    schema = json_schema()
    data = yaml.safe_load(VALID.replace("kind: shape", "kind: nope"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


def test_schema_command_prints_json(runner):
    result = runner.invoke(args=["exercises", "schema"])
    assert result.exit_code == 0
    assert json.loads(result.output)["title"] == "backprop-grader exercise"


def test_exponent_floats_are_numbers():
    spec = parse_exercise(VALID + "grading: {rtol: 1e-6, atol: 1E-9}\n")
    assert spec.grading.rtol == 1e-6 and spec.grading.atol == 1e-9
    assert load_yaml("a: 1e-6\nb: 12\nc: 1.5\nd: e5\n") == {"a": 1e-6, "b": 12, "c": 1.5, "d": "e5"}


def test_order_enters_the_content_hash_only_when_set():
    """Adding the optional ``order`` field to the format left every stored hash as it was."""
    import hashlib
    import json as json_module

    from grader.catalog import content_hash
    from tests.conftest import EXERCISES

    (loaded,) = load_files([EXERCISES / "jacobian-shape.yaml"])
    unordered = loaded.spec.model_copy(update={"order": None})
    dumped = unordered.model_dump(mode="json")
    dumped.pop("order")
    for part in dumped["parts"]:
        for mistake in part.get("mistakes") or []:
            mistake.pop("hint")  # none set: left out as well (the next test)
    before = hashlib.sha256(
        json_module.dumps(dumped, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    assert content_hash(unordered) == before
    assert content_hash(loaded.spec) != before  # the chapter's files set it: that is an edit


def test_a_mistake_s_hint_enters_the_content_hash_only_when_set():
    """Adding ``hint`` to listed mistakes left the stored hashes of hint-less files as they
    were; writing one is an edit."""
    import hashlib
    import json as json_module

    from grader.catalog import content_hash
    from tests.conftest import EXERCISES

    (loaded,) = load_files([EXERCISES / "backprop-bias.yaml"])
    dumped = loaded.spec.model_dump(mode="json")
    for part in dumped["parts"]:
        for mistake in part.get("mistakes") or []:
            assert mistake.pop("hint") is None
    before = hashlib.sha256(
        json_module.dumps(dumped, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    assert content_hash(loaded.spec) == before
    part = loaded.spec.parts[0]
    hinted = part.model_copy(
        update={"mistakes": [part.mistakes[0].model_copy(update={"hint": "Look again."})]}
    )
    edited = loaded.spec.model_copy(update={"parts": [hinted, *loaded.spec.parts[1:]]})
    assert content_hash(edited) != before


@pytest.mark.parametrize(
    ("kind", "lines"),
    [
        (
            "shape",
            [
                "    answer: h×d",
                "    mistakes:",
                "      - answer: d×h",
                "        feedback: Transposed.",
                "        hint: It is h × d, not d×h.",
            ],
        ),
        (
            "formula",
            [
                "    reference: W1 @ x",
                "    mistakes:",
                "      - answer: x.T @ W1.T",
                "        feedback: Transposed.",
                "        hint: Write W1@x instead.",
            ],
        ),
    ],
)
def test_a_hint_that_states_the_answer_is_refused_at_its_line(kind, lines):
    text = (
        textwrap.dedent("""\
        slug: tiny
        title: Tiny
        dims: {d: [2, 5], h: [2, 5]}
        variables:
          W1: {shape: [h, d]}
          x: {shape: [d, 1]}
        parts:
          - id: p
        """)
        + f"    kind: {kind}\n"
        + "\n".join(lines)
        + "\n"
    )
    [issue] = _issues(text)
    assert issue.field == "parts[0].mistakes[0].hint" and issue.line == 14, str(issue)
    assert "states the answer" in issue.message
    assert parse_exercise(text.replace(lines[-1], "        hint: Mind the order."))


def test_every_stage_of_a_file_reports_its_problems_at_once():
    """Duplicate keys do not stop validation, invalid parts do not stop the other parts' cross
    and kind checks (issue 19, item 12): one list, each problem located."""
    from pathlib import Path

    path = Path(__file__).parent / "fixtures" / "many-problems.yaml"
    issues = _issues(path.read_text(encoding="utf-8"), "many.yaml")
    found = {(issue.line, issue.field) for issue in issues}
    assert found == {
        (4, "title"),  # the key twice (reading)
        (12, "parts[1]"),  # the choice's answer is not an option (the kind's check)
        (19, "parts[2].kind"),  # unknown kind (validation)
        (20, "parts[3].id"),  # the id used twice (across fields)
        (22, "parts[3].answer"),  # an undeclared size (the kind's check, after validation)
        (26, "parts[4].points"),  # validation
        (29, "examples[1].part"),  # no such part (across fields)
    }, [str(i) for i in issues]
    # an example of a part that is invalid is not blamed again
    assert not any("there is no part 'bad'" in issue.message for issue in issues)
