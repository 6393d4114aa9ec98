"""POST /v1/responses on chat-mode routes: the reverse bridge wired into the request path.

The openai SDK (which validates every event it parses) against the simulator's Chat Completions upstream,
plus small inline upstreams for answers the simulator does not give. Each test also checks what the
gateway counted: the mode label, tokens, time to first token, upstream errors and passive health.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import aiohttp
import openai
import orjson
import pytest
from aiohttp import web
from openai.types.responses import FunctionToolParam, Response, ResponseFunctionToolCall
from pytest_aiohttp import AiohttpServer

from aliasgate.simulator import SimulatorConfig, create_simulator_app
from gateway.app import create_app, serve
from gateway.credentials.files import DirectoryCredentialStore
from gateway.keys import metrics_key
from gateway.settings import GatewaySettings
from tests.gateway.conftest import (
    FAST_RETRIES,
    Gateway,
    GatewayFactory,
    RouteSpec,
    StaticTableSource,
    build_table,
    write_secrets,
)
from tests.support.ports import free_port
from tests.support.processes import wait_http_ok

CHAT = "team/chat"
TOOL: FunctionToolParam = {
    "type": "function",
    "name": "lookup",
    "description": "Look something up",
    "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
    "strict": False,
}


def _events(raw: bytes) -> list[dict[str, Any]]:
    """The data of every SSE event, checked against its `event:` line."""
    events: list[dict[str, Any]] = []
    for block in raw.split(b"\n\n"):
        lines = block.split(b"\n")
        names = [line[7:].decode() for line in lines if line.startswith(b"event: ")]
        for line in lines:
            if line.startswith(b"data: "):
                event = orjson.loads(line[6:])
                assert names == [event["type"]]
                events.append(event)
    return events


def _backend(gateway: Gateway, alias: str) -> str:
    table = gateway.holder.current
    assert table is not None
    target = table.get(alias)
    assert target is not None
    return target.backend.key


async def test_a_non_streaming_caller_gets_one_response_and_is_counted_in_chat_mode(gateway: Gateway) -> None:
    before = time.time()
    async with gateway.sdk() as sdk:
        response = await sdk.responses.create(
            model=CHAT, input="hello bridge", instructions="Be brief.", max_output_tokens=50, temperature=0.2
        )
    assert response.output_text == "You said: hello bridge"
    assert response.status == "completed"
    assert response.model == CHAT
    assert response.id.startswith("resp_")
    assert before - 1 <= response.created_at <= time.time() + 1  # the gateway's clock, never 0
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (2, 8)
    [seen] = gateway.sim.requests
    assert seen.path == "/v1/chat/completions"
    assert seen.body["model"] == "gpt-4.1-mini"
    assert seen.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello bridge"},
    ]
    assert seen.body["max_completion_tokens"] == 50  # an `openai` chat backend
    assert seen.body["stream"] is False
    labels = {"alias": CHAT, "mode": "chat", "stream": "false", "code": "200"}
    assert gateway.metric("aliasgate_requests_total", **labels) == 1
    assert gateway.metric("aliasgate_tokens_total", alias=CHAT, type="prompt") == 2
    assert gateway.metric("aliasgate_tokens_total", alias=CHAT, type="completion") == 8
    assert gateway.metric("aliasgate_time_to_first_token_seconds_count", alias=CHAT) == 1


async def test_a_streaming_caller_gets_every_event_the_sdk_expects(
    gateway: Gateway, captured_logs: list[MutableMapping[str, Any]]
) -> None:
    async with gateway.sdk() as sdk:
        stream = await sdk.responses.create(model=CHAT, input="stream to me", stream=True)
        events = [event async for event in stream]
    kinds = [event.type for event in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert "response.output_text.delta" in kinds
    assert [event.sequence_number for event in events] == list(range(len(events)))
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.output_text == "You said: stream to me"
    assert completed.response.id == events[0].response.id  # type: ignore[union-attr]
    [seen] = gateway.sim.requests
    assert seen.body["stream"] is True
    assert seen.body["stream_options"] == {"include_usage": True}
    assert gateway.metric("aliasgate_requests_total", alias=CHAT, mode="chat", stream="true", code="200") == 1
    assert gateway.metric("aliasgate_tokens_total", alias=CHAT, type="completion") == 8
    assert gateway.metric("aliasgate_time_to_first_token_seconds_count", alias=CHAT) == 1
    (logged,) = [e for e in captured_logs if e.get("event") == "request_completed"]
    assert (logged["endpoint"], logged["mode"], logged["error_code"]) == ("responses", "chat", None)
    assert 0 < logged["ttft_seconds"] <= logged["duration_seconds"]


@pytest.mark.parametrize("stream", [False, True])
async def test_a_tool_round_trip_through_the_bridge(gateway: Gateway, stream: bool) -> None:
    async with gateway.sdk() as sdk:
        first: Response
        if stream:
            events = [
                e async for e in await sdk.responses.create(model=CHAT, input="find #tool", tools=[TOOL], stream=True)
            ]
            assert "response.function_call_arguments.delta" in [e.type for e in events]
            assert events[-1].type == "response.completed"
            first = events[-1].response
        else:
            first = await sdk.responses.create(model=CHAT, input="find #tool", tools=[TOOL])
        [call] = [item for item in first.output if isinstance(item, ResponseFunctionToolCall)]
        assert call.name == "lookup"
        assert orjson.loads(call.arguments) == {"q": "find #tool"}
        history: list[Any] = [
            {"role": "user", "content": "find #tool"},
            {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
            {"type": "function_call_output", "call_id": call.call_id, "output": "42 cats"},
        ]
        second = await sdk.responses.create(model=CHAT, input=history, tools=[TOOL])
    assert second.output_text == "Tool said: 42 cats"
    sent = gateway.sim.requests[-1].body["messages"]
    assert sent[1]["tool_calls"][0]["id"] == call.call_id
    assert sent[2] == {"role": "tool", "tool_call_id": call.call_id, "content": "42 cats"}


async def test_a_request_that_needs_stored_state_is_a_400_before_anything_is_sent(gateway: Gateway) -> None:
    async with gateway.sdk() as sdk:
        with pytest.raises(openai.BadRequestError) as caught:
            await sdk.responses.create(model=CHAT, input="again", previous_response_id="resp_earlier")
    error = caught.value.body
    assert isinstance(error, dict)
    assert error["param"] == "previous_response_id"
    assert "send the whole conversation" in error["message"]
    assert gateway.sim.requests == []
    assert gateway.metric("aliasgate_requests_total", alias=CHAT, mode="chat", stream="false", code="400") == 1


async def test_a_503_before_output_is_retried_and_counted_upstream(gateway: Gateway) -> None:
    gateway.sim.enqueue("status:503")
    async with gateway.sdk() as sdk:
        events = [e.type async for e in await sdk.responses.create(model=CHAT, input="retry me", stream=True)]
    assert events[-1] == "response.completed"
    assert len(gateway.sim.requests) == 2
    backend = _backend(gateway, CHAT)
    assert gateway.metric("aliasgate_upstream_requests_total", backend=backend, code="503") == 1
    assert gateway.metric("aliasgate_upstream_requests_total", backend=backend, code="200") == 1
    assert gateway.metric("aliasgate_upstream_retries_total", alias=CHAT) == 1


@pytest.mark.parametrize("stream", [False, True])
async def test_an_upstream_error_before_output_is_a_plain_http_error(gateway: Gateway, stream: bool) -> None:
    gateway.sim.enqueue("status:400")
    resp = await gateway.client.post("/v1/responses", json={"model": CHAT, "input": "bad", "stream": stream})
    assert resp.status == 400
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert body["error"]["type"] == "invalid_request_error"
    assert len(gateway.sim.requests) == 1  # a client error is not retried


async def test_a_failure_after_output_is_one_response_failed_event(
    gateway: Gateway, captured_logs: list[MutableMapping[str, Any]]
) -> None:
    resp = await gateway.client.post("/v1/responses", json={"model": CHAT, "input": "x #fail", "stream": True})
    assert resp.status == 200
    events = _events(await resp.read())
    assert [e["type"] for e in events].count("response.failed") == 1
    failed = events[-1]
    assert failed["type"] == "response.failed"
    assert failed["response"]["error"]["message"] == "The model failed to generate a response."
    assert failed["response"]["output"][0]["status"] == "incomplete"
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    (logged,) = [e for e in captured_logs if e.get("event") == "request_completed"]
    assert logged["error_code"] is not None


async def test_a_cut_after_output_ends_with_response_failed_and_is_logged(
    gateway: Gateway, captured_logs: list[MutableMapping[str, Any]]
) -> None:
    async with gateway.sdk() as sdk:
        stream = await sdk.responses.create(model=CHAT, input="x #cut", stream=True)
        kinds = [event.type async for event in stream]
    assert "response.output_text.delta" in kinds
    assert kinds[-1] == "response.failed"
    (logged,) = [e for e in captured_logs if e.get("event") == "request_completed"]
    assert logged["error_code"] == "upstream_unavailable"  # the connection broke mid-body
    assert gateway.upstream_connections() == 0


async def test_a_stall_after_output_becomes_response_failed_naming_the_timeout(make_gateway: GatewayFactory) -> None:
    routes = [RouteSpec("slow", settings={"timeouts": {"idleSeconds": 0.2}, "retries": {"attempts": 1}})]
    gateway = await make_gateway(routes, sim_config=SimulatorConfig(stall_seconds=5.0))
    resp = await gateway.client.post("/v1/responses", json={"model": "slow", "input": "wait #stall", "stream": True})
    events = _events(await resp.read())
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["error"]["code"] == "upstream_timeout"
    assert any(e["type"] == "response.output_text.delta" for e in events)
    assert gateway.upstream_connections() == 0


async def test_a_reasoning_gap_opens_the_stream_on_a_keepalive(make_gateway: GatewayFactory) -> None:
    settings = GatewaySettings(probe_min_interval_seconds=0.0, sse_keepalive_seconds=0.15)
    gateway = await make_gateway([RouteSpec("chat")], sim_config=SimulatorConfig(think_seconds=0.6), settings=settings)
    loop = asyncio.get_running_loop()
    started = loop.time()
    resp = await gateway.client.post("/v1/responses", json={"model": "chat", "input": "ponder #think", "stream": True})
    assert loop.time() - started < 0.5  # the response started within the keepalive window, not after the gap
    raw = await resp.read()
    keepalive = raw.index(b": keepalive\n\n")
    assert raw.index(b"event: response.in_progress") < keepalive < raw.index(b"event: response.output_item.added")
    assert _events(raw)[-1]["type"] == "response.completed"
    async with gateway.sdk() as sdk:  # the SDK ignores the comments
        kinds = [e.type async for e in await sdk.responses.create(model="chat", input="ponder #think", stream=True)]
    assert kinds[-1] == "response.completed"


async def test_passive_health_counts_live_failures_of_the_bridged_route(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway([RouteSpec("live", settings=FAST_RETRIES)])
    gateway.sim.enqueue("status:503", count=9)
    for expected in (None, None, False):
        resp = await gateway.client.post("/v1/responses", json={"model": "live", "input": "hi"})
        assert resp.status == 503
        assert resp.headers["x-should-retry"] == "false"  # the gateway's retries were the retries
        models = (await (await gateway.admin.get("/health/models")).json())["models"]
        assert models["live"]["healthy"] is expected
    assert gateway.metric("aliasgate_model_healthy", alias="live") == 0
    assert (await gateway.client.post("/v1/responses", json={"model": "live", "input": "hi"})).status == 200
    assert gateway.metric("aliasgate_model_healthy", alias="live") == 1


async def test_fallbacks_cross_modes_in_both_directions(make_gateway: GatewayFactory) -> None:
    no_retry = {"retries": {"attempts": 1}}
    routes = [
        RouteSpec("chat-first", mode="chat", settings={**no_retry, "fallbacks": ["responses-second"]}),
        RouteSpec("responses-second", mode="responses", settings=no_retry),
        RouteSpec("responses-first", mode="responses", settings={**no_retry, "fallbacks": ["chat-second"]}),
        RouteSpec("chat-second", mode="chat", settings=no_retry),
    ]
    gateway = await make_gateway(routes)
    async with gateway.sdk() as sdk:
        for first, second, paths in (
            ("chat-first", "responses-second", ["/v1/chat/completions", "/v1/responses"]),
            ("responses-first", "chat-second", ["/v1/responses", "/v1/chat/completions"]),
        ):
            gateway.sim.requests.clear()
            gateway.sim.enqueue("status:503")
            response = await sdk.responses.create(model=first, input="fall over")
            assert response.output_text == "You said: fall over"
            assert [r.path for r in gateway.sim.requests] == paths
            assert gateway.metric("aliasgate_fallbacks_total", alias=first, fallback=second) == 1


async def test_route_settings_of_a_chat_route_apply_to_the_chat_body(make_gateway: GatewayFactory) -> None:
    settings = {"requestDefaults": {"max_tokens": 77, "temperature": 0.1}, "requestOverrides": {"seed": 7}}
    gateway = await make_gateway([RouteSpec("tuned", provider="openai-compatible", settings=settings)])
    async with gateway.sdk() as sdk:
        await sdk.responses.create(model="tuned", input="hi", temperature=0.9)
    [seen] = gateway.sim.requests
    assert (seen.body["max_tokens"], seen.body["temperature"], seen.body["seed"]) == (77, 0.9, 7)


async def test_an_upstream_answering_json_to_a_stream_request_still_streams_responses_events(
    make_gateway: GatewayFactory, aiohttp_server: AiohttpServer
) -> None:
    upstream_app = web.Application()

    async def chat(request: web.Request) -> web.Response:
        message = {"role": "assistant", "content": "whole", "reasoning_content": "think first"}
        completion = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8},
        }
        return web.json_response(completion)

    upstream_app.router.add_post("/v1/chat/completions", chat)
    upstream = await aiohttp_server(upstream_app)
    table = build_table("", [RouteSpec("plain", base_url=str(upstream.make_url("/v1")).rstrip("/"))])
    gateway = await make_gateway(table=table)
    async with gateway.sdk() as sdk:
        events = [e async for e in await sdk.responses.create(model="plain", input="hi", stream=True)]
        whole = await sdk.responses.create(model="plain", input="hi")
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.output_text == "whole"
    assert [item.type for item in completed.response.output] == ["reasoning", "message"]
    assert "response.reasoning_summary_text.delta" in [e.type for e in events]
    assert [item.type for item in whole.output] == ["reasoning", "message"]
    assert gateway.metric("aliasgate_tokens_total", alias="plain", type="completion") == 10


async def test_a_client_that_goes_away_mid_stream_closes_the_chat_upstream(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(sim_config=SimulatorConfig(slow_interval_seconds=0.2))
    assert gateway.sim_server.runner is not None
    server = gateway.sim_server.runner.server
    assert server is not None
    url = gateway.client.make_url("/v1/responses")
    async with aiohttp.ClientSession() as session:
        resp = await session.post(url, json={"model": CHAT, "input": "x #slow", "stream": True})
        assert resp.status == 200
        while b"response.output_text.delta" not in await resp.content.readline():
            pass
        assert len(server.connections) == 1
        resp.close()
    async with asyncio.timeout(5):
        while server.connections or not gateway.metric("aliasgate_client_disconnects_total", alias=CHAT):
            await asyncio.sleep(0.025)
    assert gateway.metric("aliasgate_requests_total", alias=CHAT, mode="chat", stream="true", code="499") == 1
    assert gateway.upstream_connections() == 0


async def test_at_the_shutdown_deadline_a_bridged_stream_ends_with_one_response_failed(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    sim = await aiohttp_server(create_simulator_app(SimulatorConfig(stall_seconds=120.0)))
    table = build_table(str(sim.make_url("")).rstrip("/"), [RouteSpec(CHAT, model="gpt-4.1-mini")])
    port = free_port()
    settings = GatewaySettings(
        listen=f"127.0.0.1:{port}", admin_listen=f"127.0.0.1:{free_port()}", shutdown_grace_seconds=0.3
    )
    app = create_app(
        settings,
        table_source=StaticTableSource(table),
        credentials=DirectoryCredentialStore(write_secrets(tmp_path / "secrets")),
        probing=False,
    )
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, settings, stop=stop))
    try:
        await wait_http_ok(f"http://127.0.0.1:{port}/v1/models", timeout_seconds=10)
        async with aiohttp.ClientSession() as session:
            body = {"model": CHAT, "input": "wait #stall", "stream": True}
            async with session.post(f"http://127.0.0.1:{port}/v1/responses", json=body) as resp:
                assert resp.status == 200
                head = b""
                while b"response.output_text.delta" not in head:
                    head += await resp.content.readline()
                stop.set()
                rest = await asyncio.wait_for(resp.read(), 5)
    finally:
        stop.set()
        await asyncio.wait_for(server, 5)
    events = _events(head + rest)
    assert [e["type"] for e in events].count("response.failed") == 1
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["error"]["code"] == "server_shutting_down"
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert app[metrics_key].value("aliasgate_shutdown_cuts_total", {"alias": CHAT}) == 1
