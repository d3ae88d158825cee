"""The review service behind the instructor's review form (and ``grader review``)."""

from __future__ import annotations

import pytest

from grader.extensions import db
from grader.models import Submission
from grader.services.review import ReviewError, find_reviewer, grade_review, pending_reviews
from grader.services.users import create_user
from tests.web.test_instructor import _needs_review_submission


def test_pending_reviews_and_grading(imported, users):
    sid = _needs_review_submission(imported)
    with imported.app_context():
        pending = pending_reviews()
        assert [
            (p.submission_id, p.part_id, p.exercise, p.user, p.max_score, p.excerpt)
            for p in pending
        ] == [(sid, "dh_dz", "jacobian-shape", "student@example.org", 1.0, "it is diagonal")]
        assert pending_reviews("other-exercise") == []
        reviewer = find_reviewer(None)
        row = grade_review(sid, "dh_dz", 1, "", reviewer)
        assert row.status == "graded" and row.score == 2.0
        assert row.parts[1]["feedback"] == "Full marks." and row.parts[1]["reviewed_by_id"] == (
            reviewer.id
        )
        assert pending_reviews() == []
        assert db.session.get(Submission, sid).parts[1]["diagnosis"] == "reviewed"


def test_find_reviewer(imported, users):
    with imported.app_context():
        assert find_reviewer("Teacher@example.org").email == "teacher@example.org"
        with pytest.raises(ReviewError, match="no instructor"):
            find_reviewer("student@example.org")
        create_user("second@example.org", "admin", "password123")
        with pytest.raises(ReviewError, match="--by"):
            find_reviewer(None)


def test_unknown_submission(imported, users):
    with imported.app_context():
        with pytest.raises(ReviewError, match="no submission 99"):
            grade_review(99, "x", 1, "", find_reviewer(None))
