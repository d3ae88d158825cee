"""Student and instructor pages (DESIGN section 9, web)."""

from grader.web.views import bp

__all__ = ["bp"]
