"""Forward-mode accumulation against reverse mode: counts derived by hand, the carried
Jacobians and their peak, and the forward-mode values against torch.func.jvp."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

import grader.engine as E
from grader.engine.accumulation import forward_accumulation, reverse_accumulation

SIZES = [(2, 3, 2), (3, 5, 2), (4, 2, 3), (2, 4, 5)]
D, H, Q, N = (E.size_symbol(s) for s in "dhqn")


def chapter(d: int, h: int, q: int, seed: int = 0, phi: str = "tanh") -> E.Model:
    rng = np.random.default_rng(seed)
    return E.chapter_model(
        rng.normal(size=d),
        rng.normal(size=q),
        rng.normal(size=(h, d)),
        rng.normal(size=h),
        rng.normal(size=(q, h)),
        rng.normal(size=q),
        0.3,
        phi=phi,
    )


def single(expr: sympy.Expr) -> sympy.Expr:
    """One example: the batch symbol n of the chapter model's inputs is 1."""
    return sympy.expand(expr.subs(N, 1))


@pytest.mark.parametrize(("d", "h", "q"), SIZES)
def test_multiplications_and_passes_match_a_hand_count(d: int, h: int, q: int) -> None:
    # By hand, one forward pass along a direction V of W1 (one example, with the penalty):
    # V x: hd; ż ⊙ φ'(z): h; W2 ḣ: qh; (o − y)ᵀ ȯ: q; <W1, V> for the penalty: hd.
    # Reverse: 2(o − y): q; W2ᵀ g: qh; g ⊙ φ'(z): h; g xᵀ: hd; λ W1: hd.
    m = chapter(d, h, q)
    forward = forward_accumulation(m["J"], m["W1"]).forward
    reverse = reverse_accumulation(m["J"], m["W1"])
    per_pass = 2 * h * d + h + q * h + q
    assert (forward.passes, reverse.passes) == (h * d, 1)
    assert forward.mults == h * d * per_pass
    assert reverse.mults == per_pass
    sizes = {D: d, H: h, Q: q}
    assert single(forward.sym_mults) == sympy.expand(H * D * (2 * H * D + H + Q * H + Q))
    assert single(reverse.sym_mults) == sympy.expand(2 * H * D + H + Q * H + Q)
    assert single(forward.sym_mults).subs(sizes) == forward.mults
    assert forward.sym_passes.subs(sizes) == forward.passes


def test_the_products_of_one_pass_are_named() -> None:
    m = chapter(3, 5, 2)
    forward = {
        (p.target, p.via): p.mults for p in forward_accumulation(m["J"], m["W1"]).forward.products
    }
    assert forward == {
        ("W1 @ x", "W1"): 15,
        ("h", "z"): 5,
        ("W2 @ h", "h"): 10,
        ("L", "o"): 2,
        ("norm(W1)", "W1"): 15,
    }
    reverse = {(p.target, p.via): p.mults for p in reverse_accumulation(m["J"], m["W1"]).products}
    assert reverse == {
        ("o", "L"): 2,
        ("h", "W2 @ h"): 10,
        ("z", "h"): 5,
        ("W1", "W1 @ x"): 15,
        ("W1", "norm(W1)"): 15,
    }


@pytest.mark.parametrize(("d", "h", "q"), SIZES)
def test_carried_jacobians_and_their_peak(d: int, h: int, q: int) -> None:
    m = chapter(d, h, q)
    acc = forward_accumulation(m["J"], m["W1"])
    blocks = {c.name: c for c in acc.carried}
    # z = W1 x + b1 passes the tangent of W1 x through: one array, named after z
    assert blocks["∂z/∂W1"].nodes == ("W1 @ x", "z")
    assert blocks["∂z/∂W1"].floats == h * h * d
    assert blocks["∂h/∂W1"].floats == h * h * d
    assert blocks["∂o/∂W1"].floats == q * h * d
    assert blocks["∂J/∂W1"].floats == h * d
    assert acc.by_node["z"] is blocks["∂z/∂W1"]
    # alive together: ∂z and ∂h while φ is applied, ∂h and ∂o at W2 h, three hd-blocks at J
    assert acc.peak == h * d * max(2 * h, h + q, 3)
    assert single(acc.sym_peak).subs({D: d, H: h, Q: q}) == acc.peak
    names = {b.name for b in acc.peak_items}
    if h > q:
        assert names == {"∂z/∂W1", "∂h/∂W1"}


