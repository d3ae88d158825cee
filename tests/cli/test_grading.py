"""``grader grade``: offline grading from the command line."""

import json


def test_grade_prints_result_object_and_is_reproducible(runner):
    args = [
        "grade",
        "jacobian-shape",
        "--answers",
        '{"shape": "(n, m)", "dJ_dW1": "d×h"}',
        "--seed",
        "7",
    ]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    result = json.loads(first.output[first.output.index("{") :])
    assert result["seed"] == 7 and result["score"] == 1.0
    assert {p["id"]: p["correct"] for p in result["parts"]}["shape"] is True
    second = runner.invoke(args=args)
    assert second.output == first.output


def test_grade_rejects_bad_json_and_unknown_slug(runner):
    assert runner.invoke(args=["grade", "jacobian-shape", "--answers", "{"]).exit_code == 1
    result = runner.invoke(args=["grade", "nope", "--answers", "{}"])
    assert result.exit_code == 1 and "No exercise 'nope'" in result.output


def test_grade_refuses_answers_nested_too_deep(runner):
    """Nested 400 deep, the answers made a check recurse past Python's limit: a traceback."""
    deep = "[" * 400 + "]" * 400
    result = runner.invoke(args=["grade", "jacobian-shape", "--answers", f'{{"shape": {deep}}}'])
    assert result.exit_code == 1 and "nested deeper than 32" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
