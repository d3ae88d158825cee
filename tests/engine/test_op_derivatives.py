"""Every op's gradient, JVP and HVP against central finite differences, on random shapes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import grader.engine as E
from tests.engine.fd import directional, numeric_grad

# name -> (op name covered, function of engine tensors, input shapes, domain of each input)
# Shapes use the letters m, n, k (drawn per example); "" is a scalar. Domains: "any" normal,
# "pos" in [0.5, 2], "away" |v| in [0.2, 2] (kinks at 0 stay away), "prob" columns summing to 1.
CASES = {
    "add": ("add", lambda a, b: a + b, ["mn", "mn"], ["any", "any"]),
    "add_scalar": ("add", lambda a, b: a + b, ["", "mn"], ["any", "any"]),
    "sub": ("sub", lambda a, b: a - b, ["mn", "mn"], ["any", "any"]),
    "sub_scalar": ("sub", lambda a, b: a - b, ["mn", ""], ["any", "any"]),
    "neg": ("neg", lambda a: -a, ["mn"], ["any"]),
    "mul": ("mul", lambda a, b: a * b, ["mn", "mn"], ["any", "any"]),
    "mul_scalar": ("mul", lambda a, b: a * b, ["", "mn"], ["any", "any"]),
    "div": ("div", lambda a, b: a / b, ["mn", "mn"], ["any", "pos"]),
    "div_scalar_top": ("div", lambda a, b: a / b, ["", "mn"], ["any", "pos"]),
    "div_scalar_bottom": ("div", lambda a, b: a / b, ["mn", ""], ["any", "pos"]),
    "pow2": ("pow", lambda a: a**2, ["mn"], ["any"]),
    "pow3": ("pow", lambda a: E.pow(a, 3), ["mn"], ["any"]),
    "pow_frac": ("pow", lambda a: a**-1.5, ["mn"], ["pos"]),
    "matmul": ("matmul", lambda a, b: a @ b, ["mk", "kn"], ["any", "any"]),
    "transpose": ("transpose", lambda a: a.T, ["mn"], ["any"]),
    "identity": ("identity", lambda a: E.identity(a), ["mn"], ["any"]),
    "sum": ("sum", lambda a: E.sum(a), ["mn"], ["any"]),
    "sum0": ("sum", lambda a: E.sum(a, 0), ["mn"], ["any"]),
    "sum1": ("sum", lambda a: E.sum(a, 1), ["mn"], ["any"]),
    "mean": ("mean", lambda a: E.mean(a), ["mn"], ["any"]),
    "mean0": ("mean", lambda a: E.mean(a, 0), ["mn"], ["any"]),
    "mean1": ("mean", lambda a: E.mean(a, 1), ["mn"], ["any"]),
    "expand": ("expand", lambda a: E.expand(a, (2, 3)), [""], ["any"]),
    "scalar": ("scalar", lambda a: E.scalar(a.T @ a), ["m1"], ["any"]),
    "add_bias": ("add_bias", lambda a, b: E.add_bias(a, b), ["mn", "m1"], ["any", "any"]),
    "diag_vec": ("diag", lambda a: E.diag(a), ["m1"], ["any"]),
    "diag_mat": ("diag", lambda a: E.diag(a), ["mm"], ["any"]),
    "outer": ("outer", lambda a, b: E.outer(a, b), ["m1", "n1"], ["any", "any"]),
    "trace": ("trace", lambda a: E.trace(a), ["mm"], ["any"]),
    "exp": ("exp", E.exp, ["mn"], ["any"]),
    "log": ("log", E.log, ["mn"], ["pos"]),
    "sqrt": ("sqrt", E.sqrt, ["mn"], ["pos"]),
    "abs": ("abs", E.abs, ["mn"], ["away"]),
    "sign": ("sign", E.sign, ["mn"], ["away"]),
    "step": ("step", E.step, ["mn"], ["away"]),
    "tanh": ("tanh", E.tanh, ["mn"], ["any"]),
    "sigmoid": ("sigmoid", E.sigmoid, ["mn"], ["any"]),
    "relu": ("relu", E.relu, ["mn"], ["away"]),
    "softplus": ("softplus", E.softplus, ["mn"], ["any"]),
    **{
        f"phi_{fn}": ("phi", lambda a, fn=fn: E.phi(a, fn), ["mn"], ["away"])
        for fn in E.ACTIVATIONS
    },
    **{
        f"dphi_{fn}": ("dphi", lambda a, fn=fn: E.dphi(a, fn), ["mn"], ["away"])
        for fn in E.ACTIVATIONS
    },
    "norm": ("norm", E.norm, ["mn"], ["away"]),
    "penalty": (
        "penalty",
        lambda lam, a, b: E.penalty(lam, a, b),
        ["", "mn", "kn"],
        ["pos", "any", "any"],
    ),
    "softmax": ("softmax", E.softmax, ["mn"], ["any"]),
    "log_softmax": ("log_softmax", E.log_softmax, ["mn"], ["any"]),
    "l": ("l", lambda o, y: E.l(o, y), ["mn", "mn"], ["any", "any"]),
    "squared_loss": ("squared_loss", E.squared_loss, ["mn", "mn"], ["any", "any"]),
    "cross_entropy": ("cross_entropy", E.cross_entropy, ["mn", "mn"], ["any", "prob"]),
    "cross_entropy_free_y": ("cross_entropy", E.cross_entropy, ["mn", "mn"], ["any", "any"]),
}

NOT_DIFFERENTIABLE_BUILDERS = {"const", "eye", "ones"}  # constants: checked in test_engine_api


def _draw(rng: np.random.Generator, shape: tuple[int, ...], domain: str) -> np.ndarray:
    if domain == "pos":
        return rng.uniform(0.5, 2.0, shape)
    if domain == "away":
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 2.0, shape)
    if domain == "prob":
        p = rng.uniform(0.1, 1.0, shape)
        return p / p.sum(axis=0, keepdims=True)
    return rng.standard_normal(shape)


def _inputs(case: str, seed: int, dims: dict[str, int]) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    _, _, shapes, domains = CASES[case]
    sized = [tuple(dims[c] if c in dims else int(c) for c in s) for s in shapes]
    return [_draw(rng, s, d) for s, d in zip(sized, domains, strict=True)]


def _value(case: str, arrays: list[np.ndarray]) -> np.ndarray:
    return CASES[case][1](*[E.Tensor(a) for a in arrays]).value


sizes = st.fixed_dictionaries(
    {"m": st.integers(1, 4), "n": st.integers(1, 4), "k": st.integers(1, 3)}
)
seeds = st.integers(0, 2**32 - 1)
case_names = st.sampled_from(sorted(CASES))


def test_every_op_in_the_table_is_checked() -> None:
    covered = {entry[0] for entry in CASES.values()}
    assert set(E.OPS) - covered == NOT_DIFFERENTIABLE_BUILDERS


@pytest.mark.parametrize("case", sorted(CASES))
@settings(max_examples=12, deadline=None)
@given(dims=sizes, seed=seeds)
def test_gradient_matches_finite_differences(case: str, dims: dict[str, int], seed: int) -> None:
    arrays = _inputs(case, seed, dims)
    weights = np.random.default_rng(seed + 1).standard_normal(_value(case, arrays).shape)

    def objective(arrs: list[np.ndarray]) -> float:
        return float(np.sum(_value(case, arrs) * weights))

    leaves = [E.Tensor(a) for a in arrays]
    J = E.sum(CASES[case][1](*leaves) * weights)
    got = E.grad(J, leaves)
    for g, want, a in zip(got, numeric_grad(objective, arrays), arrays, strict=True):
        assert g.shape == a.shape
        np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", sorted(CASES))
@settings(max_examples=8, deadline=None)
@given(dims=sizes, seed=seeds)
def test_jvp_matches_finite_differences(case: str, dims: dict[str, int], seed: int) -> None:
    arrays = _inputs(case, seed, dims)
    rng = np.random.default_rng(seed + 2)
    tangents = [rng.standard_normal(a.shape) for a in arrays]
    leaves = [E.Tensor(a) for a in arrays]
    got = E.jvp(CASES[case][1](*leaves), leaves, tangents)
    want = directional(lambda arrs: _value(case, arrs), arrays, tangents)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", sorted(CASES))
@settings(max_examples=6, deadline=None)
@given(dims=sizes, seed=seeds)
def test_hvp_matches_finite_differences_of_the_gradient(
    case: str, dims: dict[str, int], seed: int
) -> None:
    arrays = _inputs(case, seed, dims)
    rng = np.random.default_rng(seed + 3)
    weights = rng.standard_normal(_value(case, arrays).shape)
    vs = [rng.standard_normal(a.shape) for a in arrays]

    def build(arrs: list[np.ndarray]) -> tuple[E.Tensor, list[E.Tensor]]:
        # tanh of the output gives even linear ops a non-zero Hessian
        leaves = [E.Tensor(a) for a in arrs]
        return E.sum(E.tanh(CASES[case][1](*leaves)) * weights), leaves

    J, leaves = build(arrays)
    forward = E.hvp(J, leaves, vs)
    reverse = E.hvp(J, leaves, vs, method="reverse")

    def gradient(arrs: list[np.ndarray]) -> np.ndarray:
        J2, leaves2 = build(arrs)
        return np.concatenate([g.ravel() for g in E.grad(J2, leaves2)])

    want = directional(gradient, arrays, vs, eps=1e-5)
    got = np.concatenate([h.ravel() for h in forward])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got, np.concatenate([h.ravel() for h in reverse]), atol=1e-10)
