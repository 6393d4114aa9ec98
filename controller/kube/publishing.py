"""Publishes the routing table into the ConfigMap the controller owns (docs/controller.md, "How it works"); called by the reconciler.

The ConfigMap's form (``data["table.json"]``, or gzipped ``binaryData["table.json.gz"]`` past a size
threshold, the sha256/generation annotations, the inflation cap) is the contract's
:mod:`gateway.routing.envelope`; this module encodes with it and, when reading back an object someone
else may have written, decodes with the same capped decoder the gateway uses. A write happens only when the
content hash differs; its generation is the published one plus one. Writes are optimistic (the
resourceVersion read is sent back); a 409 means someone wrote meanwhile: re-read, re-diff, retry.
"""

from __future__ import annotations

from typing import Any

import structlog

from aliasgate.runtime.kubeerrors import ConflictError, NotFoundError
from controller import ports
from controller.kube.client import KubeClient
from controller.metrics import ControllerMetrics
from gateway.routing import envelope
from gateway.routing.envelope import GENERATION_ANNOTATION, GZIP_KEY, JSON_KEY, SHA_ANNOTATION
from gateway.routing.table import RoutingTable

__all__ = ["ConfigMapPublisher", "decode_table", "render_configmap"]

log = structlog.get_logger("controller.publishing")

LABELS = {
    "app.kubernetes.io/name": "aliasgate",
    "app.kubernetes.io/component": "routing-table",
    "app.kubernetes.io/managed-by": "aliasgate-controller",
}


def render_configmap(
    table: RoutingTable,
    *,
    name: str,
    namespace: str,
    gzip_threshold_bytes: int,
    resource_version: str | None,
    payload: bytes | None = None,
) -> dict[str, Any]:
    """The whole ConfigMap for ``table`` (gzip is deterministic: mtime 0, so equal tables give equal bytes).

    ``payload``: ``table.to_json()`` when the caller already has it (it is the costly part at 10k aliases)."""
    payload = table.to_json() if payload is None else payload
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "labels": dict(LABELS),
        "annotations": {SHA_ANNOTATION: table.sha256, GENERATION_ANNOTATION: str(table.generation)},
    }
    if resource_version:
        metadata["resourceVersion"] = resource_version
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata}
    body.update(envelope.encode(payload, gzip_threshold_bytes=gzip_threshold_bytes))
    return body


def decode_table(configmap: dict[str, Any], *, max_bytes: int = envelope.MAX_TABLE_BYTES) -> bytes | None:
    """The table JSON inside a ConfigMap, or None when it holds no readable one (absent, corrupt, or
    inflating past ``max_bytes``: the same capped decoder as the gateway's)."""
    try:
        return envelope.decode(configmap, max_bytes=max_bytes)
    except envelope.EnvelopeError:
        return None


def _published_state(configmap: dict[str, Any], *, trusted: bool) -> tuple[str, int]:
    """(sha256, generation) of the published table; "" as sha when the content must be rewritten.

    ``trusted``: the object is exactly what this process last wrote, so its annotations are believed.
    Otherwise (startup, or someone else wrote it) the document is decoded and its hash re-checked.
    """
    annotations = (configmap.get("metadata") or {}).get("annotations") or {}
    sha = str(annotations.get(SHA_ANNOTATION) or "")
    try:
        generation = int(annotations.get(GENERATION_ANNOTATION) or 0)
    except ValueError:
        generation = 0
    if trusted:
        return sha, generation
    raw = decode_table(configmap)
    try:
        table = RoutingTable.from_json(raw) if raw is not None else None
    except ValueError:
        table = None
    if table is None or table.sha256 != table.content_hash() or (sha and sha != table.sha256):
        return "", max(generation, table.generation if table is not None else 0)
    return table.sha256, max(generation, table.generation)


