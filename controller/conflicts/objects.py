"""Phase 0 of the engine: what it is given (parsed objects or :class:`InvalidAlias`) and deduplication.

A broken object is judged too (``InvalidSpec``), so parsing failures become :class:`InvalidAlias` values
instead of disappearing; duplicates of one ``namespace/name`` collapse to one, independent of order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from controller.resources import InvalidObjectError, ModelAlias, parse_object

__all__ = ["InvalidAlias", "age_of", "deduplicate", "parse_or_invalid"]


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
    alias: str | None = None
    """The alias it claims, when readable (for ``table.rejected``); it never competes for the name."""


def parse_or_invalid(raw: Any) -> ModelAlias | InvalidAlias:
    """Parse a raw object for the engine: a failure becomes an :class:`InvalidAlias` carrying its field.

    For callers that must judge every object they see (the reconciler): a broken object gets an
    ``InvalidSpec`` verdict instead of disappearing. Only metadata that is readable is kept.
    """
    try:
        return parse_object(raw)
    except InvalidObjectError as exc:
        meta = raw.get("metadata") if isinstance(raw, dict) else None
        meta = meta if isinstance(meta, dict) else {}
        spec = raw.get("spec") if isinstance(raw, dict) else None
        claimed = spec.get("alias") if isinstance(spec, dict) else None
        generation = meta.get("generation")
        return InvalidAlias(
            namespace=str(meta.get("namespace") or "default"),
            name=str(meta.get("name") or ""),
            field=exc.field,
            message=exc.message,
            uid=_str_or_none(meta.get("uid")),
            generation=generation if isinstance(generation, int) and not isinstance(generation, bool) else None,
            creation_timestamp=_str_or_none(meta.get("creationTimestamp")),
            alias=claimed if isinstance(claimed, str) and claimed else None,
        )


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _generation(obj: ModelAlias | InvalidAlias) -> int:
    gen = obj.metadata.generation if isinstance(obj, ModelAlias) else obj.generation
    return -1 if gen is None else gen


def _canonical(obj: ModelAlias | InvalidAlias) -> bytes:
    """A total, content-based order for same-generation duplicates."""
    if isinstance(obj, ModelAlias):
        return b"1" + orjson.dumps(obj.model_dump(mode="json", by_alias=True), option=orjson.OPT_SORT_KEYS)
    return b"0" + orjson.dumps(
        [obj.namespace, obj.name, obj.field, obj.message, obj.uid, obj.generation, obj.creation_timestamp, obj.alias]
    )


def _identity(obj: ModelAlias | InvalidAlias) -> tuple[str, str]:
    if isinstance(obj, ModelAlias):
        return obj.metadata.namespace, obj.metadata.name
    return obj.namespace, obj.name


def deduplicate(objects: Iterable[ModelAlias | InvalidAlias]) -> list[ModelAlias | InvalidAlias]:
    latest: dict[tuple[str, str], ModelAlias | InvalidAlias] = {}
    for obj in objects:
        ident = _identity(obj)
        current = latest.get(ident)
        if current is None:
            latest[ident] = obj
            continue
        if current is obj:
            continue
        new_gen, cur_gen = _generation(obj), _generation(current)
        if new_gen > cur_gen or (new_gen == cur_gen and obj != current and _canonical(obj) > _canonical(current)):
            latest[ident] = obj
    return [latest[ident] for ident in sorted(latest)]


def age_of(obj: ModelAlias) -> tuple[bool, str, str, str]:
    """Precedence: oldest creationTimestamp first (missing = youngest), then namespace/name."""
    ts = obj.metadata.creation_timestamp
    return (ts is None, ts or "", obj.metadata.namespace, obj.metadata.name)
