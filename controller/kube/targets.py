"""What the controller watches besides Secrets (``controller.kube.secrets``): the ModelAlias collections
and its own published table ConfigMap, each as a :class:`WatchTarget` with what to drop before storing.

``controller.__main__`` wires these into ``controller.kube.watching.Watcher`` loops; the stripping
functions are pure and keep the inventory small at 10,000 objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from controller.inventory import ALL_NAMESPACES
from controller.kube.watching import WatchTarget
from controller.resources import GROUP, PLURAL, VERSION

__all__ = ["LAST_APPLIED", "alias_targets", "slim_alias", "table_metadata_only", "table_target"]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def slim_alias(raw: dict[str, Any]) -> dict[str, Any]:
    """Drop what the rules never read and what costs most memory at 10k objects: ``managedFields`` and
    kubectl's last-applied copy of the whole object."""
    meta = raw.get("metadata")
    if not isinstance(meta, dict) or (
        "managedFields" not in meta and LAST_APPLIED not in (meta.get("annotations") or {})
    ):
        return raw
    slim_meta = {key: value for key, value in meta.items() if key != "managedFields"}
    annotations = meta.get("annotations")
    if isinstance(annotations, dict) and LAST_APPLIED in annotations:
        slim_meta["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    return {**raw, "metadata": slim_meta}


def alias_targets(watch_namespaces: Sequence[str]) -> list[WatchTarget]:
    """One cluster-wide watch (no namespaces given), or one per namespace."""
    base = f"/apis/{GROUP}/{VERSION}"
    if not watch_namespaces:
        return [WatchTarget(path=f"{base}/{PLURAL}", scope=ALL_NAMESPACES, kind="ModelAlias", strip=slim_alias)]
    return [
        WatchTarget(path=f"{base}/namespaces/{ns}/{PLURAL}", scope=ns, kind="ModelAlias", strip=slim_alias)
        for ns in watch_namespaces
    ]


def table_metadata_only(raw: dict[str, Any]) -> dict[str, Any]:
    """Keep only metadata of the table ConfigMap in memory (the table itself is large)."""
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": raw.get("metadata") or {}}


def table_target(namespace: str, name: str) -> WatchTarget:
    """The published table ConfigMap alone: a deletion or a foreign edit is repaired by the next pass."""
    return WatchTarget(
        path=f"/api/v1/namespaces/{namespace}/configmaps",
        scope=namespace,
        kind="ConfigMap",
        field_selector=f"metadata.name={name}",
        strip=table_metadata_only,
    )
