"""Table source that watches the published routing-table ConfigMap through the API (the routing table contract, docs/architecture.md).

It lists and watches the one ConfigMap by name (RBAC ``resourceNames`` allows nothing else), takes the
table out of it with the contract's capped decoder (:func:`gateway.routing.envelope.decode`), and hands
the bytes to the sink, which validates and swaps atomically. A bad document, a missing object or an API
outage never clears the table: the sink keeps the last good one and is told with ``source_failed``.
Only a changed resourceVersion is offered again, so bookmarks and duplicate events cost nothing.
"""

from __future__ import annotations

from typing import Any

from aliasgate.runtime.kubewatch import WatchPolicy
from gateway.kube.client import KubeConnection, load_connection, watch_named
from gateway.routing import envelope
from gateway.routing.source import TableSink

__all__ = ["ConfigMapTableSource"]


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
                data = envelope.decode(configmap)
            except envelope.EnvelopeError as exc:
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
            policy=WatchPolicy(inactivity_seconds=self._inactivity, backoff_max_seconds=self._backoff_max),
        )
