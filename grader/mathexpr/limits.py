"""Safety limits of the formula language, in one place so callers can tighten them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Bounds that make parsing and evaluating any accepted formula cheap.

    The defaults leave room for every formula of the chapter (the longest is well under
    200 characters) while keeping the worst case within milliseconds.
    """

    max_length: int = 2000  # characters
    max_tokens: int = 400
    max_paren_depth: int = 30  # nested brackets
    max_depth: int = 80  # depth of the syntax tree (a sum of n terms is n deep)
    max_exponent: float = 10.0  # |p| in a^p
    max_literal: float = 1e9  # largest number literal
    max_literal_chars: int = 24
    max_dim: int = 1000  # largest n in ones(n, m) / eye(n)
    max_elements: int = 1_000_000  # entries in any value computed while evaluating
    max_flops: int = 50_000_000  # arithmetic budget of one evaluation
    max_total_elements: int = 4_000_000  # all results of one evaluation together (32 MB)


DEFAULT_LIMITS = Limits()
