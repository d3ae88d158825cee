"""The app as the load test serves it: ``create_app()`` plus metrics, request logs and outage
handling, with bounded PostgreSQL waits (what create_app wires once those modules are in it)."""

from grader import create_app, metrics, observability, resilience
from grader.config import Config

config = Config()
config.SQLALCHEMY_ENGINE_OPTIONS = resilience.engine_options(config.SQLALCHEMY_DATABASE_URI)
app = create_app(config)
for module in (observability, metrics, resilience):
    module.init_app(app)
