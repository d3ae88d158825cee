r"""Turn formula text into tokens for the parser, resolving names against a namespace.

Hand-written and linear: every character is looked at a bounded number of times, the
length is checked before anything else, and the token count and bracket depth are checked
while reading, so hostile input is refused early with a column.

Spellings resolved here (DESIGN section 3): a Greek letter is a name of its own (``λW2`` is
``λ W2``); ``np.``/``numpy.`` before a function is dropped (``np.outer``); ``A'`` after a
matrix name is its transpose (MATLAB); ``.*``, ``./`` and ``.^`` are ``*``, ``/`` and ``^``;
``⊗`` is the outer product; ``∂J/∂o`` is the name ``dJ_do``; ``I`` and ``I_q`` are the
identity (``eye(q)``); LaTeX commands for operators and Greek letters (``\top``, ``\odot``,
``\cdot``, ``\times``, ``\lambda``, ...) are read as the symbols they print; in a namespace
that reads juxtaposed letters (counts), ``hn`` is ``h n``.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass

from .errors import FormulaError, FormulaLimitError, FormulaSyntaxError, UnknownNameError
from .functions import SIZE_FUNCTIONS
from .namespace import SUBSCRIPT_DIGITS, SUPERSCRIPT_DIGITS, Namespace

_GREEK = "".join(chr(c) for c in range(0x391, 0x3AA) if c != 0x3A2) + "".join(
    chr(c) for c in range(0x3B1, 0x3CA)
)
GREEK = frozenset(_GREEK + "ϕϵϑ")
LATIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
LETTERS = LATIN | GREEK
_ASCII_DIGITS = frozenset("0123456789")
_IDENT_REST = LETTERS | _ASCII_DIGITS | {"_"}
WHITESPACE = frozenset(" \t\n\r\u00a0\u2009\u202f\u2002\u2003")
PRIMES = frozenset("'′’")
MINUS_SIGNS = frozenset("-−–")

_NUMBER = re.compile(r"[0-9]+(?:\.(?!T)[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?")
_BRACE_INDEX = re.compile(r"\{([A-Za-z0-9]+)\}")
_SUP_INDEX = re.compile(f"⁽[{SUPERSCRIPT_DIGITS}]+⁾")
_SUB_INDEX = re.compile(f"[{SUBSCRIPT_DIGITS}]+")
_CARET_INDEX = re.compile(r"\^\([0-9]+\)|\^\{\([0-9]+\)\}")
_SUPERSCRIPT_RUN = re.compile(f"[{SUPERSCRIPT_DIGITS}]+")

_NOT_NUMBERS = frozenset({"nan", "NaN", "NAN", "inf", "Inf", "INF", "infinity", "Infinity"})

_SINGLE = {
    "+": "ADD",
    "@": "MATMUL",
    "⊙": "MUL",
    "∘": "MUL",
    "⊗": "OUTER",
    "/": "DIV",
    "÷": "DIV",
    "×": "TIMES",
    "·": "TIMES",
    "⋅": "TIMES",
    "ᵀ": "TRANSPOSE",
    "⊤": "TRANSPOSE",
    ",": "COMMA",
}

_HINTS = {
    "[": "square brackets are not used: group with ( ); indexing is not supported",
    "]": "square brackets are not used: group with ( ); indexing is not supported",
    "{": "curly braces are not used: group with ( )",
    "}": "curly braces are not used: group with ( )",
    "=": "write only the right-hand side of the formula, without `=`",
    "|": "`|` is not used: write norm(A) for a norm and abs(a) for an absolute value",
    "‖": "`‖` is not used: write norm(A) for a norm",
    "_": "a name starts with a letter",
    "'": "`'` marks a derivative right after a function name, as in phi'(z), or a "
    "transpose right after a matrix name, as in W2'; for any other transpose write (...)ᵀ "
    "or (...).T",
    "′": "`′` marks a derivative right after a function name, as in φ′(z); for a transpose "
    "write Aᵀ or A.T",
    "⁻": "superscript minus is not accepted: write a^(-1) for an elementwise reciprocal",
    "∞": "formulas use finite numbers only",
    '"': "quotes are not part of the formula language",
    "`": "backquotes are not part of the formula language",
}


def _describe_char(ch: str) -> str:
    code = f"U+{ord(ch):04X}"
    if unicodedata.category(ch)[0] in "CZ":
        return f"the invisible or control character {code}"
    return f"`{ch}` ({code})"


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind (``NAME``, ``MUL``, ...), the text it stands for (a canonical name,
    an operator as written), and the 1-based columns of its first character and after its
    last."""

    type: str
    value: str
    column: int
    end_column: int


