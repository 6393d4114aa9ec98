"""The conflict engine (DESIGN §3): the full set of ModelAlias objects → routing table + verdicts.

Pure, deterministic and order-independent: the same set in any order, with any duplicates, gives the
same :class:`Resolution`. No I/O, no clock, no Kubernetes imports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from controller.resources import ModelAlias
from gateway.routing.table import ApiMode, RoutingTable

__all__ = [
    "CredentialInfo",
    "InvalidAlias",
    "Resolution",
    "Verdict",
    "resolve",
]


@dataclass(frozen=True, slots=True)
class CredentialInfo:
    """What the rules may know of a credentials Secret: that it exists and who may use it."""

    allowed_namespaces: frozenset[str] | None = None
    """From annotation ``aliasgate.io/allowed-namespaces``; None = every namespace may reference it."""


@dataclass(frozen=True, slots=True)
class InvalidAlias:
    """An object that is not a valid ModelAlias (schema passed, semantics failed), kept for its verdict."""

    namespace: str
    name: str
    field: str
    message: str
    uid: str | None = None
    generation: int | None = None
    creation_timestamp: str | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The engine's judgement of one object; the controller turns it into status conditions."""

    namespace: str
    name: str
    uid: str | None
    generation: int | None
    alias: str | None
    accepted: bool
    reason: str
    """``Accepted`` or the rejection reason (``UnsupportedMode``, ``ModeDowngradeRejected``, ...)."""
    message: str
    """Says exactly what to change, naming the backend and the aliases involved."""
    backend_key: str | None
    resolved_mode: ApiMode | None
    refs_resolved: bool | None
    """ResolvedRefs condition: True/False, or None when credentials were not checked."""
    refs_reason: str
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


def resolve(
    objects: Iterable[ModelAlias | InvalidAlias],
    *,
    credentials: Mapping[str, CredentialInfo] | None = None,
    generation: int = 0,
) -> Resolution:
    """Apply every rule of DESIGN §3. ``credentials=None`` means they could not be checked."""
    raise NotImplementedError("implemented by the foundation work (issue 2)")
