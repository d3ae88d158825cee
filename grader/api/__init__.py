"""REST API v1 (DESIGN section 9): one blueprint; each module registers its views on it."""

from grader.api import (  # noqa: F401
    changes,
    courses,
    docs,
    gradebook,
    preview,
    routes,
    tokens,
    webhooks,
)
from grader.api.blueprint import bp
from grader.api.ratelimit import limit_blueprint

limit_blueprint(bp)

__all__ = ["bp"]
