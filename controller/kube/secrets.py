"""The credentials Secrets' *metadata* in the controller namespace (existence + allowed-namespaces annotation).

The controller never needs a Secret's values: it asks the API for metadata only
(``PartialObjectMetadataList``; servers that ignore that get plain JSON, accepted as a fallback) and
drops ``data``/``stringData`` from anything it receives before it is stored.
"""

from __future__ import annotations

from typing import Any

from controller.kube.watching import WatchTarget

__all__ = ["METADATA_ACCEPT", "secrets_target", "strip_values"]

METADATA_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"


def strip_values(raw: dict[str, Any]) -> dict[str, Any]:
    """Only what the rules read; values never reach the controller's memory beyond this call."""
    meta = raw.get("metadata") or {}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            key: meta[key]
            for key in ("name", "namespace", "uid", "resourceVersion", "annotations", "labels")
            if key in meta
        },
    }


def secrets_target(namespace: str) -> WatchTarget:
    return WatchTarget(
        path=f"/api/v1/namespaces/{namespace}/secrets",
        scope=namespace,
        kind="Secret",
        accept=METADATA_ACCEPT,
        strip=strip_values,
    )
