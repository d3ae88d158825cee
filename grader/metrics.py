"""Prometheus metrics at ``/metrics`` (prometheus_client; multiprocess-safe under gunicorn).

Series:

* ``grader_http_request_duration_seconds{method, endpoint, status}``: histogram per request
  (``endpoint`` is the Flask endpoint name, so ids in paths do not explode the label set).
* ``grader_submissions_total{exercise, kind, status}``: submissions that reached a status
  (``queued`` when stored for the queue, then ``graded``/``error``/``needs_review``), once per
  distinct part kind of the exercise; counted when the transaction commits.
* ``grader_grading_duration_seconds{kind}``: time one kind takes to grade one part.
* ``grader_queue_depth``: submissions ``queued`` in the database, counted at scrape time.

When ``PROMETHEUS_MULTIPROC_DIR`` is set (``gunicorn.conf.py`` sets it), every worker writes
its samples to files there and a scrape of any worker aggregates them all. Set
``GRADER_METRICS_TOKEN`` to require ``Authorization: Bearer <token>`` on ``/metrics``.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request

# In multiprocess mode each process writes its samples there: the folder must exist first (a
# container's fresh tmpfs does not have it).
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

from prometheus_client import (  # after the folder exists
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

HTTP_LATENCY = Histogram(
    "grader_http_request_duration_seconds",
    "Time to serve an HTTP request, by method, Flask endpoint and status.",
    ["method", "endpoint", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SUBMISSIONS = Counter(
    "grader_submissions_total",
    "Submissions that reached a status, by exercise, part kind and status.",
    ["exercise", "kind", "status"],
)
GRADING_LATENCY = Histogram(
    "grader_grading_duration_seconds",
    "Time one exercise kind takes to grade one part.",
    ["kind"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)

bp = Blueprint("metrics", __name__)
_PENDING = "grader_metrics_pending"
_kinds_of_version: dict[tuple[str, int], tuple[str, tuple[str, ...]]] = {}
_session_hooks_installed = False


def scrape_registry() -> CollectorRegistry:
    """Return the registry a scrape reads: all workers' files in multiprocess mode, else global."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


class QueueDepthCollector(Collector):
    """Reports ``grader_queue_depth``: the number of ``queued`` submissions, read at scrape."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield the gauge; when the database cannot be read, yield nothing (a scrape gap)."""
        from grader.extensions import db
        from grader.models import Submission

        try:
            with self.app.app_context():
                depth = db.session.scalar(
                    select(func.count())
                    .select_from(Submission)
                    .where(Submission.status == "queued")
                )
        except Exception:  # an outage must not turn /metrics into a 500
            self.app.logger.warning("queue depth unavailable: database error", exc_info=True)
            return
        gauge = GaugeMetricFamily(
            "grader_queue_depth", "Submissions waiting in the queue (status queued)."
        )
        gauge.add_metric([], float(depth or 0))
        yield gauge


@bp.get("/metrics")
def metrics_view() -> Response:
    """Return every series in the Prometheus text format (401 without the configured token)."""
    token = current_app.config.get("GRADER_METRICS_TOKEN") or os.environ.get("GRADER_METRICS_TOKEN")
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return Response(
                "metrics need the bearer token\n",
                401,
                mimetype="text/plain",
                headers={"WWW-Authenticate": "Bearer"},
            )
    registry = scrape_registry()
    body = generate_latest(registry)
    body += generate_latest(_queue_registry(current_app._get_current_object()))
    return Response(body, mimetype=CONTENT_TYPE_LATEST)


def _queue_registry(app: Flask) -> CollectorRegistry:
    registry = app.extensions.get("grader_queue_registry")
    if registry is None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(QueueDepthCollector(app))
        app.extensions["grader_queue_registry"] = registry
    return registry


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _observe_request(response: Response) -> Response:
    started = g.get("metrics_started")
    if started is not None and request.endpoint != "metrics.metrics_view":
        HTTP_LATENCY.labels(
            request.method, request.endpoint or "unmatched", str(response.status_code)
        ).observe(time.perf_counter() - started)
    return response


def _version_kinds(session: Session, version_id: int) -> tuple[str, tuple[str, ...]]:
    """Return (slug, distinct part kinds) of an exercise version; versions never change."""
    from grader.models import ExerciseVersion

    key = (str(session.get_bind().url), version_id)
    cached = _kinds_of_version.get(key)
    if cached is None:
        version = session.get(ExerciseVersion, version_id)
        spec = (version.spec if version is not None else None) or {}
        kinds = tuple(sorted({str(p.get("kind", "?")) for p in spec.get("parts", [])}))
        cached = (str(spec.get("slug", "?")), kinds or ("?",))
        if version is not None:
            _kinds_of_version[key] = cached
    return cached


def _collect_after_flush(session: Session, context: Any) -> None:
    pending = session.info.pop("_grader_flushing", [])
    resolved = []
    for version_id, status in pending:
        try:
            slug, kinds = _version_kinds(session, version_id)
        except Exception:  # metrics must never break a flush
            slug, kinds = "?", ("?",)
        resolved.extend((slug, kind, status) for kind in kinds)
    if resolved:
        session.info.setdefault(_PENDING, []).extend(resolved)


def _before_flush(session: Session, context: Any, _instances: Any) -> None:
    from sqlalchemy import inspect

    from grader.models import Submission

    changed = session.info.setdefault("_grader_flushing", [])
    for obj in list(session.new) + list(session.dirty):
        if (
            isinstance(obj, Submission)
            and obj.status
            and (obj in session.new or inspect(obj).attrs.status.history.added)
        ):
            changed.append((obj.exercise_version_id, obj.status))


def _after_commit(session: Session) -> None:
    for slug, kind, status in session.info.pop(_PENDING, []):
        SUBMISSIONS.labels(slug, kind, status).inc()


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop("_grader_flushing", None)


def install_session_hooks() -> None:
    """Count submissions by status when their transaction commits (installed once)."""
    global _session_hooks_installed
    if _session_hooks_installed:
        return
    event.listen(Session, "before_flush", _before_flush)
    event.listen(Session, "after_flush", _collect_after_flush)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", lambda s, _t: _after_rollback(s))
    _session_hooks_installed = True


def count_status_change(session: Session, version_id: int, status: str) -> None:
    """Count a submission whose status was written without an ORM flush (the flush hooks see
    only flushed objects): the ``INSERT`` of ``grading.submit`` and the queue's bulk ``UPDATE``.
    Counted, like the others, when ``session`` commits."""
    try:
        slug, kinds = _version_kinds(session, version_id)
    except Exception:  # metrics must never break the grading they count
        slug, kinds = "?", ("?",)
    session.info.setdefault(_PENDING, []).extend((slug, kind, status) for kind in kinds)


def observe_grading(kind_name: str, seconds: float) -> None:
    """Record how long grading one part of kind ``kind_name`` took (the grading service calls
    this around every kind's ``grade``; kinds themselves know nothing of metrics)."""
    GRADING_LATENCY.labels(kind_name).observe(seconds)


def init_app(app: Flask) -> None:
    """Serve ``/metrics`` from ``app`` and record request, submission and grading metrics."""
    if app.extensions.get("grader_metrics"):
        return
    app.before_request(_start_timer)
    app.after_request(_observe_request)
    app.register_blueprint(bp)
    install_session_hooks()
    app.extensions["grader_metrics"] = True
