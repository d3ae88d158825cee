"""Celery: the app bound to Flask, and the task that grades the deferred parts of a submission.

Without ``CELERY_BROKER_URL`` tasks run eagerly, in-process (the embedded default). With a
broker, a submission is stored as ``queued`` first and acknowledged; a worker grades it. Tasks
are acknowledged late and re-delivered if a worker dies; a stale ``queued`` row is re-queued by
``sweep_stale``; a task that keeps failing ends as ``error`` with its reason.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import Celery, Task
from celery.signals import worker_init, worker_process_init
from flask import Flask, current_app, has_app_context

from grader.settings import load_settings

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3


class FlaskTask(Task):
    """A task that runs in a fresh app context of the calling app (eager) or the worker's app."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        app = current_app._get_current_object() if has_app_context() else self.app.flask_app  # type: ignore[attr-defined]
        with app.app_context():
            return self.run(*args, **kwargs)


celery_app = Celery("grader", task_cls=FlaskTask)
celery_app.flask_app = None


@worker_init.connect
def serve_worker_metrics(**_signal: Any) -> tuple[Any, Any] | None:
    """Serve the worker's Prometheus metrics on ``GRADER_WORKER_METRICS_PORT`` (unset: off).

    Runs in the worker's main process, before it forks the pool. The pool's children grade
    and write their samples (grading latency per kind, submissions graded or failed) to
    ``PROMETHEUS_MULTIPROC_DIR``; this server adds them up at every scrape. Returns the
    server and its thread, or None when metrics are off.
    """
    settings = load_settings()
    port = settings.grader_worker_metrics_port
    if not port:
        return None
    from prometheus_client import start_http_server

    from grader.metrics import scrape_registry

    if not settings.prometheus_multiproc_dir:
        log.warning(
            "GRADER_WORKER_METRICS_PORT is set without PROMETHEUS_MULTIPROC_DIR: the pool's "
            "children grade, and their samples will not be served"
        )
    address = settings.grader_worker_metrics_addr
    registry = scrape_registry(settings.prometheus_multiproc_dir)
    served = start_http_server(port, addr=address, registry=registry)
    log.info("worker metrics on %s:%s/metrics", address, port)
    return served


@worker_process_init.connect
def freeze_loaded_objects(**_signal: Any) -> None:
    """Keep import-time objects out of full garbage collections (see gunicorn.conf.py)."""
    import gc

    gc.collect()
    gc.freeze()


@worker_process_init.connect
def warm_sandbox_pool(**_signal: Any) -> bool:
    """Start the sandbox's warm zygotes (numpy, the code kind's default) in a worker process.

    Runs in each prefork child as it starts, so the first code submission does not pay the
    cold start. Returns whether the pool is warm; a sandbox that cannot start is logged, not
    raised: code parts then end as ``error`` ("sandbox unavailable") and can be regraded.
    """
    from grader.sandbox import SandboxSetupError, ZygoteError, get_pool
    from grader.sandbox.runner import unconfined_requested

    try:
        get_pool(("numpy",), confined=not unconfined_requested()).prewarm()
    except (ZygoteError, SandboxSetupError, OSError) as exc:
        log.error("the code sandbox could not be warmed at worker start: %s", exc)
        return False
    return True


def init_celery(app: Flask) -> Celery:
    """Configure ``celery_app`` from ``app``'s config; every task runs in an app context."""
    broker = app.config.get("CELERY_BROKER_URL")
    celery_app.flask_app = app
    celery_app.conf.update(
        broker_url=broker or "memory://",
        result_backend=app.config.get("CELERY_RESULT_BACKEND") or None,
        task_always_eager=broker is None,
        task_eager_propagates=False,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=120,
        task_soft_time_limit=90,
        # Redis redelivers an unacknowledged task (its worker died) after this many seconds.
        broker_transport_options={
            "visibility_timeout": int(app.config.get("CELERY_VISIBILITY_TIMEOUT", 300))
        },
        task_ignore_result=True,
    )
    app.extensions["celery"] = celery_app
    from grader.services.grading import ENQUEUE

    app.extensions[ENQUEUE] = enqueue  # how the grading service queues (it never imports tasks)
    from grader.lti import PASSBACK_ENQUEUE

    app.extensions[PASSBACK_ENQUEUE] = enqueue_passback
    from grader.services.webhooks import ENQUEUE as WEBHOOK_ENQUEUE

    app.extensions[WEBHOOK_ENQUEUE] = enqueue_webhook
    return celery_app


@celery_app.task(bind=True, name="grader.grade_deferred", max_retries=MAX_ATTEMPTS - 1)
def grade_deferred_task(self: Task, submission_id: int) -> str:
    """Grade the queued parts of a submission; retry on failure, then mark it ``error``.

    A result that was graded but could not be stored is never retried: a retry would run the
    student's code again. The submission is marked ``error`` at once (an instructor regrades).
    """
    from grader.services.grading import ResultNotStored, finish_deferred, mark_failed

    try:
        return finish_deferred(submission_id)
    except ResultNotStored as exc:
        log.exception("grading submission %s ran but its result was not stored", submission_id)
        mark_failed(submission_id, str(exc))
        return "error"
    except Exception as exc:  # the task must end in a stored state, never silently
        log.exception(
            "grading submission %s failed (attempt %s)", submission_id, self.request.retries + 1
        )
        if self.request.retries + 1 >= MAX_ATTEMPTS or self.request.is_eager:
            mark_failed(submission_id, f"{type(exc).__name__}: {exc}")
            return "error"
        raise self.retry(exc=exc, countdown=2**self.request.retries) from exc


