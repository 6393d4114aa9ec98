"""The Protocols the reconciler depends on; ``controller.kube`` implements them against the API.

Keeping them here lets ``controller.reconciler`` stay free of ``kubernetes_asyncio`` (an import-linter
contract checks it) and lets its tests drive it with small in-memory implementations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from gateway.routing.table import RoutingTable

__all__ = [
    "EventRecorder",
    "GatewayDiscovery",
    "Leadership",
    "PublishResult",
    "StatusWriteResult",
    "StatusWriter",
    "TablePublisher",
]


@dataclass(frozen=True, slots=True)
class PublishResult:
    """The table as it now stands in the cluster, and whether this call wrote it."""

    table: RoutingTable
    written: bool


class TablePublisher(Protocol):
    """Owns the published table object; diffing by sha256 and generation numbering happen here."""

    async def publish(self, table: RoutingTable) -> PublishResult:
        """Publish ``table``'s content as generation previous+1, unless that content is already published."""
        ...


StatusWriteResult = Literal["written", "gone", "stale"]
"""``gone``: the object was deleted; ``stale``: it changed generation meanwhile (a later reconcile will do)."""


class StatusWriter(Protocol):
    """Writes one object's status through the status subresource."""

    async def write_status(
        self,
        *,
        namespace: str,
        name: str,
        generation: int | None,
        resource_version: str | None,
        status: Mapping[str, Any],
    ) -> StatusWriteResult: ...


class EventRecorder(Protocol):
    """Emits a Kubernetes Event about a ModelAlias (dedup is the caller's job)."""

    async def record(
        self,
        *,
        namespace: str,
        name: str,
        uid: str | None,
        reason: str,
        message: str,
        warning: bool,
    ) -> None: ...


class GatewayDiscovery(Protocol):
    """Where the ready gateway pods' admin servers are."""

    async def status_urls(self) -> list[str] | None:
        """Admin base URLs of the ready gateway pods; None when they cannot be known (Programmed=Unknown)."""
        ...


class Leadership(Protocol):
    """Whether this replica may write now."""

    def is_leader(self) -> bool: ...
