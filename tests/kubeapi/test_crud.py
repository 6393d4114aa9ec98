"""CRUD semantics over real HTTP: status codes, Status bodies, uid/resourceVersion/generation rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.kubeapi.server import KubeApiServer

Json = dict[str, Any]
CM = "/api/v1/namespaces/default/configmaps"
MA = "/apis/aliasgate.io/v1alpha1/namespaces/team-a/modelaliases"
MERGE = {"Content-Type": "application/merge-patch+json"}


def alias(name: str, *, model: str = "gpt-5.4", provider: str = "openai", **spec: Any) -> Json:
    return {
        "apiVersion": "aliasgate.io/v1alpha1",
        "kind": "ModelAlias",
        "metadata": {"name": name},
        "spec": {"backend": {"provider": provider, "model": model}, **spec},
    }


@pytest.fixture
async def http(kube_api: KubeApiServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=kube_api.url, timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


async def test_create_answers_201_with_server_fields(http: aiohttp.ClientSession) -> None:
    async with http.post(CM, json={"metadata": {"name": "a"}, "data": {"k": "v"}}) as response:
        assert response.status == 201
        body = await response.json()
    meta = body["metadata"]
    assert body["kind"] == "ConfigMap"
    assert body["apiVersion"] == "v1"
    assert meta["namespace"] == "default"
    assert len(meta["uid"]) == 36
    assert int(meta["resourceVersion"]) > 0
    assert meta["creationTimestamp"].endswith("Z")
    assert "generation" not in meta


async def test_duplicate_name_is_409_already_exists(http: aiohttp.ClientSession) -> None:
    async with http.post(CM, json={"metadata": {"name": "a"}}) as response:
        assert response.status == 201
    async with http.post(CM, json={"metadata": {"name": "a"}}) as response:
        assert response.status == 409
        status = await response.json()
    assert status["kind"] == "Status"
    assert status["reason"] == "AlreadyExists"
    assert status["details"] == {"name": "a", "kind": "configmaps"}
    assert status["message"] == 'configmaps "a" already exists'


async def test_missing_object_is_404_with_group_in_details(http: aiohttp.ClientSession) -> None:
    async with http.get(f"{MA}/nope") as response:
        assert response.status == 404
        status = await response.json()
    assert status["reason"] == "NotFound"
    assert status["message"] == 'modelaliases.aliasgate.io "nope" not found'
    assert status["details"] == {"name": "nope", "group": "aliasgate.io", "kind": "modelaliases"}


async def test_resource_version_is_one_global_increasing_counter(http: aiohttp.ClientSession) -> None:
    versions = []
    for path, body in ((CM, {"metadata": {"name": "x"}}), (MA, alias("y")), (CM, {"metadata": {"name": "z"}})):
        async with http.post(path, json=body) as response:
            versions.append(int((await response.json())["metadata"]["resourceVersion"]))
    assert versions == sorted(versions)
    assert len(set(versions)) == 3
    async with http.get("/api/v1/configmaps") as response:
        listed = await response.json()
    assert int(listed["metadata"]["resourceVersion"]) >= versions[-1]


async def test_generation_bumps_on_spec_change_only(http: aiohttp.ClientSession) -> None:
    async with http.post(MA, json=alias("g")) as response:
        created = await response.json()
    assert created["metadata"]["generation"] == 1
    async with http.patch(f"{MA}/g", json={"metadata": {"labels": {"a": "b"}}}, headers=MERGE) as response:
        labelled = await response.json()
    assert labelled["metadata"]["generation"] == 1
    assert labelled["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    async with http.patch(f"{MA}/g/status", json={"status": {"resolvedMode": "chat"}}, headers=MERGE) as response:
        with_status = await response.json()
    assert with_status["metadata"]["generation"] == 1
    async with http.patch(f"{MA}/g", json={"spec": {"mode": "chat"}}, headers=MERGE) as response:
        changed = await response.json()
    assert changed["metadata"]["generation"] == 2
    assert changed["status"] == {"resolvedMode": "chat"}


async def test_stale_put_is_409_conflict(http: aiohttp.ClientSession) -> None:
    async with http.post(MA, json=alias("s")) as response:
        first = await response.json()
    first["spec"]["mode"] = "chat"
    async with http.put(f"{MA}/s", json=first) as response:
        assert response.status == 200
    first["spec"]["mode"] = "responses"
    async with http.put(f"{MA}/s", json=first) as response:
        assert response.status == 409
        status = await response.json()
    assert status["reason"] == "Conflict"
    assert "the object has been modified" in status["message"]


async def test_custom_resource_put_requires_resource_version(http: aiohttp.ClientSession) -> None:
    async with http.post(MA, json=alias("r")) as response:
        assert response.status == 201
    async with http.put(f"{MA}/r", json=alias("r", mode="chat")) as response:
        assert response.status == 422
        status = await response.json()
    assert status["details"]["causes"][0]["field"] == "metadata.resourceVersion"


async def test_identical_write_keeps_resource_version(http: aiohttp.ClientSession, kube_api: KubeApiServer) -> None:
    async with http.post(CM, json={"metadata": {"name": "same"}, "data": {"k": "v"}}) as response:
        created = await response.json()
    before = kube_api.resource_version
    async with http.put(f"{CM}/same", json=created) as response:
        again = await response.json()
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert kube_api.resource_version == before


async def test_delete_answers_200_with_object_then_404(http: aiohttp.ClientSession) -> None:
    async with http.post(CM, json={"metadata": {"name": "d"}}) as response:
        assert response.status == 201
    async with http.delete(f"{CM}/d") as response:
        assert response.status == 200
        assert (await response.json())["metadata"]["name"] == "d"
    async with http.get(f"{CM}/d") as response:
        assert response.status == 404
