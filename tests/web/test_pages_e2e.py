"""End-to-end checks of the student and instructor pages as a person uses them: the keyboard,
answers kept across "Try again" and refused forms, error summaries, accessible names (axe-core
run in the page), ordering and filtering. Same server and browser as ``test_e2e``.
"""

from __future__ import annotations

import json

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


def count_submissions(app) -> int:  # noqa: ANN001
    """Return how many submissions the database holds."""
    with app.app_context():
        return db.session.scalar(select(func.count(Submission.id)))


def try_again(page, base: str) -> None:  # noqa: ANN001
    """From a submission's page, go back to the form filled with its answers."""
    page.get_by_role("link", name="Try again with these answers").click()
    page.wait_for_url(f"{base}/exercises/*from=*")


def refuse(page) -> None:  # noqa: ANN001
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
