"""CustomResourceDefinitions: check one, derive the resource types it serves, and fill its status."""

from __future__ import annotations

from typing import Any

from tests.kubeapi import errors
from tests.kubeapi.resources import ResourceType

Json = dict[str, Any]


def check(crd: Json) -> None:
    """422 for the mistakes a real server rejects that would otherwise break serving."""
    name = crd.get("metadata", {}).get("name", "")
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group", "")
    causes: list[Json] = []
    if not group:
        causes.append(errors.field_error("spec.group", "Required value", "FieldValueRequired"))
    if not names.get("plural"):
        causes.append(errors.field_error("spec.names.plural", "Required value", "FieldValueRequired"))
    if not names.get("kind"):
        causes.append(errors.field_error("spec.names.kind", "Required value", "FieldValueRequired"))
    if group and names.get("plural") and name != f"{names['plural']}.{group}":
        causes.append(
            errors.field_error("metadata.name", f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group')
        )
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(
            errors.field_error(
                "spec.scope",
                f'Unsupported value: "{spec.get("scope", "")}": supported values: "Cluster", "Namespaced"',
                "FieldValueNotSupported",
            )
        )
    versions = spec.get("versions") or []
    if not versions:
        causes.append(
            errors.field_error(
                "spec.versions", "Invalid value: null: must have exactly one version marked as storage version"
            )
        )
    elif sum(1 for v in versions if v.get("storage")) != 1:
        causes.append(
            errors.field_error(
                "spec.versions", "Invalid value: ...: must have exactly one version marked as storage version"
            )
        )
    for index, version in enumerate(versions):
        if version.get("served") and not (version.get("schema") or {}).get("openAPIV3Schema"):
            causes.append(
                errors.field_error(
                    f"spec.versions[{index}].schema.openAPIV3Schema",
                    "Required value: schemas are required",
                    "FieldValueRequired",
                )
            )
    if causes:
        raise errors.invalid("apiextensions.k8s.io", "CustomResourceDefinition", name, causes)


def resource_types(crd: Json) -> list[ResourceType]:
    spec = crd["spec"]
    names = spec["names"]
    group = spec["group"]
    plural = names["plural"]
    out = []
    for version in spec["versions"]:
        if not version.get("served"):
            continue
        subresources = version.get("subresources") or {}
        out.append(
            ResourceType(
                group=group,
                version=version["name"],
                kind=names["kind"],
                plural=plural,
                singular=names.get("singular") or names["kind"].lower(),
                namespaced=spec["scope"] == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                status_subresource="status" in subresources,
                custom=True,
                has_generation=True,
                storage_key=f"{group}/{plural}",
                schema=(version.get("schema") or {}).get("openAPIV3Schema"),
                printer_columns=tuple(version.get("additionalPrinterColumns") or ()),
                allow_unconditional_update=False,
                storage_version=bool(version.get("storage")),
            )
        )
    return out


def status(crd: Json, now: str) -> Json:
    names = dict(crd["spec"]["names"])
    names.setdefault("singular", names["kind"].lower())
    names.setdefault("listKind", f"{names['kind']}List")
    conditions = [
        {
            "type": "NamesAccepted",
            "status": "True",
            "reason": "NoConflicts",
            "message": "no conflicts found",
            "lastTransitionTime": now,
        },
        {
            "type": "Established",
            "status": "True",
            "reason": "InitialNamesAccepted",
            "message": "the initial names have been accepted",
            "lastTransitionTime": now,
        },
    ]
    stored = [v["name"] for v in crd["spec"]["versions"] if v.get("storage")]
    return {"acceptedNames": names, "conditions": conditions, "storedVersions": stored}


def pending_status(crd: Json) -> Json:
    """The status a create answers with: the names controller and the establishing controller run after."""
    stored = [v["name"] for v in crd["spec"]["versions"] if v.get("storage")]
    return {"conditions": None, "acceptedNames": {"plural": "", "kind": ""}, "storedVersions": stored}


def terminating(crd: Json, now: str) -> Json:
    """What a DELETE answers: the CRD held by its cleanup finalizer while its objects are removed."""
    conditions = [*((crd.get("status") or {}).get("conditions") or [])]
    conditions.append({"type": "Terminating", "status": "True", "reason": "InstanceDeletionInProgress",
                       "message": "CustomResource deletion is in progress", "lastTransitionTime": now})  # fmt: skip
    meta = {**crd["metadata"], "deletionTimestamp": now, "finalizers": [CLEANUP_FINALIZER]}
    return {**crd, "metadata": meta, "status": {**(crd.get("status") or {}), "conditions": conditions}}


CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"


def with_defaults(crd: Json) -> Json:
    """Defaults a real server applies: listKind, singular, conversion strategy."""
    spec = crd["spec"]
    names = spec.setdefault("names", {})
    if names.get("kind"):
        names.setdefault("singular", names["kind"].lower())
        names.setdefault("listKind", f"{names['kind']}List")
    spec.setdefault("conversion", {"strategy": "None"})
    return crd
