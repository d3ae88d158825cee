"""End-to-end checks of the student and instructor pages as a person uses them: the keyboard,
answers kept across "Try again" and refused forms, error summaries, accessible names (axe-core
run in the page), ordering and filtering. Same server and browser as ``test_e2e``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from grader.extensions import db
from grader.models import Submission
from tests.web import test_e2e as e2e

pytestmark = e2e.pytestmark

server = e2e.server
browser = e2e.browser
page = e2e.page
sign_in = e2e.sign_in
submit_form = e2e.submit_form
need_exercise = e2e.need_exercise


def count_submissions(app) -> int:
    """Return how many submissions the database holds."""
    with app.app_context():
        return db.session.scalar(select(func.count(Submission.id)))


def try_again(page, base: str) -> None:
    """From a submission's page, go back to the form filled with its answers."""
    page.get_by_role("link", name="Try again with these answers").click()
    page.wait_for_url(f"{base}/exercises/*from=*")


def refuse(page) -> None:
    """Submit a form that the server refuses (422) and wait for it to come back."""
    page.expected_statuses.add(422)
    page.get_by_role("button", name="Submit for grading").click()
    dialog = page.locator("#confirm-blank")
    if dialog.is_visible():
        dialog.get_by_role("button", name="Submit anyway").click()
    page.locator("#error-summary").wait_for()


# 1. Enter moves on; blank parts ask first ---------------------------------------------------


def test_enter_in_a_formula_moves_to_the_next_part_and_records_nothing(page, server):
    base, app = server
    need_exercise(app, "backprop-bias")
    sign_in(page, base, "student@example.org")
    page.goto(base + "/exercises/backprop-bias")
    before = count_submissions(app)
    page.locator("#answer-z").fill("W1 x + b1")
    page.locator("#answer-z").press("Enter")
    assert page.evaluate("document.activeElement.id") == "answer-o"
    page.locator("#answer-o").press("Enter")
    assert page.evaluate("document.activeElement.id") == "answer-dJ_do"
    page.locator("#answer-dJ_dW1").press("Enter")  # the last part: on to the submit button
    assert page.evaluate("document.activeElement.textContent") == "Submit for grading"
    page.wait_for_timeout(300)
    assert page.url == base + "/exercises/backprop-bias"
    assert count_submissions(app) == before
    assert page.locator("#answer-z").input_value() == "W1 x + b1"


def test_submitting_with_blank_parts_asks_first(page, server):
    base, app = server
    need_exercise(app, "backprop-bias")
    sign_in(page, base, "student@example.org")
    page.goto(base + "/exercises/backprop-bias")
    before = count_submissions(app)
    page.locator("#answer-z").fill("W1 x + b1")
    page.get_by_role("button", name="Submit for grading").click()
    dialog = page.get_by_role("dialog", name="Submit with 8 blank part(s)?")
    dialog.wait_for()
    assert dialog.get_by_role("link").count() == 8
    assert "Part 2" in dialog.get_by_role("link").first.inner_text()
    dialog.get_by_role("button", name="Go back and answer them").click()
    assert not dialog.is_visible()
    assert page.evaluate("document.activeElement.id") == "answer-o"
    assert count_submissions(app) == before
    page.get_by_role("button", name="Submit for grading").click()
    dialog.get_by_role("button", name="Submit anyway").click()
    page.wait_for_url(f"{base}/submissions/*")
    assert count_submissions(app) == before + 1


# 2. Every kind of answer survives "Try again" and a refused form ------------------------------

TRICKY_CODE = (
    "import numpy as np\n\n\ndef backward(x, y, W1, b1, W2, b2, lam):\n    s = \"<b> & 'q'\"\n"
)
# Per exercise: the answers typed (by field id: text, [checked option ids], or an edge list for
# a graph editor), and answers that make the server refuse the form (kept as typed as well).
ROUND_TRIPS = {
    "jacobian-shape": (
        {"shape": "n×m", "do_dh": "h × q", "vector_or_matrix": ["dJ_db1", "dJ_do"]},
        {"shape": "n×?"},
    ),
    "backprop-bias": ({"z": "W1 x + b1", "dJ_do": "2(o - y)", "o": "W2 h + b2"}, {"z": "W1 @ ("}),
    "memory-footprint": ({"training": "2*(h*d + h)", "prediction": "h*d"}, {"training": "n*("}),
    "graph-bias": (
        {"graph": 'x -> matmul; W1 -> matmul; matmul -> z; "q" -> z'},
        {"graph": "x -> matmul; matmul -> x"},
    ),
    "multi-gpu": (
        {
            "partition": ["no-whole-graph"],
            "tradeoffs": ["transfer", "idle"],
            "discussion": 'Partition it: "send" <h> & its gradient across the devices.',
        },
        {"discussion": "too long " * 300},
    ),
    "backprop-code": ({"code": TRICKY_CODE}, {"code": TRICKY_CODE + "def (:\n"}),
}


