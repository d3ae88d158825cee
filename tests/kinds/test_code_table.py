"""A table of backprop-code answers, labelled by hand from the chapter and checked by finite
differences, graded in the sandbox at several seeds: no false accept, no false reject, and the
known mistakes named.

Each row lists the outputs the answer gets right. ``test_labels_agree_with_finite_differences``
runs each answer here (it is this file's own code) on random instances and compares it with
central differences of J, so a label cannot be wrong by hand.
"""

import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest

from grader.catalog import parse_exercise
from grader.kinds.base import GradingContext
from grader.kinds.registry import get_kind

pytestmark = [
    pytest.mark.sandbox,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed"),
]

ROOT = Path(__file__).resolve().parents[2]
SPEC = parse_exercise((ROOT / "exercises" / "backprop-code.yaml").read_text())
PART = SPEC.part("code")
KIND = get_kind("code")
SEEDS = (0, 5, 11)
ALL = {"W1", "b1", "W2", "b2"}

FORWARD = """
import numpy as np

def backward(x, y, W1, b1, W2, b2, lam):
    z = W1 @ x + b1
    h = np.tanh(z)
    o = W2 @ h + b2
    g_o = 2 * (o - y)
    g_h = W2.T @ g_o
    g_z = g_h * (1 - h ** 2)
"""


def body(returns: str, before: str = "") -> str:
    """A single-example answer: the chapter's forward pass, then ``before``, then a return."""
    lines = textwrap.indent(textwrap.dedent(before).strip(), "    ")
    return FORWARD + (lines + "\n" if lines else "") + f"    return {returns}\n"


RIGHT_RETURN = (
    '{"W1": np.outer(g_z, x) + lam * W1, "b1": g_z, "W2": np.outer(g_o, h) + lam * W2, "b2": g_o}'
)

