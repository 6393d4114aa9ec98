"""POST /v1/responses: pass-through to Responses-mode backends, with input normalisation and recovery.

The bridge's ``prepare_responses_request`` sets the upstream model, turns a string ``input`` into
the list form some backends demand, and applies provider shaping (codex forces streaming). A
caller that did not ask to stream, on a backend that always streams, gets the stream folded into
one Response (``ResponseFolder``); a streaming caller gets the events through
``ResponsesStreamRecovery``, which rebuilds an empty ``response.completed.output``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from gateway import bridge
from gateway.bridge.errors import ChatError
from gateway.context import RequestContext
from gateway.errors import InvalidRequestError
from gateway.handlers import common
from gateway.keys import clock_key, context_key, health_key, metrics_key, rng_key, upstream_key
from gateway.routing.loading import RouteTarget
from gateway.sse import encode_event
from gateway.upstream import UpstreamFailure, failure_from_chat_error, with_failover
from gateway.validation import validate_responses_request

__all__ = ["post_responses"]

_PRELUDE = frozenset({"response.created", "response.in_progress", "response.queued"})
_TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed", "error"})
_FAILED = frozenset({"response.failed", "error"})
_BAD_EVENT = ChatError(502, "The upstream sent a malformed stream event.", "server_error", None, "bad_upstream_event")
_NOT_JSON = ChatError(502, "The upstream sent a malformed JSON answer.", "server_error", None, "bad_upstream_body")


def _parse(data: str | bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _record_usage(ctx: RequestContext, response: object) -> None:
    if isinstance(response, dict):
        common.record_chat_usage(ctx, bridge.usage_to_chat(response.get("usage")))


def _error_event(error: ChatError, sequence: int) -> bytes:
    payload: dict[str, Any] = {"type": "error", "code": error.code, "message": error.message, "param": error.param}
    payload["sequence_number"] = sequence
    return encode_event(orjson.dumps(payload).decode(), event="error")


async def post_responses(request: web.Request) -> web.StreamResponse:
    ctx = request[context_key]
    ctx.endpoint = "responses"
    body = await common.read_body(request)
    alias = validate_responses_request(body)
    ctx.stream = body.get("stream") is True
    table, target = common.resolve(request, alias)
    ctx.mode = target.route.mode
    if target.route.mode != "responses":
        raise InvalidRequestError(
            f"The model '{alias}' is served in chat mode; use /v1/chat/completions.",
            param="model",
            code="unsupported_endpoint",
        )
    app = request.app
    health = app[health_key]

    async def attempt(current: RouteTarget) -> web.StreamResponse | common.Primed:
        ctx.served_alias = current.alias
        ctx.backend = current.backend.key
        if current.route.mode != "responses":
            raise UpstreamFailure(
                InvalidRequestError(f"Fallback '{current.alias}' cannot serve the Responses API.", param="model"),
                retryable=False,
            )
        return await _forward(request, ctx, current, common.apply_route_settings(body, current))

    try:
        outcome = await with_failover(table, target, attempt, metrics=app[metrics_key], rng=app[rng_key])
    except UpstreamFailure as failure:
        if failure.retryable:
            health.record_traffic(ctx.served_alias or alias, ok=False, error=failure.error.message)
        raise failure.error from None
    health.record_traffic(ctx.served_alias or alias, ok=True)
    if isinstance(outcome, web.StreamResponse):
        return outcome
    return await common.pump(request, ctx, outcome)


async def _forward(
    request: web.Request, ctx: RequestContext, target: RouteTarget, body: dict[str, Any]
) -> web.StreamResponse | common.Primed:
    upstream = request.app[upstream_key]
    clock = request.app[clock_key]
    backend = target.backend
    try:
        upstream_body, normalized = bridge.prepare_responses_request(
            body, upstream_model=backend.model, provider=backend.provider
        )
    except bridge.BridgeRequestError as exc:
        error = exc.error
        raise UpstreamFailure(
            InvalidRequestError(error.message, param=error.param, code=error.code), retryable=False
        ) from None
    ctx.input_normalized = normalized
    started = clock()
    resp = await upstream.post(target, "responses", orjson.dumps(upstream_body), request_id=ctx.request_id)
    if resp.status >= 300:
        ctx.upstream_seconds += clock() - started
        raise await upstream.error_of(resp)
    if resp.content_type != "text/event-stream":
        try:
            data = await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise common.read_failure(exc) from None
        finally:
            ctx.upstream_seconds += clock() - started
            resp.release()
        parsed = _parse(data)
        if parsed is None:
            raise failure_from_chat_error(_NOT_JSON)
        _record_usage(ctx, parsed)
        ctx.first_token_at = clock()
        return web.Response(body=data, content_type="application/json")
    ctx.upstream_seconds += clock() - started
    events = common.UpstreamEvents(resp, request)
    if not ctx.stream:
        return await _fold(ctx, resp, events, clock())
    return await _prime_stream(ctx, resp, events, clock_fn=clock)


async def _fold(
    ctx: RequestContext, resp: aiohttp.ClientResponse, events: common.UpstreamEvents, now: float
) -> web.StreamResponse:
    folder = bridge.ResponseFolder(model=None)
    try:
        while not events.eof:
            for event in await events.next_batch():
                if event.data == "[DONE]":
                    continue
                payload = _parse(event.data)
                if payload is None:
                    raise failure_from_chat_error(_BAD_EVENT)
                folder.feed(payload)
    finally:
        resp.release()
    result = folder.result()
    if result.recovery.source:
        ctx.recovery_source = result.recovery.source
    ctx.unrecoverable = bool(result.recovery.unrecoverable)
    if result.error is not None:
        raise failure_from_chat_error(result.error)
    if result.response is None:
        raise failure_from_chat_error(bridge.stream_truncated_error())
    _record_usage(ctx, result.response)
    ctx.first_token_at = now
    return web.Response(body=orjson.dumps(result.response), content_type="application/json")


async def _prime_stream(
    ctx: RequestContext, resp: aiohttp.ClientResponse, events: common.UpstreamEvents, *, clock_fn: Any
) -> web.StreamResponse | common.Primed:
    recovery = bridge.ResponsesStreamRecovery()
    state = {"started": False, "done": False, "sequence": 0}

    def absorb(batch: list[Any]) -> list[bytes]:
        frames: list[bytes] = []
        for event in batch:
            if state["done"]:
                break
            if event.data == "[DONE]":
                continue
            payload = _parse(event.data)
            if payload is None:
                raise _StreamError(_BAD_EVENT, frames)
            kind = payload.get("type")
            sequence = payload.get("sequence_number")
            if isinstance(sequence, int):
                state["sequence"] = sequence
            if kind in _FAILED and not state["started"]:
                raise _StreamError(bridge.error_from_event(payload), frames)
            forwarded = recovery.feed(payload)
            data = event.data if forwarded is payload else orjson.dumps(forwarded).decode()
            frames.append(encode_event(data, event=kind if isinstance(kind, str) else event.event))
            if not state["started"] and kind not in _PRELUDE:
                state["started"] = True
                ctx.first_token_at = clock_fn()
            if kind in _TERMINAL:
                state["done"] = True
                if kind in _FAILED:
                    ctx.error_code = bridge.error_from_event(payload).code or "response_failed"
                _record_usage(ctx, forwarded.get("response"))
        return frames

    head: list[bytes] = []
    broken: list[_StreamError] = []
    try:
        while not state["started"] and not state["done"] and not events.eof:
            head.extend(absorb(await events.next_batch()))
        if events.eof and not state["done"] and not state["started"]:
            raise failure_from_chat_error(bridge.stream_truncated_error())
    except _StreamError as exc:
        if not state["started"]:
            resp.close()
            raise failure_from_chat_error(exc.error) from None
        broken.append(exc)
    except UpstreamFailure:
        resp.close()
        raise

    def settle() -> None:
        outcome = recovery.recovery
        if outcome.source:
            ctx.recovery_source = outcome.source
        ctx.unrecoverable = bool(outcome.unrecoverable)

    async def rest() -> AsyncGenerator[bytes, None]:
        try:
            if broken:
                raise broken[0]
            while not state["done"] and not events.eof:
                frames = absorb(await events.next_batch())
                if frames:
                    yield b"".join(frames)
            if not state["done"]:
                error = bridge.stream_truncated_error()
                ctx.error_code = "stream_truncated"
                yield _error_event(error, int(state["sequence"]) + 1)
        except _StreamError as exc:
            ctx.error_code = exc.error.code or "bad_upstream_event"
            yield b"".join([*exc.frames, _error_event(exc.error, int(state["sequence"]) + 1)])
        except UpstreamFailure as failure:
            ctx.error_code = failure.error.code
            yield _error_event(
                ChatError(
                    failure.error.http_status, failure.error.message, failure.error.type, None, failure.error.code
                ),
                int(state["sequence"]) + 1,
            )
        settle()

    if state["done"] and not broken:
        settle()
        return common.finished_stream(resp, head)
    return common.Primed(resp, head, rest())


class _StreamError(Exception):
    """The upstream stream went bad; ``frames`` are what the same batch produced before that."""

    def __init__(self, error: ChatError, frames: list[bytes]) -> None:
        super().__init__(error.message)
        self.error = error
        self.frames = frames
