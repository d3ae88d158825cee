"""The reference backprop engine: reverse-mode autodiff over numpy float64 arrays.

No Flask, no database. In micrograd's style: one node class (:class:`Tensor`); each op computes
its value and, beside it, its backward rule per input (vjp) and its forward rule per input
(jvp), both written with engine ops so derivatives can be differentiated again. Graph walks are
iterative (a 10,000-op chain is fine).

Values and shapes
    float64 arrays of shape ``()`` (a **scalar**) or ``(m, n)``. A vector of size d is the
    column (d, 1); a 1-D input becomes a column; batches are (d, n), one example per column.
    A (1, 1) result (such as xᵀy) is a matrix, not a scalar: ``scalar(t)`` converts it.
    Elementwise ops (add, sub, mul, div, l) need equal shapes or a scalar on one side, else
    :class:`EngineShapeError` (a ValueError); there is no numpy broadcasting of (3,1) with
    (1,3). ``add_bias(A, b)`` adds a column b to every column of A (batched biases).

Building
    ``Tensor(value, name=None, shape_symbols=None)`` / ``leaf(value, name, shape_symbols)``
    make inputs and parameters; ``const(value)`` a constant; ``node.named("z")`` names a
    result; operators ``+ - * / ** @``, unary ``-`` and ``.T`` call the ops.
    ``OPS[name]`` maps names to ops (unknown name: :class:`UnsupportedOpError`);
    ``ops_table(phi="tanh", loss="squared")`` binds ``phi``/``dphi``/``l``.
    Ops: matmul add add_bias sub neg mul div pow(constant exponent) transpose sum mean
    (axis None -> scalar, 0 -> 1×n, 1 -> m×1) scalar identity diag outer trace eye ones const
    exp log sqrt abs sign step tanh sigmoid relu softplus phi dphi (fn = tanh | sigmoid |
    softplus | relu) norm (Frobenius) penalty (lam/2 Σ||W||²) softmax log_softmax
    l = squared_loss (||o − y||², no ½) cross_entropy (softmax, columns are examples, summed).
    ``chapter_model(x, y, W1, b1, W2, b2, lam, phi="tanh", loss="squared", bias=True)``
    returns a :class:`Model` (a mapping of named nodes x y W1 b1 W2 b2 lam z h o L s J).

Differentiating
    ``grad(J, wrt, create_graph=False)``: dJ/dwrt for a scalar node J and one node or a list
    (inputs or intermediates); arrays of wrt's shape (nodes if create_graph).
    ``jvp(f, inputs, tangents)``: forward mode. ``hvp(J, wrt, v, method="forward")``:
    forward-over-reverse (``"reverse"``: reverse-over-reverse). ``hessian(J, wrt)``: (n, n)
    over the variables flattened row-major (C order) and concatenated; H[i, j] =
    ∂²J/∂w_i∂w_j. ``jacobian(f, w)``: (f.size, w.size), both row-major.
    ``counting()`` counts elementary ops (``Cost``: ops, flops, by_op, mults and
    ``sym_mults``, the multiplications of products of arrays);
    ``costs(J, wrt)`` returns a :class:`CostReport` of forward, backward, jvp, hvp, hessian.

Forward against reverse mode (conventions in ``grader.engine.accumulation``)
    ``forward_accumulation(f, w)``: ∂f/∂w by one JVP per entry of w, measured: an
    :class:`Accumulation` with the ``jacobian`` (f.size, w.size), the ``carried`` Jacobians
    ∂t/∂w (:class:`Carried`: floats, sym_floats, the nodes sharing the array), the ``steps``,
    ``peak``/``sym_peak``/``peak_items`` of the carried memory, and ``forward``, a
    :class:`ModeCost` (passes, cost, ``mults``/``sym_mults``, per-pass ``products``).
    ``reverse_accumulation(J, w)``: the same :class:`ModeCost` for one backward pass.

Memory (convention in ``grader.engine.memory``)
    ``training_memory(J, params)`` and ``prediction_memory(output, params)`` return a
    :class:`MemoryReport` with ``items`` (name, category, shape, sym_shape, floats,
    sym_floats, why), ``total`` and ``sym_total`` (sympy, in the leaves' shape symbols).
    Scalars are not counted. ``report.at({"d": 784, "n": 1})`` evaluates the symbolic total;
    ``item.explain()`` is a feedback sentence; ``size_symbol("d")`` is the engine's sympy
    symbol for a size (positive, integer). ``saved_reads(J, params)`` lists what each
    backward rule reads.

Graph (convention in ``grader.engine.graph``)
    ``computational_graph(roots)`` -> ``{"nodes": [{"id", "label", "type"}], "edges"}``;
    ``to_dot(roots)`` for Graphviz; ``traced_graph(roots)`` adds where each tensor is drawn.
    Leaves and named results are variables; each op is an
    operator labelled ``op_label(op)`` (matmul, add, sub, mul, div, pow, phi, l, norm, ...);
    scalar numeric constants are omitted (shown in DOT labels only).
"""

