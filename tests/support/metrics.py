"""Reading Prometheus text exposition in tests and benchmarks: scrape an admin port, pick one sample; the
documented metric names the tests hold the planes, alerts and dashboards to."""

from __future__ import annotations

import urllib.request
from typing import Final

import aiohttp

__all__ = [
    "CONTROLLER_METRICS",
    "GATEWAY_HISTOGRAMS",
    "GATEWAY_METRICS",
    "sample_value",
    "samples",
    "scrape",
    "scrape_sync",
]


def samples(text: str, name: str) -> dict[frozenset[tuple[str, str]], float]:
    """Every sample of ``name`` by its label set (label values must not contain ``,`` or ``"``)."""
    found: dict[frozenset[tuple[str, str]], float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        metric, _, label_text = head.partition("{")
        if metric != name:
            continue
        labels = frozenset(
            (key, raw.strip('"'))
            for key, _, raw in (item.partition("=") for item in label_text.rstrip("}").split(",") if item)
        )
        found[labels] = float(value)
    return found


def sample_value(text: str, name: str, **labels: str) -> float:
    """The value of the sample of ``name`` with exactly ``labels`` (0.0 when absent, as a counter not yet
    incremented reads)."""
    return samples(text, name).get(frozenset(labels.items()), 0.0)


async def scrape(admin_url: str, session: aiohttp.ClientSession | None = None) -> str:
    """``GET <admin_url>/metrics`` (must answer 200)."""
    if session is None:
        async with aiohttp.ClientSession() as own:
            return await scrape(admin_url, own)
    async with session.get(admin_url.rstrip("/") + "/metrics") as resp:
        assert resp.status == 200, resp.status
        return await resp.text()


def scrape_sync(admin_url: str) -> str:
    """:func:`scrape` without an event loop (benchmarks driving processes from plain code)."""
    with urllib.request.urlopen(admin_url.rstrip("/") + "/metrics", timeout=5) as resp:
        return str(resp.read().decode())


GATEWAY_HISTOGRAMS: Final = frozenset(
    {
        "aliasgate_request_duration_seconds",
        "aliasgate_time_to_first_token_seconds",
        "aliasgate_gateway_overhead_seconds",
    }
)
GATEWAY_METRICS: Final = frozenset(
    GATEWAY_HISTOGRAMS
    | {
        "aliasgate_requests_total",
        "aliasgate_upstream_requests_total",
        "aliasgate_tokens_total",
        "aliasgate_bridge_recoveries_total",
        "aliasgate_bridge_unrecoverable_total",
        "aliasgate_input_normalized_total",
        "aliasgate_model_healthy",
        "aliasgate_health_checks_total",
        "aliasgate_inflight_requests",
        "aliasgate_routing_table_generation",
        "aliasgate_routing_table_loads_total",
    }
)
"""The gateway's documented metrics (docs/gateway.md, "Metrics"): their names are a public interface."""
CONTROLLER_METRICS: Final = frozenset(
    {
        "aliasgate_controller_reconciles_total",
        "aliasgate_controller_reconcile_duration_seconds",
        "aliasgate_controller_aliases",
        "aliasgate_controller_watch_restarts_total",
        "aliasgate_controller_table_publishes_total",
        "aliasgate_controller_leader",
    }
)
"""The controller's documented metrics (docs/controller.md, "Endpoints and metrics")."""
