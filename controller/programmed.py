"""What the gateways really serve: the ``Programmed`` condition (docs/controller.md, "How it works").

:class:`ProgrammedTracker` (pure) remembers, for each accepted object generation, the first table
generation that carried it, and the table generation each ready gateway pod reports. An alias is
Programmed when every ready pod serves at least that table generation; Unknown when no gateway is known.
Pure: the generations come from ``controller.gateways.GatewayPoller`` (HTTP) through the reconciler.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aliasgate.runtime.gcpause import collector_paused
from gateway.routing.table import RoutingTable

__all__ = ["ProgrammedTracker"]

ObjectRef = tuple[str, str]


@dataclass
class ProgrammedTracker:
    """Table generation that introduced each (object, generation), and the generations the gateways serve."""

    introduced: dict[ObjectRef, tuple[int | None, int]] = field(default_factory=dict)
    served: dict[str, int] | None = None
    """Ready gateway pod → table generation it serves; None = unknown (no discovery or no pods)."""
    _recorded: RoutingTable | None = None

    def record_table(self, table: RoutingTable) -> None:
        """A table is now published: routes whose object generation is new were introduced by it.

        Incremental: a route object carried over unchanged from the previous table (the controller
        reuses them) changes nothing, so at 10,000 aliases one change costs a pass of identity checks."""
        previous = self._recorded
        with collector_paused():
            if previous is None or table.generation < previous.generation:
                self._record_all(table)
            else:
                self._record_changes(previous, table)
        self._recorded = table

    def _record_all(self, table: RoutingTable) -> None:
        seen: set[ObjectRef] = set()
        for route in table.routes.values():
            ref = (route.source.namespace, route.source.name)
            seen.add(ref)
            self._introduce(ref, route.source.generation, table.generation)
        for ref in set(self.introduced) - seen:
            del self.introduced[ref]

    def _record_changes(self, previous: RoutingTable, table: RoutingTable) -> None:
        before, after = previous.routes, table.routes
        for alias, route in after.items():
            if before.get(alias) is not route:
                self._introduce((route.source.namespace, route.source.name), route.source.generation, table.generation)
        gone = {
            (route.source.namespace, route.source.name)
            for alias, route in before.items()
            if after.get(alias) is not route
        }
        if gone:
            gone -= {(route.source.namespace, route.source.name) for route in after.values()}
            for ref in gone:
                self.introduced.pop(ref, None)

    def _introduce(self, ref: ObjectRef, generation: int | None, table_generation: int) -> None:
        known = self.introduced.get(ref)
        if known is None or known[0] != generation or known[1] > table_generation:
            self.introduced[ref] = (generation, table_generation)

    def observe(self, served: Mapping[str, int] | None) -> bool:
        """New served generations; True when they differ from the previous ones."""
        fresh = None if served is None else dict(served)
        changed = fresh != self.served
        self.served = fresh
        return changed

    def min_served(self) -> int | None:
        if not self.served:
            return None
        return min(self.served.values())

    def programmed(self, namespace: str, name: str, generation: int | None) -> bool | None:
        """True/False for an accepted object at ``generation``; None when no gateway pod is known."""
        low = self.min_served()
        if low is None:
            return None
        known = self.introduced.get((namespace, name))
        if known is None or known[0] != generation:
            return False
        return low >= known[1]
