"""The SVG drawing of a submitted graph (grader.web.graphsvg)."""

from grader.web.graphsvg import graph_svg


def test_labels_are_escaped_and_unreadable_answers_draw_nothing():
    svg = graph_svg('x -> matmul; "<script>" -> matmul')
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert graph_svg("") == "" and graph_svg({"nodes": "x"}) == ""


def test_nodes_are_numbered_in_the_order_given_and_laid_out_by_layer():
    svg = str(graph_svg("x -> matmul -> z"))
    assert svg.index("<title>1: x") < svg.index("<title>2: matmul") < svg.index("<title>3: z")
    assert "translate(40,40)" in svg and "translate(150,40)" in svg and "translate(260,40)" in svg
