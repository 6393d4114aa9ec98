"""CustomResourceDefinitions and discovery: creating a CRD serves its resources; deleting it removes them."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import yaml

from tests.kubeapi.fixtures import DEPLOY_CRD, TEST_CRD, ServerFactory
from tests.kubeapi.server import KubeApiServer
from tests.kubeapi.support import post

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"


def _widget_crd() -> dict[str, Any]:
    crd: dict[str, Any] = copy.deepcopy(yaml.safe_load(TEST_CRD.read_text()))
    crd["metadata"]["name"] = "widgets.example.com"
    crd["spec"]["group"] = "example.com"
    crd["spec"]["names"] = {"kind": "Widget", "plural": "widgets", "singular": "widget", "shortNames": ["wd"]}
    crd["spec"]["scope"] = "Cluster"
    return crd


async def test_legacy_discovery_documents(kube_http: aiohttp.ClientSession) -> None:
    async with kube_http.get("/api") as response:
        assert (await response.json())["versions"] == ["v1"]
    async with kube_http.get("/api/v1") as response:
        core = {r["name"]: r for r in (await response.json())["resources"]}
    assert core["configmaps"]["namespaced"] is True
    assert core["configmaps"]["shortNames"] == ["cm"]
    assert "namespaces/status" in core
    async with kube_http.get("/apis") as response:
        groups = {g["name"]: g for g in (await response.json())["groups"]}
    assert groups["aliasgate.io"]["preferredVersion"]["groupVersion"] == "aliasgate.io/v1alpha1"
    assert {"coordination.k8s.io", "events.k8s.io", "discovery.k8s.io", "apiextensions.k8s.io"} <= set(groups)
    async with kube_http.get("/apis/aliasgate.io/v1alpha1") as response:
        resources = {r["name"]: r for r in (await response.json())["resources"]}
    assert resources["modelaliases"]["kind"] == "ModelAlias"
    assert resources["modelaliases"]["shortNames"] == ["ma"]
    assert "watch" in resources["modelaliases"]["verbs"]
    assert "modelaliases/status" in resources


async def test_aggregated_discovery_when_asked(kube_http: aiohttp.ClientSession) -> None:
    async with kube_http.get("/apis", headers={"Accept": AGGREGATED}) as response:
        assert response.headers["Content-Type"].startswith("application/json;g=apidiscovery.k8s.io;v=v2")
        body = await response.json()
    assert body["kind"] == "APIGroupDiscoveryList"
    group = next(g for g in body["items"] if g["metadata"]["name"] == "aliasgate.io")
    (resource,) = group["versions"][0]["resources"]
    assert resource["resource"] == "modelaliases"
    assert resource["scope"] == "Namespaced"
    assert resource["subresources"][0]["subresource"] == "status"


async def test_version_and_openapi(kube_http: aiohttp.ClientSession) -> None:
    async with kube_http.get("/version") as response:
        assert (await response.json())["gitVersion"] == "v1.37.2"
    paths = await until(lambda: _openapi_paths_with(kube_http, "apis/aliasgate.io/v1alpha1"))
    async with kube_http.get(paths["apis/aliasgate.io/v1alpha1"]["serverRelativeURL"]) as response:
        doc = await response.json()
    patch = doc["paths"]["/apis/aliasgate.io/v1alpha1/namespaces/{namespace}/modelaliases/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "aliasgate.io",
        "version": "v1alpha1",
        "kind": "ModelAlias",
    }
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]


async def until(probe: Callable[[], Awaitable[Any]], timeout: float = 30.0) -> Any:
    """Poll: a real server establishes a CRD, and removes a deleted one, asynchronously."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := await probe()):
        assert asyncio.get_running_loop().time() < deadline, "not settled in time"
        await asyncio.sleep(0.1)
    return value


async def _conditions(http: aiohttp.ClientSession, name: str) -> dict[str, str]:
    async with http.get(f"{CRDS}/{name}") as response:
        return {c["type"]: c["status"] for c in (await response.json())["status"].get("conditions") or []}


async def _established(http: aiohttp.ClientSession, name: str) -> None:
    await until(lambda: _is_established(http, name))


async def _is_established(http: aiohttp.ClientSession, name: str) -> bool:
    return (await _conditions(http, name)).get("Established") == "True"


