"""Diagnoses from the structure of a wrong answer, compared with a correct formula of the part
(its ``answer``, or the reference when students could write it):

- terms: both formulas are split into their additive terms, each term's values are compared
  with the correct terms' on the trials (up to a constant): a term missing, a term that does
  not belong, a term with the wrong coefficient or sign, or the one term that differs;
- edits: one change to the answer that makes it right, tried in a fixed order: φ where φ′
  belongs (or the reverse), a specific activation (tanh) where φ belongs, the argument of a
  function (φ′(h) for φ′(z)), one name for another of the same shape, a transpose too many,
  a sign, a matrix product where the elementwise one belongs (or the reverse).

Each diagnosis is (key, feedback); the caller tries these after the value-only diagnoses of
:mod:`grader.kinds.formula_diagnose` that need no structure (a constant factor, a transpose).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from grader.kinds.formula_values import all_close, norm
from grader.mathexpr import (
    BinOp,
    Call,
    Name,
    Neg,
    Node,
    Number,
    Pow,
    Transpose,
    to_source,
    walk,
)
from grader.mathexpr.ast import ADD, DIV, MATMUL, MUL, PRODUCT, SUB
from grader.mathexpr.functions import ELEMENTWISE

Values = list[np.ndarray]
Evaluate = Callable[[Node], Values | None]
MAX_EDIT_NODES = 60
MAX_VARIANTS = 120


@dataclass
class Structure:
    """What a structural diagnosis needs: the answer's tree, a correct tree (or None), the
    names a student may use with their static shapes, and how to evaluate a tree on the
    submission's trials."""

    tree: Node
    correct: Node | None
    names: dict[str, object]
    evaluate: Evaluate
    rtol: float
    atol: float


def terms(node: Node) -> list[tuple[int, Node]]:
    """The additive terms of a formula with their signs: ``a - (b + c)`` is +a, -b, -c."""
    found: list[tuple[int, Node]] = []
    stack = [(1, node)]
    while stack:
        sign, current = stack.pop()
        if isinstance(current, BinOp) and current.op in (ADD, SUB):
            stack.append((sign if current.op == ADD else -sign, current.right))
            stack.append((sign, current.left))
        elif isinstance(current, Neg):
            stack.append((-sign, current.operand))
        else:
            found.append((sign, current))
    return found


def _ratio(a: Values, b: Values, rtol: float, atol: float) -> float | None:
    """c when a = c·b on every trial with one c (b nonzero), else None."""
    factor = None
    for x, y in zip(a, b, strict=True):
        if x.shape != y.shape:
            if x.size == y.size == 1:
                x = x.reshape(y.shape)
            else:
                return None
        yy = float(np.vdot(y, y))
        if yy <= atol * atol:
            return None
        c = float(np.vdot(x, y)) / yy
        if not np.isfinite(c) or norm(x - c * y) > atol + max(rtol, 1e-9) * (norm(x) + norm(y)):
            return None
        if factor is None:
            factor = c
        elif abs(c - factor) > 1e-6 * max(1.0, abs(factor)):
            return None
    return factor


def _number(c: float) -> str:
    from grader.kinds.formula_diagnose import format_factor

    return format_factor(c)


def _src(sign: int, node: Node) -> str:
    text = to_source(node).replace(" * ", "*")
    return f"-{text}" if sign < 0 else text


Term = tuple[int, Node]  # (sign, term)


@dataclass
class _Matching:
    """The answer's terms matched with the correct ones by value: ``pairs`` (answer term,
    correct term, coefficient), the answer's terms that match none, the correct ones missing."""

    mine: list[Term]
    right: list[Term]
    right_values: list[Values]
    pairs: list[tuple[int, int, float]]
    unmatched: list[int]
    missing: list[int]


def _match_terms(s: Structure, correct: Node) -> _Matching | None:
    mine, right = terms(s.tree), terms(correct)
    if len(mine) > 8 or len(right) > 8 or len(mine) == len(right) == 1:
        return None
    mine_values = [s.evaluate(t) for _, t in mine]
    right_values = [s.evaluate(t) for _, t in right]
    if any(v is None for v in mine_values) or any(v is None for v in right_values):
        return None
    used: set[int] = set()
    pairs: list[tuple[int, int, float]] = []
    unmatched: list[int] = []
    for i, values in enumerate(mine_values):
        for j, target in enumerate(right_values):
            c = None if j in used else _ratio(values, target, s.rtol, s.atol)  # type: ignore[arg-type]
            if c is not None:
                pairs.append((i, j, c * mine[i][0] * right[j][0]))
                used.add(j)
                break
        else:
            unmatched.append(i)
    missing = [j for j in range(len(right)) if j not in used]
    return _Matching(mine, right, right_values, pairs, unmatched, missing)  # type: ignore[arg-type]


