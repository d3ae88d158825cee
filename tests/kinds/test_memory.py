"""The memory kind: counts compared with the engine's accounting; the tensors a wrong count
left out or added are named."""

from pathlib import Path

import pytest

from grader.catalog import CatalogError, parse_exercise
from grader.kinds.base import GRADED, INVALID, GradingContext
from grader.kinds.registry import get_kind

ROOT = Path(__file__).parents[2]
SPEC = parse_exercise((ROOT / "exercises" / "memory-footprint.yaml").read_text())
KIND = get_kind("memory")
PARAMS = "2*(h*d + h + q*h + q)"


def grade(part_id: str, answer, seed: int = 4):
    return KIND.grade(SPEC.part(part_id), answer, GradingContext(SPEC, seed))


@pytest.mark.parametrize(
    "answer",
    [
        f"{PARAMS} + d*n + 2*h*n + 2*q*n",
        f"{PARAMS} + n*(d + 2*h + 2*q)",
        "2h d + 2h + 2q h + 2q + d n + 2h n + 2q n",
        "2*(h*(d + 1) + q*(h + 1)) + n*d + 2*n*(h + q)",
        "(2*h*d + 2*h + 2*q*h + 2*q + d*n + 2*h*n + 2*q*n) / 1",
    ],
)
def test_training_count_in_several_forms(answer):
    assert grade("training", answer).correct


@pytest.mark.parametrize(
    "answer",
    [
        "h*d + h + q*h + q + 2*h*n",
        "d*h + h + q*h + q + max(d*n + h*n, 2*h*n, h*n + q*n, 2*q*n)",
        "h*(d + 1) + q*(h + 1) + 2*n*h",
    ],
)
def test_prediction_count_in_several_forms(answer):
    assert grade("prediction", answer).correct


@pytest.mark.parametrize(
    ("answer", "diagnosis", "words"),
    [
        (f"{PARAMS} + 2*h*n + 2*q*n", "missing:x", "x (d×n) is kept"),
        (
            f"{PARAMS} + d*n + h*n + 2*q*n",
            "missing:z",
            "z (h×n) is kept because the backward of phi",
        ),
        (f"{PARAMS} + d*n + 2*h*n + q*n", "missing:y", "y (q×n) is kept"),
        (f"{PARAMS} + d*n + 2*q*n", "missing:z,h", "z (h×n)"),
        (f"{PARAMS} + d*n + 3*h*n + 2*q*n", "extra:W1 @ x", "not kept"),
        (f"{PARAMS} - h*d + d*n + 2*h*n + 2*q*n", "missing:dJ/dW1", "gradient buffer dJ/dW1"),
        (f"{PARAMS} - h - q + d*n + 2*h*n + 2*q*n", "missing:dJ/db1,dJ/db2", "dJ/db1"),
    ],
)
def test_training_names_the_tensors(answer, diagnosis, words):
    result = grade("training", answer)
    assert (result.status, result.correct, result.diagnosis) == (GRADED, False, diagnosis)
    assert words in result.feedback


@pytest.mark.parametrize(
    ("answer", "diagnosis", "words"),
    [
        ("h*d + h + q*h + q + h*n", "missing:W1 @ x", "live at the peak"),
        (
            "2*(h*d + h + q*h + q) + 2*h*n",
            "extra:dJ/dW1,dJ/db1,dJ/dW2,dJ/db2",
            "prediction computes no gradients",
        ),
        ("h*d + h + q*h + q + 2*h*n + d*n", "extra:x", "not live at the peak"),
    ],
)
def test_prediction_names_the_tensors(answer, diagnosis, words):
    result = grade("prediction", answer)
    assert (result.correct, result.diagnosis) == (False, diagnosis), result.feedback
    assert words in result.feedback


def test_listed_mistakes_bytes_and_batch():
    assert grade("training", "h*d + h + q*h + q + d*n + 2*h*n + 2*q*n").diagnosis == "mistake:0"
    assert grade("prediction", f"{PARAMS} + d*n + 2*h*n + 2*q*n").diagnosis == "mistake:0"
    bytes_ = grade("training", f"4*({PARAMS} + d*n + 2*h*n + 2*q*n)")
    assert bytes_.diagnosis == "bytes:4" and "not bytes" in bytes_.feedback
    flat = grade("training", f"{PARAMS} + d + 2*h + 2*q")
    assert flat.diagnosis == "no-batch" and "batch size n" in flat.feedback
    other = grade("training", "d*h*q*n")
    assert other.diagnosis == "wrong" and "n=" in other.feedback


@pytest.mark.parametrize(
    ("answer", "diagnosis", "words"),
    [
        ("2*h*n +", "syntax", "column"),
        ("2*hk", "unknown-name", "d, h, q, n"),
        ("2*batch", "unknown-name", "d, h, q, n"),
        (7, "empty", "Write a count"),
    ],
)
def test_invalid_counts_cost_nothing(answer, diagnosis, words):
    result = grade("training", answer)
    assert result.status == INVALID and result.diagnosis == diagnosis and words in result.feedback


def test_examples_and_self_test():
    ctx = GradingContext(SPEC, 8)
    for example in SPEC.examples:
        result = KIND.grade(SPEC.part(example.part), example.answer, ctx)
        assert result.correct == example.correct, example.answer
        assert example.feedback is None or example.feedback in result.feedback
    for part in SPEC.parts:
        for case in KIND.self_test_cases(part, SPEC):
            result = KIND.grade(part, case.answer, ctx)
            assert result.correct == case.correct
            assert case.feedback is None or case.feedback in result.feedback


def _with_part(part: str) -> str:
    text = (ROOT / "exercises" / "memory-footprint.yaml").read_text()
    head = text[: text.index("parts:")]
    return head + "parts:\n" + part


@pytest.mark.parametrize(
    ("part", "words"),
    [
        ("  - {id: t, kind: memory, measure: training, answer: 'd*n'}\n", "not the engine's count"),
        ("  - {id: t, kind: memory, measure: training, answer: 'd*n +'}\n", "does not parse"),
        (
            "  - {id: t, kind: memory, measure: prediction, answer: 'h*d + h + q*h + q + 2*h*n',"
            " assume: [h > zz]}\n",
            "'zz' is not a size",
        ),
        ("  - {id: t, kind: memory, measure: training, batch: d, answer: 'd'}\n", "already a size"),
        (
            "  - {id: t, kind: memory, measure: prediction, answer: 'h*d + h + q*h + q + 2*h*n',"
            " assume: [h > d, h > q],"
            " mistakes: [{answer: 'h*d + h + q*h + q + 2*n*h', feedback: x}]}\n",
            "in fact correct",
        ),
    ],
)
def test_check_problems(part, words):
    with pytest.raises(CatalogError) as info:
        parse_exercise(_with_part(part))
    assert words in str(info.value)


def test_preview_reads_sizes_and_max():
    preview = KIND.preview(SPEC.part("prediction"), "max(d n, 2 h n)", SPEC)
    assert preview["valid"] and "max" in preview["source"]
    # juxtaposed single-letter sizes are a product, as the prompt writes hn
    assert KIND.preview(SPEC.part("prediction"), "2hn", SPEC)["source"] == "2 * h * n"
