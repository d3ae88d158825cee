"""Exercise kinds: one module per kind behind the ``Kind`` protocol of ``base``.

Importing this package registers every kind, explicitly, in this order. A kind module must not
import ``grader.kinds.spec`` (or ``instances``) at module level: the exercise format is built
from the registry when ``spec`` is first imported, and ``spec`` refuses to build from a partial
registry (see ``KIND_MODULES``).
"""

# The kinds every exercise file may use; spec.py checks that all of them registered.
KIND_MODULES = ("choice", "code", "formula", "graph", "memory", "shape", "text")

from grader.kinds import choice, code, formula, graph, memory, shape, text  # noqa: E402

__all__ = ["KIND_MODULES", "choice", "code", "formula", "graph", "memory", "shape", "text"]
