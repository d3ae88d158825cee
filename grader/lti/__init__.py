"""LTI 1.3 Advantage, the tool side (DESIGN 11): registrations, keys, launches, deep linking,
grade passback (AGS) and rosters (NRPS). Services only: the pages are ``grader.web.lti``, the
commands ``grader.cli.lti``, the passback task is in ``grader.tasks``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from flask import Flask, current_app

log = logging.getLogger(__name__)

# app.extensions key of the callable that queues one passback (set by grader.tasks); without
# it a passback is sent at once.
PASSBACK_ENQUEUE = "grader.lti.enqueue_passback"


def on_grade_changed(submission_id: int, webhook_events: Sequence[str] = ()) -> list[int]:
    """Record and queue a passback of the submission's grade to each line item it goes to;
    return the passbacks' ids. Called by the grading services after every grade change (a
    ``grade_changed`` hook: the change's webhook events are not its concern)."""
    from grader.lti import ags

    ids = ags.schedule(submission_id)
    enqueue: Callable[[int], object] = current_app.extensions.get(PASSBACK_ENQUEUE, ags.send)
    for passback_id in ids:
        try:
            enqueue(passback_id)
        except Exception:  # stored as pending: `grader lti passback retry` sends it
            log.exception("could not queue LTI passback %s", passback_id)
    return ids


def init_app(app: Flask) -> None:
    """Wire LTI into ``app``: its tables, session cookies, framing and the grade hook."""
    from grader.lti import cookies, models  # noqa: F401  (the tables join the metadata)
    from grader.services.events import GRADE_CHANGED

    cookies.init_app(app)
    app.extensions.setdefault(GRADE_CHANGED, []).append(on_grade_changed)
