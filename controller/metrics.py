"""Controller metrics (docs/controller.md, "Endpoints and metrics"); names are a contract. Each instance owns its registry (no globals)."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["PUBLISH_RESULTS", "RECONCILE_RESULTS", "WATCH_RESTART_REASONS", "ControllerMetrics"]

RECONCILE_RESULTS = ("ok", "error")
WATCH_RESTART_REASONS = ("expired", "inactivity", "error")
PUBLISH_RESULTS = ("updated", "unchanged", "conflict", "error")
"""Every label value the code uses. Each series is exported at 0 from the start: a child born on its first
event starts at 1, so ``increase()`` never sees that event and idle dashboard panels show "No data"."""


class ControllerMetrics:
    """All controller metrics, registered in a private :class:`CollectorRegistry`."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.reconciles = Counter(
            "aliasgate_controller_reconciles",
            "Reconcile passes by result (ok, error).",
            ["result"],
            registry=self.registry,
        )
        self.reconcile_duration = Histogram(
            "aliasgate_controller_reconcile_duration_seconds",
            "Time of one full reconcile (resolve + publish), seconds.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0),
            registry=self.registry,
        )
        self.aliases = Gauge(
            "aliasgate_controller_aliases",
            "ModelAlias objects by state (accepted, rejected) and reason.",
            ["state", "reason"],
            registry=self.registry,
        )
        self.watch_restarts = Counter(
            "aliasgate_controller_watch_restarts",
            "Watch restarts by reason (expired, inactivity, error).",
            ["reason"],
            registry=self.registry,
        )
        self.table_publishes = Counter(
            "aliasgate_controller_table_publishes",
            "Routing-table publish attempts by result (updated, unchanged, conflict, error).",
            ["result"],
            registry=self.registry,
        )
        self.leader = Gauge(
            "aliasgate_controller_leader",
            "1 while this replica holds the leader Lease (or runs without election), else 0.",
            registry=self.registry,
        )
        self._alias_labels: set[tuple[str, str]] = set()
        for counter, values in (
            (self.reconciles, RECONCILE_RESULTS),
            (self.watch_restarts, WATCH_RESTART_REASONS),
            (self.table_publishes, PUBLISH_RESULTS),
        ):
            for value in values:
                counter.labels(value)

    def set_alias_counts(self, counts: Mapping[tuple[str, str], int]) -> None:
        """Replace the ``aliases`` gauge; label pairs that vanished drop to zero rather than linger stale."""
        for labels in self._alias_labels - set(counts):
            self.aliases.labels(*labels).set(0)
        for labels, value in counts.items():
            self.aliases.labels(*labels).set(value)
        self._alias_labels |= set(counts)

    def render(self) -> bytes:
        """The Prometheus text exposition of this registry."""
        return generate_latest(self.registry)
