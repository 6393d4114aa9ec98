"""Patches (merge, JSON, strategic), server-side apply, finalizers, generateName and dry runs."""

from __future__ import annotations

import aiohttp

from tests.kubeapi.support import APPLY, CM, JSON_PATCH, MA, MERGE, STRATEGIC, alias, configmap, post

PODS = "/api/v1/namespaces/default/pods"
SERVICES = "/api/v1/namespaces/default/services"


async def test_merge_patch_merges_objects_and_null_deletes(kube_http: aiohttp.ClientSession) -> None:
    await post(kube_http, CM, configmap("m", {"a": "1", "b": "2"}))
    async with kube_http.patch(f"{CM}/m", json={"data": {"b": None, "c": "3"}}, headers=MERGE) as response:
        assert response.status == 200
        assert (await response.json())["data"] == {"a": "1", "c": "3"}


async def test_json_patch_applies_operations_in_order(kube_http: aiohttp.ClientSession) -> None:
    await post(kube_http, MA, alias("j", fallbacks=["x"]))
    ops = [
        {"op": "test", "path": "/spec/backend/model", "value": "gpt-5.4"},
        {"op": "replace", "path": "/spec/backend/model", "value": "gpt-6"},
        {"op": "add", "path": "/spec/fallbacks/-", "value": "y"},
        {"op": "remove", "path": "/spec/fallbacks/0"},
    ]
    async with kube_http.patch(f"{MA}/j", json=ops, headers=JSON_PATCH) as response:
        assert response.status == 200
        spec = (await response.json())["spec"]
    assert spec["backend"]["model"] == "gpt-6"
    assert spec["fallbacks"] == ["y"]


