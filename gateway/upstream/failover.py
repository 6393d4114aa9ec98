"""Retries and fallbacks: run one attempt function over a route and its fallback aliases.

Exponential backoff with full jitter between retries of one alias; each fallback alias in order after that.
Attempts raise :class:`~gateway.upstream.failures.UpstreamFailure`; a non-retryable one ends the chain at once.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from gateway.metrics import GatewayMetrics
from gateway.routing.loading import CompiledTable, RouteTarget
from gateway.upstream.failures import UpstreamFailure

__all__ = ["backoff_seconds", "with_failover"]

T = TypeVar("T")


def backoff_seconds(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
    return rng.uniform(0.0, min(cap, base * (2**attempt)))


async def with_failover(
    table: CompiledTable,
    target: RouteTarget,
    attempt: Callable[[RouteTarget], Awaitable[T]],
    *,
    metrics: GatewayMetrics,
    rng: random.Random,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Try ``target`` (with its retries), then each fallback alias in order; re-raise the last failure."""
    chain = [target]
    for name in target.fallbacks:
        fallback = table.get(name)
        if fallback is not None and fallback not in chain:
            chain.append(fallback)
    last: UpstreamFailure | None = None
    for position, current in enumerate(chain):
        if position > 0:
            metrics.fallbacks(target.alias, current.alias).inc()
        retries = current.route.settings.retries
        for n in range(max(1, retries.attempts)):
            if n > 0:
                metrics.retries(current.alias).inc()
                await sleep(
                    backoff_seconds(n - 1, base=retries.backoff_seconds, cap=retries.backoff_max_seconds, rng=rng)
                )
            try:
                return await attempt(current)
            except UpstreamFailure as failure:
                last = failure
                if not failure.retryable:
                    raise
    assert last is not None
    raise last
