"""The Grafana dashboard, judged by a real Prometheus (Debian's `prometheus`, on loopback).

Every panel query must name metrics the processes really export, parse, and answer with numbers: on idle
processes too ("No data" on a quiet controller hid its state, issue 14 item 10), and with the leader's
figures only when two controller replicas report the same ModelAliases (item 5).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from controller.metrics import ControllerMetrics
from gateway.metrics import GatewayMetrics
from tests.deploy import manifests
from tests.deploy.monitoring import promtool, server
from tests.deploy.monitoring.server import Sample, Target

NAMESPACE = manifests.NAMESPACE
METRIC = re.compile(r"\baliasgate_\w+")
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created"), "gauge": ("",)}

Query = tuple[str, str, str]
"""(panel title, refId, PromQL)"""


def _dashboard(rendered_sources: dict[str, manifests.Rendered]) -> dict[str, Any]:
    config_map = manifests.named(rendered_sources["everything-on"].docs, "ConfigMap", "aliasgate-dashboard")
    dashboard: dict[str, Any] = json.loads(config_map["data"]["aliasgate.json"])
    return dashboard


def _queries(dashboard: dict[str, Any]) -> list[Query]:
    return [(p["title"], t["refId"], t["expr"]) for p in dashboard["panels"] for t in p.get("targets", [])]


def _for_namespace(expr: str) -> str:
    """The query Grafana sends with the `namespace` variable set to the release namespace."""
    return expr.replace("$namespace", NAMESPACE)


def _panel(queries: list[Query], title: str) -> str:
    (expr,) = [e for t, _, e in queries if t == title]
    return _for_namespace(expr)


def exported_names(*registries: CollectorRegistry) -> set[str]:
    """Every sample name the registries can expose, children created yet or not."""
    names: set[str] = set()
    for registry in registries:
        for family in registry.collect():
            names.update(family.name + suffix for suffix in SUFFIXES[family.type])
    return names


def test_every_query_names_metrics_the_processes_export(rendered_sources: dict[str, manifests.Rendered]) -> None:
    exported = exported_names(GatewayMetrics().registry, ControllerMetrics().registry)
    queries = _queries(_dashboard(rendered_sources))
    assert queries
    for title, ref, expr in queries:
        used = set(METRIC.findall(expr))
        assert used, f"{title}/{ref} queries no aliasgate metric"
        assert used <= exported, f"{title}/{ref}: {used - exported} is not exported by gateway/ or controller/"
    for name, rule in promtool.alerts(rendered_sources["everything-on"]).items():
        used = set(METRIC.findall(str(rule["expr"])))
        assert used, name
        assert used <= exported, f"{name}: {used - exported}"


def test_every_panel_answers_with_numbers_in_a_real_prometheus(
    rendered_sources: dict[str, manifests.Rendered], tmp_path: Path
) -> None:
    queries = _queries(_dashboard(rendered_sources))
    gateways = {"gw-a": GatewayMetrics(), "gw-b": GatewayMetrics()}
    for gateway in gateways.values():  # a pod that loaded its table and probed its alias, then stayed idle
        gateway.table_loads("accepted").inc()
        gateway.table_generation.set(3)
        gateway.model_healthy("team/chat").set(1)
        gateway.health_checks("team/chat", "success").inc()
    controllers = {"ctl-a": ControllerMetrics(), "ctl-b": ControllerMetrics(), "ctl-x": ControllerMetrics()}
    for name, controller in controllers.items():  # ctl-a leads; ctl-b follows; ctl-x is another release's
        controller.leader.set(1 if name != "ctl-b" else 0)
        rejected = 7 if name == "ctl-x" else 5
        controller.set_alias_counts({("accepted", "Accepted"): 3, ("rejected", "CredentialsNotFound"): rejected})
    targets = {name: Target(g.registry, {"namespace": NAMESPACE, "pod": name}) for name, g in gateways.items()}
    for name, controller in controllers.items():
        namespace = "someone-else" if name == "ctl-x" else NAMESPACE
        targets[name] = Target(controller.registry, {"namespace": namespace, "pod": name})

    with server.running(targets, tmp_path) as prometheus:
        prometheus.scraped(len(targets))

        # idle: every query parses and answers with at least one finite number
        for title, ref, expr in queries:
            got = prometheus.query(_for_namespace(expr))
            assert got, f"{title}/{ref} shows No data on idle processes"
            assert server.finite(got), f"{title}/{ref}: {got}"
        aliases = prometheus.query(_panel(queries, "ModelAliases by state and reason (leader's count)"))
        assert _by(aliases, "state", "reason") == {("accepted", "Accepted"): 3, ("rejected", "CredentialsNotFound"): 5}
        restarts = prometheus.query(_panel(queries, "Watch restarts by reason"))
        assert _by(restarts, "reason") == {("expired",): 0, ("inactivity",): 0, ("error",): 0}
        loads = prometheus.query(_panel(queries, "Table loads by result"))
        assert set(_by(loads, "result")) == {("accepted",), ("unchanged",), ("rejected",), ("source_error",)}
        assert prometheus.query(_panel(queries, "Reconcile duration p95")) == [Sample({}, 0.0)]
        assert prometheus.query(_panel(queries, "Requests per second by alias")) == [Sample({}, 0.0)]

        # events: each shows in its panel
        gateways["gw-a"].table_loads("rejected").inc()
        gateways["gw-b"].table_loads("source_error").inc()
        controllers["ctl-a"].watch_restarts.labels("error").inc()
        for _ in range(5):
            controllers["ctl-a"].reconcile_duration.observe(0.03)
        ok = gateways["gw-a"].requests("team/chat", "chat", "false", "200")
        failed = gateways["gw-a"].requests("team/chat", "chat", "false", "503")
        ok.inc(10)
        failed.inc(10)
        prometheus.until(
            _panel(queries, "Requests per second by alias"), lambda got: _labels(got, "alias") == {"team/chat"}
        )
        ok.inc(10)
        failed.inc(10)

        prometheus.until(
            _panel(queries, "Error ratio by alias (HTTP 5xx)"),
            lambda got: _labels(got, "alias") == {"team/chat"} and abs(got[0].value - 0.5) < 0.05,
        )
        prometheus.until(
            _panel(queries, "Table loads by result"),
            lambda got: _by(got, "result")[("rejected",)] > 0 and _by(got, "result")[("source_error",)] > 0,
        )
        prometheus.until(
            _panel(queries, "Watch restarts by reason"),
            lambda got: _by(got, "reason")[("error",)] > 0 and _by(got, "reason")[("expired",)] == 0,
        )
        prometheus.until(
            _panel(queries, "Reconcile duration p95"), lambda got: len(got) == 1 and 0.025 < got[0].value <= 0.05
        )


def _by(samples: list[Sample], *labels: str) -> dict[tuple[str, ...], float]:
    return {tuple(s.labels.get(label, "") for label in labels): s.value for s in samples}


def _labels(samples: list[Sample], label: str) -> set[str]:
    return {s.labels.get(label, "") for s in samples}
