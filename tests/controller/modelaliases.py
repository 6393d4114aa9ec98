"""Builders for ModelAlias test objects (compact form → the raw object the API server would hold)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from controller import conflicts, resources

GOLDEN_DIR = Path(__file__).parent / "conflicts" / "golden"
REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLES_DIR = REPO_ROOT / "deploy" / "samples"
CRD_PATH = REPO_ROOT / "deploy" / "crds" / "aliasgate.io_modelaliases.yaml"


def raw_alias(
    name: str,
    spec: dict[str, Any],
    *,
    namespace: str = "team-a",
    created: str | None = None,
    generation: int | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if created is not None:
        metadata["creationTimestamp"] = created
    if generation is not None:
        metadata["generation"] = generation
    return {"apiVersion": "aliasgate.io/v1alpha1", "kind": "ModelAlias", "metadata": metadata, "spec": spec}


def model_alias(
    name: str,
    spec: dict[str, Any],
    *,
    namespace: str = "team-a",
    created: str | None = None,
    generation: int | None = None,
) -> resources.ModelAlias:
    return resources.parse_object(raw_alias(name, spec, namespace=namespace, created=created, generation=generation))


def expand(entry: dict[str, Any]) -> dict[str, Any]:
    """A golden file's compact object (or its ``raw:`` object) as a full raw object."""
    if "raw" in entry:
        raw: dict[str, Any] = entry["raw"]
        return raw
    return raw_alias(
        entry["name"],
        entry["spec"],
        namespace=entry.get("namespace", "team-a"),
        created=entry.get("created"),
        generation=entry.get("generation"),
    )


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def sample_documents() -> list[dict[str, Any]]:
    """Every document in deploy/samples, as raw objects."""
    found: list[dict[str, Any]] = []
    for path in sorted(SAMPLES_DIR.glob("*.yaml")):
        found.extend(doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None)
    return found


def sample_objects() -> list[conflicts.InvalidAlias | resources.ModelAlias]:
    """Every object in deploy/samples, parsed."""
    return [resources.parse_object(doc) for doc in sample_documents()]


def crd_schema() -> dict[str, Any]:
    """The ModelAlias ``openAPIV3Schema`` of the CRD, as written."""
    crd = load_yaml(CRD_PATH)
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def openapi_to_json_schema(node: Any) -> Any:
    """An OpenAPI v3 structural schema as a JSON Schema (Draft 4) that behaves like the API server.

    ``nullable: true`` becomes a null alternative; objects with ``properties`` and no
    ``x-kubernetes-preserve-unknown-fields`` refuse unknown fields (the API server would prune them
    silently, which in a manifest is always a mistake); ``x-kubernetes-*`` keys are dropped.
    """
    if isinstance(node, list):
        return [openapi_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {
        key: openapi_to_json_schema(value)
        for key, value in node.items()
        if key != "nullable" and not key.startswith("x-kubernetes-")
    }
    if node.get("nullable") and "type" in node:
        converted["type"] = [node["type"], "null"]
        if "enum" in converted:
            converted["enum"] = [*converted["enum"], None]
    if node.get("type") == "object" and "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
        converted["additionalProperties"] = False
    return converted
