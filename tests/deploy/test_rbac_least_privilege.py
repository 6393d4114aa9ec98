"""The exact permissions of both processes (docs/operations.md, "Permissions"), the same in the
kustomization and the chart, and narrower where the chart is told so."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy import manifests

Rule = tuple[str, str, tuple[str, ...], tuple[str, ...]]


def _flatten(rules: list[dict[str, Any]]) -> set[Rule]:
    """One (apiGroup, resource, resourceNames, verbs) entry per group x resource, order-free."""
    flat: set[Rule] = set()
    for rule in rules:
        for group in rule.get("apiGroups", []):
            for resource in rule.get("resources", []):
                flat.add((group, resource, tuple(sorted(rule.get("resourceNames", []))), tuple(sorted(rule["verbs"]))))
    return flat


CONTROLLER_EVERYWHERE = {
    ("aliasgate.io", "modelaliases", (), ("get", "list", "watch")),
    ("aliasgate.io", "modelaliases/status", (), ("get", "patch", "update")),
    ("", "events", (), ("create", "patch")),
    ("events.k8s.io", "events", (), ("create", "patch")),
}
CONTROLLER_OWN_NAMESPACE = {
    # RBAC cannot limit create by resourceNames (a POST to the collection carries no name to check).
    ("coordination.k8s.io", "leases", (), ("create",)),
    ("coordination.k8s.io", "leases", ("aliasgate-controller",), ("get", "update")),
    ("", "configmaps", (), ("create",)),
    ("", "configmaps", ("aliasgate-routes",), ("get", "list", "patch", "update", "watch")),
    ("", "secrets", (), ("get", "list", "watch")),
    ("discovery.k8s.io", "endpointslices", (), ("get", "list", "watch")),
}


def _bound_rules(docs: list[manifests.Manifest], service_account: str) -> dict[str, set[Rule]]:
    """Rules granted to ``service_account``, keyed by the namespace they apply in ("*" = cluster)."""
    roles = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d for d in docs if "rules" in d}
    granted: dict[str, set[Rule]] = {}
    for binding in [d for d in docs if d["kind"] in {"RoleBinding", "ClusterRoleBinding"}]:
        if not any(s["kind"] == "ServiceAccount" and s["name"] == service_account for s in binding["subjects"]):
            continue
        ref = binding["roleRef"]
        role_ns = None if ref["kind"] == "ClusterRole" else binding["metadata"]["namespace"]
        role = roles[(ref["kind"], role_ns, ref["name"])]
        scope = "*" if binding["kind"] == "ClusterRoleBinding" else binding["metadata"]["namespace"]
        granted.setdefault(scope, set()).update(_flatten(role["rules"]))
    return granted


@pytest.mark.parametrize("source", ["kustomize", "default"])
def test_controller_gets_exactly_what_it_needs(rendered_sources: dict[str, manifests.Rendered], source: str) -> None:
    granted = _bound_rules(rendered_sources[source].docs, "aliasgate-controller")
    assert granted == {"*": CONTROLLER_EVERYWHERE, manifests.NAMESPACE: CONTROLLER_OWN_NAMESPACE}


@pytest.mark.parametrize("source", ["kustomize", "default", "ha"])
def test_gateway_reads_only_the_table_and_named_secrets(
    rendered_sources: dict[str, manifests.Rendered], source: str
) -> None:
    granted = _bound_rules(rendered_sources[source].docs, "aliasgate-gateway")
    assert set(granted) == {manifests.NAMESPACE}, "nothing cluster-wide, nothing in other namespaces"
    rules = granted[manifests.NAMESPACE]
    assert ("", "configmaps", ("aliasgate-routes",), ("get", "list", "watch")) in rules
    secret_rules = [r for r in rules if r[1] == "secrets"]
    if source == "default":
        assert secret_rules == [], "no credentials Secrets listed: no Secret access at all"
    else:
        assert len(secret_rules) == 1
        assert secret_rules[0][2] == ("chatgpt-pro", "openai-key")
        assert secret_rules[0][3] == ("get", "list", "update", "watch"), "update: OAuth token write-back"
    assert len(rules) == 1 + len(secret_rules)


def test_watch_namespaces_grant_per_namespace_roles_only(rendered_sources: dict[str, manifests.Rendered]) -> None:
    docs = rendered_sources["everything-on"].docs
    granted = _bound_rules(docs, "aliasgate-ctl")
    assert "*" not in granted, "watchNamespaces set: no ClusterRoleBinding for the controller"
    assert granted["team-a"] == CONTROLLER_EVERYWHERE
    assert granted["team-b"] == CONTROLLER_EVERYWHERE
    deployment = manifests.named(docs, "Deployment", "aliasgate-controller")
    assert "--watch-namespaces=team-a,team-b" in manifests.container_args(deployment, "controller")


def test_credentials_from_files_need_no_secret_permission(rendered_sources: dict[str, manifests.Rendered]) -> None:
    docs = rendered_sources["everything-on"].docs
    granted = _bound_rules(docs, "aliasgate-gateway")
    assert not [r for r in granted[manifests.NAMESPACE] if r[1] == "secrets"]
    deployment = manifests.named(docs, "Deployment", "aliasgate-gateway")
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    assert {v["secret"]["secretName"] for v in volumes if "secret" in v} == {
        "openai-key",
        "azure.prod-key",
        "aliasgate-client-keys",
    }
    assert "--secrets-dir=/etc/aliasgate/credentials" in manifests.container_args(deployment, "gateway")


def test_without_leader_election_no_lease_permission(rendered_sources: dict[str, manifests.Rendered]) -> None:
    docs = rendered_sources["minimal"].docs
    rules = _bound_rules(docs, "aliasgate-controller")[manifests.NAMESPACE]
    assert not [r for r in rules if r[1] == "leases"]
    deployment = manifests.named(docs, "Deployment", "aliasgate-controller")
    assert "--no-leader-election" in manifests.container_args(deployment, "controller")
