"""Providers: codex headers and OAuth refresh (before expiry, once after a 401, one refresher),
Azure deployment URLs, openai-compatible without a key; the credentials folder and auth.json."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from gateway.credentials.files import DirectoryCredentialStore
from gateway.credentials.secret_format import keys_from_auth_json
from gateway.providers.azure_openai import AzureOpenAIProvider
from gateway.providers.base import CredentialsUnavailableError
from gateway.providers.chatgpt import jwt_account_id, jwt_expiry
from gateway.providers.openai_compatible import openai_compatible
from gateway.routing.table import Backend
from gateway.settings import GatewaySettings
from tests.gateway.conftest import CHATGPT_REFRESH, GatewayFactory, RouteSpec

token_hits_key = web.AppKey("token_hits", list[dict[str, Any]])


async def _token_server(aiohttp_server: AiohttpServer, *, status: int = 200) -> tuple[str, list[dict[str, Any]]]:
    app = web.Application()
    hits: list[dict[str, Any]] = []
    app[token_hits_key] = hits

    async def token(request: web.Request) -> web.Response:
        hits.append(await request.json())
        await asyncio.sleep(0.02)  # long enough for concurrent callers to pile up on the lock
        if status != 200:
            return web.json_response({"error": "invalid_grant"}, status=status)
        return web.json_response(
            {"access_token": f"fresh-access-{len(hits)}", "refresh_token": "fresh-refresh", "expires_in": 3600}
        )

    app.router.add_post("/oauth/token", token)
    server = await aiohttp_server(app)
    return str(server.make_url("/oauth/token")), hits


def _settings(token_url: str) -> GatewaySettings:
    return GatewaySettings(chatgpt_token_url=token_url, chatgpt_client_id="client-123")


async def test_codex_401_refreshes_once_for_many_concurrent_requests(
    make_gateway: GatewayFactory, aiohttp_server: AiohttpServer
) -> None:
    token_url, hits = await _token_server(aiohttp_server)
    gateway = await make_gateway(settings=_settings(token_url))
    gateway.sim.enqueue("status:401", count=10)
    body = {"model": "chatgpt/gpt-5.4", "messages": [{"role": "user", "content": "hi"}]}
    responses = await asyncio.gather(*[gateway.client.post("/v1/chat/completions", json=body) for _ in range(10)])
    assert [r.status for r in responses] == [200] * 10
    assert len(hits) == 1
    assert hits[0] == {
        "client_id": "client-123",
        "grant_type": "refresh_token",
        "refresh_token": CHATGPT_REFRESH,
        "scope": "openid profile email",
    }
    assert len(gateway.sim.requests) == 20
    assert gateway.metric("aliasgate_upstream_retries_total", alias="chatgpt/gpt-5.4") == 0


async def test_token_near_expiry_is_refreshed_before_the_request(
    make_gateway: GatewayFactory, aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    token_url, hits = await _token_server(aiohttp_server)
    secrets = tmp_path / "secrets" / "chatgpt-pro"
    secrets.mkdir(parents=True)
    (secrets / "accessToken").write_text("old-access")
    (secrets / "accountId").write_text("acct-9")
    (secrets / "refreshToken").write_text(CHATGPT_REFRESH)
    (secrets / "expiresAt").write_text(str(int(time.time()) + 30))
    gateway = await make_gateway(settings=_settings(token_url))
    body = {"model": "chatgpt/gpt-5.4", "messages": [{"role": "user", "content": "hi"}]}
    for _ in range(3):
        assert (await gateway.client.post("/v1/chat/completions", json=body)).status == 200
    assert len(hits) == 1
    assert gateway.sim.requests[0].headers["chatgpt-account-id"] == "acct-9"


async def test_a_failed_refresh_is_a_502_upstream_authentication_failed(
    make_gateway: GatewayFactory, aiohttp_server: AiohttpServer
) -> None:
    """The upstream's 401 is about the gateway's token, not the client's key: never 401 invalid_api_key."""
    token_url, hits = await _token_server(aiohttp_server, status=400)
    gateway = await make_gateway(settings=_settings(token_url))
    gateway.sim.enqueue("status:401", count=2)
    body = {"model": "chatgpt/gpt-5.4", "messages": [{"role": "user", "content": "hi"}]}
    resp = await gateway.client.post("/v1/chat/completions", json=body)
    assert resp.status == 502
    assert (await resp.json())["error"]["code"] == "upstream_authentication_failed"
    assert len(hits) == 1
    assert len(gateway.sim.requests) == 1


