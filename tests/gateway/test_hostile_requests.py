"""Hand-made hostile requests: each is the client's fault, so each gets a 4xx in the OpenAI envelope (never a
500), quickly, without reaching the upstream, and without echoing unbounded client input."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from gateway.limits import MAX_JSON_DEPTH
from gateway.settings import GatewaySettings
from tests.gateway.conftest import Gateway, GatewayFactory

MSG = [{"role": "user", "content": "hi"}]


def _nested(depth: int) -> Any:
    value: Any = {}
    for level in range(depth - 1):
        value = [value] if level % 2 else {"p": value}
    return value


def _tools_nested(depth: int) -> dict[str, Any]:
    """A chat request whose ``tools[0].function.parameters`` makes the whole body ``depth`` levels deep."""
    # body(1) → tools(2) → [0](3) → function(4) → parameters(5..)
    return {
        "model": "team/responses",
        "messages": MSG,
        "tools": [{"type": "function", "function": {"name": "f", "parameters": _nested(depth - 4)}}],
    }


def _tools_nested_raw(depth: int, alias: str) -> bytes:
    """:func:`_tools_nested` as text, for depths orjson will not encode (over 254)."""
    inner = depth - 5
    parameters = b"[" * inner + b"{}" + b"]" * inner
    head = orjson.dumps({"model": alias, "messages": MSG})[:-1]
    return head + b',"tools":[{"type":"function","function":{"name":"f","parameters":' + parameters + b"}}]}"


def _assert_envelope(error: dict[str, Any]) -> None:
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str)
    assert error["message"]


@pytest.mark.parametrize("role", [{}, [], ["user"], 7, True, 1.5, {"a": "user"}])
@pytest.mark.parametrize("path", ["/v1/chat/completions"])
async def test_a_role_that_is_not_a_string_is_a_400(gateway: Gateway, role: object, path: str) -> None:
    resp = await gateway.client.post(path, json={"model": "team/chat", "messages": [{"role": role}]})
    assert resp.status == 400, await resp.text()
    error = (await resp.json())["error"]
    _assert_envelope(error)
    assert error["param"] == "messages[0].role"
    assert gateway.sim.requests == []


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 254, 255, 300, 600, 1000, 1023])
@pytest.mark.parametrize("alias", ["team/responses", "team/chat"])
async def test_bodies_nested_too_deep_are_refused_at_parse_time(gateway: Gateway, depth: int, alias: str) -> None:
    body = _tools_nested_raw(depth, alias)
    resp = await gateway.client.post("/v1/chat/completions", data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 400, (await resp.text())[:300]
    error = (await resp.json())["error"]
    _assert_envelope(error)
    assert error["code"] == "json_too_deep"
    assert str(MAX_JSON_DEPTH) in error["message"]
    assert gateway.sim.requests == []


async def test_bodies_beyond_what_the_parser_accepts_are_a_400(gateway: Gateway) -> None:
    resp = await gateway.client.post("/v1/chat/completions", data=_tools_nested_raw(5000, "team/chat"))
    assert resp.status == 400
    _assert_envelope((await resp.json())["error"])


async def test_bodies_at_the_depth_limit_are_served(gateway: Gateway) -> None:
    for alias in ("team/responses", "team/chat"):
        resp = await gateway.client.post("/v1/chat/completions", json=_tools_nested(MAX_JSON_DEPTH) | {"model": alias})
        assert resp.status == 200, (await resp.text())[:300]


async def test_responses_bodies_nested_too_deep_are_refused(gateway: Gateway) -> None:
    body = b'{"model": "team/responses", "input": [' + b"[" * 300 + b"]" * 300 + b"]}"
    resp = await gateway.client.post("/v1/responses", data=body)
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "json_too_deep"


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/models/{}"])
async def test_an_unknown_model_name_is_echoed_truncated(gateway: Gateway, path: str) -> None:
    name = "m" * 1_000_000
    if path.endswith("{}"):
        name = "m" * 4000  # a path segment: aiohttp caps the request line at 8 KiB
        resp = await gateway.client.get(path.format(name))
    else:
        resp = await gateway.client.post(path, json={"model": name, "messages": MSG})
    assert resp.status == 404
    raw = await resp.read()
    assert len(raw) < 1024
    error = orjson.loads(raw)["error"]
    _assert_envelope(error)
    assert error["code"] == "model_not_found"
    assert "mmmm" in error["message"]
    assert "more chars" in error["message"]


async def test_bridge_refusals_do_not_echo_unbounded_values(gateway: Gateway) -> None:
    body = {"model": "team/responses", "messages": [{"role": "user", "content": [{"type": "t" * 500_000}]}]}
    resp = await gateway.client.post("/v1/chat/completions", json=body)
    assert resp.status == 400
    assert len(await resp.read()) < 4096


async def _raw_exchange(gateway: Gateway, request: bytes) -> tuple[bytes, dict[str, Any]]:
    """Send raw bytes to the public port; the status line and the JSON body of the answer."""
    server = gateway.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        length = int(next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")).split(b":")[1])
        body = await asyncio.wait_for(reader.readexactly(length), 10)
    finally:
        writer.close()
    return head.split(b"\r\n", 1)[0], orjson.loads(body)


@pytest.mark.parametrize(
    "authorization",
    [b"Bearer \xff\xfe", b"Bearer \xed\xa0\x80", b"Bearer sk-\xc3\x28", b"\xff\xfe", b"Bearer  \x80"],
)
async def test_undecodable_bytes_in_the_key_are_a_401(
    make_gateway: GatewayFactory, tmp_path: Path, authorization: bytes
) -> None:
    keys = tmp_path / "keys"
    keys.write_text("sk-client-key-1\n")
    gateway = await make_gateway(settings=GatewaySettings(api_keys_file=keys))
    body = orjson.dumps({"model": "team/chat", "messages": MSG})
    request = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: " + authorization + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    status, answer = await _raw_exchange(gateway, request)
    assert status == b"HTTP/1.1 401 Unauthorized"
    _assert_envelope(answer["error"])
    assert answer["error"]["type"] == "authentication_error"
    assert gateway.sim.requests == []
