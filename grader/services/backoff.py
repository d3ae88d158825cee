"""Waits between the attempts of a delivery to another system (LTI passbacks, webhooks):
exponential, capped, with jitter where many deliveries may fail together."""

from __future__ import annotations

import random
from collections.abc import Callable


def backoff_seconds(
    failures: int,
    base: float,
    cap: float,
    jitter: float = 0.0,
    draw: Callable[[], float] = random.random,
) -> float:
    """Return the seconds to wait after ``failures`` failed attempts (1 for the first):
    ``base`` doubling per failure, at most ``cap``, less a random share of up to ``jitter``
    (0.5: anywhere from half the wait to all of it), so that deliveries that failed together
    (a receiver down) do not come back all at once."""
    wait = min(cap, base * 2 ** max(0, failures - 1))
    return wait * (1.0 - jitter * draw())
