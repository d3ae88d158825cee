"""Prompt rendering (Markdown, TeX as MathML), the widget table and the chart geometry."""

from __future__ import annotations

import json

import pytest
from werkzeug.datastructures import MultiDict

from grader.web.charts import bar_list, histogram
from grader.web.markdown import math_html, render_inline, render_markdown
from grader.web.texmath import TexError, tex_to_mathml
from grader.web.widgets import WIDGETS, answers_from_form, widget_for


@pytest.mark.parametrize(
    "tex,expected",
    [
        (
            r"\partial J / \partial b_2",
            "<mi>∂</mi><mi>J</mi><mo>/</mo><mi>∂</mi><msub><mi>b</mi><mn>2</mn></msub>",
        ),
        (
            r"W_1 \in \mathbb{R}^{h \times d}",
            "<msup><mi>ℝ</mi><mrow><mi>h</mi><mo>×</mo><mi>d</mi></mrow></msup>",
        ),
        (r"\frac{1}{2}", "<mfrac><mrow><mn>1</mn></mrow><mrow><mn>2</mn></mrow></mfrac>"),
        (r"x_i^2", "<msubsup><mi>x</mi><mi>i</mi><mn>2</mn></msubsup>"),
        (
            r"\|o - y\|^2",
            "<mo>‖</mo><mi>o</mi><mo>−</mo><mi>y</mi><msup><mo>‖</mo><mn>2</mn></msup>",
        ),
        (r"\text{a<b}", "<mtext>a&lt;b</mtext>"),
        (r"\left( x \right)", "<mo>(</mo><mi>x</mi><mo>)</mo>"),
    ],
)
def test_tex_subset_becomes_mathml(tex, expected):
    html = tex_to_mathml(tex)
    assert html.startswith("<math><mrow>") and expected in html


@pytest.mark.parametrize(
    "tex", [r"\unknowncommand x", "x^", "{x", "x}", "a_b_c", "a & b", "x" * 600]
)
def test_tex_outside_the_subset_is_refused(tex):
    with pytest.raises(TexError):
        tex_to_mathml(tex)


def test_unsupported_math_keeps_its_source_escaped():
    assert math_html(r"\begin{matrix}<x>") == (
        '<code class="tex" title="TeX">\\begin{matrix}&lt;x&gt;</code>'
    )


def test_markdown_prompt_with_math_and_no_raw_html():
    html = render_markdown(
        "Find $\\nabla_X f$ for `$x$` <script>alert(1)</script> [x](javascript:alert(1)) and \\$5."
    )
    assert "<math><mrow><msub><mi>∇</mi>" in html
    assert "<code>$x$</code>" in html  # code spans are not math
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html
    assert "$5" in html
    assert render_inline("**a** $b$") == "<strong>a</strong> <math><mrow><mi>b</mi></mrow></math>"
    assert render_markdown("$$x$$").count('display="block"') == 1


def test_every_kind_maps_to_a_macro_that_exists():
    from pathlib import Path

    import grader.web

    template = (Path(grader.web.__file__).parent / "templates" / "widgets.html").read_text()
    for widget in [*WIDGETS.values(), widget_for("some-future-kind")]:
        assert f"{{% macro {widget.macro}(" in template
    assert widget_for("some-future-kind").macro == "text_input"


def test_answers_from_form_per_kind():
    parts = [
        {"id": "s", "kind": "shape"},
        {"id": "c", "kind": "choice"},
        {"id": "g", "kind": "graph"},
        {"id": "t", "kind": "graph"},
        {"id": "k", "kind": "code"},
        {"id": "u", "kind": "unheard-of"},
    ]
    graph = {"nodes": [{"id": "a", "label": "x", "type": "variable"}], "edges": []}
    form = MultiDict(
        [
            ("answer-s", "  n×m "),
            ("answer-c", "a"),
            ("answer-c", "b"),
            ("answer-g", json.dumps(graph)),
            ("edges-g", "ignored -> here"),
            ("answer-t", "{not json"),
            ("edges-t", "x -> matmul"),
            ("answer-k", "def f():\r\n    return 1\r\n"),
            ("answer-u", " text "),
        ]
    )
    answers = answers_from_form(form, parts)
    assert answers == {
        "s": "n×m",
        "c": ["a", "b"],
        "g": graph,
        "t": "x -> matmul",
        "k": "def f():\n    return 1\n",
        "u": "text",
    }


def test_histogram_and_bar_list_geometry():
    chart = histogram([0, 2, 4, 0, 0, 0, 0, 0, 0, 1], "t")
    heights = [bar.height for bar in chart.bars]
    assert len(chart.bars) == 10 and heights[2] == max(heights) and heights[0] == 0
    assert heights[1] == pytest.approx(heights[2] / 2)
    assert chart.bars[0].label == "0–10%" and chart.bars[-1].label == "90–100%"
    assert [label for _, label in chart.ticks] == ["0%", "20%", "40%", "60%", "80%", "100%"]
    assert chart.ticks[-1][0] == pytest.approx(chart.bars[-1].x + chart.bars[-1].width + 2)
    bars = bar_list([("listed mistake: m×n", 6), ("transposed", 3)], "t")
    assert bars.horizontal and bars.bars[0].width == pytest.approx(2 * bars.bars[1].width)
    assert bar_list([], "t").bars == []


def test_dollar_amounts_are_text_not_math():
    html = render_markdown("It costs $5 and $10; a GPU-hour is $2.50, not $x$.")
    assert "It costs $5 and $10; a GPU-hour is $2.50, not " in html
    assert html.count("<math") == 1  # only $x$


@pytest.mark.parametrize("text", ["$ x$", "$x $", "$x$5"])
def test_dollars_need_math_right_inside_and_no_digit_after(text):
    assert "<math" not in render_markdown(text)


def test_display_math_inline_and_on_its_own_lines():
    assert render_markdown("so $$J = L + s$$ holds").count('<math display="block">') == 1
    block = render_markdown("Before\n\n$$\nJ = L + s\n$$\n\nafter")
    assert block.count('<math display="block">') == 1 and "$$" not in block


def test_tex_that_would_inject_markup_stays_escaped():
    # latex2mathml copies \text{...} and \href/\style arguments into its output unescaped;
    # the subset renderer escapes text and refuses what it does not know.
    html = render_markdown(
        r"$\text{<script>alert(1)</script>}$ $\href{javascript:alert(1)}{x}$ "
        r"$\style{color:red}{x}$ $a \mathbin{<b>} c$"
    )
    assert "<script" not in html and "<b>" not in html
    assert "href=" not in html and "style=" not in html
