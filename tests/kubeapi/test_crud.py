"""CRUD semantics over real HTTP: status codes, Status bodies, uid/resourceVersion/generation rules."""

from __future__ import annotations

import aiohttp

from tests.kubeapi.server import KubeApiServer
from tests.kubeapi.support import CM, MA, MERGE, alias, post


async def test_create_answers_201_with_server_fields(kube_http: aiohttp.ClientSession) -> None:
    async with kube_http.post(CM, json={"metadata": {"name": "a"}, "data": {"k": "v"}}) as response:
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


async def test_duplicate_name_is_409_already_exists(kube_http: aiohttp.ClientSession) -> None:
    async with kube_http.post(CM, json={"metadata": {"name": "a"}}) as response:
        assert response.status == 201
    async with kube_http.post(CM, json={"metadata": {"name": "a"}}) as response:
        assert response.status == 409
        status = await response.json()
    assert status["kind"] == "Status"
    assert status["reason"] == "AlreadyExists"
    assert status["details"] == {"name": "a", "kind": "configmaps"}
    assert status["message"] == 'configmaps "a" already exists'


async def test_missing_object_is_404_with_group_in_details(kube_http: aiohttp.ClientSession) -> None:
    async with kube_http.get(f"{MA}/nope") as response:
        assert response.status == 404
        status = await response.json()
    assert status["reason"] == "NotFound"
    assert status["message"] == 'modelaliases.aliasgate.io "nope" not found'
    assert status["details"] == {"name": "nope", "group": "aliasgate.io", "kind": "modelaliases"}


async def test_resource_version_is_one_global_increasing_counter(kube_http: aiohttp.ClientSession) -> None:
    versions = []
    for path, body in ((CM, {"metadata": {"name": "x"}}), (MA, alias("y")), (CM, {"metadata": {"name": "z"}})):
        async with kube_http.post(path, json=body) as response:
            versions.append(int((await response.json())["metadata"]["resourceVersion"]))
    assert versions == sorted(versions)
    assert len(set(versions)) == 3
    async with kube_http.get("/api/v1/configmaps") as response:
        listed = await response.json()
    assert int(listed["metadata"]["resourceVersion"]) >= versions[-1]


