"""Render a syntax tree as canonical source text and as LaTeX.

:func:`to_source` writes plain ASCII that parses back to an equal tree (given the same
namespace). :func:`to_latex` writes LaTeX for previews. Both recurse at most as deep as
the tree, which the parser bounds (:attr:`Limits.max_depth`).
"""

from __future__ import annotations

import re

from .ast import (
    ADD,
    DIV,
    MATMUL,
    MUL,
    PRODUCT,
    SUB,
    BinOp,
    Call,
    Name,
    Neg,
    Node,
    Number,
    Pow,
    Size,
    Transpose,
)

# Precedence levels of the grammar: sum < product < unary < power < postfix < atom.
SUM, PRODUCT_LEVEL, UNARY, POWER, POSTFIX, ATOM = range(1, 7)


def level(node: Node) -> int:
    """Return the grammar level a node's text sits at (to decide on brackets)."""
    if isinstance(node, BinOp):
        return SUM if node.op in (ADD, SUB) else PRODUCT_LEVEL
    if isinstance(node, Neg):
        return UNARY
    if isinstance(node, Pow):
        return POWER
    if isinstance(node, Transpose):
        return POSTFIX
    return ATOM


def operand_levels(node: BinOp) -> tuple[int, int]:
    """The least levels the left and right operands of ``node`` may have unbracketed."""
    if node.op in (ADD, SUB):
        return SUM, PRODUCT_LEVEL
    if node.op == PRODUCT:
        return PRODUCT_LEVEL, POWER  # a juxtaposed operand cannot start with a sign
    return PRODUCT_LEVEL, UNARY


def format_number(value: float) -> str:
    """Shortest text that reads back as exactly ``value``."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def format_exponent(value: float) -> str:
    text = format_number(abs(value))
    return f"(-{text})" if value < 0 else text


# -- source ----------------------------------------------------------------------------------


def to_source(node: Node) -> str:
    """Return canonical ASCII source for ``node``: ``W2.T @ (2 * (o - y)) * phi'(z)``."""
    return _source(node, None)


def _source(node: Node, run_fits: bool | None) -> str:
    """``run_fits``: for the left operand of a product, whether the run of products it is
    printed in has a known shape (the parser then reads it left to right)."""

    def wrap(child: Node, least: int, fits: bool | None = None) -> str:
        text = _source(child, fits)
        return f"({text})" if level(child) < least else text

    if isinstance(node, Number):
        return format_number(node.value)
    if isinstance(node, Name | Size):
        return node.name
    if isinstance(node, Neg):
        return "-" + wrap(node.operand, UNARY)
    if isinstance(node, Pow):
        return wrap(node.base, POSTFIX) + "^" + format_exponent(node.exponent)
    if isinstance(node, Transpose):
        return wrap(node.operand, POSTFIX) + ".T"
    if isinstance(node, Call):
        args = ", ".join(to_source(a) for a in node.args)
        return f"{node.name}{chr(39) if node.prime else ''}({args})"
    if isinstance(node, BinOp):
        low_left, low_right = operand_levels(node)
        fits = None
        if node.op not in (ADD, SUB):
            fits = run_fits if run_fits is not None else node.shape is not None
            if not fits and _mixes_products(node):
                low_left = UNARY  # (a * b) @ c: the parser would choose another grouping
        symbol = " " if node.op == PRODUCT else f" {node.op} "
        return wrap(node.left, low_left, fits) + symbol + wrap(node.right, low_right)
    raise TypeError(f"not a formula node: {node!r}")


def _mixes_products(node: BinOp) -> bool:
    """True when ``node`` and its left operand are products of the two kinds (elementwise
    ``* /``, matrix ``@`` and juxtaposition): printed unbracketed in a run whose shapes do
    not fit, such a run is regrouped by the parser (DESIGN 3), so the source brackets it."""
    left = node.left
    if node.op in (ADD, SUB) or not isinstance(left, BinOp) or left.op in (ADD, SUB):
        return False
    return (node.op in (MUL, DIV)) != (left.op in (MUL, DIV))


