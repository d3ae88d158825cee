"""Building models from named expressions: the op table a translator calls by name, the
:class:`Model` of named nodes, and the chapter's model built from arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from grader.engine import ops_basic as lin
from grader.engine import ops_nonlinear as nl
from grader.engine.autodiff import grad
from grader.engine.tensor import Tensor, UnsupportedOpError, const, leaf

_TABLE: dict[str, Callable[..., Tensor]] = {
    "matmul": lin.matmul,
    "add": lin.add,
    "add_bias": lin.add_bias,
    "sub": lin.sub,
    "neg": lin.neg,
    "mul": lin.mul,
    "div": lin.div,
    "pow": lin.pow,
    "transpose": lin.transpose,
    "sum": lin.sum,
    "mean": lin.mean,
    "scalar": lin.scalar,
    "identity": lin.identity,
    "diag": lin.diag,
    "outer": lin.outer,
    "trace": lin.trace,
    "eye": lin.eye,
    "ones": lin.ones,
    "const": const,
    "exp": nl.exp,
    "log": nl.log,
    "sqrt": nl.sqrt,
    "abs": nl.abs,
    "sign": nl.sign,
    "step": nl.step,
    "tanh": nl.tanh,
    "sigmoid": nl.sigmoid,
    "relu": nl.relu,
    "softplus": nl.softplus,
    "phi": nl.phi,
    "dphi": nl.dphi,
    "norm": nl.norm,
    "penalty": nl.penalty,
    "softmax": nl.softmax,
    "log_softmax": nl.log_softmax,
    "l": nl.squared_loss,
    "squared_loss": nl.squared_loss,
    "cross_entropy": nl.cross_entropy,
}


class OpTable(Mapping[str, Callable[..., Tensor]]):
    """A read-only name -> op mapping; an unknown name raises UnsupportedOpError."""

    def __init__(self, table: Mapping[str, Callable[..., Tensor]]) -> None:
        self._table = dict(table)

    def __getitem__(self, name: str) -> Callable[..., Tensor]:
        try:
            return self._table[name]
        except KeyError:
            known = ", ".join(sorted(self._table))
            raise UnsupportedOpError(
                f"the engine has no operation {name!r}; it implements: {known}"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)


OPS = OpTable(_TABLE)
"""Every op by name. ``phi``/``dphi`` take ``fn=`` and ``l`` is the squared loss; use
:func:`ops_table` for a table with the activation and the loss bound."""


def ops_table(phi: str = "tanh", loss: str = "squared") -> OpTable:
    """The op table with ``phi``, ``dphi`` bound to an activation and ``l`` to a loss.

    Raises EngineError for an unknown activation or loss.
    """
    nl._activation(phi)  # validate now, not at first use
    nl.loss(const(np.zeros((1, 1))), const(np.zeros((1, 1))), loss)
    table = dict(_TABLE)
    table["phi"] = partial(nl.phi, fn=phi)
    table["dphi"] = partial(nl.dphi, fn=phi)
    table["l"] = partial(nl.loss, kind=loss)
    return OpTable(table)


@dataclass
class Model(Mapping[str, Tensor]):
    """Named nodes of a traced model (leaves and named results), read like a dict.

    ``params`` names the trained leaves, ``output`` the prediction, ``objective`` the scalar
    being minimised.
    """

    nodes: dict[str, Tensor]
    params: tuple[str, ...]
    output: str = "o"
    objective: str = "J"
    functions: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Tensor:
        return self.nodes[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def parameters(self) -> list[Tensor]:
        """The parameter nodes in ``params`` order."""
        return [self.nodes[p] for p in self.params]

    def gradients(self) -> dict[str, np.ndarray]:
        """dJ/dp of the objective for every parameter, by name."""
        values = grad(self.nodes[self.objective], self.parameters())
        return dict(zip(self.params, values, strict=True))


def chapter_model(
    x: Any,
    y: Any,
    W1: Any,
    b1: Any,
    W2: Any,
    b2: Any,
    lam: Any,
    phi: str = "tanh",
    loss: str = "squared",
    bias: bool = True,
) -> Model:
    """The chapter's one-hidden-layer model with weight decay, built from arrays.

    z = W1 x + b1, h = phi(z), o = W2 h + b2, L = l(o, y), s = lam/2 (||W1||² + ||W2||²),
    J = L + s; with ``bias=False`` the biases are left out (b1, b2 may be None). ``x`` is
    (d,) or (d, n) (one example per column), ``y`` (q,) or (q, n). Leaves get the symbolic
    shapes x (d,n), y (q,n), W1 (h,d), b1 (h,1), W2 (q,h), b2 (q,1) for memory accounting.
    Returns the Model with nodes x, y, W1, [b1,] W2, [b2,] lam, z, h, o, L, s, J.
    Raises EngineShapeError when the sizes do not fit together.
    """
    nodes: dict[str, Tensor] = {
        "x": leaf(x, "x", ("d", "n")),
        "y": leaf(y, "y", ("q", "n")),
        "W1": leaf(W1, "W1", ("h", "d")),
        "W2": leaf(W2, "W2", ("q", "h")),
        "lam": leaf(lam, "lam", ()),
    }
    if bias:
        nodes["b1"] = leaf(b1, "b1", ("h", 1))
        nodes["b2"] = leaf(b2, "b2", ("q", 1))
    n = nodes

    def affine(W: str, a: Tensor, b: str) -> Tensor:
        product = lin.matmul(n[W], a)
        return lin.add_bias(product, n[b]) if bias else product

    n["z"] = affine("W1", n["x"], "b1").named("z")
    n["h"] = nl.phi(n["z"], phi).named("h")
    n["o"] = affine("W2", n["h"], "b2").named("o")
    n["L"] = nl.loss(n["o"], n["y"], loss).named("L")
    squares = nl.norm(n["W1"]) ** 2 + nl.norm(n["W2"]) ** 2
    n["s"] = (n["lam"] / 2 * squares).named("s")
    n["J"] = (n["L"] + n["s"]).named("J")
    params = ("W1", "b1", "W2", "b2") if bias else ("W1", "W2")
    return Model(nodes, params, functions={"phi": phi, "l": loss})
