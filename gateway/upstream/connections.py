"""The upstream connection pool: keep-alive HTTP/1.1 connections (TLS where the URL says ``https``) and the
responses read from them, with the route's timeouts.

The interface is the part of aiohttp's client the gateway used: ``await pool.post(url, headers, body,
timeouts)`` returns an :class:`UpstreamResponse` with ``status``, ``headers``, ``content_type``,
``content.readany()`` / ``content.read(n)``, ``read()``, ``release()`` and ``close()``; failures raise the same
exception classes (``aiohttp.ClientError`` subclasses; ``TimeoutError`` for timeouts), so the callers' error
mapping is unchanged. Timeouts follow :class:`aiohttp.ClientTimeout`: ``sock_connect`` for the connection,
``sock_read`` for any silence of the upstream (head or body), ``total`` for the whole exchange until the body
is read. A body read to its end hands the connection back to the pool; a response released before that
closes its connection (its unread rest would corrupt the next answer). Wire bytes are built and parsed by
:mod:`gateway.upstream.http1`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
import zlib
from collections import deque
from typing import Any, cast

import aiohttp
from aiohttp.http import SERVER_SOFTWARE
from multidict import CIMultiDictProxy
from yarl import URL

from gateway.upstream.http1 import ChunkedDecoder, Head, HeadError, encode_request, parse_head

__all__ = ["ConnectionPool", "ResponseBody", "UpstreamResponse"]

_HIGH_WATER = 256 * 1024
"""Buffered body bytes above which the socket stops being read until the reader catches up."""
_IDLE_KEEP_SECONDS = 15.0
"""An idle pooled connection older than this is closed instead of reused (servers drop idle connections,
and a request written into one they just closed fails); aiohttp's keep-alive default."""
_ACCEPT_ENCODING = "gzip, deflate"
_DEFAULT_HEADERS = (("Accept", "*/*"), ("Accept-Encoding", _ACCEPT_ENCODING), ("User-Agent", SERVER_SOFTWARE))

PoolKey = tuple[str, str, int]


def _decompressor(encoding: str) -> Any:
    if encoding == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj(zlib.MAX_WBITS)
    return None


