"""REST API v1 (DESIGN section 9)."""

from grader.api.routes import bp

__all__ = ["bp"]
