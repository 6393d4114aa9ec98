"""Security properties of every rendered install (kustomize and each chart value set): restricted
pods, requests on every container, least-privilege RBAC, and no secret material anywhere."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.deploy import manifests

each_source = pytest.mark.parametrize("source", manifests.SOURCES)

FORBIDDEN_VERBS = {"*", "escalate", "bind", "impersonate"}
DANGEROUS_RESOURCES = {"pods/exec", "pods/attach", "pods/portforward", "nodes/proxy", "serviceaccounts/token"}
SECRETISH = re.compile(
    r"(sk-[A-Za-z0-9_-]{16,}|Bearer\s+[A-Za-z0-9._~+/-]{16,}|eyJ[A-Za-z0-9_-]{10,}\.|"
    r"(api[_-]?key|access[_-]?token|refresh[_-]?token|password|secret)\s*[:=]\s*\S{8,})",
    re.IGNORECASE,
)


def _docs(rendered_sources: dict[str, manifests.Rendered], source: str) -> list[manifests.Manifest]:
    return rendered_sources[source].docs


@each_source
def test_pods_are_restricted(rendered_sources: dict[str, manifests.Rendered], source: str) -> None:
    specs = list(manifests.pod_specs(_docs(rendered_sources, source)))
    assert len(specs) >= 2
    for ident, spec in specs:
        for host_field in ("hostNetwork", "hostPID", "hostIPC"):
            assert not spec.get(host_field), f"{ident}: {host_field}"
        assert not any("hostPath" in volume for volume in spec.get("volumes", [])), f"{ident}: hostPath volume"
        pod_ctx = spec.get("securityContext", {})
        assert pod_ctx.get("runAsNonRoot") is True, f"{ident}: pod runAsNonRoot"
        assert pod_ctx.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"{ident}: seccomp"
        assert pod_ctx.get("runAsUser", 1) != 0, f"{ident}: runAsUser 0"
        for container in manifests.containers(spec):
            where = f"{ident} container {container['name']}"
            ctx = container.get("securityContext", {})
            assert ctx.get("privileged", False) is False, f"{where}: privileged"
            assert ctx.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation"
            assert ctx.get("readOnlyRootFilesystem") is True, f"{where}: readOnlyRootFilesystem"
            assert ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot")) is True, f"{where}: runAsNonRoot"
            assert ctx.get("capabilities", {}).get("drop") == ["ALL"], f"{where}: capabilities.drop"
            assert not ctx.get("capabilities", {}).get("add"), f"{where}: capabilities.add"
            assert not any(p.get("hostPort") for p in container.get("ports", [])), f"{where}: hostPort"
            requests = container.get("resources", {}).get("requests", {})
            assert {"cpu", "memory"} <= set(requests), f"{where}: resource requests {requests}"
            image = str(container["image"])
            assert not image.endswith(":latest"), f"{where}: {image}"
            assert ":" in image, f"{where}: untagged {image}"


def _rules(doc: manifests.Manifest) -> list[dict[str, Any]]:
    return list(doc.get("rules") or [])


@each_source
def test_rbac_has_no_wildcards_or_escalation(rendered_sources: dict[str, manifests.Rendered], source: str) -> None:
    roles = [d for d in _docs(rendered_sources, source) if d["kind"] in {"Role", "ClusterRole"}]
    assert roles
    for role in roles:
        ident = f"{role['kind']}/{role['metadata']['name']}"
        assert "aggregationRule" not in role, f"{ident}: aggregationRule"
        for rule in _rules(role):
            assert "*" not in rule.get("apiGroups", []), f"{ident}: wildcard apiGroup"
            assert not any("*" in r for r in rule.get("resources", [])), f"{ident}: wildcard resource"
            assert not (set(rule["verbs"]) & FORBIDDEN_VERBS), f"{ident}: verbs {rule['verbs']}"
            if "deletecollection" in rule["verbs"]:
                assert rule.get("apiGroups") == ["aliasgate.io"], f"{ident}: deletecollection outside aliasgate.io"
            assert not (set(rule.get("resources", [])) & DANGEROUS_RESOURCES), f"{ident}: {rule['resources']}"
            assert "nonResourceURLs" not in rule, f"{ident}: nonResourceURLs"
            if "resourceNames" in rule:
                assert rule["resourceNames"], f"{ident}: an empty resourceNames list matches everything"


@each_source
def test_secrets_are_readable_only_in_the_install_namespace(
    rendered_sources: dict[str, manifests.Rendered], source: str
) -> None:
    docs = _docs(rendered_sources, source)
    for role in [d for d in docs if d["kind"] == "ClusterRole"]:
        for rule in _rules(role):
            assert "secrets" not in rule.get("resources", []), f"ClusterRole/{role['metadata']['name']} grants secrets"
    for role in [d for d in docs if d["kind"] == "Role"]:
        grants_secrets = any("secrets" in rule.get("resources", []) for rule in _rules(role))
        if grants_secrets:
            assert role["metadata"]["namespace"] == manifests.NAMESPACE, role["metadata"]
            for rule in [r for r in _rules(role) if "secrets" in r["resources"]]:
                # update (OAuth token write-back) only on named Secrets; never create, delete or patch.
                allowed = {"get", "list", "watch", "update"} if rule.get("resourceNames") else {"get", "list", "watch"}
                assert not set(rule["verbs"]) - allowed, (role["metadata"]["name"], rule)
    for binding in [d for d in docs if d["kind"] == "ClusterRoleBinding"]:
        assert binding["roleRef"]["name"] not in {"cluster-admin", "admin", "edit"}, binding["metadata"]["name"]


@each_source
def test_no_secret_values_anywhere(rendered_sources: dict[str, manifests.Rendered], source: str) -> None:
    docs = _docs(rendered_sources, source)
    assert not manifests.of_kind(docs, "Secret"), "the install must never carry a Secret (values live outside it)"
    for config_map in manifests.of_kind(docs, "ConfigMap"):
        text = yaml.safe_dump(config_map)
        assert not SECRETISH.search(text), f"ConfigMap/{config_map['metadata']['name']}: {SECRETISH.search(text)}"
        assert config_map["metadata"]["name"] != "aliasgate-routes", "the controller owns the routing ConfigMap"
    for ident, spec in manifests.pod_specs(docs):
        for container in manifests.containers(spec):
            for env in container.get("env", []):
                assert "value" not in env or not SECRETISH.search(f"{env['name']}={env['value']}"), f"{ident}: {env}"
            for arg in container.get("args", []):
                assert not SECRETISH.search(str(arg)), f"{ident}: {arg}"


def test_the_secret_detector_finds_secret_looking_values() -> None:
    """Guard against a detector that never fires."""
    assert SECRETISH.search("apiKey: sk-proj-abcdefghijklmnopqrstuvwx")
    assert SECRETISH.search("Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345")
    assert not SECRETISH.search("credentials: openai-key")


@each_source
def test_admin_ports_are_never_on_an_externally_exposed_service(
    rendered_sources: dict[str, manifests.Rendered], source: str
) -> None:
    for service in manifests.of_kind(_docs(rendered_sources, source), "Service"):
        ports = {p.get("targetPort") for p in service["spec"]["ports"]}
        if "admin" in ports or 9090 in ports:
            assert service["spec"].get("type", "ClusterIP") == "ClusterIP", service["metadata"]["name"]
            assert ports <= {"admin", 9090}, f"{service['metadata']['name']} mixes admin and public ports"
