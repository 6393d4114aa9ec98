"""One attempt of a model request against the upstream, and failover over attempts with alias health.

The `web.Request`-bound edge of `gateway.upstream`: it finds the upstream client, the clock and the request
context on the request and hands them to `upstream.client` / `upstream.reading`, so the time spent waiting
lands in the context. `failover` runs an endpoint's attempt function over the route and its fallbacks,
records each alias's passive health from its own outcome, and marks the error it answers with as not to
be retried by the client (``x-should-retry: false``): the gateway's retries are the retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
from aiohttp import web

from gateway import bridge
from gateway.context import RequestContext
from gateway.errors import InvalidRequestError
from gateway.handlers.requests import Request
from gateway.keys import clock_key, context_key, health_key, metrics_key, rng_key, settings_key, upstream_key
from gateway.providers.base import Endpoint
from gateway.routing.loading import RouteTarget
from gateway.upstream import reading
from gateway.upstream.answers import UpstreamAnswer
from gateway.upstream.failover import with_failover
from gateway.upstream.failures import UpstreamFailure, failure_from_chat_error
from gateway.upstream.reading import UpstreamEvents

__all__ = ["bridge_request_failure", "empty_answer", "events_of", "failover", "read_json", "send"]

T = TypeVar("T")


async def failover(request: web.Request, prepared: Request, attempt: Callable[[RouteTarget], Awaitable[T]]) -> T:
    """Run ``attempt`` over the route and its fallbacks; the last failure is raised.

    Passive health hears of each alias tried, from its own outcome: an alias whose retries all failed is
    blamed even when a fallback then answers, and the fallback is credited (or blamed) for its own answer.
    Backoff between retries is measured apart (``ctx.backoff_seconds``): it is neither upstream time nor the
    gateway's own."""
    app = request.app
    ctx = prepared.ctx
    health = app[health_key]
    clock = app[clock_key]

    def report(alias: str, failure: UpstreamFailure | None) -> None:
        if failure is None:
            health.record_traffic(alias, ok=True)
        else:
            health.record_traffic(alias, ok=False, error=failure.error.message)

    async def backoff(seconds: float) -> None:
        started = clock()
        try:
            await asyncio.sleep(seconds)
        finally:
            ctx.backoff_seconds += clock() - started

    try:
        return await with_failover(
            prepared.table,
            prepared.target,
            attempt,
            metrics=app[metrics_key],
            rng=app[rng_key],
            sleep=backoff,
            report=report,
        )
    except UpstreamFailure as failure:
        # The route's retries and fallbacks have run (or the failure was judged not worth another try): an
        # SDK client retrying on top would multiply upstream requests (3 times 2 for one 429 with defaults).
        failure.error.should_retry = False
        raise failure.error from None


def empty_answer(ctx: RequestContext) -> UpstreamFailure:
    """This attempt's upstream completed with an empty output the bridge could not rebuild: recorded (for
    ``aliasgate_bridge_unrecoverable_total``) and failed like a bad answer, so it is retried, falls back, and
    only then reaches the client, as a 502 ``empty_upstream_response`` — never as an empty success."""
    ctx.record_empty_answer()
    return failure_from_chat_error(reading.EMPTY_ANSWER)


def bridge_request_failure(exc: bridge.BridgeRequestError) -> UpstreamFailure:
    """A request the bridge cannot translate: the client's fault, so no retry or fallback helps."""
    error = exc.error
    return UpstreamFailure(InvalidRequestError(error.message, param=error.param, code=error.code), retryable=False)


async def send(
    request: web.Request, target: RouteTarget, endpoint: Endpoint, payload: dict[str, Any]
) -> tuple[UpstreamAnswer, float]:
    """POST to the target; a non-2xx answer becomes an UpstreamFailure. Returns the response and its start time."""
    ctx: RequestContext = request[context_key]
    upstream = request.app[upstream_key]
    clock = request.app[clock_key]
    started = clock()
    resp = await upstream.post(target, endpoint, orjson.dumps(payload), request_id=ctx.request_id)
    if resp.status >= 300:
        ctx.upstream_seconds += clock() - started
        raise await upstream.error_of(resp)
    return resp, started


def events_of(request: web.Request, resp: UpstreamAnswer, started: float) -> UpstreamEvents:
    """The answer's SSE events; the wait for its headers counts as upstream time."""
    ctx: RequestContext = request[context_key]
    app = request.app
    clock = app[clock_key]
    ctx.upstream_seconds += clock() - started
    return UpstreamEvents(
        resp,
        ctx,
        clock,
        keepalive_seconds=app[settings_key].sse_keepalive_seconds,
        scrubber=app[upstream_key].scrubber,
    )


async def read_json(request: web.Request, resp: UpstreamAnswer, started: float) -> tuple[bytes, dict[str, Any]]:
    """The whole JSON answer (raw and parsed), counting the wait as upstream time; the connection is released."""
    app = request.app
    return await reading.read_json(resp, request[context_key], app[clock_key], started, app[upstream_key].scrubber)
