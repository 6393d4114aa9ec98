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

from aiohttp import web

from gateway import bridge
from gateway.bridge.errors import ChatError
from gateway.context import RequestContext
from gateway.errors import GatewayError
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
    """An upstream stream read up to its first content: frames to send first, then the rest."""

    resp: UpstreamAnswer
    head: list[bytes]
    rest: AsyncGenerator[bytes, None]


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
    except UpstreamFailure:
        resp.close()
        raise
    if broken is None and relay.finished(events.eof):
        relay.settle()
        return finished_stream(resp, [*head, relay.closing])
    return Primed(resp, head, _rest(ctx, events, relay, broken))


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
        ctx.error_code = failure.error.code
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
