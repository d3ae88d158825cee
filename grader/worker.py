"""Entry point of the Celery worker: ``celery -A grader.worker worker``.

With ``GRADER_WORKER_METRICS_PORT`` set, the worker serves Prometheus metrics there
(``grader.tasks.serve_worker_metrics``); the pool's children then need a shared
``PROMETHEUS_MULTIPROC_DIR``, made here (a fresh temporary folder) when it is not given, before
anything imports prometheus_client (which reads that variable itself).
"""

import os
import tempfile

from grader.settings import load_settings

_settings = load_settings()
if _settings.grader_worker_metrics_port and not _settings.prometheus_multiproc_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="grader-worker-metrics-")

from grader import create_app  # noqa: E402 - after the metrics folder is chosen

flask_app = create_app()
celery = flask_app.extensions["celery"]