def fill(page, answers: dict) -> None:
    """Type each answer into its part's widget, as a student would."""
    for part, value in answers.items():
        section = page.locator(f"#part-{part}")
        if isinstance(value, list):
            for box in section.locator("input[type=checkbox], input[type=radio]").all():
                box.set_checked(box.get_attribute("value") in value)
        elif section.locator(".graph-editor").count():
            section.locator("textarea.graph-edges").fill(value)
        elif section.locator(".cm-editor").count():
            set_code(page, part, value)
        else:
            page.locator(f"#answer-{part}").fill(value)


SET_CODE = """([id, text]) => {
  const view = document.getElementById(id).codeEditor;
  view.dispatch({changes: {from: 0, to: view.state.doc.length, insert: text}});
}"""


def set_code(page, part: str, text: str) -> None:
    """Replace the code editor's text (typing would meet its auto-indent and brackets)."""
    page.evaluate(SET_CODE, [f"answer-{part}", text])


def edges_of(page, part: str) -> set[tuple[str, str]]:
    """Return the edges (by label) the graph editor holds in its hidden JSON field."""
    graph = json.loads(page.locator(f"#answer-{part}").input_value())
    labels = {node["id"]: node["label"] for node in graph["nodes"]}
    return {(labels[a], labels[b]) for a, b in graph["edges"]}


def check_kept(page, answers: dict, expected_edges: dict) -> None:
    """Assert that every answer is back in its widget as typed."""
    for part, value in answers.items():
        section = page.locator(f"#part-{part}")
        if isinstance(value, list):
            checked = {box.get_attribute("value") for box in section.locator("input:checked").all()}
            assert checked == set(value), part
        elif section.locator(".graph-editor").count():
            assert edges_of(page, part) == expected_edges[part], part
            assert section.locator("svg g.node").count() == len(
                {end for edge in expected_edges[part] for end in edge}
            )
        else:
            assert page.locator(f"#answer-{part}").input_value() == value.replace("\r\n", "\n")


@pytest.mark.parametrize("slug", sorted(ROUND_TRIPS))
def test_every_answer_kind_survives_try_again_and_a_refused_form(page, server, slug):
    base, app = server
    need_exercise(app, slug)
    if slug == "backprop-code" and e2e.shutil.which("bwrap") is None:
        pytest.skip("grading code needs bubblewrap")
    answers, unreadable = ROUND_TRIPS[slug]
    sign_in(page, base, "student@example.org")
    page.goto(f"{base}/exercises/{slug}")
    fill(page, answers)
    edges = {
        part: edges_of(page, part)
        for part in answers
        if page.locator(f"#part-{part} .graph-editor").count()
    }
    submit_form(page, base)
    page.locator("#summary .score").wait_for()
    try_again(page, base)
    check_kept(page, answers, edges)
    # the same answers with one made unreadable: refused, and everything comes back as typed
    fill(page, unreadable)
    typed = answers | unreadable
    edges |= {
        part: edges_of(page, part)
        for part in unreadable
        if page.locator(f"#part-{part} .graph-editor").count()
    }
    refuse(page)
    check_kept(page, typed, edges)


# 8. A refused form says what to fix, where, once --------------------------------------------


def test_refused_form_has_an_error_summary_that_takes_focus_and_links_to_each_part(page, server):
    base, app = server
    need_exercise(app, "backprop-bias")
    sign_in(page, base, "student@example.org")
    page.goto(base + "/exercises/backprop-bias")
    page.locator("#answer-z").fill("W1 x + (b1")
    page.locator("#answer-dJ_do").fill("2(o - y)")
    page.locator("#answer-dJ_dW1").fill("dJ_dz x^T + ")  # the last part, far down the page
    refuse(page)
    assert page.title().startswith("Error: ")
    summary = page.locator("#error-summary")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert "nothing was recorded" in summary.inner_text()
    links = summary.get_by_role("link")
    assert links.count() == 2
    assert links.nth(0).inner_text().startswith("Part 1 (z): ")
    assert links.nth(1).inner_text().startswith("Part 9 (dJ_dW1): ")
    links.nth(1).click()
    assert page.evaluate("document.activeElement.id") == "answer-dJ_dW1"
    assert page.locator("#answer-dJ_dW1").is_visible()
    box = page.locator("#answer-dJ_dW1").bounding_box()
    assert 0 <= box["y"] <= page.viewport_size["height"]
    # the message shows once in the part (not again in the preview)
    message = page.locator("#error-z").inner_text().lstrip("✗ ").strip()
    page.wait_for_timeout(600)  # a preview, if one were sent on load, has come back by now
    assert page.locator("#part-z").inner_text().count(message[:40]) == 1
    assert page.locator("#answer-z").get_attribute("aria-invalid") == "true"
    # once the student edits the part, the live preview takes over from the stale error
    page.locator("#answer-z").press("End")
    page.locator("#answer-z").press_sequentially(")", delay=20)
    page.locator("#preview-z math").wait_for()
    assert page.locator("#error-z").count() == 0
    assert page.locator("#answer-z").get_attribute("aria-invalid") is None


