"""Writes ModelAlias status through the ``/status`` subresource (called by the reconciler).

A JSON merge patch carrying the resourceVersion the reconciler saw makes the write optimistic: 409 means
the object moved. Then it is re-read: a new generation makes this status stale (the watch will bring
the new object and another pass), otherwise the write is retried with the fresh version. 404 means the
object was deleted meanwhile, which is fine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aliasgate.runtime.kubeerrors import ConflictError, NotFoundError
from controller import ports, resources
from controller.kube.client import MERGE_PATCH, KubeClient

__all__ = ["StatusPatcher", "alias_path"]


def alias_path(namespace: str, name: str) -> str:
    return f"/apis/{resources.GROUP}/{resources.VERSION}/namespaces/{namespace}/{resources.PLURAL}/{name}"


class StatusPatcher(ports.StatusWriter):
    """Merge-patches ``status`` with optimistic concurrency; tolerates 404, retries 409 after a fresh read."""

    def __init__(self, *, client: KubeClient, max_attempts: int = 4) -> None:
        self._client = client
        self._attempts = max_attempts
        self.writes = 0
        self.conflicts = 0

    async def write_status(
        self,
        *,
        namespace: str,
        name: str,
        generation: int | None,
        resource_version: str | None,
        status: Mapping[str, Any],
    ) -> ports.StatusWriteResult:
        path = alias_path(namespace, name)
        version = resource_version
        for _attempt in range(self._attempts):
            body: dict[str, Any] = {"status": dict(status)}
            if version:
                body["metadata"] = {"resourceVersion": version}
            try:
                await self._client.request("PATCH", path + "/status", body=body, content_type=MERGE_PATCH)
            except NotFoundError:
                return "gone"
            except ConflictError:
                self.conflicts += 1
                try:
                    fresh = await self._client.request("GET", path)
                except NotFoundError:
                    return "gone"
                meta = fresh.get("metadata") or {}
                if meta.get("generation") != generation:
                    return "stale"
                version = meta.get("resourceVersion")
                continue
            self.writes += 1
            return "written"
        return "stale"
