"""The rendered RBAC, evaluated with Kubernetes' RBAC matching rules, allows every API request the
processes make (as written in controller/kube/ and gateway/kube_*.py) and denies the neighbours.

Matching, as the RBAC authorizer does it: a rule matches when verb, API group and resource (with
subresource, `modelaliases/status`) are listed and, if the rule has resourceNames, the request's name is
one of them. A create (POST to the collection) carries no name, so it never matches a rule with
resourceNames. A list or watch carries a name only with `fieldSelector=metadata.name=<name>`. A Role
bound by a RoleBinding applies in the binding's namespace; a ClusterRoleBinding applies everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.deploy import manifests

NS = manifests.NAMESPACE
TEAM = "team-a"
"""Some namespace where ModelAliases live."""


@dataclass(frozen=True)
class Request:
    verb: str
    group: str
    resource: str
    namespace: str
    """Empty for a cluster-wide request (all namespaces, or a cluster-scoped object)."""
    name: str = ""


def _rules_in_force(docs: list[manifests.Manifest], service_account: str, namespace: str) -> list[dict[str, Any]]:
    roles = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d for d in docs if "rules" in d}
    rules: list[dict[str, Any]] = []
    for binding in docs:
        if binding["kind"] not in {"RoleBinding", "ClusterRoleBinding"}:
            continue
        if not any(s["kind"] == "ServiceAccount" and s["name"] == service_account for s in binding["subjects"]):
            continue
        if binding["kind"] == "RoleBinding" and binding["metadata"]["namespace"] != namespace:
            continue
        ref = binding["roleRef"]
        role_namespace = None if ref["kind"] == "ClusterRole" else binding["metadata"]["namespace"]
        rules.extend(roles[(ref["kind"], role_namespace, ref["name"])]["rules"])
    return rules


def allowed(docs: list[manifests.Manifest], service_account: str, request: Request) -> bool:
    for rule in _rules_in_force(docs, service_account, request.namespace):
        if request.verb not in rule["verbs"] or request.group not in rule.get("apiGroups", []):
            continue
        if request.resource not in rule.get("resources", []):
            continue
        names = rule.get("resourceNames") or []
        if names and request.name not in names:
            continue
        return True
    return False


CONTROLLER_NEEDS = [
    Request("list", "aliasgate.io", "modelaliases", ""),
    Request("watch", "aliasgate.io", "modelaliases", ""),
    Request("patch", "aliasgate.io", "modelaliases/status", TEAM, "gpt-5"),
    Request("create", "", "events", TEAM),
    Request("create", "events.k8s.io", "events", TEAM),
    Request("get", "coordination.k8s.io", "leases", NS, "aliasgate-controller"),
    Request("create", "coordination.k8s.io", "leases", NS),
    Request("update", "coordination.k8s.io", "leases", NS, "aliasgate-controller"),
    Request("get", "", "configmaps", NS, "aliasgate-routes"),
    Request("create", "", "configmaps", NS),
    Request("update", "", "configmaps", NS, "aliasgate-routes"),
    Request("watch", "", "configmaps", NS, "aliasgate-routes"),
    Request("list", "", "secrets", NS),
    Request("watch", "", "secrets", NS),
    Request("list", "discovery.k8s.io", "endpointslices", NS),
]
CONTROLLER_MUST_NOT = [
    Request("update", "aliasgate.io", "modelaliases", TEAM, "gpt-5"),
    Request("delete", "aliasgate.io", "modelaliases", TEAM, "gpt-5"),
    Request("list", "", "secrets", TEAM),
    Request("list", "", "secrets", ""),
    Request("get", "", "configmaps", NS, "some-other-config"),
    Request("update", "", "configmaps", NS, "some-other-config"),
    Request("list", "", "configmaps", NS),
    Request("update", "coordination.k8s.io", "leases", NS, "someone-elses-lease"),
    Request("delete", "coordination.k8s.io", "leases", NS, "aliasgate-controller"),
    Request("create", "", "configmaps", TEAM),
    Request("list", "", "pods", NS),
]
GATEWAY_NEEDS = [
    Request("get", "", "configmaps", NS, "aliasgate-routes"),
    Request("list", "", "configmaps", NS, "aliasgate-routes"),
    Request("watch", "", "configmaps", NS, "aliasgate-routes"),
    Request("list", "", "secrets", NS, "openai-key"),
    Request("watch", "", "secrets", NS, "chatgpt-pro"),
]
GATEWAY_MUST_NOT = [
    Request("list", "", "secrets", NS),
    Request("get", "", "secrets", NS, "not-listed"),
    Request("list", "", "configmaps", NS),
    Request("update", "", "configmaps", NS, "aliasgate-routes"),
    Request("get", "", "secrets", TEAM, "openai-key"),
    Request("list", "aliasgate.io", "modelaliases", ""),
    Request("create", "", "events", NS),
]


def _label(request: Request) -> str:
    return f"{request.verb} {request.group or 'core'}/{request.resource} ns={request.namespace or '*'} {request.name}"


@pytest.mark.parametrize("source", ["kustomize", "default", "ha"])
@pytest.mark.parametrize("request_", CONTROLLER_NEEDS, ids=_label)
def test_the_controller_may_do_what_it_does(
    rendered_sources: dict[str, manifests.Rendered], source: str, request_: Request
) -> None:
    assert allowed(rendered_sources[source].docs, "aliasgate-controller", request_)


@pytest.mark.parametrize("source", ["kustomize", "default", "ha"])
@pytest.mark.parametrize("request_", CONTROLLER_MUST_NOT, ids=_label)
def test_the_controller_may_not_do_more(
    rendered_sources: dict[str, manifests.Rendered], source: str, request_: Request
) -> None:
    assert not allowed(rendered_sources[source].docs, "aliasgate-controller", request_)


@pytest.mark.parametrize("source", ["kustomize", "ha"])
@pytest.mark.parametrize("request_", GATEWAY_NEEDS, ids=_label)
def test_the_gateway_may_do_what_it_does(
    rendered_sources: dict[str, manifests.Rendered], source: str, request_: Request
) -> None:
    assert allowed(rendered_sources[source].docs, "aliasgate-gateway", request_)


@pytest.mark.parametrize("source", ["kustomize", "default", "ha"])
@pytest.mark.parametrize("request_", GATEWAY_MUST_NOT, ids=_label)
def test_the_gateway_may_not_do_more(
    rendered_sources: dict[str, manifests.Rendered], source: str, request_: Request
) -> None:
    assert not allowed(rendered_sources[source].docs, "aliasgate-gateway", request_)


def test_watching_some_namespaces_allows_only_those(rendered_sources: dict[str, manifests.Rendered]) -> None:
    docs = rendered_sources["everything-on"].docs
    assert allowed(docs, "aliasgate-ctl", Request("watch", "aliasgate.io", "modelaliases", "team-b"))
    assert allowed(docs, "aliasgate-ctl", Request("create", "", "events", "team-a"))
    assert not allowed(docs, "aliasgate-ctl", Request("watch", "aliasgate.io", "modelaliases", ""))
    assert not allowed(docs, "aliasgate-ctl", Request("watch", "aliasgate.io", "modelaliases", "team-c"))


def test_the_authorizer_model_honours_resource_names() -> None:
    """The model itself: resourceNames never match a create, and match a list only by name."""
    docs: list[manifests.Manifest] = [
        {"kind": "Role", "metadata": {"name": "r", "namespace": NS}, "rules": [
            {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["one"], "verbs": ["create", "list"]},
        ]},
        {"kind": "RoleBinding", "metadata": {"name": "b", "namespace": NS},
         "roleRef": {"kind": "Role", "name": "r"}, "subjects": [{"kind": "ServiceAccount", "name": "sa"}]},
    ]  # fmt: skip
    assert not allowed(docs, "sa", Request("create", "", "secrets", NS))
    assert not allowed(docs, "sa", Request("list", "", "secrets", NS))
    assert allowed(docs, "sa", Request("list", "", "secrets", NS, "one"))
    assert not allowed(docs, "sa", Request("list", "", "secrets", "elsewhere", "one"))