async def test_failed_json_patch_test_changes_nothing(kube_http: aiohttp.ClientSession) -> None:
    created = await post(kube_http, MA, alias("t"))
    ops = [
        {"op": "replace", "path": "/spec/mode", "value": "chat"},
        {"op": "test", "path": "/spec/alias", "value": "x"},
    ]
    async with kube_http.patch(f"{MA}/t", json=ops, headers=JSON_PATCH) as response:
        assert response.status == 422
    async with kube_http.get(f"{MA}/t") as response:
        assert (await response.json())["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


async def test_a_dict_sent_as_json_patch_is_400(kube_http: aiohttp.ClientSession) -> None:
    await post(kube_http, MA, alias("d"))
    async with kube_http.patch(f"{MA}/d", json={"spec": {"mode": "chat"}}, headers=JSON_PATCH) as response:
        assert response.status == 400


async def test_strategic_merge_patch_is_415_for_custom_resources(kube_http: aiohttp.ClientSession) -> None:
    await post(kube_http, MA, alias("s"))
    async with kube_http.patch(f"{MA}/s", json={"spec": {"mode": "chat"}}, headers=STRATEGIC) as response:
        assert response.status == 415
        status = await response.json()
    assert status["reason"] == "UnsupportedMediaType"
    assert "application/merge-patch+json" in status["message"]


async def test_strategic_merge_patch_merges_lists_by_key_for_built_ins(kube_http: aiohttp.ClientSession) -> None:
    service = {"metadata": {"name": "p"}, "spec": {"ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81}]}}
    await post(kube_http, SERVICES, service)
    patch = {"spec": {"ports": [{"name": "b", "port": 81, "targetPort": 9091}, {"name": "c", "port": 82}]}}
    async with kube_http.patch(f"{SERVICES}/p", json=patch, headers=STRATEGIC) as response:
        assert response.status == 200
        ports = (await response.json())["spec"]["ports"]
    assert [(p["name"], p["port"]) for p in ports] == [("a", 80), ("b", 81), ("c", 82)]  # merged by port
    assert ports[1]["targetPort"] == 9091
    delete = {"spec": {"ports": [{"port": 80, "$patch": "delete"}]}}
    async with kube_http.patch(f"{SERVICES}/p", json=delete, headers=STRATEGIC) as response:
        assert [p["name"] for p in (await response.json())["spec"]["ports"]] == ["b", "c"]
    # A pod's containers merge by name too, but a pod may only change images, never its container list.
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": "a:1"}]}}
    await post(kube_http, PODS, pod)
    image = {"spec": {"containers": [{"name": "a", "image": "a:2"}]}}
    async with kube_http.patch(f"{PODS}/p", json=image, headers=STRATEGIC) as response:
        assert response.status == 200
        assert [c["image"] for c in (await response.json())["spec"]["containers"]] == ["a:2"]
    added = {"spec": {"containers": [{"name": "b", "image": "b:1"}]}}
    async with kube_http.patch(f"{PODS}/p", json=added, headers=STRATEGIC) as response:
        assert response.status == 422
        status = await response.json()
    assert (
        status["message"]
        == 'Pod "p" is invalid: spec.containers: Forbidden: pod updates may not add or remove containers'
    )


async def test_patch_with_a_stale_resource_version_is_409(kube_http: aiohttp.ClientSession) -> None:
    created = await post(kube_http, CM, configmap("c", {"a": "1"}))
    async with kube_http.patch(f"{CM}/c", json={"data": {"a": "2"}}, headers=MERGE) as response:
        assert response.status == 200
    stale = {"metadata": {"resourceVersion": created["metadata"]["resourceVersion"]}, "data": {"a": "3"}}
    async with kube_http.patch(f"{CM}/c", json=stale, headers=MERGE) as response:
        assert response.status == 409


async def test_patching_a_missing_object_is_404(kube_http: aiohttp.ClientSession) -> None:
    async with kube_http.patch(f"{CM}/none", json={"data": {}}, headers=MERGE) as response:
        assert response.status == 404


async def test_unknown_patch_type_is_415(kube_http: aiohttp.ClientSession) -> None:
    await post(kube_http, CM, configmap("u"))
    async with kube_http.patch(f"{CM}/u", data=b"{}", headers={"Content-Type": "text/plain"}) as response:
        assert response.status == 415


async def test_server_side_apply_creates_with_201_then_updates(kube_http: aiohttp.ClientSession) -> None:
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: '1'\n  b: '2'\n"
    params = {"fieldManager": "tester"}
    async with kube_http.patch(f"{CM}/ssa", data=manifest, headers=APPLY, params=params) as response:
        assert response.status == 201
    async with kube_http.patch(f"{CM}/ssa", json={"data": {"other": "x"}}, headers=MERGE) as response:
        assert response.status == 200
    smaller = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: '9'\n"
    async with kube_http.patch(f"{CM}/ssa", data=smaller, headers=APPLY, params=params) as response:
        assert response.status == 200
        data = (await response.json())["data"]
    assert data == {"a": "9", "other": "x"}


async def test_server_side_apply_needs_a_field_manager(kube_http: aiohttp.ClientSession) -> None:
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: nofm\n"
    async with kube_http.patch(f"{CM}/nofm", data=manifest, headers=APPLY) as response:
        assert response.status == 422
        status = await response.json()
    assert status["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'
    )


async def test_finalizers_hold_deletion_until_removed(kube_http: aiohttp.ClientSession) -> None:
    body = alias("f")
    body["metadata"]["finalizers"] = ["aliasgate.io/cleanup"]
    await post(kube_http, MA, body)
    async with kube_http.delete(f"{MA}/f") as response:
        assert response.status == 200  # the object, marked (202 only when orphanDependents=false is asked)
        pending = await response.json()
    assert pending["metadata"]["deletionTimestamp"]
    async with kube_http.get(f"{MA}/f") as response:
        assert response.status == 200
    async with kube_http.patch(f"{MA}/f", json={"metadata": {"finalizers": None}}, headers=MERGE) as response:
        assert response.status == 200
    async with kube_http.get(f"{MA}/f") as response:
        assert response.status == 404


async def test_generate_name_makes_a_unique_name(kube_http: aiohttp.ClientSession) -> None:
    body = {"metadata": {"generateName": "gen-"}}
    first = await post(kube_http, CM, body)
    second = await post(kube_http, CM, body)
    assert first["metadata"]["name"].startswith("gen-")
    assert len(first["metadata"]["name"]) == len("gen-") + 5
    assert first["metadata"]["name"] != second["metadata"]["name"]


async def test_missing_name_is_422(kube_http: aiohttp.ClientSession) -> None:
    async with kube_http.post(CM, json={"metadata": {}}) as response:
        assert response.status == 422


async def test_dry_run_changes_nothing(kube_http: aiohttp.ClientSession) -> None:
    async with kube_http.post(CM, json=configmap("dry"), params={"dryRun": "All"}) as response:
        assert response.status == 201
    async with kube_http.get(f"{CM}/dry") as response:
        assert response.status == 404


async def test_stale_delete_precondition_is_409(kube_http: aiohttp.ClientSession) -> None:
    await post(kube_http, CM, configmap("pre"))
    body = {"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"resourceVersion": "1"}}
    async with kube_http.delete(f"{CM}/pre", json=body) as response:
        assert response.status == 409


async def test_yaml_bodies_keep_timestamps_as_strings_and_keys_as_strings(kube_http: aiohttp.ClientSession) -> None:
    manifest = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ymd\ndata:\n  when: 2026-01-01T00:00:00Z\n  1: one\n"
    )
    async with kube_http.post(CM, data=manifest, headers={"Content-Type": "application/yaml"}) as response:
        assert response.status == 201
        data = (await response.json())["data"]
    assert data == {"when": "2026-01-01T00:00:00Z", "1": "one"}
    # YAML 1.1, as Kubernetes reads it: a bare y is a boolean, not a name.
    boolean = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n"
    async with kube_http.post(CM, data=boolean, headers={"Content-Type": "application/yaml"}) as response:
        assert response.status == 400
        status = await response.json()
    assert status["message"] == (
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal bool into Go struct '
        "field ObjectMeta.metadata.name of type string"
    )


async def test_server_side_apply_conflicts_between_managers_unless_forced(kube_http: aiohttp.ClientSession) -> None:
    first = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: owned\ndata:\n  a: '1'\n  b: '2'\n"
    async with kube_http.patch(f"{CM}/owned", data=first, headers=APPLY, params={"fieldManager": "alice"}) as response:
        assert response.status == 201
    agreeing = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: owned\ndata:\n  a: '1'\n  c: '3'\n"
    async with kube_http.patch(f"{CM}/owned", data=agreeing, headers=APPLY, params={"fieldManager": "bob"}) as response:
        assert response.status == 200  # same value: shared ownership, no conflict
    taking = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: owned\ndata:\n  b: '9'\n"
    async with kube_http.patch(f"{CM}/owned", data=taking, headers=APPLY, params={"fieldManager": "bob"}) as response:
        assert response.status == 409
        status = await response.json()
    assert status["reason"] == "Conflict"
    assert status["message"] == 'Apply failed with 1 conflict: conflict with "alice": .data.b'
    assert status["details"]["causes"] == [
        {"reason": "FieldManagerConflict", "message": 'conflict with "alice"', "field": ".data.b"}
    ]
    forced = {"fieldManager": "bob", "force": "true"}
    async with kube_http.patch(f"{CM}/owned", data=taking, headers=APPLY, params=forced) as response:
        assert response.status == 200
        assert (await response.json())["data"] == {"a": "1", "b": "9"}
    alice_again = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: owned\ndata:\n  a: '1'\n"
    async with kube_http.patch(
        f"{CM}/owned", data=alice_again, headers=APPLY, params={"fieldManager": "alice"}
    ) as response:
        assert response.status == 200
        assert (await response.json())["data"] == {"a": "1", "b": "9"}  # b now belongs to bob; a is shared
