"""Shapes in words, for feedback: ``(h×q)`` when the trial's sizes are known by name."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache


def size_names(sizes: Mapping[str, int] | None) -> dict[int, str]:
    """Map each size value back to its name, where exactly one name has that value."""
    if not sizes:
        return {}
    return dict(_size_names(tuple((name, int(value)) for name, value in sizes.items())))


@lru_cache(maxsize=4096)
def _size_names(sizes: tuple[tuple[str, int], ...]) -> tuple[tuple[int, str], ...]:
    owners: dict[int, list[str]] = {}
    for name, value in sizes:
        owners.setdefault(value, []).append(name)
    return tuple((value, names[0]) for value, names in owners.items() if len(names) == 1)


def format_shape(shape: tuple[int, ...], names: Mapping[int, str] | None = None) -> str:
    """Return ``a scalar`` or ``(h×q)``: sizes by name where known, else by number."""
    if len(shape) == 0:
        return "a scalar"
    names = names or {}
    dims = [names.get(int(d), str(d)) if d != 1 else "1" for d in shape]
    return "(" + "×".join(dims) + ")"