def _coefficient(m: _Matching, i: int, j: int, c: float) -> tuple[str, str]:
    term = _src(1, m.right[j][1])
    k = _number((c - 1) * m.right[j][0])
    if abs(c + 1) <= 1e-6:
        return f"term:{k}*{term}", (
            f"Check the sign of the term `{_src(*m.mine[i])}` (the coefficient of "
            f"`{term}`); the other terms are right."
        )
    return f"term:{k}*{term}", (
        f"Check the coefficient of `{term}`: your term `{_src(*m.mine[i])}` is "
        f"{_number(c)} times what it should be; the other terms are right."
    )


def _differing_term(s: Structure, m: _Matching) -> tuple[str, str]:
    """The one answer term that matches no correct term, diagnosed by edits."""
    i, j = m.unmatched[0], m.missing[0]
    sub = Structure(m.mine[i][1], m.right[j][1], s.names, s.evaluate, s.rtol, s.atol)
    target = m.right_values[j]
    if m.mine[i][0] * m.right[j][0] < 0:
        target = [-t for t in target]
    edit = edit_diagnosis(sub, target)
    if edit is not None:
        return edit[0], f"In the term `{_src(*m.mine[i])}`: {edit[1]}"
    return (
        f"term-differs:{_src(*m.mine[i])}",
        f"The term `{_src(*m.mine[i])}` is not right; the other terms are.",
    )


def term_diagnosis(s: Structure) -> tuple[str, str] | None:
    """Compare the answer's terms with the correct formula's, by value."""
    m = _match_terms(s, s.correct) if s.correct is not None else None
    if m is None:
        return None
    off = [(i, j, c) for i, j, c in m.pairs if abs(c - 1) > 1e-6]
    if not m.unmatched and not m.missing and len(off) == 1:
        return _coefficient(m, *off[0])
    if off:
        return None
    if not m.unmatched and m.missing:
        names = ", ".join(f"`{_src(*m.right[j])}`" for j in m.missing)
        return (
            "missing-term:" + ";".join(_src(*m.right[j]) for j in m.missing),
            f"A term is missing: your answer lacks {names}; the terms you wrote are right.",
        )
    if m.unmatched and not m.missing:
        names = ", ".join(f"`{_src(*m.mine[i])}`" for i in m.unmatched)
        return (
            "extra-term:" + ";".join(_src(*m.mine[i]) for i in m.unmatched),
            f"Your answer has an extra term {names} that does not belong here; the other "
            "terms are right.",
        )
    if len(m.unmatched) == 1 and len(m.missing) == 1 and m.pairs:
        return _differing_term(s, m)
    return None


def _replace_at(root: Node, target: Node, new: Node) -> Node:
    """``root`` with the node ``target`` (by identity) replaced by ``new``."""
    if root is target:
        return new
    if isinstance(root, BinOp):
        return replace(
            root,
            left=_replace_at(root.left, target, new),
            right=_replace_at(root.right, target, new),
        )
    if isinstance(root, Neg | Transpose):
        return replace(root, operand=_replace_at(root.operand, target, new))
    if isinstance(root, Call):
        return replace(root, args=tuple(_replace_at(a, target, new) for a in root.args))
    if isinstance(root, Pow):
        return replace(root, base=_replace_at(root.base, target, new))
    return root


Edit = tuple[Node, Node, str, str]  # (node, replacement, key, sentence)


def _activation_edits(s: Structure, nodes: list[Node]) -> Iterator[Edit]:
    for node in nodes:
        if isinstance(node, Call) and node.name == "phi":
            what = to_source(node)
            flipped = replace(node, prime=not node.prime)
            if node.prime:
                yield (
                    node,
                    flipped,
                    "derivative-for-function",
                    (f"`{what}` is the derivative; here the activation itself, φ, belongs."),
                )
            else:
                yield (
                    node,
                    flipped,
                    "function-for-derivative",
                    (
                        f"`{what}` is the activation itself; the chain rule needs its "
                        "derivative φ′ here."
                    ),
                )
    for node in nodes:
        if isinstance(node, Call) and node.name in ELEMENTWISE and node.name != "abs":
            for prime in (False, True):
                phi = Call("phi", node.args, prime)
                yield (
                    node,
                    phi,
                    f"specific-activation:{node.name}",
                    (
                        f"`{to_source(node)}` is one specific activation; write "
                        f"{'φ′' if prime else 'φ'} ({'phi' + chr(39) if prime else 'phi'}) so the "
                        "answer holds for every activation."
                    ),
                )