# (name, source, outputs right, diagnosis of the first wrong output or None)
ANSWERS = [
    ("reference", body(RIGHT_RETURN), ALL, None),
    (
        "columns",
        """
import numpy as np

def backward(x, y, W1, b1, W2, b2, lam):
    x, y, b1, b2 = x[:, None], y[:, None], b1[:, None], b2[:, None]
    h = np.tanh(W1 @ x + b1)
    o = W2 @ h + b2
    g_o = 2 * (o - y)
    g_z = (W2.T @ g_o) * (1 - h * h)
    return {"W1": g_z @ x.T + lam * W1, "b1": g_z, "W2": g_o @ h.T + lam * W2, "b2": g_o}
""",
        ALL,
        None,
    ),
    (
        "D2L's lambd",
        """
import numpy as np

def backward(x, y, W1, b1, W2, b2, lambd):
    h = np.tanh(np.dot(W1, x) + b1)
    g_o = 2 * (np.dot(W2, h) + b2 - y)
    g_z = np.dot(W2.T, g_o) * (1 - np.tanh(np.dot(W1, x) + b1) ** 2)
    return {"W1": np.outer(g_z, x) + lambd * W1, "b1": g_z,
            "W2": np.outer(g_o, h) + lambd * W2, "b2": g_o}
""",
        ALL,
        None,
    ),
    (
        "einsum and extra keys",
        body(
            '{"W1": np.einsum("i,j->ij", g_z, x) + lam * W1, "b1": g_z, '
            '"W2": np.einsum("i,j->ij", g_o, h) + lam * W2, "b2": g_o, "loss": np.sum(o - y)}'
        ),
        ALL,
        None,
    ),
    (
        "python loops",
        """
import numpy as np

def backward(x, y, W1, b1, W2, b2, lam):
    h = np.tanh(W1 @ x + b1)
    g_o = 2 * (W2 @ h + b2 - y)
    g_z = (W2.T @ g_o) * (1 - h ** 2)
    dW1 = np.zeros_like(W1)
    for i in range(W1.shape[0]):
        for j in range(W1.shape[1]):
            dW1[i, j] = g_z[i] * x[j] + lam * W1[i, j]
    dW2 = np.zeros_like(W2)
    for i in range(W2.shape[0]):
        for j in range(W2.shape[1]):
            dW2[i, j] = g_o[i] * h[j] + lam * W2[i, j]
    return {"W1": dW1, "b1": g_z, "W2": dW2, "b2": g_o}
""",
        ALL,
        None,
    ),
    (
        "mixed bias shapes",
        body(
            '{"W1": np.outer(g_z, x) + lam * W1, "b1": g_z.reshape(-1, 1), '
            '"W2": np.outer(g_o, h) + lam * W2, "b2": g_o}'
        ),
        ALL,
        None,
    ),
    (
        "keyword arguments only",
        """
import numpy as np

def backward(**kw):
    x, y, W1, b1, W2, b2, lam = (kw[k] for k in ("x", "y", "W1", "b1", "W2", "b2", "lam"))
    h = np.tanh(W1 @ x + b1)
    g_o = 2 * (W2 @ h + b2 - y)
    g_z = (W2.T @ g_o) * (1 - h ** 2)
    return {"W1": np.outer(g_z, x) + lam * W1, "b1": g_z,
            "W2": np.outer(g_o, h) + lam * W2, "b2": g_o}
""",
        ALL,
        None,
    ),
    (
        "cosh form of tanh'",
        body(RIGHT_RETURN, "g_z = g_h / np.cosh(z) ** 2"),
        ALL,
        None,
    ),
    (
        "float64 copies of the inputs",
        body(RIGHT_RETURN, "W1 = W1.astype(np.float64).copy()"),
        ALL,
        None,
    ),
    ("default extra parameter", body(RIGHT_RETURN).replace("lam):", "lam, eps=1e-8):"), ALL, None),
    (
        "no factor 2",
        body(RIGHT_RETURN, "g_o = o - y\ng_z = (W2.T @ g_o) * (1 - h ** 2)"),
        set(),
        "factor:2",
    ),
    (
        "no lam W1",
        body(RIGHT_RETURN.replace(" + lam * W1", "")),
        ALL - {"W1"},
        "missing-term:lam*W1",
    ),
    (
        "no lam W2",
        body(RIGHT_RETURN.replace(" + lam * W2", "")),
        ALL - {"W2"},
        "missing-term:lam*W2",
    ),
    ("1 - h", body(RIGHT_RETURN, "g_z = g_h * (1 - h)"), {"W2", "b2"}, "mistake:0"),
    ("h(1 - h)", body(RIGHT_RETURN, "g_z = g_h * h * (1 - h)"), {"W2", "b2"}, "mistake:1"),
    ("1 - z^2", body(RIGHT_RETURN, "g_z = g_h * (1 - z ** 2)"), {"W2", "b2"}, "mistake:2"),
    ("phi' forgotten", body(RIGHT_RETURN, "g_z = g_h"), {"W2", "b2"}, "mistake:3"),
    (
        "lam/2 W",
        body(RIGHT_RETURN.replace("lam * W1", "lam / 2 * W1").replace("lam * W2", "lam / 2 * W2")),
        {"b1", "b2"},
        "mistake:4",
    ),
    (
        "z for h in dW2",
        body(RIGHT_RETURN.replace("np.outer(g_o, h)", "np.outer(g_o, z)")),
        ALL - {"W2"},
        "mistake:5",
    ),
    (
        "regularised biases",
        body(
            RIGHT_RETURN.replace('"b1": g_z', '"b1": g_z + lam * b1').replace(
                '"b2": g_o}', '"b2": g_o + lam * b2}'
            )
        ),
        {"W1", "W2"},
        "mistake:6",
    ),
    (
        "W1 transposed",
        body(RIGHT_RETURN.replace("np.outer(g_z, x) + lam * W1", "np.outer(x, g_z) + lam * W1.T")),
        ALL - {"W1"},
        "transposed",
    ),
    (
        "b2 summed to a scalar",
        body(RIGHT_RETURN.replace('"b2": g_o}', '"b2": np.sum(g_o, keepdims=True)}')),
        ALL - {"b2"},
        "wrong-shape",
    ),
    (
        "sign flipped",
        body(RIGHT_RETURN, "g_o = 2 * (y - o)\ng_z = (W2.T @ g_o) * (1 - h ** 2)"),
        set(),
        None,
    ),
    (
        "mean over outputs",
        body(RIGHT_RETURN, "g_o = 2 * (o - y) / len(y)\ng_z = (W2.T @ g_o) * (1 - h ** 2)"),
        set(),
        None,
    ),
    (
        "W2 not transposed",
        body(RIGHT_RETURN, "g_z = (W2 @ g_o) * (1 - h ** 2)"),
        set(),
        "exception",
    ),
    ("a NameError", body(RIGHT_RETURN.replace("g_o}", "g_out}")), set(), "exception"),
    ("a list, not a dict", body("[g_z, g_o]"), set(), None),
    ("no b2 key", body(RIGHT_RETURN.replace(', "b2": g_o', "")), ALL - {"b2"}, "missing-output"),
    (
        "b2 not finite",
        body(RIGHT_RETURN.replace('"b2": g_o}', '"b2": g_o / 0.0}')),
        ALL - {"b2"},
        "not-finite",
    ),
    (
        "no b1 in the forward pass",
        body(
            RIGHT_RETURN,
            "h = np.tanh(W1 @ x)\no = W2 @ h + b2\ng_o = 2 * (o - y)\n"
            "g_z = (W2.T @ g_o) * (1 - h ** 2)",
        ),
        set(),
        None,
    ),
    (
        "sigmoid as phi",
        body(
            RIGHT_RETURN,
            "h = 1 / (1 + np.exp(-z))\no = W2 @ h + b2\ng_o = 2 * (o - y)\n"
            "g_z = (W2.T @ g_o) * h * (1 - h)",
        ),
        set(),
        None,
    ),
    (
        "h for x in dW1 (h×h + h×d raises)",
        body(RIGHT_RETURN.replace("np.outer(g_z, x)", "np.outer(g_z, h)")),
        set(),
        "exception",
    ),
    (
        "b1 gradient before phi'",
        body(RIGHT_RETURN.replace('"b1": g_z', '"b1": g_h')),
        ALL - {"b1"},
        "mistake:3",
    ),
    ("lam W squared", body(RIGHT_RETURN.replace("lam * W1", "lam * W1 ** 2")), ALL - {"W1"}, None),
]
REFUSED = [
    (
        "parameters in another order",
        body(RIGHT_RETURN).replace("(x, y, W1, b1, W2, b2, lam)", "(W1, b1, W2, b2, x, y, lam)"),
        "put the parameters in this order",
    ),
    (
        "too few parameters",
        body(RIGHT_RETURN).replace("(x, y, W1, b1, W2, b2, lam)", "(x, y, W1, b1, W2, b2)"),
        "takes 6 parameters",
    ),
]


