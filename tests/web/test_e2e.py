"""End-to-end: the pages in headless Chromium (Playwright), served from a thread on a fresh
SQLite database with CSRF on, as in production. Every page is checked for console errors and
Content-Security-Policy violations. Screenshots go to $GRADER_SCREENSHOTS (default /tmp).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask_migrate import upgrade

from grader import config as grader_config
from grader import create_app
from grader.catalog import CatalogError
from grader.extensions import db
from grader.models import Submission
from grader.services.exercises import import_exercises
from grader.services.grading import submit
from grader.services.users import create_user
from tests.conftest import EXERCISES
from tests.threaded_server import serve_in_thread
from tests.web.conftest import PASSWORD

try:
    from playwright.sync_api import Page, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

CHROMIUM = os.environ.get("GRADER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(os.environ.get("GRADER_SCREENSHOTS", "/tmp/grader-screenshots"))

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed"),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no chromium at {CHROMIUM}"),
]

# Records CSP violations in the page; runs before any page script.
CSP_PROBE = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, object]]:
    """Serve a fresh app (exercises imported, a student, another student, an instructor)."""
    tmp = tmp_path_factory.mktemp("e2e")
    config = grader_config.TestConfig(f"sqlite:///{tmp / 'e2e.sqlite'}", tmp / "instance")
    config.WTF_CSRF_ENABLED = True
    config.GRADER_LOGIN_RATE_LIMIT = "1000 per minute"  # every test signs in from 127.0.0.1
    app = create_app(config)
    with app.app_context():
        upgrade()
        import_exercises([EXERCISES / "jacobian-shape.yaml"])
        for path in sorted(EXERCISES.glob("*.yaml")):  # the others when they load (kinds land
            try:  # one by one); tests needing them skip
                import_exercises([path])
            except CatalogError:
                pass
        student = create_user("student@example.org", "student", PASSWORD)
        create_user("other@example.org", "student", PASSWORD)
        create_user("teacher@example.org", "instructor", PASSWORD)
        for answers in ({"shape": "m×n", "do_dh": "h×q"}, {"shape": "n×m", "dJ_dW1": "d×h"}):
            submit("jacobian-shape", student, answers, source="web")
    with serve_in_thread(app) as base_url:
        yield base_url, app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Launch Debian's headless Chromium once for the module."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, server) -> Iterator[Page]:
    """A fresh browser context; after the test, no console error and no CSP violation."""
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.add_init_script(CSP_PROBE)
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda msg: (
            problems.append(f"console {msg.type}: {msg.text}")
            if msg.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    # Nothing a page loads may leave this host (no CDN, no fonts, no analytics).
    page.on(
        "request",
        lambda req: (
            problems.append(f"request leaving the host: {req.url}")
            if urlsplit(req.url).hostname not in ("127.0.0.1", None)
            and not req.url.startswith(("data:", "blob:", "about:"))
            else None
        ),
    )
    page.expected_statuses = set()  # a test that provokes an error page names its status
    yield page
    try:
        problems += page.evaluate("window.__cspViolations || []")
    finally:
        context.close()
    expected = {f"status of {code} " for code in page.expected_statuses}
    assert [p for p in problems if not any(e in p for e in expected)] == [], problems


def sign_in(page: Page, base: str, email: str) -> None:
    """Sign in through the form."""
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/exercises")


def submit_form(page: Page, base: str) -> None:
    """Submit the exercise form (confirming blank parts when asked) and wait for the
    submission's page."""
    page.get_by_role("button", name="Submit for grading").click()
    dialog = page.locator("#confirm-blank")
    if dialog.is_visible():
        dialog.get_by_role("button", name="Submit anyway").click()
    page.wait_for_url(f"{base}/submissions/*")


