"""Markdown with ``$math$`` for exercise prompts: raw HTML off, math as MathML.

Math outside the TeX subset of ``grader.web.texmath`` is shown as its TeX source in a
``<code class="tex">``, so nothing is lost and nothing is loaded from elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from html import escape
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markupsafe import Markup

from grader.services.preview import PreviewError, preview_answer
from grader.web.texmath import TexError, tex_to_mathml


def _math_inline(state: StateInline, silent: bool) -> bool:
    """Read ``$...$`` (or ``$$...$$``) as a math token; a ``\\$`` stays a dollar sign."""
    src, start = state.src, state.pos
    if src[start] != "$":
        return False
    display = src.startswith("$$", start)
    opener = "$$" if display else "$"
    end = start + len(opener)
    while True:
        end = src.find(opener, end)
        if end < 0:
            return False
        if src[end - 1] != "\\":
            break
        end += 1
    content = src[start + len(opener) : end]
    if not content.strip():
        return False
    if not silent:
        token = state.push("math_inline", "math", 0)
        token.content = content
        token.markup = opener
    state.pos = end + len(opener)
    return True


def math_html(tex: str, display: bool = False) -> str:
    """Return MathML for ``tex``, or its escaped source in ``<code class="tex">``."""
    try:
        return tex_to_mathml(tex, display)
    except TexError:
        return f'<code class="tex" title="TeX">{escape(tex)}</code>'


def _render_math(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    return math_html(token.content, token.markup == "$$")


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.inline.ruler.before("escape", "math_inline", _math_inline)
    md.add_render_rule("math_inline", _render_math)
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
