"""Errors of the formula language: every refusal carries a message and a 1-based column."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


class FormulaError(ValueError):
    """A formula was refused; ``message`` is meant for the student, ``column`` is 1-based.

    ``str(error)`` reads "column 7: unexpected `)`".
    """

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message, column)
        self.message = message
        self.column = max(1, int(column))

    def __str__(self) -> str:
        return f"column {self.column}: {self.message}"


class FormulaSyntaxError(FormulaError):
    """The text is not a formula: a stray character, a misplaced operator, a limit exceeded."""


class UnknownNameError(FormulaError):
    """A name (or a function) the namespace does not know; ``known`` lists the valid ones."""

    def __init__(self, message: str, column: int, name: str, known: Iterable[str]) -> None:
        super().__init__(message, column)
        self.name = name
        self.known = tuple(known)


class FormulaShapeError(FormulaError):
    """Operands whose shapes do not fit the operator (for example a matrix product whose
    inner sizes differ); ``operator`` is the symbol as written and ``shapes`` the operand
    shapes as numbers."""

    def __init__(
        self,
        message: str,
        column: int,
        operator: str,
        shapes: Sequence[tuple[int, ...]] = (),
    ) -> None:
        super().__init__(message, column)
        self.operator = operator
        self.shapes = tuple(tuple(s) for s in shapes)


class FormulaLimitError(FormulaError):
    """The formula, or its evaluation, would exceed a safety limit (length, nesting,
    exponent, array size, amount of arithmetic)."""