# axe-core in the page: no accessibility violation on any page --------------------------------

AXE = Path(__file__).with_name("vendor") / "axe.min.js"


def with_axe(page) -> None:
    """Load axe-core (vendored from npm) into every page this context opens from now on. An init
    script, not ``add_script_tag``: the pages' Content-Security-Policy refuses inline scripts,
    and the test keeps that policy on."""
    page.context.add_init_script(path=str(AXE))


def axe_violations(page) -> list[str]:
    """Run axe-core in the page; return its violations, one line each."""
    result = page.evaluate(
        "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map("
        "v => v.id + ': ' + v.help + ' — ' + v.nodes.map(n => n.target.join(' ')).join(' | ')))"
    )
    return list(result)


# One submission per exercise, graded through the service (a text part waits for review).
SAMPLE_ANSWERS = {
    "jacobian-shape": {"shape": "n×m", "do_dh": "h×q", "vector_or_matrix": ["dJ_db1"]},
    "graph-bias": {"graph": "x -> matmul; W1 -> matmul; matmul -> +; b1 -> +; + -> z"},
    "backprop-bias": {"z": "W1 x + b1", "o": "h W2 + b2", "dJ_do": "o - y"},
    "memory-footprint": {"training": "2*(h*d + h + q*h + q) + d*n", "prediction": "h*d"},
    "second-derivatives": {"d2J_db2": "2 eye(q)", "graph": ["recorded"]},
    "multi-gpu": {
        "partition": ["no-whole-graph"],
        "discussion": "Splitting the graph across devices means sending activations " * 12,
    },
    "backprop-code": {"code": e2e.CORRECT_CODE},
    "backprop-code-batch": {"code": "def backward(:"},
}


@pytest.fixture(scope="module")
def submitted(server) -> dict[str, int]:
    """Return the id of one graded submission of the student per exercise that is available."""
    from grader.catalog import CatalogError  # noqa: F401  (the server imported what loads)
    from grader.models import User
    from grader.services.exercises import ExerciseNotFound, current_version
    from grader.services.grading import InvalidAnswers, submit

    _, app = server
    ids = {}
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "student@example.org"))
        for slug, answers in SAMPLE_ANSWERS.items():
            try:
                current_version(slug)
                row, _ = submit(slug, user, answers, source="web")
            except (ExerciseNotFound, InvalidAnswers):
                continue
            ids[slug] = row.id
    return ids


# 10. Math has names, text answers wrap, headers have text, glyphs exist ----------------------


def test_formulas_name_themselves_so_choices_have_accessible_names(page, server, submitted):
    base, app = server
    sign_in(page, base, "student@example.org")
    page.goto(base + "/exercises/jacobian-shape")
    assert page.locator("math").count() > 5
    assert page.locator("math:not([alttext])").count() == 0
    assert page.locator("math:not([aria-label])").count() == 0
    assert page.get_by_role("checkbox", name="∂J/∂b₁").count() == 1
    assert page.get_by_role("checkbox", name="∂o/∂h").count() == 1
    need_exercise(app, "backprop-bias")
    page.goto(base + "/exercises/backprop-bias")
    page.locator("#answer-dJ_dW2").fill("dJ_do h^T + λ W2")
    preview = page.locator("#preview-dJ_dW2 math")
    preview.wait_for()
    assert "W₂" in preview.get_attribute("aria-label")
    page.goto(f"{base}/submissions/{submitted['backprop-bias']}")
    answers = page.locator(".answer-math math")
    assert answers.count() >= 3
    assert "W₁" in answers.first.get_attribute("alttext")


