"""POST /v1/chat/completions: validate → resolve alias → pass through (chat mode) or bridge (responses mode).

Every attempt reads the upstream until the first content-bearing chunk (or the end) before the
client's response starts, so an early upstream failure is retried, falls back, or becomes a proper
HTTP error. After that, failures become an in-stream ``data: {"error": …}`` frame and ``[DONE]``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

from gateway import bridge
from gateway.bridge.errors import ChatError
from gateway.context import RequestContext
from gateway.errors import GatewayError
from gateway.handlers import attempts, relay, requests
from gateway.handlers.validation import validate_chat_request
from gateway.keys import clock_key
from gateway.routing.loading import RouteTarget
from gateway.sse import DONE_FRAME, SSEEvent, encode_json_frame
from gateway.upstream import reading
from gateway.upstream.failures import failure_from_chat_error
from gateway.upstream.reading import BAD_EVENT, parse_object

__all__ = ["post_chat_completions"]

_loads = orjson.loads
_dumps = orjson.dumps
_USAGE_PROVIDERS = frozenset({"openai", "azure-openai"})
Clock = Callable[[], float]


async def post_chat_completions(request: web.Request) -> web.StreamResponse:
    prepared = await requests.prepare(request, "chat", validate_chat_request)
    ctx, body = prepared.ctx, prepared.body
    received = int(time.time())  # `created` of a bridged answer whose upstream sent no `created_at`

    async def attempt(current: RouteTarget) -> relay.Outcome:
        ctx.serving(current)
        ctx.mode = current.route.mode
        merged = requests.apply_route_settings(body, current)
        if current.route.mode == "chat":
            return await _chat_passthrough(request, ctx, current, merged)
        return await _bridged(request, ctx, current, merged, received)

    return await relay.respond(request, ctx, await attempts.failover(request, prepared, attempt))


# ---------------------------------------------------------------- chat pass-through


def _has_content(chunk: dict[str, Any]) -> bool:
    choices = chunk.get("choices")
    if not isinstance(choices, list):
        return False
    for choice in choices:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if isinstance(delta, dict) and (
            delta.get("content")
            or delta.get("tool_calls")
            or delta.get("refusal")
            or delta.get("reasoning_content")
            or delta.get("function_call")
        ):
            return True
    return False


async def _chat_passthrough(
    request: web.Request, ctx: RequestContext, target: RouteTarget, body: dict[str, Any]
) -> relay.Outcome:
    clock = request.app[clock_key]
    out = dict(body)
    out["model"] = target.backend.model
    options = body.get("stream_options") or {}
    # Ask OpenAI-run backends for the usage chunk even when the caller did not, so token metrics are
    # complete; the chunk is then kept from the caller. (Other servers may refuse `stream_options`.)
    hide_usage = ctx.stream and not options.get("include_usage") and target.backend.provider in _USAGE_PROVIDERS
    if hide_usage:
        out["stream_options"] = {**options, "include_usage": True}
    resp, started = await attempts.send(request, target, "chat", out)
    if not ctx.stream or not reading.is_sse(resp):
        data, parsed = await attempts.read_json(request, resp, started)
        ctx.record_chat_usage(parsed.get("usage"))
        ctx.first_token_at = clock()
        return _completion_reply(ctx, parsed, data)
    events = attempts.events_of(request, resp, started)
    return await relay.prime(ctx, resp, events, _PassthroughRelay(ctx, clock, hide_usage=hide_usage))


class _ChatFrames:
    """In-stream errors as chat callers see them: a ``data: {"error": …}`` frame, then ``[DONE]``."""

    __slots__ = ()
    closing = DONE_FRAME

    def error_frame(self, error: ChatError | GatewayError) -> bytes:
        return encode_json_frame(error.body())

    def error_code(self, error: ChatError) -> str | None:
        return error.code or error.type


class _PassthroughRelay(_ChatFrames, relay.MarkedRelay):
    """Chat chunks passed on as they came, minus a usage-only chunk the caller did not ask for."""

    __slots__ = ("_clock", "_ctx", "_hide_usage")

    def __init__(self, ctx: RequestContext, clock: Clock, *, hide_usage: bool) -> None:
        super().__init__()
        self._ctx = ctx
        self._clock = clock
        self._hide_usage = hide_usage

    def absorb(self, batch: list[SSEEvent]) -> list[bytes]:
        ctx = self._ctx
        frames: list[bytes] = []
        for event in batch:
            if event.data == "[DONE]":
                self.done = True
                continue
            chunk = parse_object(event.data)
            if chunk is None:
                raise relay.StreamBroken(BAD_EVENT, frames)
            if chunk.get("error"):
                raise relay.StreamBroken(bridge.error_from_event(chunk), frames)
            if not self.started and _has_content(chunk):
                self.started = True
                ctx.first_token_at = self._clock()
            if chunk.get("usage"):
                ctx.record_chat_usage(chunk["usage"])
                if self._hide_usage and not chunk.get("choices"):
                    continue
            # One `data:` line per frame: a chunk the upstream split over several lines is re-encoded.
            data = event.data
            frames.append(encode_json_frame(chunk) if "\n" in data else b"data: " + data.encode() + b"\n\n")
        return frames

    def tail(self) -> bytes:
        self._ctx.error_code = "stream_truncated"
        return encode_json_frame(bridge.stream_truncated_error().body())

    def settle(self) -> None:
        pass


# ---------------------------------------------------------------- Responses bridge


async def _bridged(
    request: web.Request, ctx: RequestContext, target: RouteTarget, body: dict[str, Any], received: int
) -> relay.Outcome:
    clock = request.app[clock_key]
    backend = target.backend
    try:
        upstream_body = bridge.to_responses_request(body, upstream_model=backend.model, provider=backend.provider)
    except bridge.BridgeRequestError as exc:
        raise attempts.bridge_request_failure(exc) from None
    resp, started = await attempts.send(request, target, "responses", upstream_body)
    model = str(body["model"])  # the alias the client asked for (bridge spec §2.7), as OpenAI echoes it
    if not reading.is_sse(resp):
        _, parsed = await attempts.read_json(request, resp, started)
        result = bridge.chat_completion_from_response(parsed, model=model, created=received)
        return _folded_reply(ctx, result, clock())
    events = attempts.events_of(request, resp, started)
    if not ctx.stream:
        collected: list[dict[str, Any]] = []
        await reading.read_all_events(resp, events, collected.append)
        result = bridge.fold_chat_completion(collected, model=model, created=received)
        return _folded_reply(ctx, result, clock())
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    translator = bridge.ResponsesToChatStream(model=model, include_usage=include_usage, created=received)
    return await relay.prime(ctx, resp, events, _BridgedRelay(ctx, clock, translator))


class _BridgedRelay(_ChatFrames):
    """Responses events translated into chat chunks by the bridge's stream translator."""

    __slots__ = ("_clock", "_ctx", "_translator")

    def __init__(self, ctx: RequestContext, clock: Clock, translator: bridge.ResponsesToChatStream) -> None:
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
        # The hot loop of bridged streams: orjson and the translator, nothing else per event.
        translator = self._translator
        frames: list[bytes] = []
        append = frames.append
        feed = translator.feed
        for event in batch:
            if translator.done:
                break
            data = event.data
            if data == "[DONE]":
                continue
            try:
                payload = _loads(data)
            except orjson.JSONDecodeError:
                payload = None
            if type(payload) is not dict:
                raise relay.StreamBroken(BAD_EVENT, frames)
            was_started = translator.started
            mark = len(frames)
            for chunk in feed(payload):
                append(b"data: " + _dumps(chunk) + b"\n\n")
            if not was_started and translator.started:
                self._ctx.first_token_at = self._clock()
            if translator.done and _empty(translator.recovery, translator.finish_reason):
                self._ctx.record_empty_answer()  # its empty turn is not sent: the attempt failed
                raise relay.StreamBroken(reading.EMPTY_ANSWER, frames[:mark])
        return frames

    def after_priming(self, eof: bool) -> list[bytes]:
        translator = self._translator
        frames = [encode_json_frame(chunk) for chunk in translator.finish()] if eof and not translator.done else []
        if translator.error is not None and not translator.started:
            raise failure_from_chat_error(translator.error)
        return frames

    def finished(self, eof: bool) -> bool:
        return self._translator.done or eof

    def tail(self) -> bytes:
        self._ctx.error_code = "stream_truncated"  # EOF after content, before the terminal event
        return b"".join(encode_json_frame(chunk) for chunk in self._translator.finish())

    def settle(self) -> None:
        translator = self._translator
        ctx = self._ctx
        ctx.record_chat_usage(translator.usage)
        ctx.record_recovery(translator.recovery)
        if translator.error is not None and ctx.error_code is None:
            ctx.error_code = translator.error.code or translator.error.type