class ResponseBody:
    """The body of one response as it arrives: a buffer, end of body, or the error that cut it."""

    __slots__ = (
        "_chunks",
        "_connection",
        "_deadline",
        "_decompress",
        "_error",
        "_idle",
        "_size",
        "_waiter",
        "eof",
    )

    def __init__(self, connection: _Connection, *, idle: float | None, deadline: float | None) -> None:
        self._connection = connection
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._waiter: asyncio.Future[None] | None = None
        self._error: BaseException | None = None
        self._idle = idle
        self._deadline = deadline
        self._decompress: Any = None
        self.eof = False

    # ---- fed by the connection

    def feed(self, data: bytes) -> None:
        if self._decompress is not None:
            try:
                data = self._decompress.decompress(data)
            except zlib.error as exc:
                self.fail(aiohttp.ClientPayloadError(f"Cannot decode the response body: {exc}"))
                self._connection.close()
                return
            if not data:
                return
        self._chunks.append(data)
        self._size += len(data)
        if self._size > _HIGH_WATER:
            self._connection.pause()
        self._wake()

    def finish(self) -> None:
        if self._decompress is not None:
            rest = self._decompress.flush()
            if rest:
                self._chunks.append(rest)
                self._size += len(rest)
        self.eof = True
        self._wake()

    def fail(self, error: BaseException) -> None:
        if not self.eof and self._error is None:
            self._error = error
            self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # ---- read by the gateway

    async def _wait(self) -> None:
        """Until data, the end or an error; the route's idle and total timeouts apply. Cancelling the wait
        takes nothing from the buffer."""
        loop = asyncio.get_running_loop()
        connection = self._connection
        while not self._chunks and not self.eof and self._error is None:
            now = loop.time()
            limit = self._deadline
            if self._idle is not None:
                idle_end = connection.last_data + self._idle
                limit = idle_end if limit is None else min(limit, idle_end)
            waiter = loop.create_future()
            self._waiter = waiter
            handle = None if limit is None else loop.call_at(max(limit, now), _expire, waiter)
            try:
                await waiter
            finally:
                self._waiter = None
                if handle is not None:
                    handle.cancel()
            if self._chunks or self.eof or self._error is not None:
                break
            now = loop.time()
            if self._deadline is not None and now >= self._deadline:
                self.fail(TimeoutError())
                connection.close()
            elif self._idle is not None and now >= connection.last_data + self._idle:
                self.fail(aiohttp.SocketTimeoutError("Timeout on reading data from socket"))
                connection.close()

    def _take(self, limit: int) -> bytes:
        chunks = self._chunks
        if len(chunks) == 1 and len(chunks[0]) <= limit:
            data = chunks.popleft()
        else:
            joined = b"".join(chunks)
            chunks.clear()
            data, rest = joined[:limit], joined[limit:]
            if rest:
                chunks.append(rest)
        self._size -= len(data)
        if self._size <= _HIGH_WATER // 4 and not self.eof:  # after the end the connection may serve another answer
            self._connection.resume()
        return data

    async def readany(self) -> bytes:
        """What has arrived (waiting for something); ``b""`` at the end of the body."""
        return await self.read(-1)

    async def read(self, limit: int = -1) -> bytes:
        """Up to ``limit`` bytes of what has arrived (all of it for -1), waiting for something; ``b""`` at the end."""
        if not self._chunks and not self.eof and self._error is None:
            await self._wait()
        if self._chunks:
            return self._take(self._size if limit < 0 else limit)
        if self._error is not None:
            raise self._error
        return b""


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class UpstreamResponse:
    """One upstream answer: status and headers at once, the body as it arrives."""

    __slots__ = ("_connection", "content", "head")

    def __init__(self, head: Head, connection: _Connection, content: ResponseBody) -> None:
        self.head = head
        self._connection: _Connection | None = connection
        self.content = content

    @property
    def status(self) -> int:
        return self.head.status

    @property
    def reason(self) -> str:
        return self.head.reason

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        return self.head.headers

    @property
    def content_type(self) -> str:
        return self.head.content_type

    async def read(self) -> bytes:
        """The whole body (the connection goes back to the pool at its end)."""
        parts: list[bytes] = []
        while True:
            data = await self.content.readany()
            if not data:
                return b"".join(parts)
            parts.append(data)

    def release(self) -> None:
        """Done with this answer: a fully read body already gave its connection back; otherwise it is closed."""
        connection, self._connection = self._connection, None
        if connection is not None and not self.content.eof:
            connection.close()

    def close(self) -> None:
        """Drop the connection whatever was read."""
        connection, self._connection = self._connection, None
        if connection is not None and not self.content.eof:
            connection.close()


