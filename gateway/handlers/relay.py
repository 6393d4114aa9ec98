"""Priming and relaying an upstream SSE stream, the same for every streaming path.

A stream is read until its first content (or its end) before the client's response starts, so an
early failure can still be retried, fall back, or become a plain HTTP error; after that, failures
become an in-stream error frame. What the frames look like is the endpoint's business: each path
supplies a :class:`Relay` (chat pass-through, chat over the Responses bridge, Responses pass-through).
:func:`respond` then answers with the attempt's outcome: a whole response as it is, a primed stream as SSE.

Reasoning models can think for minutes before their first content, and proxies cut idle connections
(60 s is a common default). So priming lasts at most ``--sse-keepalive-seconds``: then the response
starts with what it has, and every silence that long gets a ``: keepalive`` SSE comment, which clients
ignore (spec §3.5). A failure after that point is an in-stream error frame, as after content.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Protocol, TypeAlias

import structlog
from aiohttp import web

from gateway import bridge
from gateway.bridge.errors import ChatError
from gateway.context import RequestContext
from gateway.crashes import crash_fields
from gateway.errors import GatewayError, ShuttingDownError
from gateway.keys import draining_key
from gateway.sse import SSEEvent
from gateway.upstream.answers import UpstreamAnswer
from gateway.upstream.failures import UpstreamFailure, failure_from_chat_error
from gateway.upstream.reading import UpstreamEvents

__all__ = [
    "KEEPALIVE",
    "SSE_HEADERS",
    "MarkedRelay",
    "Outcome",
    "Primed",
    "Relay",
    "StreamBroken",
    "finished_stream",
    "prime",
    "respond",
]

_log = structlog.get_logger("gateway.requests")

KEEPALIVE = b": keepalive\n\n"
"""An SSE comment: bytes on the wire for proxies' idle timers, ignored by every SSE client."""
SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class StreamBroken(Exception):
    """The upstream stream went bad; ``frames`` are what the same batch produced before that."""

    def __init__(self, error: ChatError, frames: list[bytes]) -> None:
        super().__init__(error.message)
        self.error = error
        self.frames = frames


@dataclass(slots=True)
class Primed:
    """An upstream stream read up to its first content: frames to send first, then the rest (and the relay
    that makes them, for a frame the gateway adds itself)."""

    resp: UpstreamAnswer
    head: list[bytes]
    rest: AsyncGenerator[bytes, None]
    relay: Relay


Outcome: TypeAlias = "web.StreamResponse | Primed"
"""What one attempt produced: a whole response, or a stream primed up to its first content."""


class Relay(Protocol):
    """One endpoint's translation of upstream events into client frames."""

    @property
    def started(self) -> bool:
        """Content has reached the frames (from here on, nothing is retried)."""

    @property
    def done(self) -> bool:
        """The upstream's terminal event was seen."""

    @property
    def closing(self) -> bytes:
        """Sent after everything else (``[DONE]`` for chat, nothing for Responses)."""

    def absorb(self, batch: list[SSEEvent]) -> list[bytes]:
        """Client frames for a batch of upstream events; raises StreamBroken on a bad event."""

    def after_priming(self, eof: bool) -> list[bytes]:
        """More head frames once priming stops; raises UpstreamFailure if the stream failed unstarted."""

    def finished(self, eof: bool) -> bool:
        """Whether priming read the whole answer (it is then sent in one body)."""

    def tail(self) -> bytes:
        """Frames for an upstream that ended, after content, without its terminal event."""

    def error_frame(self, error: ChatError | GatewayError) -> bytes:
        """The in-stream frame for a failure after the response started."""

    def error_code(self, error: ChatError) -> str | None:
        """The ``error_code`` logged for a bad event after the response started."""

    def settle(self) -> None:
        """Record what the whole stream said (usage, recovery) once it is over."""


class MarkedRelay:
    """A relay that marks ``started``/``done`` itself; an end before any content is a truncated stream."""

    __slots__ = ("done", "started")

    def __init__(self) -> None:
        self.started = False
        self.done = False

    def after_priming(self, eof: bool) -> list[bytes]:
        if eof and not self.done and not self.started:
            raise failure_from_chat_error(bridge.stream_truncated_error())
        return []

    def finished(self, eof: bool) -> bool:
        return self.done


async def prime(
    ctx: RequestContext, resp: UpstreamAnswer, events: UpstreamEvents, relay: Relay
) -> web.StreamResponse | Primed:
    """Read up to the first content; the whole answer if it was that short, else the head and the rest."""
    head: list[bytes] = []
    broken: StreamBroken | None = None
    window = events.keepalive_seconds or None
    loop = asyncio.get_running_loop()
    deadline = None if window is None else loop.time() + window
    try:
        while not relay.started and not relay.done and not events.eof:
            if deadline is None:
                batch: list[SSEEvent] | None = await events.next_batch()
            else:
                batch = await events.next_batch_within(max(0.0, deadline - loop.time()))
            if batch is None:  # a long silence before any content: start the response, keep it alive
                head.append(KEEPALIVE)
                break
            head.extend(relay.absorb(batch))
        head.extend(relay.after_priming(events.eof))
    except StreamBroken as exc:
        if not relay.started:
            resp.close()
            raise failure_from_chat_error(exc.error) from None
        broken = exc
    except (UpstreamFailure, asyncio.CancelledError):
        resp.close()
        raise
    if broken is None and relay.finished(events.eof):
        relay.settle()
        return finished_stream(resp, [*head, relay.closing])
    return Primed(resp, head, _rest(ctx, events, relay, broken), relay)