def _empty(recovery: bridge.RecoveryOutcome, finish_reason: str | None) -> bool:
    """A completed answer (``stop``) with an empty output nothing could rebuild. An incomplete one
    (``length``, ``content_filter``) may legitimately be empty: the upstream says why."""
    return recovery.unrecoverable and finish_reason == "stop"


def _folded_reply(ctx: RequestContext, result: bridge.FoldResult, now: float) -> web.StreamResponse:
    """A folded (non-stream or JSON) bridge result → the chat answer (as JSON, or as SSE chunks)."""
    ctx.record_recovery(result.recovery)
    if result.error is not None:
        raise failure_from_chat_error(result.error)
    completion = result.completion
    if completion is None:  # pragma: no cover - the bridge always sets one of the two
        raise failure_from_chat_error(reading.NOT_JSON)
    choices = completion.get("choices") or [{}]
    if _empty(result.recovery, choices[0].get("finish_reason")):
        raise attempts.empty_answer(ctx)
    ctx.record_chat_usage(result.usage)
    ctx.first_token_at = now
    return _completion_reply(ctx, completion, None)


def _completion_reply(ctx: RequestContext, completion: dict[str, Any], raw: bytes | None) -> web.Response:
    """A whole chat.completion as the caller asked for it: JSON (``raw`` as received, when given) or SSE chunks."""
    if not ctx.stream:
        return web.Response(body=orjson.dumps(completion) if raw is None else raw, content_type="application/json")
    frames = b"".join(encode_json_frame(chunk) for chunk in completion_to_chunks(completion))
    return web.Response(body=frames + DONE_FRAME, headers=relay.SSE_HEADERS)


def completion_to_chunks(completion: dict[str, Any]) -> list[dict[str, Any]]:
    """A whole chat.completion as stream chunks (for an upstream that answered JSON to a stream caller)."""
    base = {
        "id": completion.get("id"),
        "object": "chat.completion.chunk",
        "created": completion.get("created", int(time.time())),
        "model": completion.get("model"),
    }
    chunks: list[dict[str, Any]] = []
    for choice in completion.get("choices") or []:
        message = dict(choice.get("message") or {})
        tool_calls = message.get("tool_calls")
        if tool_calls:
            message["tool_calls"] = [{**call, "index": i} for i, call in enumerate(tool_calls)]
        chunks.append({**base, "choices": [{"index": choice.get("index", 0), "delta": message, "finish_reason": None}]})
        chunks.append(
            {
                **base,
                "choices": [
                    {"index": choice.get("index", 0), "delta": {}, "finish_reason": choice.get("finish_reason")}
                ],
            }
        )
    return chunks
