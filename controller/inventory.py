"""Last-seen objects of one kind, as the watch streams report them (fed by ``controller.kube.watching``).

The inventory is the controller's whole memory of the cluster: the reconciler reads a snapshot of it and
never asks the API. Objects are keyed by ``namespace/name`` and carry their uid, so a stale DELETED for
an object that was deleted and recreated under the same name is ignored. Each change is classified:
``SPEC`` (anything the conflict rules read), ``STATUS`` (only the status moved: a cheap status pass),
or ``NONE`` (a duplicate event). A re-list replaces a whole scope, dropping objects that vanished while
the watch was down. On restart everything is lost and rebuilt by the first list.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Change", "Inventory", "ObjectKey", "alias_essence", "object_key", "secret_essence", "table_essence"]

RawObject = dict[str, Any]
ObjectKey = tuple[str, str]
"""(namespace, name)."""

ALL_NAMESPACES = ""


class Change(enum.IntEnum):
    """How much an event changed the inventory; ordered so ``max`` merges several changes."""

    NONE = 0
    STATUS = 1
    SPEC = 2


def object_key(raw: Mapping[str, Any]) -> ObjectKey:
    meta = raw.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _uid(raw: Mapping[str, Any]) -> str | None:
    uid = (raw.get("metadata") or {}).get("uid")
    return str(uid) if uid else None


def alias_essence(raw: Mapping[str, Any]) -> Any:
    """What the conflict rules read of a ModelAlias: spec, identity, age and generation (not status)."""
    meta = raw.get("metadata") or {}
    return (
        raw.get("apiVersion"),
        raw.get("kind"),
        meta.get("uid"),
        meta.get("generation"),
        meta.get("creationTimestamp"),
        meta.get("labels"),
        meta.get("annotations"),
        raw.get("spec"),
    )


def secret_essence(raw: Mapping[str, Any]) -> Any:
    """What the rules read of a credentials Secret: that it exists, and its annotations."""
    meta = raw.get("metadata") or {}
    return meta.get("uid"), meta.get("annotations")


def table_essence(raw: Mapping[str, Any]) -> Any:
    """The published table ConfigMap: any write counts (its resourceVersion), so foreign edits are noticed."""
    return (raw.get("metadata") or {}).get("resourceVersion")


@dataclass
class Inventory:
    """Objects of one kind by ``(namespace, name)``; ``listed`` tracks which watch scopes are complete."""

    essence: Callable[[Mapping[str, Any]], Any] = alias_essence
    scopes: frozenset[str] = frozenset({ALL_NAMESPACES})
    """Watch scopes that must be listed before the inventory is complete ("" = all namespaces)."""
    objects: dict[ObjectKey, RawObject] = field(default_factory=dict)
    listed: set[str] = field(default_factory=set)
    version: int = 0
    """Bumped on every SPEC change: the reconciler compares it to know whether to resolve again."""

    @property
    def complete(self) -> bool:
        """True once every scope delivered a full list (readiness depends on it)."""
        return self.scopes <= self.listed

    def _classify(self, old: RawObject | None, new: RawObject) -> Change:
        if old is None:
            return Change.SPEC
        if self.essence(old) != self.essence(new):
            return Change.SPEC
        if old.get("status") != new.get("status"):
            return Change.STATUS
        meta_old, meta_new = old.get("metadata") or {}, new.get("metadata") or {}
        if meta_old.get("resourceVersion") != meta_new.get("resourceVersion"):
            return Change.STATUS
        return Change.NONE

    def upsert(self, raw: RawObject) -> Change:
        """An ADDED or MODIFIED object."""
        key = object_key(raw)
        change = self._classify(self.objects.get(key), raw)
        self.objects[key] = raw
        if change is Change.SPEC:
            self.version += 1
        return change

    def delete(self, raw: Mapping[str, Any]) -> Change:
        """A DELETED object; ignored when the uid says it is an older incarnation of the stored one."""
        key = object_key(raw)
        stored = self.objects.get(key)
        if stored is None:
            return Change.NONE
        uid, stored_uid = _uid(raw), _uid(stored)
        if uid and stored_uid and uid != stored_uid:
            return Change.NONE
        del self.objects[key]
        self.version += 1
        return Change.SPEC

    def replace_scope(self, scope: str, items: Iterable[RawObject]) -> Change:
        """A full list of ``scope`` ("" = all namespaces): the listed objects are now the whole truth there."""
        fresh = {object_key(raw): raw for raw in items}
        in_scope = [key for key in self.objects if scope == ALL_NAMESPACES or key[0] == scope]
        change = Change.NONE
        for key in in_scope:
            if key not in fresh:
                del self.objects[key]
                change = Change.SPEC
        for raw in fresh.values():
            change = max(change, self._classify(self.objects.get(object_key(raw)), raw))
            self.objects[object_key(raw)] = raw
        if change is Change.SPEC:
            self.version += 1
        self.listed.add(scope)
        return change

    def snapshot(self) -> list[RawObject]:
        """The current objects, in key order (the reconciler's input)."""
        return [self.objects[key] for key in sorted(self.objects)]

    def get(self, namespace: str, name: str) -> RawObject | None:
        return self.objects.get((namespace, name))

    def __len__(self) -> int:
        return len(self.objects)
