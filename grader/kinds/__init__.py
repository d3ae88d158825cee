"""Exercise kinds: one module per kind behind the ``Kind`` protocol of ``base``.

Importing this package registers every kind, explicitly, in this order.
"""

from grader.kinds import choice, code, formula, graph, memory, shape, text  # noqa: F401

__all__ = ["choice", "code", "formula", "graph", "memory", "shape", "text"]
