"""The routing table: the one contract between the controller and the gateway (docs/architecture.md).

The controller (or local mode) produces a :class:`RoutingTable` from the set of ModelAlias objects;
every gateway pod validates it with this same model, re-checks its invariants with
:meth:`RoutingTable.check`, and only then swaps it in. Pure: no I/O, no clock, no Kubernetes.

The table never carries a secret value: backends name a credentials Secret, nothing more.

Wire form: canonical JSON (sorted keys) that omits every field equal to its default (a route with
default settings carries no ``settings`` at all), except the top-level ``apiVersion``, ``kind``,
``generation``, ``sha256``, ``backends``, ``routes`` and ``rejected``, which are always present.
Parsing restores the defaults, so the round trip is exact; at 10,000 aliases this halves the
document and the time both sides spend on it.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final, Literal, cast

import orjson
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, TypeAdapter

from aliasgate.runtime.gcpause import collector_paused

__all__ = [
    "API_VERSION",
    "KIND",
    "ApiMode",
    "Backend",
    "HealthCheckSettings",
    "Provider",
    "RejectedAlias",
    "RenderMemo",
    "RetrySettings",
    "Route",
    "RouteSettings",
    "RoutingTable",
    "SourceRef",
    "TableInvariantError",
    "TimeoutSettings",
    "backend_key",
    "document_content_hash",
]

API_VERSION: Final = "aliasgate.io/v1alpha1"
KIND: Final = "RoutingTable"

ApiMode = Literal["responses", "chat"]
Provider = Literal["chatgpt", "openai", "azure-openai", "openai-compatible"]


class _Model(BaseModel):
    """Wire models: camelCase on the wire, snake_case in Python, unknown fields refused, immutable."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        alias_generator=lambda name: name.split("_")[0] + "".join(part.capitalize() for part in name.split("_")[1:]),
    )

    def __eq__(self, other: object) -> bool:
        """Field equality, like pydantic's, minus its generic checks (no extras, no private state here).

        Dumping with defaults omitted compares every nested settings model with its default: this
        keeps that cheap (identical objects compare at once)."""
        if self is other:
            return True
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = BaseModel.__hash__


class TableInvariantError(ValueError):
    """The table parsed but breaks one of its invariants (:meth:`RoutingTable.problems` lists them); it must not be served."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _canonical(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def _stripped_digest(data: bytes | str) -> str | None:
    document = orjson.loads(data)
    if not isinstance(document, dict):
        return None
    document.pop("generation", None)
    document.pop("sha256", None)
    return hashlib.sha256(_canonical(document)).hexdigest()


def document_content_hash(data: bytes | str) -> str | None:
    """The content hash of a published document computed from its bytes alone (None if not an object).

    Equals :meth:`RoutingTable.content_hash` of the parsed table when the document is in canonical
    wire form (what :meth:`RoutingTable.to_json` writes), at a fraction of the cost; a loader that
    finds it equal to the document's ``sha256`` needs no model-based recomputation."""
    with collector_paused():  # the parsed document is freed inside, before the collector resumes
        return _stripped_digest(data)


def backend_key(provider: str, base_url: str, model: str) -> str:
    """Render a backend's identity; ``base_url`` must already be normalised."""
    return f"{provider}|{base_url}|{model}"


_LIST_ADAPTERS: dict[type, TypeAdapter[list[Any]]] = {}


def _elements_bytes(items: list[_Model]) -> list[bytes]:
    """Table elements of one type (backends, routes or rejected entries) in wire form.

    Dumped in one pydantic call (10,000 separate ``model_dump`` calls cost twice as much as the dump
    itself), then each written by orjson into a right-sized buffer: orjson's result keeps its ~4 KiB
    working allocation however short the JSON is, and a memo holding 10,000 of them would pin 40 MiB
    for 3 MiB of bytes."""
    if not items:
        return []
    kind = type(items[0])
    adapter = _LIST_ADAPTERS.get(kind)
    if adapter is None:
        adapter = _LIST_ADAPTERS[kind] = TypeAdapter(list[kind])  # type: ignore[valid-type]
    dumped = adapter.dump_python(items, mode="json", by_alias=True, exclude_defaults=True)
    return [bytes(memoryview(_canonical(document))) for document in dumped]


