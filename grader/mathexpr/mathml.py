"""Render a syntax tree as presentation MathML, for previews without a script or CDN.

Every piece of text goes through :func:`html.escape`, so nothing in a formula can become
markup.
"""

from __future__ import annotations

import re
from html import escape

from .ast import ADD, DIV, MUL, SUB, BinOp, Call, Name, Neg, Node, Number, Pow, Size, Transpose
from .render import POSTFIX, UNARY, format_number, level, operand_levels

MATHML_NS = "http://www.w3.org/1998/Math/MathML"
INVISIBLE_TIMES = "\u2062"
FUNCTION_APPLICATION = "\u2061"
GREEK = {
    "lam": "λ",
    "lambda": "λ",
    "phi": "φ",
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "eps": "ε",
    "epsilon": "ε",
    "eta": "η",
    "theta": "θ",
    "mu": "μ",
    "sigma": "σ",
    "tau": "τ",
    "omega": "ω",
}
_INDEXED = re.compile(r"^([^\W\d_]+)_?(\d+)$")


def _el(tag: str, text: str) -> str:
    return f"<{tag}>{escape(text)}</{tag}>"


def _mo(text: str) -> str:
    return _el("mo", text)


def _row(*parts: str) -> str:
    return "<mrow>" + "".join(parts) + "</mrow>"


def _fenced(inner: str, left: str = "(", right: str = ")") -> str:
    return _row(_mo(left), inner, _mo(right))


def _word(word: str) -> str:
    return _el("mi", GREEK.get(word, word))


def mathml_name(name: str) -> str:
    """``W1`` -> ``<msub><mi>W</mi><mn>1</mn></msub>``, ``lam`` -> ``<mi>λ</mi>``."""
    match = _INDEXED.match(name)
    if match:
        return f"<msub>{_word(match.group(1))}{_el('mn', match.group(2))}</msub>"
    return _word(name)


def _body(node: Node) -> str:
    def wrap(child: Node, least: int) -> str:
        inner = _body(child)
        return _fenced(inner) if level(child) < least else inner

    if isinstance(node, Number):
        return _el("mn", format_number(node.value))
    if isinstance(node, Name | Size):
        return mathml_name(node.name)
    if isinstance(node, Neg):
        return _row(_mo("−"), wrap(node.operand, UNARY))
    if isinstance(node, Pow):
        exponent = _el("mn", format_number(abs(node.exponent)))
        if node.exponent < 0:
            exponent = _row(_mo("−"), exponent)
        return f"<msup>{wrap(node.base, POSTFIX)}{exponent}</msup>"
    if isinstance(node, Transpose):
        return f"<msup>{wrap(node.operand, POSTFIX)}{_el('mi', '⊤')}</msup>"
    if isinstance(node, Call):
        return _call(node)
    if isinstance(node, BinOp):
        if node.op == DIV:
            return f"<mfrac>{_body(node.left)}{_body(node.right)}</mfrac>"
        low_left, low_right = operand_levels(node)
        if node.op in (ADD, SUB):
            symbol = "+" if node.op == ADD else "−"
        elif node.op == MUL and node.left.shape != () and node.right.shape != ():
            symbol = "⊙"
        else:
            symbol = INVISIBLE_TIMES
            low_right = max(low_right, UNARY + 1)
        return _row(wrap(node.left, low_left), _mo(symbol), wrap(node.right, low_right))
    raise TypeError(f"not a formula node: {node!r}")


def _call(node: Call) -> str:
    args = [_body(a) for a in node.args]
    joined = _mo(",").join(args)
    if node.name == "abs" and not node.prime:
        return _fenced(joined, "|", "|")
    if node.name == "norm":
        return _fenced(joined, "‖", "‖")
    if node.name == "sqrt" and not node.prime:
        return f"<msqrt>{joined}</msqrt>"
    head = _word(node.name)
    if node.prime:
        head = f"<msup>{head}{_mo('′')}</msup>"
    return _row(head, _mo(FUNCTION_APPLICATION), _fenced(joined))


def to_mathml(node: Node, display: str = "inline") -> str:
    """Return ``<math xmlns="http://www.w3.org/1998/Math/MathML">...</math>`` for ``node``;
    ``display`` is ``inline`` or ``block``. Raises ValueError for another display value."""
    if display not in ("inline", "block"):
        raise ValueError("display is 'inline' or 'block'")
    return f'<math xmlns="{MATHML_NS}" display="{display}">{_body(node)}</math>'
