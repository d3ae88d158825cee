"""The SVG drawing of a submitted graph (grader.web.graphsvg)."""

import pytest

from grader.web.graphsvg import graph_svg


def test_labels_are_escaped_and_unreadable_answers_draw_nothing():
    svg = graph_svg('x -> matmul; "<script>" -> matmul')
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert graph_svg("") == "" and graph_svg({"nodes": "x"}) == ""


def test_nodes_are_numbered_in_the_order_given_and_laid_out_by_layer():
    svg = str(graph_svg("x -> matmul -> z"))
    assert svg.index("<title>1: x") < svg.index("<title>2: matmul") < svg.index("<title>3: z")
    assert "translate(40,40)" in svg and "translate(150,40)" in svg and "translate(260,40)" in svg


# Marks against the reference, by feedback level (issue 19, item 5) --------------------------

WRONG = "x -> matmul; W1 -> z; matmul -> +; b1 -> +; + -> z; h -> phi; phi -> z"


def _marked(answer: str = WRONG):
    from grader.catalog import load_files
    from grader.kinds.graph import marked_drawing
    from tests.conftest import EXERCISES

    spec = load_files([EXERCISES / "graph-bias.yaml"])[0].spec
    return marked_drawing(spec.parts[0], spec, answer)


def test_full_feedback_marks_extra_reversed_and_missing_edges_with_a_legend():
    svg = str(graph_svg(WRONG, _marked(), "full"))
    assert svg.count('<g class="edge-mark extra">') == 1
    assert svg.count('<g class="edge-mark reversed">') == 2
    assert svg.count('<g class="edge-mark missing">') == 1
    assert "<title>extra edge: 3 W1 → 4 z</title>" in svg
    assert "<title>missing edge: 3 W1 → 2 (matmul)</title>" in svg
    assert (
        'class="graph-legend"' in svg and "Also missing, at nodes your graph does not have" in svg
    )
    assert "the matmul that produces o" in svg  # the reference's missing nodes, named


def test_hints_mark_the_students_wrong_edges_but_not_the_missing_ones():
    svg = str(graph_svg(WRONG, _marked(), "hints"))
    assert svg.count('<g class="edge-mark extra">') == 3  # reversed edges count as extra
    assert "edge-mark reversed" not in svg and "edge-mark missing" not in svg
    assert "your graph lacks (" not in svg and "Also missing" not in svg
    assert "Edges your graph lacks are not shown." in svg


def test_score_only_draws_the_graph_without_marks_or_legend():
    svg = str(graph_svg(WRONG, _marked(), "score-only"))
    assert svg.count('<g class="node') == 8
    assert "edge-mark" not in svg and "graph-legend" not in svg and "marked" not in svg


def test_no_marks_by_default_and_unknown_levels_are_refused():
    assert "edge-mark" not in str(graph_svg(WRONG))
    with pytest.raises(ValueError, match="feedback level"):
        graph_svg(WRONG, None, "everything")  # type: ignore[arg-type]


def test_unreadable_or_invalid_drawings_are_not_marked():
    assert _marked("x -> ") is None
    assert _marked("x -> matmul -> x") is None  # a cycle: invalid, no attempt


@pytest.mark.db
@pytest.mark.parametrize(
    "level, marks",
    [("full", {"extra", "reversed", "missing"}), ("hints", {"extra"}), ("score-only", set())],
)
def test_the_students_page_marks_as_the_assignments_feedback_level_allows(app, level, marks):
    import re

    from grader.extensions import db
    from grader.services.exercises import import_exercises
    from grader.services.grading import submit
    from grader.services.users import create_user
    from tests.conftest import EXERCISES
    from tests.web.conftest import PASSWORD, sign_in

    with app.app_context():
        import_exercises([EXERCISES / "graph-bias.yaml"])
        student = create_user("s@example.org", "student", PASSWORD)
        row, _ = submit("graph-bias", student, {"graph": WRONG}, source="web")
        assert row.assignment is not None
        row.assignment.feedback = level
        db.session.commit()
        submission_id = row.id
    client = app.test_client()
    sign_in(client, "s@example.org")
    page = client.get(f"/submissions/{submission_id}").get_data(as_text=True)
    assert set(re.findall(r'<g class="edge-mark (\w+)">', page)) == marks
    assert ("graph-legend" in page) == bool(marks)
