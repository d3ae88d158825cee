"""LTI 1.3 Advantage, the tool side (DESIGN 11): registrations, keys, launches, deep linking,
grade passback (AGS) and rosters (NRPS). Services only: the pages are ``grader.web.lti``, the
commands ``grader.cli.lti``, the passback task is in ``grader.tasks``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import Flask, current_app

if TYPE_CHECKING:
    from grader.services.events import Outbox

log = logging.getLogger(__name__)

# app.extensions key of the callable that queues one passback (set by grader.tasks); without
# it a passback is sent at once.
PASSBACK_ENQUEUE = "grader.lti.enqueue_passback"
OUTBOX_NAME = "lti"  # the name of the passbacks' outbox writer (``events.write_outbox``)


def on_grade_changed(submission_id: int, outbox: Outbox) -> list[int]:
    """Queue the passbacks the committed grade change of ``submission_id`` recorded
    (``outbox["lti"]``, from ``ags.record_passbacks``); return their ids. A ``grade_changed``
    hook; a passback that could not be queued stays pending for ``grader lti passback retry``
    and the beat."""
    from grader.lti import ags

    ids = list(outbox.get(OUTBOX_NAME, ()))
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
    from grader.lti.ags import record_passbacks
    from grader.services.events import add_grade_hook, add_outbox_writer

    cookies.init_app(app)
    add_outbox_writer(app.extensions, OUTBOX_NAME, record_passbacks)
    add_grade_hook(app.extensions, on_grade_changed)
