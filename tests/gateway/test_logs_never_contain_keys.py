"""No log line ever carries a credential: upstream keys, OAuth tokens, client API keys."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from aliasgate.runtime.logs import configure_logging
from gateway.settings import GatewaySettings
from tests.gateway.conftest import CHATGPT_ACCESS, CHATGPT_REFRESH, OPENAI_KEY, GatewayFactory

CLIENT_KEY = "sk-client-very-secret-key-42"
SECRETS = (OPENAI_KEY, CHATGPT_ACCESS, CHATGPT_REFRESH, CLIENT_KEY, hashlib.sha256(CLIENT_KEY.encode()).hexdigest())


async def test_no_secret_in_any_log_line(
    make_gateway: GatewayFactory, aiohttp_server: AiohttpServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(level="debug", json=True, cache=False)
    token_app = web.Application()

    async def refuse(request: web.Request) -> web.Response:
        return web.json_response({"error": "invalid_grant", "refresh_token": await request.text()}, status=400)

    token_app.router.add_post("/token", refuse)
    token_server = await aiohttp_server(token_app)
    keys = tmp_path / "keys"
    keys.write_text(CLIENT_KEY + "\n")
    settings = GatewaySettings(api_keys_file=keys, chatgpt_token_url=str(token_server.make_url("/token")))
    gateway = await make_gateway(settings=settings)
    auth = {"Authorization": f"Bearer {CLIENT_KEY}"}
    chat = {"messages": [{"role": "user", "content": "hi"}]}
    for alias in ("team/chat", "team/responses", "chatgpt/gpt-5.4"):
        await gateway.client.post("/v1/chat/completions", json={"model": alias, **chat}, headers=auth)
        await gateway.client.post("/v1/chat/completions", json={"model": alias, "stream": True, **chat}, headers=auth)
    gateway.sim.enqueue("status:401", count=2)  # refresh attempt with the refresh token, refused
    await gateway.client.post("/v1/chat/completions", json={"model": "chatgpt/gpt-5.4", **chat}, headers=auth)
    gateway.sim.enqueue("status:500", count=3)
    await gateway.client.post("/v1/chat/completions", json={"model": "team/chat", **chat}, headers=auth)
    await gateway.client.post("/v1/chat/completions", json={"model": "team/chat", **chat})
    await gateway.client.post(
        "/v1/chat/completions", json={"model": "x", **chat}, headers={"Authorization": f"Bearer {OPENAI_KEY}"}
    )
    await gateway.admin.post("/health/probe")
    out = capsys.readouterr().out
    configure_logging(level="info", json=True, cache=False)  # stop writing into capsys' stream
    lines = [line for line in out.splitlines() if line.strip()]
    events = [orjson.loads(line)["event"] for line in lines]
    assert events.count("request_completed") == 10
    assert "token_refresh_failed" in events
    for secret in SECRETS:
        assert secret not in out
    metrics = await (await gateway.admin.get("/metrics")).text()
    status = await (await gateway.admin.get("/status")).text()
    for secret in SECRETS:
        assert secret not in metrics
        assert secret not in status
