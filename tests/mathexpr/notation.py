"""Write a tree back with randomly chosen notations, for property tests."""

from __future__ import annotations

from collections.abc import Callable

from grader.mathexpr.ast import (
    ADD,
    DIV,
    MATMUL,
    MUL,
    PRODUCT,
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
from grader.mathexpr.namespace import index_spellings
from grader.mathexpr.render import POSTFIX, POWER, UNARY, format_number, level, operand_levels

Choose = Callable[[list[str]], str]

GREEK = {"lam": ["lam", "λ", "lambda"], "phi": ["phi", "φ", "ϕ"]}


def spell_name(name: str, choose: Choose) -> str:
    return choose(GREEK.get(name) or index_spellings(name) or [name])


def variant(node: Node, choose: Choose) -> str:
    """Return some spelling of ``node`` that must parse back to an equal tree."""

    def wrap(child: Node, least: int) -> str:
        text = variant(child, choose)
        return f"({text})" if level(child) < least else text

    if isinstance(node, Number):
        text = format_number(node.value)
        return choose([text, f"({text})"]) if "e" not in text else text
    if isinstance(node, Size):
        return node.name
    if isinstance(node, Name):
        return spell_name(node.name, choose)
    if isinstance(node, Neg):
        return choose(["-", "−", "- "]) + wrap(node.operand, UNARY)
    if isinstance(node, Pow):
        base = wrap(node.base, POSTFIX)
        p = node.exponent
        spellings = [f"^{format_number(p)}" if p >= 0 else f"^({'-'}{format_number(-p)})"]
        spellings.append(spellings[0].replace("^", "**"))
        if p < 0:
            spellings.append(f"^-{format_number(-p)}")
        if p == int(p) and p >= 0:
            spellings.append(str(int(p)).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")))
        return base + choose(spellings)
    if isinstance(node, Transpose):
        inner = variant(node.operand, choose)
        form = choose([".T", "^T", "ᵀ", "^⊤", "call"])
        if form == "call":
            return f"transpose({inner})"
        return (f"({inner})" if level(node.operand) < POSTFIX else inner) + form
    if isinstance(node, Call):
        args = ", ".join(variant(a, choose) for a in node.args)
        if node.name == "phi":
            head = (
                choose(["phi", "φ"])
                if not node.prime
                else choose(["phi'", "φ'", "φ′", "dphi", "dφ", "phi’"])
            )
        else:
            head = node.name + ("'" if node.prime else "")
        return f"{head}({args})"
    if isinstance(node, BinOp):
        low_left, low_right = operand_levels(node)
        scalar_side = node.left.shape == () or node.right.shape == ()
        both_arrays = None not in (node.left.shape, node.right.shape) and not scalar_side
        if node.op == ADD:
            symbols = [" + ", "+"]
        elif node.op == DIV:
            symbols = [" / ", "÷"]
        elif node.op == MATMUL and both_arrays:
            symbols = [" @ ", "·", " × ", " "]
        elif node.op == MATMUL:
            symbols = [" @ ", "@"]
        elif node.op == PRODUCT:
            symbols = [" ", "×", " · "]
        elif node.op == MUL and scalar_side:
            symbols = [" * ", "⊙", " ", "×", "·"]
        elif node.op == MUL:
            symbols = [" * ", " ⊙ ", "∘"]
        else:
            symbols = [" - ", "−", " – "]
        symbol = choose(symbols)
        if symbol == " ":
            low_right = max(low_right, POWER)
        return wrap(node.left, low_left) + symbol + wrap(node.right, low_right)
    raise TypeError(node)
