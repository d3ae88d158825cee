"""Hooks run after a submission's grade changed (graded, queued, reviewed, regraded, failed).

The grading services call ``grade_changed`` after their commit; parts that must follow grades
(LTI's passback) register a callable under ``app.extensions[GRADE_CHANGED]``. A hook that
fails is logged; it never undoes the grade.
"""

from __future__ import annotations

import logging

from flask import current_app

log = logging.getLogger(__name__)
GRADE_CHANGED = "grader.grade_changed"


def grade_changed(submission_id: int) -> None:
    """Run every registered hook for ``submission_id``, whose new grade is committed."""
    for hook in current_app.extensions.get(GRADE_CHANGED, ()):
        try:
            hook(submission_id)
        except Exception:
            log.exception("a grade-change hook failed for submission %s", submission_id)
