"""The formula language: one safe language for students' answers, an exercise's ``model:``
and instructors' ``reference:``/``mistakes:`` expressions.

Reading a formula::

    ns = Namespace(
        variables={"x": ["d"], "W1": ["h", "d"], "b1": ["h"], "lam": []},
        sizes=["d", "h"],
        functions={"l": 2, "grad": 2},      # caller-implemented, with their arity
        activations=["phi"],               # elementwise, so phi'(z) and dphi(z) work
    )
    tree = parse("W^(1) x + b_1", ns)      # -> Node (W^(1) is W1 because W1 is declared)

    parse(text, namespace=None) -> Node
        our own lexer and a recursive-descent parser (the grammar is in
        ``parser.py``'s docstring); builds the dataclasses of
        ``grader.mathexpr.ast`` with 1-based columns. The default namespace is
        ``Namespace.chapter()`` (x y W1 b1 W2 b2 lam z h o L s J; sizes d h q; phi, l,
        grad, hessian, hvp). Notations that mean the same give equal trees: ``A @ B``,
        ``A·B``, ``A B``; ``a * b``, ``a ⊙ b``; ``2(o - y)``, ``2*(o-y)``, ``2 × (o-y)``;
        ``A.T``, ``A^T``, ``Aᵀ``, ``transpose(A)``; ``a^2``, ``a**2``, ``a²``; ``W1``,
        ``W_1``, ``W_{1}``, ``W^(1)``, ``W⁽¹⁾``, ``W₁``; ``lam``, ``λ``, ``lambda``;
        ``phi'(z)``, ``φ'(z)``, ``φ′(z)``, ``dphi(z)``; ``−`` for ``-``.

    evaluate(tree, values, functions=None, *, sizes=None, limits=DEFAULT_LIMITS) -> ndarray
        numpy float64, strict shapes (vectors are columns; no broadcasting), bounded
        arithmetic. ``functions`` gives callables for caller functions, or binds an
        activation to a built-in: ``{"phi": "tanh"}``. ``sizes`` names the sizes in
        shape messages: "`*` is elementwise: (h×q) with (q×1); for a matrix product use @".

    to_source(tree) -> str      canonical ASCII that parses back to an equal tree
    to_latex(tree) -> str       LaTeX for previews
    to_mathml(tree, display="inline") -> str    presentation MathML, escaped

    to_engine(tree, nodes, *, ops=None, sizes=None, functions=None) -> engine.Tensor
        translate a tree into engine ops; ``nodes`` maps names to engine nodes, ``ops`` is
        ``grader.engine.ops_table(phi=...)`` for the trial's activation. ``grad(J, w)`` is
        an engine node (differentiable again), ``hessian``/``hvp`` engine constants.
    build_model(model, leaves, namespace=None, *, ops=None, sizes=None, params=(),
                output="o", objective="J") -> engine.Model
        a YAML ``model:`` section ({"z": "W1 @ x + b1", ...}) as named engine nodes;
        errors are ``ModelFormulaError`` naming the quantity.

Errors (all subclasses of ``FormulaError(message, column)``, itself a ValueError):
``FormulaSyntaxError`` (not a formula), ``UnknownNameError`` (``.name``, ``.known``),
``FormulaShapeError`` (``.operator``, ``.shapes``), ``FormulaLimitError`` (a safety limit:
length 2,000 characters, 400 tokens, 30 nested brackets, tree depth 80, exponents ±10,
literals up to 1e9, ones/eye sizes up to 1,000, arrays of 10^6 numbers, 5·10^7 operations
and 4·10^6 numbers allocated per evaluation; see :class:`Limits`).

No ``eval``: the text is only ever read by the lexer and the parser, and evaluation walks
our own tree.
"""

from .ast import (
    BinOp,
    Call,
    Name,
    Neg,
    Node,
    Number,
    Pow,
    Size,
    Transpose,
    functions_used,
    names_used,
    walk,
)
from .build import Builder
from .errors import (
    FormulaError,
    FormulaLimitError,
    FormulaShapeError,
    FormulaSyntaxError,
    UnknownNameError,
)
from .evaluate import as_value, evaluate
from .limits import DEFAULT_LIMITS, Limits
from .mathml import to_mathml
from .namespace import Namespace
from .parser import parse
from .render import to_latex, to_source
from .shapes import format_shape
from .to_engine import ModelFormulaError, build_model, to_engine

__all__ = [
    "DEFAULT_LIMITS",
    "BinOp",
    "Builder",
    "Call",
    "FormulaError",
    "FormulaLimitError",
    "FormulaShapeError",
    "FormulaSyntaxError",
    "Limits",
    "ModelFormulaError",
    "Name",
    "Namespace",
    "Neg",
    "Node",
    "Number",
    "Pow",
    "Size",
    "Transpose",
    "UnknownNameError",
    "as_value",
    "build_model",
    "evaluate",
    "format_shape",
    "functions_used",
    "names_used",
    "parse",
    "to_latex",
    "to_mathml",
    "to_engine",
    "to_source",
    "walk",
]
