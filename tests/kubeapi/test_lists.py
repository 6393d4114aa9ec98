"""Lists: namespaced and cluster-wide, label and field selectors, paging, Table output."""

from __future__ import annotations

import aiohttp
import pytest

from tests.kubeapi import tables
from tests.kubeapi.support import CM, MA, MA_ALL, MERGE, alias, configmap, post, read_events

TABLE = {
    "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
}


async def _names(http: aiohttp.ClientSession, path: str, **params: str) -> list[str]:
    async with http.get(path, params=params) as response:
        body = await response.json()
        assert response.status == 200, body
    return [item["metadata"]["name"] for item in body["items"]]


async def test_namespaced_and_cluster_wide_lists(kube_http: aiohttp.ClientSession) -> None:
    await post(kube_http, MA, alias("a"))
    await post(kube_http, MA.replace("team-a", "team-b"), alias("b"))
    assert await _names(kube_http, MA) == ["a"]
    assert await _names(kube_http, MA_ALL) == ["a", "b"]


async def test_list_carries_kind_and_collection_version(kube_http: aiohttp.ClientSession) -> None:
    created = await post(kube_http, CM, configmap("x"))
    async with kube_http.get(CM) as response:
        body = await response.json()
    assert body["kind"] == "ConfigMapList"
    assert body["apiVersion"] == "v1"
    assert int(body["metadata"]["resourceVersion"]) >= int(created["metadata"]["resourceVersion"])
    async with kube_http.get(MA) as response:
        assert (await response.json())["kind"] == "ModelAliasList"


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("tier=gold", ["g1", "g2"]),
        ("tier==gold", ["g1", "g2"]),
        ("tier!=gold", ["kube-root-ca.crt", "none", "s1"]),  # kube-root-ca.crt: in every namespace
        ("tier in (gold, silver)", ["g1", "g2", "s1"]),
        ("tier notin (gold)", ["kube-root-ca.crt", "none", "s1"]),
        ("tier", ["g1", "g2", "s1"]),
        ("!tier", ["kube-root-ca.crt", "none"]),
        ("tier=gold,zone=eu", ["g2"]),
        ("tier in (gold),!zone", ["g1"]),
    ],
)
async def test_label_selectors(kube_http: aiohttp.ClientSession, selector: str, expected: list[str]) -> None:
    await post(kube_http, CM, configmap("g1", labels={"tier": "gold"}))
    await post(kube_http, CM, configmap("g2", labels={"tier": "gold", "zone": "eu"}))
    await post(kube_http, CM, configmap("s1", labels={"tier": "silver"}))
    await post(kube_http, CM, configmap("none"))
    assert await _names(kube_http, CM, labelSelector=selector) == expected


async def test_bad_label_selector_is_400(kube_http: aiohttp.ClientSession) -> None:
    async with kube_http.get(CM, params={"labelSelector": "a in b"}) as response:
        assert response.status == 400


async def test_field_selectors_on_name_and_namespace(kube_http: aiohttp.ClientSession) -> None:
    await post(kube_http, MA, alias("x"))
    await post(kube_http, MA, alias("y"))
    await post(kube_http, MA.replace("team-a", "team-b"), alias("x"))
    assert await _names(kube_http, MA, fieldSelector="metadata.name=x") == ["x"]
    assert await _names(kube_http, MA_ALL, fieldSelector="metadata.namespace=team-b") == ["x"]
    assert await _names(kube_http, MA_ALL, fieldSelector="metadata.name!=x") == ["y"]
    async with kube_http.get(MA, params={"fieldSelector": "spec.mode=chat"}) as response:
        assert response.status == 400
        assert (await response.json())["message"] == "field label not supported: spec.mode"


async def test_limit_and_continue_page_through_everything(kube_http: aiohttp.ClientSession) -> None:
    for index in range(7):
        await post(kube_http, CM, configmap(f"p{index}", labels={"paged": "yes"}))
    # Unfiltered, each page says how many items remain (kube-root-ca.crt, in every namespace, is one).
    async with kube_http.get(CM, params={"limit": "3"}) as response:
        first = await response.json()
    assert [i["metadata"]["name"] for i in first["items"]] == ["kube-root-ca.crt", "p0", "p1"]
    assert first["metadata"]["remainingItemCount"] == 5
    seen: list[str] = []
    params = {"limit": "3", "labelSelector": "paged=yes"}
    while True:
        async with kube_http.get(CM, params=params) as response:
            body = await response.json()
        seen += [item["metadata"]["name"] for item in body["items"]]
        token = body["metadata"].get("continue")
        if not token:
            break
        assert "remainingItemCount" not in body["metadata"]  # not known after a selector filtered the list
        params = {"limit": "3", "labelSelector": "paged=yes", "continue": token}
    assert seen == [f"p{index}" for index in range(7)]


