"""Table source that watches the published routing-table ConfigMap through the API (DESIGN §4).

It lists and watches the one ConfigMap by name (RBAC ``resourceNames`` allows nothing else), decodes
``data["table.json"]`` or the gzipped ``binaryData["table.json.gz"]``, and hands the bytes to the sink,
which validates and swaps atomically. A bad document, a missing object or an API outage never clears
the table: the sink keeps the last good one and is told with ``source_failed``. Only a changed
resourceVersion is offered again, so bookmarks and duplicate events cost nothing.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib
from typing import Any

from gateway.kube_client import KubeConnection, load_connection, watch_named
from gateway.routing.source import TableSink

__all__ = ["GZIP_KEY", "JSON_KEY", "ConfigMapTableSource", "TableDecodeError", "table_bytes"]

JSON_KEY = "table.json"
GZIP_KEY = "table.json.gz"
MAX_TABLE_BYTES = 64 * 1024 * 1024
"""Refuse to inflate a gzip bomb beyond this (a real table of 10k aliases is a few MiB)."""


class TableDecodeError(ValueError):
    """The ConfigMap holds no readable table."""


def table_bytes(configmap: dict[str, Any]) -> bytes:
    """The table JSON inside the ConfigMap; raises :class:`TableDecodeError` naming what is wrong."""
    binary = configmap.get("binaryData") or {}
    if GZIP_KEY in binary:
        try:
            packed = base64.b64decode(binary[GZIP_KEY], validate=True)
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            data = inflater.decompress(packed, MAX_TABLE_BYTES)
        except (binascii.Error, zlib.error, gzip.BadGzipFile, TypeError) as exc:
            raise TableDecodeError(f"binaryData[{GZIP_KEY!r}] is not base64 gzip: {exc}") from None
        if inflater.unconsumed_tail:
            raise TableDecodeError(f"binaryData[{GZIP_KEY!r}] inflates beyond {MAX_TABLE_BYTES} bytes")
        return data
    data_map = configmap.get("data") or {}
    if JSON_KEY in data_map:
        return str(data_map[JSON_KEY]).encode("utf-8")
    raise TableDecodeError(f"the ConfigMap has neither data[{JSON_KEY!r}] nor binaryData[{GZIP_KEY!r}]")


class ConfigMapTableSource:
    """A :class:`~gateway.routing.source.TableSource` over one ConfigMap."""

    @classmethod
    def from_environment(cls, *, namespace: str, name: str, kubeconfig: str | None = None) -> ConfigMapTableSource:
        """Connect like kubectl: ``kubeconfig``/``KUBECONFIG``, else the pod's service account."""
        return cls(connection=load_connection(kubeconfig), namespace=namespace, name=name)

    def __init__(
        self,
        *,
        connection: KubeConnection,
        namespace: str,
        name: str,
        inactivity_seconds: float = 70.0,
        backoff_max_seconds: float = 5.0,
    ) -> None:
        self._connection = connection
        self._namespace = namespace
        self._name = name
        self._inactivity = inactivity_seconds
        self._backoff_max = backoff_max_seconds
        self._last_version: str | None = None
        self.origin = f"configmap/{namespace}/{name}"

    async def run(self, sink: TableSink) -> None:
        async def on_object(configmap: dict[str, Any] | None) -> None:
            if configmap is None:
                self._last_version = None
                sink.source_failed(f"ConfigMap {self._namespace}/{self._name} does not exist", origin=self.origin)
                return
            version = (configmap.get("metadata") or {}).get("resourceVersion")
            if version is not None and version == self._last_version:
                return
            self._last_version = version
            try:
                data = table_bytes(configmap)
            except TableDecodeError as exc:
                sink.source_failed(str(exc), origin=self.origin)
                return
            sink.load_bytes(data, origin=self.origin)

        async def on_failure(reason: str) -> None:
            sink.source_failed(f"Kubernetes API: {reason}", origin=self.origin)

        await watch_named(
            connection=self._connection,
            collection_path=f"/api/v1/namespaces/{self._namespace}/configmaps",
            name=self._name,
            on_object=on_object,
            on_failure=on_failure,
            inactivity_seconds=self._inactivity,
            backoff_max_seconds=self._backoff_max,
        )
