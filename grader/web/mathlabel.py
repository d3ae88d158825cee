"""Accessible names for MathML on the pages.

Chromium gives a ``<math>`` element no text of its own when it names what contains it, so a
checkbox whose label is a formula had an empty name. Every ``<math>`` the pages show (prompts,
options, previews, answers) passes through ``label_math``, which adds ``alttext`` and
``aria-label`` read from the MathML itself (``∂J/∂b₁``, ``W₂ᵀ g``), whichever renderer made it,
and a displayed formula (which scrolls on a narrow screen) a place in the tab order.
"""

from __future__ import annotations

import re
from html import escape
from xml.etree import ElementTree

from markupsafe import Markup

MATH_ELEMENT = re.compile(r"<math\b([^>]*)>(.*?)</math>", re.DOTALL)
SUBSCRIPTS = str.maketrans("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")
SUPERSCRIPTS = str.maketrans("0123456789+-=()T", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵀ")
MAX_LABEL = 300


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _script(text: str, table: dict[int, int], marker: str) -> str:
    converted = text.translate(table)
    if all(ord(c) in table.values() for c in converted if not c.isspace()):
        return converted
    return f"{marker}({text})" if len(text) > 1 else marker + text


def _text(node: ElementTree.Element) -> str:
    """Return a linear reading of a MathML element: ``msub`` as subscript characters where
    Unicode has them, ``mfrac`` as ``(a)/(b)``, ``msqrt`` as ``√(x)``."""
    tag = _local(node.tag)
    children = list(node)
    if tag in ("annotation", "annotation-xml"):
        return ""
    if tag == "semantics" and children:
        return _text(children[0])
    if tag in ("msub", "msup", "msubsup") and len(children) >= 2:
        base = _text(children[0])
        if tag == "msup":
            return base + _script(_text(children[1]), SUPERSCRIPTS, "^")
        result = base + _script(_text(children[1]), SUBSCRIPTS, "_")
        if tag == "msubsup" and len(children) >= 3:
            result += _script(_text(children[2]), SUPERSCRIPTS, "^")
        return result
    if tag == "mfrac" and len(children) == 2:
        top, bottom = _text(children[0]), _text(children[1])
        wrap = lambda s: s if len(s) <= 2 else f"({s})"  # noqa: E731
        return f"{wrap(top)}/{wrap(bottom)}"
    if tag == "msqrt":
        return "√(" + "".join(_text(c) for c in children) + ")"
    if tag == "mspace":
        return " "
    own = (node.text or "").strip()
    return own + "".join(_text(c) + ((c.tail or "").strip()) for c in children)


def math_text(mathml: str) -> str:
    """Return the linear text of one ``<math>…</math>`` string (tags dropped if it is not XML)."""
    try:
        text = _text(ElementTree.fromstring(mathml))
    except ElementTree.ParseError:
        text = re.sub(r"<[^>]+>", "", mathml)
    text = " ".join(text.split())
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _label(match: re.Match[str]) -> str:
    attributes, whole = match.group(1), match.group(0)
    if "aria-label=" in attributes:
        return whole
    text = escape(math_text(whole), quote=True)
    if not text:
        return whole
    alt = "" if "alttext=" in attributes else f' alttext="{text}"'
    # a displayed formula scrolls sideways on a narrow screen: keyboard users must reach it
    if 'display="block"' in attributes and "tabindex=" not in attributes:
        alt += ' tabindex="0"'
    return f'<math{attributes}{alt} aria-label="{text}">{match.group(2)}</math>'


def label_math(html: str) -> Markup:
    """Return ``html`` (already safe markup) with every ``<math>`` named by its own text."""
    return Markup(MATH_ELEMENT.sub(_label, str(html)))
