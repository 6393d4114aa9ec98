"""Upstream faults: refused connections, 429/5xx, garbage, stalls, cuts before/after first content,
retries and fallbacks observed on the upstream, and client disconnects that close the upstream."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any, Literal

import aiohttp
import openai
import orjson
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from aliasgate.simulator import SimulatorConfig
from tests.gateway.conftest import FAST_RETRIES, GatewayFactory, RouteSpec, build_table
from tests.gateway.upstreams import chat_chunk, early_failure_app, ended_early_app, hits_key
from tests.support.ports import free_port

CHAT = {"messages": [{"role": "user", "content": "hello"}]}


def _sse_payloads(raw: bytes) -> list[object]:
    out: list[object] = []
    for block in raw.split(b"\n\n"):
        for line in block.split(b"\n"):
            if line.startswith(b"data: "):
                data = line[6:]
                out.append("[DONE]" if data == b"[DONE]" else orjson.loads(data))
    return out


async def test_refused_connections_are_retried_then_answered_with_502(make_gateway: GatewayFactory) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    gateway = await make_gateway([RouteSpec("dead", base_url=dead, settings=FAST_RETRIES)])
    resp = await gateway.client.post("/v1/chat/completions", json={"model": "dead", **CHAT})
    assert resp.status == 502
    body = await resp.json()
    assert body["error"]["code"] == "upstream_unavailable"
    assert body["error"]["type"] == "server_error"
    backend = f"openai|{dead}|gpt-5.4"
    assert gateway.metric("aliasgate_upstream_requests_total", backend=backend, code="error") == 3
    assert gateway.metric("aliasgate_upstream_retries_total", alias="dead") == 2
    assert gateway.metric("aliasgate_requests_total", alias="dead", mode="chat", stream="false", code="502") == 1


async def test_refused_connections_fall_back_to_the_next_alias(make_gateway: GatewayFactory) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    gateway = await make_gateway(
        [
            RouteSpec("primary", base_url=dead, settings={**FAST_RETRIES, "fallbacks": ["backup"]}),
            RouteSpec("backup", model="gpt-4.1-mini", settings=FAST_RETRIES),
        ]
    )
    async with gateway.sdk() as sdk:
        completion = await sdk.chat.completions.create(model="primary", **CHAT)  # type: ignore[call-overload]
    assert completion.choices[0].message.content == "You said: hello"
    [seen] = gateway.sim.requests
    assert seen.body["model"] == "gpt-4.1-mini"
    assert gateway.metric("aliasgate_fallbacks_total", alias="primary", fallback="backup") == 1
    assert gateway.metric("aliasgate_requests_total", alias="primary", mode="chat", stream="false", code="200") == 1


@pytest.mark.parametrize("status", [429, 500, 503])
@pytest.mark.parametrize("alias", ["team/chat", "chatgpt/gpt-5.4"])
async def test_transient_statuses_are_retried_until_success(
    make_gateway: GatewayFactory, status: int, alias: str
) -> None:
    gateway = await make_gateway()
    gateway.sim.enqueue(f"status:{status}", count=2)
    async with gateway.sdk() as sdk:
        stream = await sdk.chat.completions.create(model=alias, stream=True, **CHAT)  # type: ignore[call-overload]
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "You said: hello"
    assert len(gateway.sim.requests) == 3
    assert gateway.metric("aliasgate_upstream_retries_total", alias=alias) == 2


async def test_exhausted_retries_pass_the_upstream_status_and_retry_after(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    gateway.sim.enqueue("status:429", count=3)
    resp = await gateway.client.post("/v1/chat/completions", json={"model": "team/chat", **CHAT})
    assert resp.status == 429
    assert resp.headers["Retry-After"] == "1"
    assert (await resp.json())["error"]["type"] in {"rate_limit_error", "requests"}
    assert len(gateway.sim.requests) == 3


async def test_client_errors_are_not_retried(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    gateway.sim.enqueue("status:400", count=3)
    async with gateway.sdk() as sdk:
        with pytest.raises(openai.BadRequestError):
            await sdk.chat.completions.create(model="chatgpt/gpt-5.4", **CHAT)  # type: ignore[call-overload]
    assert len(gateway.sim.requests) == 1
    assert gateway.metric("aliasgate_upstream_retries_total", alias="chatgpt/gpt-5.4") == 0


@pytest.mark.parametrize("alias", ["team/chat", "team/responses"])
async def test_garbage_json_body_is_a_502_after_retries(make_gateway: GatewayFactory, alias: str) -> None:
    gateway = await make_gateway()
    gateway.sim.enqueue("garbage", count=3)
    resp = await gateway.client.post("/v1/chat/completions", json={"model": alias, **CHAT})
    assert resp.status == 502
    assert (await resp.json())["error"]["code"] == "bad_upstream_body"
    assert len(gateway.sim.requests) == 3


async def test_garbage_mid_stream_becomes_an_in_stream_error(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    resp = await gateway.client.post(
        "/v1/chat/completions", json={"model": "chatgpt/gpt-5.4", "stream": True, **CHAT} | _text("x #garbage")
    )
    assert resp.status == 200
    payloads = _sse_payloads(await resp.read())
    assert payloads[-1] == "[DONE]"
    error = payloads[-2]
    assert isinstance(error, dict)
    assert error["error"]["code"] == "bad_upstream_event"


async def _collect(stream: Any, into: list[str]) -> None:
    async for chunk in stream:
        if chunk.choices:
            into.append(chunk.choices[0].delta.content or "")


def _text(text: str) -> dict[str, object]:
    return {"messages": [{"role": "user", "content": text}]}


async def test_stalled_stream_after_first_content_ends_with_a_timeout_frame(make_gateway: GatewayFactory) -> None:
    routes = [
        RouteSpec(
            "slowpoke",
            prefix="/backend-api/codex",
            provider="chatgpt",
            mode="responses",
            credentials="chatgpt-pro",
            settings={"timeouts": {"idleSeconds": 0.2}, "retries": {"attempts": 1}},
        )
    ]
    gateway = await make_gateway(routes, sim_config=SimulatorConfig(stall_seconds=5.0))
    async with gateway.sdk() as sdk:
        stream = await sdk.chat.completions.create(model="slowpoke", stream=True, **_text("wait #stall"))  # type: ignore[call-overload]
        seen: list[str] = []
        with pytest.raises(openai.APIError, match="stalled"):
            await _collect(stream, seen)
    assert "".join(seen)  # content arrived before the stall
    assert gateway.upstream_connections() == 0


async def test_stalled_upstream_before_any_byte_is_a_504(make_gateway: GatewayFactory) -> None:
    routes = [
        RouteSpec(
            "slowpoke", settings={"timeouts": {"idleSeconds": 0.2}, "retries": {"attempts": 2, "backoffSeconds": 0.001}}
        )
    ]
    gateway = await make_gateway(routes, sim_config=SimulatorConfig(stall_seconds=5.0))
    resp = await gateway.client.post("/v1/chat/completions", json={"model": "slowpoke", **_text("wait #stall")})
    assert resp.status == 504
    assert (await resp.json())["error"]["code"] == "upstream_timeout"
    assert len(gateway.sim.requests) == 2


@pytest.mark.parametrize("alias", ["team/chat", "chatgpt/gpt-5.4"])
async def test_cut_after_first_content_ends_with_an_error_frame(
    make_gateway: GatewayFactory, alias: str, captured_logs: list[MutableMapping[str, Any]]
) -> None:
    gateway = await make_gateway()
    resp = await gateway.client.post("/v1/chat/completions", json={"model": alias, "stream": True} | _text("x #cut"))
    assert resp.status == 200
    payloads = _sse_payloads(await resp.read())
    assert payloads[-1] == "[DONE]"
    last = payloads[-2]
    assert isinstance(last, dict)
    assert "error" in last
    contents = [p for p in payloads[:-2] if isinstance(p, dict) and p.get("choices")]
    assert any(c["choices"][0]["delta"].get("content") for c in contents)
    assert not any(c["choices"][0].get("finish_reason") for c in contents)
    (logged,) = [e for e in captured_logs if e.get("event") == "request_completed"]
    assert logged["error_code"] == "upstream_unavailable"  # the connection broke mid-body


@pytest.mark.parametrize(("alias", "mode"), [("plain", "chat"), ("bridged", "responses")])
async def test_a_stream_that_ends_before_its_terminal_event_is_logged_as_truncated(
    make_gateway: GatewayFactory,
    aiohttp_server: AiohttpServer,
    captured_logs: list[MutableMapping[str, Any]],
    alias: str,
    mode: Literal["chat", "responses"],
) -> None:
    upstream = await aiohttp_server(ended_early_app())
    base = str(upstream.make_url("/v1")).rstrip("/")
    gateway = await make_gateway(table=build_table("", [RouteSpec(alias, base_url=base, mode=mode)]))
    resp = await gateway.client.post("/v1/chat/completions", json={"model": alias, "stream": True} | _text("hi"))
    assert resp.status == 200
    payloads = _sse_payloads(await resp.read())
    assert payloads[-1] == "[DONE]"
    error = payloads[-2]
    assert isinstance(error, dict)
    assert error["error"]["message"] == "The upstream closed the stream before the response was complete."
    (logged,) = [e for e in captured_logs if e.get("event") == "request_completed"]
    assert logged["error_code"] == "stream_truncated"  # pass-through and bridge log it alike


@pytest.mark.parametrize(("kind", "status"), [("cut", 502), ("failed", 500), ("garbage", 502)])
async def test_failure_before_first_content_is_retried_then_an_http_error(
    make_gateway: GatewayFactory, aiohttp_server: AiohttpServer, kind: str, status: int
) -> None:
    upstream_app = early_failure_app(kind)
    upstream = await aiohttp_server(upstream_app)
    base = str(upstream.make_url("/v1")).rstrip("/")
    table = build_table("", [RouteSpec("early", base_url=base, mode="responses", settings=FAST_RETRIES)])
    gateway = await make_gateway(table=table)
    async with gateway.sdk() as sdk:
        with pytest.raises(openai.APIStatusError) as caught:
            await sdk.chat.completions.create(model="early", stream=True, **CHAT)  # type: ignore[call-overload]
    assert caught.value.status_code == status
    assert len(upstream_app[hits_key]) == 3
    assert gateway.upstream_connections() == 0


async def test_client_disconnect_mid_stream_closes_the_upstream(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(sim_config=SimulatorConfig(slow_interval_seconds=0.2))
    url = gateway.client.make_url("/v1/chat/completions")
    assert gateway.sim_server.runner is not None
    server = gateway.sim_server.runner.server
    assert server is not None

    def sim_connections() -> int:
        return len(server.connections)

    async with aiohttp.ClientSession() as session:
        resp = await session.post(url, json={"model": "chatgpt/gpt-5.4", "stream": True} | _text("x #slow"))
        assert resp.status == 200
        await resp.content.readline()
        assert sim_connections() == 1
        resp.close()
    for _ in range(40):
        if not sim_connections() and gateway.metric("aliasgate_client_disconnects_total", alias="chatgpt/gpt-5.4"):
            break
        await asyncio.sleep(0.025)
    assert sim_connections() == 0  # the upstream stream (8 x 0.2 s) was closed early
    assert gateway.metric("aliasgate_client_disconnects_total", alias="chatgpt/gpt-5.4") == 1
    assert gateway.upstream_connections() == 0
    assert gateway.metric("aliasgate_inflight_requests") == 0


async def test_upstream_answering_json_to_a_stream_request_still_streams(
    make_gateway: GatewayFactory, aiohttp_server: AiohttpServer
) -> None:
    upstream_app = web.Application()

    async def chat(request: web.Request) -> web.Response:
        completion = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "whole"}, "finish_reason": "stop"}],
        }
        return web.json_response(completion)

    upstream_app.router.add_post("/v1/chat/completions", chat)
    upstream = await aiohttp_server(upstream_app)
    table = build_table("", [RouteSpec("plain", base_url=str(upstream.make_url("/v1")).rstrip("/"))])
    gateway = await make_gateway(table=table)
    async with gateway.sdk() as sdk:
        stream = await sdk.chat.completions.create(model="plain", stream=True, **CHAT)  # type: ignore[call-overload]
        pieces: list[str] = []
        finish: list[str | None] = []
        async for chunk in stream:
            pieces.append(chunk.choices[0].delta.content or "")
            finish.append(chunk.choices[0].finish_reason)
    assert "".join(pieces) == "whole"
    assert finish[-1] == "stop"


async def test_a_chunk_split_over_several_data_lines_reaches_the_client_as_one_frame(
    make_gateway: GatewayFactory, aiohttp_server: AiohttpServer
) -> None:
    upstream_app = web.Application()

    async def chat(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        chunk = chat_chunk("two lines")
        pretty = orjson.dumps(chunk, option=orjson.OPT_INDENT_2).decode()
        await response.write("".join(f"data: {line}\n" for line in pretty.splitlines()).encode() + b"\n")
        finish = {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        await response.write(b"data: " + orjson.dumps(finish) + b"\n\ndata: [DONE]\n\n")
        await response.write_eof()
        return response

    upstream_app.router.add_post("/v1/chat/completions", chat)
    upstream = await aiohttp_server(upstream_app)
    table = build_table("", [RouteSpec("plain", base_url=str(upstream.make_url("/v1")).rstrip("/"))])
    gateway = await make_gateway(table=table)
    async with gateway.sdk() as sdk:
        stream = await sdk.chat.completions.create(model="plain", stream=True, **CHAT)  # type: ignore[call-overload]
        pieces = [chunk.choices[0].delta.content or "" async for chunk in stream]
    assert "".join(pieces) == "two lines"
