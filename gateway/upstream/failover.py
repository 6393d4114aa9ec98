"""Retries and fallbacks: run one attempt function over a route and its fallback aliases.

Exponential backoff with full jitter between retries of one alias, never shorter than the upstream's
``Retry-After`` (up to the route's backoff cap); each fallback alias in order after that.
Attempts raise :class:`~gateway.upstream.failures.UpstreamFailure`; a non-retryable one ends the chain at once.
Each alias's own outcome is reported as it is known (``report``), so passive health blames the alias whose
upstream failed and credits the one that answered — never one for the other.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from gateway.metrics import GatewayMetrics
from gateway.routing.loading import CompiledTable, RouteTarget
from gateway.upstream.failures import UpstreamFailure

__all__ = ["AliasOutcome", "backoff_seconds", "retry_wait", "with_failover"]

T = TypeVar("T")

AliasOutcome = Callable[[str, UpstreamFailure | None], None]
"""Told once per alias tried: its last retryable failure after its retries ran out, or None when it answered.
Not told of a non-retryable failure (the request's fault, not the alias's)."""


def backoff_seconds(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
    return rng.uniform(0.0, min(cap, base * (2**attempt)))


def retry_wait(failure: UpstreamFailure, *, cap: float) -> float:
    """The least wait before retrying after ``failure``: the upstream's ``Retry-After``, at most ``cap`` (a retry
    sooner than the upstream asked mostly earns another 429)."""
    asked = failure.error.retry_after
    return min(max(0.0, asked), cap) if asked is not None else 0.0


async def with_failover(
    table: CompiledTable,
    target: RouteTarget,
    attempt: Callable[[RouteTarget], Awaitable[T]],
    *,
    metrics: GatewayMetrics,
    rng: random.Random,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    report: AliasOutcome | None = None,
) -> T:
    """Try ``target`` (with its retries), then each fallback alias in order; re-raise the last failure.

    ``sleep`` waits out each backoff (callers pass one that measures it)."""
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
        cap = retries.backoff_max_seconds
        asked = 0.0
        for n in range(max(1, retries.attempts)):
            if n > 0:
                metrics.retries(current.alias).inc()
                await sleep(max(backoff_seconds(n - 1, base=retries.backoff_seconds, cap=cap, rng=rng), asked))
            try:
                answer = await attempt(current)
            except UpstreamFailure as failure:
                last = failure
                if not failure.retryable:
                    raise
                asked = retry_wait(failure, cap=cap)
                continue
            if report is not None:
                report(current.alias, None)
            return answer
        if report is not None and last is not None:
            report(current.alias, last)
    assert last is not None
    raise last
