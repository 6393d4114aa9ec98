"""The public port's connection layer: a connection cap, a header read timeout, and aiohttp's own errors in the
OpenAI envelope.

aiohttp answers malformed HTTP (a header line over 8 KiB, bad chunked framing, both ``Content-Length``
and ``Transfer-Encoding``) itself, as ``text/plain`` with the parser's message (which quotes the
client's bytes), and logs it with a traceback; it never times out a client that sends its headers
slowly, and it accepts any number of connections. :class:`GuardedAppRunner` runs an app with a
:class:`GuardedRequestHandler` per connection instead, which:

- answers the connection over ``max_connections`` with a canned ``503`` (OpenAI envelope,
  ``Retry-After: 1``) and closes it before any request is read;
- closes a connection whose request headers are not complete ``header_timeout`` seconds after it
  opened, or after the first byte of a later request on a kept-alive connection (``408`` first);
- answers every parser error with a JSON envelope (``400``, ``code`` naming the cause) and logs one
  ``bad_http_request`` line without the parser's message.

What aiohttp does not let this layer change: the status line of those parser-error answers says
``HTTP/1.0`` (aiohttp builds the placeholder request for them as HTTP/1.0), and a connection
rejected at the cap is accepted by the kernel first (the ``503`` is written to it, then it is closed).

This module reaches into aiohttp's ``RequestHandler`` (``_messages``, ``_request_in_progress``,
``_force_close``): aiohttp is pinned below 4 and ``tests/gateway/test_connection_limits.py`` breaks
if those change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import orjson
import structlog
from aiohttp import http_exceptions, web, web_protocol, web_request, web_server

from gateway.errors import error_body

__all__ = ["ConnectionGuard", "GuardedAppRunner", "GuardedRequestHandler", "GuardedServer"]

_log = structlog.get_logger("gateway.connections")


@dataclass(slots=True)
class ConnectionGuard:
    """The limits of one port and the hooks that count what they did (metrics, in the app)."""

    max_connections: int
    header_timeout: float
    on_open: Callable[[int], None] = lambda _open: None
    """Called with the number of open connections whenever it changes."""
    on_rejected: Callable[[], None] = lambda: None
    on_header_timeout: Callable[[], None] = lambda: None
    on_bad_request: Callable[[str], None] = lambda _code: None


def _canned(status: int, reason: str, message: str, code: str, error_type: str, retry_after: bool = False) -> bytes:
    """A whole HTTP answer, written straight to a transport that has no request to answer through."""
    body = orjson.dumps(error_body(message=message, error_type=error_type, param=None, code=code))
    lines = [f"HTTP/1.1 {status} {reason}", "Content-Type: application/json", f"Content-Length: {len(body)}"]
    if retry_after:
        lines.append("Retry-After: 1")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


_AT_CAPACITY = _canned(
    503, "Service Unavailable", "The gateway has too many open connections; retry shortly.",
    "too_many_connections", "server_error", retry_after=True,
)  # fmt: skip
_HEADER_TIMEOUT = _canned(
    408, "Request Timeout", "The request headers did not arrive in time.", "request_timeout", "invalid_request_error"
)

# Parser errors → (code, message). aiohttp's C parser raises BadHttpMessage("<llhttp reason>:\n\n  <the client's
# bytes>"): the reason (a fixed llhttp string) picks the code; the quoted bytes are never used.
_BY_CLASS: tuple[tuple[type[Exception], str, str], ...] = (
    (http_exceptions.LineTooLong, "header_too_large", "A request line or header is too long."),
    (http_exceptions.TransferEncodingError, "bad_transfer_encoding", "The chunked request body is malformed."),
    (http_exceptions.ContentLengthError, "bad_content_length", "The request body does not match its length."),
    (http_exceptions.BadStatusLine, "bad_request_line", "The request line is malformed."),
    (http_exceptions.InvalidURLError, "bad_request_line", "The request target is malformed."),
)
_BY_REASON: tuple[tuple[str, str, str], ...] = (
    ("too many headers", "header_too_large", "The request has too many headers."),
    ("can't be present with", "conflicting_lengths", "The request has both Content-Length and Transfer-Encoding."),
    ("chunk", "bad_transfer_encoding", "The chunked request body is malformed."),
    ("transfer-encoding", "bad_transfer_encoding", "The Transfer-Encoding header is malformed."),
    ("content-length", "bad_content_length", "The Content-Length header is malformed or repeated."),
    ("header", "bad_header", "A request header is malformed."),
    ("method", "bad_request_line", "The request line is malformed."),
    ("url", "bad_request_line", "The request target is malformed."),
    ("version", "bad_request_line", "The request line is malformed."),
)
_MALFORMED = ("malformed_http_request", "The HTTP request is malformed.")


def _classify(exc: BaseException | None) -> tuple[str, str]:
    """``(code, message)`` for a parser error; the message is ours, never the parser's quote of the request."""
    for kind, code, message in _BY_CLASS:
        if isinstance(exc, kind):
            return code, message
    reason = str(getattr(exc, "message", "") or "").split(":\n", 1)[0].lower()
    for needle, code, message in _BY_REASON:
        if needle in reason:
            return code, message
    return _MALFORMED


