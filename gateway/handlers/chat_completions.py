"""POST /v1/chat/completions: validate → resolve alias → pass through (chat mode) or bridge (responses mode).

Every attempt reads the upstream until the first content-bearing chunk (or the end) before the
client's response starts, so an early upstream failure is retried, falls back, or becomes a proper
HTTP error. After that, failures become an in-stream ``data: {"error": …}`` frame and ``[DONE]``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from typing import Any

import orjson
from aiohttp import web

from gateway import bridge
from gateway.context import RequestContext
from gateway.handlers import common
from gateway.keys import clock_key
from gateway.routing.loading import RouteTarget
from gateway.sse import DONE_FRAME, encode_json_frame
from gateway.upstream import UpstreamFailure, error_from_chat_error, failure_from_chat_error
from gateway.validation import validate_chat_request

__all__ = ["post_chat_completions"]

_loads = orjson.loads
_dumps = orjson.dumps
_USAGE_PROVIDERS = frozenset({"openai", "azure-openai"})
_BAD_EVENT = common.BAD_EVENT
_parse = common.parse_object


async def post_chat_completions(request: web.Request) -> web.StreamResponse:
    prepared = await common.prepare(request, "chat", validate_chat_request)
    ctx, body = prepared.ctx, prepared.body

    async def attempt(current: RouteTarget) -> web.StreamResponse | common.Primed:
        ctx.mode = current.route.mode
        merged = common.apply_route_settings(body, current)
        if current.route.mode == "chat":
            return await _chat_passthrough(request, ctx, current, merged)
        return await _bridged(request, ctx, current, merged)

    return await common.serve(request, prepared, attempt)


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
) -> web.StreamResponse | common.Primed:
    clock = request.app[clock_key]
    out = dict(body)
    out["model"] = target.backend.model
    options = body.get("stream_options") or {}
    # Ask OpenAI-run backends for the usage chunk even when the caller did not, so token metrics are
    # complete; the chunk is then kept from the caller. (Other servers may refuse `stream_options`.)
    hide_usage = ctx.stream and not options.get("include_usage") and target.backend.provider in _USAGE_PROVIDERS
    if hide_usage:
        out["stream_options"] = {**options, "include_usage": True}
    resp, started = await common.send(request, target, "chat", out)
    if not ctx.stream or not common.is_sse(resp):
        data, parsed = await common.read_json(request, resp, started)
        common.record_chat_usage(ctx, parsed.get("usage"))
        ctx.first_token_at = clock()
        if ctx.stream:  # the upstream ignored `stream`: give the caller the stream it asked for
            frames = b"".join(encode_json_frame(chunk) for chunk in completion_to_chunks(parsed))
            return web.Response(body=frames + DONE_FRAME, headers=common.SSE_HEADERS)
        return web.Response(body=data, content_type="application/json")
    events = common.events_of(request, resp, started)
    head: list[bytes] = []
    state = {"started": False, "done": False}

    def absorb(batch: list[Any]) -> list[bytes]:
        frames: list[bytes] = []
        for event in batch:
            if event.data == "[DONE]":
                state["done"] = True
                continue
            chunk = _parse(event.data)
            if chunk is None:
                raise common.StreamBroken(_BAD_EVENT, frames)
            if chunk.get("error"):
                raise common.StreamBroken(bridge.error_from_event(chunk), frames)
            if not state["started"] and _has_content(chunk):
                state["started"] = True
                ctx.first_token_at = clock()
            if chunk.get("usage"):
                common.record_chat_usage(ctx, chunk["usage"])
                if hide_usage and not chunk.get("choices"):
                    continue
            frames.append(b"data: " + event.data.encode() + b"\n\n")
        return frames

    broken: list[common.StreamBroken] = []
    try:
        while not state["started"] and not state["done"] and not events.eof:
            head.extend(absorb(await events.next_batch()))
        if not state["done"] and events.eof and not state["started"]:
            raise failure_from_chat_error(bridge.stream_truncated_error())
    except common.StreamBroken as exc:
        if not state["started"]:
            resp.close()
            raise failure_from_chat_error(exc.error) from None
        broken.append(exc)
    except UpstreamFailure:
        resp.close()
        raise

    async def rest() -> AsyncGenerator[bytes, None]:
        try:
            if broken:
                raise broken[0]
            while not state["done"] and not events.eof:
                frames = absorb(await events.next_batch())
                if frames:
                    yield b"".join(frames)
            if not state["done"]:
                yield encode_json_frame(bridge.stream_truncated_error().body())
        except common.StreamBroken as exc:
            ctx.error_code = exc.error.code or exc.error.type
            yield b"".join([*exc.frames, encode_json_frame(exc.error.body())])
        except UpstreamFailure as failure:
            ctx.error_code = failure.error.code
            yield encode_json_frame(failure.error.body())
        yield DONE_FRAME

    if state["done"] and not broken:
        return common.finished_stream(resp, [*head, DONE_FRAME])
    return common.Primed(resp, head, rest())


# ---------------------------------------------------------------- Responses bridge


def _record_fold(ctx: RequestContext, recovery: Any) -> None:
    source = getattr(recovery, "source", None)
    if source:
        ctx.recovery_source = source
    if getattr(recovery, "unrecoverable", False):
        ctx.unrecoverable = True


async def _bridged(
    request: web.Request, ctx: RequestContext, target: RouteTarget, body: dict[str, Any]
) -> web.StreamResponse | common.Primed:
    clock = request.app[clock_key]
    backend = target.backend
    try:
        upstream_body = bridge.to_responses_request(body, upstream_model=backend.model, provider=backend.provider)
    except bridge.BridgeRequestError as exc:
        raise common.bridge_request_failure(exc) from None
    resp, started = await common.send(request, target, "responses", upstream_body)
    model = backend.model
    if not common.is_sse(resp):
        _, parsed = await common.read_json(request, resp, started)
        result = bridge.chat_completion_from_response(parsed, model=model)
        return _folded_reply(ctx, result, clock())
    events = common.events_of(request, resp, started)
    if not ctx.stream:
        collected: list[dict[str, Any]] = []
        await common.read_all_events(resp, events, collected.append)
        result = bridge.fold_chat_completion(collected, model=model)
        return _folded_reply(ctx, result, clock())
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    translator = bridge.ResponsesToChatStream(model=model, include_usage=include_usage)

    def absorb(batch: list[Any]) -> list[bytes]:
        # The hot loop of bridged streams: orjson and the translator, nothing else per event.
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
                raise common.StreamBroken(_BAD_EVENT, frames)
            was_started = translator.started
            for chunk in feed(payload):
                append(b"data: " + _dumps(chunk) + b"\n\n")
            if not was_started and translator.started:
                ctx.first_token_at = clock()
        return frames

    head: list[bytes] = []
    broken: list[common.StreamBroken] = []
    try:
        while not translator.started and not translator.done and not events.eof:
            head.extend(absorb(await events.next_batch()))
        if events.eof and not translator.done:
            head.extend(encode_json_frame(chunk) for chunk in translator.finish())
        if translator.error is not None and not translator.started:
            raise failure_from_chat_error(translator.error)
    except common.StreamBroken as exc:
        if not translator.started:
            resp.close()
            raise failure_from_chat_error(exc.error) from None
        broken.append(exc)
    except UpstreamFailure:
        resp.close()
        raise

    def settle() -> None:
        common.record_chat_usage(ctx, translator.usage)
        _record_fold(ctx, translator.recovery)
        if translator.error is not None:
            ctx.error_code = translator.error.code or translator.error.type

    async def rest() -> AsyncGenerator[bytes, None]:
        try:
            if broken:
                raise broken[0]
            while not translator.done and not events.eof:
                frames = absorb(await events.next_batch())
                if frames:
                    yield b"".join(frames)
            if not translator.done:
                tail = translator.finish()
                if tail:
                    yield b"".join(encode_json_frame(chunk) for chunk in tail)
        except common.StreamBroken as exc:
            ctx.error_code = exc.error.code or exc.error.type
            yield b"".join([*exc.frames, encode_json_frame(exc.error.body())])
        except UpstreamFailure as failure:
            ctx.error_code = failure.error.code
            yield encode_json_frame(failure.error.body())
        settle()
        yield DONE_FRAME

    if (translator.done or events.eof) and not broken:
        settle()
        return common.finished_stream(resp, [*head, DONE_FRAME])
    return common.Primed(resp, head, rest())


def _folded_reply(ctx: RequestContext, result: Any, now: float) -> web.StreamResponse:
    """A folded (non-stream or JSON) bridge result → the chat answer (as JSON, or as SSE chunks)."""
    _record_fold(ctx, result.recovery)
    if result.error is not None:
        raise failure_from_chat_error(result.error)
    completion = result.completion
    if completion is None:  # pragma: no cover - the bridge always sets one of the two
        raise UpstreamFailure(error_from_chat_error(common.NOT_JSON), retryable=True)
    common.record_chat_usage(ctx, result.usage)
    ctx.first_token_at = now
    if not ctx.stream:
        return web.Response(body=orjson.dumps(completion), content_type="application/json")
    return web.Response(
        body=b"".join(encode_json_frame(chunk) for chunk in completion_to_chunks(completion)) + DONE_FRAME,
        headers=common.SSE_HEADERS,
    )


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