async def test_generation_bumps_on_spec_change_only(kube_http: aiohttp.ClientSession) -> None:
    async with kube_http.post(MA, json=alias("g")) as response:
        created = await response.json()
    assert created["metadata"]["generation"] == 1
    async with kube_http.patch(f"{MA}/g", json={"metadata": {"labels": {"a": "b"}}}, headers=MERGE) as response:
        labelled = await response.json()
    assert labelled["metadata"]["generation"] == 1
    assert labelled["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    async with kube_http.patch(f"{MA}/g/status", json={"status": {"resolvedMode": "chat"}}, headers=MERGE) as response:
        with_status = await response.json()
    assert with_status["metadata"]["generation"] == 1
    async with kube_http.patch(f"{MA}/g", json={"spec": {"mode": "chat"}}, headers=MERGE) as response:
        changed = await response.json()
    assert changed["metadata"]["generation"] == 2
    assert changed["status"] == {"resolvedMode": "chat"}


async def test_stale_put_is_409_conflict(kube_http: aiohttp.ClientSession) -> None:
    async with kube_http.post(MA, json=alias("s")) as response:
        first = await response.json()
    first["spec"]["mode"] = "chat"
    async with kube_http.put(f"{MA}/s", json=first) as response:
        assert response.status == 200
    first["spec"]["mode"] = "responses"
    async with kube_http.put(f"{MA}/s", json=first) as response:
        assert response.status == 409
        status = await response.json()
    assert status["reason"] == "Conflict"
    assert "the object has been modified" in status["message"]


async def test_custom_resource_put_requires_resource_version(kube_http: aiohttp.ClientSession) -> None:
    async with kube_http.post(MA, json=alias("r")) as response:
        assert response.status == 201
    async with kube_http.put(f"{MA}/r", json=alias("r", mode="chat")) as response:
        assert response.status == 422
        status = await response.json()
    assert status["details"]["causes"][0]["field"] == "metadata.resourceVersion"


async def test_identical_write_keeps_resource_version(
    kube_http: aiohttp.ClientSession, kube_api: KubeApiServer
) -> None:
    async with kube_http.post(CM, json={"metadata": {"name": "same"}, "data": {"k": "v"}}) as response:
        created = await response.json()
    before = kube_api.resource_version
    async with kube_http.put(f"{CM}/same", json=created) as response:
        again = await response.json()
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert kube_api.resource_version == before


async def test_delete_answers_200_with_object_then_404(kube_http: aiohttp.ClientSession) -> None:
    async with kube_http.post(CM, json={"metadata": {"name": "d"}}) as response:
        assert response.status == 201
    async with kube_http.delete(f"{CM}/d") as response:
        assert response.status == 200
        status = await response.json()
    # ConfigMaps (like most kinds, custom resources included) answer a Status naming what was deleted.
    assert (status["kind"], status["status"]) == ("Status", "Success")
    assert status["details"]["name"] == "d"
    assert status["details"]["kind"] == "configmaps"
    async with kube_http.get(f"{CM}/d") as response:
        assert response.status == 404


async def test_python_helpers_share_state_with_http(kube_api: KubeApiServer, kube_http: aiohttp.ClientSession) -> None:
    created = kube_api.create({**alias("h"), "metadata": {"name": "h", "namespace": "team-a"}})
    assert created["metadata"]["generation"] == 1
    kube_api.patch(
        "aliasgate.io/v1alpha1",
        "modelaliases",
        "h",
        {"status": {"resolvedMode": "chat"}},
        namespace="team-a",
        subresource="status",
    )
    changed = {**created, "spec": {**created["spec"], "mode": "chat"}}
    del changed["metadata"]["resourceVersion"]
    updated = kube_api.update(changed)
    assert updated["metadata"]["generation"] == 2
    async with kube_http.get(f"{MA}/h") as response:
        seen = await response.json()
    assert seen["status"] == {"resolvedMode": "chat"}
    assert seen["spec"]["mode"] == "chat"
    kube_api.delete("aliasgate.io/v1alpha1", "modelaliases", "h", "team-a")
    assert kube_api.get("aliasgate.io/v1alpha1", "modelaliases", "h", "team-a") is None


async def test_python_helpers_return_copies(kube_api: KubeApiServer) -> None:
    created = kube_api.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}, "data": {"a": "1"}}
    )
    created["data"]["a"] = "mutated"
    fetched = kube_api.get("v1", "configmaps", "c", "default")
    assert fetched is not None
    assert fetched["data"] == {"a": "1"}


async def test_create_needs_a_namespace_for_namespaced_kinds(kube_http: aiohttp.ClientSession) -> None:
    async with kube_http.post("/apis/aliasgate.io/v1alpha1/modelaliases", json=alias("x")) as response:
        assert response.status == 404  # no such route: only list and watch exist across namespaces
        assert await response.text() == "404 page not found\n"


async def test_put_of_a_recreated_object_with_the_old_uid_is_409(kube_http: aiohttp.ClientSession) -> None:
    first = await post(kube_http, CM, {"metadata": {"name": "u"}})
    async with kube_http.delete(f"{CM}/u") as response:
        assert response.status == 200
    await post(kube_http, CM, {"metadata": {"name": "u"}})
    del first["metadata"]["resourceVersion"]
    async with kube_http.put(f"{CM}/u", json=first) as response:
        assert response.status == 409
        assert "UID in precondition" in (await response.json())["message"]


async def test_watch_flag_on_a_named_object_is_a_get(kube_http: aiohttp.ClientSession) -> None:
    await post(kube_http, CM, {"metadata": {"name": "n"}})
    async with kube_http.get(f"{CM}/n", params={"watch": "true"}) as response:
        assert response.status == 200
        assert (await response.json())["metadata"]["name"] == "n"
