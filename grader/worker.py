"""Entry point of the Celery worker: ``celery -A grader.worker worker``."""

from grader import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
