"""POST /v1/responses: pass-through to Responses-mode backends, the reverse bridge to chat-mode ones.

On a Responses-mode route, the bridge's ``prepare_responses_request`` sets the upstream model, turns a
string ``input`` into the list form some backends demand, and applies provider shaping (codex forces
streaming). A caller that did not ask to stream, on a backend that always streams, gets the stream folded
into one Response (``ResponseFolder``); a streaming caller gets the events through
``ResponsesStreamRecovery``, which rebuilds an empty ``response.completed.output``. A chat-mode route
(and a chat-mode fallback) is served by :mod:`gateway.handlers.responses_over_chat`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

import orjson
from aiohttp import web

from gateway import bridge
from gateway.bridge.errors import ChatError
from gateway.context import RequestContext
from gateway.errors import GatewayError
from gateway.handlers import attempts, relay, requests, responses_over_chat
from gateway.handlers.validation import validate_responses_request
from gateway.keys import clock_key, ids_key
from gateway.routing.loading import RouteTarget
from gateway.schemas.responses import FAILED_EVENTS, TERMINAL_EVENTS, EventType
from gateway.sse import SSEEvent, encode_event
from gateway.upstream import reading
from gateway.upstream.answers import UpstreamAnswer
from gateway.upstream.failures import failure_from_chat_error
from gateway.upstream.reading import BAD_EVENT, parse_object

__all__ = ["post_responses"]

_PRELUDE: Final[frozenset[EventType]] = frozenset({"response.created", "response.in_progress", "response.queued"})
"""Events before any output: a stream that sent only these has not started (it may still be retried)."""


def _record_usage(ctx: RequestContext, response: object) -> None:
    if isinstance(response, dict):
        ctx.record_chat_usage(bridge.usage_to_chat(response.get("usage")))


async def post_responses(request: web.Request) -> web.StreamResponse:
    prepared = await requests.prepare(request, "responses", validate_responses_request)
    ctx, body = prepared.ctx, prepared.body
    identity = responses_over_chat.Identity(f"resp_{request.app[ids_key]()}", int(time.time()))

    async def attempt(current: RouteTarget) -> relay.Outcome:
        ctx.serving(current)
        ctx.mode = current.route.mode
        if current.route.mode == "chat":
            return await responses_over_chat.forward(request, ctx, current, body, identity)
        return await _forward(request, ctx, current, requests.apply_route_settings(body, current))

    return await relay.respond(request, ctx, await attempts.failover(request, prepared, attempt))


async def _forward(
    request: web.Request, ctx: RequestContext, target: RouteTarget, body: dict[str, Any]
) -> relay.Outcome:
    clock = request.app[clock_key]
    backend = target.backend
    try:
        upstream_body, normalized = bridge.prepare_responses_request(
            body, upstream_model=backend.model, provider=backend.provider
        )
    except bridge.BridgeRequestError as exc:
        raise attempts.bridge_request_failure(exc) from None
    ctx.input_normalized = normalized
    resp, started = await attempts.send(request, target, "responses", upstream_body)
    if not reading.is_sse(resp):
        data, parsed = await attempts.read_json(request, resp, started)
        _record_usage(ctx, parsed)
        ctx.first_token_at = clock()
        return web.Response(body=data, content_type="application/json")
    events = attempts.events_of(request, resp, started)
    if not ctx.stream:
        return await _fold(ctx, resp, events, clock)
    return await relay.prime(ctx, resp, events, _ResponsesRelay(ctx, clock))


async def _fold(
    ctx: RequestContext, resp: UpstreamAnswer, events: reading.UpstreamEvents, clock: Callable[[], float]
) -> web.StreamResponse:
    """A forced stream folded into one Response for a caller that did not stream: its first token is the
    whole answer, so time to first token is measured once the fold is done."""
    folder = bridge.ResponseFolder(model=None)
    await reading.read_all_events(resp, events, folder.feed)
    result = folder.result()
    ctx.record_recovery(result.recovery)
    if result.error is not None:
        raise failure_from_chat_error(result.error)
    if result.response is None:
        raise failure_from_chat_error(bridge.stream_truncated_error())
    if result.recovery.unrecoverable and result.response.get("status") != "incomplete":
        raise attempts.empty_answer(ctx)  # completed with nothing in it (an incomplete answer may be empty)
    _record_usage(ctx, result.response)
    ctx.first_token_at = clock()
    return web.Response(body=orjson.dumps(result.response), content_type="application/json")


class _ResponsesRelay(relay.MarkedRelay):
    """Responses events passed on, with an empty ``response.completed.output`` rebuilt by the recovery."""

    __slots__ = ("_clock", "_ctx", "_recovery", "sequence")
    closing = b""

    def __init__(self, ctx: RequestContext, clock: Callable[[], float]) -> None:
        super().__init__()
        self._ctx = ctx
        self._clock = clock
        self._recovery = bridge.ResponsesStreamRecovery()
        self.sequence = 0

    def absorb(self, batch: list[SSEEvent]) -> list[bytes]:
        ctx = self._ctx
        frames: list[bytes] = []
        for event in batch:
            if self.done:
                break
            if event.data == "[DONE]":
                continue
            payload = parse_object(event.data)
            if payload is None:
                raise relay.StreamBroken(BAD_EVENT, frames)
            kind = payload.get("type")
            sequence = payload.get("sequence_number")
            if isinstance(sequence, int):
                self.sequence = sequence
            if kind in FAILED_EVENTS and not self.started:
                raise relay.StreamBroken(bridge.error_from_event(payload), frames)
            forwarded = self._recovery.feed(payload)
            if kind == "response.completed" and self._recovery.recovery.unrecoverable:
                ctx.record_empty_answer()  # completed with nothing in it: the attempt failed
                raise relay.StreamBroken(reading.EMPTY_ANSWER, frames)
            data = event.data if forwarded is payload else orjson.dumps(forwarded).decode()
            frames.append(encode_event(data, event=kind if isinstance(kind, str) else event.event))
            if not self.started and kind not in _PRELUDE:
                self.started = True
                ctx.first_token_at = self._clock()
            if kind in TERMINAL_EVENTS:
                self.done = True
                if kind in FAILED_EVENTS:
                    ctx.error_code = bridge.error_from_event(payload).code or "response_failed"
                _record_usage(ctx, forwarded.get("response"))
        return frames

    def tail(self) -> bytes:
        self._ctx.error_code = "stream_truncated"
        return self.error_frame(bridge.stream_truncated_error())

    def error_frame(self, error: ChatError | GatewayError) -> bytes:
        """An ``error`` event numbered after the last one seen (the failures here never name a param)."""
        payload = {
            "type": "error",
            "code": error.code,
            "message": error.message,
            "param": error.param,
            "sequence_number": self.sequence + 1,
        }
        return encode_event(orjson.dumps(payload).decode(), event="error")

    def error_code(self, error: ChatError) -> str | None:
        return error.code or "bad_upstream_event"

    def settle(self) -> None:
        self._ctx.record_recovery(self._recovery.recovery)
