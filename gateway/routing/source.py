"""Where routing tables come from: the seam between table sources and the gateway's table holder.

A source (a watched file or folder, the Kubernetes ConfigMap watch, local mode's in-process
reconciler) only delivers raw documents; the sink validates, re-checks and swaps them, keeping the
last good table when a document is bad. Sources never judge tables themselves.
"""

from __future__ import annotations

from typing import Protocol

from gateway.routing.table import RoutingTable

__all__ = ["TableSink", "TableSource"]


class TableSink(Protocol):
    """Receives candidate tables; implemented by the gateway's table holder."""

    def load_bytes(self, data: bytes, *, origin: str) -> bool:
        """Parse, validate and ``check()`` a JSON table; swap it in and return True, or keep the last good one."""
        ...

    def load_table(self, table: RoutingTable, *, origin: str) -> bool:
        """Same as :meth:`load_bytes` for an already built table (local mode)."""
        ...

    def source_failed(self, reason: str, *, origin: str) -> None:
        """Report that the source could not be read (API outage, unreadable file); the table is kept."""
        ...


class TableSource(Protocol):
    """A long-running producer of tables; ``run`` returns only when cancelled."""

    async def run(self, sink: TableSink) -> None: ...
