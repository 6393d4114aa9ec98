"""Incremental decoding of published routing-table documents.

A change to one alias republishes the whole table; at 10,000 aliases validating every route again
costs far more than the change. :class:`TableDecoder` parses the bytes once with orjson, computes the
content hash from that parse, and validates only the backends, routes and rejected entries whose JSON
differs from the last accepted document; the others reuse that document's validated objects.

The result is the table ``RoutingTable.from_json`` would build from the same bytes: the new and
changed elements are validated by ``RoutingTable``'s own JSON validator, in a document that holds
just them (at the nesting they have in the real one), and anything the incremental path cannot
decide (a malformed document, an invalid element, an integer orjson cannot hold) goes through
``RoutingTable.from_json`` itself, so accepted tables and error messages stay the same.
Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import compress
from operator import ne
from typing import Any, Final, TypeVar, cast

import orjson
import pydantic

from aliasgate.runtime.gcpause import collector_paused
from gateway.routing.table import RejectedAlias, RoutingTable

__all__ = ["Decoded", "Delta", "TableDecoder"]

_ELEMENTS: Final = ("backends", "routes", "rejected")
_ABSENT: Final = object()


@dataclass(frozen=True, slots=True)
class _Seen:
    """The JSON of each element of an accepted document, next to the table validated from it.

    Element JSON is kept as compact bytes (not parsed dicts): about the size of the document,
    invisible to the cycle collector, and exact where dict equality is not (``1 == 1.0 == True`` in
    Python, but not in a request override). The same content with its keys in another order merely
    counts as changed."""

    table: RoutingTable
    backends: dict[str, bytes]
    routes: dict[str, bytes]
    rejected: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class Delta:
    """How a decoded table differs from ``base``, the table whose objects it reused.

    Every route of the new table whose alias is not in ``changed`` is the very object (``is``) that
    ``base`` holds under that alias."""

    base: RoutingTable
    changed: tuple[str, ...]
    """Aliases validated afresh: new ones and changed ones, in document order."""
    removed: tuple[str, ...]
    """Aliases of ``base`` that are gone."""
    backends_same: bool
    """The backends are exactly those of ``base`` (same keys, same objects)."""


@dataclass(frozen=True, slots=True)
class Decoded:
    """A validated table (invariants not yet checked) and what the decoder keeps if it is accepted."""

    table: RoutingTable
    document_hash: str | None
    """SHA-256 of the document's canonical content, from its bytes (None: not computable)."""
    delta: Delta | None = None
    """None when nothing was reused."""
    _seen: _Seen | None = None

    @property
    def hash_verified(self) -> bool:
        """The document's ``sha256`` matches its bytes, so ``check()`` need not recompute it."""
        return bool(self.table.sha256) and self.document_hash == self.table.sha256


class _Fallback(Exception):
    """The incremental path cannot decide this document; ``RoutingTable.from_json`` will."""


