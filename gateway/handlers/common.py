"""Helpers shared by the model endpoints: body reading, alias resolution, settings, SSE and usage."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from gateway.context import RequestContext
from gateway.errors import (
    BodyTooLargeError,
    NotReadyError,
    PermissionDeniedError,
    UnknownAliasError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from gateway.keys import clock_key, context_key, settings_key, table_holder_key
from gateway.routing.loading import CompiledTable, RouteTarget
from gateway.sse import SSEDecoder, SSEEvent
from gateway.upstream import UpstreamFailure
from gateway.validation import parse_json_object

__all__ = [
    "UpstreamEvents",
    "apply_route_settings",
    "read_body",
    "record_chat_usage",
    "resolve",
    "start_sse",
]

SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


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
    """The current table and the alias's target; 404 names only the requested alias."""
    table = request.app[table_holder_key].current
    if table is None:
        raise NotReadyError("The gateway has not loaded a routing table yet.")
    ctx = request[context_key]
    target = table.get(alias)
    if target is None:
        raise UnknownAliasError(f"The model '{alias}' does not exist or you do not have access to it.", param="model")
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


async def start_sse(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(status=200, headers=SSE_HEADERS)
    await response.prepare(request)
    return response


class UpstreamEvents:
    """SSE events from an upstream response, counting the time spent waiting on it."""

    __slots__ = ("_clock", "_ctx", "_decoder", "_resp", "eof")

    def __init__(self, resp: aiohttp.ClientResponse, request: web.Request) -> None:
        self._resp = resp
        self._ctx: RequestContext = request[context_key]
        self._clock = request.app[clock_key]
        self._decoder = SSEDecoder()
        self.eof = False

    async def next_batch(self) -> list[SSEEvent]:
        """The events of the next upstream chunk; sets ``eof`` at the end. Raises UpstreamFailure on I/O errors."""
        started = self._clock()
        try:
            chunk = await self._resp.content.readany()
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


async def pump(request: web.Request, ctx: RequestContext, primed: Primed) -> web.StreamResponse:
    """Commit the SSE response and copy the rest; a vanished client closes the upstream (stop paying)."""
    response = await start_sse(request)
    try:
        try:
            if primed.head:
                await response.write(b"".join(primed.head))
            async for frames in primed.rest:
                await response.write(frames)
        except ConnectionResetError:
            ctx.disconnected = True
            primed.resp.close()
            raise
        await response.write_eof()
    finally:
        await primed.rest.aclose()
        primed.resp.release()
    return response
