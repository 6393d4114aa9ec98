"""The flags and environment the manifests give each process are accepted by the processes' own
settings parsers (gateway.settings, controller.settings), so a renamed flag fails here, not in a pod."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller import settings as controller_settings
from gateway import settings as gateway_settings
from tests.deploy import manifests

POD_NAMESPACE = "ns-from-downward-api"
"""Distinct from the processes' fallback (aliasgate-system), so the test sees the variable is read."""


def _container(doc: manifests.Manifest) -> manifests.Manifest:
    containers: list[manifests.Manifest] = doc["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _environ(container: manifests.Manifest) -> dict[str, str]:
    """Plain env values, plus the downward-API namespace as the kubelet would resolve it."""
    env: dict[str, str] = {}
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
        elif item.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.namespace":
            env[item["name"]] = POD_NAMESPACE
    return env


@pytest.mark.parametrize("source", manifests.SOURCES)
def test_gateway_accepts_its_flags(rendered_sources: dict[str, manifests.Rendered], source: str) -> None:
    deployment = next(
        d
        for d in manifests.of_kind(rendered_sources[source].docs, "Deployment")
        if d["metadata"]["name"].endswith("gateway")
    )
    container = _container(deployment)
    assert container["command"] == ["python", "-m", "gateway"]
    parsed = gateway_settings.parse_settings(container["args"], environ=_environ(container))
    assert parsed.namespace == POD_NAMESPACE
    assert parsed.table_source == "kubernetes"
    assert parsed.table_configmap == "aliasgate-routes"
    assert parsed.admin_listen == "0.0.0.0:9090"
    assert parsed.listen == "0.0.0.0:8080"
    assert parsed.log_level == ("debug" if source == "everything-on" else "info")
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8080, "admin": 9090}
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert parsed.shutdown_grace_seconds < grace
    if source == "ha":
        assert parsed.api_keys_file == Path("/etc/aliasgate/api-keys/api-keys")
    if source == "everything-on":
        assert parsed.secrets_dir == Path("/etc/aliasgate/credentials")
        assert parsed.api_keys_file == Path("/etc/aliasgate/api-keys/keys.txt")


@pytest.mark.parametrize("source", ["kustomize", "default", "minimal", "everything-on"])
def test_controller_accepts_its_flags(rendered_sources: dict[str, manifests.Rendered], source: str) -> None:
    docs = rendered_sources[source].docs
    deployment = next(d for d in manifests.of_kind(docs, "Deployment") if d["metadata"]["name"].endswith("controller"))
    container = _container(deployment)
    assert container["command"] == ["python", "-m", "controller"]
    parsed = controller_settings.parse_settings(container["args"], environ=_environ(container))
    assert parsed.namespace == POD_NAMESPACE
    assert parsed.table_configmap == "aliasgate-routes"
    assert parsed.admin_listen == "0.0.0.0:9090"
    assert parsed.leader_election is (source != "minimal")
    assert parsed.log_level == ("debug" if source == "everything-on" else "info")
    gateway_service = next(
        s for s in manifests.of_kind(docs, "Service") if s["metadata"]["name"] == parsed.gateway_service
    )
    assert parsed.gateway_admin_port_name in {p["name"] for p in gateway_service["spec"]["ports"]}
    if source == "everything-on":
        assert parsed.watch_namespaces == ("team-a", "team-b")
