"""Alerts, ServiceMonitor and the Grafana dashboard use exactly the documented metric names (docs/gateway.md and
docs/controller.md, metrics sections)."""

from __future__ import annotations

import json
import re

from tests.deploy import manifests
from tests.support.metrics import CONTROLLER_METRICS, GATEWAY_METRICS

DOCUMENTED_METRICS = GATEWAY_METRICS | CONTROLLER_METRICS
METRIC = re.compile(r"\baliasgate_[a-z_]+")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def _metric_names(expr: str) -> set[str]:
    names = set()
    for name in METRIC.findall(expr):
        for suffix in HISTOGRAM_SUFFIXES:
            if name.endswith(suffix) and name.removesuffix(suffix) in DOCUMENTED_METRICS:
                name = name.removesuffix(suffix)
        names.add(name)
    return names


def _alerts(rendered_sources: dict[str, manifests.Rendered]) -> dict[str, dict[str, object]]:
    rule = manifests.named(rendered_sources["everything-on"].docs, "PrometheusRule", "aliasgate")
    return {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"]}


def test_alerts_cover_the_failure_modes(rendered_sources: dict[str, manifests.Rendered]) -> None:
    alerts = _alerts(rendered_sources)
    exprs = {name: str(rule["expr"]) for name, rule in alerts.items()}
    assert "aliasgate_model_healthy" in exprs["AliasgateModelUnhealthy"]
    assert "== 0" in exprs["AliasgateModelUnhealthy"]
    assert (
        'aliasgate_controller_aliases{namespace="aliasgate-system",state="rejected"}'
        in exprs["AliasgateAliasesRejected"]
    )
    assert "increase(aliasgate_bridge_unrecoverable_total" in exprs["AliasgateBridgeUnrecoverable"]
    assert 'result="rejected"' in exprs["AliasgateRoutingTableRejected"]
    assert "increase(aliasgate_routing_table_loads_total" in exprs["AliasgateRoutingTableRejected"]
    assert "aliasgate_routing_table_generation" in exprs["AliasgateRoutingTableStale"]
    assert "sum by (namespace) (aliasgate_controller_leader" in exprs["AliasgateNoLeader"]
    assert "== 0" in exprs["AliasgateNoLeader"]
    assert "and on (namespace, pod) (aliasgate_controller_leader" in exprs["AliasgateAliasesRejected"]
    assert 'result="source_error"' in exprs["AliasgateRoutingTableUnreadable"]
    for ratio in ("AliasgateAliasOutage", "AliasgateErrorRatioHigh"):
        assert 'aliasgate_requests_total{namespace="aliasgate-system",code=~"5.."}' in exprs[ratio]
    for name, expr in exprs.items():
        assert _metric_names(expr) <= DOCUMENTED_METRICS, name
        assert 'namespace="aliasgate-system"' in expr, f"{name} is scoped to the release namespace"
        assert expr.count("(") == expr.count(")"), name
        assert expr.count("{") == expr.count("}"), name


def test_every_alert_has_a_runbook_section(rendered_sources: dict[str, manifests.Rendered]) -> None:
    operations = (manifests.ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in operations.splitlines()
        if line.startswith("#")
    }
    for name, rule in _alerts(rendered_sources).items():
        annotations = rule["annotations"]
        assert isinstance(annotations, dict)
        runbook = str(annotations["runbook"])
        assert runbook.startswith("docs/operations.md#"), name
        assert runbook.split("#", 1)[1] in anchors, f"{name}: no heading for {runbook}"
        assert annotations["summary"]
        assert annotations["description"]


def test_alert_labels_are_added(rendered_sources: dict[str, manifests.Rendered]) -> None:
    for name, rule in _alerts(rendered_sources).items():
        labels = rule["labels"]
        assert isinstance(labels, dict)
        assert labels["team"] == "platform", name
        assert labels["severity"] in {"warning", "critical"}, name


def test_the_dashboard_uses_exactly_the_design_metrics(rendered_sources: dict[str, manifests.Rendered]) -> None:
    config_map = manifests.named(rendered_sources["everything-on"].docs, "ConfigMap", "aliasgate-dashboard")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(config_map["data"]["aliasgate.json"])
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    used = set().union(*(_metric_names(expr) for expr in exprs))
    assert used == DOCUMENTED_METRICS, f"unknown: {used - DOCUMENTED_METRICS}; missing: {DOCUMENTED_METRICS - used}"
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])


def test_service_monitor_scrapes_both_admin_ports(rendered_sources: dict[str, manifests.Rendered]) -> None:
    docs = rendered_sources["everything-on"].docs
    monitor = manifests.named(docs, "ServiceMonitor", "aliasgate")
    assert monitor["spec"]["endpoints"] == [{"port": "admin", "path": "/metrics", "interval": "15s"}]
    selector = monitor["spec"]["selector"]["matchLabels"]
    selected = [s for s in manifests.of_kind(docs, "Service") if selector.items() <= s["metadata"]["labels"].items()]
    assert {s["metadata"]["name"] for s in selected} == {"aliasgate-gateway-admin", "aliasgate-controller-metrics"}
    for service in selected:
        assert "admin" in {p["name"] for p in service["spec"]["ports"]}
    assert not manifests.of_kind(rendered_sources["default"].docs, "ServiceMonitor")
