"""Retry amplification (issue 11.3): once the gateway has run its own retries, OpenAI SDK clients are told not
to retry again (`x-should-retry: false`), and the upstream's `Retry-After` / `retry-after-ms` reach them.

Measured with the real `openai` SDK at its default `max_retries` (2) against a loopback upstream answering
429: without the header, one call cost 3 client attempts times 2 gateway attempts = 6 upstream requests.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any, Literal

import openai
import orjson
import pytest
from pytest_aiohttp import AiohttpServer

from tests.gateway.conftest import GatewayFactory, RouteSpec
from tests.gateway.upstreams import CREATED, frame, scripted_app, scripted_key

RATE_LIMITED = orjson.dumps(
    {"error": {"message": "Rate limit reached.", "type": "requests", "param": None, "code": "rate_limit_exceeded"}}
)
MESSAGES = [{"role": "user", "content": "hello"}]


async def _gateway(
    make_gateway: GatewayFactory,
    aiohttp_server: AiohttpServer,
    *,
    mode: Literal["chat", "responses"],
    status: int = 429,
    body: bytes = RATE_LIMITED,
    headers: dict[str, str] | None = None,
    settings: dict[str, Any] | None = None,
) -> tuple[Any, list[dict[str, object]]]:
    app = scripted_app(status, body, headers=headers)
    upstream = await aiohttp_server(app)
    spec = RouteSpec("limited", mode=mode, base_url=str(upstream.make_url("/v1")), settings=settings or {})
    return await make_gateway([spec]), app[scripted_key]


async def _call(sdk: openai.AsyncOpenAI, path: str, stream: bool) -> Any:
    if path == "/v1/responses":
        return await sdk.responses.create(model="limited", input="hello", stream=stream)
    return await sdk.chat.completions.create(
        model="limited", messages=[{"role": "user", "content": "hello"}], stream=stream
    )


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize(
    ("mode", "path"),
    [("chat", "/v1/chat/completions"), ("responses", "/v1/chat/completions"), ("responses", "/v1/responses")],
    ids=["chat-passthrough", "bridge", "responses-passthrough"],
)
async def test_one_429_costs_only_the_gateways_attempts_with_a_default_sdk_client(
    make_gateway: GatewayFactory,
    aiohttp_server: AiohttpServer,
    mode: Literal["chat", "responses"],
    path: str,
    stream: bool,
) -> None:
    gateway, seen = await _gateway(
        make_gateway, aiohttp_server, mode=mode, headers={"retry-after-ms": "40", "Retry-After": "1"}
    )
    sdk = openai.AsyncOpenAI(base_url=gateway.base_url, api_key="unused", timeout=20.0)  # default max_retries
    assert sdk.max_retries == 2
    async with sdk:
        with pytest.raises(openai.RateLimitError) as raised:
            await _call(sdk, path, stream)
    assert len(seen) == 2, "the route's default two attempts, and no client retry on top"
    headers = raised.value.response.headers
    assert headers["x-should-retry"] == "false"
    assert headers["retry-after-ms"] == "40"
    assert headers["retry-after"] == "1"
    endpoint_alias_requests = gateway.metric(
        "aliasgate_requests_total", alias="limited", mode=mode, stream=str(stream).lower(), code="429"
    )
    assert endpoint_alias_requests == 1
    assert gateway.metric("aliasgate_upstream_retries_total", alias="limited") == 1


async def test_an_http_date_retry_after_is_passed_on_as_seconds(
    make_gateway: GatewayFactory, aiohttp_server: AiohttpServer
) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    gateway, seen = await _gateway(
        make_gateway,
        aiohttp_server,
        mode="chat",
        headers={"Retry-After": when},
        settings={"retries": {"attempts": 1}},
    )
    resp = await gateway.client.post("/v1/chat/completions", json={"model": "limited", "messages": MESSAGES})
    assert resp.status == 429
    assert 28 <= int(resp.headers["Retry-After"]) <= 31
    assert int(resp.headers["retry-after-ms"]) == int(resp.headers["Retry-After"]) * 1000
    assert resp.headers["x-should-retry"] == "false", "one attempt is the route's policy too"
    assert len(seen) == 1


async def test_an_in_stream_rate_limit_tells_the_wait_from_its_message(
    make_gateway: GatewayFactory, aiohttp_server: AiohttpServer
) -> None:
    error = {
        "type": "error",
        "sequence_number": 1,
        "code": "rate_limit_exceeded",
        "message": "Rate limit reached. Please try again in 1.5s.",
        "param": None,
    }
    fast = {"retries": {"attempts": 2, "backoffSeconds": 0.001, "backoffMaxSeconds": 0.01}}
    gateway, seen = await _gateway(
        make_gateway, aiohttp_server, mode="responses", status=200, body=frame(CREATED) + frame(error), settings=fast
    )
    resp = await gateway.client.post("/v1/chat/completions", json={"model": "limited", "messages": MESSAGES})
    assert resp.status == 429
    assert (resp.headers["Retry-After"], resp.headers["retry-after-ms"]) == ("2", "1500")
    assert resp.headers["x-should-retry"] == "false"
    assert len(seen) == 2


async def test_errors_the_gateway_did_not_retry_leave_the_client_free_to(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(load_table=False)
    resp = await gateway.client.post("/v1/chat/completions", json={"model": "team/chat", "messages": MESSAGES})
    assert resp.status == 503
    assert "x-should-retry" not in resp.headers, "no table yet: a client retry may well succeed"
    gateway = await make_gateway()
    resp = await gateway.client.post("/v1/chat/completions", json={"model": "nope", "messages": MESSAGES})
    assert resp.status == 404
    assert "x-should-retry" not in resp.headers