async def test_table_output_uses_the_crd_printer_columns(kube_http: aiohttp.ClientSession) -> None:
    await post(kube_http, MA, alias("t", provider="chatgpt", model="gpt-5.4", alias="chatgpt/gpt-5.4"))
    status = {"status": {"resolvedMode": "responses", "conditions": [{"type": "Accepted", "status": "True"}]}}
    async with kube_http.patch(f"{MA}/t/status", json=status, headers=MERGE) as response:
        assert response.status == 200
    async with kube_http.get(MA, headers=TABLE) as response:
        assert response.headers["Content-Type"] == "application/json"  # the Table kind is in the body
        table = await response.json()
    assert table["kind"] == "Table"
    names = [c["name"] for c in table["columnDefinitions"]]
    assert names == ["Name", "Alias", "Provider", "Model", "Mode", "Accepted", "Programmed", "Age", "Backend"]
    assert table["columnDefinitions"][-1]["priority"] == 1
    (row,) = table["rows"]
    assert row["cells"][:7] == ["t", "chatgpt/gpt-5.4", "chatgpt", "gpt-5.4", "responses", "True", None]
    assert row["cells"][7].endswith("s")
    assert row["object"]["kind"] == "PartialObjectMetadata"


async def test_table_output_for_built_in_kinds(kube_http: aiohttp.ClientSession) -> None:
    await post(kube_http, CM, configmap("c", {"a": "1", "b": "2"}))
    async with kube_http.get(f"{CM}/c", headers=TABLE) as response:
        table = await response.json()
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert table["rows"][0]["cells"][:2] == ["c", 2]


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (5, "5s"),
        (119, "119s"),
        (125, "2m5s"),
        (600, "10m"),
        (3 * 3600 + 60, "3h1m"),
        (30 * 3600, "30h"),
        (3 * 86400, "3d"),
        (400 * 86400, "400d"),
    ],
)
def test_ages_read_like_kubectl(seconds: int, shown: str) -> None:
    assert tables.human_duration(seconds) == shown


def test_jsonpath_filters_select_by_field() -> None:
    obj = {"status": {"conditions": [{"type": "A", "status": "False"}, {"type": "B", "status": "True"}]}}
    assert tables.jsonpath(obj, '.status.conditions[?(@.type=="B")].status') == ["True"]
    assert tables.jsonpath(obj, ".status.conditions[0].type") == ["A"]
    assert tables.jsonpath(obj, ".status.missing") == []


async def test_delete_collection_by_label(kube_http: aiohttp.ClientSession) -> None:
    await post(kube_http, CM, configmap("keep"))
    await post(kube_http, CM, configmap("drop1", labels={"gone": "yes"}))
    await post(kube_http, CM, configmap("drop2", labels={"gone": "yes"}))
    async with kube_http.delete(CM, params={"labelSelector": "gone=yes"}) as response:
        assert response.status == 200
        assert sorted(i["metadata"]["name"] for i in (await response.json())["items"]) == ["drop1", "drop2"]
    assert await _names(kube_http, CM) == ["keep", "kube-root-ca.crt"]


async def test_metadata_only_get_list_and_watch(kube_http: aiohttp.ClientSession) -> None:
    await post(kube_http, MA, alias("m", labels={"a": "b"}))
    meta_list = {"Accept": "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json"}
    async with kube_http.get(MA, headers=meta_list) as response:
        body = await response.json()
    assert body["kind"] == "PartialObjectMetadataList"
    assert body["items"][0] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": body["items"][0]["metadata"],
    }
    assert body["items"][0]["metadata"]["labels"] == {"a": "b"}
    meta_one = {"Accept": "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io,application/json"}
    async with kube_http.get(f"{MA}/m", headers=meta_one) as response:
        one = await response.json()
    assert one["kind"] == "PartialObjectMetadata"
    assert "spec" not in one
    async with kube_http.get(MA, params={"watch": "true"}, headers=meta_one) as response:
        (event,) = await read_events(response, 1)
    assert event["object"]["kind"] == "PartialObjectMetadata"
    assert "spec" not in event["object"]
