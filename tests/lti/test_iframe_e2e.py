"""End-to-end in headless Chromium: a course page of the Open edX platform on one origin
(http://localhost:P) frames the tool on another (http://127.0.0.1:Q). The launch runs inside
the iframe (login, the platform's auto-posted id_token, the exercise page), the student
submits an answer there through the normal form (CSRF on), and the platform receives the
score by AGS. Only possible if the session cookie crosses sites (SameSite=None; Secure;
Partitioned) and the tool's pages let that platform frame them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from grader.extensions import db
from grader.lti.registry import register
from grader.models import Submission
from tests.lti.platform import Platform, serve
from tests.web import test_e2e as e2e

pytestmark = e2e.pytestmark
browser = e2e.browser


@pytest.fixture()
def lms(app, tool) -> Iterator[Platform]:
    """The platform on ``localhost`` (another site than the tool's 127.0.0.1), registered."""
    app.config["WTF_CSRF_ENABLED"] = True
    with serve(Platform(tool=tool), host="localhost") as platform:
        with app.app_context():
            register(
                platform.issuer,
                platform.client_id,
                platform.deployment_id,
                platform.auth_url,
                platform.token_url,
                platform.jwks_url,
            )
        yield platform


def test_a_student_launched_in_an_lms_iframe_submits_an_answer(app, tool, lms, browser):
    context = browser.new_context(viewport={"width": 1200, "height": 1000})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    try:
        page.goto(lms.base + "/course?user=student-7")
        assert page.url.startswith("http://localhost:")
        frame = page.frame_locator("#tool")
        shape = frame.get_by_label("Shape", exact=True).first
        shape.wait_for(timeout=15000)  # the exercise page, inside the iframe
        shape.fill("n x m")
        frame.get_by_role("button", name="Submit for grading").click()
        dialog = frame.locator("#confirm-blank")
        dialog.wait_for(timeout=5000)
        dialog.get_by_role("button", name="Submit anyway").click()
        frame.get_by_text("Score").first.wait_for(timeout=15000)
        [inner] = [f for f in page.frames if f.url.startswith(tool)]
        assert "/submissions/" in inner.url
        cookies = context.cookies(tool)
        session = [c for c in cookies if c["name"] == "session"]
        assert session and session[0]["sameSite"] == "None" and session[0]["secure"]
    finally:
        context.close()
    assert problems == []
    with app.app_context():
        [submission] = db.session.scalars(select(Submission))
        assert submission.user.external_id == "student-7"
        assert submission.user.issuer == lms.issuer
        assert submission.assignment.course.slug.startswith("lti-")
    [score] = lms.scores
    assert score["userId"] == "student-7" and score["gradingProgress"] == "FullyGraded"
    assert score["scoreGiven"] == submission.score
