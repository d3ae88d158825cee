"""backprop-grader: grading backpropagation answers numerically against a reference engine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # importing grader.engine or grader.mathexpr must not load Flask
    from flask import Flask

    from grader.config import Config


def create_app(config: Config | dict[str, Any] | None = None) -> Flask:
    """Build the Flask application: extensions, blueprints and commands, nothing else.

    ``config`` is a ``Config`` object, a mapping of overrides applied on top of ``Config()``,
    or ``None`` for the environment's settings.
    """
    from flask import Flask

    from grader.config import Config

    app = Flask(__name__, instance_relative_config=False)
    settings = config if isinstance(config, Config) else Config()
    app.config.from_object(settings)
    if isinstance(config, dict):
        app.config.update(config)
    app.instance_path = str(app.config["INSTANCE_PATH"])
    if not app.config.get("SECRET_KEY"):
        from pathlib import Path

        from grader.config import instance_secret

        app.config["SECRET_KEY"] = instance_secret(Path(app.instance_path))

    from grader.database import configure_database
    from grader.extensions import csrf, limiter, login_manager

    configure_database(app)

    from grader import bodies, metrics, observability, resilience

    observability.init_app(app)
    metrics.init_app(app)
    resilience.init_app(app)  # after Flask-SQLAlchemy: its teardown discards dead connections
    bodies.init_app(app)  # size and depth of request bodies, before any view reads them
    if app.config.get("GRADER_PROXY_HOPS"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["GRADER_PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)

    from grader.api import bp as api_bp
    from grader.api.problems import register_error_handlers
    from grader.health import bp as health_bp
    from grader.web import bp as web_bp

    csrf.exempt(api_bp)  # the API authenticates with bearer tokens, not cookies
    app.register_blueprint(health_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(web_bp)
    from grader import lti

    lti.init_app(app)
    from grader.services import webhooks

    webhooks.init_app(app)
    register_error_handlers(app)

    from grader.tasks import init_celery

    init_celery(app)

    from grader.cli import register_commands

    register_commands(app)
    return app