def enqueue(submission_id: int) -> None:
    """Queue (or, in the embedded default, run now) the grading of a queued submission."""
    grade_deferred_task.delay(submission_id)


# A submission queued longer than this is taken for lost (its task or broker message) and queued
# again; grading one takes well under a second, so five minutes leaves a wide margin.
STALE_AFTER_SECONDS = 300.0


def sweep_stale(older_than: timedelta = timedelta(seconds=STALE_AFTER_SECONDS)) -> list[int]:
    """Re-queue submissions left ``queued`` longer than ``older_than``; return their ids."""
    from grader.services.grading import stale_queued

    ids = stale_queued(older_than)
    for submission_id in ids:
        enqueue(submission_id)
    return ids


SWEEP_INTERVAL_SECONDS = 60.0


@celery_app.task(name="grader.sweep_stale")
def sweep_stale_task(older_than_seconds: float = STALE_AFTER_SECONDS) -> int:
    """Periodic task (celery beat): re-queue stale ``queued`` submissions; return how many."""
    return len(sweep_stale(timedelta(seconds=older_than_seconds)))


PASSBACK_RETRIES = 5


def passback_delay(retries: int) -> int:
    """Return the seconds to wait before retry ``retries + 1`` of a passback: 30 s doubling
    (30, 60, 120, 240, 480), so a platform that is down for a quarter of an hour is waited for."""
    from grader.services.backoff import backoff_seconds

    return int(backoff_seconds(retries + 1, base=30, cap=480))


@celery_app.task(bind=True, name="grader.lti_passback", max_retries=PASSBACK_RETRIES)
def lti_passback_task(self: Task, passback_id: int) -> str:
    """Send one LTI grade passback; a platform that is down or answers 5xx is retried with
    backoff. Every attempt's outcome is stored on the passback; a final failure stays
    ``failed`` (the periodic resend and `grader lti passback retry` send it again)."""
    from grader.lti.ags import send

    state, retryable = send(passback_id)
    if state == "failed" and retryable and not self.request.is_eager:
        if self.request.retries < PASSBACK_RETRIES:
            raise self.retry(countdown=passback_delay(self.request.retries))
    return state


def enqueue_passback(passback_id: int) -> None:
    """Queue (or, in the embedded default, send now) one LTI grade passback."""
    lti_passback_task.delay(passback_id)


RESEND_INTERVAL_SECONDS = 900.0


@celery_app.task(name="grader.lti_resend_failed")
def lti_resend_failed_task() -> int:
    """Periodic task: queue every failed LTI passback, and every one never queued, again;
    return how many."""
    from grader.lti.ags import resend_ids

    ids = resend_ids()
    for passback_id in ids:
        enqueue_passback(passback_id)
    return len(ids)


@celery_app.task(name="grader.webhook_deliver")
def webhook_deliver_task(event_id: str) -> str:
    """Make one attempt to deliver a webhook event; return its state after it. A failure is
    stored with the time of the next attempt (backoff with jitter), which the beat's
    ``webhook_send_due_task`` queues when it comes: the wait lives in the row, not in a
    delayed queue message (Redis would hand one that waits longer than its visibility timeout
    to a second worker)."""
    from grader.services.webhook_delivery import deliver

    return deliver(event_id).state


def enqueue_webhook(event_id: str) -> None:
    """Queue (or, in the embedded default, make now) one attempt to deliver a webhook event."""
    webhook_deliver_task.delay(event_id)


WEBHOOK_SEND_INTERVAL_SECONDS = 30.0


@celery_app.task(name="grader.webhook_send_due")
def webhook_send_due_task() -> int:
    """Periodic task: queue every pending webhook event whose next attempt is due (retries
    after their backoff, and events whose queue message was lost); return how many."""
    from grader.services.webhooks import due_event_ids

    ids = due_event_ids()
    for event_id in ids:
        enqueue_webhook(event_id)
    return len(ids)


# Run by `celery -A grader.worker beat` (one beat per deployment) or a worker started with -B.
celery_app.conf.beat_schedule = {
    "sweep-stale-queued-submissions": {
        "task": "grader.sweep_stale",
        "schedule": SWEEP_INTERVAL_SECONDS,
    },
    "resend-failed-lti-passbacks": {
        "task": "grader.lti_resend_failed",
        "schedule": RESEND_INTERVAL_SECONDS,
    },
    "send-due-webhook-events": {
        "task": "grader.webhook_send_due",
        "schedule": WEBHOOK_SEND_INTERVAL_SECONDS,
    },
}
