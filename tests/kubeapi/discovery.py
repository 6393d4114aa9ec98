"""Discovery and OpenAPI documents, built from the registry (and cached per registry revision).

Legacy discovery (``APIVersions``, ``APIGroupList``, ``APIResourceList``) and aggregated discovery
(``apidiscovery.k8s.io/v2`` and ``v2beta1``, which kubectl v1.32 asks for first) are both served. The
OpenAPI v3 documents carry what ``kubectl apply`` needs to decide on server-side field validation: a
PATCH operation per resource with the ``x-kubernetes-group-version-kind`` extension and a
``fieldValidation`` query parameter, plus the CRD schemas for custom kinds. ``/openapi/v2`` is not
served (404); kubectl then uses its built-in patch metadata, as against a server without it.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from tests.kubeapi.resources import ALL_VERBS, Registry, ResourceType

Json = dict[str, Any]

SUBRESOURCE_VERBS = ["get", "patch", "update"]


def _verbs(rt: ResourceType) -> list[str]:
    return list(ALL_VERBS)


def api_versions(address: str) -> Json:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
    }


def _group_versions(registry: Registry, group: str) -> Json:
    versions = [{"groupVersion": f"{group}/{v}", "version": v} for v in registry.versions(group)]
    return {"name": group, "versions": versions, "preferredVersion": versions[0]}


def api_group_list(registry: Registry) -> Json:
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group_versions(registry, g) for g in registry.groups()],
    }


def api_group(registry: Registry, group: str) -> Json:
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_versions(registry, group)}


def resource_list(registry: Registry, group: str, version: str) -> Json:
    resources: list[Json] = []
    for rt in registry.in_group_version(group, version):
        entry: Json = {
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": _verbs(rt),
        }
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        resources.append(entry)
        if rt.status_subresource:
            resources.append(
                {
                    "name": f"{rt.plural}/status",
                    "singularName": "",
                    "namespaced": rt.namespaced,
                    "kind": rt.kind,
                    "verbs": SUBRESOURCE_VERBS,
                }
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


def _aggregated_group(registry: Registry, group: str) -> Json:
    versions = []
    for version in registry.versions(group):
        resources = []
        for rt in registry.in_group_version(group, version):
            entry: Json = {
                "resource": rt.plural,
                "responseKind": {"group": group, "version": version, "kind": rt.kind},
                "scope": "Namespaced" if rt.namespaced else "Cluster",
                "singularResource": rt.singular,
                "verbs": _verbs(rt),
            }
            if rt.short_names:
                entry["shortNames"] = list(rt.short_names)
            if rt.categories:
                entry["categories"] = list(rt.categories)
            if rt.status_subresource:
                entry["subresources"] = [
                    {
                        "subresource": "status",
                        "responseKind": {"group": group, "version": version, "kind": rt.kind},
                        "verbs": SUBRESOURCE_VERBS,
                    }
                ]
            resources.append(entry)
        versions.append({"version": version, "resources": resources, "freshness": "Current"})
    return {"metadata": {"name": group, "creationTimestamp": None}, "versions": versions}


def aggregated(registry: Registry, *, core: bool, api_version: str) -> Json:
    """``APIGroupDiscoveryList`` for ``/api`` (core) or ``/apis`` (named groups)."""
    groups = [""] if core else registry.groups()
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": api_version,
        "metadata": {},
        "items": [_aggregated_group(registry, g) for g in groups],
    }


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_v3_root(registry: Registry, docs: dict[str, bytes]) -> Json:
    paths = {}
    for group in ["", *registry.groups()]:
        for version in registry.versions(group):
            key = _gv_path(group, version)
            doc = docs.get(key) or orjson.dumps(openapi_v3_group_version(registry, group, version))
            docs[key] = doc
            digest = hashlib.sha512(doc).hexdigest()[:64].upper()
            paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
    return {"paths": paths}


def _schema_name(rt: ResourceType) -> str:
    group = ".".join(reversed(rt.group.split("."))) if rt.group else "io.k8s.api.core"
    return f"{group}.{rt.version}.{rt.kind}"


_QUERY_PARAMS = ("dryRun", "fieldManager", "fieldValidation", "force")


def openapi_v3_group_version(registry: Registry, group: str, version: str) -> Json:
    paths: Json = {}
    schemas: Json = {}
    for rt in registry.in_group_version(group, version):
        gvk = {"group": group, "version": version, "kind": rt.kind}
        prefix = f"/{_gv_path(group, version)}"
        base = f"{prefix}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{prefix}/{rt.plural}"
        params = [{"name": p, "in": "query", "schema": {"type": "string", "uniqueItems": True}} for p in _QUERY_PARAMS]
        ref = {"$ref": f"#/components/schemas/{_schema_name(rt)}"}
        body = {"content": {"application/json": {"schema": ref}}}
        ok = {"200": {"description": "OK", "content": {"application/json": {"schema": ref}}}}
        operation: Json = {"x-kubernetes-group-version-kind": gvk, "parameters": params, "responses": ok}
        paths[f"{base}/{{name}}"] = {
            "get": {**operation, "parameters": [], "x-kubernetes-action": "get"},
            "put": {**operation, "requestBody": body, "x-kubernetes-action": "put"},
            "patch": {**operation, "requestBody": body, "x-kubernetes-action": "patch"},
            "delete": {**operation, "x-kubernetes-action": "delete"},
        }
        paths[base] = {"post": {**operation, "requestBody": body, "x-kubernetes-action": "post"}}
        if rt.custom and rt.schema is not None:
            schemas[_schema_name(rt)] = {**rt.schema, "x-kubernetes-group-version-kind": [gvk]}
        else:
            # Built-in kinds stay opaque: kubectl then computes strategic merge patches from its own types.
            schemas[_schema_name(rt)] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.37.2"},
        "paths": paths,
        "components": {"schemas": schemas},
    }
