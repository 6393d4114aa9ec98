"""Reading an upstream answer: its whole JSON body, or its SSE events batch by batch.

Needs no `web.Request`: the time spent waiting is added to any :class:`UpstreamTime` (the request context for
live traffic, a throwaway for the prober), and the clock is passed in. Read errors become retryable
:class:`~gateway.upstream.failures.UpstreamFailure` s (504 for timeouts, 502 otherwise); garbage becomes
``BAD_EVENT`` / ``NOT_JSON``. The handlers' relay and the prober both read streams through
:class:`UpstreamEvents`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

import aiohttp
import orjson

from gateway.bridge.errors import ChatError
from gateway.errors import UpstreamTimeoutError, UpstreamUnavailableError
from gateway.sse import SSEDecoder, SSEEvent
from gateway.upstream.answers import UpstreamAnswer
from gateway.upstream.failures import UpstreamFailure, failure_from_chat_error
from gateway.upstream.scrubbing import CredentialScrubber

__all__ = [
    "BAD_EVENT",
    "EMPTY_ANSWER",
    "NOT_JSON",
    "UpstreamEvents",
    "UpstreamTime",
    "is_sse",
    "parse_object",
    "read_all_events",
    "read_failure",
    "read_json",
]

BAD_EVENT = ChatError(502, "The upstream sent a malformed stream event.", "server_error", None, "bad_upstream_event")
NOT_JSON = ChatError(502, "The upstream sent a malformed JSON answer.", "server_error", None, "bad_upstream_body")
EMPTY_ANSWER = ChatError(
    502,
    "The upstream completed its answer with no output, and nothing in its stream could rebuild one.",
    "server_error",
    None,
    "empty_upstream_response",
)
"""An answer that says it completed but carries nothing (the bridge's recovery found nothing to rebuild): a
failed attempt like any bad answer (retried, then a fallback), never an empty success."""


class UpstreamTime(Protocol):
    """Where the time spent awaiting the upstream is added up (``RequestContext`` is one)."""

    upstream_seconds: float


def parse_object(data: str | bytes) -> dict[str, Any] | None:
    """A JSON object, or None for anything else (bad JSON, another type, nothing)."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def is_sse(resp: UpstreamAnswer) -> bool:
    return resp.content_type == "text/event-stream"


def read_failure(exc: BaseException) -> UpstreamFailure:
    """A failed upstream body read → a retryable failure (504 for timeouts, 502 otherwise)."""
    if isinstance(exc, TimeoutError):
        return UpstreamFailure(UpstreamTimeoutError("The upstream did not finish its answer in time."), retryable=True)
    return UpstreamFailure(
        UpstreamUnavailableError(f"The upstream answer broke off ({type(exc).__name__})."), retryable=True
    )


async def read_json(
    resp: UpstreamAnswer,
    waited: UpstreamTime,
    clock: Callable[[], float],
    started: float,
    scrubber: CredentialScrubber | None = None,
) -> tuple[bytes, dict[str, Any]]:
    """The whole JSON answer (raw and parsed), counting the wait since ``started``; the connection is released.
    With a ``scrubber``, known credential values are masked before anything is parsed or relayed."""
    try:
        data = await resp.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise read_failure(exc) from None
    finally:
        waited.upstream_seconds += clock() - started
        resp.release()
    if scrubber is not None:
        data = scrubber.scrub_bytes(data)
    parsed = parse_object(data)
    if parsed is None:
        raise failure_from_chat_error(NOT_JSON)
    return data, parsed


class UpstreamEvents:
    """SSE events from an upstream response, counting the time spent waiting on it."""

    __slots__ = ("_clock", "_decoder", "_resp", "_scrubber", "_waited", "eof", "keepalive_seconds")

    def __init__(
        self,
        resp: UpstreamAnswer,
        waited: UpstreamTime,
        clock: Callable[[], float],
        *,
        keepalive_seconds: float = 0.0,
        scrubber: CredentialScrubber | None = None,
    ) -> None:
        self._resp = resp
        self._scrubber = scrubber
        self._waited = waited
        self._clock = clock
        self._decoder = SSEDecoder()
        self.eof = False
        self.keepalive_seconds = keepalive_seconds
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
            self._waited.upstream_seconds += self._clock() - started
        if not chunk:
            self.eof = True
            events = self._decoder.close()
        else:
            events = self._decoder.feed(chunk)
        return events if self._scrubber is None else self._scrubber.scrub_events(events)


async def read_all_events(
    resp: UpstreamAnswer, events: UpstreamEvents, feed: Callable[[dict[str, Any]], object]
) -> None:
    """Feed every event payload of a stream to ``feed`` (for folding it into one answer); releases the connection."""
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
