"""An upstream error's `code` reaches the client as the upstream sent it, `null` included (docs/bridge.md,
"Errors"): through the bridge (in-stream `error` events, before and after content) and through both
pass-throughs (an HTTP 500 whose body says `"code": null`)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, Literal

import orjson
import pytest
from pytest_aiohttp import AiohttpServer

from tests.gateway.conftest import GatewayFactory, RouteSpec
from tests.gateway.upstreams import CREATED, frame, scripted_app

ONE_TRY = {"retries": {"attempts": 1}}
NULL_CODE_ERROR = {"type": "server_error", "code": None, "message": "Something broke upstream.", "param": None}
CHAT = {"messages": [{"role": "user", "content": "hello"}]}


def _events(*events: dict[str, Any]) -> bytes:
    return b"".join(frame(event) for event in events)


def _delta(text: str, sequence: int) -> dict[str, Any]:
    return {
        "type": "response.output_text.delta",
        "sequence_number": sequence,
        "item_id": "msg_n",
        "output_index": 0,
        "content_index": 0,
        "delta": text,
    }


async def _gateway(
    make_gateway: GatewayFactory,
    aiohttp_server: AiohttpServer,
    status: int,
    body: bytes,
    mode: Literal["chat", "responses"] = "responses",
) -> Any:
    upstream = await aiohttp_server(scripted_app(status, body))
    base = str(upstream.make_url("/v1"))
    return await make_gateway([RouteSpec("m", mode=mode, base_url=base, settings=ONE_TRY)])


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    "error_event",
    [
        {"type": "error", "sequence_number": 1, "error": NULL_CODE_ERROR},  # nested, as OpenAI sends it
        {"type": "error", "sequence_number": 1, "code": None, "message": "Something broke upstream.", "param": None},
    ],
    ids=["nested", "flat"],
)
async def test_a_null_code_error_event_before_content_keeps_its_null_code(
    make_gateway: GatewayFactory,
    aiohttp_server: AiohttpServer,
    captured_logs: list[MutableMapping[str, Any]],
    stream: bool,
    error_event: dict[str, Any],
) -> None:
    gateway = await _gateway(make_gateway, aiohttp_server, 200, _events(CREATED, error_event))
    resp = await gateway.client.post("/v1/chat/completions", json={"model": "m", "stream": stream, **CHAT})
    assert resp.status == 500
    assert (await resp.json())["error"] == {
        "message": "Something broke upstream.",
        "type": "server_error",
        "param": None,
        "code": None,
    }
    (logged,) = [e for e in captured_logs if e.get("event") == "request_completed"]
    assert logged["error_code"] == "server_error"  # the log still names what went wrong


async def test_a_null_code_error_event_after_content_is_an_in_stream_frame_with_null_code(
    make_gateway: GatewayFactory, aiohttp_server: AiohttpServer
) -> None:
    body = _events(CREATED, _delta("Hel", 1), {"type": "error", "sequence_number": 2, "error": NULL_CODE_ERROR})
    gateway = await _gateway(make_gateway, aiohttp_server, 200, body)
    resp = await gateway.client.post("/v1/chat/completions", json={"model": "m", "stream": True, **CHAT})
    assert resp.status == 200
    frames = [block.removeprefix(b"data: ") for block in (await resp.read()).split(b"\n\n") if block]
    assert frames[-1] == b"[DONE]"
    assert orjson.loads(frames[-2]) == {
        "error": {"message": "Something broke upstream.", "type": "server_error", "param": None, "code": None}
    }


@pytest.mark.parametrize(
    ("mode", "path", "request_body"),
    [
        ("chat", "/v1/chat/completions", CHAT),
        ("responses", "/v1/chat/completions", CHAT),
        ("responses", "/v1/responses", {"input": "hello"}),
    ],
    ids=["chat-passthrough", "bridge", "responses-passthrough"],
)
async def test_an_http_500_with_null_code_passes_through_with_null_code(
    make_gateway: GatewayFactory,
    aiohttp_server: AiohttpServer,
    mode: Literal["chat", "responses"],
    path: str,
    request_body: dict[str, Any],
) -> None:
    body = orjson.dumps({"error": NULL_CODE_ERROR})
    gateway = await _gateway(make_gateway, aiohttp_server, 500, body, mode=mode)
    resp = await gateway.client.post(path, json={"model": "m", **request_body})
    assert resp.status == 500
    assert (await resp.json())["error"] == {
        "message": "Something broke upstream.",
        "type": "server_error",
        "param": None,
        "code": None,
    }


async def test_an_upstream_code_is_still_passed_on_as_it_came(
    make_gateway: GatewayFactory, aiohttp_server: AiohttpServer
) -> None:
    error = {**NULL_CODE_ERROR, "code": "server_is_sad"}
    gateway = await _gateway(make_gateway, aiohttp_server, 503, orjson.dumps({"error": error}), mode="chat")
    resp = await gateway.client.post("/v1/chat/completions", json={"model": "m", **CHAT})
    assert resp.status == 503
    assert (await resp.json())["error"]["code"] == "server_is_sad"
