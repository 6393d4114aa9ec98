"""POST /v1/responses on a chat-mode route: the reverse bridge (Responses caller, Chat Completions backend).

The bridge's ``to_chat_request`` turns the Responses request into a chat body; the chat answer comes back as
a Response (``response_from_chat_completion``) or, for a streaming caller, as Responses events
(``ChatToResponsesStream``). The stream goes through the same priming as every other path
(:mod:`gateway.handlers.relay`): ``response.created`` / ``in_progress`` wait in the head until the first
output, so an upstream failure before that is retried, falls back, or becomes a plain HTTP error; after it,
a failure is one ``response.failed`` event.

Route settings (``requestDefaults`` / ``requestOverrides``) of a chat-mode route apply to the translated chat
body: they were written in the vocabulary of the backend's API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from gateway import bridge
from gateway.bridge.errors import ChatError
from gateway.context import RequestContext
from gateway.errors import GatewayError
from gateway.handlers import attempts, relay, requests
from gateway.keys import clock_key
from gateway.routing.loading import RouteTarget
from gateway.sse import SSEEvent
from gateway.upstream import reading
from gateway.upstream.failures import failure_from_chat_error

__all__ = ["Identity", "forward"]

_dumps = orjson.dumps
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Identity:
    """What every attempt of one request shares: the response id and the time the gateway accepted it."""

    response_id: str
    created_at: int


async def forward(
    request: web.Request, ctx: RequestContext, target: RouteTarget, body: dict[str, Any], identity: Identity
) -> relay.Outcome:
    """One attempt against a chat backend: translate, send to ``/chat/completions``, answer as Responses."""
    clock = request.app[clock_key]
    backend = target.backend
    try:
        plan = bridge.to_chat_request(body, upstream_model=backend.model, provider=backend.provider)
    except bridge.BridgeRequestError as exc:
        raise attempts.bridge_request_failure(exc) from None
    # The alias the caller asked for is the Response's model, as the forward bridge echoes it too.
    frame = plan.frame(response_id=identity.response_id, created_at=identity.created_at, model=str(body["model"]))
    upstream_body = requests.apply_route_settings(plan.body, target)
    resp, started = await attempts.send(request, target, "chat", upstream_body)
    if not reading.is_sse(resp):
        _, parsed = await attempts.read_json(request, resp, started)
        return _whole_answer(ctx, frame, parsed, clock())
    events = attempts.events_of(request, resp, started)
    translator = bridge.ChatToResponsesStream(frame)
    if not ctx.stream:
        await reading.read_all_events(resp, events, translator.feed)
        translator.finish()
        ctx.record_chat_usage(translator.usage)
        if translator.error is not None:
            raise failure_from_chat_error(translator.error)
        ctx.first_token_at = clock()
        return web.Response(body=_dumps(translator.response), content_type="application/json")
    return await relay.prime(ctx, resp, events, _ReverseRelay(ctx, clock, translator))


def _whole_answer(
    ctx: RequestContext, frame: bridge.ResponseFrame, completion: dict[str, Any], now: float
) -> web.Response:
    """A ``chat.completion`` as the caller asked for it: one Response, or its events in one SSE body."""
    result = bridge.response_from_chat_completion(completion, frame)
    if result.error is not None:
        raise failure_from_chat_error(result.error)
    ctx.record_chat_usage(result.usage)
    ctx.first_token_at = now
    if not ctx.stream:
        return web.Response(body=_dumps(result.response), content_type="application/json")
    translator = bridge.ChatToResponsesStream(frame)
    events: list[dict[str, Any]] = []
    for chunk in _as_chunks(completion):
        events.extend(translator.feed(chunk))
    events.extend(translator.finish())
    return web.Response(body=b"".join(map(_event_frame, events)), headers=relay.SSE_HEADERS)


def _as_chunks(completion: dict[str, Any]) -> list[dict[str, Any]]:
    """A whole ``chat.completion`` as the chunks of its stream (for a backend that ignored ``stream: true``)."""
    chunks: list[dict[str, Any]] = []
    for choice in completion.get("choices") or ():
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            continue
        delta = dict(message)
        calls = message.get("tool_calls")
        if isinstance(calls, list):
            delta["tool_calls"] = [{**call, "index": i} for i, call in enumerate(calls) if isinstance(call, dict)]
        finish = choice.get("finish_reason") or "stop"
        chunks.append({"choices": [{"index": choice.get("index", 0), "delta": delta, "finish_reason": finish}]})
    chunks.append({"choices": [], "usage": completion.get("usage")})
    return chunks


def _event_frame(event: dict[str, Any]) -> bytes:
    """One Responses event as SSE (``event:`` names its type, as the OpenAI API sends them)."""
    return b"event: " + str(event["type"]).encode() + b"\ndata: " + _dumps(event) + b"\n\n"


def _chat_error(error: ChatError | GatewayError) -> ChatError:
    if isinstance(error, ChatError):
        return error
    return ChatError(error.http_status, error.message, error.type, error.param, error.code)


class _ReverseRelay:
    """Chat chunks translated into Responses events by the reverse bridge's stream translator."""

    __slots__ = ("_clock", "_ctx", "_translator")
    closing = b""

    def __init__(self, ctx: RequestContext, clock: Clock, translator: bridge.ChatToResponsesStream) -> None:
        self._ctx = ctx
        self._clock = clock
        self._translator = translator

    @property
    def started(self) -> bool:
        return self._translator.started

    @property
    def done(self) -> bool:
        return self._translator.done

    def absorb(self, batch: list[SSEEvent]) -> list[bytes]:
        translator = self._translator
        frames: list[bytes] = []
        append = frames.append
        feed_data = translator.feed_data
        for event in batch:
            if translator.done:
                break
            was_started = translator.started
            for produced in feed_data(event.data):
                append(_event_frame(produced))
            if not was_started and translator.started:
                self._ctx.first_token_at = self._clock()
        return frames

    def after_priming(self, eof: bool) -> list[bytes]:
        translator = self._translator
        frames = [_event_frame(event) for event in translator.finish()] if eof and not translator.done else []
        if translator.error is not None and not translator.started:
            raise failure_from_chat_error(translator.error)
        return frames

    def finished(self, eof: bool) -> bool:
        return self._translator.done or eof

    def tail(self) -> bytes:
        """EOF after output without ``[DONE]``: complete if the finish reason came, else a truncated stream."""
        frames = b"".join(_event_frame(event) for event in self._translator.finish())
        if self._translator.error is not None:
            self._ctx.error_code = "stream_truncated"
        return frames

    def error_frame(self, error: ChatError | GatewayError) -> bytes:
        return b"".join(_event_frame(event) for event in self._translator.fail(_chat_error(error)))

    def error_code(self, error: ChatError) -> str | None:
        return error.code or error.type

    def settle(self) -> None:
        translator = self._translator
        ctx = self._ctx
        ctx.record_chat_usage(translator.usage)
        if translator.error is not None and ctx.error_code is None:
            ctx.error_code = translator.error.code or translator.error.type