class _Connection(asyncio.Protocol):
    """One keep-alive connection: writes a request, parses the answer's head, frames its body."""

    def __init__(self, pool: ConnectionPool, key: PoolKey) -> None:
        self.pool = pool
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self.last_data = 0.0
        self._paused = False
        self._buffer = bytearray()
        self._head_waiter: asyncio.Future[UpstreamResponse] | None = None
        self._head_timer: asyncio.TimerHandle | None = None
        self._body: ResponseBody | None = None
        self._framing = ""
        self._remaining = 0
        self._chunked: ChunkedDecoder | None = None
        self._keep_alive = False
        self._idle: float | None = None
        self._deadline: float | None = None

    # ---- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio.Transport subclasses
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):  # a request goes out in one write; never hold it for an ACK
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.last_data = self.pool.loop.time()
        if self._body is not None:
            self._feed_body(data)
            return
        if self._head_waiter is None:  # bytes nobody asked for: this connection cannot be trusted again
            self.close()
            return
        self._buffer += data
        self._parse_head()

    def eof_received(self) -> bool | None:
        return None  # close the transport; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._cancel_head_timer()
        self.pool.forget(self)
        waiter = self._head_waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(
                aiohttp.ServerDisconnectedError() if exc is None else aiohttp.ClientOSError(0, str(exc))
            )
        self._head_waiter = None
        body = self._body
        if body is not None:
            if self._framing == "close" and exc is None:
                body.finish()
            else:
                body.fail(aiohttp.ClientPayloadError("Response payload is not completed"))
            self._body = None

    # ---- flow control

    def pause(self) -> None:
        if not self._paused and self.transport is not None and not self.closed:
            self._paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        if self._paused and self.transport is not None and not self.closed:
            self._paused = False
            self.transport.resume_reading()

    # ---- one exchange

    def send(self, request: bytes, *, idle: float | None, deadline: float | None) -> asyncio.Future[UpstreamResponse]:
        """Write ``request``; the future gets the answer's head, or the timeout or error that came first."""
        assert self.transport is not None
        loop = self.pool.loop
        self._idle = idle
        self._deadline = deadline
        self._head_waiter = waiter = loop.create_future()
        self.last_data = loop.time()
        self.transport.write(request)
        self._arm_head_timer()
        return waiter

    def _arm_head_timer(self) -> None:
        limit = self._deadline
        if self._idle is not None:
            idle_end = self.last_data + self._idle
            limit = idle_end if limit is None else min(limit, idle_end)
        if limit is not None:
            self._head_timer = self.pool.loop.call_at(limit, self._head_overdue)

    def _head_overdue(self) -> None:
        """The head's timer: fail the wait when a limit has really passed (data may have moved the idle one)."""
        self._head_timer = None
        waiter = self._head_waiter
        if waiter is None or waiter.done():
            return
        now = self.pool.loop.time()
        if self._deadline is not None and now >= self._deadline:
            waiter.set_exception(TimeoutError())
        elif self._idle is not None and now >= self.last_data + self._idle:
            waiter.set_exception(aiohttp.SocketTimeoutError("Timeout on reading data from socket"))
        else:
            self._arm_head_timer()
            return
        self._head_waiter = None
        self.close()

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _parse_head(self) -> None:
        waiter = self._head_waiter
        assert waiter is not None
        while True:
            try:
                parsed = parse_head(self._buffer)
            except HeadError as exc:
                if not waiter.done():
                    waiter.set_exception(aiohttp.ClientConnectionError(f"Bad upstream HTTP response: {exc}"))
                self.close()
                return
            if parsed is None:
                return
            head, used = parsed
            del self._buffer[:used]
            if 100 <= head.status < 200:  # an interim answer: the real one follows
                continue
            break
        self._head_waiter = None
        self._cancel_head_timer()
        body = ResponseBody(self, idle=self._idle, deadline=self._deadline)
        encoding = head.headers.get("Content-Encoding", "").strip().lower()
        if encoding:
            body._decompress = _decompressor(encoding)
        self._body = body
        self._framing = head.framing
        self._keep_alive = head.keep_alive
        self._remaining = head.length
        self._chunked = ChunkedDecoder() if head.framing == "chunked" else None
        response = UpstreamResponse(head, self, body)
        rest = bytes(self._buffer)
        self._buffer.clear()
        if not waiter.done():
            waiter.set_result(response)
        else:  # the caller gave up waiting (timeout, cancellation): nobody will read this answer
            self.close()
            return
        if head.framing in ("none",) or (head.framing == "length" and head.length == 0):
            self._end_body()
        elif rest:
            self._feed_body(rest)

    def _feed_body(self, data: bytes) -> None:
        body = self._body
        assert body is not None
        framing = self._framing
        if framing == "chunked":
            assert self._chunked is not None
            try:
                pieces, extra = self._chunked.feed(data)
            except HeadError as exc:
                body.fail(aiohttp.ClientPayloadError(f"Bad chunked framing: {exc}"))
                self._body = None
                self.close()
                return
            for piece in pieces:
                body.feed(piece)
            if self._chunked.done:
                if extra:
                    self._keep_alive = False
                self._end_body()
        elif framing == "length":
            if len(data) >= self._remaining:
                if len(data) > self._remaining:
                    self._keep_alive = False
                    data = data[: self._remaining]
                self._remaining = 0
                if data:
                    body.feed(data)
                self._end_body()
            else:
                self._remaining -= len(data)
                body.feed(data)
        else:
            body.feed(data)

    def _end_body(self) -> None:
        body = self._body
        self._body = None
        self._chunked = None
        if body is not None:
            body.finish()
        self.resume()
        if self._keep_alive and not self.closed:
            self.pool.put_back(self)
        else:
            self.close()

    def close(self) -> None:
        self._cancel_head_timer()
        if not self.closed:
            self.closed = True
            self.pool.forget(self)
            if self.transport is not None:
                self.transport.close()


