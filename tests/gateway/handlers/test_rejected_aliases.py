"""A rejected alias exists: it answers 404 ``model_not_available`` with its reason, not ``model_not_found``."""

from __future__ import annotations

import hashlib
from pathlib import Path

import openai
import pytest

from gateway.routing.table import RejectedAlias, RoutingTable, SourceRef
from gateway.settings import GatewaySettings
from tests.gateway.conftest import DEFAULT_ROUTES, Gateway, GatewayFactory, build_table

TEAM_KEY = "sk-client-team-key"
CONTROLLER_MESSAGE = "backend b is in Responses mode, held there by 'team/responses' (team-a/secret-project)"


def with_rejected(gateway: Gateway, *rejected: tuple[str, str]) -> RoutingTable:
    """The gateway's routes plus ``(alias, reason)`` rejections, loaded as generation 2."""
    base = str(gateway.sim_server.make_url("")).rstrip("/")
    routed = build_table(base, DEFAULT_ROUTES)
    table = RoutingTable.build(
        backends=dict(routed.backends),
        routes=dict(routed.routes),
        rejected=tuple(
            RejectedAlias(
                alias=alias,
                source=SourceRef(namespace="team-b", name=f"object-{index}", generation=1),
                reason=reason,
                message=CONTROLLER_MESSAGE,
            )
            for index, (alias, reason) in enumerate(rejected)
        ),
        generation=2,
    )
    assert gateway.holder.load_table(table, origin="test")
    return table


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}),
        ("/v1/responses", {"input": "hi"}),
    ],
)
async def test_a_request_to_a_rejected_alias_says_it_exists_and_why(
    gateway: Gateway, path: str, body: dict[str, object]
) -> None:
    with_rejected(gateway, ("team/chat-downgrade", "ModeDowngradeRejected"))
    resp = await gateway.client.post(path, json={"model": "team/chat-downgrade", **body})
    assert resp.status == 404
    error = (await resp.json())["error"]
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", "model", "model_not_available")
    assert "'team/chat-downgrade' exists but is not available" in error["message"]
    assert "ModeDowngradeRejected" in error["message"]
    assert "team/responses" not in error["message"]  # the controller's message names other aliases: not passed on
    assert "secret-project" not in error["message"]
    unknown = await gateway.client.post(path, json={"model": "no/such-alias", **body})
    assert unknown.status == 404
    assert (await unknown.json())["error"]["code"] == "model_not_found"
    assert gateway.sim.requests == []


async def test_models_list_leaves_rejected_aliases_out_and_retrieve_answers_like_a_request(gateway: Gateway) -> None:
    with_rejected(gateway, ("team/chat-downgrade", "ModeDowngradeRejected"), ("team/chat", "DuplicateAlias"))
    async with gateway.sdk() as sdk:
        listed = [m.id async for m in sdk.models.list()]
        assert listed == ["chatgpt/gpt-5.4", "team/chat", "team/responses"]  # team/chat is served by another object
        with pytest.raises(openai.NotFoundError) as caught:
            await sdk.models.retrieve("team/chat-downgrade")
        assert caught.value.code == "model_not_available"
        assert "ModeDowngradeRejected" in caught.value.message
        with pytest.raises(openai.NotFoundError) as unknown:
            await sdk.models.retrieve("no/such-alias")
        assert unknown.value.code == "model_not_found"
        served = await sdk.models.retrieve("team/chat")
        assert served.id == "team/chat"
        reply = await sdk.chat.completions.create(model="team/chat", messages=[{"role": "user", "content": "hi"}])
        assert reply.choices[0].message.content


async def test_a_key_that_may_not_use_a_rejected_alias_learns_no_reason(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text(f"sha256:{hashlib.sha256(TEAM_KEY.encode()).hexdigest()} aliases=team/*\n")
    gateway = await make_gateway(settings=GatewaySettings(api_keys_file=keys))
    with_rejected(gateway, ("other/rejected", "CredentialsNotPermitted"), ("team/rejected", "UnsupportedMode"))
    headers = {"Authorization": f"Bearer {TEAM_KEY}"}
    chat = {"messages": [{"role": "user", "content": "hi"}]}
    resp = await gateway.client.post("/v1/chat/completions", json={"model": "other/rejected", **chat}, headers=headers)
    assert resp.status == 403
    error = (await resp.json())["error"]
    assert error["code"] == "model_not_permitted"
    assert "CredentialsNotPermitted" not in error["message"]
    resp = await gateway.client.get("/v1/models/other/rejected", headers=headers)
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "model_not_found"
    resp = await gateway.client.post("/v1/chat/completions", json={"model": "team/rejected", **chat}, headers=headers)
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "model_not_available"
