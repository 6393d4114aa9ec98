"""Client API keys: file format, constant-time check, 401/403 in the OpenAI format, scoped model lists."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import openai
import pytest

from gateway.client_keys import ApiKeyFileError, ApiKeys, parse_api_keys
from gateway.settings import GatewaySettings
from tests.gateway.conftest import Gateway, GatewayFactory

TEAM_KEY = "sk-client-team-a-key"
ADMIN_KEY = "sk-client-admin#with-hash"


def test_file_format_accepts_hashes_plain_keys_patterns_and_comments() -> None:
    digest = hashlib.sha256(TEAM_KEY.encode()).hexdigest()
    grants = parse_api_keys(f"# team keys\n\nsha256:{digest} aliases=team/*,shared\n{ADMIN_KEY}   # all aliases\n")
    keys = ApiKeys(grants)
    team = keys.authenticate(TEAM_KEY)
    assert team is not None
    assert team.allows("team/chat")
    assert team.allows("shared")
    assert not team.allows("chatgpt/gpt-5.4")
    assert not team.allows("sharedx")
    admin = keys.authenticate(ADMIN_KEY)
    assert admin is not None
    assert admin.allows("anything/at-all")
    assert keys.authenticate("sk-nope") is None
    assert keys.authenticate(TEAM_KEY[:-1]) is None


@pytest.mark.parametrize("line", ["sha256:abc", "sha256:" + "z" * 64, "sk-key models=a", "sk-key aliases="])
def test_malformed_lines_are_refused_without_echoing_them(line: str) -> None:
    with pytest.raises(ApiKeyFileError) as caught:
        parse_api_keys(f"sk-ok\n{line}\n")
    assert "line 2" in str(caught.value)
    assert "sk-key" not in str(caught.value)


async def _gateway(make_gateway: GatewayFactory, tmp_path: Path) -> Gateway:
    keys_file = tmp_path / "keys.txt"
    digest = hashlib.sha256(TEAM_KEY.encode()).hexdigest()
    keys_file.write_text(f"sha256:{digest} aliases=team/*\n{ADMIN_KEY}\n")
    return await make_gateway(settings=GatewaySettings(api_keys_file=keys_file))


async def test_requests_without_a_valid_key_get_401(make_gateway: GatewayFactory, tmp_path: Path) -> None:
    gateway = await _gateway(make_gateway, tmp_path)
    resp = await gateway.client.post("/v1/chat/completions", json={"model": "team/chat"})
    assert resp.status == 401
    body = await resp.json()
    assert body["error"]["type"] == "authentication_error"
    assert body["error"]["code"] == "missing_api_key"
    async with gateway.sdk(api_key="sk-wrong") as sdk:
        with pytest.raises(openai.AuthenticationError) as caught:
            await sdk.models.list()
    assert caught.value.status_code == 401
    assert gateway.sim.requests == []


async def test_scoped_keys_see_and_use_only_their_aliases(make_gateway: GatewayFactory, tmp_path: Path) -> None:
    gateway = await _gateway(make_gateway, tmp_path)
    async with gateway.sdk(api_key=TEAM_KEY) as sdk:
        listed = [m.id async for m in sdk.models.list()]
        assert listed == ["team/chat", "team/responses"]
        completion = await sdk.chat.completions.create(model="team/chat", messages=[{"role": "user", "content": "a"}])
        assert completion.choices[0].message.content == "You said: a"
        with pytest.raises(openai.PermissionDeniedError) as denied:
            await sdk.chat.completions.create(model="chatgpt/gpt-5.4", messages=[{"role": "user", "content": "a"}])
        assert denied.value.status_code == 403
        with pytest.raises(openai.NotFoundError):
            await sdk.models.retrieve("chatgpt/gpt-5.4")
        with pytest.raises(openai.NotFoundError) as unknown:
            await sdk.chat.completions.create(model="team/nope", messages=[{"role": "user", "content": "a"}])
    message = str(unknown.value)
    assert "team/chat" not in message
    assert "chatgpt" not in message
    async with gateway.sdk(api_key=ADMIN_KEY) as sdk:
        listed = [m.id async for m in sdk.models.list()]
        assert listed == ["chatgpt/gpt-5.4", "team/chat", "team/responses"]
        model = await sdk.models.retrieve("chatgpt/gpt-5.4")
        assert model.id == "chatgpt/gpt-5.4"


async def test_admin_port_needs_no_client_key(make_gateway: GatewayFactory, tmp_path: Path) -> None:
    gateway = await _gateway(make_gateway, tmp_path)
    resp = await gateway.admin.get("/readyz")
    assert resp.status == 200


async def test_keys_rotate_without_a_restart_and_a_broken_file_changes_nothing(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("sk-old-key\n")
    gateway = await make_gateway(settings=GatewaySettings(api_keys_file=keys_file, api_keys_poll_interval_seconds=0.02))

    async def status(key: str) -> int:
        resp = await gateway.client.get("/v1/models", headers={"Authorization": f"Bearer {key}"})
        return resp.status

    assert await status("sk-old-key") == 200
    keys_file.write_text("sk-new-key-longer\n")
    async with asyncio.timeout(5):
        while await status("sk-new-key-longer") != 200:
            await asyncio.sleep(0.02)
    assert await status("sk-old-key") == 401
    keys_file.write_text("sha256:broken\n")
    await asyncio.sleep(0.1)
    assert await status("sk-new-key-longer") == 200