class GuardedRequestHandler(web_protocol.RequestHandler):
    """aiohttp's per-connection protocol with the guard's cap, header deadline and JSON error answers."""

    def __init__(self, manager: GuardedServer, *, loop: asyncio.AbstractEventLoop, **kwargs: Any) -> None:
        super().__init__(manager, loop=loop, **kwargs)
        self._guard = manager.guard
        self._header_deadline: asyncio.TimerHandle | None = None
        self._rejected = False

    # ------------------------------------------------------------------ connection cap

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        server = self._guarded_server
        if server is not None and server.open_connections >= self._guard.max_connections:
            self._rejected = True
            self._guard.on_rejected()
            writable = cast(asyncio.Transport, transport)  # uvloop's transports are no asyncio.Transport subclasses
            writable.write(_AT_CAPACITY)
            writable.close()
            return
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm_header_deadline()
        if self._rejected:
            return
        super().connection_lost(exc)

    @property
    def _guarded_server(self) -> GuardedServer | None:
        manager = self._manager
        return manager if isinstance(manager, GuardedServer) else None

    # ------------------------------------------------------------------ header deadline

    def data_received(self, data: bytes) -> None:
        queued = len(self._messages)
        super().data_received(data)
        if len(self._messages) > queued:
            self._fail_body_on_parser_error()
        if self._force_close or self._close:
            self._disarm_header_deadline()
        elif self._messages or self._request_in_progress:
            self._disarm_header_deadline()  # headers complete: the handler's body deadline takes over
        elif data and self._header_deadline is None:
            self._arm_header_deadline()  # the first bytes of a request on a kept-alive connection

    def _fail_body_on_parser_error(self) -> None:
        """A framing error in a body being read (a bad chunk after the headers) becomes that read's error.

        aiohttp queues such an error as a next "request" and leaves the handler waiting for the rest of
        the body; here the handler's read fails at once (→ 400 in the envelope) and the connection closes
        after that answer instead of answering twice."""
        request = self._current_request
        info, _ = self._messages[-1]
        if request is None or not isinstance(info, web_protocol._ErrInfo) or request.content.is_eof():
            return
        self._messages.pop()
        request.content.set_exception(info.exc if info.exc is not None else http_exceptions.BadHttpMessage(""))
        request.content.feed_eof()
        self.close()

    def _arm_header_deadline(self) -> None:
        if self._guard.header_timeout > 0 and self._header_deadline is None:
            self._header_deadline = self._loop.call_later(self._guard.header_timeout, self._headers_too_slow)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self._messages or self._request_in_progress or self.transport is None:
            return
        self._guard.on_header_timeout()
        _log.info("request_header_timeout", seconds=self._guard.header_timeout)
        self.transport.write(_HEADER_TIMEOUT)
        self.force_close()

    # ------------------------------------------------------------------ aiohttp's own error answers

    def handle_error(
        self,
        request: web_request.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:
            raise ConnectionError("Response is sent already, cannot send another response with the error message")
        if isinstance(exc, ConnectionError):  # the client went away mid-request: nobody to answer, nothing to fix
            code, text, error_type = "client_closed", "The connection was closed.", "invalid_request_error"
            _log.debug("client_connection_lost", error=type(exc).__name__)
        elif status >= 500:
            code, text, error_type = "internal_error", "The gateway failed to process the request.", "server_error"
            _log.error("request_failed_in_server", status=status, exc_info=exc)
        else:
            code, text = _classify(exc)
            error_type = "invalid_request_error"
            # The parser's own message quotes the client's bytes: only the class and our code are logged.
            _log.info("bad_http_request", status=status, code=code, error=type(exc).__name__ if exc else None)
            self._guard.on_bad_request(code)
        body = orjson.dumps(error_body(message=text, error_type=error_type, param=None, code=code))
        response = web.Response(status=status, body=body, content_type="application/json")
        response.force_close()
        return response


class GuardedServer(web_server.Server):
    """aiohttp's low-level server, making :class:`GuardedRequestHandler` protocols and counting connections."""

    def __init__(
        self,
        handler: Any,
        *,
        guard: ConnectionGuard,
        request_factory: Any = None,
        handler_cancellation: bool = False,
        loop: asyncio.AbstractEventLoop | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            handler, request_factory=request_factory, handler_cancellation=handler_cancellation, loop=loop, **kwargs
        )
        self.guard = guard
        self._handler_kwargs = kwargs
        """What every connection's protocol is built with (timeouts, limits, loggers)."""
        self._open: set[web_protocol.RequestHandler] = set()
        """Connections whose transport is open (aiohttp's own list keeps them until their task ends)."""

    @property
    def open_connections(self) -> int:
        return len(self._open)

    def connection_made(self, handler: web_protocol.RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        self._open.add(handler)
        self.guard.on_open(len(self._open))

    def connection_lost(self, handler: web_protocol.RequestHandler, exc: BaseException | None = None) -> None:
        super().connection_lost(handler, exc)
        self._open.discard(handler)
        self.guard.on_open(len(self._open))

    def __call__(self) -> GuardedRequestHandler:
        return GuardedRequestHandler(self, loop=self._loop, **self._handler_kwargs)


class GuardedAppRunner(web.AppRunner):
    """``web.AppRunner`` whose server is a :class:`GuardedServer`."""

    def __init__(self, app: web.Application, *, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._guard = guard

    async def _make_server(self) -> web_server.Server:
        plain = await super()._make_server()  # runs the app's startup and freezes it
        return GuardedServer(
            plain.request_handler,
            guard=self._guard,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=asyncio.get_running_loop(),
            **plain._kwargs,  # the protocol options aiohttp assembled (debug, access log, handler_args)
        )
