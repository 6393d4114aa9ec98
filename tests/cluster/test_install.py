"""``kubectl apply -k deploy/`` judged by the real API server: every object stored, the CRD accepted
(structural schema, CEL cost within budget) and Established, and the Deployments' pods admitted in a
namespace that enforces the ``restricted`` Pod Security level (no kubelet runs them: they stay Pending)."""

from __future__ import annotations

import json
from typing import Any

import yaml

from tests.cluster.stack import DEMO, DEPLOY, MA, SYSTEM, Installation, eventually
from tests.support.kubeclients import KubeHttp


async def test_every_object_of_the_kustomization_is_stored(installation: Installation) -> None:
    rendered = await installation.kubectl("kustomize", str(DEPLOY))
    documents = [doc for doc in yaml.safe_load_all(rendered.out) if doc]
    stored = await installation.kubectl("get", "-k", str(DEPLOY), "-o", "json")
    assert stored.code == 0, stored.err
    items = json.loads(stored.out)["items"]
    assert sorted((d["kind"], d["metadata"]["name"]) for d in documents) == sorted(
        (i["kind"], i["metadata"]["name"]) for i in items
    )
    # Applying again changes nothing on the server. (kubectl reports the PodDisruptionBudget "configured":
    # its spec.selector has patch strategy "replace", so client-side apply always sends it; the server
    # finds it identical and the generation stays.)
    again = await installation.kubectl("apply", "-k", str(DEPLOY))
    assert again.code == 0, again.err
    after = json.loads((await installation.kubectl("get", "-k", str(DEPLOY), "-o", "json")).out)["items"]
    assert [_version(i) for i in after] == [_version(i) for i in items]


def _version(item: dict[str, Any]) -> tuple[str, str]:
    """What moves when an object's desired state changes: its generation, else its resourceVersion."""
    meta = item["metadata"]
    return meta["name"], str(meta.get("generation") or meta["resourceVersion"])


async def test_the_crd_is_established_and_served(installation: Installation, admin: KubeHttp) -> None:
    crd = (await admin.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/modelaliases.aliasgate.io")).body
    conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert conditions["Established"] == "True"
    assert conditions["NamesAccepted"] == "True"
    assert "NonStructuralSchema" not in conditions
    assert crd["status"]["acceptedNames"]["shortNames"] == ["ma"]
    discovery = (await admin.get(MA)).body
    assert {r["name"] for r in discovery["resources"]} == {"modelaliases", "modelaliases/status"}
    explained = await installation.kubectl("explain", "ma.spec.backend.provider")
    assert explained.code == 0, explained.err
    assert "chatgpt" in explained.out
    listed = await installation.kubectl("get", "ma", "-n", DEMO)
    assert listed.code == 0


async def test_deployments_get_pods_admitted_under_the_restricted_pod_security_level(admin: KubeHttp) -> None:
    namespace = (await admin.get(f"/api/v1/namespaces/{SYSTEM}")).body
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"

    async def pods_by_deployment() -> dict[str, int] | None:
        pods = (await admin.get(f"/api/v1/namespaces/{SYSTEM}/pods")).body["items"]
        counts: dict[str, int] = {}
        for pod in pods:
            component = pod["metadata"]["labels"].get("app.kubernetes.io/component", "")
            counts[component] = counts.get(component, 0) + 1
        return counts if {"controller", "gateway"} <= set(counts) else None

    counts = await eventually(pods_by_deployment, timeout=60, what="the ReplicaSets to create pods")
    deployments = (await admin.get(f"/apis/apps/v1/namespaces/{SYSTEM}/deployments")).body["items"]
    wanted = {d["metadata"]["labels"]["app.kubernetes.io/component"]: d["spec"]["replicas"] for d in deployments}
    assert counts == wanted
    # No ReplicaSet was refused by admission (it would say so in a ReplicaFailure condition).
    replica_sets = (await admin.get(f"/apis/apps/v1/namespaces/{SYSTEM}/replicasets")).body["items"]
    for replica_set in replica_sets:
        failures = [c for c in replica_set.get("status", {}).get("conditions") or [] if c["type"] == "ReplicaFailure"]
        assert failures == [], failures
