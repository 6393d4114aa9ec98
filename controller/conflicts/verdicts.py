"""What the engine concludes: one :class:`Verdict` per object, the :class:`Resolution`, reference judgements."""

from __future__ import annotations

from dataclasses import dataclass, field

from controller.conflicts.reasons import Reason
from gateway.routing.table import ApiMode, RoutingTable

__all__ = ["Refs", "Resolution", "Verdict"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The engine's judgement of one object; the controller turns it into status conditions."""

    namespace: str
    name: str
    uid: str | None
    generation: int | None
    alias: str | None
    accepted: bool
    reason: Reason
    """``Accepted`` or the rejection reason (``UnsupportedMode``, ``ModeDowngradeRejected``, ...)."""
    message: str
    """Says exactly what to change, naming the backend and the aliases involved."""
    backend_key: str | None
    resolved_mode: ApiMode | None
    refs_resolved: bool | None
    """ResolvedRefs condition: True/False, or None when credentials were not checked."""
    refs_reason: Reason
    refs_message: str

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Resolution:
    """The routing table plus one verdict per object, keyed by ``namespace/name``."""

    table: RoutingTable
    verdicts: dict[str, Verdict]
    credentials_checked: bool


@dataclass(slots=True)
class Refs:
    """The ResolvedRefs judgement of one object and the fallbacks its route keeps."""

    resolved: bool | None
    reason: Reason
    message: str
    fallbacks: tuple[str, ...] = field(default=())
