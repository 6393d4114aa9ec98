"""Reading a model request's body within its limits: size, time, and the process's in-flight body budget.

The body is read chunk by chunk into one buffer (no extra copy for the parser), refused with 413 as
soon as it is known to exceed ``--max-body-bytes``, with 408 when it does not arrive within
``--body-read-timeout-seconds``, and with 503 when the bytes it needs would take the requests in
flight past ``--max-inflight-body-bytes``. The bytes stay reserved until the request has ended (its
parsed body lives that long, for retries and fallbacks).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from gateway.errors import BodyTooLargeError, InvalidRequestError, OverloadedError, RequestTimeoutError
from gateway.handlers.validation import parse_json_object
from gateway.keys import body_budget_key, metrics_key, settings_key
from gateway.limits import BodyBudget

__all__ = ["read_json_body"]

RETRY_AFTER_SECONDS = 1.0


def _too_large(limit: int) -> BodyTooLargeError:
    return BodyTooLargeError(f"The request body exceeds the limit of {limit} bytes.")


def _overloaded(request: web.Request) -> OverloadedError:
    request.app[metrics_key].body_budget_rejections.inc()
    return OverloadedError(
        "The gateway is holding as many request bodies as it may; retry shortly.", retry_after=RETRY_AFTER_SECONDS
    )


class _Hold:
    """The bytes one request reserved; given back when the request's task ends, however it ends."""

    __slots__ = ("budget", "size")

    def __init__(self, budget: BodyBudget) -> None:
        self.budget = budget
        self.size = 0
        task = asyncio.current_task()
        assert task is not None
        task.add_done_callback(self._release)

    def take(self, size: int) -> bool:
        if not self.budget.reserve(size):
            return False
        self.size += size
        return True

    def _release(self, _: object) -> None:
        self.budget.release(self.size)
        self.size = 0


async def read_json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object body (see the module doc for the limits and their answers)."""
    settings = request.app[settings_key]
    limit = settings.max_body_bytes
    declared = request.content_length
    if declared is not None and declared > limit:
        raise _too_large(limit)
    hold = _Hold(request.app[body_budget_key])
    if declared is not None and not hold.take(declared):
        raise _overloaded(request)
    content = request.content
    if declared is not None and content.is_eof():
        # The whole body came with the headers (the usual case): nothing to wait for, no timer to arm.
        try:
            whole = content.read_nowait(-1)
        except HttpProcessingError:
            raise InvalidRequestError("The request body is malformed (chunked framing or length).") from None
        if len(whole) > limit:
            raise _too_large(limit)
        return parse_json_object(whole)
    buffer = bytearray()
    timeout = settings.body_read_timeout_seconds or None
    try:
        async with asyncio.timeout(timeout):
            while chunk := await request.content.readany():
                if len(buffer) + len(chunk) > limit:
                    raise _too_large(limit)
                if declared is None and not hold.take(len(chunk)):
                    raise _overloaded(request)
                buffer += chunk
    except TimeoutError:
        request.app[metrics_key].read_timeouts("body").inc()
        # Read no more of it: parse nothing further on this connection and skip aiohttp's lingering read,
        # so the connection closes right after the 408 instead of feeding the slow client for 10 s more.
        request.protocol.close()
        request.content.feed_eof()
        raise RequestTimeoutError(
            f"The request body did not arrive within {settings.body_read_timeout_seconds:g} seconds."
        ) from None
    except HttpProcessingError:
        raise InvalidRequestError("The request body is malformed (chunked framing or length).") from None
    return parse_json_object(buffer)
