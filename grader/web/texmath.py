"""The TeX subset exercise prompts use (``\\partial J / \\partial b_2``, ``W_1 \\in
\\mathbb{R}^{h \\times d}``) as presentation MathML, which browsers render without a script.

Anything outside the subset raises ``TexError``; the caller then shows the TeX source instead.

Why not latex2mathml: on every formula of the exercises' prompts (89 distinct) it renders as
well as this module (better in one place: the limits of a displayed sum go under and over),
but it copies the argument of ``\\text``/``\\mbox`` and of ``\\href``, ``\\style`` and
``\\class`` into its output unescaped, so a prompt could inject markup and script into the
students' pages, and it turns an unknown command into an identifier instead of refusing it.
Using it would need an HTML sanitizer with a MathML allow-list behind it; this subset escapes
every piece of text and refuses what it does not know.
"""

from __future__ import annotations

import re
from html import escape

MAX_TEX_CHARS = 500


class TexError(ValueError):
    """Raised for TeX this renderer does not know (the caller falls back to the source)."""


_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|[A-Za-z]|\d+(?:\.\d+)?|\s+|.", re.S)
_GREEK = {
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ϵ",
    "varepsilon": "ε",
    "zeta": "ζ",
    "eta": "η",
    "theta": "θ",
    "kappa": "κ",
    "lambda": "λ",
    "mu": "μ",
    "nu": "ν",
    "xi": "ξ",
    "pi": "π",
    "rho": "ρ",
    "sigma": "σ",
    "tau": "τ",
    "phi": "ϕ",
    "varphi": "φ",
    "chi": "χ",
    "psi": "ψ",
    "omega": "ω",
    "Gamma": "Γ",
    "Delta": "Δ",
    "Theta": "Θ",
    "Lambda": "Λ",
    "Sigma": "Σ",
    "Phi": "Φ",
    "Psi": "Ψ",
    "Omega": "Ω",
    "ell": "ℓ",
    "partial": "∂",
    "nabla": "∇",
    "infty": "∞",
    "top": "⊤",
    "intercal": "⊺",
}
_OPERATORS = {
    "times": "×",
    "cdot": "·",
    "odot": "⊙",
    "otimes": "⊗",
    "circ": "∘",
    "pm": "±",
    "mp": "∓",
    "in": "∈",
    "notin": "∉",
    "subset": "⊂",
    "le": "≤",
    "leq": "≤",
    "ge": "≥",
    "geq": "≥",
    "neq": "≠",
    "ne": "≠",
    "approx": "≈",
    "equiv": "≡",
    "sim": "∼",
    "to": "→",
    "rightarrow": "→",
    "leftarrow": "←",
    "Rightarrow": "⇒",
    "mapsto": "↦",
    "sum": "∑",
    "prod": "∏",
    "int": "∫",
    "ldots": "…",
    "cdots": "⋯",
    "dots": "…",
    "mid": "∣",
    "prime": "′",
    "|": "‖",
    "{": "{",
    "}": "}",
    "langle": "⟨",
    "rangle": "⟩",
    "lVert": "‖",
    "rVert": "‖",
    "Vert": "‖",
    "vert": "|",
    "ast": "∗",
    "star": "⋆",
    "div": "÷",
}
_FUNCTIONS = {"exp", "log", "ln", "sin", "cos", "tanh", "max", "min", "det", "tr", "diag"}
_SPACES = {",": "0.17em", ";": "0.28em", ":": "0.22em", "quad": "1em", "qquad": "2em", "!": "0"}
_DOUBLE_STRUCK = {"R": "ℝ", "N": "ℕ", "Z": "ℤ", "Q": "ℚ", "C": "ℂ", "E": "𝔼"}
_FONT_COMMANDS = {"mathrm", "text", "operatorname", "mathbf", "boldsymbol", "mathit", "textrm"}