class RenderMemo:
    """Wire bytes of table elements from the previous render, reused for the very same instances.

    An optimisation only: the bytes are identical without it. Elements are frozen, so an instance
    always renders the same. The controller builds each table from the previous table's unchanged
    Route objects (``controller.conflicts.ResolveMemo``), so at 10,000 aliases one change renders one
    route instead of all of them. Each render keeps only what it used. One memo per caller (not
    thread-safe).
    """

    def __init__(self) -> None:
        self._known: dict[int, tuple[_Model, bytes]] = {}
        self._used: dict[int, tuple[_Model, bytes]] = {}
        self.rendered = 0
        """Elements rendered afresh so far (tests and benchmarks read it)."""

    def elements(self, items: list[_Model]) -> list[bytes]:
        """The wire bytes of ``items`` (all of one type), rendering only those not met last time."""
        known, used = self._known, self._used
        found: list[bytes | None] = []
        missing: list[int] = []
        for index, item in enumerate(items):
            entry = known.get(id(item))
            if entry is not None and entry[0] is item:
                used[id(item)] = entry
                found.append(entry[1])
            else:
                found.append(None)
                missing.append(index)
        if missing:
            fresh = _elements_bytes([items[index] for index in missing])
            self.rendered += len(fresh)
            for index, data in zip(missing, fresh, strict=True):
                item = items[index]
                used[id(item)] = (item, data)
                found[index] = data
        return cast(list[bytes], found)

    def finish(self) -> None:
        """End one render: what it used is what the next one may reuse."""
        self._known, self._used = self._used, {}


def _mapping_bytes(items: dict[str, Any], memo: RenderMemo) -> bytes:
    """A JSON object of elements in sorted key order, as ``orjson`` with sorted keys would write it."""
    keys = sorted(items)
    values = memo.elements([items[key] for key in keys])
    return b"{" + b",".join([orjson.dumps(key) + b":" + value for key, value in zip(keys, values, strict=True)]) + b"}"


class Backend(_Model):
    """One real upstream (provider, normalised base URL, upstream model) and its resolved mode."""

    key: str
    provider: Provider
    base_url: str = Field(alias="baseURL")
    model: str
    mode: ApiMode
    credentials: str | None = None
    """Name of the credentials Secret in the gateway namespace (never its value)."""
    api_version: str | None = None
    """Azure OpenAI ``api-version`` query parameter; unused by other providers."""


class TimeoutSettings(_Model):
    """Per-route upstream timeouts, in seconds."""

    connect_seconds: float = 10.0
    """TCP+TLS connect; small, because a backend that cannot connect should fail over fast."""
    read_seconds: float = 600.0
    """Whole-request ceiling; reasoning models can think for minutes."""
    idle_seconds: float = 120.0
    """Longest silence between two upstream bytes of a stream before it is declared stalled."""


class RetrySettings(_Model):
    """Retries on connect errors, 429 and 5xx, only before any byte reached the client."""

    attempts: int = 2
    """Total attempts per backend, the first included (1 = no retry)."""
    backoff_seconds: float = 0.25
    """Base of the exponential backoff (full jitter), capped at ``backoff_max_seconds``."""
    backoff_max_seconds: float = 4.0


class HealthCheckSettings(_Model):
    """Active health probing for this alias; probes cost money, so they are rare by default."""

    enabled: bool = True
    interval_seconds: float = 300.0
    timeout_seconds: float = 60.0


