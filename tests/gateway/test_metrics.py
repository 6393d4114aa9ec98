"""Metric names are a contract (docs/gateway.md, "Metrics"): every gateway metric is exposed, with bounded labels."""

from __future__ import annotations

import random

from tests.gateway.conftest import DEFAULT_ROUTES, GatewayFactory, RouteSpec
from tests.support.metrics import GATEWAY_HISTOGRAMS, GATEWAY_METRICS

DOCUMENTED_SERIES = sorted(name + "_bucket" if name in GATEWAY_HISTOGRAMS else name for name in GATEWAY_METRICS)
PROBED = {"healthCheck": {"enabled": True, "intervalSeconds": 60, "timeoutSeconds": 5}}


async def test_every_design_metric_is_exposed(make_gateway: GatewayFactory) -> None:
    routes = [
        RouteSpec(r.alias, r.provider, r.prefix, r.model, r.mode, r.credentials, {**r.settings, **PROBED})
        for r in DEFAULT_ROUTES
    ]
    gateway = await make_gateway(routes)
    chat = {"messages": [{"role": "user", "content": "x #empty"}], "stream": True}
    await (await gateway.client.post("/v1/chat/completions", json={"model": "chatgpt/gpt-5.4", **chat})).read()
    await (await gateway.client.post("/v1/responses", json={"model": "chatgpt/gpt-5.4", "input": "hi"})).read()
    await (await gateway.client.post("/v1/chat/completions", json={"model": "who?", **chat})).read()
    await gateway.admin.post("/health/probe")
    text = await (await gateway.admin.get("/metrics")).text()
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    names = {line.split("{")[0].split(" ")[0] for line in samples}
    missing = [name for name in DOCUMENTED_SERIES if name not in names]
    assert missing == []
    assert gateway.metric("aliasgate_bridge_unrecoverable_total", alias="chatgpt/gpt-5.4") == 0
    assert gateway.metric("aliasgate_inflight_requests") == 0
    # label values come from the table only
    aliases = {part.split('"')[1] for line in samples for part in line.split(",") if 'alias="' in part}
    assert aliases <= {"chatgpt/gpt-5.4", "team/chat", "team/responses", "_unknown"}
    assert "who?" not in text


class _LongestBackoff(random.Random):
    """Full jitter drawn at its top: every backoff is its cap, so the waits are known."""

    def uniform(self, a: float, b: float) -> float:
        return b


async def test_retry_backoff_is_measured_apart_from_the_gateway_overhead(make_gateway: GatewayFactory) -> None:
    """Before: ``aliasgate_gateway_overhead_seconds`` included the backoff (0.3 s here, p99 pinned at the top
    bucket for retried requests)."""
    retries = {"retries": {"attempts": 3, "backoffSeconds": 0.1, "backoffMaxSeconds": 1}}
    gateway = await make_gateway([RouteSpec("team/chat", settings=retries)], rng=_LongestBackoff())
    gateway.sim.enqueue("status:503", count=2)
    body = {"model": "team/chat", "messages": [{"role": "user", "content": "hi"}]}
    assert (await gateway.client.post("/v1/chat/completions", json=body)).status == 200
    assert gateway.metric("aliasgate_gateway_overhead_seconds_sum", alias="team/chat") < 0.1
    backoff = gateway.metric("aliasgate_upstream_retry_backoff_seconds_sum", alias="team/chat")
    assert 0.3 <= backoff < 0.5  # 0.1 then 0.2
    assert gateway.metric("aliasgate_upstream_retry_backoff_seconds_count", alias="team/chat") == 1
    duration = gateway.metric("aliasgate_request_duration_seconds_sum", alias="team/chat", mode="chat", stream="false")
    assert duration >= backoff
    assert (await gateway.client.post("/v1/chat/completions", json=body)).status == 200  # no retry: no backoff
    assert gateway.metric("aliasgate_upstream_retry_backoff_seconds_count", alias="team/chat") == 1
