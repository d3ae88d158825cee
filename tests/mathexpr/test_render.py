"""Rendering: canonical source, LaTeX and MathML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from grader.mathexpr import Namespace, parse, to_latex, to_mathml, to_source

MATHML = "{http://www.w3.org/1998/Math/MathML}"

SOURCES = {
    "W2^T (2(o − y)) ⊙ φ'(z)": "W2.T @ (2 * (o - y)) * phi'(z)",
    "λ/2 (norm(W_1)² + norm(W_2)**2)": "lam / 2 * (norm(W1)^2 + norm(W2)^2)",
    "-x.T @ -x": "-x.T @ -x",
    "z^-1 + (z^2)^3 - -(z + b1)": "z^(-1) + (z^2)^3 - -(z + b1)",
    "W1 (x)": "W1 @ x",
    "ones(h, 1)ᵀ": "ones(h, 1).T",
    "sum(W1, 1) + 1e-5": "sum(W1, 1) + 1e-05",
    "a - (b - c)": "a - (b - c)",
    "a / (b * c)": "a / (b * c)",
    "(a b)^2": "(a b)^2",
    "a (-b)": "a (-b)",
    "dφ(z)": "phi'(z)",
}


@pytest.mark.parametrize(("text", "source"), SOURCES.items())
def test_canonical_source(text: str, source: str) -> None:
    ns = Namespace.chapter().with_variables({"a": None, "b": None, "c": None})
    tree = parse(text, ns)
    assert to_source(tree) == source
    assert parse(source, ns) == tree


LATEX = {
    "W2^T (2(o − y)) ⊙ φ'(z)": r"{W_{2}}^{\top} \, \left(2 \, \left(o - y\right)\right) \odot "
    r"\varphi'\left(z\right)",
    "lam/2 * (norm(W1)^2 + norm(W2)^2)": r"\frac{\lambda}{2} \, \left({\left\lVert W_{1} "
    r"\right\rVert}^{2} + {\left\lVert W_{2} \right\rVert}^{2}\right)",
    "exp(-z) + sqrt(abs(z))": r"\exp\left(-z\right) + \sqrt{\left|z\right|}",
    "1e-5 x": r"1 \cdot 10^{-5} \, x",
    "sigmoid'(z)": r"\operatorname{sigmoid}'\left(z\right)",
}


@pytest.mark.parametrize(("text", "latex"), LATEX.items())
def test_latex(text: str, latex: str) -> None:
    assert to_latex(parse(text)) == latex


def test_latex_of_underscored_names() -> None:
    ns = Namespace(variables={"dJ_do": ["q"]})
    assert to_latex(parse("dJ_do", ns)) == r"\mathrm{dJ\_do}"


def test_mathml_is_well_formed_presentation_markup() -> None:
    markup = to_mathml(parse("W2^T (2(o − y)) ⊙ φ'(z)"))
    assert markup.startswith('<math xmlns="http://www.w3.org/1998/Math/MathML"')
    root = ET.fromstring(markup)
    assert root.tag == f"{MATHML}math"
    texts = [el.text for el in root.iter() if el.text]
    assert texts[:3] == ["W", "2", "⊤"]
    assert "⊙" in texts and "φ" in texts and "′" in texts
    tags = {el.tag.removeprefix(MATHML) for el in root.iter()}
    assert {"msub", "msup", "mrow", "mi", "mn", "mo"} <= tags


def test_mathml_fractions_powers_and_norms() -> None:
    root = ET.fromstring(to_mathml(parse("lam/2 * norm(W1)^2 - z^-1"), display="block"))
    assert root.get("display") == "block"
    assert root.find(f".//{MATHML}mfrac") is not None
    texts = [el.text for el in root.iter() if el.text]
    assert texts.count("‖") == 2 and "λ" in texts and "−" in texts
    with pytest.raises(ValueError):
        to_mathml(parse("x"), display="<script>")


def test_mathml_escapes_text() -> None:
    # Namespaces come from instructors; whatever they name, markup stays markup.
    ns = Namespace(variables={"a": []}, functions={"f": 1})
    markup = to_mathml(parse("f(a) + a", ns))
    ET.fromstring(markup)
    from grader.mathexpr.mathml import _el

    assert _el("mi", "<b>&") == "<mi>&lt;b&gt;&amp;</mi>"
