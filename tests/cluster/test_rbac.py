"""deploy/rbac judged by the real RBAC authorizer: what each ServiceAccount may do, and real 403s for the
neighbouring requests it may not (another object's name, a verb not granted, an unfiltered list, the
main resource instead of ``/status``, another namespace)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from tests.cluster.stack import CONFIGMAP, CONTROLLER_SA, GATEWAY_SA, LEASE, MA, SYSTEM, TEAM, Installation
from tests.support.kubeclients import Answer, KubeHttp, mint_token

SECRETS = f"/api/v1/namespaces/{SYSTEM}/secrets"
CONFIGMAPS = f"/api/v1/namespaces/{SYSTEM}/configmaps"
LEASES = f"/apis/coordination.k8s.io/v1/namespaces/{SYSTEM}/leases"


@pytest.fixture
async def as_gateway(installation: Installation) -> AsyncIterator[KubeHttp]:
    token = mint_token(installation.cluster, SYSTEM, GATEWAY_SA)
    async with KubeHttp(installation.cluster, token=token) as api:
        yield api


@pytest.fixture
async def as_controller(installation: Installation) -> AsyncIterator[KubeHttp]:
    token = mint_token(installation.cluster, SYSTEM, CONTROLLER_SA)
    async with KubeHttp(installation.cluster, token=token) as api:
        yield api


@pytest.fixture
async def objects(installation: Installation) -> None:
    """A Secret the gateway is not granted, the routing ConfigMap, and a ModelAlias."""
    async with installation.admin() as api:
        await api.create(SECRETS, {"metadata": {"name": "unrelated"}, "stringData": {"password": "hunter2"}})
        await api.create(CONFIGMAPS, {"metadata": {"name": CONFIGMAP}, "data": {"table.json": "{}"}})
        body = {"apiVersion": "aliasgate.io/v1alpha1", "kind": "ModelAlias", "metadata": {"name": "rbac-probe"},
                "spec": {"backend": {"provider": "openai", "model": "gpt-5", "credentials": "openai-key"}}}  # fmt: skip
        await api.create(f"{MA}/namespaces/{TEAM}/modelaliases", body)


def forbidden(answer: Answer, user: str, verb: str, resource: str) -> bool:
    """A real 403: a Status naming the user, the verb and the resource."""
    return (
        answer.status == 403
        and answer.reason == "Forbidden"
        and f'User "system:serviceaccount:{SYSTEM}:{user}" cannot {verb} resource "{resource}"' in answer.message
    )


@pytest.mark.usefixtures("objects")
async def test_gateway_reads_its_named_objects_and_nothing_else(as_gateway: KubeHttp) -> None:
    assert (await as_gateway.get(f"{SECRETS}/openai-key")).status == 200
    assert (await as_gateway.get(f"{CONFIGMAPS}/{CONFIGMAP}")).status == 200
    # resourceNames applies to list and watch only with the field selector on that name.
    assert (await as_gateway.get(SECRETS, fieldSelector="metadata.name=openai-key")).status == 200
    assert forbidden(await as_gateway.get(SECRETS), GATEWAY_SA, "list", "secrets")
    assert forbidden(await as_gateway.get(f"{SECRETS}/unrelated"), GATEWAY_SA, "get", "secrets")
    assert forbidden(
        await as_gateway.get(SECRETS, fieldSelector="metadata.name=unrelated"), GATEWAY_SA, "list", "secrets"
    )
    # Read-only on the table; nothing in other namespaces; no custom resources.
    update = await as_gateway.merge(f"{CONFIGMAPS}/{CONFIGMAP}", {"data": {"table.json": "[]"}})
    assert forbidden(update, GATEWAY_SA, "patch", "configmaps")
    assert forbidden(
        await as_gateway.get(f"/api/v1/namespaces/{TEAM}/secrets/openai-key"), GATEWAY_SA, "get", "secrets"
    )
    assert forbidden(await as_gateway.get(f"{MA}/modelaliases"), GATEWAY_SA, "list", "modelaliases")


@pytest.mark.usefixtures("objects")
async def test_controller_writes_status_but_never_the_spec(as_controller: KubeHttp) -> None:
    alias = f"{MA}/namespaces/{TEAM}/modelaliases/rbac-probe"
    assert (await as_controller.get(f"{MA}/modelaliases")).status == 200
    status = await as_controller.merge(alias + "/status", {"status": {"observedGeneration": 1}})
    assert status.status == 200, status
    assert forbidden(
        await as_controller.merge(alias, {"spec": {"mode": "chat"}}), CONTROLLER_SA, "patch", "modelaliases"
    )
    assert forbidden(await as_controller.delete(alias), CONTROLLER_SA, "delete", "modelaliases")
    # Secrets: read in its own namespace only, never written.
    assert (await as_controller.get(SECRETS)).status == 200
    created = await as_controller.create(SECRETS, {"metadata": {"name": "x"}, "stringData": {"k": "v"}})
    assert forbidden(created, CONTROLLER_SA, "create", "secrets")
    assert forbidden(await as_controller.get(f"/api/v1/namespaces/{TEAM}/secrets"), CONTROLLER_SA, "list", "secrets")


@pytest.mark.usefixtures("objects")
async def test_controller_owns_one_configmap_and_one_lease_by_name(as_controller: KubeHttp) -> None:
    assert (await as_controller.merge(f"{CONFIGMAPS}/{CONFIGMAP}", {"metadata": {"labels": {"a": "b"}}})).status == 200
    assert forbidden(await as_controller.delete(f"{CONFIGMAPS}/{CONFIGMAP}"), CONTROLLER_SA, "delete", "configmaps")
    assert forbidden(await as_controller.get(f"{CONFIGMAPS}/kube-root-ca.crt"), CONTROLLER_SA, "get", "configmaps")
    assert forbidden(await as_controller.get(CONFIGMAPS), CONTROLLER_SA, "list", "configmaps")
    # create cannot be limited by name, so it is granted on the collection; get/update only on the one name.
    name = f"someone-else-{uuid.uuid4().hex[:8]}"
    other = await as_controller.create(LEASES, {"metadata": {"name": name}, "spec": {}})
    assert other.status == 201
    assert forbidden(await as_controller.get(f"{LEASES}/{name}"), CONTROLLER_SA, "get", "leases")
    assert (await as_controller.get(f"{LEASES}/{LEASE}")).status in {200, 404}