async def _rest(
    ctx: RequestContext, events: UpstreamEvents, relay: Relay, broken: StreamBroken | None
) -> AsyncGenerator[bytes, None]:
    window = events.keepalive_seconds or None
    try:
        if broken is not None:
            raise broken
        while not relay.done and not events.eof:
            batch = await events.next_batch_within(window)
            if batch is None:
                yield KEEPALIVE
                continue
            frames = relay.absorb(batch)
            if frames:
                yield b"".join(frames)
        if not relay.done:
            tail = relay.tail()
            if tail:
                yield tail
    except StreamBroken as exc:
        ctx.error_code = relay.error_code(exc.error)
        yield b"".join([*exc.frames, relay.error_frame(exc.error)])
    except UpstreamFailure as failure:
        ctx.error_code = failure.error.code or failure.error.type
        yield relay.error_frame(failure.error)
    relay.settle()
    if relay.closing:
        yield relay.closing


def finished_stream(resp: UpstreamAnswer, frames: list[bytes]) -> web.Response:
    """The whole stream arrived while priming: answer it in one body (no chunked framing, one write)."""
    resp.release()
    return web.Response(body=b"".join(frames), headers=SSE_HEADERS)


async def respond(request: web.Request, ctx: RequestContext, outcome: Outcome) -> web.StreamResponse:
    """Answer with ``outcome``: a whole response as it is; a primed stream is committed as SSE and copied on.

    However the copy ends, the stream ends properly or the client is gone: a vanished client (a failed
    write, or aiohttp cancelling the handler) closes the upstream (stop paying) and is recorded, never
    raised into aiohttp as an error; the shutdown's cut gets an error frame and the closing frame; a bug
    gets an ``internal_error`` frame.
    """
    if isinstance(outcome, web.StreamResponse):
        return outcome
    response = web.StreamResponse(status=200, headers=SSE_HEADERS)
    copy = _Copy(response)
    try:
        await response.prepare(request)
        if outcome.head:
            await copy.write(b"".join(outcome.head))
        async for frames in outcome.rest:
            await copy.write(frames)
        copy.ending = True
        await response.write_eof()
    except asyncio.CancelledError:
        outcome.resp.close()
        if not request.app[draining_key].take_cut():
            ctx.disconnected = True
            raise
        await _cut(copy, ctx, outcome.relay)
    except ConnectionResetError:
        outcome.resp.close()
        ctx.disconnected = True
    except Exception as exc:
        outcome.resp.close()
        if not response.prepared:
            raise  # nothing sent yet: the middleware answers a plain 500
        _log.error("stream_crashed", request_id=ctx.request_id, **crash_fields(exc))
        ctx.error_code = "internal_error"
        error = GatewayError("The gateway failed to relay the answer.")
        await copy.end(ctx, outcome.relay.error_frame(error) + outcome.relay.closing)
    finally:
        await outcome.rest.aclose()
        outcome.resp.release()
    return response


class _Copy:
    """The client's side of a relayed stream: what was written last, and whether the body is ending."""

    __slots__ = ("ending", "last", "response")

    def __init__(self, response: web.StreamResponse) -> None:
        self.response = response
        self.last = b""
        self.ending = False

    async def write(self, frames: bytes) -> None:
        self.last = frames  # aiohttp hands the bytes to the transport before it awaits anything
        await self.response.write(frames)

    async def end(self, ctx: RequestContext, frames: bytes) -> None:
        """Write the frames the gateway adds at the end, then end the body (unless it is already ending)."""
        if self.ending or not self.response.prepared:
            return
        self.ending = True
        try:
            if frames:
                await self.response.write(frames)
            await self.response.write_eof()
        except ConnectionResetError:
            ctx.disconnected = True


async def _cut(copy: _Copy, ctx: RequestContext, relay: Relay) -> None:
    """The shutdown's grace ran out mid-stream: an answer that was complete gets only its missing closing
    frame; any other gets the ``server_shutting_down`` error frame and the closing frame, and counts as cut."""
    closing = relay.closing
    if not copy.response.prepared:  # cut before the first byte: the middleware answers a plain 503
        ctx.shutdown_cut = True
        raise ShuttingDownError("The gateway is shutting down; retry the request.")
    if relay.done:
        await copy.end(ctx, closing if closing and not copy.last.endswith(closing) else b"")
        return
    relay.settle()
    error = ShuttingDownError("The gateway is shutting down; the answer was cut off before it ended.")
    ctx.shutdown_cut = True
    ctx.error_code = error.code
    await copy.end(ctx, relay.error_frame(error) + closing)
