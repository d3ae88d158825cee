"""Prometheus metrics at ``/metrics`` (prometheus_client; multiprocess-safe under gunicorn).

Series:

* ``grader_http_request_duration_seconds{method, endpoint, status}``: histogram per request
  (``endpoint`` is the Flask endpoint name, so ids in paths do not explode the label set).
* ``grader_submissions_total{exercise, kind, status}``: submissions that reached a status
  (``queued`` when stored for the queue, then ``graded``/``error``/``needs_review``), once per
  distinct part kind of the exercise; the service that changed the status counts it after its
  transaction committed (``count_submission``).
* ``grader_grading_duration_seconds{kind}``: time one kind takes to grade one part.
* ``grader_queue_depth``: submissions ``queued`` in the database, counted at scrape time.

When ``PROMETHEUS_MULTIPROC_DIR`` is set (``gunicorn.conf.py`` sets it), every worker writes
its samples to files there and a scrape of any worker aggregates them all; ``init_app`` creates
the folder (a container's fresh tmpfs does not have it) before the first sample is written. Set
``GRADER_METRICS_TOKEN`` to require ``Authorization: Bearer <token>`` on ``/metrics``.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterable, Iterator

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
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
from sqlalchemy import func, select

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


def scrape_registry(folder: str | os.PathLike[str] | None) -> CollectorRegistry:
    """Return the registry a scrape reads: all workers' files in ``folder`` in multiprocess
    mode (``PROMETHEUS_MULTIPROC_DIR``), else the global one."""
    if folder:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(folder))
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
    token = current_app.config.get("GRADER_METRICS_TOKEN")
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return Response(
                "metrics need the bearer token\n",
                401,
                mimetype="text/plain",
                headers={"WWW-Authenticate": "Bearer"},
            )
    registry = scrape_registry(current_app.config.get("PROMETHEUS_MULTIPROC_DIR"))
    body = generate_latest(registry)
    body += generate_latest(current_app.extensions["grader_queue_registry"])
    return Response(body, mimetype=CONTENT_TYPE_LATEST)


def _queue_registry(app: Flask) -> CollectorRegistry:
    """Return a registry of ``app``'s queue depth, read at each scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueDepthCollector(app))
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


def count_submission(slug: str, kinds: Iterable[str], status: str) -> None:
    """Count one submission of exercise ``slug`` that reached ``status``, once per distinct part
    kind in ``kinds``. Call it after the transaction that stored the status has committed."""
    for kind in sorted(set(kinds)) or ["?"]:
        SUBMISSIONS.labels(slug, kind, status).inc()


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
    app.extensions["grader_queue_registry"] = _queue_registry(app)
    folder = app.config.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
    app.extensions["grader_metrics"] = True
