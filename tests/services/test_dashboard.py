"""The instructor statistics: aggregated in SQL over submission_parts, equal to what the stored
per-part JSON says."""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import select

from grader.extensions import db
from grader.models import Submission
from grader.services.dashboard import exercise_stats
from grader.services.exercises import current_version
from grader.services.grading import submit
from grader.services.users import lms_user
from tests.api.helpers import statements_of

ANSWERS = [
    {"shape": "n×m", "vector_or_matrix": ["dJ_db1", "dJ_do"]},
    {"shape": "m×n"},
    {"shape": "n×m", "do_dh": "h×q"},
    {"shape": "n", "do_dh": "q×h"},
    {},
]


def from_json(rows):
    """The statistics computed from the stored JSON, as the dashboard once did."""
    best, answered, correct = {}, Counter(), Counter()
    diagnoses = defaultdict(Counter)
    for user_id, score, max_score, parts in rows:
        if score is not None and max_score:
            best[user_id] = max(best.get(user_id, 0.0), score / max_score)
        for part in parts:
            diagnosis = part.get("diagnosis") or ""
            if diagnosis != "unanswered":
                answered[part["id"]] += 1
            if part.get("correct"):
                correct[part["id"]] += 1
            elif diagnosis not in ("", "unanswered") and part.get("status") != "needs_review":
                diagnoses[part["id"]][diagnosis] += 1
    return best, answered, correct, diagnoses


def test_statistics_from_sql_equal_the_stored_results(imported):
    with imported.app_context():
        for i, answers in enumerate(ANSWERS * 3):
            submit("jacobian-shape", lms_user(f"s-{i % 4}"), answers, "api", seed=i)
        version = current_version("jacobian-shape")
        stats = exercise_stats(version)
        rows = db.session.execute(
            select(Submission.user_id, Submission.score, Submission.max_score, Submission.parts)
        ).all()
    best, answered, correct, diagnoses = from_json(rows)
    assert stats.submissions == len(ANSWERS) * 3 and stats.students == len(best) == 4
    assert stats.mean_best == round(sum(best.values()) / len(best) * stats.max_score, 3)
    assert sum(stats.distribution) == 4
    for part in stats.parts:
        assert (part.answered, part.correct) == (answered[part.part_id], correct[part.part_id])
        assert [count for _label, count in part.mistakes] == [
            count for _key, count in diagnoses[part.part_id].most_common(5)
        ]
    assert any(part.mistakes for part in stats.parts)


def test_statistics_do_not_read_the_stored_json(imported):
    with imported.app_context():
        for i, answers in enumerate(ANSWERS):
            submit("jacobian-shape", lms_user(f"s-{i}"), answers, "api", seed=i)
        version = current_version("jacobian-shape")
        spec_loaded = version.spec  # noqa: F841 - load the deferred columns before counting
        db.session.commit()

    def stats():
        with imported.app_context():
            exercise_stats(current_version("jacobian-shape"))

    sent = statements_of(imported, stats)
    assert sent and not any("submissions.parts" in s or "submissions.answers" in s for s in sent)
