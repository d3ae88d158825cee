"""An asyncio HTTP load client: N concurrent clients, each sending requests back to back until
a deadline or a request budget; records status, latency and the JSON body of each response."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Outcome:
    """One response (or transport error, status 0) seen by a client."""

    status: int
    seconds: float
    key: str = ""
    body: dict[str, Any] = field(default_factory=dict)


def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile (0-100) of ``values`` by nearest rank (nan when empty)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


async def _one_client(
    http: httpx.AsyncClient,
    make: Callable[[random.Random], tuple],
    seed: int,
    deadline: float,
    budget: list[int],
    out: list[Outcome],
    think: float = 0.0,
) -> None:
    rng = random.Random(seed)
    while time.monotonic() < deadline and budget[0] > 0:
        if think:  # a student's pace: a random wait of mean ``think`` seconds, not timed
            await asyncio.sleep(rng.expovariate(1 / think))
            if time.monotonic() >= deadline:
                break
        budget[0] -= 1
        method, path, payload = make(rng)
        key = uuid.uuid4().hex
        headers = {"Idempotency-Key": key} if payload is not None else {}
        started = time.monotonic()
        try:
            response = await http.request(method, path, json=payload, headers=headers)
            body = response.json() if "json" in response.headers.get("content-type", "") else {}
            status = response.status_code
        except (httpx.HTTPError, json.JSONDecodeError):
            status, body = 0, {}
        out.append(Outcome(status, time.monotonic() - started, key, body))


async def run_load(
    base_url: str,
    token: str,
    make: Callable[[random.Random], tuple],
    clients: int,
    seconds: float,
    max_requests: int,
    think: float = 0.0,
) -> tuple[list[Outcome], float]:
    """Run ``clients`` concurrent loops for ``seconds`` (at most ``max_requests`` in all),
    each waiting a random ``think`` seconds on average before each request (0: none);
    return the outcomes and the elapsed wall time."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {token}"}
    out: list[Outcome] = []
    budget = [max_requests]
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=60
    ) as http:
        started = time.monotonic()
        deadline = started + seconds
        await asyncio.gather(
            *(_one_client(http, make, i, deadline, budget, out, think) for i in range(clients))
        )
        return out, time.monotonic() - started


def summarise(outcomes: list[Outcome], elapsed: float) -> dict[str, Any]:
    """Return throughput, p50/p99 latency (ms) and the count of non-2xx responses."""
    latencies = [o.seconds for o in outcomes]
    ok = [o for o in outcomes if 200 <= o.status < 300]
    return {
        "requests": len(outcomes),
        "ok": len(ok),
        "errors": len(outcomes) - len(ok),
        "statuses": sorted({o.status for o in outcomes}),
        "rps": round(len(outcomes) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "seconds": round(elapsed, 1),
    }
