"""Through the gateway: a Responses upstream that sends no `created_at` and no `usage` gets a chat answer with
`created` = the time the gateway received the request and no usage, streaming and not alike."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from pytest_aiohttp import AiohttpServer

from tests.gateway.conftest import GatewayFactory, RouteSpec
from tests.gateway.upstreams import frame, scripted_app

MESSAGE = {
    "id": "msg_bare",
    "type": "message",
    "role": "assistant",
    "status": "completed",
    "content": [{"type": "output_text", "text": "bare answer", "annotations": []}],
}
BARE_EVENTS: list[dict[str, object]] = [
    {"type": "response.created", "response": {"id": "resp_bare"}},
    {"type": "response.output_item.done", "output_index": 0, "item": MESSAGE},
    {"type": "response.completed", "response": {"id": "resp_bare", "status": "completed", "output": []}},
]
BARE_STREAM = b"".join(frame(event) for event in BARE_EVENTS)
BARE_JSON = orjson.dumps({"id": "resp_bare", "object": "response", "status": "completed", "output": [MESSAGE]})
CHAT = {"model": "bare", "messages": [{"role": "user", "content": "hello"}]}


async def _gateway(make_gateway: GatewayFactory, aiohttp_server: AiohttpServer, body: bytes) -> Any:
    upstream = await aiohttp_server(scripted_app(200, body))
    return await make_gateway([RouteSpec("bare", mode="responses", base_url=str(upstream.make_url("/v1")))])


@pytest.mark.parametrize("upstream_body", [BARE_STREAM, BARE_JSON], ids=["sse", "json"])
async def test_non_stream_answer_has_the_receive_time_and_no_usage(
    make_gateway: GatewayFactory, aiohttp_server: AiohttpServer, upstream_body: bytes
) -> None:
    gateway = await _gateway(make_gateway, aiohttp_server, upstream_body)
    before = int(time.time())
    resp = await gateway.client.post("/v1/chat/completions", json=CHAT)
    after = int(time.time())
    body = await resp.json()
    assert resp.status == 200
    assert body["choices"][0]["message"]["content"] == "bare answer"
    assert before <= body["created"] <= after
    assert "usage" not in body


async def test_stream_has_the_receive_time_throughout_and_a_null_usage_chunk(
    make_gateway: GatewayFactory, aiohttp_server: AiohttpServer
) -> None:
    gateway = await _gateway(make_gateway, aiohttp_server, BARE_STREAM)
    before = int(time.time())
    async with gateway.sdk() as sdk:
        stream = await sdk.chat.completions.create(
            model="bare",
            messages=[{"role": "user", "content": "hello"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    after = int(time.time())
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "bare answer"
    created = {chunk.created for chunk in chunks}
    assert len(created) == 1
    assert before <= created.pop() <= after
    assert chunks[-1].choices == []
    assert chunks[-1].usage is None
