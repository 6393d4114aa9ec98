"""Publishes the routing table into the ConfigMap the controller owns (DESIGN §4); called by the reconciler.

The ConfigMap carries the table under ``data["table.json"]``, or gzipped under
``binaryData["table.json.gz"]`` past a size threshold (ConfigMaps stop at 1 MiB), plus annotations with
the table's sha256 and generation so that diffing needs no decoding. A write happens only when the
content hash differs; its generation is the published one plus one. Writes are optimistic (the
resourceVersion read is sent back); a 409 means someone wrote meanwhile: re-read, re-diff, retry.
"""

from __future__ import annotations

import base64
import gzip
from typing import Any

import structlog

from controller import ports
from controller.kube.client import KubeApiError, KubeClient
from controller.metrics import ControllerMetrics
from gateway.routing.table import RoutingTable

__all__ = [
    "GENERATION_ANNOTATION",
    "GZIP_KEY",
    "JSON_KEY",
    "SHA_ANNOTATION",
    "ConfigMapPublisher",
    "decode_table",
    "render_configmap",
]

log = structlog.get_logger("controller.publishing")

JSON_KEY = "table.json"
GZIP_KEY = "table.json.gz"
SHA_ANNOTATION = "aliasgate.io/table-sha256"
GENERATION_ANNOTATION = "aliasgate.io/table-generation"
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
    if len(payload) > gzip_threshold_bytes:
        packed = gzip.compress(payload, compresslevel=6, mtime=0)
        body["binaryData"] = {GZIP_KEY: base64.b64encode(packed).decode("ascii")}
    else:
        body["data"] = {JSON_KEY: payload.decode("utf-8")}
    return body


def decode_table(configmap: dict[str, Any]) -> bytes | None:
    """The table JSON inside a ConfigMap (either key), or None when it holds none."""
    binary = configmap.get("binaryData") or {}
    if GZIP_KEY in binary:
        return gzip.decompress(base64.b64decode(binary[GZIP_KEY]))
    data = configmap.get("data") or {}
    if JSON_KEY in data:
        return str(data[JSON_KEY]).encode("utf-8")
    return None


def _published_state(configmap: dict[str, Any]) -> tuple[str, int]:
    annotations = (configmap.get("metadata") or {}).get("annotations") or {}
    sha = str(annotations.get(SHA_ANNOTATION) or "")
    try:
        generation = int(annotations.get(GENERATION_ANNOTATION) or 0)
    except ValueError:
        generation = 0
    if not sha or not generation:
        # Annotations lost (someone edited the object): trust the document itself.
        try:
            raw = decode_table(configmap)
            if raw is not None:
                table = RoutingTable.from_json(raw)
                return table.sha256, table.generation
        except (ValueError, OSError):
            pass
    return sha, generation


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
        self.last_size: tuple[int, int] | None = None
        """(raw JSON bytes, bytes stored in the ConfigMap) of the last write."""

    @property
    def _path(self) -> str:
        return f"/api/v1/namespaces/{self._namespace}/configmaps/{self._name}"

    async def _read(self) -> dict[str, Any] | None:
        try:
            return await self._client.request("GET", self._path)
        except KubeApiError as exc:
            if exc.status == 404:
                return None
            raise

    async def current(self) -> RoutingTable | None:
        configmap = await self._read()
        if configmap is None:
            return None
        raw = decode_table(configmap)
        if raw is None:
            return None
        try:
            return RoutingTable.from_json(raw)
        except ValueError:
            log.warning("published_table_unreadable", configmap=self._name)
            return None

    async def publish(self, table: RoutingTable) -> ports.PublishResult:
        for _attempt in range(self._attempts):
            configmap = await self._read()
            sha, generation = ("", 0) if configmap is None else _published_state(configmap)
            if configmap is not None and sha == table.sha256:
                return ports.PublishResult(table=table.with_generation(generation), written=False)
            fresh = table.with_generation(generation + 1)
            version = None if configmap is None else (configmap.get("metadata") or {}).get("resourceVersion")
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
                if configmap is None:
                    await self._client.request("POST", f"/api/v1/namespaces/{self._namespace}/configmaps", body=body)
                else:
                    await self._client.request("PUT", self._path, body=body)
            except KubeApiError as exc:
                if exc.status == 409:
                    self.conflicts += 1
                    if self._metrics is not None:
                        self._metrics.table_publishes.labels("conflict").inc()
                    log.info("table_publish_conflict", generation=fresh.generation)
                    continue
                raise
            stored = body.get("binaryData", {}).get(GZIP_KEY) or body.get("data", {}).get(JSON_KEY, "")
            self.last_size = (len(payload), len(stored))
            self.writes += 1
            return ports.PublishResult(table=fresh, written=True)
        raise KubeApiError(409, "Conflict", f"table ConfigMap kept changing over {self._attempts} attempts")
