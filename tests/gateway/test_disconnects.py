"""A client that goes away mid-stream, on a gateway served as ``python -m gateway`` serves it (``serve``): one
info line, the counter, the upstream closed at once — also while the upstream is silent — and no error line or
traceback (aiohttp never sees the disconnect as an error of ours)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import orjson
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from aliasgate.runtime.logs import configure_logging
from gateway.metrics import GatewayMetrics
from tests.gateway.conftest import RouteSpec
from tests.gateway.served import served_gateway
from tests.gateway.upstreams import chat_chunk, open_event_stream

upstream_closed_key = web.AppKey("upstream_closed", asyncio.Event)


def _silent_after_first_chunk_app(*, pace: float | None) -> web.Application:
    """A chat upstream that sends one content chunk, then more every ``pace`` seconds or (None) nothing for a
    minute; ``app[upstream_closed_key]`` is set when the gateway closes the connection."""
    app = web.Application()
    closed = asyncio.Event()
    app[upstream_closed_key] = closed

    async def handler(request: web.Request) -> web.StreamResponse:
        response = await open_event_stream(request)
        try:
            await response.write(b"data: " + orjson.dumps(chat_chunk("first")) + b"\n\n")
            for _ in range(600):
                await asyncio.sleep(pace if pace is not None else 60.0)
                await response.write(b"data: " + orjson.dumps(chat_chunk(" more")) + b"\n\n")
        except (asyncio.CancelledError, ConnectionResetError):
            closed.set()
            raise
        return response

    app.router.add_post("/v1/chat/completions", handler)
    return app


@dataclass
class Served:
    url: str
    metrics: GatewayMetrics
    upstream_closed: asyncio.Event


@pytest.fixture
async def served(
    request: pytest.FixtureRequest, aiohttp_server: AiohttpServer, tmp_path: Path
) -> AsyncIterator[Served]:
    upstream = _silent_after_first_chunk_app(pace=request.param)
    routes = [RouteSpec("team/chat", mode="chat")]
    async with served_gateway(
        aiohttp_server, tmp_path, upstream=upstream, routes=routes, shutdown_grace_seconds=1.0
    ) as gateway:
        yield Served(f"{gateway.url}/v1/chat/completions", gateway.metrics, upstream[upstream_closed_key])


@pytest.mark.parametrize(
    "served", [pytest.param(None, id="upstream-silent"), pytest.param(0.02, id="upstream-streaming")], indirect=True
)
async def test_a_client_that_goes_away_mid_stream_is_one_info_line_and_closes_the_upstream_at_once(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    """Silent upstream: before, the disconnect was noticed at the next keepalive write, 15 s later, the
    upstream still generating. Streaming upstream: before, the failed write was re-raised into aiohttp, which
    logged an error with a traceback."""
    configure_logging(level="info", json=True, cache=False)  # onto the captured stdout
    body = {"model": "team/chat", "stream": True, "messages": [{"role": "user", "content": "hello"}]}
    async with aiohttp.ClientSession() as session:
        resp = await session.post(served.url, json=body)
        assert resp.status == 200
        assert b"first" in await resp.content.readline()
        resp.close()
    left = time.monotonic()
    await asyncio.wait_for(served.upstream_closed.wait(), 2.0)
    async with asyncio.timeout(2.0):
        while served.metrics.value("aliasgate_inflight_requests"):
            await asyncio.sleep(0.01)
    assert time.monotonic() - left < 2.0
    assert served.metrics.value("aliasgate_client_disconnects_total", {"alias": "team/chat"}) == 1
    labels = {"alias": "team/chat", "mode": "chat", "stream": "true", "code": "499"}
    assert served.metrics.value("aliasgate_requests_total", labels) == 1
    out, err = capsys.readouterr()
    lines = [orjson.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert "Traceback" not in out + err
    assert [line for line in lines if line["level"] not in ("info", "debug")] == []
    (completed,) = [line for line in lines if line.get("path") == "/v1/chat/completions"]
    assert completed["event"] == "request_completed"
    assert completed["status"] == 499
    assert completed["client_disconnected"] is True
