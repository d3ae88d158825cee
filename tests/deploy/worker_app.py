"""Celery app for the worker-crash test: ``celery -A tests.deploy.worker_app worker``.

Test-only: choice parts are graded through the queue (standing in for code), and every grading
is logged to ``GRADER_TEST_GRADE_LOG`` ("start ID PID" / "done ID STATUS"), after sleeping
``GRADER_TEST_GRADE_DELAY`` seconds so the test can kill the worker in the middle of a task.
"""

from __future__ import annotations

import os
import time

from grader.services import grading

grading.is_deferred = lambda part: part.kind == "choice"
_finish = grading.finish_deferred


def _logged_finish(submission_id: int) -> str:
    with open(os.environ["GRADER_TEST_GRADE_LOG"], "a") as log:
        log.write(f"start {submission_id} {os.getpid()}\n")
    time.sleep(float(os.environ.get("GRADER_TEST_GRADE_DELAY", "0")))
    status = _finish(submission_id)
    with open(os.environ["GRADER_TEST_GRADE_LOG"], "a") as log:
        log.write(f"done {submission_id} {status}\n")
    return status


grading.finish_deferred = _logged_finish

from grader import create_app  # noqa: E402
from grader.tasks import init_celery  # noqa: E402

flask_app = create_app()
flask_app.config["CELERY_VISIBILITY_TIMEOUT"] = int(os.environ.get("GRADER_TEST_VISIBILITY", "5"))
celery = init_celery(flask_app)
# Look for abandoned (unacknowledged) tasks every second instead of every ~100 s.
celery.conf.broker_transport_options = dict(
    celery.conf.broker_transport_options, unacked_restore_interval=1, unacked_restore_throttle=1
)
