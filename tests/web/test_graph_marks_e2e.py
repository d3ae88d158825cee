"""Issue 19, item 5: the result and instructor pages mark where a drawn graph's edges differ
from the reference (extra, the wrong way round, missing), with colour, a line pattern and a
sign each, and a legend that names every marked edge in words; axe-core finds nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from grader.extensions import db
from tests.web import test_e2e as e2e
from tests.web.test_e2e import browser, need_exercise, page, server, sign_in  # noqa: F401
from tests.web.test_pages_e2e import MISSING_GLYPH, axe_violations, with_axe

# W1 goes into z instead of the matmul (extra; W1 -> matmul missing between drawn nodes), and
# φ is drawn the wrong way round (h -> φ -> z: two reversed edges).
pytestmark = e2e.pytestmark

WRONG = "x -> matmul; W1 -> z; matmul -> +; b1 -> +; + -> z; h -> phi; phi -> z"


@pytest.fixture(scope="module")
def wrong_graph(server) -> int:  # noqa: F811
    """Return the id of the student's submission of ``WRONG`` to ``graph-bias``."""
    from grader.models import User
    from grader.services.grading import submit

    _, app = server
    need_exercise(app, "graph-bias")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "student@example.org"))
        row, _ = submit("graph-bias", user, {"graph": WRONG}, source="web")
        assert not row.parts[0]["correct"]
        return row.id


def check_marks(page) -> None:  # noqa: F811
    drawing = page.locator("#part-graph svg.graph-drawing")
    assert drawing.locator("g.edge-mark.extra line.edge.extra").count() == 1
    assert drawing.locator("g.edge-mark.reversed line.edge.reversed").count() == 2
    assert drawing.locator("g.edge-mark.missing line.edge.missing").count() == 1
    # not colour alone: a sign on each marked edge and a different line pattern
    assert drawing.locator("g.edge-mark.extra text.sign").text_content() == "✗"
    assert drawing.locator("g.edge-mark.missing text.sign").text_content() == "+"
    patterns = {
        kind: drawing.locator(f"line.edge.{kind}").first.evaluate(
            "e => getComputedStyle(e).strokeDasharray"
        )
        for kind in ("extra", "reversed", "missing")
    }
    plain = drawing.locator("line.edge:not(.extra):not(.reversed):not(.missing)").first
    patterns["plain"] = plain.evaluate("e => getComputedStyle(e).strokeDasharray")
    assert len(set(patterns.values())) == 4, patterns
    assert "marked extra" in drawing.get_attribute("aria-label")
    legend = page.locator("#part-graph .graph-legend")
    text = legend.inner_text()
    assert "does not have (1): 3 W1 → 4 z" in text
    assert "other way round (2)" in text and "h → " in text
    assert "your graph lacks (1): 3 W1 → 2 (matmul)" in text
    assert "Also missing, at nodes your graph does not have" in text
    for sign in "✗↔+":
        assert not page.evaluate(MISSING_GLYPH, sign), f"{sign!r} shows as an empty box"


def test_result_and_instructor_pages_mark_the_edges_that_differ(page, server, wrong_graph):  # noqa: F811
    base, _ = server
    with_axe(page)
    sign_in(page, base, "student@example.org")
    page.goto(f"{base}/submissions/{wrong_graph}")
    check_marks(page)
    assert axe_violations(page) == []
    page.context.clear_cookies()
    sign_in(page, base, "teacher@example.org")
    page.goto(f"{base}/instructor/submissions/{wrong_graph}")
    check_marks(page)
    assert axe_violations(page) == []


def test_a_right_graph_is_drawn_without_marks(page, server):  # noqa: F811
    from grader.models import User
    from grader.services.grading import submit

    base, app = server
    need_exercise(app, "graph-bias")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "student@example.org"))
        right = (
            "x -> matmul#1; W1 -> matmul#1; matmul#1 -> +#1; b1 -> +#1; +#1 -> z; z -> phi -> h;"
            " h -> matmul#2; W2 -> matmul#2; matmul#2 -> o; o -> l; y -> l; l -> L;"
            " W1 -> l2; W2 -> l2; l2 -> s; L -> +#2; s -> +#2; +#2 -> J"
        )
        row, _ = submit("graph-bias", user, {"graph": right}, source="web")
        assert row.parts[0]["correct"], row.parts[0]["feedback"]
    sign_in(page, base, "student@example.org")
    page.goto(f"{base}/submissions/{row.id}")
    assert page.locator("#part-graph svg.graph-drawing g.node").count() == 18
    assert page.locator("#part-graph .edge-mark, #part-graph .graph-legend").count() == 0