class RouteSettings(_Model):
    """Per-alias settings taken from the ModelAlias spec."""

    timeouts: TimeoutSettings = TimeoutSettings()
    retries: RetrySettings = RetrySettings()
    fallbacks: tuple[str, ...] = ()
    """Other aliases tried, in order, when this one fails before the response started."""
    request_defaults: dict[str, Any] = Field(default_factory=dict)
    """Chat/Responses body fields applied when the client did not set them."""
    request_overrides: dict[str, Any] = Field(default_factory=dict)
    """Body fields forced whatever the client sent."""
    health_check: HealthCheckSettings = HealthCheckSettings()


class SourceRef(_Model):
    """The ModelAlias object a route came from."""

    namespace: str
    name: str
    uid: str | None = None
    generation: int | None = None


class Route(_Model):
    """One accepted alias: what clients send as ``model``, and where it goes."""

    alias: str
    backend: str
    """Key into :attr:`RoutingTable.backends`."""
    mode: ApiMode
    source: SourceRef
    settings: RouteSettings = RouteSettings()


class RejectedAlias(_Model):
    """An alias the controller refused, kept so ``/status`` can say why (no secrets in messages)."""

    alias: str
    source: SourceRef
    reason: str
    message: str


class RoutingTable(_Model):
    """The published routing table. ``sha256`` covers everything but ``generation`` and itself."""

    api_version: Literal["aliasgate.io/v1alpha1"] = Field(default=API_VERSION, alias="apiVersion")
    kind: Literal["RoutingTable"] = KIND
    generation: int = Field(default=0, ge=0)
    sha256: str = ""
    backends: dict[str, Backend] = Field(default_factory=dict)
    routes: dict[str, Route] = Field(default_factory=dict)
    rejected: tuple[RejectedAlias, ...] = ()

    _members: tuple[object, object, object, bytes, bytes, bytes] | None = PrivateAttr(default=None)
    """Rendered ``backends``, ``routes`` and ``rejected`` with the very objects they were rendered from:
    a copy with another generation (what the publisher writes) reuses them, any other copy does not."""

    @classmethod
    def build(
        cls,
        *,
        backends: dict[str, Backend],
        routes: dict[str, Route],
        rejected: tuple[RejectedAlias, ...] = (),
        generation: int = 0,
        memo: RenderMemo | None = None,
    ) -> RoutingTable:
        """Assemble a table in canonical (sorted) order with its content hash filled in.

        ``memo``: the caller's :class:`RenderMemo`, so elements it rendered before are not rendered again."""
        table = cls(
            generation=generation,
            backends=dict(sorted(backends.items())),
            routes=dict(sorted(routes.items())),
            rejected=tuple(sorted(rejected, key=lambda r: (r.source.namespace, r.source.name, r.alias))),
        )
        table._member_bytes(memo)
        return table.model_copy(update={"sha256": table.content_hash()})

    def _member_bytes(self, memo: RenderMemo | None = None) -> tuple[bytes, bytes, bytes]:
        """Wire bytes of ``backends``, ``routes`` and ``rejected``, rendered once per table content."""
        cached = self._members
        if (
            cached is not None
            and cached[0] is self.backends
            and cached[1] is self.routes
            and cached[2] is self.rejected
        ):
            return cached[3], cached[4], cached[5]
        render = memo if memo is not None else RenderMemo()
        with collector_paused():
            backends = _mapping_bytes(self.backends, render)
            routes = _mapping_bytes(self.routes, render)
            rejected = b"[" + b",".join(render.elements(list(self.rejected))) + b"]"
        render.finish()
        self._members = (self.backends, self.routes, self.rejected, backends, routes, rejected)
        return backends, routes, rejected

    def _wire(self, *, content_only: bool) -> bytes:
        """The canonical document, assembled from its members in sorted key order (what ``orjson`` with
        sorted keys writes for the whole document, byte for byte, without building the document)."""
        backends, routes, rejected = self._member_bytes()
        parts = [b'{"apiVersion":', orjson.dumps(self.api_version), b',"backends":', backends]
        if not content_only:
            parts += [b',"generation":', orjson.dumps(self.generation)]
        parts += [b',"kind":', orjson.dumps(self.kind), b',"rejected":', rejected, b',"routes":', routes]
        if not content_only:
            parts += [b',"sha256":', orjson.dumps(self.sha256)]
        parts.append(b"}")
        return b"".join(parts)

    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON of the content; equal content gives an equal hash."""
        return hashlib.sha256(self._wire(content_only=True)).hexdigest()

    def _legacy_content_hash(self) -> str:
        """The hash as tables published before the compact wire form computed it (defaults written out)."""
        with collector_paused():
            content = _canonical(self.model_dump(mode="json", by_alias=True, exclude={"generation", "sha256"}))
        return hashlib.sha256(content).hexdigest()

    def with_generation(self, generation: int) -> RoutingTable:
        """The same content under another generation (the hash does not change)."""
        return self.model_copy(update={"generation": generation})

    def to_json(self) -> bytes:
        """Canonical compact JSON bytes (sorted keys, defaults omitted), the form that is published."""
        return self._wire(content_only=False)

    @classmethod
    def from_json(cls, data: bytes | str) -> RoutingTable:
        """Parse and validate; raises ``pydantic.ValidationError`` on a malformed document."""
        with collector_paused():
            return cls.model_validate_json(data)

    def problems(self, *, hash_verified: bool = False) -> list[str]:
        """Every broken invariant, in a stable order (empty when the table is sound).

        ``hash_verified``: the caller already matched ``sha256`` against the document's bytes
        (:func:`document_content_hash`), so it is not recomputed from the model. A hash in the form
        older controllers wrote (defaults written out) is still accepted, so upgrades need no order."""
        found: list[str] = []
        if (
            self.sha256
            and not hash_verified
            and self.sha256 != self.content_hash()
            and self.sha256 != self._legacy_content_hash()
        ):
            found.append("sha256 does not match the table content")
        for key, backend in self.backends.items():
            if key != backend.key:
                found.append(f"backend {key!r} is stored under a key that differs from its own {backend.key!r}")
            if key != backend_key(backend.provider, backend.base_url, backend.model):
                found.append(f"backend {key!r} key does not match provider|baseURL|model")
            if backend.provider == "chatgpt" and backend.mode != "responses":
                found.append(f"backend {key!r}: provider chatgpt serves only the responses mode")
        for alias, route in self.routes.items():
            if alias != route.alias:
                found.append(f"route {alias!r} is stored under a key that differs from its alias {route.alias!r}")
            target = self.backends.get(route.backend)
            if target is None:
                found.append(f"route {alias!r} points at missing backend {route.backend!r}")
                continue
            if target.mode == "responses" and route.mode == "chat":
                found.append(f"route {alias!r} is in chat mode on responses backend {route.backend!r}")
            for fallback in route.settings.fallbacks:
                if fallback not in self.routes:
                    found.append(f"route {alias!r} falls back to unknown alias {fallback!r}")
                elif fallback == alias:
                    found.append(f"route {alias!r} falls back to itself")
        rejected_names = {(r.source.namespace, r.source.name, r.alias) for r in self.rejected}
        for route in self.routes.values():
            if (route.source.namespace, route.source.name, route.alias) in rejected_names:
                found.append(f"alias {route.alias!r} is both routed and rejected")
        return found

    def check(self, *, hash_verified: bool = False) -> RoutingTable:
        """Raise :class:`TableInvariantError` unless every invariant holds; returns self for chaining."""
        found = self.problems(hash_verified=hash_verified)
        if found:
            raise TableInvariantError(found)
        return self

    def lookup(self, alias: str) -> tuple[Route, Backend] | None:
        """The route and backend serving ``alias``, or None when the alias is not routed."""
        route = self.routes.get(alias)
        if route is None:
            return None
        return route, self.backends[route.backend]
