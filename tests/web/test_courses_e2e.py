"""End-to-end: an instructor creates a course, adds an assignment with its policy, uploads a
roster (first a bad one), and reads the gradebook on the page and as CSV; axe-core finds no
violation on any course page. Same server and browser as ``test_e2e``."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from sqlalchemy import select

from grader.extensions import db
from grader.models import User
from grader.services.courses import assignment_for, course_by_slug
from grader.services.grading import submit
from tests.web import test_e2e as e2e
from tests.web.test_pages_e2e import axe_violations, with_axe

pytestmark = e2e.pytestmark

server = e2e.server
browser = e2e.browser
page = e2e.page


def no_violations(page) -> None:
    """Assert axe-core finds nothing on the page as it is now."""
    page.wait_for_load_state("networkidle")
    assert axe_violations(page) == [], page.url


def test_create_course_assign_upload_roster_and_read_the_gradebook(page, server):
    base, app = server
    with_axe(page)
    e2e.sign_in(page, base, "teacher@example.org")
    page.get_by_role("link", name="Courses").click()
    page.wait_for_url(base + "/instructor/courses")
    no_violations(page)

    page.get_by_role("link", name="New course").click()
    no_violations(page)
    page.get_by_label("Short name").fill("e2e-ml")
    page.get_by_label("Title").fill("Deep learning, winter")
    page.get_by_label("Term (optional)").fill("Winter 2026")
    page.get_by_label("Time zone").select_option("Europe/Berlin")
    page.get_by_role("button", name="Create the course").click()
    page.wait_for_url(base + "/instructor/courses/e2e-ml")
    no_violations(page)

    page.get_by_label("Exercise to add").select_option("jacobian-shape")
    page.get_by_role("button", name="Add as assignment").click()
    page.wait_for_url(base + "/instructor/courses/e2e-ml/assignments/*")
    no_violations(page)
    page.get_by_label("Due").fill("2026-12-24T17:00")
    page.get_by_label("Closes").fill("2026-12-20T17:00")  # before due: refused
    page.expected_statuses.add(422)
    page.get_by_role("button", name="Save the policy").click()
    page.locator("#error-summary").get_by_text("must not be before due").wait_for()
    no_violations(page)
    page.get_by_label("Closes").fill("2026-12-31T23:00")
    page.get_by_label("Most attempts").fill("3")
    page.get_by_role("button", name="Save the policy").click()
    page.wait_for_url(base + "/instructor/courses/e2e-ml#assignment-*")
    row = page.locator("tr", has_text="jacobian-shape")
    assert "2026-12-24 17:00" in row.inner_text() and "3" in row.inner_text()

    page.get_by_role("link", name="Roster").click()
    page.wait_for_url(base + "/instructor/courses/e2e-ml/roster")
    no_violations(page)
    bad = b"email,role\nstudent@example.org,student\nnot-an-email,student\n"
    page.get_by_label("Roster (CSV)").set_input_files(
        files=[{"name": "roster.csv", "mimeType": "text/csv", "buffer": bad}]
    )
    page.get_by_role("button", name="Check and enrol").click()
    page.locator("#error-summary").get_by_text("Line 3:").wait_for()
    no_violations(page)
    good = b"email,role\nstudent@example.org,student\nother@example.org,student\n"
    page.get_by_label("Roster (CSV)").set_input_files(
        files=[{"name": "roster.csv", "mimeType": "text/csv", "buffer": good}]
    )
    page.get_by_role("button", name="Check and enrol").click()
    page.get_by_text("2 enrolled").wait_for()

    with app.app_context():
        course = course_by_slug("e2e-ml")
        student = db.session.scalar(select(User).where(User.email == "student@example.org"))
        right = {"shape": "n×m", "do_dh": "h×q", "vector_or_matrix": ["dJ_db1", "dJ_do"]}
        submit(
            "jacobian-shape",
            student,
            right,
            "web",
            seed=1,
            assignment=assignment_for(course, "jacobian-shape"),
        )
    page.get_by_role("link", name="Gradebook").click()
    page.wait_for_url(base + "/instructor/courses/e2e-ml/gradebook")
    no_violations(page)
    student_row = page.get_by_role("row", name="student@example.org")
    assert "—" not in student_row.inner_text().split("\t")[1]  # a score, not a dash
    # the score opens the submission that gives it, in the course's review context
    student_row.get_by_role(
        "link", name=re.compile("jacobian-shape: .*open the submission")
    ).click()
    page.wait_for_url(re.compile(r"/instructor/submissions/\d+\?course=e2e-ml$"))
    page.get_by_role("heading", name=re.compile("Submission")).first.wait_for()
    page.go_back()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["email", "external_id", "issuer", "jacobian-shape"]
    assert {r[0] for r in rows[1:]} == {"student@example.org", "other@example.org"}
    scored = next(r for r in rows if r[0] == "student@example.org")
    assert scored[3] and scored[-1].endswith("+01:00")  # Berlin time, with its offset

    page.get_by_role("link", name="Review queue").click()
    page.wait_for_url(base + "/instructor/courses/e2e-ml/review")
    no_violations(page)