# -- LaTeX -----------------------------------------------------------------------------------

GREEK_LATEX = {
    "lam": r"\lambda",
    "lambda": r"\lambda",
    "phi": r"\varphi",
    "alpha": r"\alpha",
    "beta": r"\beta",
    "gamma": r"\gamma",
    "delta": r"\delta",
    "eps": r"\varepsilon",
    "epsilon": r"\varepsilon",
    "eta": r"\eta",
    "theta": r"\theta",
    "mu": r"\mu",
    "sigma": r"\sigma",
    "tau": r"\tau",
    "omega": r"\omega",
}
FUNCTION_LATEX = {"exp": r"\exp", "log": r"\log", "tanh": r"\tanh", "trace": r"\operatorname{tr}"}
_INDEXED = re.compile(r"^([^\W\d_]+)_?(\d+)$")


def _latex_word(word: str) -> str:
    if word in GREEK_LATEX:
        return GREEK_LATEX[word]
    if len(word) == 1:
        return word
    return r"\mathrm{" + word.replace("_", r"\_") + "}"


def latex_name(name: str) -> str:
    """``W1`` -> ``W_{1}``, ``lam`` -> ``\\lambda``, ``dJ_do`` -> ``\\mathrm{dJ\\_do}``."""
    match = _INDEXED.match(name)
    if match:
        return f"{_latex_word(match.group(1))}_{{{match.group(2)}}}"
    return _latex_word(name)


def _latex_number(value: float) -> str:
    text = format_number(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \cdot 10^{{{int(exponent)}}}"
    return text


def _is_scalar_product(node: BinOp) -> bool:
    return node.left.shape == () or node.right.shape == ()


def to_latex(node: Node) -> str:
    """Return LaTeX for ``node``: ``W_{2}^{\\top} \\left(2 \\left(o - y\\right)\\right) ...``."""

    def wrap(child: Node, least: int) -> str:
        text = to_latex(child)
        return rf"\left({text}\right)" if level(child) < least else text

    if isinstance(node, Number):
        return _latex_number(node.value)
    if isinstance(node, Name | Size):
        return latex_name(node.name)
    if isinstance(node, Neg):
        return "-" + wrap(node.operand, UNARY)
    if isinstance(node, Pow):
        exponent = format_number(node.exponent)
        return "{" + wrap(node.base, POSTFIX) + "}^{" + exponent + "}"
    if isinstance(node, Transpose):
        return "{" + wrap(node.operand, POSTFIX) + r"}^{\top}"
    if isinstance(node, Call):
        return _latex_call(node)
    if isinstance(node, BinOp):
        if node.op == DIV:
            return rf"\frac{{{to_latex(node.left)}}}{{{to_latex(node.right)}}}"
        low_left, low_right = operand_levels(node)
        if node.op == MUL and not _is_scalar_product(node):
            symbol = r" \odot "
        elif node.op in (MUL, MATMUL, PRODUCT):
            symbol = r" \, "
            low_right = max(low_right, POWER)  # juxtaposed: bracket a leading sign
        else:
            symbol = f" {node.op} "
        return wrap(node.left, low_left) + symbol + wrap(node.right, low_right)
    raise TypeError(f"not a formula node: {node!r}")


def _latex_call(node: Call) -> str:
    args = ", ".join(to_latex(a) for a in node.args)
    name = node.name
    if name == "abs":
        return rf"\left|{args}\right|"
    if name == "norm":
        return rf"\left\lVert {args} \right\rVert"
    if name == "sqrt" and not node.prime:
        return rf"\sqrt{{{args}}}"
    if name in FUNCTION_LATEX:
        head = FUNCTION_LATEX[name]
    elif name in GREEK_LATEX:
        head = GREEK_LATEX[name]
    elif len(name) == 1:
        head = name
    else:
        head = r"\operatorname{" + name.replace("_", r"\_") + "}"
    if node.prime:
        head += "'"
    return rf"{head}\left({args}\right)"
