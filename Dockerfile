# backprop-grader: one image for the web service (gunicorn), the Celery workers and beat, and the
# one-shot migration. See docs/deployment.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# bubblewrap runs student code confined (grader/sandbox) under a seccomp filter compiled by
# libseccomp; the worker needs both, the web does not run code but shares the image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap libseccomp2 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# The exact versions of requirements.lock (make lock), checked against their hashes; then the
# project itself without resolving anything again.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY grader ./grader
RUN pip install --no-deps .
COPY migrations ./migrations
COPY exercises ./exercises
COPY gunicorn.conf.py ./

RUN useradd --create-home --uid 10001 grader \
    && mkdir -p /app/instance /tmp/prometheus \
    && chown grader /app/instance /tmp/prometheus
USER grader
ENV GRADER_INSTANCE_PATH=/app/instance GRADER_EXERCISES_DIR=/app/exercises \
    GRADER_MIGRATIONS_DIR=/app/migrations PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus \
    OPENBLAS_NUM_THREADS=1
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"
CMD ["gunicorn", "-c", "/app/gunicorn.conf.py", "grader:create_app()"]
