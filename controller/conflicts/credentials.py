"""What the rules may know of credentials Secrets, and THE parser of ``aliasgate.io/allowed-namespaces``.

Every reader of that annotation (the reconciler on Secrets in the cluster, ``aliasgate check`` and local
mode on a ``--secrets-dir``'s ``.allowed-namespaces`` files) goes through :func:`allowed_namespaces`, so
one value means the same in ``aliasgate check`` and in the cluster: absent or ``*`` = every namespace,
a comma list = those namespaces, empty = no one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "ALLOWED_NAMESPACES_ANNOTATION",
    "EVERY_NAMESPACE",
    "CredentialInfo",
    "allowed_namespaces",
    "credentials_from",
]

ALLOWED_NAMESPACES_ANNOTATION: Final = "aliasgate.io/allowed-namespaces"
"""On a credentials Secret: which ModelAlias namespaces may reference it."""

EVERY_NAMESPACE: Final = "*"
"""The annotation's wildcard: every namespace may reference the Secret (same as no annotation)."""


def allowed_namespaces(value: str | None) -> frozenset[str] | None:
    """The annotation's value → the namespaces allowed, None meaning every namespace.

    A comma list; whitespace around names and empty items are ignored. Absent or containing ``*`` =
    every namespace; present but naming no namespace (``""``, ``","``) = no one.
    """
    if value is None:
        return None
    names = frozenset(part.strip() for part in value.split(",") if part.strip())
    return None if EVERY_NAMESPACE in names else names


@dataclass(frozen=True, slots=True)
class CredentialInfo:
    """What the rules may know of a credentials Secret: that it exists and who may use it."""

    allowed_namespaces: frozenset[str] | None = None
    """From annotation ``aliasgate.io/allowed-namespaces``; None = every namespace may reference it."""

    @classmethod
    def from_annotation(cls, value: str | None) -> CredentialInfo:
        """A Secret carrying the annotation ``value`` (None when absent); see :func:`allowed_namespaces`."""
        return cls(allowed_namespaces(value))

    def permits(self, namespace: str) -> bool:
        return self.allowed_namespaces is None or namespace in self.allowed_namespaces


def credentials_from(secrets: Iterable[Mapping[str, Any]]) -> dict[str, CredentialInfo]:
    """Credentials Secrets' raw metadata (as the API server returns it) → what the rules may know, by name."""
    found: dict[str, CredentialInfo] = {}
    for raw in secrets:
        meta = raw.get("metadata") or {}
        annotation = (meta.get("annotations") or {}).get(ALLOWED_NAMESPACES_ANNOTATION)
        found[str(meta.get("name"))] = CredentialInfo.from_annotation(None if annotation is None else str(annotation))
    return found