def _name_edits(s: Structure, nodes: list[Node]) -> Iterator[Edit]:
    for node in nodes:
        if not isinstance(node, Call):
            continue
        for k, arg in enumerate(node.args):
            if not isinstance(arg, Name):
                continue
            for other in _same_shape(s, arg):
                args = node.args[:k] + (Name(other),) + node.args[k + 1 :]
                yield (
                    node,
                    replace(node, args=args),
                    f"argument:{arg.name}->{other}",
                    (
                        f"`{to_source(node)}` is evaluated at the wrong point: "
                        f"{node.name}{chr(39) if node.prime else ''} is taken at "
                        f"{other}, not at {arg.name}."
                    ),
                )
    for node in nodes:
        if isinstance(node, Name):
            for other in _same_shape(s, node):
                yield (
                    node,
                    Name(other),
                    f"name:{node.name}->{other}",
                    (f"`{node.name}` is used where `{other}` belongs."),
                )


def _transpose_edits(s: Structure, nodes: list[Node]) -> Iterator[Edit]:
    for node in nodes:
        if isinstance(node, Transpose):
            yield (
                node,
                node.operand,
                "extra-transpose",
                (f"`{to_source(node)}` should not be transposed."),
            )
        elif isinstance(node, Name) and isinstance(s.names.get(node.name), tuple):
            yield (
                node,
                Transpose(node),
                "missing-transpose",
                (f"`{node.name}` needs a transpose here."),
            )


def _factor_edits(s: Structure, nodes: list[Node]) -> Iterator[Edit]:
    for node in nodes:
        if isinstance(node, Call) and len(node.args) == 1 and node.name != "diag":
            yield (
                node,
                node.args[0],
                f"extra-function:{node.name}",
                (
                    f"`{to_source(node)}`: {node.name}{chr(39) if node.prime else ''} does not "
                    "belong here; its argument alone is right."
                ),
            )
        if isinstance(node, Call) and node.name == "ones" and len(node.args) == 2:
            yield (
                node,
                Call("eye", node.args[:1]),
                "ones-for-identity",
                (f"`{to_source(node)}` is a matrix of ones; the identity is eye(...) (or I)."),
            )
        if isinstance(node, Pow) and node.exponent == 2:
            yield (
                node,
                BinOp(MUL, Number(2.0), node.base),
                "power-not-differentiated",
                (f"`{to_source(node)}` is not differentiated: the derivative of u² is 2u."),
            )
        if isinstance(node, BinOp) and node.op in (MUL, MATMUL, PRODUCT, DIV):
            for kept, dropped in ((node.left, node.right), (node.right, node.left)):
                yield (
                    node,
                    kept,
                    f"extra-factor:{to_source(dropped)}",
                    (f"the factor `{to_source(dropped)}` in `{to_source(node)}` does not belong."),
                )


_SWAPS = {
    SUB: (ADD, "sign", "subtracts where it should add"),
    ADD: (SUB, "sign", "adds where it should subtract"),
    MATMUL: (MUL, "matrix-for-elementwise", "is a matrix product where ⊙ belongs"),
    PRODUCT: (MUL, "matrix-for-elementwise", "is a matrix product where ⊙ belongs"),
    MUL: (MATMUL, "elementwise-for-matrix", "is an elementwise product where @ belongs"),
    DIV: (MUL, "division", "divides where it should multiply"),
}


def _operator_edits(s: Structure, nodes: list[Node]) -> Iterator[Edit]:
    for node in nodes:
        if isinstance(node, Neg):
            yield node, node.operand, "sign", f"the minus sign on `{to_source(node)}` is wrong."
        if isinstance(node, BinOp) and node.op in _SWAPS:
            op, key, words = _SWAPS[node.op]
            yield node, replace(node, op=op), key, f"`{to_source(node)}` {words}."


def _edits(s: Structure) -> Iterator[Edit]:
    """The single edits tried, in order."""
    nodes = list(walk(s.tree))
    for family in (
        _activation_edits,
        _name_edits,
        _factor_edits,
        _transpose_edits,
        _operator_edits,
    ):
        yield from family(s, nodes)


def _same_shape(s: Structure, node: Name) -> list[str]:
    shape = s.names.get(node.name)
    if shape is None:
        return []
    return [n for n, other in s.names.items() if n != node.name and other == shape]


def edit_diagnosis(s: Structure, target: Values, only: str = "") -> tuple[str, str] | None:
    """The first single edit of ``s.tree`` whose value equals ``target`` on every trial
    (``only``: try only the edits whose key starts with it)."""
    if sum(1 for _ in walk(s.tree)) > MAX_EDIT_NODES:
        return None
    for count, (node, new, key, sentence) in enumerate(_edits(s)):
        if count >= MAX_VARIANTS:
            return None
        if not key.startswith(only):
            continue
        values = s.evaluate(_replace_at(s.tree, node, new))
        if values is not None and all_close(values, target, s.rtol, s.atol):
            return key, sentence[0].upper() + sentence[1:]
    return None


__all__ = ["Structure", "edit_diagnosis", "term_diagnosis", "terms"]
