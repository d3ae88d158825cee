"""Exercise kinds: one module per kind behind the ``Kind`` protocol of ``base``.

Importing this package registers every kind, explicitly, in this order; the exercise format
(``spec``) builds its union of part models from the registry when it is first used.
"""

from grader.kinds import choice, code, formula, graph, memory, shape, text

__all__ = ["choice", "code", "formula", "graph", "memory", "shape", "text"]
