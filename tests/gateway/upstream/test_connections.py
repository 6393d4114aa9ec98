"""The upstream connection pool against real loopback servers, on the standard loop and on uvloop: keep-alive
reuse, every body framing, gzip, TLS, the route's timeouts, broken answers, the connection limit."""

from __future__ import annotations

import asyncio
import datetime
import gzip
import ssl
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from yarl import URL

from aliasgate.runtime import loops
from gateway.upstream.connections import ConnectionPool

Answer = Callable[[int, bytes], bytes | None]
"""(request number on this connection, request bytes) → raw answer bytes, or None to close the connection."""

TIMEOUTS = aiohttp.ClientTimeout(total=10, sock_connect=5, sock_read=5)
LOOPS = pytest.mark.parametrize("loop", ["asyncio", "uvloop"])


class RawServer:
    """A loopback HTTP/1.1 server whose answers are raw bytes; counts connections and requests."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None
        self.close_after_answer = False
        """Close each connection after its next answer (a server's keep-alive timeout, early)."""

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=ssl_context)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                body = await reader.readexactly(length)
                self.requests.append(head + body)
                answer = self.answer(number, head + body)
                number += 1
                if answer is None:
                    break
                if answer:
                    writer.write(answer)
                    await writer.drain()
                if self.close_after_answer:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def json_answer(body: bytes = b'{"ok":true}', *, extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode()
        + body
    )


def sse_answer(events: list[bytes]) -> bytes:
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(event), event) for event in events)
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunks
        + b"0\r\n\r\n"
    )


