"""An upstream answer that completed with an empty output and nothing to rebuild it from is a failed attempt:
retried, then a fallback, and only then an honest error for the client (502 ``empty_upstream_response``, or
an error frame once the stream started) — never an HTTP 200 with empty content counted as a success. The
metric (``aliasgate_bridge_unrecoverable_total``, per attempt, by the alias that answered empty), passive
health and the alert's text all say the same."""

from __future__ import annotations

import orjson
import pytest
from pytest_aiohttp import AiohttpServer

from gateway.settings import GatewaySettings
from tests.gateway.conftest import FAST_RETRIES, GatewayFactory, RouteSpec
from tests.gateway.upstreams import empty_answer_app, hits_key

CHAT = {"messages": [{"role": "user", "content": "hello"}]}


async def _models(gateway: object) -> dict[str, dict[str, object]]:
    admin = gateway.admin  # type: ignore[attr-defined]
    models: dict[str, dict[str, object]] = (await (await admin.get("/health/models")).json())["models"]
    return models


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", {"model": "empty", **CHAT}),
        ("/v1/chat/completions", {"model": "empty", "stream": True, **CHAT}),
        ("/v1/responses", {"model": "empty", "input": "hello"}),
        ("/v1/responses", {"model": "empty", "stream": True, "input": "hello"}),
    ],
    ids=["chat", "chat-stream", "responses", "responses-stream"],
)
async def test_an_empty_completed_answer_is_retried_then_a_502_and_counts_against_the_alias(
    make_gateway: GatewayFactory, aiohttp_server: AiohttpServer, path: str, body: dict[str, object]
) -> None:
    upstream = empty_answer_app()
    server = await aiohttp_server(upstream)
    base = str(server.make_url("/v1"))
    gateway = await make_gateway([RouteSpec("empty", mode="responses", base_url=base, settings=FAST_RETRIES)])
    resp = await gateway.client.post(path, json=body)
    assert resp.status == 502
    error = (await resp.json())["error"]
    assert error["code"] == "empty_upstream_response"
    assert error["type"] == "server_error"
    assert len(upstream[hits_key]) == 3  # every attempt retried, as for any bad answer
    assert gateway.metric("aliasgate_bridge_unrecoverable_total", alias="empty") == 3
    assert (await _models(gateway))["empty"]["consecutiveFailures"] == 1
    mode_stream = {"mode": "responses", "stream": "true" if body.get("stream") else "false"}
    assert gateway.metric("aliasgate_requests_total", alias="empty", code="502", **mode_stream) == 1
    assert gateway.metric("aliasgate_requests_total", alias="empty", code="200", **mode_stream) == 0


async def test_a_stream_already_started_gets_an_error_frame_and_done(
    make_gateway: GatewayFactory, aiohttp_server: AiohttpServer
) -> None:
    """The answer comes after a keepalive started the response: no retry is possible any more, so the
    client gets the error frame and ``[DONE]`` instead of an empty assistant turn."""
    server = await aiohttp_server(empty_answer_app(silence=0.3))
    gateway = await make_gateway(
        [RouteSpec("empty", mode="responses", base_url=str(server.make_url("/v1")), settings=FAST_RETRIES)],
        settings=GatewaySettings(sse_keepalive_seconds=0.1),
    )
    resp = await gateway.client.post("/v1/chat/completions", json={"model": "empty", "stream": True, **CHAT})
    assert resp.status == 200
    raw = await resp.read()
    frames = [block[6:] for block in raw.split(b"\n\n") if block.startswith(b"data: ")]
    assert frames[-1] == b"[DONE]"
    assert orjson.loads(frames[-2])["error"]["code"] == "empty_upstream_response"
    assert not any(b'"choices"' in frame for frame in frames)  # no empty assistant turn
    assert gateway.metric("aliasgate_bridge_unrecoverable_total", alias="empty") == 1


async def test_a_fallback_answers_when_the_primary_answered_empty(
    make_gateway: GatewayFactory, aiohttp_server: AiohttpServer
) -> None:
    server = await aiohttp_server(empty_answer_app())
    gateway = await make_gateway(
        [
            RouteSpec(
                "empty",
                mode="responses",
                base_url=str(server.make_url("/v1")),
                settings={**FAST_RETRIES, "fallbacks": ["team/chat"]},
            ),
            RouteSpec("team/chat", mode="chat", model="gpt-4.1-mini", settings=FAST_RETRIES),
        ]
    )
    resp = await gateway.client.post("/v1/chat/completions", json={"model": "empty", **CHAT})
    assert resp.status == 200
    assert (await resp.json())["choices"][0]["message"]["content"] == "You said: hello"
    assert gateway.metric("aliasgate_bridge_unrecoverable_total", alias="empty") == 3
    assert gateway.metric("aliasgate_bridge_unrecoverable_total", alias="team/chat") == 0
    models = await _models(gateway)
    assert models["empty"]["consecutiveFailures"] == 1
    assert models["team/chat"]["healthy"] is True


async def test_an_incomplete_empty_answer_is_the_upstreams_answer(
    make_gateway: GatewayFactory, aiohttp_server: AiohttpServer
) -> None:
    """``response.incomplete`` says why it is empty (here a content filter): passed on, not an error."""
    server = await aiohttp_server(empty_answer_app(status="incomplete"))
    gateway = await make_gateway([RouteSpec("empty", mode="responses", base_url=str(server.make_url("/v1")))])
    resp = await gateway.client.post("/v1/chat/completions", json={"model": "empty", **CHAT})
    assert resp.status == 200
    assert (await resp.json())["choices"][0]["finish_reason"] == "content_filter"
    assert gateway.metric("aliasgate_bridge_unrecoverable_total", alias="empty") == 0