def test_a_long_text_answer_wraps_inside_the_page(page, server, submitted):
    base, app = server
    need_exercise(app, "multi-gpu")
    sign_in(page, base, "student@example.org")
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{base}/submissions/{submitted['multi-gpu']}")
    answer = page.locator("#part-discussion .answer")
    assert "Splitting the graph" in answer.inner_text()
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert answer.bounding_box()["width"] <= width
    # wrapped, not a line to scroll sideways through
    assert answer.evaluate("e => e.scrollWidth <= e.clientWidth")


def test_every_table_header_has_text(page, server, submitted):
    base, _ = server
    sign_in(page, base, "student@example.org")
    page.goto(base + "/me")
    headers = page.locator("th").all_inner_texts()
    assert headers and all(text.strip() for text in headers)


# Draws a text and the font's missing-glyph box into canvases; equal pixels: no glyph.
MISSING_GLYPH = r"""(ch) => {
  const draw = (text) => {
    const canvas = document.createElement('canvas');
    canvas.width = 40; canvas.height = 40;
    const ctx = canvas.getContext('2d');
    ctx.font = getComputedStyle(document.body).font;
    ctx.fillText(text, 5, 30);
    return Array.from(ctx.getImageData(0, 0, 40, 40).data).join(',');
  };
  return draw(ch) === draw('\u{10FFFD}');
}"""


def test_verdict_glyphs_exist_in_the_page_font(page, server, submitted):
    base, app = server
    need_exercise(app, "multi-gpu")
    sign_in(page, base, "student@example.org")
    page.goto(f"{base}/submissions/{submitted['multi-gpu']}")
    pending = page.locator(".verdict.pending").first.inner_text()
    glyph = pending.strip()[0]
    assert not page.evaluate(MISSING_GLYPH, glyph), f"{glyph!r} shows as an empty box"
    for verdict in "✓✗◐–⚠…":
        assert not page.evaluate(MISSING_GLYPH, verdict), f"{verdict!r} shows as an empty box"


def assert_no_violations(page, paths: list[str], base: str) -> None:
    """Open each path and collect axe-core's violations; assert there are none."""
    found = {}
    for path in paths:
        response = page.goto(base + path)
        assert response.status == 200, path
        page.wait_for_load_state("networkidle")
        violations = axe_violations(page)
        if violations:
            found[path] = violations
    assert found == {}


def test_axe_finds_nothing_on_the_signed_out_pages(page, server):
    base, _ = server
    with_axe(page)
    assert_no_violations(page, ["/login", "/api/v1/docs"], base)


