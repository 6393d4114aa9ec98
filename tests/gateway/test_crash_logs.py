"""A bug in the request path is logged once, as an error saying where it happened, never with frame locals
(request bodies, headers), in JSON and in the console form local mode uses; the client gets a 500 or, once its
stream started, an ``internal_error`` frame and ``[DONE]`` — aiohttp never sees the exception."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from pytest_aiohttp import AiohttpClient

from aliasgate.runtime.logs import configure_logging
from gateway.app import create_app
from gateway.handlers import chat_completions, requests
from gateway.routing.loading import RouteTarget
from gateway.routing.source import TableSink
from gateway.settings import GatewaySettings
from tests.gateway.conftest import GatewayFactory

MARKER = "SECRET-BODY-MARKER-0451"
HEADER_MARKER = "secret-header-marker-0451"


def _body(model: str, *, stream: bool) -> bytes:
    # The user message first, so a frame local's repr (cut at 80 characters) would show it.
    return orjson.dumps({"messages": [{"role": "user", "content": MARKER}], "model": model, "stream": stream})


@pytest.mark.parametrize("json_logs", [True, False], ids=["json", "console"])
async def test_a_crash_before_the_answer_is_a_500_and_one_error_line_without_locals(
    make_gateway: GatewayFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    json_logs: bool,
) -> None:
    def broken(body: dict[str, Any], target: RouteTarget) -> dict[str, Any]:
        raise RuntimeError("a bug in the request path")

    monkeypatch.setattr(requests, "apply_route_settings", broken)
    gateway = await make_gateway()
    configure_logging(level="info", json=json_logs, cache=False)
    resp = await gateway.client.post(
        "/v1/chat/completions",
        data=_body("team/chat", stream=False),
        headers={"Content-Type": "application/json", "X-Custom": HEADER_MARKER},
    )
    assert resp.status == 500
    assert (await resp.json())["error"]["code"] == "internal_error"
    out, err = capsys.readouterr()
    configure_logging(level="info", json=True, cache=False)
    assert MARKER not in out + err
    assert HEADER_MARKER not in out + err
    assert "Traceback" not in out + err
    assert out.count("request_crashed") == 1
    assert "RuntimeError: a bug in the request path" in out
    assert "in broken" in out  # where it happened: the frames, as file:line in function
    if json_logs:
        (crash,) = [orjson.loads(line) for line in out.splitlines() if "request_crashed" in line]
        assert crash["level"] == "error"
        assert crash["traceback"][-1].endswith("in broken")
        assert "exception" not in crash
        assert "exc_info" not in crash


async def test_a_crash_mid_stream_ends_the_stream_with_an_internal_error_frame(
    make_gateway: GatewayFactory, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    absorb = chat_completions._PassthroughRelay.absorb
    calls: list[int] = []

    def breaks_on_the_third_batch(self: Any, batch: Any) -> list[bytes]:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("a bug in the relay")
        return absorb(self, batch)

    monkeypatch.setattr(chat_completions._PassthroughRelay, "absorb", breaks_on_the_third_batch)
    gateway = await make_gateway()
    configure_logging(level="info", json=True, cache=False)
    resp = await gateway.client.post(
        "/v1/chat/completions",
        data=_body("team/chat", stream=True).replace(MARKER.encode(), MARKER.encode() + b" #slow"),
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 200
    raw = await resp.read()  # a broken body would raise here
    out, err = capsys.readouterr()
    configure_logging(level="info", json=True, cache=False)
    frames = [block[6:] for block in raw.split(b"\n\n") if block.startswith(b"data: ")]
    assert frames[-1] == b"[DONE]"
    assert orjson.loads(frames[-2])["error"]["code"] == "internal_error"
    assert any(b'"content":"' in frame for frame in frames[:-2])  # content went out before the bug struck
    assert MARKER not in out + err
    assert "Traceback" not in out + err
    lines = [orjson.loads(line) for line in out.splitlines() if line.startswith("{")]
    (crash,) = [line for line in lines if line["level"] == "error"]
    assert crash["event"] == "stream_crashed"
    assert crash["error"] == "RuntimeError: a bug in the relay"
    (completed,) = [line for line in lines if line["event"] == "request_completed"]
    assert completed["status"] == 200
    assert completed["error_code"] == "internal_error"


async def test_a_crashed_background_task_is_logged_without_its_locals(
    aiohttp_client: AiohttpClient, capsys: pytest.CaptureFixture[str]
) -> None:
    class CrashingSource:
        async def run(self, sink: TableSink) -> None:
            credentials = {"apiKey": MARKER}
            raise RuntimeError(f"cannot read {len(credentials)} credentials")

    configure_logging(level="info", json=True, cache=False)
    app = create_app(GatewaySettings(), table_source=CrashingSource(), probing=False)
    await aiohttp_client(app)
    await asyncio.sleep(0.05)
    out, err = capsys.readouterr()
    configure_logging(level="info", json=True, cache=False)
    assert MARKER not in out + err
    (crash,) = [orjson.loads(line) for line in out.splitlines() if "background_task_crashed" in line]
    assert crash["task"] == "table_source"
    assert crash["error"] == "RuntimeError: cannot read 1 credentials"
    assert crash["traceback"][-1].endswith("in run")