class _Parser:
    def __init__(self, tex: str) -> None:
        self.tokens = [t for t in _TOKEN.findall(tex) if not t.isspace()]
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise TexError("unexpected end")
        self.pos += 1
        return token

    def sequence(self, stop: str | None = None) -> str:
        items = []
        while (token := self.peek()) is not None and token != stop:
            if token == "}":
                raise TexError("unbalanced }")
            items.append(self.scripted())
        if stop is not None:
            if self.peek() != stop:
                raise TexError(f"missing {stop}")
            self.take()
        return "".join(items)

    def group(self) -> str:
        """One argument: a braced group or a single atom."""
        if self.peek() == "{":
            self.take()
            return f"<mrow>{self.sequence('}')}</mrow>"
        return self.atom()

    def raw_group(self) -> str:
        if self.take() != "{":
            raise TexError("expected {")
        text = []
        while (token := self.take()) != "}":
            text.append(token)
        return "".join(text)

    def scripted(self) -> str:
        base = self.atom()
        sub = sup = None
        while self.peek() in ("_", "^"):
            marker = self.take()
            if marker == "_" and sub is None:
                sub = self.group()
            elif marker == "^" and sup is None:
                sup = self.group()
            else:
                raise TexError("double script")
        if sub and sup:
            return f"<msubsup>{base}{sub}{sup}</msubsup>"
        if sub:
            return f"<msub>{base}{sub}</msub>"
        if sup:
            return f"<msup>{base}{sup}</msup>"
        return base

    def atom(self) -> str:
        token = self.take()
        if token == "{":
            return f"<mrow>{self.sequence('}')}</mrow>"
        if token.isalpha():
            return f"<mi>{escape(token)}</mi>"
        if token[0].isdigit():
            return f"<mn>{token}</mn>"
        if token == "'":
            return "<mo>′</mo>"
        if token.startswith("\\"):
            return self.command(token[1:])
        if token in "+-=/()[]|,.;:<>!*?":
            return f"<mo>{escape(token.replace('-', '−').replace('*', '∗'))}</mo>"
        if token in ("^", "_", "&", "#", "%", "~", "$"):
            raise TexError(f"unexpected {token}")
        return f"<mo>{escape(token)}</mo>" if not token.isalnum() else f"<mi>{escape(token)}</mi>"

    def command(self, name: str) -> str:
        if name in _GREEK:
            return f"<mi>{_GREEK[name]}</mi>"
        if name in _OPERATORS:
            return f"<mo>{escape(_OPERATORS[name])}</mo>"
        if name in _FUNCTIONS:
            return f'<mi mathvariant="normal">{name}</mi>'
        if name in _SPACES:
            return f'<mspace width="{_SPACES[name]}"></mspace>'
        if name in ("left", "right", "big", "Big", "bigl", "bigr", "Bigl", "Bigr", "bigg", "Bigg"):
            return self.atom() if self.peek() != "." else (self.take() and "")
        if name in ("frac", "tfrac", "dfrac"):
            return f"<mfrac>{self.group()}{self.group()}</mfrac>"
        if name == "sqrt":
            return f"<msqrt>{self.group()}</msqrt>"
        if name == "mathbb":
            letters = self.raw_group()
            return "".join(f"<mi>{_DOUBLE_STRUCK.get(c, escape(c))}</mi>" for c in letters)
        if name in ("hat", "bar", "tilde", "vec"):
            accent = {"hat": "^", "bar": "¯", "tilde": "~", "vec": "→"}[name]
            return f'<mover accent="true">{self.group()}<mo>{accent}</mo></mover>'
        if name in _FONT_COMMANDS:
            text = escape(self.raw_group())
            if name in ("text", "textrm"):
                return f"<mtext>{text}</mtext>"
            cls = ' class="bold"' if name in ("mathbf", "boldsymbol") else ""
            return f'<mi mathvariant="normal"{cls}>{text}</mi>'
        raise TexError(f"unknown command \\{name}")


def tex_to_mathml(tex: str, display: bool = False) -> str:
    """Return ``<math>`` markup for ``tex``; raise ``TexError`` outside the supported subset."""
    if len(tex) > MAX_TEX_CHARS:
        raise TexError("too long")
    body = _Parser(tex).sequence()
    mode = ' display="block"' if display else ""
    return f"<math{mode}><mrow>{body}</mrow></math>"
