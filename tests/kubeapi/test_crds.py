"""CustomResourceDefinitions and discovery: creating a CRD serves its resources; deleting it removes them."""

from __future__ import annotations

import copy
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
        assert (await response.json())["gitVersion"].startswith("v1.32")
    async with kube_http.get("/openapi/v3") as response:
        paths = (await response.json())["paths"]
    async with kube_http.get(paths["apis/aliasgate.io/v1alpha1"]["serverRelativeURL"]) as response:
        doc = await response.json()
    patch = doc["paths"]["/apis/aliasgate.io/v1alpha1/namespaces/{namespace}/modelaliases/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "aliasgate.io",
        "version": "v1alpha1",
        "kind": "ModelAlias",
    }
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    async with kube_http.get("/openapi/v2") as response:
        assert response.status == 404


async def test_creating_a_crd_serves_it_and_deleting_removes_it(kube_http: aiohttp.ClientSession) -> None:
    created = await post(kube_http, CRDS, _widget_crd())
    conditions = {c["type"]: c["status"] for c in created["status"]["conditions"]}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
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
    async with kube_http.get("/apis/example.com/v1alpha1/widgets/w") as response:
        assert response.status == 404
    async with kube_http.get("/apis") as response:
        assert "example.com" not in {g["name"] for g in (await response.json())["groups"]}


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
    assert [v["version"] for v in group["versions"]] == ["v1alpha1", "v1beta1"]
