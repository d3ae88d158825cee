"""Accessible names of formulas (grader.web.mathlabel)."""

from __future__ import annotations

from grader.web.markdown import render_inline
from grader.web.mathlabel import label_math, math_text


def test_math_is_named_by_its_own_text_with_sub_and_superscripts():
    html = label_math(render_inline(r"$\partial J / \partial b_1$ and $W_2^T g$"))
    assert 'aria-label="∂J/∂b₁"' in html and 'alttext="∂J/∂b₁"' in html
    assert 'aria-label="W₂ᵀg"' in html


def test_a_name_cannot_break_out_of_its_attribute():
    html = label_math('<math><mi>"&gt;&lt;script&gt;</mi></math>')
    assert "<script>" not in html
    assert 'aria-label="&quot;&gt;&lt;script&gt;"' in html


def test_math_already_named_is_left_alone_and_broken_markup_still_gets_text():
    named = '<math aria-label="x squared"><msup><mi>x</mi><mn>2</mn></msup></math>'
    assert label_math(named) == named
    assert math_text("<math><mi>a</mi><mo>+</mi></math>") == "a+"
