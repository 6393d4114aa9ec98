"""An upstream that echoes the credentials it received never gets them to a client or into stored state; an
upstream refusing the gateway's credential is a 502 of the gateway's own, not the client's ``invalid_api_key``."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpServer

from gateway.client_keys import ApiKeys, parse_api_keys
from gateway.upstream.scrubbing import CredentialScrubber
from tests.gateway.conftest import (
    CHATGPT_ACCESS,
    CHATGPT_ACCOUNT,
    OPENAI_KEY,
    Gateway,
    GatewayFactory,
    RouteSpec,
    build_table,
)
from tests.gateway.upstreams import credential_echo_app, echo_mode_key

SECRETS = (OPENAI_KEY, CHATGPT_ACCESS, CHATGPT_ACCOUNT)
NO_RETRIES = {"retries": {"attempts": 1}}
ROUTES = [
    RouteSpec("team/chat", mode="chat", model="gpt-4.1-mini", settings=NO_RETRIES),
    RouteSpec("team/responses", mode="responses", settings=NO_RETRIES),
    RouteSpec("chatgpt/x", provider="chatgpt", prefix="/backend-api/codex", mode="responses",
              credentials="chatgpt-pro", settings=NO_RETRIES),
]  # fmt: skip
MSG = [{"role": "user", "content": "hi"}]


async def _echoing_gateway(make_gateway: GatewayFactory, aiohttp_server: AiohttpServer) -> tuple[Gateway, list[str]]:
    upstream = credential_echo_app()
    server = await aiohttp_server(upstream)
    table = build_table(str(server.make_url("")).rstrip("/"), ROUTES)
    return await make_gateway(table=table), upstream[echo_mode_key]


def _assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


@pytest.mark.parametrize("mode", ["401", "403", "500", "detail", "text", "json", "failed", "late"])
@pytest.mark.parametrize("alias", ["team/chat", "team/responses", "chatgpt/x"])
@pytest.mark.parametrize("stream", [False, True])
async def test_echoed_credentials_never_reach_the_client(
    make_gateway: GatewayFactory, aiohttp_server: AiohttpServer, mode: str, alias: str, stream: bool
) -> None:
    gateway, echo = await _echoing_gateway(make_gateway, aiohttp_server)
    echo[0] = mode
    paths = [("/v1/chat/completions", {"model": alias, "messages": MSG, "stream": stream})]
    if alias != "team/chat":  # a chat-mode alias has no Responses endpoint
        paths.append(("/v1/responses", {"model": alias, "input": "hi", "stream": stream}))
    for path, body in paths:
        resp = await gateway.client.post(path, json=body)
        text = await resp.text()
        _assert_clean(text)
        if mode in ("401", "403"):
            assert resp.status == 502, text
            error = (await resp.json())["error"]
            assert error["type"] == "server_error"
            expected = "upstream_authentication_failed" if mode == "401" else "upstream_permission_denied"
            assert error["code"] == expected
    health = await (await gateway.admin.get("/health/models")).text()
    _assert_clean(health)
    status = await (await gateway.admin.get("/status")).text()
    _assert_clean(status)


async def test_stored_errors_and_probe_results_are_scrubbed(
    make_gateway: GatewayFactory, aiohttp_server: AiohttpServer
) -> None:
    gateway, echo = await _echoing_gateway(make_gateway, aiohttp_server)
    for mode in ("500", "text", "failed"):
        echo[0] = mode
        for alias in ("team/chat", "team/responses", "chatgpt/x"):
            resp = await gateway.client.post("/v1/chat/completions", json={"model": alias, "messages": MSG})
            assert resp.status >= 500
        health = (await (await gateway.admin.get("/health/models")).json())["models"]
        errors = [entry["lastTrafficError"] for entry in health.values()]
        assert all(errors), health  # every alias stored what went wrong ...
        if mode != "text":  # a plain-text body is never quoted; the others quote the key (a chat-mode alias
            # gets a Responses stream in `failed` mode: a malformed answer, quoted by nobody)
            assert sum("[redacted]" in error for error in errors) >= 2, errors
        _assert_clean(str(health))
    probes = await (await gateway.admin.post("/health/probe")).text()
    _assert_clean(probes)
    _assert_clean(await (await gateway.admin.get("/health/models")).text())


def test_the_scrubber_learns_header_values_and_recognises_client_keys() -> None:
    client_key = "sk-team-client-key-0001"
    keys = ApiKeys(parse_api_keys(client_key + "\n"))
    scrubber = CredentialScrubber(client_digests=keys.digests)
    scrubber.learn({"Authorization": f"Bearer {OPENAI_KEY}", "ChatGPT-Account-Id": CHATGPT_ACCOUNT, "x": "abcdefgh"})
    scrubber.learn({"api-key": "azure-key-42", "Content-Type": "application/json"})
    assert len(scrubber) == 3
    text = f"k={OPENAI_KEY} acct {CHATGPT_ACCOUNT}, azure-key-42; client '{client_key}'. abcdefgh"
    scrubbed = scrubber.scrub_text(text)
    assert scrubbed == "k=[redacted] acct [redacted], [redacted]; client '[redacted]'. abcdefgh"
    assert scrubber.scrub_bytes(text.encode()).count(b"[redacted]") == 3  # client keys only by scrub_text
    assert scrubber.scrub("short x") == "short x"


def test_the_scrubber_forgets_the_oldest_values_beyond_its_bound() -> None:
    scrubber = CredentialScrubber()
    for n in range(1000):
        scrubber.learn_value(f"token-{n:06d}")
    assert len(scrubber) == 256
    assert scrubber.scrub("token-000999 token-000000") == "[redacted] token-000000"


async def test_client_keys_in_upstream_error_text_are_scrubbed(
    make_gateway: GatewayFactory, aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    upstream = credential_echo_app()
    upstream[echo_mode_key][0] = "detail"
    server = await aiohttp_server(upstream)
    client_key = "sk-client-abcdef-123456"
    keys = ApiKeys(parse_api_keys(client_key + "\n"))
    gateway = await make_gateway(table=build_table(str(server.make_url("")).rstrip("/"), ROUTES), api_keys=keys)
    # The client's key inside its own message, reflected by the upstream's error: not in the answer either.
    body = {"model": "team/chat", "messages": [{"role": "user", "content": client_key}]}
    resp = await gateway.client.post(
        "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {client_key}"}
    )
    assert resp.status == 400
    text = await resp.text()
    assert "bad request from" in text
    assert OPENAI_KEY not in text
    assert client_key not in text
