"""The public port's connection layer served the production way: aiohttp's own 400s in the OpenAI envelope,
header and body read timeouts, the connection cap, the in-flight body budget, and their metrics."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from pytest_aiohttp import AiohttpServer

from aliasgate.simulator import SimulatorConfig
from tests.gateway.served import RawAnswer, raw_request, read_answer, served_gateway

CHAT = b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
BODY = orjson.dumps({"model": "team/chat", "messages": [{"role": "user", "content": "hi"}]})


def _assert_envelope(answer: RawAnswer, status: int, code: str) -> dict[str, Any]:
    assert answer.status == status, (answer.status_line, answer.body[:300])
    assert answer.headers["content-type"].startswith("application/json")
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code
    return dict(error)


@pytest.mark.parametrize(
    ("parts", "code"),
    [
        ([CHAT + b"X-Big: " + b"a" * 9000 + b"\r\nContent-Length: 2\r\n\r\n{}"], "header_too_large"),
        ([CHAT + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n"], "bad_transfer_encoding"),
        ([CHAT + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"], "conflicting_lengths"),
        ([CHAT + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}"], "bad_content_length"),
        ([CHAT + b"Content-Length: abc\r\n\r\n{}"], "bad_content_length"),
        ([b"GET /v1/models HTTP/1.1\r\nBad Header Line\r\n\r\n"], "bad_header"),
        ([b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 garbage\r\n\r\n"], "bad_request_line"),
        ([b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: gw\r\n\r\n"], "header_too_large"),
    ],
    ids=["header-too-large", "bad-chunk-size", "cl-and-te", "two-lengths", "bad-length", "bad-header-line",
         "tls-on-http", "request-line-too-long"],
)  # fmt: skip
async def test_aiohttp_low_level_errors_use_the_openai_envelope(
    aiohttp_server: AiohttpServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], parts: list[bytes], code: str
) -> None:
    async with served_gateway(aiohttp_server, tmp_path) as gw:
        answer = await raw_request(gw.port, *parts)
        _assert_envelope(answer, 400, code)
        assert gw.metric("aliasgate_bad_http_requests_total", code=code) == 1
        # The connection layer never answers text/plain, and the parser's quote of the request is not logged.
        out = capsys.readouterr().out
        assert "bad_http_request" in out
        assert "aaaaaaaa" not in out
        assert "garbage" not in out


async def test_a_bad_chunk_arriving_after_the_headers_is_a_400_envelope(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    async with served_gateway(aiohttp_server, tmp_path) as gw:
        head = CHAT + b"Transfer-Encoding: chunked\r\n\r\n"
        answer = await raw_request(gw.port, head, b"2\r\n{}\r\nzz\r\n", pause=0.2)
        assert answer.status == 400
        assert answer.json()["error"]["type"] == "invalid_request_error"


async def test_headers_that_never_finish_get_408_and_the_connection_closes(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    async with served_gateway(aiohttp_server, tmp_path, header_read_timeout_seconds=0.5) as gw:
        began = time.monotonic()
        reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
        writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nX-Slow: ")
        for _ in range(5):  # a byte now and then does not extend the deadline
            await asyncio.sleep(0.08)
            writer.write(b"a")
        answer = await read_answer(reader)
        _assert_envelope(answer, 408, "request_timeout")
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed
        assert 0.4 < time.monotonic() - began < 3.0
        writer.close()
        # A connection that sends nothing at all is closed the same way.
        reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
        _assert_envelope(await read_answer(reader), 408, "request_timeout")
        writer.close()
        assert gw.metric("aliasgate_request_read_timeouts_total", phase="headers") == 2


async def test_an_idle_kept_alive_connection_is_not_a_slow_header(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    async with served_gateway(aiohttp_server, tmp_path, header_read_timeout_seconds=0.3) as gw:
        request = CHAT + f"Content-Length: {len(BODY)}\r\n\r\n".encode() + BODY
        reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
        writer.write(request)
        assert (await read_answer(reader)).status == 200
        await asyncio.sleep(0.8)  # idle longer than the header timeout, shorter than the keep-alive timeout
        writer.write(request)
        assert (await read_answer(reader)).status == 200
        writer.close()
        assert gw.metric("aliasgate_request_read_timeouts_total", phase="headers") == 0


async def test_idle_kept_alive_connections_close_after_the_keepalive_timeout(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    async with served_gateway(aiohttp_server, tmp_path, keepalive_timeout_seconds=0.5) as gw:
        request = CHAT + f"Content-Length: {len(BODY)}\r\n\r\n".encode() + BODY
        reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
        writer.write(request)
        assert (await read_answer(reader)).status == 200
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()


async def test_a_body_that_never_finishes_gets_408(aiohttp_server: AiohttpServer, tmp_path: Path) -> None:
    async with served_gateway(aiohttp_server, tmp_path, body_read_timeout_seconds=0.5) as gw:
        began = time.monotonic()
        reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
        writer.write(CHAT + b"Content-Length: 1000\r\n\r\n")
        await asyncio.sleep(0.1)
        writer.write(b'{"model": ')
        answer = await read_answer(reader)
        _assert_envelope(answer, 408, "request_timeout")
        assert answer.headers.get("connection", "").lower() == "close"
        writer.write(b'"team/chat", ')  # still sending: ignored, and the connection is closed right away
        assert await asyncio.wait_for(reader.read(), 2) == b""
        writer.close()
        assert time.monotonic() - began < 3.0
        assert gw.metric("aliasgate_request_read_timeouts_total", phase="body") == 1


async def test_the_connection_cap_answers_503_and_recovers(aiohttp_server: AiohttpServer, tmp_path: Path) -> None:
    async with served_gateway(aiohttp_server, tmp_path, max_connections=5, header_read_timeout_seconds=30) as gw:
        held = [await asyncio.open_connection("127.0.0.1", gw.port) for _ in range(5)]
        await asyncio.sleep(0.1)
        assert gw.metric("aliasgate_connections") == 5
        reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
        answer = await read_answer(reader)
        error = _assert_envelope(answer, 503, "too_many_connections")
        assert error["type"] == "server_error"
        assert answer.headers["retry-after"] == "1"
        writer.close()
        assert gw.metric("aliasgate_connections_rejected_total") == 1
        assert gw.metric("aliasgate_connections") == 5
        for _, held_writer in held:
            held_writer.close()
        for _ in range(100):
            if gw.metric("aliasgate_connections") == 0:
                break
            await asyncio.sleep(0.02)
        assert gw.metric("aliasgate_connections") == 0
        async with aiohttp.ClientSession() as session, session.get(gw.url + "/v1/models") as resp:
            assert resp.status == 200


async def test_slow_clients_are_all_released(aiohttp_server: AiohttpServer, tmp_path: Path) -> None:
    """Many clients that never finish their headers: all get 408 and are gone within the timeout."""
    clients = 150
    async with served_gateway(aiohttp_server, tmp_path, header_read_timeout_seconds=0.5) as gw:
        pairs = [await asyncio.open_connection("127.0.0.1", gw.port) for _ in range(clients)]
        for _, writer in pairs:
            writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n")
        await asyncio.sleep(0.1)
        assert gw.metric("aliasgate_connections") == clients
        answers = await asyncio.gather(*(read_answer(reader) for reader, _ in pairs))
        assert {a.status for a in answers} == {408}
        for _ in range(200):
            if gw.metric("aliasgate_connections") == 0:
                break
            await asyncio.sleep(0.02)
        assert gw.metric("aliasgate_connections") == 0
        assert gw.metric("aliasgate_request_read_timeouts_total", phase="headers") == clients
        for _, writer in pairs:
            writer.close()


async def _stream_until_first_chunk(session: aiohttp.ClientSession, url: str, body: bytes) -> aiohttp.ClientResponse:
    resp = await session.post(url, data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 200
    await resp.content.readline()
    return resp


async def test_the_inflight_body_budget_answers_503_until_bytes_are_released(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    budget = 1024 * 1024
    big = "x" * (700 * 1024)
    slow_body = orjson.dumps(
        {"model": "chatgpt/gpt-5.4", "stream": True, "messages": [{"role": "user", "content": "#slow " + big}]}
    )
    other = orjson.dumps({"model": "team/chat", "messages": [{"role": "user", "content": big}]})
    sim = SimulatorConfig(slow_interval_seconds=0.05)
    async with (
        served_gateway(aiohttp_server, tmp_path, sim_config=sim, max_inflight_body_bytes=budget) as gw,
        aiohttp.ClientSession() as session,
    ):
        url = gw.url + "/v1/chat/completions"
        first = await _stream_until_first_chunk(session, url, slow_body)
        assert gw.metric("aliasgate_request_body_bytes_inflight") == len(slow_body)
        async with session.post(url, data=other, headers={"Content-Type": "application/json"}) as resp:
            assert resp.status == 503
            assert resp.headers["Retry-After"] == "1"
            error = (await resp.json())["error"]
            assert error["code"] == "server_overloaded"
            assert error["type"] == "server_error"

        async def chunked() -> Any:
            yield other[:1000]
            yield other[1000:]

        async with session.post(url, data=chunked(), headers={"Content-Type": "application/json"}) as resp:
            assert resp.status == 503  # no Content-Length: refused once the bytes read pass the budget
        assert gw.metric("aliasgate_body_budget_rejections_total") == 2
        small = orjson.dumps({"model": "team/chat", "messages": [{"role": "user", "content": "hi"}]})
        async with session.post(url, data=small, headers={"Content-Type": "application/json"}) as resp:
            assert resp.status == 200  # small bodies still fit
        await first.read()
        first.release()
        for _ in range(100):
            if gw.metric("aliasgate_request_body_bytes_inflight") == 0:
                break
            await asyncio.sleep(0.02)
        assert gw.metric("aliasgate_request_body_bytes_inflight") == 0
        async with session.post(url, data=other, headers={"Content-Type": "application/json"}) as resp:
            assert resp.status == 200