def objective(x, y, W1, b1, W2, b2, lam):
    o = W2 @ np.tanh(W1 @ x + b1) + b2
    return np.sum((o - y) ** 2) + lam / 2 * (np.sum(W1**2) + np.sum(W2**2))


def finite_differences(args: dict, eps: float = 1e-6) -> dict:
    grads = {}
    for name in ("W1", "b1", "W2", "b2"):
        value = args[name]
        grad = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            plus, minus = value.copy(), value.copy()
            plus[index] += eps
            minus[index] -= eps
            grad[index] = (
                objective(**{**args, name: plus}) - objective(**{**args, name: minus})
            ) / (2 * eps)
        grads[name] = grad
    return grads


def right_by_finite_differences(source: str, rng: np.random.Generator) -> set[str]:
    d, h, q = 3, 5, 2
    args = {
        "x": rng.uniform(-1, 1, d),
        "y": rng.uniform(-1, 1, q),
        "W1": rng.uniform(-1, 1, (h, d)),
        "b1": rng.uniform(-1, 1, h),
        "W2": rng.uniform(-1, 1, (q, h)),
        "b2": rng.uniform(-1, 1, q),
        "lam": 0.3,
    }
    namespace: dict = {}
    exec(compile(source, "answer", "exec"), namespace)  # this file's own answers
    try:
        with np.errstate(all="ignore"):
            try:  # by position, as the grader calls it; or by the exercise's names (**kw)
                returned = namespace["backward"](
                    *(args[k] for k in ("x", "y", "W1", "b1", "W2", "b2", "lam"))
                )
            except TypeError:
                returned = namespace["backward"](**args)
    except Exception:
        return set()
    if not isinstance(returned, dict):
        return set()
    expected = finite_differences(args)
    right = set()
    for name, grad in expected.items():
        got = np.asarray(returned.get(name, np.nan), dtype=float)
        if got.size == grad.size and got.shape in (grad.shape, grad.shape + (1,)):
            if np.allclose(got.reshape(grad.shape), grad, rtol=1e-6, atol=1e-6):
                right.add(name)
    return right


