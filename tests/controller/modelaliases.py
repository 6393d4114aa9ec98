"""Builders for ModelAlias test objects (compact form → the raw object the API server would hold)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from controller import conflicts, resources

GOLDEN_DIR = Path(__file__).parent / "golden"
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


def sample_objects() -> list[conflicts.InvalidAlias | resources.ModelAlias]:
    """Every object in deploy/samples, parsed."""
    found: list[conflicts.InvalidAlias | resources.ModelAlias] = []
    for path in sorted(SAMPLES_DIR.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc is not None:
                found.append(resources.parse_object(doc))
    return found
