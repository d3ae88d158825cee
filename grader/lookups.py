"""Per-process caches of the rows every API submission looks up: its token, the exercise's
current version and the LMS user.

Each is a small map owned by the Flask app (so two apps, or two test databases, never share
entries), holding column values rather than session objects; a hit puts a persistent object
back into the request's session without a query (``attach``). How stale an entry may be:

- users: never stale (users are never deleted, and an LMS user's id and row id never change);
- tokens and current versions: ``GRADER_LOOKUP_CACHE_SECONDS`` (default 2; 0 turns both off).
  A token revoked, or a version imported, in this process takes effect at once (the writer
  clears the cache); in the other web processes within that many seconds.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import inspect
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.instrumentation import manager_of_class

from grader.extensions import db

MAX_ENTRIES = 10_000
_MISSING = object()


class LookupCache:
    """A bounded map (least recently used out first) whose entries expire after ``seconds``
    (``None``: never; ``0``: nothing is kept). Safe to share between a worker's threads."""

    def __init__(self, seconds: float | None, max_entries: int = MAX_ENTRIES) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        """Return the live value for ``key``, or None."""
        with self._lock:
            entry = self._entries.get(key, _MISSING)
            if entry is _MISSING:
                return None
            stored_at, value = entry
            if self.seconds is not None and time.monotonic() - stored_at >= self.seconds:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        if self.seconds == 0:
            return
        with self._lock:
            self._entries[key] = (time.monotonic(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def cache(name: str) -> LookupCache:
    """Return the app's cache ``name`` (``users``, ``tokens`` or ``versions``)."""
    caches = current_app.extensions.setdefault("grader.lookups", {})
    found = caches.get(name)
    if found is None:
        seconds = None if name == "users" else current_app.config["GRADER_LOOKUP_CACHE_SECONDS"]
        found = caches.setdefault(name, LookupCache(seconds))
    return found


def forget(name: str) -> None:
    """Empty cache ``name`` of the current app (after a write that makes it stale)."""
    if has_app_context():
        cache(name).clear()


def snapshot(obj: Any, *related: str) -> dict[str, Any]:
    """Return the loaded column values of ``obj`` (and of the ``related`` objects it has
    loaded, by relationship name), to rebuild it with ``attach``."""
    state = inspect(obj)
    return {
        "model": state.mapper.class_,
        "values": {
            attr.key: state.dict[attr.key]
            for attr in state.mapper.column_attrs
            if attr.key in state.dict
        },
        "related": {name: snapshot(getattr(obj, name)) for name in related},
    }


def attach(saved: dict[str, Any]) -> Any:
    """Return a persistent object in the request's session rebuilt from ``snapshot``, without
    a query (a column it did not hold loads on first read, like any deferred column)."""
    return db.session.merge(_rebuild(saved), load=False)


def _rebuild(saved: dict[str, Any]) -> Any:
    obj = detached(saved["model"], saved["values"])
    for name, related in saved["related"].items():
        set_committed_value(obj, name, _rebuild(related))
    return obj


def detached(model: type, values: dict[str, Any]) -> Any:
    """Return a detached ``model`` object holding ``values`` (its primary key among them) as a
    query would have loaded them: with its identity, no history, and columns not given left to
    load on first read. Built the way the ORM builds a loaded row (no ``__init__``, no
    attribute events), in half the time of ``model(**values)``."""
    obj = manager_of_class(model).new_instance()
    obj.__dict__.update(values)  # the instance's loaded state (InstanceState.dict)
    make_transient_to_detached(obj)
    return obj
