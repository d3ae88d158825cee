"""Regenerate the screenshots of the main pages in docs/screenshots/ (1280 and 390 px wide).

    .venv/bin/python docs/screenshots/make_screenshots.py [--out DIR]

Serves a fresh app (SQLite in a temporary directory, the chapter's exercises, a student, an
instructor and a few submissions) from a thread on 127.0.0.1, and drives Debian's Chromium
with Playwright ($GRADER_CHROMIUM, default /usr/bin/chromium). Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
from pathlib import Path

from flask_migrate import upgrade
from playwright.sync_api import Page, sync_playwright
from werkzeug.serving import make_server

from grader import config as grader_config
from grader import create_app
from grader.services.exercises import import_exercises
from grader.services.grading import InvalidAnswers, submit
from grader.services.users import create_user

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
WIDTHS = {"desktop": 1280, "phone": 390}
ANSWERS = {
    "backprop-bias": {"z": "W1 x + b1", "o": "W2 h + b2", "dJ_do": "o - y", "dJ_dh": "W2ᵀ dJ_do"},
    "graph-bias": {"graph": "x -> matmul; W1 -> matmul; matmul -> +; b1 -> +; + -> z"},
    "multi-gpu": {
        "partition": ["no-whole-graph"],
        "tradeoffs": ["transfer", "idle"],
        "discussion": "Splitting the graph means sending activations and their gradients "
        "between devices at every boundary, while a smaller minibatch only makes the "
        "gradient estimate noisier.",
    },
    "jacobian-shape": {"shape": "n×m", "do_dh": "h×q", "vector_or_matrix": ["dJ_db1"]},
}


def serve(tmp: Path) -> tuple[str, dict[str, int], object]:
    """Start the app on a free port; return its URL, submission ids by slug, and the server."""
    config = grader_config.TestConfig(f"sqlite:///{tmp / 'shots.sqlite'}", tmp / "instance")
    config.GRADER_LOGIN_RATE_LIMIT = "1000 per minute"
    app = create_app(config)
    ids = {}
    with app.app_context():
        upgrade()
        import_exercises(sorted((ROOT / "exercises").glob("*.yaml")))
        student = create_user("student@example.org", "student", PASSWORD)
        create_user("teacher@example.org", "instructor", PASSWORD)
        for slug, answers in ANSWERS.items():
            try:
                row, _ = submit(slug, student, answers, source="web")
            except InvalidAnswers as exc:
                raise SystemExit(f"{slug}: the sample answers were refused: {exc}") from None
            ids[slug] = row.id
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{httpd.server_port}", ids, httpd


def sign_in(page: Page, base: str, email: str) -> None:
    """Sign in through the form."""
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/exercises")


def take(page: Page, out: Path, name: str, width: str) -> None:
    """Save the whole page as ``<name>-<width>.png``."""
    page.wait_for_load_state("networkidle")
    path = out / f"{name}-{width}.png"
    page.screenshot(path=str(path), full_page=True)
    print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def student_pages(page: Page, base: str, ids: dict[str, int], out: Path, width: str) -> None:
    """The pages a student sees, in the order of a first visit."""
    sign_in(page, base, "student@example.org")
    take(page, out, "exercises", width)
    page.goto(base + "/exercises/backprop-bias")
    page.locator("#answer-z").fill("W1 x + b1")
    page.locator("#answer-o").fill("h W2 + b2")  # a shape error the preview reports
    page.locator("#preview-o .preview-error").wait_for()
    take(page, out, "exercise-formula", width)
    page.locator("#answer-dJ_do").fill("2(o - y")  # unreadable: the form comes back
    page.get_by_role("button", name="Submit for grading").click()
    page.get_by_role("button", name="Submit anyway").click()
    page.locator("#error-summary").wait_for()
    take(page, out, "exercise-refused", width)
    page.goto(base + "/exercises/graph-bias")
    take(page, out, "exercise-graph", width)
    page.goto(f"{base}/submissions/{ids['backprop-bias']}")
    take(page, out, "result-formula", width)
    page.goto(f"{base}/submissions/{ids['graph-bias']}")
    take(page, out, "result-graph", width)
    page.goto(base + "/me")
    take(page, out, "my-submissions", width)


def instructor_pages(page: Page, base: str, ids: dict[str, int], out: Path, width: str) -> None:
    """The instructor's dashboard, a submission waiting for review, and the import page."""
    sign_in(page, base, "teacher@example.org")
    page.goto(base + "/instructor")
    take(page, out, "instructor-dashboard", width)
    page.goto(f"{base}/instructor/submissions/{ids['multi-gpu']}")
    take(page, out, "instructor-review", width)
    page.goto(base + "/instructor/import")
    take(page, out, "instructor-import", width)


def main() -> None:
    """Regenerate every screenshot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    chromium = os.environ.get("GRADER_CHROMIUM", "/usr/bin/chromium")
    with tempfile.TemporaryDirectory(prefix="grader-shots-") as tmp:
        base, ids, httpd = serve(Path(tmp))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"]
                )
                for width, pixels in WIDTHS.items():
                    context = browser.new_context(viewport={"width": pixels, "height": 900})
                    page = context.new_page()
                    page.goto(base + "/login")
                    take(page, args.out, "login", width)
                    student_pages(page, base, ids, args.out, width)
                    context.close()
                    context = browser.new_context(viewport={"width": pixels, "height": 900})
                    instructor_pages(context.new_page(), base, ids, args.out, width)
                    context.close()
                browser.close()
        finally:
            httpd.shutdown()


if __name__ == "__main__":
    main()