def draw_graph(editor, nodes: list[tuple[str, str]], edges: list[tuple[int, int]]):
    """Draw nodes (label, variable|operator) and edges (by index) in a graph editor with the
    mouse; return the editor's node locator."""
    label = editor.get_by_label("Node label")
    for text, kind in nodes:
        label.fill(text)
        editor.get_by_role("button", name=f"Add {kind}").click()
    drawn = editor.locator("svg g.node")
    assert drawn.count() == len(nodes)
    for start, end in edges:
        drawn.nth(start).click()
        drawn.nth(end).click()
    return drawn


def shot(page: Page, name: str) -> None:
    """Save a full-page screenshot for a human to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def need_exercise(app, slug: str) -> None:
    """Skip the test when ``slug`` could not be imported (its kind has not landed yet)."""
    from grader.services.exercises import ExerciseNotFound, current_version

    with app.app_context():
        try:
            current_version(slug)
        except ExerciseNotFound:
            pytest.skip(f"exercise {slug} is not available")


def test_student_answers_and_sees_feedback(page, server):
    base, _ = server
    sign_in(page, base, "student@example.org")
    page.get_by_role("link", name="Shapes of gradients and Jacobians").click()
    page.wait_for_url(base + "/exercises/jacobian-shape")
    assert page.locator("math").count() > 5  # the prompts' TeX as MathML
    shape = page.get_by_label("Shape", exact=True).first
    shape.press_sequentially("n x m", delay=20)
    page.locator("#preview-shape").get_by_text("read as n×m").wait_for()  # live preview
    page.locator("#answer-do_dh").fill("h×q")
    page.locator("#answer-vector_or_matrix-dJ_db1").check()
    page.locator("#answer-vector_or_matrix-dJ_do").check()
    shot(page, "exercise-form")
    submit_form(page, base)
    summary = page.locator("#summary").inner_text()
    assert "Score 2 / 6" in summary
    shape_part = page.locator("#part-shape").inner_text()
    assert "✓ correct" in shape_part and "1 / 1" in shape_part
    assert "W₂ᵀ" in page.locator("#part-do_dh").inner_text()
    shot(page, "exercise-feedback")
    page.get_by_role("link", name="Try again with these answers").click()
    assert page.locator("#answer-shape").input_value() == "n x m"
    page.get_by_role("link", name="My submissions").click()
    assert "2 / 6" in page.locator("table").inner_text()


def test_preview_marks_the_error_and_invalid_answers_are_kept(page, server):
    base, _ = server
    sign_in(page, base, "student@example.org")
    page.goto(base + "/exercises/jacobian-shape")
    page.locator("#answer-shape").press_sequentially("n×?", delay=20)
    page.locator("#preview-shape .preview-error").wait_for()
    assert "Cannot read" in page.locator("#preview-shape").inner_text()
    page.locator("#answer-dh_dz").fill("h×h")
    page.expected_statuses.add(422)
    page.get_by_role("button", name="Submit for grading").click()
    page.get_by_role("button", name="Submit anyway").click()  # four parts are blank
    page.locator("#error-summary").wait_for()
    assert "nothing was recorded" in page.locator("#error-summary").inner_text()
    assert page.locator("#answer-shape").input_value() == "n×?"
    assert page.locator("#answer-dh_dz").input_value() == "h×h"
    assert page.locator("#error-shape").is_visible()


def test_graph_editor_builds_json_by_clicking(page, server):
    """The editor on a real exercise page: it fills the hidden field and the edge list, and
    reads names with the vocabulary the server sends with the part."""
    base, app = server
    need_exercise(app, "graph-bias")
    sign_in(page, base, "student@example.org")
    page.goto(base + "/exercises/graph-bias")
    editor = page.locator(".graph-editor[data-part=graph]")
    label = editor.get_by_label("Node label")
    for text, kind in (("x", "variable"), ("W1", "variable"), ("matmul", "operator")):
        label.fill(text)
        editor.get_by_role("button", name=f"Add {kind}").click()
    nodes = editor.locator("svg g.node")
    assert nodes.count() == 3
    # drag W1 somewhere else: a move, not a click
    box = nodes.nth(1).bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + 40, box["y"] + 160, steps=5)
    page.mouse.up()
    moved = nodes.nth(1).bounding_box()
    assert moved["y"] > box["y"] + 100
    nodes.nth(0).click()  # x, then matmul: an edge x -> matmul
    nodes.nth(2).click()
    nodes.nth(1).click()  # W1 -> matmul
    nodes.nth(2).click()
    graph = json.loads(editor.locator("input.graph-json").input_value())
    labels = {node["id"]: node["label"] for node in graph["nodes"]}
    assert {(labels[a], labels[b]) for a, b in graph["edges"]} == {
        ("x", "matmul"),
        ("W1", "matmul"),
    }
    assert {n["label"]: n["type"] for n in graph["nodes"]}["matmul"] == "operator"
    assert editor.locator("textarea").input_value() == "x -> matmul\nW1 -> matmul"
    shot(page, "graph-editor")
    # select and delete a node: its edges go too
    nodes.nth(0).click()
    editor.get_by_role("button", name="Delete selected").click()
    graph = json.loads(editor.locator("input.graph-json").input_value())
    assert len(graph["nodes"]) == 2 and len(graph["edges"]) == 1
    # a node whose name does not say its type is written with brackets
    label.fill("mystery")
    editor.get_by_role("button", name="Add operator").click()
    assert editor.locator("textarea").input_value().endswith("(mystery)")
    # keyboard users type the edge list; the drawing and the JSON follow
    editor.locator("textarea").fill("x -> matmul; W1 -> matmul\nmatmul -> (+); [b1] -> +")
    graph = json.loads(editor.locator("input.graph-json").input_value())
    assert len(graph["nodes"]) == 5 and len(graph["edges"]) == 4
    types = {node["label"]: node["type"] for node in graph["nodes"]}
    assert types == {
        "x": "variable",
        "W1": "variable",
        "matmul": "operator",
        "+": "operator",
        "b1": "variable",
    }
    assert editor.locator("svg g.node").count() == 5


def test_queued_submission_page_updates_when_graded(page, server):
    base, app = server
    with app.app_context():
        from sqlalchemy import select

        from grader.models import User

        user = db.session.scalar(select(User).where(User.email == "student@example.org"))
        row, _ = submit("jacobian-shape", user, {"shape": "n×m"}, source="web")
        row.status, row.score = "queued", None
        db.session.commit()
        sid = row.id
    sign_in(page, base, "student@example.org")
    page.goto(f"{base}/submissions/{sid}")
    assert "Grading" in page.locator("#summary").inner_text()

    def finish() -> None:
        with app.app_context():
            graded = db.session.get(Submission, sid)
            graded.status, graded.score = "graded", 1.0
            db.session.commit()

    timer = threading.Timer(1.5, finish)
    timer.start()
    page.get_by_text("Score 1 / 6").wait_for(timeout=10_000)
    timer.join()


def test_instructor_sees_the_dashboard_charts(page, server):
    base, _ = server
    sign_in(page, base, "teacher@example.org")
    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_url(base + "/instructor")
    card = page.locator("#exercise-jacobian-shape")
    assert card.locator("svg.chart").count() >= 2
    assert card.locator("svg.chart rect").count() >= 10
    assert "listed mistake: h×q" in card.inner_text()
    shot(page, "instructor-dashboard")
    card.get_by_role("link", name="All submissions →").click()
    page.get_by_label("Status").select_option("graded")
    page.get_by_role("button", name="Filter").click()
    assert "status=graded" in page.url
    page.locator("table a").first.click()
    assert "seed" in page.locator("#summary").inner_text()
    for path in ("/instructor/import", "/me", "/exercises"):
        page.goto(base + path)
    shot(page, "exercise-list")


def test_student_gets_403_on_instructor_pages(page, server):
    base, _ = server
    sign_in(page, base, "other@example.org")
    response = page.goto(base + "/instructor")
    assert response.status == 403
    assert "Not allowed" in page.locator("h1").inner_text()
    page.expected_statuses.add(403)  # the browser logs the 403 page itself


def test_anonymous_visitor_signs_in_and_comes_back(page, server):
    base, _ = server
    page.goto(base + "/me")
    assert page.url.startswith(base + "/login")
    page.get_by_label("Email").fill("other@example.org")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    assert "not right" in page.locator(".flash-error").inner_text()
    page.expected_statuses.add(401)  # a 401 page logs a console error in Chromium
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/me")
    shot(page, "me")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(base + "/login")


def test_formula_live_preview_and_grading(page, server):
    base, app = server
    need_exercise(app, "backprop-bias")
    sign_in(page, base, "student@example.org")
    page.goto(base + "/exercises/backprop-bias")
    z = page.locator("#answer-z")
    z.press_sequentially("W_1 x + (b1", delay=15)
    error = page.locator("#preview-z .preview-error")
    error.wait_for()
    assert "Column" in error.inner_text()
    assert page.locator("#preview-z pre.caret").inner_text().endswith("^")
    z.press("End")
    z.press_sequentially(")", delay=15)
    page.locator("#preview-z math").wait_for()  # MathML as you type
    # the palette inserts notation at the caret
    dJ_do = page.locator("#answer-dJ_do")
    dJ_do.fill("2*(o - y)")
    shot(page, "formula-preview")
    submit_form(page, base)
    assert "✓ correct" in page.locator("#part-z").inner_text()
    assert "✓ correct" in page.locator("#part-dJ_do").inner_text()
    shot(page, "formula-feedback")


def test_palette_inserts_symbols(page, server):
    base, app = server
    need_exercise(app, "backprop-bias")
    sign_in(page, base, "student@example.org")
    page.goto(base + "/exercises/backprop-bias")
    field = page.locator("#answer-dJ_dW2")
    field.fill("dJ_do h")
    palette = page.get_by_role("group", name="Insert a symbol into the formula of part dJ_dW2")
    palette.get_by_role("button", name="ᵀ transpose").click()
    assert field.input_value() == "dJ_do hᵀ"
    page.locator("#preview-dJ_dW2 math").wait_for()


def test_graph_exercise_drawn_and_graded(page, server):
    base, app = server
    need_exercise(app, "graph-bias")
    sign_in(page, base, "student@example.org")
    page.goto(base + "/exercises/graph-bias")
    editor = page.locator(".graph-editor").first
    nodes = [("x", "variable"), ("W1", "variable"), ("matmul", "operator"), ("z", "variable")]
    draw_graph(editor, nodes, [(0, 2), (1, 2), (2, 3)])
    assert len(json.loads(editor.locator("input.graph-json").input_value())["edges"]) == 3
    submit_form(page, base)
    result = page.locator("section.part.result").first
    assert "could not be graded" not in result.inner_text()
    answer = result.locator("pre.answer").inner_text()  # shown back as an edge list
    assert answer.split("\n")[:3] == ["x -> matmul", "W1 -> matmul", "matmul -> z"]
    shot(page, "graph-feedback")


GRAPH_BIAS_NODES = [
    ("x", "variable"),
    ("W1", "variable"),
    ("b1", "variable"),
    ("W2", "variable"),
    ("y", "variable"),
    ("matmul", "operator"),
    ("+", "operator"),
    ("z", "variable"),
    ("φ", "operator"),
    ("h", "variable"),
    ("matmul", "operator"),
    ("o", "variable"),
    ("l", "operator"),
    ("L", "variable"),
    ("ℓ2", "operator"),
    ("s", "variable"),
    ("+", "operator"),
    ("J", "variable"),
]
GRAPH_BIAS_EDGES = [
    (0, 5),
    (1, 5),
    (5, 6),
    (2, 6),
    (6, 7),
    (7, 8),
    (8, 9),
    (9, 10),
    (3, 10),
    (10, 11),
    (11, 12),
    (4, 12),
    (12, 13),
    (1, 14),
    (3, 14),
    (14, 15),
    (13, 16),
    (15, 16),
    (16, 17),
]


def test_whole_graph_drawn_with_the_mouse_gets_full_credit(page, server):
    base, app = server
    need_exercise(app, "graph-bias")
    sign_in(page, base, "student@example.org")
    page.goto(base + "/exercises/graph-bias")
    editor = page.locator(".graph-editor").first
    draw_graph(editor, GRAPH_BIAS_NODES, GRAPH_BIAS_EDGES)
    drawn = json.loads(editor.locator("input.graph-json").input_value())
    assert len(drawn["edges"]) == len(GRAPH_BIAS_EDGES)
    shot(page, "graph-drawn")
    submit_form(page, base)
    assert "Score 2 / 2" in page.locator("#summary").inner_text()
    assert "✓ correct" in page.locator("#part-graph").inner_text()
    shot(page, "graph-full-credit")


def test_wrong_formula_gets_feedback_naming_the_mistake(page, server):
    base, app = server
    need_exercise(app, "backprop-bias")
    sign_in(page, base, "student@example.org")
    page.goto(base + "/exercises/backprop-bias")
    page.locator("#answer-dJ_do").fill("o - y")  # the factor 2 is missing
    page.locator("#answer-dJ_dh").fill("W2^T dJ_do")
    page.locator("#preview-dJ_dh math").wait_for()
    submit_form(page, base)
    wrong = page.locator("#part-dJ_do").inner_text()
    assert "✗ not correct" in wrong and "factor 2" in wrong
    assert "✓ correct" in page.locator("#part-dJ_dh").inner_text()
    shot(page, "formula-wrong-feedback")


CORRECT_CODE = """import numpy as np