from grader.engine.accumulation import (
    Accumulation,
    Carried,
    ModeCost,
    Product,
    forward_accumulation,
    reverse_accumulation,
)
from grader.engine.autodiff import CostReport, costs, grad, hessian, hvp, jacobian, jvp
from grader.engine.graph import OP_LABELS, computational_graph, op_label, to_dot, traced_graph
from grader.engine.memory import (
    MemoryItem,
    MemoryReport,
    describe,
    prediction_memory,
    saved_reads,
    training_memory,
)
from grader.engine.model import OPS, Model, OpTable, chapter_model, ops_table
from grader.engine.ops_basic import (
    add,
    add_bias,
    diag,
    div,
    expand,
    eye,
    identity,
    matmul,
    mean,
    mul,
    neg,
    ones,
    outer,
    pow,
    scalar,
    sub,
    sum,
    trace,
    transpose,
)
from grader.engine.ops_nonlinear import (
    ACTIVATIONS,
    LOSSES,
    abs,
    cross_entropy,
    dphi,
    exp,
    log,
    log_softmax,
    loss,
    norm,
    penalty,
    phi,
    relu,
    sigmoid,
    sign,
    softmax,
    softplus,
    sqrt,
    squared_loss,
    step,
    tanh,
)
from grader.engine.tensor import (
    Cost,
    EngineError,
    EngineShapeError,
    Tensor,
    UnsupportedOpError,
    ancestors,
    const,
    counting,
    leaf,
    size_symbol,
    sym_size,
)

l = squared_loss  # noqa: E741 - the chapter's name for the loss

__all__ = [
    "ACTIVATIONS",
    "Accumulation",
    "Carried",
    "ModeCost",
    "Product",
    "forward_accumulation",
    "reverse_accumulation",
    "LOSSES",
    "OPS",
    "OP_LABELS",
    "Cost",
    "CostReport",
    "EngineError",
    "EngineShapeError",
    "MemoryItem",
    "MemoryReport",
    "Model",
    "OpTable",
    "Tensor",
    "UnsupportedOpError",
    "abs",
    "add",
    "add_bias",
    "ancestors",
    "chapter_model",
    "computational_graph",
    "const",
    "costs",
    "counting",
    "cross_entropy",
    "describe",
    "diag",
    "div",
    "dphi",
    "exp",
    "expand",
    "eye",
    "grad",
    "hessian",
    "hvp",
    "identity",
    "jacobian",
    "jvp",
    "l",
    "leaf",
    "log",
    "log_softmax",
    "loss",
    "matmul",
    "mean",
    "mul",
    "neg",
    "norm",
    "op_label",
    "ones",
    "ops_table",
    "outer",
    "penalty",
    "phi",
    "pow",
    "prediction_memory",
    "relu",
    "saved_reads",
    "scalar",
    "sigmoid",
    "sign",
    "size_symbol",
    "sym_size",
    "softmax",
    "softplus",
    "sqrt",
    "squared_loss",
    "step",
    "sub",
    "sum",
    "tanh",
    "to_dot",
    "trace",
    "traced_graph",
    "training_memory",
    "transpose",
]
