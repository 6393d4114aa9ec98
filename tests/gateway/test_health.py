"""Admin port and model health: readiness, status, active probes (shape, rate limit, opt-out), passive health."""

from __future__ import annotations

import asyncio
from contextlib import suppress

from gateway.keys import draining_key, prober_key
from gateway.probing import probe_body
from gateway.routing.loading import compile_table
from gateway.settings import GatewaySettings
from tests.gateway.conftest import DEFAULT_ROUTES, FAST_RETRIES, Gateway, GatewayFactory, RouteSpec, build_table
from tests.support.ports import free_port as closed_port

PROBED = {"healthCheck": {"enabled": True, "intervalSeconds": 0.05, "timeoutSeconds": 5}}


def _probed_routes() -> list[RouteSpec]:
    return [
        RouteSpec(r.alias, r.provider, r.prefix, r.model, r.mode, r.credentials, {**r.settings, **PROBED})
        for r in DEFAULT_ROUTES
    ] + [RouteSpec("quiet", model="m-quiet", settings={"healthCheck": {"enabled": False}})]


async def test_readiness_follows_the_first_table(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(load_table=False)
    assert (await gateway.admin.get("/livez")).status == 200
    resp = await gateway.admin.get("/readyz")
    assert resp.status == 503
    assert (await resp.json())["ready"] is False
    status = await (await gateway.admin.get("/status")).json()
    assert status["ready"] is False
    assert status["servedGeneration"] is None
    resp = await gateway.client.get("/v1/models")
    assert resp.status == 503
    assert (await resp.json())["error"]["code"] == "table_not_loaded"


async def test_status_reports_table_routes_and_draining(gateway: Gateway) -> None:
    assert (await gateway.admin.get("/readyz")).status == 200
    status = await (await gateway.admin.get("/status")).json()
    table = gateway.holder.current
    assert table is not None
    assert status["table"] == {"generation": 1, "sha256": table.table.sha256, "aliasCount": 3}
    assert status["draining"] is False
    assert status["servedGeneration"] == 1
    assert status["routes"]["chatgpt/gpt-5.4"]["mode"] == "responses"
    assert status["routes"]["team/chat"]["source"] == "team-a/team-chat"
    assert status["rejected"] == []


async def test_probes_use_each_routes_own_mode_and_shape(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(_probed_routes())
    resp = await gateway.admin.post("/health/probe")
    results = (await resp.json())["results"]
    assert set(results) == {"team/chat", "team/responses", "chatgpt/gpt-5.4"}
    assert all(r["ok"] and not r["rateLimited"] for r in results.values())
    by_path = {r.path: r.body for r in gateway.sim.requests}
    chat = by_path["/v1/chat/completions"]
    assert chat["messages"][0]["role"] == "user"
    openai_responses = by_path["/v1/responses"]
    codex = by_path["/backend-api/codex/responses"]
    for body in (openai_responses, codex):
        assert body["store"] is False
        assert body["input"][0]["content"][0]["type"] == "input_text"
        assert isinstance(body["input"], list)
    assert codex["stream"] is True
    assert "max_output_tokens" not in codex
    assert "temperature" not in codex
    assert openai_responses["max_output_tokens"] >= 256
    for alias in results:
        assert gateway.metric("aliasgate_health_checks_total", alias=alias, result="success") == 1
        assert gateway.metric("aliasgate_model_healthy", alias=alias) == 1
    models = (await (await gateway.admin.get("/health/models")).json())["models"]
    assert models["chatgpt/gpt-5.4"]["healthy"] is True
    assert models["chatgpt/gpt-5.4"]["lastProbe"]["ok"] is True
    assert models["quiet"]["lastProbe"] is None


async def test_probes_are_rate_limited(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(_probed_routes(), settings=GatewaySettings(probe_min_interval_seconds=60))
    await gateway.admin.post("/health/probe")
    count = len(gateway.sim.requests)
    results = (await (await gateway.admin.post("/health/probe")).json())["results"]
    assert all(r["rateLimited"] for r in results.values())
    assert all(r["ok"] for r in results.values())
    assert len(gateway.sim.requests) == count


async def test_a_failing_probe_marks_the_alias_unhealthy(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway([RouteSpec("flaky", settings=PROBED)])
    gateway.sim.enqueue("status:500")
    results = (await (await gateway.admin.post("/health/probe")).json())["results"]
    assert results["flaky"]["ok"] is False
    assert results["flaky"]["status"] == 500
    assert gateway.metric("aliasgate_model_healthy", alias="flaky") == 0
    assert gateway.metric("aliasgate_health_checks_total", alias="flaky", result="failure") == 1


async def test_scheduled_probes_run_at_the_alias_interval_and_skip_opted_out(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(_probed_routes())
    prober = gateway.app[prober_key]
    prober.tick_seconds = 0.01
    task = asyncio.create_task(prober.run())
    try:
        async with asyncio.timeout(5):
            while gateway.metric("aliasgate_health_checks_total", alias="team/chat", result="success") < 2:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
    assert gateway.metric("aliasgate_health_checks_total", alias="quiet", result="success") == 0
    assert not [r for r in gateway.sim.requests if r.body and r.body.get("model") == "m-quiet"]


async def test_passive_health_follows_consecutive_live_failures(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway([RouteSpec("live", settings=FAST_RETRIES)])
    body = {"model": "live", "messages": [{"role": "user", "content": "hi"}]}
    gateway.sim.enqueue("status:503", count=9)
    for expected in (None, None, False):
        assert (await gateway.client.post("/v1/chat/completions", json=body)).status == 503
        models = (await (await gateway.admin.get("/health/models")).json())["models"]
        assert models["live"]["healthy"] is expected
    assert models["live"]["consecutiveFailures"] == 3
    assert gateway.metric("aliasgate_model_healthy", alias="live") == 0
    assert (await gateway.client.post("/v1/chat/completions", json=body)).status == 200
    assert gateway.metric("aliasgate_model_healthy", alias="live") == 1


def test_probe_body_never_sends_a_string_input() -> None:
    compiled = compile_table(build_table("http://127.0.0.1:1", _probed_routes()))
    for alias in compiled.aliases:
        target = compiled.targets[alias]
        endpoint, body = probe_body(target)
        assert endpoint == target.route.mode
        if endpoint == "responses":
            assert isinstance(body["input"], list)


async def test_status_and_readyz_give_one_answer_while_draining(gateway: Gateway) -> None:
    gateway.app[draining_key].value = True
    readyz = await gateway.admin.get("/readyz")
    assert readyz.status == 503
    assert (await readyz.json()) == {"ready": False, "reason": "draining"}
    status = await (await gateway.admin.get("/status")).json()
    assert (status["ready"], status["draining"]) == (False, True)
    assert status["servedGeneration"] == 1  # still serving its table to the requests in flight


async def _healthy(gateway: Gateway, alias: str) -> bool | None:
    models = (await (await gateway.admin.get("/health/models")).json())["models"]
    healthy: bool | None = models[alias]["healthy"]
    return healthy


async def test_passive_health_blames_the_alias_that_failed_not_the_fallback_that_answered(
    make_gateway: GatewayFactory,
) -> None:
    """Before: the fallback that answered was credited and the primary, whose every request fell back,
    stayed healthy; when both failed, only the fallback was blamed, for the primary's failures too."""
    dead = f"http://127.0.0.1:{closed_port()}/v1"
    gateway = await make_gateway(
        [
            RouteSpec("local/qwen3-coder", base_url=dead, settings={**FAST_RETRIES, "fallbacks": ["gpt-4.1-mini"]}),
            RouteSpec("gpt-4.1-mini", model="gpt-4.1-mini", settings=FAST_RETRIES),
        ]
    )
    body = {"model": "local/qwen3-coder", "messages": [{"role": "user", "content": "hi"}]}
    for _ in range(3):
        assert (await gateway.client.post("/v1/chat/completions", json=body)).status == 200
    assert await _healthy(gateway, "local/qwen3-coder") is False
    assert await _healthy(gateway, "gpt-4.1-mini") is True
    assert gateway.metric("aliasgate_model_healthy", alias="local/qwen3-coder") == 0
    assert gateway.metric("aliasgate_model_healthy", alias="gpt-4.1-mini") == 1

    gateway.sim.enqueue("status:503", count=3)  # the fallback fails once, all its attempts: one failure of its own
    assert (await gateway.client.post("/v1/chat/completions", json=body)).status == 503
    models = (await (await gateway.admin.get("/health/models")).json())["models"]
    assert models["gpt-4.1-mini"]["consecutiveFailures"] == 1
    assert models["gpt-4.1-mini"]["healthy"] is True  # one failure is below the threshold
    assert models["local/qwen3-coder"]["consecutiveFailures"] == 4