def backward(x, y, W1, b1, W2, b2, lam):
    z = W1 @ x + b1
    h = np.tanh(z)
    o = W2 @ h + b2
    g_o = 2 * (o - y)
    g_z = (W2.T @ g_o) * (1 - h ** 2)
    return {"W1": np.outer(g_z, x) + lam * W1, "b1": g_z,
            "W2": np.outer(g_o, h) + lam * W2, "b2": g_o}
"""


@pytest.mark.sandbox
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="apt-get install bubblewrap")
def test_code_answer_is_run_and_graded(page, server):
    base, app = server
    need_exercise(app, "backprop-code")
    sign_in(page, base, "student@example.org")
    page.goto(base + "/exercises/backprop-code")
    area = page.locator("#answer-code")
    assert "def backward" in area.input_value()  # the starter code, also in the editor
    assert "def backward" in page.locator("#part-code .cm-content").inner_text()
    page.evaluate(
        "([text]) => { const view = document.getElementById('answer-code').codeEditor;"
        " view.dispatch({changes: {from: 0, to: view.state.doc.length, insert: text}}); }",
        [CORRECT_CODE],
    )
    assert area.input_value() == CORRECT_CODE
    submit_form(page, base)
    page.get_by_text("Score 4 / 4").wait_for(timeout=20_000)
    assert "✓ correct" in page.locator("#part-code").inner_text()
    shot(page, "code-feedback")


def test_instructor_downloads_the_gradebook_csv(page, server):
    base, _ = server
    sign_in(page, base, "teacher@example.org")
    page.goto(base + "/instructor")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the gradebook (CSV)").click()
    path = info.value.path()
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("email,")
    assert any("student@example.org" in line and "jacobian-shape" in line for line in lines[1:])


def test_a_copied_session_cookie_stops_working_after_sign_out(page, browser, server):
    """The cookie of a signed-in browser, copied into another browser, opens the pages until
    the first one signs out; then the copy is sent to sign in too."""
    base, app = server
    with app.app_context():
        create_user("copied-cookie@example.org", "student", PASSWORD)
    sign_in(page, base, "copied-cookie@example.org")
    thief = browser.new_context()
    try:
        thief.add_cookies(page.context.cookies())
        stolen = thief.new_page()
        stolen.goto(base + "/me")
        assert stolen.url == base + "/me"
        page.goto(base + "/me")
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(base + "/login")
        stolen.goto(base + "/me")
        assert stolen.url.startswith(base + "/login")
    finally:
        thief.close()