def test_axe_finds_nothing_on_the_student_pages(page, server, submitted):
    base, app = server
    with_axe(page)
    sign_in(page, base, "student@example.org")
    with app.app_context():
        from grader.services.exercises import list_current_versions, spec_of

        slugs = [spec_of(version).slug for version in list_current_versions()]
    paths = ["/exercises", "/me"] + [f"/exercises/{slug}" for slug in slugs]
    paths += [f"/submissions/{sid}" for sid in submitted.values()]
    paths += [f"/exercises/{slug}?from={sid}" for slug, sid in submitted.items()]
    assert_no_violations(page, paths, base)
    # on a phone: nothing wider than the screen, still no violation
    page.set_viewport_size({"width": 390, "height": 800})
    narrow = ["/exercises", "/me"] + [f"/exercises/{slug}" for slug in slugs]
    narrow += [f"/submissions/{sid}" for sid in submitted.values()]
    assert_no_violations(page, narrow, base)
    for path in narrow:
        page.goto(base + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    page.set_viewport_size({"width": 1100, "height": 900})
    # a refused form, with its error summary
    page.goto(base + "/exercises/backprop-bias")
    page.locator("#answer-z").fill("W1 x + (")
    refuse(page)
    assert axe_violations(page) == []


def test_axe_finds_nothing_on_the_instructor_pages(page, server, submitted):
    base, _ = server
    with_axe(page)
    sign_in(page, base, "teacher@example.org")
    paths = ["/instructor", "/instructor/import"]
    paths += [f"/instructor/exercises/{slug}/submissions" for slug in submitted]
    paths += [f"/instructor/submissions/{sid}" for sid in submitted.values()]
    assert_no_violations(page, paths, base)


# 11. The chapter's order; one exercise's submissions ------------------------------------------


def test_exercises_are_listed_in_the_chapters_order(page, server):
    base, app = server
    need_exercise(app, "backprop-bias")
    sign_in(page, base, "student@example.org")
    slugs = page.locator("table.list tbody tr .muted").all_inner_texts()
    chapter = [
        "jacobian-shape",
        "graph-bias",
        "backprop-bias",
        "memory-footprint",
        "second-derivatives",
        "multi-gpu",
        "backprop-code",
        "backprop-code-batch",
    ]
    assert [s for s in slugs if s in chapter] == [s for s in chapter if s in slugs]
    assert len(slugs) >= 3


def test_your_submissions_link_lists_only_that_exercise(page, server, submitted):
    base, app = server
    need_exercise(app, "backprop-bias")
    sign_in(page, base, "student@example.org")
    page.goto(base + "/exercises/backprop-bias")
    page.get_by_role("link", name="your submissions to this exercise").click()
    page.wait_for_url(base + "/me?exercise=backprop-bias")
    exercises = page.locator("table.list tbody tr td:nth-child(2)").all_inner_texts()
    assert exercises and set(exercises) == {"Backpropagation with a hidden-layer bias"}
    page.get_by_role("link", name="All my submissions").click()
    everything = page.locator("table.list tbody tr td:nth-child(2)").all_inner_texts()
    assert len(set(everything)) > 1


# 7. Placeholders are not answers; the λ button does not glue names ---------------------------


def test_no_placeholder_is_a_correct_answer(page, server):
    import re

    from grader.services.exercises import current_version, list_current_versions, spec_of
    from grader.services.grading import grade_answers

    base, app = server
    sign_in(page, base, "student@example.org")
    with app.app_context():
        slugs = [spec_of(version).slug for version in list_current_versions()]
    checked = 0
    for slug in slugs:
        page.goto(f"{base}/exercises/{slug}")
        fields = page.locator("input[name^='answer-'][placeholder]")
        examples = {}
        for index in range(fields.count()):
            field = fields.nth(index)
            text = field.get_attribute("placeholder").removeprefix("e.g. ")
            examples[field.get_attribute("name").removeprefix("answer-")] = [
                e.strip() for e in re.split(r",(?![^(]*\))| or ", text) if e.strip()
            ]
        with app.app_context():
            spec = spec_of(current_version(slug))
            for part, candidates in examples.items():
                for candidate in candidates:
                    (result,) = grade_answers(
                        spec, {part: candidate}, 1, lambda p, part=part: p.id == part
                    )
                    assert not result.correct, f"{slug}/{part}: the placeholder {candidate!r}"
                    checked += 1
    assert checked >= 10


def test_the_lambda_button_leaves_a_space_before_the_next_name(page, server):
    base, app = server
    need_exercise(app, "backprop-bias")
    sign_in(page, base, "student@example.org")
    page.goto(base + "/exercises/backprop-bias")
    field = page.locator("#answer-dJ_dW2")
    palette = page.get_by_role("group", name="Insert a symbol into the formula of part dJ_dW2")
    field.fill("dJ_do hᵀ + ")
    palette.get_by_role("button", name="λ", exact=True).click()
    field.press_sequentially("W2", delay=20)
    assert field.input_value() == "dJ_do hᵀ + λ W2"
    page.locator("#preview-dJ_dW2 math").wait_for()
    # a call inserted right after a name is not glued to it either
    other = page.locator("#answer-dJ_dz")
    other.fill("dJ_dh")
    page.get_by_role("group", name="Insert a symbol into the formula of part dJ_dz").get_by_role(
        "button", name="φ′(z)"
    ).click()
    assert other.input_value() == "dJ_dh φ'(z)"
    page.locator("#preview-dJ_dz math").wait_for()
    assert "unknown" not in page.locator("#preview-dJ_dz").inner_text().lower()


# 6. The preview reads, it does not approve; it reports shapes that cannot fit ---------------


def test_preview_says_read_as_and_reports_a_shape_error(page, server):
    base, app = server
    need_exercise(app, "backprop-bias")
    sign_in(page, base, "student@example.org")
    page.goto(base + "/exercises/backprop-bias")
    page.locator("#answer-o").fill("h W2 + b2")
    box = page.locator("#preview-o")
    box.locator(".preview-error").wait_for()
    text = box.inner_text()
    assert text.startswith("read as") and "✓" not in text
    assert "Shape error" in text and "(q×h)" in text
    assert box.locator("math").count() == 1  # what was read is still shown
    page.locator("#answer-o").fill("W2 h + b2")
    box.locator(".preview-error").wait_for(state="detached")
    box.locator("math").wait_for()
    assert "✓" not in box.inner_text() and box.inner_text().startswith("read as")


# 12. Import runs the self-test; instructors open and close exercises --------------------------


def _variant(slug: str, extra: str = "") -> bytes:
    """Return jacobian-shape's YAML under another slug and title, with ``extra`` appended."""
    text = (e2e.EXERCISES / "jacobian-shape.yaml").read_text(encoding="utf-8")
    text = text.replace("slug: jacobian-shape", f"slug: {slug}", 1)
    text = text.replace("title: Shapes of gradients and Jacobians", f"title: Variant {slug}", 1)
    return (text + extra).encode()


WRONG_EXAMPLE = '  - {part: shape, answer: "m×n", correct: true}\n'  # m×n is wrong: self-test fails


def upload(page, files: dict[str, bytes], drafts: bool = False) -> None:
    """Upload exercise files on the import page."""
    page.goto(page.url.split("/instructor")[0] + "/instructor/import")
    page.get_by_label("Exercise files (.yaml)").set_input_files(
        [
            {"name": name, "mimeType": "application/yaml", "buffer": data}
            for name, data in files.items()
        ]
    )
    page.get_by_label("If an exercise fails its self-test").set_checked(drafts)
    page.get_by_role("button", name="Check and import").click()


def test_import_runs_the_self_test_and_refuses_or_keeps_a_draft(page, server):
    base, app = server
    sign_in(page, base, "teacher@example.org")
    page.goto(base + "/instructor")
    page.expected_statuses.add(422)
    upload(
        page,
        {"bad.yaml": _variant("selftest-bad", WRONG_EXAMPLE), "ok.yaml": _variant("selftest-ok")},
    )
    assert "Nothing was imported" in page.locator(".flash-error").inner_text()
    problems = page.locator("table.issues").inner_text()
    assert "bad.yaml" in problems and "self-test" in problems and "ok.yaml" not in problems
    with app.app_context():
        from grader.services.exercises import ExerciseNotFound, current_version

        for slug in ("selftest-bad", "selftest-ok"):
            with pytest.raises(ExerciseNotFound):
                current_version(slug, closed=True)
    # as drafts: imported, and students do not see the failing one
    upload(
        page,
        {"bad.yaml": _variant("selftest-bad", WRONG_EXAMPLE), "ok.yaml": _variant("selftest-ok")},
        drafts=True,
    )
    done = page.locator(".flash-info").inner_text()
    assert "Kept as drafts" in done and "selftest-bad" in done
    page.goto(base + "/instructor")
    assert page.locator("#status-selftest-bad").input_value() == "draft"
    assert page.locator("#status-selftest-ok").input_value() == "live"
    student = page.context.browser.new_context()
    other = student.new_page()
    sign_in(other, base, "other@example.org")
    listed = other.locator("table.list").inner_text()
    assert "Variant selftest-ok" in listed and "Variant selftest-bad" not in listed
    assert other.goto(base + "/exercises/selftest-bad").status == 404
    # the instructor opens it, then retires it
    page.locator("#status-selftest-bad").select_option("live")
    page.locator("#exercise-selftest-bad").get_by_role("button", name="Set").click()
    assert "selftest-bad is now live" in page.locator(".flash-info").inner_text()
    other.goto(base + "/exercises")
    assert "Variant selftest-bad" in other.locator("table.list").inner_text()
    page.locator("#status-selftest-bad").select_option("retired")
    page.locator("#exercise-selftest-bad").get_by_role("button", name="Set").click()
    assert other.goto(base + "/exercises/selftest-bad").status == 404
    other.goto(base + "/exercises")
    assert "Variant selftest-bad" not in other.locator("table.list").inner_text()
    student.close()


def test_import_lists_every_problem_of_a_file(page, server):
    base, _ = server
    sign_in(page, base, "teacher@example.org")
    page.goto(base + "/instructor")
    page.expected_statuses.add(422)
    broken = (
        _variant("two-problems")
        .replace(b"kind: shape", b"kind: shapes", 1)
        .replace(b"kind: choice", b"kind: choices", 1)
    )
    upload(page, {"broken.yaml": broken})
    rows = page.locator("table.issues tbody tr")
    assert rows.count() >= 2
    messages = rows.all_inner_texts()
    assert any("shapes" in m for m in messages) and any("choices" in m for m in messages)


# 13. Reviewing: an empty score field, what was typed kept, the error at its field, a queue ---


def test_review_form_queue_and_pending_scores(page, server, submitted):
    base, app = server
    need_exercise(app, "multi-gpu")
    from grader.models import User

    with app.app_context():  # a second submission waiting for review, of another student
        from grader.services.grading import submit

        other = db.session.scalar(select(User).where(User.email == "other@example.org"))
        second, _ = submit("multi-gpu", other, SAMPLE_ANSWERS["multi-gpu"], source="web")
        second_id = second.id
    first_id = submitted["multi-gpu"]

    def waiting() -> list[int]:
        """The submissions waiting for review, oldest first (other tests add some too)."""
        from grader.services.review import pending_reviews

        with app.app_context():
            return list(dict.fromkeys(item.submission_id for item in pending_reviews()))

    queue_ids = waiting()
    # the student's result: the pending part is neither 0 nor counted in the headline
    sign_in(page, base, "student@example.org")
    page.goto(f"{base}/submissions/{first_id}")
    headline = page.locator("#summary .score").inner_text()
    assert "Score pending (of 5) · so far 0 / 3" in headline and "2 more points wait" in headline
    assert page.locator("#part-discussion .points").inner_text() == "– / 2"
    page.context.clear_cookies()
    sign_in(page, base, "teacher@example.org")
    page.goto(base + "/instructor")
    card = page.locator("#exercise-multi-gpu").inner_text()
    discussion = card.split("discussion (text)")[1][:60]
    assert f"◷ {len(queue_ids)} waiting for review" in discussion and "✓ 0 of" not in discussion
    page.goto(f"{base}/instructor/submissions/{first_id}")
    queue = page.get_by_role("navigation", name="Review queue")
    position = queue_ids.index(first_id) + 1
    assert f"Waiting for review: {position} of {len(queue_ids)}" in queue.inner_text()
    score = page.get_by_label("Score (0 to 2)")
    assert score.input_value() == ""  # not a pre-filled 0
    score.fill("1")
    long = "Good point on communication. " * 200  # over the 5,000 characters a feedback has
    page.get_by_label("Feedback to the student").fill(long)
    page.expected_statuses.add(422)
    page.get_by_role("button", name="Grade this part").click()
    score = page.get_by_label("Score (0 to 2)")
    assert score.input_value() == "1"
    feedback = page.get_by_label("Feedback to the student")
    assert feedback.input_value() == long
    message = page.locator("#feedback-error-discussion")
    assert "longer than" in message.inner_text()
    assert feedback.get_attribute("aria-describedby") == "feedback-error-discussion"
    assert page.locator("#score-error-discussion").count() == 0
    feedback.fill("Good point on communication.")
    score.fill("1.5")
    page.get_by_role("button", name="Grade this part").click()
    assert "graded: 1.5 points" in page.locator(".flash-info").inner_text()
    queue = page.get_by_role("navigation", name="Review queue")
    queue.get_by_role("link", name="Next to review →").click()
    remaining = waiting()
    assert first_id not in remaining and second_id in remaining
    page.wait_for_url(f"{base}/instructor/submissions/{remaining[0]}")
    assert (
        f"Waiting for review: 1 of {len(remaining)}"
        in page.get_by_role("navigation", name="Review queue").inner_text()
    )
    page.goto(f"{base}/instructor/submissions/{second_id}")
    queue = page.get_by_role("navigation", name="Review queue")
    assert f"{remaining.index(second_id) + 1} of {len(remaining)}" in queue.inner_text()


# 4. A deep graph typed as an edge list is laid out by layers, nothing piled up ----------------

CHAPTER_GRAPH = """x -> matmul#1; W1 -> matmul#1; matmul#1 -> add#1; b1 -> add#1; add#1 -> z
z -> φ -> h; h -> matmul#2; W2 -> matmul#2; matmul#2 -> add#2; b2 -> add#2; add#2 -> o
o -> l; y -> l; l -> L; W1 -> ℓ2; W2 -> ℓ2; ℓ2 -> s; L -> add#3; s -> add#3; add#3 -> J"""


def test_a_deep_typed_graph_is_laid_out_without_overlaps(page, server):
    base, app = server
    need_exercise(app, "graph-bias")
    sign_in(page, base, "student@example.org")
    page.goto(base + "/exercises/graph-bias")
    editor = page.locator(".graph-editor").first
    editor.locator("textarea.graph-edges").fill(CHAPTER_GRAPH)
    nodes = editor.locator("svg g.node")
    assert nodes.count() == 20
    boxes = []
    for index in range(nodes.count()):
        nodes.nth(index).scroll_into_view_if_needed()
        box = nodes.nth(index).evaluate(
            "g => { const r = g.getBBox(); const m = g.transform.baseVal.consolidate().matrix;"
            " return {x: r.x + m.e, y: r.y + m.f, w: r.width, h: r.height}; }"
        )
        boxes.append(box)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = (
                a["x"] + a["w"] <= b["x"]
                or b["x"] + b["w"] <= a["x"]
                or a["y"] + a["h"] <= b["y"]
                or b["y"] + b["h"] <= a["y"]
            )
            assert apart, (a, b)
    view = editor.locator("svg").evaluate("s => s.viewBox.baseVal.width")
    assert max(b["x"] + b["w"] for b in boxes) <= view  # all inside the (scrollable) canvas
    # the last layer can be reached: scroll to it and click it
    last = editor.locator("svg g.node[data-label='J']")
    last.scroll_into_view_if_needed()
    last.click()
    assert "selected" in last.get_attribute("class")


# 5. A submitted graph is drawn on the result and instructor pages ----------------------------


def test_result_pages_draw_the_submitted_graph_numbered_and_typed(page, server, submitted):
    base, app = server
    need_exercise(app, "graph-bias")
    sign_in(page, base, "student@example.org")
    for path in (f"/submissions/{submitted['graph-bias']}",):
        page.goto(base + path)
        drawing = page.locator("#part-graph svg.graph-drawing")
        assert drawing.get_attribute("role") == "img"
        nodes = drawing.locator("g.node")
        assert nodes.count() == 6  # x, W1, matmul, +, b1, z
        assert drawing.locator("g.node.variable rect").count() == 4
        assert drawing.locator("g.node.operator ellipse").count() == 2
        assert drawing.locator("text.number").all_text_contents() == [str(i) for i in range(1, 7)]
        assert drawing.locator("line.edge").count() == 5
        labels = dict(
            zip(
                drawing.locator("text.number").all_text_contents(),
                drawing.locator("text.label").all_text_contents(),
                strict=True,
            )
        )
        assert set(labels.values()) == {"x", "W1", "matmul", "+", "b1", "z"}
    page.context.clear_cookies()
    sign_in(page, base, "teacher@example.org")
    page.goto(f"{base}/instructor/submissions/{submitted['graph-bias']}")
    assert page.locator("#part-graph svg.graph-drawing g.node").count() == 6


# 9. Code answers: a code editor with a way out by keyboard -----------------------------------


IN_EDITOR = (
    "(document.activeElement.shadowRoot || {}).activeElement?.classList.contains('cm-content')"
)


def test_code_editor_indents_with_tab_and_lets_the_keyboard_out(page, server):
    base, app = server
    need_exercise(app, "backprop-code")
    sign_in(page, base, "student@example.org")
    page.goto(base + "/exercises/backprop-code")
    editor = page.get_by_role("textbox", name="Your code (Python; only numpy may be imported)")
    assert "def backward" in editor.inner_text()  # the starter code
    assert page.locator("#answer-code").is_hidden()  # the form field follows the editor
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.type("x = 1")
    page.keyboard.press("Home")
    page.keyboard.press("Tab")  # indents, stays in the editor
    assert page.evaluate(IN_EDITOR)
    assert page.locator("#answer-code").input_value().endswith("    x = 1")
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")  # Esc then Tab: out of the editor, on to the next control
    assert not page.evaluate(IN_EDITOR)
    assert page.evaluate("document.activeElement.textContent") == "Submit for grading"


WRONG_CODE = """import numpy as np


def backward(x, y, W1, b1, W2, b2, lam):
    return {"W1": W1 @ x}
"""
RAISING_CODE = """def backward(x, y, W1, b1, W2, b2, lam):
    raise ValueError("boom")
"""


@pytest.mark.sandbox
def test_code_results_number_trials_from_one_and_show_tracebacks_as_code(page, server):
    base, app = server
    need_exercise(app, "backprop-code")
    if e2e.shutil.which("bwrap") is None:
        pytest.skip("grading code needs bubblewrap")
    from grader.models import User
    from grader.services.grading import submit

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "student@example.org"))
        wrong = submit("backprop-code", user, {"code": WRONG_CODE}, source="web")[0].id
        raising = submit("backprop-code", user, {"code": RAISING_CODE}, source="web")[0].id
    sign_in(page, base, "student@example.org")
    page.goto(f"{base}/submissions/{wrong}")
    part = page.locator("#part-code")
    assert "trial 1" in part.locator(".feedback").inner_text()
    assert "trial 0" not in part.inner_text() and "trial: 0" not in part.inner_text()
    assert part.locator("table.outputs tbody tr").first.locator("td").nth(1).inner_text() == "1"
    trials = part.locator("ol.trials li").all_inner_texts()
    assert len(trials) >= 3 and trials[0].startswith("trial 1: d=")
    page.goto(f"{base}/submissions/{raising}")
    traceback = page.locator("#part-code pre.code-feedback")
    assert "ValueError: boom" in traceback.inner_text()
    assert "monospace" in traceback.evaluate("e => getComputedStyle(e).fontFamily")