class ConnectionPool:
    """Keep-alive connections per (scheme, host, port), at most ``limit`` open in all."""

    def __init__(self, *, limit: int = 1024, ssl_context: ssl.SSLContext | None = None) -> None:
        self.limit = limit
        self._ssl = ssl_context
        self._idle: dict[PoolKey, list[_Connection]] = {}
        self._open: set[_Connection] = set()
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl

    @property
    def open_connections(self) -> int:
        return len(self._open)

    @property
    def idle_connections(self) -> int:
        return sum(len(found) for found in self._idle.values())

    @property
    def busy_connections(self) -> int:
        """Connections carrying an exchange (a response not yet read to its end nor released)."""
        return self.open_connections - self.idle_connections

    async def post(
        self, url: URL, headers: dict[str, str] | Any, body: bytes, *, timeouts: aiohttp.ClientTimeout
    ) -> UpstreamResponse:
        """Send ``body`` and return the answer once its head has arrived (the body is read from it)."""
        if self._closed:
            raise aiohttp.ClientConnectionError("the upstream connection pool is closed")
        merged = dict(headers)
        given = {name.lower() for name in merged}
        for name, value in _DEFAULT_HEADERS:
            if name.lower() not in given:
                merged[name] = value
        request = encode_request(url, merged, body)  # before connecting: a refused header costs no connection
        loop = self.loop
        deadline = None if not timeouts.total else loop.time() + timeouts.total
        idle = timeouts.sock_read or None
        connection = await self._acquire(url, timeouts, deadline)
        waiter = connection.send(request, idle=idle, deadline=deadline)
        try:
            return await waiter
        except BaseException:
            connection.close()
            raise

    async def _acquire(self, url: URL, timeouts: aiohttp.ClientTimeout, deadline: float | None) -> _Connection:
        scheme = url.scheme
        host = url.raw_host or ""
        port = url.port or (443 if scheme == "https" else 80)
        key = (scheme, host, port)
        now = self.loop.time()
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()
            if connection.closed or connection.transport is None or connection.transport.is_closing():
                continue
            if now - connection.idle_since > _IDLE_KEEP_SECONDS:
                connection.close()
                continue
            return connection
        while len(self._open) >= self.limit:
            if self._evict_idle():
                continue  # an idle connection to another upstream made room
            waiter = self.loop.create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout_at(deadline):
                    await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            idle = self._idle.get(key)
            while idle:
                connection = idle.pop()
                if not connection.closed and connection.transport is not None:
                    return connection
        return await self._connect(key, timeouts, deadline)

    def _evict_idle(self) -> bool:
        """Close the longest-idle pooled connection, if any (at the limit, a new upstream must not wait for
        connections that nobody is using)."""
        oldest: _Connection | None = None
        for idle in self._idle.values():
            if idle and (oldest is None or idle[0].idle_since < oldest.idle_since):
                oldest = idle[0]
        if oldest is None:
            return False
        oldest.close()
        return True

    async def _connect(self, key: PoolKey, timeouts: aiohttp.ClientTimeout, deadline: float | None) -> _Connection:
        scheme, host, port = key
        connection = _Connection(self, key)
        self._open.add(connection)
        limit = timeouts.sock_connect or timeouts.connect
        loop = self.loop
        until = None if limit is None else loop.time() + limit
        if deadline is not None:
            until = deadline if until is None else min(until, deadline)
        secure = scheme == "https"
        try:
            async with asyncio.timeout_at(until):
                await loop.create_connection(
                    lambda: connection,
                    host,
                    port,
                    ssl=self._ssl_context() if secure else None,
                    server_hostname=host if secure else None,
                )
        except TimeoutError:
            self.forget(connection)
            raise aiohttp.ConnectionTimeoutError(f"Connection timeout to host {host}:{port}") from None
        except OSError as exc:
            self.forget(connection)
            raise aiohttp.ClientOSError(exc.errno or 0, f"Cannot connect to host {host}:{port}: {exc}") from None
        except BaseException:
            connection.close()
            self.forget(connection)
            raise
        return connection

    # ---- bookkeeping called by connections

    def put_back(self, connection: _Connection) -> None:
        if self._closed:
            connection.close()
            return
        connection.idle_since = time.monotonic() if self._loop is None else self._loop.time()
        self._idle.setdefault(connection.key, []).append(connection)
        self._wake_one()

    def forget(self, connection: _Connection) -> None:
        if connection in self._open:
            self._open.discard(connection)
            idle = self._idle.get(connection.key)
            if idle and connection in idle:
                idle.remove(connection)
            self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def close(self) -> None:
        """Close every connection (the app's cleanup)."""
        self._closed = True
        for connection in list(self._open):
            connection.close()
        self._idle.clear()
        await asyncio.sleep(0)
