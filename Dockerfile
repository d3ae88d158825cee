# backprop-grader web service (gunicorn) and worker image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY grader ./grader
RUN pip install .
COPY migrations ./migrations
COPY exercises ./exercises

RUN useradd --create-home --uid 10001 grader && mkdir -p /app/instance && chown grader /app/instance
USER grader
ENV GRADER_INSTANCE_PATH=/app/instance GRADER_EXERCISES_DIR=/app/exercises \
    GRADER_MIGRATIONS_DIR=/app/migrations
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "4", "--timeout", "60", "--graceful-timeout", "30", "grader:create_app()"]