class TableDecoder:
    """Decodes documents, reusing what it validated for the last accepted one (see the module docstring).

    The caller validates with :meth:`decode` and, only once it serves the table, calls
    :meth:`accepted`; a rejected document leaves the decoder as it was."""

    def __init__(self) -> None:
        self._seen: _Seen | None = None

    def decode(self, data: bytes) -> Decoded:
        """Validate ``data``; raises ``pydantic.ValidationError`` (or ``ValueError``) like ``from_json``."""
        with collector_paused():
            try:
                document = orjson.loads(data)
            except orjson.JSONDecodeError:
                document = None
            if not isinstance(document, dict):
                return Decoded(RoutingTable.from_json(data), None)  # raises, with today's message
            generation = document.pop("generation", _ABSENT)
            sha256 = document.pop("sha256", _ABSENT)
            try:
                return self._incremental(document, generation, sha256)
            except (pydantic.ValidationError, orjson.JSONEncodeError, _Fallback):
                pass
            # Validation failed somewhere, or the shape is unusual: the whole-document validator decides,
            # so the error message (or, should it accept, the table) is exactly today's.
            return Decoded(RoutingTable.from_json(data), _content_hash(document))

    def accepted(self, decoded: Decoded) -> None:
        """``decoded`` is now served: the next document is compared with it."""
        self._seen = decoded._seen

    def forget(self) -> None:
        """A table that came from elsewhere is served: compare with nothing (and hold nothing)."""
        self._seen = None

    def _incremental(self, document: dict[str, Any], generation: Any, sha256: Any) -> Decoded:
        top = {key: value for key, value in document.items() if key not in _ELEMENTS}
        if generation is not _ABSENT:
            top["generation"] = generation
        if sha256 is not _ABSENT:
            top["sha256"] = sha256
        raw_backends = document.get("backends", {})
        raw_routes = document.get("routes", {})
        raw_rejected = document.get("rejected", [])
        if not (isinstance(raw_backends, dict) and isinstance(raw_routes, dict) and isinstance(raw_rejected, list)):
            raise _Fallback
        head = orjson.dumps(top)
        canonical = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
        if _WIDE_NUMBER in head or _WIDE_NUMBER in canonical:
            # orjson reads an integer beyond 64 bits as a float, pydantic as an int; orjson writes every
            # float that large with an exponent. Rare and odd: the whole-document validator decides.
            raise _Fallback
        seen = self._seen
        old_backends = seen.backends if seen is not None else {}
        old_routes = seen.routes if seen is not None else {}
        known: dict[bytes, RejectedAlias] = {}
        if seen is not None:
            known = dict(zip(seen.rejected, seen.table.rejected, strict=True))

        backend_json = _encoded(raw_backends)
        route_json = _encoded(raw_routes)
        rejected_json = tuple(_compact(raw_rejected))
        fresh_backends = list(
            compress(backend_json, map(ne, map(old_backends.get, backend_json), backend_json.values()))
        )
        changed = list(compress(route_json, map(ne, map(old_routes.get, route_json), route_json.values())))
        fresh_rejected = [encoded for encoded in rejected_json if encoded not in known]

        # One validation of everything new, by the table's own validator, each element nested exactly
        # as in the document (the JSON parser's depth limit counts from the top): the top-level fields
        # and the new or changed elements. What did not change was validated for an earlier document.
        part = RoutingTable.model_validate_json(
            _partial_document(head, backend_json, fresh_backends, route_json, changed, fresh_rejected)
        )

        backends_same = seen is not None and list(backend_json.items()) == list(old_backends.items())
        if seen is None:
            backends, routes = part.backends, part.routes
        else:
            backends = (
                seen.table.backends if backends_same else _merged(backend_json, seen.table.backends, part.backends)
            )
            routes = _merged(route_json, seen.table.routes, part.routes)
        known.update(zip(fresh_rejected, part.rejected, strict=True))
        rejected = tuple(map(known.__getitem__, rejected_json))

        table = part.model_copy(update={"backends": backends, "routes": routes, "rejected": rejected})
        delta = None
        if seen is not None:
            added = sum(1 for alias in changed if alias not in old_routes)
            kept = len(route_json) - added
            removed = tuple(alias for alias in old_routes if alias not in route_json) if kept != len(old_routes) else ()
            delta = Delta(seen.table, tuple(changed), removed, backends_same)
        digest = hashlib.sha256(canonical).hexdigest()
        return Decoded(table, digest, delta, _Seen(table, backend_json, route_json, rejected_json))


_WIDE_NUMBER: Final = b"e+"


_M = TypeVar("_M")


def _merged(order: dict[str, bytes], old: dict[str, _M], fresh: dict[str, _M]) -> dict[str, _M]:
    """Elements in document order: the fresh ones where validated anew, the old ones elsewhere."""
    taken = dict(zip(order, map(old.get, order), strict=True))
    taken.update(fresh)
    return cast(dict[str, _M], taken)


def _partial_document(
    head: bytes,
    backend_json: dict[str, bytes],
    backends: list[str],
    route_json: dict[str, bytes],
    routes: list[str],
    rejected: list[bytes],
) -> bytes:
    """The top-level fields (``head``, an encoded object) with only the listed elements."""
    members = [
        b'"backends":' + _object(backend_json, backends),
        b'"routes":' + _object(route_json, routes),
        b'"rejected":[' + b",".join(rejected) + b"]",
    ]
    if head != b"{}":
        members.insert(0, head[1:-1])
    return b"{" + b",".join(members) + b"}"


def _object(encoded: dict[str, bytes], keys: list[str]) -> bytes:
    return b"{" + b",".join([orjson.dumps(key) + b":" + encoded[key] for key in keys]) + b"}"


def _encoded(elements: dict[str, Any]) -> dict[str, bytes]:
    """Each element's compact JSON, by key, in document order."""
    return dict(zip(elements, _compact(elements.values()), strict=True))


def _compact(values: Iterable[Any]) -> Iterator[bytes]:
    """Each value's JSON in bytes of its own size: ``orjson.dumps`` hands back a 4 KiB allocation even
    for 200 bytes of JSON, which, kept for 10,000 routes, would cost 40 MB instead of 3."""
    views: Iterator[memoryview] = map(memoryview, map(orjson.dumps, values))
    return map(bytes, views)


def _content_hash(document: dict[str, Any]) -> str | None:
    try:
        return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()
    except orjson.JSONEncodeError:  # nested too deeply for orjson: check() hashes the model instead
        return None