# LaTeX commands read as the symbol (or the word) they print.
LATEX_SYMBOLS = {
    "top": "ᵀ",
    "intercal": "ᵀ",
    "odot": "⊙",
    "circ": "∘",
    "cdot": "·",
    "times": "×",
    "otimes": "⊗",
    "partial": "∂",
}
LATEX_IGNORED = frozenset({"left", "right", "big", "Big", "bigl", "bigr", ",", ";", "!", " "})
LATEX_WORDS = frozenset(
    "alpha beta gamma delta epsilon varepsilon eta theta lambda mu sigma tau phi varphi "
    "omega".split()
) | {"exp", "log", "tanh", "sqrt"}
_LATEX_COMMAND = re.compile(r"\\([A-Za-z]+|.)")
# Names of numpy's functions that the formula language spells otherwise.
NUMPY_NAMES = {"identity": "eye", "linalg.norm": "norm"}
_NUMPY_PREFIX = re.compile(r"(?:np|numpy)\.(?=[A-Za-z])")
_PARTIAL = re.compile(
    r"∂\s*([A-Za-z][A-Za-z0-9]*)\s*/\s*∂\s*([A-Za-z][A-Za-z0-9]*(?:_\{?[0-9A-Za-z]+\}?|[₀-₉]+)?)"
)
_IDENTITY = re.compile(r"I(?:_\{?([A-Za-z][A-Za-z0-9]*)\}?)?$")


@dataclass
class _Paren:
    column: int
    size_context: bool


