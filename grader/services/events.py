"""Hooks run after a submission's grade changed (graded, queued, reviewed, regraded, failed).

The grading services call ``grade_changed`` after their commit, with the ids of the webhook
events the change wrote (``results.record_parts`` returns them); parts that must follow grades
(LTI's passback, webhook delivery) register a callable ``hook(submission_id, webhook_events)``
under ``app.extensions[GRADE_CHANGED]``. A hook that fails is logged; it never undoes the grade.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from flask import current_app

log = logging.getLogger(__name__)
GRADE_CHANGED = "grader.grade_changed"


def grade_changed(submission_id: int, webhook_events: Sequence[str] = ()) -> None:
    """Run every registered hook for ``submission_id``, whose new grade is committed with the
    webhook events ``webhook_events`` (their ids)."""
    for hook in current_app.extensions.get(GRADE_CHANGED, ()):
        try:
            hook(submission_id, webhook_events)
        except Exception:
            log.exception("a grade-change hook failed for submission %s", submission_id)
