"""Upstream reading without a client request: real loopback upstreams read through `gateway.upstream.reading`.

The prober and the handlers share this reader, so it must work with nothing but a response, a clock and a
place to add up the waiting time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from gateway.upstream.failures import UpstreamFailure
from gateway.upstream.reading import BAD_EVENT, NOT_JSON, UpstreamEvents, is_sse, read_all_events, read_json


@dataclass
class Waited:
    upstream_seconds: float = 0.0


class TickingClock:
    """Each reading advances one second, so the waits added up are countable."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def _app(body: bytes, content_type: str, *, pause_after: int = -1, pause: float = 0.0) -> web.Application:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": content_type})
        await response.prepare(request)
        for n, line in enumerate(body.split(b"\n\n")):
            if not line:
                continue
            if n == pause_after:
                await asyncio.sleep(pause)
            await response.write(line + b"\n\n")
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/", handler)
    return app


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def _sse(*events: object) -> bytes:
    return b"".join(b"data: " + (e if isinstance(e, bytes) else orjson.dumps(e)) + b"\n\n" for e in events)


async def test_events_are_read_batch_by_batch_and_the_waiting_is_counted(
    aiohttp_server: AiohttpServer, session: aiohttp.ClientSession
) -> None:
    body = _sse({"type": "response.created"}, {"type": "response.completed"})
    server = await aiohttp_server(_app(body, "text/event-stream"))
    waited, clock = Waited(), TickingClock()
    async with session.get(server.make_url("/")) as resp:
        assert is_sse(resp)
        events = UpstreamEvents(resp, waited, clock, keepalive_seconds=7.0)
        seen: list[str] = []
        reads = 0
        while not events.eof:
            seen.extend(event.data for event in await events.next_batch())
            reads += 1
    assert [orjson.loads(data)["type"] for data in seen] == ["response.created", "response.completed"]
    assert events.keepalive_seconds == 7.0
    assert waited.upstream_seconds == reads  # one tick per read: every read was counted, nothing else was


async def test_a_window_that_closes_returns_none_and_keeps_the_stream_intact(
    aiohttp_server: AiohttpServer, session: aiohttp.ClientSession
) -> None:
    body = _sse({"type": "response.created"}, {"type": "response.completed"})
    server = await aiohttp_server(_app(body, "text/event-stream", pause_after=1, pause=0.5))
    async with session.get(server.make_url("/")) as resp:
        events = UpstreamEvents(resp, Waited(), TickingClock())
        first = await events.next_batch()
        assert [orjson.loads(e.data)["type"] for e in first] == ["response.created"]
        assert await events.next_batch_within(0.05) is None
        rest: list[str] = []
        while not events.eof:
            rest.extend(orjson.loads(e.data)["type"] for e in await events.next_batch())
    assert rest == ["response.completed"]


async def test_a_stalled_upstream_is_a_retryable_timeout(
    aiohttp_server: AiohttpServer, session: aiohttp.ClientSession
) -> None:
    body = _sse({"type": "response.created"}, {"type": "response.completed"})
    server = await aiohttp_server(_app(body, "text/event-stream", pause_after=1, pause=1.0))
    timeout = aiohttp.ClientTimeout(sock_read=0.1)
    async with session.get(server.make_url("/"), timeout=timeout) as resp:
        events = UpstreamEvents(resp, Waited(), TickingClock())
        await events.next_batch()
        with pytest.raises(UpstreamFailure) as caught:
            await events.next_batch()
    assert caught.value.retryable
    assert caught.value.error.status == 504


async def test_folding_feeds_every_payload_and_refuses_garbage(
    aiohttp_server: AiohttpServer, session: aiohttp.ClientSession
) -> None:
    good = _sse({"type": "response.created"}, b"[DONE]", {"type": "response.completed"})
    bad = _sse({"type": "response.created"}, b"{not json")
    server_good = await aiohttp_server(_app(good, "text/event-stream"))
    server_bad = await aiohttp_server(_app(bad, "text/event-stream"))
    fed: list[dict[str, Any]] = []
    async with session.get(server_good.make_url("/")) as resp:
        await read_all_events(resp, UpstreamEvents(resp, Waited(), TickingClock()), fed.append)
    assert [event["type"] for event in fed] == ["response.created", "response.completed"]
    async with session.get(server_bad.make_url("/")) as resp:
        with pytest.raises(UpstreamFailure) as caught:
            await read_all_events(resp, UpstreamEvents(resp, Waited(), TickingClock()), fed.append)
    assert caught.value.error.code == BAD_EVENT.code
    assert caught.value.error.status == 502


async def test_a_json_answer_is_read_whole_and_garbage_is_a_bad_gateway(
    aiohttp_server: AiohttpServer, session: aiohttp.ClientSession
) -> None:
    server_good = await aiohttp_server(_app(b'{"id": "resp_1"}', "application/json"))
    server_bad = await aiohttp_server(_app(b"[1, 2]", "application/json"))
    waited = Waited()
    async with session.get(server_good.make_url("/")) as resp:
        assert not is_sse(resp)
        raw, parsed = await read_json(resp, waited, TickingClock(), started=0.0)
    assert parsed == {"id": "resp_1"}
    assert orjson.loads(raw) == parsed
    assert waited.upstream_seconds == 1.0  # from `started` (0) to the clock's first reading (1)
    async with session.get(server_bad.make_url("/")) as resp:
        with pytest.raises(UpstreamFailure) as caught:
            await read_json(resp, Waited(), TickingClock(), started=0.0)
    assert caught.value.error.code == NOT_JSON.code
    assert caught.value.retryable