class ConfigMapPublisher(ports.TablePublisher):
    """Create-or-replace of the one table ConfigMap, diffed by sha256, retried on 409."""

    def __init__(
        self,
        *,
        client: KubeClient,
        namespace: str,
        name: str,
        gzip_threshold_bytes: int = 256 * 1024,
        max_attempts: int = 5,
        metrics: ControllerMetrics | None = None,
    ) -> None:
        self._client = client
        self._metrics = metrics
        self._namespace = namespace
        self._name = name
        self._threshold = gzip_threshold_bytes
        self._attempts = max_attempts
        self.writes = 0
        self.conflicts = 0
        self._written_version: str | None = None
        self._known: tuple[str, str, int] | None = None
        """(resourceVersion, sha256, generation) believed published; None = read before writing."""
        self.last_generation = 0
        """Highest generation seen or written: generations never go back, even if the object is deleted."""
        self.last_size: tuple[int, int] | None = None
        """(raw JSON bytes, bytes stored in the ConfigMap) of the last write."""

    @property
    def written_version(self) -> str | None:
        """resourceVersion of the object as this process last wrote it."""
        return self._written_version

    @property
    def _path(self) -> str:
        return f"/api/v1/namespaces/{self._namespace}/configmaps/{self._name}"

    async def _read(self) -> dict[str, Any] | None:
        try:
            return await self._client.request("GET", self._path)
        except NotFoundError:
            return None

    def invalidate(self) -> None:
        """Forget what is believed published (someone else wrote, or leadership changed hands)."""
        self._known = None

    async def _published(self) -> tuple[bool, str | None, str, int]:
        """(exists, resourceVersion, sha256, generation) of the object: from memory when this process
        wrote it last and nobody else did since (the ConfigMap watch invalidates), else read."""
        if self._known is not None:
            known_version, known_sha, known_generation = self._known
            return True, known_version, known_sha, known_generation
        configmap = await self._read()
        if configmap is None:
            return False, None, "", 0
        raw_version = (configmap.get("metadata") or {}).get("resourceVersion")
        version = None if raw_version is None else str(raw_version)
        trusted = version is not None and version == self._written_version
        sha, generation = _published_state(configmap, trusted=trusted)
        if sha and version is not None:
            self._known = (version, sha, generation)
        return True, version, sha, generation

    async def publish(self, table: RoutingTable) -> ports.PublishResult:
        for _attempt in range(self._attempts):
            exists, version, sha, generation = await self._published()
            if exists and sha == table.sha256:
                self.last_generation = max(self.last_generation, generation)
                return ports.PublishResult(table=table.with_generation(generation), written=False)
            fresh = table.with_generation(max(generation, self.last_generation) + 1)
            payload = fresh.to_json()
            body = render_configmap(
                fresh,
                name=self._name,
                namespace=self._namespace,
                gzip_threshold_bytes=self._threshold,
                resource_version=version,
                payload=payload,
            )
            try:
                if not exists:
                    stored = await self._client.request(
                        "POST", f"/api/v1/namespaces/{self._namespace}/configmaps", body=body
                    )
                else:
                    stored = await self._client.request("PUT", self._path, body=body)
            except (ConflictError, NotFoundError) as exc:  # written or deleted by someone else meanwhile: read again
                self._known = None
                self.conflicts += 1
                if self._metrics is not None:
                    self._metrics.table_publishes.labels("conflict").inc()
                log.info("table_publish_conflict", generation=fresh.generation, status=exc.status)
                continue
            self._written_version = (stored.get("metadata") or {}).get("resourceVersion")
            self._known = (
                None if self._written_version is None else (self._written_version, fresh.sha256, fresh.generation)
            )
            kept = body.get("binaryData", {}).get(GZIP_KEY) or body.get("data", {}).get(JSON_KEY, "")
            self.last_size = (len(payload), len(kept))
            self.writes += 1
            self.last_generation = fresh.generation
            return ports.PublishResult(table=fresh, written=True)
        raise ConflictError(409, "Conflict", f"table ConfigMap kept changing over {self._attempts} attempts")