async def _status(http: aiohttp.ClientSession, path: str) -> int:
    async with http.get(path) as response:
        return response.status


async def test_creating_a_crd_serves_it_and_deleting_removes_it(kube_http: aiohttp.ClientSession) -> None:
    created = await post(kube_http, CRDS, _widget_crd())
    # The create answers before the names and establishing controllers ran.
    assert created["status"]["conditions"] is None
    await _established(kube_http, "widgets.example.com")
    assert await _conditions(kube_http, "widgets.example.com") == {"NamesAccepted": "True", "Established": "True"}
    widget = {
        "apiVersion": "example.com/v1alpha1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"backend": {"provider": "openai", "model": "m"}},
    }
    await post(kube_http, "/apis/example.com/v1alpha1/widgets", widget)
    async with kube_http.get("/apis/example.com/v1alpha1") as response:
        assert response.status == 200
    async with kube_http.delete(f"{CRDS}/widgets.example.com") as response:
        assert response.status == 200
        deleted = await response.json()
    assert deleted["metadata"]["finalizers"] == ["customresourcecleanup.apiextensions.k8s.io"]
    assert {c["type"]: c["status"] for c in deleted["status"]["conditions"]}["Terminating"] == "True"
    await until(lambda: _is(_status(kube_http, "/apis/example.com/v1alpha1/widgets/w"), 404))
    await until(lambda: _is(_status(kube_http, f"{CRDS}/widgets.example.com"), 404))
    async with kube_http.get("/apis") as response:
        assert "example.com" not in {g["name"] for g in (await response.json())["groups"]}


async def _openapi_paths_with(http: aiohttp.ClientSession, key: str) -> dict[str, Any] | None:
    """The OpenAPI v3 index once it lists ``key`` (a real server publishes a new CRD's schema a little later)."""
    async with http.get("/openapi/v3") as response:
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"  # JSON, labelled text/plain
        paths: dict[str, Any] = (await response.json(content_type=None))["paths"]
    return paths if key in paths else None


async def _is(value: Awaitable[Any], want: Any) -> bool:
    return bool(await value == want)


async def test_a_crd_with_a_wrong_name_is_422(kube_http: aiohttp.ClientSession) -> None:
    crd = _widget_crd()
    crd["metadata"]["name"] = "gadgets.example.com"
    async with kube_http.post(CRDS, json=crd) as response:
        assert response.status == 422


async def test_install_crd_is_idempotent(kube_api: KubeApiServer) -> None:
    first = kube_api.install_crd(TEST_CRD)
    second = kube_api.install_crd(TEST_CRD)
    assert first["metadata"]["uid"] == second["metadata"]["uid"]


async def test_the_project_crd_installs_and_serves_modelaliases(kube_api_factory: ServerFactory) -> None:
    async with kube_api_factory(crd=DEPLOY_CRD) as api:
        rt = api.resource("aliasgate.io/v1alpha1", "modelaliases")
        assert rt.short_names == ("ma",)
        assert rt.status_subresource
        assert rt.printer_columns


async def test_every_served_version_sees_the_same_objects(kube_http: aiohttp.ClientSession) -> None:
    crd = _widget_crd()
    storage = crd["spec"]["versions"][0]
    crd["spec"]["versions"] = [storage, {**copy.deepcopy(storage), "name": "v1beta1", "storage": False}]
    await post(kube_http, CRDS, crd)
    await _established(kube_http, "widgets.example.com")
    widget = {
        "apiVersion": "example.com/v1alpha1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"backend": {"provider": "openai", "model": "m"}},
    }
    created = await post(kube_http, "/apis/example.com/v1alpha1/widgets", widget)
    async with kube_http.get("/apis/example.com/v1beta1/widgets/w") as response:
        seen = await response.json()
    assert seen["apiVersion"] == "example.com/v1beta1"
    assert seen["metadata"]["uid"] == created["metadata"]["uid"]
    async with kube_http.get("/apis/example.com") as response:
        group = await response.json()
    # Most preferred first, by Kubernetes version priority (beta before alpha), whichever version stores.
    assert [v["version"] for v in group["versions"]] == ["v1beta1", "v1alpha1"]
    assert group["preferredVersion"]["version"] == "v1beta1"
