"""Central finite differences: the independent reference the engine's derivatives meet."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numeric_grad(
    f: Callable[[list[np.ndarray]], float], arrays: list[np.ndarray], eps: float = 1e-6
) -> list[np.ndarray]:
    """d f / d arrays[i] for each i, by central differences, entry by entry."""
    grads = []
    for i, a in enumerate(arrays):
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            plus = [b.copy() for b in arrays]
            minus = [b.copy() for b in arrays]
            plus[i][idx] += eps
            minus[i][idx] -= eps
            g[idx] = (f(plus) - f(minus)) / (2 * eps)
        grads.append(g)
    return grads


def directional(
    f: Callable[[list[np.ndarray]], np.ndarray],
    arrays: list[np.ndarray],
    tangents: list[np.ndarray],
    eps: float = 1e-6,
) -> np.ndarray:
    """(f(x + eps t) − f(x − eps t)) / 2 eps."""
    plus = [a + eps * t for a, t in zip(arrays, tangents, strict=True)]
    minus = [a - eps * t for a, t in zip(arrays, tangents, strict=True)]
    return (np.asarray(f(plus)) - np.asarray(f(minus))) / (2 * eps)
