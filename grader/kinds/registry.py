"""The one explicit registry of exercise kinds; an unknown kind is rejected when YAML loads."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar, Union

from pydantic import Field

from grader.kinds.base import Kind

_KINDS: dict[str, Kind] = {}
K = TypeVar("K", bound=Kind)


class UnknownKind(LookupError):
    """Raised for a kind name nobody registered."""


def register(kind_class: type[K]) -> type[K]:
    """Register a kind class (used as a decorator); its ``name`` must be new.

    The type checker checks the class against the ``Kind`` protocol here."""
    instance = kind_class()
    if instance.name in _KINDS:
        raise ValueError(f"kind {instance.name!r} is registered twice")
    _KINDS[instance.name] = instance
    return kind_class


def get_kind(name: str) -> Kind:
    """Return the registered kind called ``name``; raise ``UnknownKind`` listing the known ones."""
    try:
        return _KINDS[name]
    except KeyError:
        known = ", ".join(sorted(_KINDS))
        raise UnknownKind(f"unknown kind {name!r}; known kinds: {known}") from None


def kind_names() -> list[str]:
    """Return the registered kind names, sorted."""
    return sorted(_KINDS)


def part_union() -> Any:
    """Return the pydantic type of a part: a union of every kind's model, tagged by ``kind``."""
    models = tuple(kind.part_model for kind in _KINDS.values())
    if len(models) == 1:
        return models[0]
    return Annotated[Union[models], Field(discriminator="kind")]  # noqa: UP007