def test_table_size():
    assert len(ANSWERS) + len(REFUSED) >= 30
    assert sum(1 for row in ANSWERS if row[2] == ALL) >= 10


@pytest.mark.parametrize(
    ("name", "source", "right", "diagnosis"), ANSWERS, ids=[r[0] for r in ANSWERS]
)
def test_labels_agree_with_finite_differences(name, source, right, diagnosis):
    rng = np.random.default_rng(len(name))
    assert right_by_finite_differences(source, rng) == right


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    ("name", "source", "right", "diagnosis"), ANSWERS, ids=[r[0] for r in ANSWERS]
)
def test_verdicts_match_the_labels(name, source, right, diagnosis, seed):
    result = KIND.grade(PART, source, GradingContext(SPEC, seed))
    assert result.status == "graded", result.feedback
    outputs = result.details.get("outputs", {})
    graded_right = {k for k, v in outputs.items() if v["verdict"] == "correct"}
    assert graded_right == right, result.feedback  # no false accept, no false reject
    assert result.correct is (right == ALL)
    assert result.score == pytest.approx(len(right))
    if diagnosis is not None:
        assert result.diagnosis == diagnosis, result.feedback
    if diagnosis and diagnosis.startswith("mistake:"):
        feedback = PART.mistakes[int(diagnosis.split(":")[1])].feedback
        assert feedback in result.feedback


@pytest.mark.parametrize(("name", "source", "words"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_wrong_signature_is_refused_before_running(name, source, words):
    assert KIND.precheck(PART, source).status == "invalid"
    result = KIND.grade(PART, source, GradingContext(SPEC, 0))
    assert result.status == "invalid" and words in result.feedback, result.feedback
    assert "run" not in result.details


def test_shape_messages_use_the_prompts_letters():
    source = body(RIGHT_RETURN.replace('"b2": g_o}', '"b2": np.sum(g_o, keepdims=True)}'))
    result = KIND.grade(PART, source, GradingContext(SPEC, 0))
    assert "b2 has shape (1,) but should have shape (q,) or (q, 1)" in result.feedback


BATCH_SPEC = parse_exercise((ROOT / "exercises" / "backprop-code-batch.yaml").read_text())
BATCH = """
import numpy as np

def backward(X, Y, W1, b1, W2, b2, lam):
    H = np.tanh(X @ W1.T + b1)
    G_O = 2 * (H @ W2.T + b2 - Y)
    G_H = G_O @ W2
    G_Z = G_H * (1 - H ** 2)
    {change}
    return {{"W1": G_Z.T @ X + lam * W1, "b1": G_Z.sum(axis=0),
             "W2": G_O.T @ H + lam * W2, "b2": G_O.sum(axis=0)}}
"""


@pytest.mark.parametrize(
    ("change", "right", "diagnosis"),
    [
        ("pass", ALL, "correct"),
        ("G_Z = G_H * (1 - H)", {"W2", "b2"}, "mistake:0"),
        ("G_Z = G_H", {"W2", "b2"}, "mistake:3"),
    ],
)
def test_batch_mistakes_are_named(change, right, diagnosis):
    part = BATCH_SPEC.part("code")
    result = KIND.grade(part, BATCH.format(change=change), GradingContext(BATCH_SPEC, 2))
    graded_right = {k for k, v in result.details["outputs"].items() if v["verdict"] == "correct"}
    assert graded_right == right, result.feedback
    assert result.diagnosis == diagnosis, result.feedback


def test_float32_is_refused_at_every_seed():
    """Float64 is graded (the prompt says so): a float32 answer fails at every seed, with a
    message that says why, instead of passing or failing by seed."""
    source = body("{k: v.astype(np.float32) for k, v in g.items()}", "g = " + RIGHT_RETURN)
    for seed in SEEDS:
        result = KIND.grade(PART, source, GradingContext(SPEC, seed))
        assert result.score == 0 and result.diagnosis == "precision", result.feedback
        assert "float32 array" in result.feedback