async def test_a_refresh_outlives_the_request_that_started_it(
    make_gateway: GatewayFactory, aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    """The client goes away while its request waits on the token endpoint (its handler is cancelled): the
    refresh still completes and its tokens are used. Abandoned, the rotated refresh token would be lost and
    the next request would refresh again with a spent one."""
    app = web.Application()
    hits: list[dict[str, Any]] = []
    app[token_hits_key] = hits

    async def slow_token(request: web.Request) -> web.Response:
        hits.append(await request.json())
        await asyncio.sleep(0.3)
        return web.json_response({"access_token": "fresh-access", "refresh_token": "fresh-refresh", "expires_in": 3600})

    app.router.add_post("/oauth/token", slow_token)
    token_server = await aiohttp_server(app)
    secrets = tmp_path / "secrets" / "chatgpt-pro"
    secrets.mkdir(parents=True)
    (secrets / "accessToken").write_text("old-access")
    (secrets / "accountId").write_text("acct-9")
    (secrets / "refreshToken").write_text(CHATGPT_REFRESH)
    (secrets / "expiresAt").write_text(str(int(time.time()) + 30))
    gateway = await make_gateway(settings=_settings(str(token_server.make_url("/oauth/token"))))
    body = {"model": "chatgpt/gpt-5.4", "messages": [{"role": "user", "content": "hi"}]}
    leaving = asyncio.create_task(gateway.client.post("/v1/chat/completions", json=body))
    async with asyncio.timeout(5):
        while not hits:
            await asyncio.sleep(0.01)
    leaving.cancel()  # the client hangs up mid-refresh
    with pytest.raises(asyncio.CancelledError):
        await leaving
    await asyncio.sleep(0.5)
    assert gateway.metric("aliasgate_token_refreshes_total", secret="chatgpt-pro", result="refreshed") == 1
    assert (await gateway.client.post("/v1/chat/completions", json=body)).status == 200
    assert len(hits) == 1


async def test_missing_credentials_are_a_502_naming_only_the_secret(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway([RouteSpec("nokey", credentials="does-not-exist")])
    resp = await gateway.client.post("/v1/chat/completions", json={"model": "nokey", "messages": [{"role": "user"}]})
    assert resp.status == 502
    error = (await resp.json())["error"]
    assert error["code"] == "credentials_unavailable"
    assert "does-not-exist" in error["message"]
    assert gateway.sim.requests == []


async def test_azure_uses_deployment_urls_api_key_and_api_version(tmp_path: Path) -> None:
    (tmp_path / "az").mkdir()
    (tmp_path / "az" / "apiKey").write_text("azure-secret")
    store = DirectoryCredentialStore(tmp_path)
    provider = AzureOpenAIProvider(credentials=store)
    backend = Backend.model_validate(
        {
            "key": "azure-openai|https://res.openai.azure.com/openai|my-deploy",
            "provider": "azure-openai",
            "baseURL": "https://res.openai.azure.com/openai",
            "model": "my-deploy",
            "mode": "chat",
            "credentials": "az",
            "apiVersion": "2024-10-21",
        }
    )
    call = await provider.prepare(backend, "chat", request_id="r")
    assert (
        str(call.url)
        == "https://res.openai.azure.com/openai/deployments/my-deploy/chat/completions?api-version=2024-10-21"
    )
    assert call.headers["api-key"] == "azure-secret"
    assert "Authorization" not in call.headers
    call = await provider.prepare(backend, "responses", request_id="r")
    assert str(call.url) == "https://res.openai.azure.com/openai/responses?api-version=2024-10-21"


async def test_openai_compatible_needs_no_key_but_uses_one_when_present(tmp_path: Path) -> None:
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "apiKey").write_text("local-key")
    provider = openai_compatible(DirectoryCredentialStore(tmp_path))
    doc = {"provider": "openai-compatible", "baseURL": "http://vllm:8000/v1", "model": "m", "mode": "chat"}
    keyless = Backend.model_validate({**doc, "key": "k"})
    call = await provider.prepare(keyless, "chat", request_id="r")
    assert str(call.url) == "http://vllm:8000/v1/chat/completions"
    assert "Authorization" not in call.headers
    keyed = Backend.model_validate({**doc, "key": "k", "credentials": "local"})
    call = await provider.prepare(keyed, "chat", request_id="r")
    assert call.headers["Authorization"] == "Bearer local-key"
    missing = Backend.model_validate({**doc, "key": "k", "credentials": "gone"})
    with pytest.raises(CredentialsUnavailableError):
        await provider.prepare(missing, "chat", request_id="r")


def test_codex_auth_json_is_understood(tmp_path: Path) -> None:
    folder = tmp_path / "codex"
    folder.mkdir()
    auth = {"tokens": {"access_token": "a.b.c", "account_id": "acct", "refresh_token": "r"}, "OPENAI_API_KEY": None}
    (folder / "auth.json").write_bytes(orjson.dumps(auth))
    store = DirectoryCredentialStore(tmp_path)
    assert dict(store.get("codex") or {}) == {"accessToken": "a.b.c", "accountId": "acct", "refreshToken": "r"}
    assert keys_from_auth_json(b"[1]") == {}
    assert keys_from_auth_json(b"not json") == {}


def test_the_credentials_folder_is_reread_when_it_changes(tmp_path: Path) -> None:
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "apiKey").write_text("one")
    (tmp_path / "..data").mkdir()  # Kubernetes' atomic-swap folder is not a Secret
    store = DirectoryCredentialStore(tmp_path)
    assert store.names() == ["k"]
    assert store.reload() is False
    (tmp_path / "k" / "apiKey").write_text("two-longer")
    assert store.reload() is True
    assert (store.get("k") or {})["apiKey"] == "two-longer"


def test_jwt_claims_give_expiry_and_account() -> None:
    import base64

    claims = {"exp": 1_900_000_000, "https://api.openai.com/auth": {"chatgpt_account_id": "acct-jwt"}}
    payload = base64.urlsafe_b64encode(orjson.dumps(claims)).rstrip(b"=").decode()
    assert jwt_expiry(f"h.{payload}.s") == 1_900_000_000.0
    assert jwt_account_id(f"h.{payload}.s") == "acct-jwt"
    assert jwt_account_id("h.e30.s") is None
    assert jwt_expiry("not-a-jwt") is None
    assert jwt_expiry("a.%%%.c") is None


async def test_azure_backend_end_to_end(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway([RouteSpec("az/chat", provider="azure-openai", prefix="/openai", model="dep-1")])
    async with gateway.sdk() as sdk:
        completion = await sdk.chat.completions.create(model="az/chat", messages=[{"role": "user", "content": "hey"}])
    assert completion.choices[0].message.content == "You said: hey"
    [seen] = gateway.sim.requests
    assert seen.path == "/openai/deployments/dep-1/chat/completions"
    assert seen.headers["api-key"] == "***"
    assert "authorization" not in seen.headers
