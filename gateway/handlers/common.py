"""Helpers shared by the model endpoints: request preparation, failover, upstream calls, SSE and usage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

import aiohttp
import orjson
from aiohttp import web

from gateway import bridge
from gateway.bridge.errors import ChatError
from gateway.context import RequestContext
from gateway.errors import (
    BodyTooLargeError,
    InvalidRequestError,
    NotReadyError,
    PermissionDeniedError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
    alias_not_served,
)
from gateway.keys import (
    clock_key,
    context_key,
    health_key,
    metrics_key,
    rng_key,
    settings_key,
    table_holder_key,
    upstream_key,
)
from gateway.providers.base import Endpoint
from gateway.routing.loading import CompiledTable, RouteTarget
from gateway.sse import SSEDecoder, SSEEvent
from gateway.upstream import UpstreamFailure, failure_from_chat_error, with_failover
from gateway.validation import parse_json_object

__all__ = [
    "BAD_EVENT",
    "NOT_JSON",
    "SSE_HEADERS",
    "Primed",
    "Request",
    "StreamBroken",
    "UpstreamEvents",
    "apply_route_settings",
    "bridge_request_failure",
    "events_of",
    "failover",
    "finished_stream",
    "is_sse",
    "parse_object",
    "prepare",
    "read_all_events",
    "read_body",
    "read_failure",
    "read_json",
    "record_chat_usage",
    "record_recovery",
    "resolve",
    "respond",
    "send",
    "serving",
]

SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
BAD_EVENT = ChatError(502, "The upstream sent a malformed stream event.", "server_error", None, "bad_upstream_event")
NOT_JSON = ChatError(502, "The upstream sent a malformed JSON answer.", "server_error", None, "bad_upstream_body")

Outcome: TypeAlias = "web.StreamResponse | Primed"


def parse_object(data: str | bytes) -> dict[str, Any] | None:
    """A JSON object, or None for anything else (bad JSON, another type, nothing)."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


@dataclass(slots=True)
class Request:
    """A validated model request: its body, the requested alias and where the table sends it."""

    ctx: RequestContext
    body: dict[str, Any]
    alias: str
    table: CompiledTable
    target: RouteTarget


async def prepare(request: web.Request, endpoint: str, validate: Callable[[dict[str, Any]], str]) -> Request:
    """Read and validate the body, then resolve its alias (with the caller's grant) into a route."""
    ctx = request[context_key]
    ctx.endpoint = endpoint
    body = await read_body(request)
    alias = validate(body)
    ctx.stream = body.get("stream") is True
    table, target = resolve(request, alias)
    ctx.mode = target.route.mode
    return Request(ctx, body, alias, table, target)


def serving(ctx: RequestContext, current: RouteTarget) -> None:
    """Note which alias and backend this attempt uses (an attempt's first step, before anything can fail).

    What an earlier, failed attempt recovered is forgotten: the log and the recovery metrics describe the
    answer the client got."""
    ctx.served_alias = current.alias
    ctx.backend = current.backend.key
    ctx.recovery_source = None
    ctx.unrecoverable = False


def record_recovery(ctx: RequestContext, outcome: bridge.RecoveryOutcome) -> None:
    """What the bridge's recovery did for this attempt's answer (read by the log line and the metrics)."""
    ctx.recovery_source = outcome.source or None
    ctx.unrecoverable = bool(outcome.unrecoverable)


async def failover(
    request: web.Request, prepared: Request, attempt: Callable[[RouteTarget], Awaitable[Outcome]]
) -> Outcome:
    """Run ``attempt`` over the route and its fallbacks and record the alias's health; the last failure is raised."""
    app = request.app
    ctx = prepared.ctx
    health = app[health_key]
    try:
        outcome = await with_failover(
            prepared.table, prepared.target, attempt, metrics=app[metrics_key], rng=app[rng_key]
        )
    except UpstreamFailure as failure:
        if failure.retryable:
            health.record_traffic(ctx.served_alias or prepared.alias, ok=False, error=failure.error.message)
        raise failure.error from None
    health.record_traffic(ctx.served_alias or prepared.alias, ok=True)
    return outcome


def bridge_request_failure(exc: bridge.BridgeRequestError) -> UpstreamFailure:
    """A request the bridge cannot translate: the client's fault, so no retry or fallback helps."""
    error = exc.error
    return UpstreamFailure(InvalidRequestError(error.message, param=error.param, code=error.code), retryable=False)


