"""Fixtures for the formula language: the chapter's namespace and one random trial."""

from __future__ import annotations

import numpy as np
import pytest

from grader.mathexpr import Namespace

SIZES = {"d": 3, "h": 5, "q": 2}


def chapter_values(rng: np.random.Generator, sizes: dict[str, int] = SIZES) -> dict:
    """Random inputs and parameters, and the forward pass with phi = tanh."""
    d, h, q = sizes["d"], sizes["h"], sizes["q"]
    v = {
        "x": rng.normal(size=(d, 1)),
        "y": rng.normal(size=(q, 1)),
        "W1": rng.normal(size=(h, d)),
        "b1": rng.normal(size=(h, 1)),
        "W2": rng.normal(size=(q, h)),
        "b2": rng.normal(size=(q, 1)),
        "lam": float(rng.uniform(0.1, 1.0)),
    }
    v["z"] = v["W1"] @ v["x"] + v["b1"]
    v["h"] = np.tanh(v["z"])
    v["o"] = v["W2"] @ v["h"] + v["b2"]
    v["L"] = float(np.sum((v["o"] - v["y"]) ** 2))
    v["s"] = v["lam"] / 2 * (np.sum(v["W1"] ** 2) + np.sum(v["W2"] ** 2))
    v["J"] = v["L"] + v["s"]
    return v


def squared_loss(o: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The chapter's loss ||o - y||², strict about shapes."""
    if o.shape != y.shape:
        raise ValueError(f"o and y differ in shape: {o.shape} and {y.shape}")
    return np.asarray(np.sum((o - y) ** 2))


FUNCTIONS = {"phi": "tanh", "l": squared_loss}


@pytest.fixture(scope="session")
def ns() -> Namespace:
    return Namespace.chapter()


@pytest.fixture
def values() -> dict:
    return chapter_values(np.random.default_rng(1234))