class Lexer:
    """One pass over one formula; use :func:`tokenize`."""

    def __init__(self, text: str, namespace: Namespace) -> None:
        self.text = text
        self.ns = namespace
        self.limits = namespace.limits
        self.tokens: list[Token] = []
        self.parens: list[_Paren] = []
        self.unknown: UnknownNameError | None = None
        self.pending_size_call = False
        self.pos = 0

    # -- helpers --------------------------------------------------------------------------

    def _emit(self, kind: str, value: str, start: int, end: int) -> None:
        if len(self.tokens) >= self.limits.max_tokens:
            raise FormulaLimitError(
                f"the formula is too long: at most {self.limits.max_tokens} symbols", start + 1
            )
        self.pending_size_call = kind == "FUNC" and value in SIZE_FUNCTIONS
        self.tokens.append(Token(kind, value, start + 1, end + 1))

    def _peek_nonspace(self, i: int) -> int:
        text = self.text
        while i < len(text) and text[i] in WHITESPACE:
            i += 1
        return i

    def _fail(self, message: str, i: int) -> FormulaSyntaxError:
        return FormulaSyntaxError(message, i + 1)

    # -- the pass -------------------------------------------------------------------------

    def run(self) -> list[Token]:
        text = self.text
        if len(text) > self.limits.max_length:
            raise FormulaLimitError(
                f"the formula is too long: at most {self.limits.max_length} characters",
                self.limits.max_length + 1,
            )
        while self.pos < len(text):
            i = self.pos
            ch = text[i]
            if ch in WHITESPACE:
                self.pos += 1
            elif ch in _ASCII_DIGITS or (
                ch == "."
                and text[i + 1 : i + 2] in _ASCII_DIGITS
                and not (i > 0 and (text[i - 1] in _IDENT_REST or text[i - 1] == ")"))
            ):
                self._number(i)
            elif ch in LETTERS:
                self._word(i)
            else:
                self._symbol(i, ch)
        if self.parens:
            raise self._fail("this `(` is never closed", self.parens[-1].column - 1)
        return self.tokens

    def _number(self, i: int) -> None:
        match = _NUMBER.match(self.text, i)
        assert match is not None
        literal = match.group(0)
        if _NUMBER.match(self.text, match.end()) and self.text[match.end()] == ".":
            raise self._fail("a number has at most one decimal point", match.end())
        if len(literal) > self.limits.max_literal_chars:
            raise FormulaLimitError("this number has too many digits", i + 1)
        value = float(literal)
        if not value <= self.limits.max_literal:  # also refuses overflow to inf
            raise FormulaLimitError(
                f"numbers larger than {self.limits.max_literal:g} are not accepted", i + 1
            )
        self._emit("NUMBER", literal, i, match.end())
        self.pos = match.end()

    def _word(self, i: int) -> None:
        text = self.text
        numpy_call = False
        prefix = _NUMPY_PREFIX.match(text, i)
        start = i
        if prefix is not None:
            numpy_call = True
            i = prefix.end()
            for long_name in NUMPY_NAMES:
                if text.startswith(long_name, i) and "." in long_name:
                    self._numpy_call(start, NUMPY_NAMES[long_name], i + len(long_name))
                    return
        j = i + 1
        while j < len(text) and text[j] in _IDENT_REST:
            j += 1
        spelling, end = text[i:j], j
        if numpy_call:
            self._numpy_call(start, NUMPY_NAMES.get(spelling, spelling), end)
            return
        if not GREEK.isdisjoint(spelling) and not self._known(spelling):
            end = self._greek_boundary(i, end)
            spelling = text[i:end]
        self._name(i, spelling, end)

    def _known(self, spelling: str) -> bool:
        ns = self.ns
        twin = ns.resolve_function(spelling[1:]) if spelling[:1] == "d" else None
        return (
            (twin is not None and ns.has_derivative(twin))
            or ns.resolve_variable(spelling) is not None
            or ns.resolve_function(spelling) is not None
            or ns.resolve_size(spelling) is not None
        )

    def _greek_boundary(self, i: int, end: int) -> int:
        """Where the name starting at ``i`` ends: a Greek letter is a name of its own, so
        ``λW2`` is ``λ`` then ``W2`` and ``Wλ`` is ``W`` then ``λ`` (digits and ``_`` stay
        with the letters before them)."""
        text = self.text
        greek = text[i] in GREEK
        for k in range(i + 1, end):
            ch = text[k]
            if ch in GREEK or ch in LATIN:
                if (ch in GREEK) != greek or greek:
                    return k
        return end

    def _numpy_call(self, start: int, name: str, end: int) -> None:
        """``np.outer(...)``: numpy's name for a function of the formula language."""
        after = self._peek_nonspace(end)
        function = self.ns.resolve_function(name)
        if function is None or after >= len(self.text) or self.text[after] != "(":
            known = ", ".join(f for f in self.ns.function_names if self.ns.is_builtin(f))
            raise self._fail(
                f"`{self.text[start:end]}` is not a function of the formula language; "
                f"numpy's names work for these functions, called with ( ): {known}",
                start,
            )
        self._emit("FUNC", function, start, end)
        self.pos = end

    def _identity(self, i: int, spelling: str, end: int) -> bool:
        """``I`` (the identity of the part's size) or ``I_q``: emit ``eye(q)``."""
        match = _IDENTITY.fullmatch(spelling)
        if match is None or self.ns.resolve_variable(spelling) is not None:
            return False
        size = match.group(1) or self.ns.identity
        if size is None:
            raise self._fail(
                "write the identity with its size: eye(q) or I_q for the q×q identity", i
            )
        if self.ns.resolve_size(size) is None:
            sizes = ", ".join(self.ns.sizes) or "none"
            raise self._fail(f"`{size}` is not a size; the sizes here are: {sizes}", i)
        self._emit("FUNC", "eye", i, end)
        self._emit("LPAR", "(", i, end)
        self._emit("SIZE", size, i, end)
        self._emit("RPAR", ")", i, end)
        self.pos = end
        return True

    def _letters(self, i: int, spelling: str) -> bool:
        """In a namespace of single-letter sizes, ``hn`` is the product ``h n``."""
        ns = self.ns
        if not ns.letter_products or len(spelling) < 2 or ns.resolve_variable(spelling):
            return False
        if not all(ns.resolve_variable(ch) is not None for ch in spelling):
            return False
        for k, ch in enumerate(spelling):
            self._emit("NAME", ns.resolve_variable(ch) or ch, i + k, i + k + 1)
        self.pos = i + len(spelling)
        return True

    def _name(self, i: int, spelling: str, end: int) -> None:
        text, ns = self.text, self.ns
        in_size_call = bool(self.parens) and self.parens[-1].size_context
        # Index suffixes that belong to the name: W_{1}, W⁽¹⁾, W₁, and W^(1) if declared.
        for pattern, needs_resolution in (
            (_BRACE_INDEX, False),
            (_SUP_INDEX, False),
            (_SUB_INDEX, False),
            (_CARET_INDEX, True),
        ):
            if pattern is _BRACE_INDEX and not spelling.endswith("_"):
                continue
            match = pattern.match(text, end)
            if match:
                longer = spelling + match.group(0)
                if not needs_resolution or ns.resolve_variable(longer) is not None:
                    spelling, end = longer, match.end()
                    break
        after = self._peek_nonspace(end)
        next_char = text[after] if after < len(text) else ""
        if end < len(text) and text[end] in PRIMES:
            self._derivative(i, spelling, end)
            return
        if next_char == "(":
            function = ns.resolve_function(spelling)
            if function is None and spelling[:1] == "d":
                twin = ns.resolve_function(spelling[1:])
                if twin is not None and ns.has_derivative(twin):
                    if ns.resolve_variable(spelling) is None:
                        self._emit("DFUNC", twin, i, end)
                        self.pos = end
                        return
            if function is not None:
                self._emit("FUNC", function, i, end)
                self.pos = end
                return
            if ns.resolve_variable(spelling) is None and not in_size_call:
                self._remember_unknown(spelling, i, function_call=True)
                self._emit("FUNC", spelling, i, end)
                self.pos = end
                return
        if (spelling[0] == "I" and self._identity(i, spelling, end)) or (
            ns.letter_products and self._letters(i, spelling)
        ):
            return
        if in_size_call and ns.resolve_size(spelling) is not None:
            self._emit("SIZE", spelling, i, end)
        elif (variable := ns.resolve_variable(spelling)) is not None:
            self._emit("NAME", variable, i, end)
        elif ns.resolve_function(spelling) is not None:
            raise self._fail(
                f"`{spelling}` is a function: write {spelling}(...) with its argument", i
            )
        elif spelling in _NOT_NUMBERS:
            raise self._fail(f"formulas use finite numbers only: `{spelling}` is not accepted", i)
        else:
            self._remember_unknown(spelling, i, function_call=False)
            self._emit("NAME", spelling, i, end)
        self.pos = end

    def _derivative(self, i: int, spelling: str, prime_at: int) -> None:
        function = self.ns.resolve_function(spelling)
        variable = self.ns.resolve_variable(spelling)
        if function is None and variable is not None:
            shape = self.ns.shape_of(variable)
            if shape is not None and len(shape) == 2 and 1 not in shape:
                self._emit("NAME", variable, i, prime_at)  # W2' : MATLAB's transpose
                self._emit("TRANSPOSE", "'", prime_at, prime_at + 1)
                self.pos = prime_at + 1
                return
            raise self._fail(
                f"`{spelling}'` is not read as a transpose ({spelling} is not a matrix) nor "
                f"as a derivative ({spelling} is not a function): write {spelling}.T or "
                f"{spelling}ᵀ for a transpose, phi'(z) for a derivative",
                prime_at,
            )
        if function is None or not self.ns.has_derivative(function):
            derivable = sorted(f for f in self.ns.function_names if self.ns.has_derivative(f))
            raise self._fail(
                f"`'` marks a derivative only after an elementwise function "
                f"({', '.join(derivable)}), not after `{spelling}`",
                prime_at,
            )
        after = self._peek_nonspace(prime_at + 1)
        if after >= len(self.text) or self.text[after] != "(":
            raise self._fail(f"write the derivative with its argument: {spelling}'(z)", prime_at)
        self._emit("DFUNC", function, i, prime_at + 1)
        self.pos = prime_at + 1

    def _remember_unknown(self, spelling: str, i: int, function_call: bool) -> None:
        if self.unknown is not None:
            return
        if function_call:
            known = list(self.ns.function_names)
            what = "function"
        else:
            known = list(self.ns.variable_names)
            what = "name"
        message = f"unknown {what} `{spelling}`"
        # Look-alike letters first (W1 typed as Wl), then plain similarity.
        confusable = str.maketrans("lIO", "110")
        close = [k for k in known if k.translate(confusable) == spelling.translate(confusable)]
        close = close or difflib.get_close_matches(spelling, known, n=1, cutoff=0.5)
        if close:
            message += f" (did you mean {close[0]}?)"
        message += f"; known {what}s: {', '.join(known) if known else 'none'}"
        self.unknown = UnknownNameError(message, i + 1, spelling, known)

    def _symbol(self, i: int, ch: str) -> None:
        text = self.text
        nxt = text[i + 1 : i + 2]
        if ch in MINUS_SIGNS:
            self._emit("SUB", "-", i, i + 1)
        elif ch == "*":
            if nxt == "*":
                self._emit("POW", "**", i, i + 2)
                self.pos = i + 2
                return
            self._emit("MUL", "*", i, i + 1)
        elif ch == "^":
            if nxt in ("T", "⊤"):
                self._emit("TRANSPOSE", "^T", i, i + 2)
                self.pos = i + 2
                return
            for spelled in ("{T}", "\\top", "{\\top}", "\\intercal", "{\\intercal}", "{⊤}"):
                if text.startswith(spelled, i + 1):
                    self._emit("TRANSPOSE", "^T", i, i + 1 + len(spelled))
                    self.pos = i + 1 + len(spelled)
                    return
            self._emit("POW", "^", i, i + 1)
        elif ch == "." and nxt in ("*", "/", "^"):  # MATLAB's elementwise operators
            self._emit({"*": "MUL", "/": "DIV", "^": "POW"}[nxt], "." + nxt, i, i + 2)
            self.pos = i + 2
            return
        elif ch == ".":
            after_t = text[i + 2 : i + 3]
            if nxt == "T" and not (after_t and after_t in _IDENT_REST):
                self._emit("TRANSPOSE", ".T", i, i + 2)
                self.pos = i + 2
                return
            raise self._fail(
                "`.` is only used for a transpose, as in A.T; attribute access is not "
                "part of the formula language",
                i,
            )
        elif ch in _SINGLE:
            self._emit(_SINGLE[ch], ch, i, i + 1)
        elif ch == "(":
            size_context = self.pending_size_call or (
                bool(self.parens)
                and self.parens[-1].size_context
                and not (self.tokens and self.tokens[-1].type in ("FUNC", "DFUNC"))
            )
            if len(self.parens) >= self.limits.max_paren_depth:
                raise FormulaLimitError(
                    f"brackets are nested too deeply (more than {self.limits.max_paren_depth})",
                    i + 1,
                )
            self._emit("LPAR", "(", i, i + 1)
            self.parens.append(_Paren(i + 1, size_context))
        elif ch == ")":
            if not self.parens:
                raise self._fail("this `)` has no matching `(`", i)
            self.parens.pop()
            self._emit("RPAR", ")", i, i + 1)
        elif ch in SUPERSCRIPT_DIGITS:
            match = _SUPERSCRIPT_RUN.match(text, i)
            assert match is not None
            digits = match.group(0).translate(str.maketrans(SUPERSCRIPT_DIGITS, "0123456789"))
            self._emit("POW", "^", i, i)
            self._emit("NUMBER", digits, i, match.end())
            self.pos = match.end()
            return
        elif ch == "\\":
            self._latex(i)
            return
        elif ch == "∂":
            self._partial(i)
            return
        elif ch in _HINTS:
            raise self._fail(_HINTS[ch], i)
        elif ch in LETTERS or ch.isalpha():
            raise self._fail(
                f"{_describe_char(ch)} is not a letter the formula language knows; "
                "names use Latin or Greek letters",
                i,
            )
        else:
            raise self._fail(f"{_describe_char(ch)} is not part of the formula language", i)
        self.pos = i + 1

    def _latex(self, i: int) -> None:
        """A LaTeX command: the symbol or Greek letter it prints, or a message."""
        match = _LATEX_COMMAND.match(self.text, i)
        command = match.group(1) if match else ""
        end = match.end() if match else i + 1
        if command in LATEX_IGNORED:
            self.pos = end
            return
        if command in LATEX_SYMBOLS:
            symbol = LATEX_SYMBOLS[command]
            kind = {"ᵀ": "TRANSPOSE", "⊗": "OUTER", "⊙": "MUL", "∘": "MUL"}.get(symbol, "TIMES")
            if symbol != "∂":
                self._emit(kind, symbol, i, end)
                self.pos = end
                return
        if command in LATEX_WORDS:
            word = {"varphi": "phi", "varepsilon": "epsilon"}.get(command, command)
            self._name(i, word, end)
            return
        hint = {
            "frac": "write a/b for a fraction",
            "partial": "write a part's name as ∂J/∂o or dJ_do",
            "mathbf": "write the name alone, as in W1",
            "operatorname": "write the function's name alone, as in diag(v)",
        }.get(command, "write the formula language's symbol instead")
        raise self._fail(
            f"the LaTeX command `\\{command}` is not accepted: {hint} (⊙ or * elementwise, "
            "@ or juxtaposition for a matrix product, ᵀ or .T, λ or lam)",
            i,
        )

    def _partial(self, i: int) -> None:
        """``∂J/∂o``: the name ``dJ_do`` (a part's or a declared quantity's)."""
        match = _PARTIAL.match(self.text, i)
        if match is None:
            raise self._fail("write a derivative's name as ∂J/∂o (or dJ_do)", i)
        top, bottom = match.groups()
        bottom = self.ns.resolve_variable(bottom) or bottom
        spelling = f"d{top}_d{bottom}"
        variable = self.ns.resolve_variable(spelling)
        if variable is None:
            self._remember_unknown(spelling, i, function_call=False)
            variable = spelling
        self._emit("NAME", variable, i, match.end())
        self.pos = match.end()


def tokenize(text: str, namespace: Namespace) -> tuple[list[Token], UnknownNameError | None]:
    """Return the tokens of ``text`` and the first unknown-name error, if any.

    The unknown name is returned rather than raised so that the parser can report an
    earlier syntax error first. Raises FormulaSyntaxError or FormulaLimitError for text
    that cannot be read at all.
    """
    lexer = Lexer(text, namespace)
    try:
        tokens = lexer.run()
    except FormulaError as problem:
        if lexer.unknown is not None and lexer.unknown.column < problem.column:
            raise lexer.unknown from None
        raise
    return tokens, lexer.unknown