def run(loop: str, scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    loops.run(scenario(), choice="uvloop" if loop == "uvloop" else "asyncio")


async def post(
    pool: ConnectionPool, port: int, *, scheme: str = "http", timeouts: aiohttp.ClientTimeout = TIMEOUTS
) -> tuple[int, str, bytes]:
    resp = await pool.post(
        URL(f"{scheme}://127.0.0.1:{port}/v1/x"), {"Authorization": "Bearer k"}, b"{}", timeouts=timeouts
    )
    try:
        return resp.status, resp.content_type, await resp.read()
    finally:
        resp.release()


@LOOPS
def test_answers_of_every_framing_come_back_over_one_kept_alive_connection(loop: str) -> None:
    answers = [
        json_answer(),
        sse_answer([b"data: 1\n\n", b"data: 2\n\n"]),
        json_answer(gzip.compress(b'{"zipped":1}'), extra="Content-Encoding: gzip\r\n"),
        b"HTTP/1.1 100 Continue\r\n\r\n" + json_answer(b"{}"),
        b"HTTP/1.1 204 No Content\r\n\r\n",
    ]

    async def scenario() -> None:
        server = RawServer(lambda number, _: answers[number])
        port = await server.start()
        pool = ConnectionPool()
        try:
            assert await post(pool, port) == (200, "application/json", b'{"ok":true}')
            assert await post(pool, port) == (200, "text/event-stream", b"data: 1\n\ndata: 2\n\n")
            assert await post(pool, port) == (200, "application/json", b'{"zipped":1}')
            assert await post(pool, port) == (200, "application/json", b"{}")
            assert (await post(pool, port))[0] == 204
            assert server.connections == 1
            request = server.requests[0]
            assert request.startswith(b"POST /v1/x HTTP/1.1\r\nHost: 127.0.0.1:")
            assert b"Authorization: Bearer k\r\n" in request
            assert b"Accept-Encoding: gzip, deflate\r\n" in request
            assert request.endswith(b"Content-Length: 2\r\n\r\n{}")
        finally:
            await pool.close()
            await server.stop()

    run(loop, scenario)


@LOOPS
def test_stream_pieces_arrive_as_they_are_sent_and_a_close_delimited_body_ends_at_close(loop: str) -> None:
    async def scenario() -> None:
        release = asyncio.Event()

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n{}")
            writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: first\n\n")
            await writer.drain()
            await release.wait()
            writer.write(b"data: second\n\n")
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pool = ConnectionPool()
        try:
            resp = await pool.post(URL(f"http://127.0.0.1:{port}/"), {}, b"{}", timeouts=TIMEOUTS)
            assert await resp.content.readany() == b"data: first\n\n"
            release.set()
            assert await resp.content.readany() == b"data: second\n\n"
            assert await resp.content.readany() == b""
            resp.release()
            assert pool.open_connections == 0  # HTTP/1.0 without keep-alive: never pooled
        finally:
            await pool.close()
            server.close()

    run(loop, scenario)


async def one_answer(raw: bytes) -> tuple[asyncio.Server, int]:
    """A server that answers any request with ``raw`` and then closes the connection."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n{}")
        writer.write(raw)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, int(server.sockets[0].getsockname()[1])


@LOOPS
def test_bodies_cut_short_fail_as_payload_errors(loop: str) -> None:
    cut = [
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\nnotgz",
    ]

    async def scenario() -> None:
        for raw in cut:
            server, port = await one_answer(raw)
            pool = ConnectionPool()
            try:
                with pytest.raises(aiohttp.ClientPayloadError):
                    await post(pool, port)
                assert pool.open_connections == 0
            finally:
                await pool.close()
                server.close()
        server, port = await one_answer(b"")  # closed before any answer
        pool = ConnectionPool()
        try:
            with pytest.raises(aiohttp.ServerDisconnectedError):
                await post(pool, port)
        finally:
            await pool.close()
            server.close()

    run(loop, scenario)


@LOOPS
def test_silence_and_slowness_end_in_timeouts(loop: str) -> None:
    async def scenario() -> None:
        silent = RawServer(lambda *_: b"")  # reads the request, never answers
        port = await silent.start()
        pool = ConnectionPool()
        try:
            idle = aiohttp.ClientTimeout(total=10, sock_connect=5, sock_read=0.2)
            with pytest.raises(aiohttp.SocketTimeoutError):
                await post(pool, port, timeouts=idle)
            total = aiohttp.ClientTimeout(total=0.3, sock_connect=5, sock_read=5)
            with pytest.raises(TimeoutError):
                await post(pool, port, timeouts=total)
            slow_body = RawServer(lambda *_: b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab")
            body_port = await slow_body.start()
            resp = await pool.post(URL(f"http://127.0.0.1:{body_port}/"), {}, b"{}", timeouts=idle)
            assert await resp.content.readany() == b"ab"
            with pytest.raises(aiohttp.SocketTimeoutError):
                await resp.content.readany()
            resp.release()
            await slow_body.stop()
        finally:
            await pool.close()
            await silent.stop()

    run(loop, scenario)


@LOOPS
def test_refused_connections_and_bad_heads_are_client_errors(loop: str) -> None:
    async def scenario() -> None:
        garbage = RawServer(lambda *_: b"SPDY/9 what\r\n\r\n")
        port = await garbage.start()
        pool = ConnectionPool()
        try:
            with pytest.raises(aiohttp.ClientConnectionError, match="Bad upstream HTTP response"):
                await post(pool, port)
            await garbage.stop()
            with pytest.raises(aiohttp.ClientOSError, match="Cannot connect"):
                await post(pool, port)
            with pytest.raises(ValueError, match="Newline"):
                await pool.post(URL(f"http://127.0.0.1:{port}/"), {"X": "a\r\nB: c"}, b"", timeouts=TIMEOUTS)
        finally:
            await pool.close()

    run(loop, scenario)


@LOOPS
def test_an_answer_released_unread_closes_its_connection_and_a_stale_one_is_not_reused(loop: str) -> None:
    async def scenario() -> None:
        partial = b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n" + b"x" * 1000  # the rest never comes
        server = RawServer(lambda *_: partial if len(server.requests) == 1 else json_answer())
        port = await server.start()
        pool = ConnectionPool()
        ok = (200, "application/json", b'{"ok":true}')
        try:
            resp = await pool.post(URL(f"http://127.0.0.1:{port}/"), {}, b"{}", timeouts=TIMEOUTS)
            assert await resp.content.readany() == b"x" * 1000
            resp.release()  # body not read to its end: the connection cannot carry another request
            assert await post(pool, port) == ok
            assert server.connections == 2
            assert pool.idle_connections == 1
            server.close_after_answer = True  # this answer is the connection's last
            assert await post(pool, port) == ok
            for _ in range(100):
                if pool.idle_connections == 0:
                    break
                await asyncio.sleep(0.01)
            assert pool.idle_connections == 0  # the peer's close was noticed: never written into
            assert await post(pool, port) == ok
            assert server.connections == 3
        finally:
            await pool.close()
            await server.stop()

    run(loop, scenario)


@LOOPS
def test_the_connection_limit_makes_requests_wait_for_a_free_connection(loop: str) -> None:
    async def scenario() -> None:
        server = RawServer(lambda *_: json_answer())
        port = await server.start()
        pool = ConnectionPool(limit=1)
        try:
            results = await asyncio.gather(*(post(pool, port) for _ in range(5)))
            assert results == [(200, "application/json", b'{"ok":true}')] * 5
            assert server.connections == 1
            assert pool.open_connections == 1
        finally:
            await pool.close()
            await server.stop()

    run(loop, scenario)


@LOOPS
def test_at_the_limit_an_idle_connection_to_another_upstream_makes_room(loop: str) -> None:
    async def scenario() -> None:
        first, second = RawServer(lambda *_: json_answer()), RawServer(lambda *_: json_answer(b"{}"))
        first_port, second_port = await first.start(), await second.start()
        pool = ConnectionPool(limit=1)
        try:
            assert await post(pool, first_port) == (200, "application/json", b'{"ok":true}')
            assert pool.idle_connections == 1
            answer = await asyncio.wait_for(post(pool, second_port), 5)  # not stuck behind the idle one
            assert answer == (200, "application/json", b"{}")
            assert (pool.open_connections, first.connections, second.connections) == (1, 1, 1)
        finally:
            await pool.close()
            await first.stop()
            await second.stop()

    run(loop, scenario)


@LOOPS
def test_a_connection_idle_past_the_keep_alive_window_is_not_reused(loop: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gateway.upstream.connections._IDLE_KEEP_SECONDS", 0.05)

    async def scenario() -> None:
        server = RawServer(lambda *_: json_answer())
        port = await server.start()
        pool = ConnectionPool()
        try:
            await post(pool, port)
            await post(pool, port)
            assert server.connections == 1  # reused within the window
            await asyncio.sleep(0.1)
            await post(pool, port)
            assert server.connections == 2  # too old: closed, a fresh one taken
            assert pool.open_connections == 1
        finally:
            await pool.close()
            await server.stop()

    run(loop, scenario)


def _self_signed(folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cafile=str(cert_path))
    return server, client


@LOOPS
def test_https_upstreams_are_verified_and_kept_alive(loop: str, tmp_path: Path) -> None:
    server_context, client_context = _self_signed(tmp_path)

    async def scenario() -> None:
        server = RawServer(lambda *_: json_answer())
        port = await server.start(server_context)
        trusting = ConnectionPool(ssl_context=client_context)
        default = ConnectionPool()  # the system's CAs: a self-signed upstream is refused
        try:
            assert await post(trusting, port, scheme="https") == (200, "application/json", b'{"ok":true}')
            assert await post(trusting, port, scheme="https") == (200, "application/json", b'{"ok":true}')
            assert server.connections == 1
            with pytest.raises(aiohttp.ClientOSError, match="CERTIFICATE_VERIFY_FAILED"):
                await post(default, port, scheme="https")
        finally:
            await trusting.close()
            await default.close()
            await server.stop()

    run(loop, scenario)
