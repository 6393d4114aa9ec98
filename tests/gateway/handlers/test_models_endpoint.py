"""GET /v1/models and /v1/models/{id} list the served aliases, slashes included."""

from __future__ import annotations

import openai
import pytest

from tests.gateway.conftest import Gateway, GatewayFactory, RouteSpec


async def test_models_are_the_tables_aliases(gateway: Gateway) -> None:
    async with gateway.sdk() as sdk:
        models = [m async for m in sdk.models.list()]
        assert [m.id for m in models] == ["chatgpt/gpt-5.4", "team/chat", "team/responses"]
        assert all(m.owned_by == "aliasgate" for m in models)
        one = await sdk.models.retrieve("chatgpt/gpt-5.4")
        assert one.id == "chatgpt/gpt-5.4"
        with pytest.raises(openai.NotFoundError):
            await sdk.models.retrieve("gpt-5.4")
    assert gateway.sim.requests == []


async def test_a_new_table_changes_the_list(make_gateway: GatewayFactory) -> None:
    from tests.gateway.conftest import build_table

    gateway = await make_gateway([RouteSpec("first")])
    base = str(gateway.sim_server.make_url("")).rstrip("/")
    assert gateway.holder.load_table(build_table(base, [RouteSpec("second")], generation=2), origin="test")
    body = await (await gateway.client.get("/v1/models")).json()
    assert [m["id"] for m in body["data"]] == ["second"]
    assert gateway.metric("aliasgate_routing_table_generation") == 2
    resp = await gateway.client.post("/v1/chat/completions", json={"model": "first", "messages": [{"role": "user"}]})
    assert resp.status == 404