def test_forward_jacobian_agrees_with_reverse_mode_and_finite_differences() -> None:
    m = chapter(3, 4, 2, seed=5, phi="sigmoid")
    acc = forward_accumulation(m["J"], m["W1"])
    assert np.allclose(acc.jacobian.reshape(4, 3), E.grad(m["J"], m["W1"]))
    assert np.allclose(reverse_accumulation(m["J"], m["W1"]).result, E.grad(m["J"], m["W1"]))
    do_dx = forward_accumulation(m["o"], m["x"])
    assert do_dx.jacobian.shape == (2, 3)
    assert np.allclose(do_dx.jacobian, E.jacobian(m["o"], m["x"]))
    assert do_dx.forward.passes == 3


def test_errors() -> None:
    m = chapter(2, 3, 2)
    with pytest.raises(E.EngineError, match="does not depend"):
        forward_accumulation(m["z"], m["W2"])
    with pytest.raises(E.EngineShapeError, match="scalar"):
        reverse_accumulation(m["o"], m["W1"])


def test_multiplication_count_convention() -> None:
    a, b = E.leaf(np.ones((2, 3)), "a", ("m", "k")), E.leaf(np.ones((3, 4)), "b", ("k", "n"))
    s = E.leaf(2.0, "s")
    with E.counting() as cost:
        a @ b  # mkn
        s * a  # scaling an array: one per entry
        s * s  # two scalars: none
        a + a  # not a multiplication
        E.tanh(a)
    assert cost.mults == 24 + 6
    m, k, n = (E.size_symbol(x) for x in "mkn")
    assert sympy.expand(cost.sym_mults - (m * k * n + m * k)) == 0


def test_nested_counters_each_keep_counting() -> None:
    x = E.leaf(np.ones((2, 2)), "x")
    with E.counting() as outer:
        with E.counting() as inner:  # equal counts: leaving it must not drop the outer one
            x @ x
        x @ x
    assert (inner.ops, outer.ops) == (1, 2)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's own, when it imports
def test_forward_mode_values_agree_with_torch_func_jvp() -> None:
    torch = pytest.importorskip("torch")
    d, h, q = 3, 4, 2
    m = chapter(d, h, q, seed=7)
    values = {k: torch.tensor(m[k].value) for k in ("x", "y", "W1", "b1", "W2", "b2")}

    def objective(W1: torch.Tensor) -> torch.Tensor:
        z = W1 @ values["x"] + values["b1"]
        o = values["W2"] @ torch.tanh(z) + values["b2"]
        penalty = 0.3 / 2 * (W1.square().sum() + values["W2"].square().sum())
        return ((o - values["y"]) ** 2).sum() + penalty

    def output(x: torch.Tensor) -> torch.Tensor:
        z = values["W1"] @ x + values["b1"]
        return values["W2"] @ torch.tanh(z) + values["b2"]

    acc = forward_accumulation(m["J"], m["W1"])
    do_dx = forward_accumulation(m["o"], m["x"])
    for j in range(h * d):
        direction = torch.zeros(h * d, dtype=torch.float64)
        direction[j] = 1.0
        _, tangent = torch.func.jvp(
            objective, (values["W1"],), (direction.reshape(h, d, 1)[..., 0],)
        )
        assert np.isclose(acc.jacobian[0, j], tangent.item(), rtol=1e-10, atol=1e-12)
    for j in range(d):
        direction = torch.zeros((d, 1), dtype=torch.float64)
        direction[j] = 1.0
        _, tangent = torch.func.jvp(output, (values["x"],), (direction,))
        assert np.allclose(do_dx.jacobian[:, j], tangent.numpy().reshape(-1), rtol=1e-10)


def test_sizes_are_never_parsed_from_text():
    """A size is an int or a sympy expression; text is refused, never evaluated."""
    d = E.size_symbol("d")
    assert E.sym_size(3) == 3
    assert E.sym_size(2 * d) == 2 * d
    with pytest.raises(TypeError):
        E.sym_size("__import__('os').getpid()")