async def send(
    request: web.Request, target: RouteTarget, endpoint: Endpoint, payload: dict[str, Any]
) -> tuple[aiohttp.ClientResponse, float]:
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


def is_sse(resp: aiohttp.ClientResponse) -> bool:
    return resp.content_type == "text/event-stream"


def events_of(request: web.Request, resp: aiohttp.ClientResponse, started: float) -> UpstreamEvents:
    """The answer's SSE events; the wait for its headers counts as upstream time."""
    request[context_key].upstream_seconds += request.app[clock_key]() - started
    return UpstreamEvents(resp, request)


async def read_json(request: web.Request, resp: aiohttp.ClientResponse, started: float) -> tuple[bytes, dict[str, Any]]:
    """The whole JSON answer (raw and parsed), counting the wait as upstream time; the connection is released."""
    ctx: RequestContext = request[context_key]
    clock = request.app[clock_key]
    try:
        data = await resp.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise read_failure(exc) from None
    finally:
        ctx.upstream_seconds += clock() - started
        resp.release()
    parsed = parse_object(data)
    if parsed is None:
        raise failure_from_chat_error(NOT_JSON)
    return data, parsed


async def read_all_events(
    resp: aiohttp.ClientResponse, events: UpstreamEvents, feed: Callable[[dict[str, Any]], object]
) -> None:
    """Feed every event payload of a stream to ``feed`` (for folding it into one answer)."""
    try:
        while not events.eof:
            for event in await events.next_batch():
                if event.data == "[DONE]":
                    continue
                payload = parse_object(event.data)
                if payload is None:
                    raise failure_from_chat_error(BAD_EVENT)
                feed(payload)
    finally:
        resp.release()


class StreamBroken(Exception):
    """The upstream stream went bad; ``frames`` are what the same batch produced before that."""

    def __init__(self, error: ChatError, frames: list[bytes]) -> None:
        super().__init__(error.message)
        self.error = error
        self.frames = frames


async def read_body(request: web.Request) -> dict[str, Any]:
    """The JSON object body, refusing anything above ``max_body_bytes`` before reading it when possible."""
    limit = request.app[settings_key].max_body_bytes
    length = request.content_length
    if length is not None and length > limit:
        raise BodyTooLargeError(f"The request body exceeds the limit of {limit} bytes.")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise BodyTooLargeError(f"The request body exceeds the limit of {limit} bytes.") from None
    return parse_json_object(raw)


def resolve(request: web.Request, alias: str) -> tuple[CompiledTable, RouteTarget]:
    """The current table and the alias's target; 404 names only the requested alias (and, when a ModelAlias
    asking for it was rejected, that reason: ``model_not_available``)."""
    table = request.app[table_holder_key].current
    if table is None:
        raise NotReadyError("The gateway has not loaded a routing table yet.")
    ctx = request[context_key]
    target = table.get(alias)
    if target is None:
        rejected = table.rejection(alias)
        if rejected is not None and ctx.grant is not None and not ctx.grant.allows(alias):
            raise PermissionDeniedError(f"Your API key may not use the model '{alias}'.", param="model")
        raise alias_not_served(alias, None if rejected is None else rejected.reason)
    ctx.alias = alias
    if ctx.grant is not None and not ctx.grant.allows(alias):
        raise PermissionDeniedError(f"Your API key may not use the model '{alias}'.", param="model")
    return table, target


def apply_route_settings(body: dict[str, Any], target: RouteTarget) -> dict[str, Any]:
    """Request defaults (where the client set nothing) and overrides (always); never the model."""
    settings = target.route.settings
    if not settings.request_defaults and not settings.request_overrides:
        return body
    merged = {**settings.request_defaults, **body, **settings.request_overrides}
    merged["model"] = body.get("model")
    return merged


