"""Bad input gets an OpenAI-format 4xx naming the parameter; nothing reaches the upstream."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.settings import GatewaySettings
from tests.gateway.conftest import Gateway, GatewayFactory

MSG = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("body", "status", "param", "code"),
    [
        (b"{not json", 400, None, "invalid_request"),
        (b"[1, 2]", 400, None, "invalid_request"),
        (b"", 400, None, "invalid_request"),
        (b'{"messages": []}', 400, "model", "missing_required_parameter"),
        (b'{"model": 7, "messages": []}', 400, "model", "invalid_type"),
        (b'{"model": "team/chat"}', 400, "messages", "missing_required_parameter"),
        (b'{"model": "team/chat", "messages": []}', 400, "messages", "empty_array"),
        (b'{"model": "team/chat", "messages": "hi"}', 400, "messages", "invalid_type"),
        (b'{"model": "team/chat", "messages": [{"role": "robot"}]}', 400, "messages[0].role", "invalid_value"),
        (b'{"model": "team/chat", "messages": [{"role": "user", "content": 5}]}', 400, "messages[0].content", "invalid_type"),
        (b'{"model": "team/chat", "messages": [{"role": "user"}], "temperature": "hot"}', 400, "temperature", "invalid_type"),
        (b'{"model": "team/chat", "messages": [{"role": "user"}], "stream": "yes"}', 400, "stream", "invalid_type"),
        (b'{"model": "team/chat", "messages": [{"role": "user"}], "max_tokens": true}', 400, "max_tokens", "invalid_type"),
        (b'{"model": "team/chat", "messages": [{"role": "user"}], "stream_options": {"include_usage": 1}}', 400, "stream_options.include_usage", "invalid_type"),
        (b'{"model": "no/such", "messages": [{"role": "user"}]}', 404, "model", "model_not_found"),
    ],
)  # fmt: skip
async def test_bad_chat_requests_are_refused(
    gateway: Gateway, body: bytes, status: int, param: str | None, code: str
) -> None:
    resp = await gateway.client.post("/v1/chat/completions", data=body, headers={"Content-Type": "application/json"})
    assert resp.status == status
    error = (await resp.json())["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["param"] == param
    assert error["code"] == code
    assert gateway.sim.requests == []


@pytest.mark.parametrize(
    ("extra", "param"),
    [({"logit_bias": {"1": 2}}, "logit_bias"), ({"audio": {"voice": "x"}}, "audio")],
)
async def test_parameters_the_bridge_cannot_carry_are_named(
    gateway: Gateway, extra: dict[str, Any], param: str
) -> None:
    resp = await gateway.client.post("/v1/chat/completions", json={"model": "team/responses", "messages": MSG} | extra)
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error["param"] == param
    assert param in error["message"]
    assert gateway.sim.requests == []


async def test_bodies_over_the_limit_get_413(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(settings=GatewaySettings(max_body_bytes=2048))
    big = {"model": "team/chat", "messages": [{"role": "user", "content": "x" * 4096}]}
    resp = await gateway.client.post("/v1/chat/completions", json=big)
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "request_too_large"

    async def chunks() -> Any:
        for _ in range(8):
            yield b" " * 512

    resp = await gateway.client.post("/v1/responses", data=chunks())
    assert resp.status == 413
    error = (await resp.json())["error"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "request_too_large")
    assert gateway.sim.requests == []


async def test_unknown_paths_and_methods_use_the_error_envelope(gateway: Gateway) -> None:
    resp = await gateway.client.get("/v1/nothing")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"
    resp = await gateway.client.get("/v1/chat/completions")
    assert resp.status == 405
    assert (await resp.json())["error"]["code"] == "method_not_allowed"


async def test_bad_requests_are_counted_under_the_unknown_alias_label(gateway: Gateway) -> None:
    await gateway.client.post("/v1/chat/completions", json={"model": "x" * 300, "messages": MSG})
    await gateway.client.post("/v1/chat/completions", json={"model": "team/chat", "messages": "nope"})
    metrics = await (await gateway.admin.get("/metrics")).text()
    assert "x" * 300 not in metrics
    assert gateway.metric("aliasgate_requests_total", alias="_unknown", mode="none", stream="false", code="404") == 1
    assert gateway.metric("aliasgate_requests_total", alias="_unknown", mode="none", stream="false", code="400") == 1
