r"""Markdown with ``$math$`` for exercise prompts: raw HTML off, math as MathML.

``mdit-py-plugins``' dollarmath finds the math, with pandoc's rules: ``$x$`` needs no space
inside the dollars and no digit after the closing one, so "It costs $5 and $10" stays text;
``\$`` is a dollar sign; ``$$...$$`` is display math, inline or on lines of its own. Math
outside the TeX subset of ``grader.web.texmath`` is shown as its TeX source in a
``<code class="tex">``, so nothing is lost and nothing is loaded from elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from html import escape
from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup
from mdit_py_plugins.dollarmath import dollarmath_plugin

from grader.services.preview import PreviewError, preview_answer
from grader.web.texmath import TexError, tex_to_mathml


def math_html(tex: str, display: bool = False) -> str:
    """Return MathML for ``tex``, or its escaped source in ``<code class="tex">``."""
    try:
        return tex_to_mathml(tex, display)
    except TexError:
        return f'<code class="tex" title="TeX">{escape(tex)}</code>'


def _render_inline_math(self, tokens, idx, options, env) -> str:
    return math_html(tokens[idx].content, tokens[idx].type == "math_inline_double")


def _render_block_math(self, tokens, idx, options, env) -> str:
    return f"<p>{math_html(tokens[idx].content.strip(), True)}</p>\n"


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.use(
        dollarmath_plugin,
        allow_labels=False,
        allow_space=False,
        allow_digits=False,
        allow_blank_lines=False,
        double_inline=True,
    )
    # The plugin finds the math; MathML (or the escaped source) replaces its default output.
    md.add_render_rule("math_inline", _render_inline_math)
    md.add_render_rule("math_inline_double", _render_inline_math)
    md.add_render_rule("math_block", _render_block_math)
    md.enable("table")
    return md


_MD = _parser()


@lru_cache(maxsize=512)
def render_markdown(text: str) -> Markup:
    """Return the HTML of a Markdown text with ``$math$`` (safe to insert into a page)."""
    return Markup(_MD.render(text or ""))


@lru_cache(maxsize=512)
def render_inline(text: str) -> Markup:
    """Return the HTML of a one-line Markdown text (no surrounding paragraph)."""
    return Markup(_MD.renderInline(text or ""))


def answers_mathml(spec: Any, answers: Mapping[str, Any]) -> dict[str, Markup]:
    """Return the MathML of each formula or memory answer that can be read, by part id.

    The MathML is built from the formula language's own tree, which escapes every piece of
    text, so it is safe to mark up.
    """
    rendered: dict[str, Markup] = {}
    for part in spec.parts:
        answer = answers.get(part.id)
        if part.kind not in ("formula", "memory") or not isinstance(answer, str) or not answer:
            continue
        try:
            reading = preview_answer(spec, part.id, answer)
        except PreviewError:
            continue
        if reading.get("valid") and reading.get("mathml"):
            rendered[part.id] = Markup(reading["mathml"])  # escaped by the renderer
    return rendered