class UpstreamEvents:
    """SSE events from an upstream response, counting the time spent waiting on it."""

    __slots__ = ("_clock", "_ctx", "_decoder", "_resp", "eof", "keepalive_seconds")

    def __init__(self, resp: aiohttp.ClientResponse, request: web.Request) -> None:
        self._resp = resp
        self._ctx: RequestContext = request[context_key]
        self._clock = request.app[clock_key]
        self._decoder = SSEDecoder()
        self.eof = False
        self.keepalive_seconds: float = request.app[settings_key].sse_keepalive_seconds
        """Silence after which the client gets a keepalive comment (0 = never)."""

    async def next_batch(self) -> list[SSEEvent]:
        """The events of the next upstream chunk; sets ``eof`` at the end. Raises UpstreamFailure on I/O errors."""
        batch = await self.next_batch_within(None)
        assert batch is not None  # no deadline: only a chunk or the end returns
        return batch

    async def next_batch_within(self, seconds: float | None) -> list[SSEEvent] | None:
        """Like :meth:`next_batch`, but None when ``seconds`` pass with nothing read (the read stays intact:
        aiohttp only takes bytes from its buffer once the wait is over)."""
        started = self._clock()
        try:
            if seconds is None:
                chunk = await self._resp.content.readany()
            else:
                window = asyncio.timeout(seconds)
                try:
                    async with window:
                        chunk = await self._resp.content.readany()
                except TimeoutError:
                    if window.expired():
                        return None  # our window closed, not the upstream's idle timeout
                    raise
        except TimeoutError:
            raise UpstreamFailure(
                UpstreamTimeoutError("The upstream stream stalled (idle timeout)."), retryable=True
            ) from None
        except aiohttp.ClientError as exc:
            raise UpstreamFailure(
                UpstreamUnavailableError(f"The upstream stream broke ({type(exc).__name__})."), retryable=True
            ) from None
        finally:
            self._ctx.upstream_seconds += self._clock() - started
        if not chunk:
            self.eof = True
            return self._decoder.close()
        return self._decoder.feed(chunk)


_TOKEN_FIELDS = (("prompt", "prompt_tokens"), ("completion", "completion_tokens"))


def record_chat_usage(ctx: RequestContext, usage: dict[str, Any] | None) -> None:
    """Chat-shaped usage → ``ctx.tokens`` (prompt, completion, reasoning, cached)."""
    if not isinstance(usage, dict):
        return
    tokens = ctx.tokens
    for name, key in _TOKEN_FIELDS:
        value = usage.get(key)
        if isinstance(value, int):
            tokens[name] = value
    details = usage.get("completion_tokens_details")
    if isinstance(details, dict) and isinstance(details.get("reasoning_tokens"), int):
        tokens["reasoning"] = details["reasoning_tokens"]
    details = usage.get("prompt_tokens_details")
    if isinstance(details, dict) and isinstance(details.get("cached_tokens"), int):
        tokens["cached"] = details["cached_tokens"]


def read_failure(exc: BaseException) -> UpstreamFailure:
    """A failed upstream body read → a retryable failure (504 for timeouts, 502 otherwise)."""
    if isinstance(exc, TimeoutError):
        return UpstreamFailure(UpstreamTimeoutError("The upstream did not finish its answer in time."), retryable=True)
    return UpstreamFailure(
        UpstreamUnavailableError(f"The upstream answer broke off ({type(exc).__name__})."), retryable=True
    )


def finished_stream(resp: aiohttp.ClientResponse, frames: list[bytes]) -> web.Response:
    """The whole stream arrived while priming: answer it in one body (no chunked framing, one write)."""
    resp.release()
    return web.Response(body=b"".join(frames), headers=SSE_HEADERS)


@dataclass(slots=True)
class Primed:
    """An upstream stream read up to its first content: frames to send first, then the rest."""

    resp: aiohttp.ClientResponse
    head: list[bytes]
    rest: AsyncGenerator[bytes, None]


async def respond(request: web.Request, ctx: RequestContext, outcome: Outcome) -> web.StreamResponse:
    """Answer with ``outcome``: a whole response as it is; a primed stream is committed as SSE and copied on.

    A vanished client closes the upstream (stop paying).
    """
    if isinstance(outcome, web.StreamResponse):
        return outcome
    response = web.StreamResponse(status=200, headers=SSE_HEADERS)
    await response.prepare(request)
    try:
        try:
            if outcome.head:
                await response.write(b"".join(outcome.head))
            async for frames in outcome.rest:
                await response.write(frames)
        except ConnectionResetError:
            ctx.disconnected = True
            outcome.resp.close()
            raise
        await response.write_eof()
    finally:
        await outcome.rest.aclose()
        outcome.resp.release()
    return response
