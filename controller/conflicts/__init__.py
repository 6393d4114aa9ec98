"""The conflict engine (DESIGN §3): the full set of ModelAlias objects → routing table + verdicts.

Pure, deterministic and order-independent: the same set in any order, with any duplicates, gives the
same :class:`Resolution`. No I/O, no clock, no Kubernetes imports.

Rules are applied in this order; each phase only sees the objects that survived the phases before it,
so a rejected object never influences another one (no alias rejected for any reason holds a backend in
Responses mode or keeps an alias name from a valid claimant):

0. **Deduplicate** by ``namespace/name``: the highest ``metadata.generation`` wins; equal generations
   with different content are broken by the canonical JSON of the object (any order, same winner).
1. **Per-object checks** (need no other object), first failure wins:
   a. ``InvalidSpec``: objects that failed parsing (:class:`InvalidAlias`) and semantic failures the
      schema cannot express: ``apiVersion`` on a provider other than azure-openai, no base URL for a
      provider without a default endpoint, an unusable URL (see ``normalize_base_url``), fallbacks that
      name the alias itself or repeat, ``model``/``stream`` in request defaults/overrides (routing and
      framing belong to the gateway), an explicit timeout longer than its interval/ceiling.
   b. ``UnsupportedMode``: the declared mode is one the provider cannot serve (chatgpt: responses only).
   c. ``CredentialsNotFound`` / ``CredentialsNotPermitted``, only when ``credentials`` is given.
2. **Backend agreement** (``BackendConflict``): aliases sharing a backend key share one credentials
   Secret and one Azure ``apiVersion`` (the table has one of each per backend). The oldest surviving
   alias on the backend (creationTimestamp, then namespace/name) fixes them; later aliases naming
   others are rejected, with a message naming the oldest.
3. **Modes and names**, solved together as the least fixpoint of:
   - a backend is in Responses mode when its provider serves only Responses, or when the *winner* of
     some alias name on it declares ``responses`` (rule 3, "otherwise valid" = still a name winner);
   - every alias declaring ``chat`` on a Responses backend is rejected ``ModeDowngradeRejected``;
   - among the claimants of one alias name that are not downgrade-rejected, the oldest wins; the others
     are rejected ``AliasInUse`` naming the winner (rule 4).
   Starting from "nothing downgraded", rejections only grow, so the iteration ends and its result does
   not depend on input order. Starting from the bottom means that in a cycle (two chat aliases each
   blocking the responses alias that would downgrade the other) the older, working chat aliases stay.
   A downgrade-rejected alias gives up its name, so a younger valid claimant serves it.
4. **Resolved modes**: a backend not in Responses mode is in chat mode when its provider allows chat.
   Aliases omitting ``mode`` inherit the backend's mode.
5. **References** (``ResolvedRefs``): fallbacks must name accepted aliases. An unresolved fallback does
   *not* reject the alias (that would drop traffic for a problem that only matters on failure); the
   route is published without it and ``ResolvedRefs=False`` reason ``FallbackNotFound`` says which are
   missing. Fallbacks are not transitive: the gateway tries only the alias's own list. Without
   ``credentials`` the verdict's ``refs_resolved`` is None (reason ``CredentialsNotChecked``) unless a
   fallback is already known to be missing.

Accepted aliases become routes; every rejected object is listed in ``table.rejected``. The table
always passes :meth:`RoutingTable.check`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from aliasgate.runtime.gcpause import collector_paused
from controller.resources import (
    DEFAULT_BASE_URLS,
    PROVIDER_MODES,
    InvalidObjectError,
    ModelAlias,
    ModelAliasSpec,
    normalize_base_url,
    parse_object,
)
from gateway.routing.table import (
    ApiMode,
    Backend,
    HealthCheckSettings,
    RejectedAlias,
    RenderMemo,
    RetrySettings,
    Route,
    RouteSettings,
    RoutingTable,
    SourceRef,
    TimeoutSettings,
    backend_key,
)

__all__ = [
    "ALLOWED_NAMESPACES_ANNOTATION",
    "REASON_ACCEPTED",
    "REASON_ALIAS_IN_USE",
    "REASON_BACKEND_CONFLICT",
    "REASON_CREDENTIALS_NOT_CHECKED",
    "REASON_CREDENTIALS_NOT_FOUND",
    "REASON_CREDENTIALS_NOT_PERMITTED",
    "REASON_FALLBACK_NOT_FOUND",
    "REASON_INVALID_SPEC",
    "REASON_MODE_DOWNGRADE_REJECTED",
    "REASON_RESOLVED_REFS",
    "REASON_UNSUPPORTED_MODE",
    "CredentialInfo",
    "InvalidAlias",
    "Resolution",
    "ResolveMemo",
    "Verdict",
    "parse_or_invalid",
    "resolve",
]

REASON_ACCEPTED = "Accepted"
REASON_INVALID_SPEC = "InvalidSpec"
REASON_UNSUPPORTED_MODE = "UnsupportedMode"
REASON_CREDENTIALS_NOT_FOUND = "CredentialsNotFound"
REASON_CREDENTIALS_NOT_PERMITTED = "CredentialsNotPermitted"
REASON_BACKEND_CONFLICT = "BackendConflict"
REASON_MODE_DOWNGRADE_REJECTED = "ModeDowngradeRejected"
REASON_ALIAS_IN_USE = "AliasInUse"
REASON_RESOLVED_REFS = "ResolvedRefs"
REASON_FALLBACK_NOT_FOUND = "FallbackNotFound"
REASON_CREDENTIALS_NOT_CHECKED = "CredentialsNotChecked"

ALLOWED_NAMESPACES_ANNOTATION = "aliasgate.io/allowed-namespaces"

_MAX_NAMED = 5
"""How many aliases a message names before it says "and N more" (messages stay bounded)."""

_RESERVED_BODY_FIELDS = ("model", "stream")
"""Request fields the gateway owns: the upstream model comes from the backend, framing from the client."""


@dataclass(frozen=True, slots=True)
class CredentialInfo:
    """What the rules may know of a credentials Secret: that it exists and who may use it."""

    allowed_namespaces: frozenset[str] | None = None
    """From annotation ``aliasgate.io/allowed-namespaces``; None = every namespace may reference it."""

    @classmethod
    def from_annotation(cls, value: str | None) -> CredentialInfo:
        """Parse the annotation (comma list): absent = everyone, ``*`` = everyone, empty = no one."""
        if value is None:
            return cls(None)
        names = frozenset(part.strip() for part in value.split(",") if part.strip())
        return cls(None if "*" in names else names)

    def permits(self, namespace: str) -> bool:
        return self.allowed_namespaces is None or namespace in self.allowed_namespaces


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


class ResolveMemo:
    """What earlier resolutions built, reused while nothing it depends on changed: phase 1's findings,
    the routes and verdicts of accepted aliases, shared route settings, the table's rendered elements.
    An optimisation only: :func:`resolve` returns an equal result with or without it.

    A route depends on its object (alias, backend, source, settings), its resolved mode and its
    references; an entry is reused only for the *same* parsed instance (``ParsedAliases`` hands back the
    same instance while an object is unchanged) with an equal mode and equal references. At 10,000
    aliases this turns one change's 20,000 model constructions into one. Each resolution keeps only
    what it produced, so the memo never outgrows the set. Not thread-safe: one memo per caller.
    """

    def __init__(self) -> None:
        self.entries: dict[int, tuple[ModelAlias, ApiMode, _Refs, Route, Verdict]] = {}
        """By ``id`` of the parsed object (held here, so the id stays its own while remembered)."""
        self.reused = 0
        """Routes reused by the last resolution (tests and benchmarks read it)."""
        self.statics: dict[int, tuple[ModelAlias, _Static]] = {}
        """Phase 1's findings per parsed object (same keying as ``entries``)."""
        self.settings: dict[Any, RouteSettings] = {}
        """Route settings by the spec parts they come from, shared by every route configured alike."""
        self.render = RenderMemo()
        """Wire bytes of the previous table's elements, so publishing renders only what changed."""


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


# ---------------------------------------------------------------------------------------------- #
# Internals


@dataclass(slots=True, eq=False)
class _Entry:
    """Working state of one statically valid alias during resolution (identity semantics)."""

    obj: ModelAlias
    ref: str
    alias: str
    age: tuple[bool, str, str, str]
    declared: ApiMode | None
    key: str
    base_url: str
    downgraded: bool = False
    rejection: tuple[str, str] | None = None


@dataclass(slots=True)
class _Refs:
    resolved: bool | None
    reason: str
    message: str
    fallbacks: tuple[str, ...] = field(default=())


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


def _deduplicate(objects: Iterable[ModelAlias | InvalidAlias]) -> list[ModelAlias | InvalidAlias]:
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


def _age(obj: ModelAlias) -> tuple[bool, str, str, str]:
    """Precedence: oldest creationTimestamp first (missing = youngest), then namespace/name."""
    ts = obj.metadata.creation_timestamp
    return (ts is None, ts or "", obj.metadata.namespace, obj.metadata.name)


def _spec_problem(spec: ModelAliasSpec, alias: str) -> str | None:
    """Semantic checks the schema cannot express; the message starts with the field path."""
    backend = spec.backend
    if backend.api_version is not None and backend.provider != "azure-openai":
        return (
            f"spec.backend.apiVersion: only provider azure-openai takes an apiVersion "
            f"(provider is {backend.provider}); remove it"
        )
    if backend.base_url is None and backend.provider not in DEFAULT_BASE_URLS:
        return f"spec.backend.baseURL: required for provider {backend.provider}, which has no default endpoint"
    if spec.fallbacks:
        if alias in spec.fallbacks:
            return f"spec.fallbacks: names the alias itself ({alias!r}); an alias cannot fall back to itself"
        if len(set(spec.fallbacks)) != len(spec.fallbacks):
            return "spec.fallbacks: lists an alias more than once"
    for field_name, body in (("requestDefaults", spec.request_defaults), ("requestOverrides", spec.request_overrides)):
        for reserved in _RESERVED_BODY_FIELDS:
            if body and reserved in body:
                return (
                    f"spec.{field_name}.{reserved}: set by the gateway "
                    f"(the upstream model is spec.backend.model; streaming follows the client); remove it"
                )
    health = spec.health_check
    if (
        health is not None
        and health.timeout_seconds is not None
        and health.interval_seconds is not None
        and health.timeout_seconds > health.interval_seconds
    ):
        return "spec.healthCheck.timeoutSeconds: must not exceed spec.healthCheck.intervalSeconds"
    timeouts = spec.timeouts
    if (
        timeouts is not None
        and timeouts.connect_seconds is not None
        and timeouts.read_seconds is not None
        and timeouts.connect_seconds > timeouts.read_seconds
    ):
        return "spec.timeouts.connectSeconds: must not exceed spec.timeouts.readSeconds"
    return None


def _named(refs: list[str]) -> str:
    shown = ", ".join(refs[:_MAX_NAMED])
    extra = len(refs) - _MAX_NAMED
    return f"{shown} and {extra} more" if extra > 0 else shown


def _describe(entry: _Entry) -> str:
    return f"{entry.alias!r} ({entry.ref})"


_DEFAULT_SETTINGS = RouteSettings()
_DEFAULT_TIMEOUTS = TimeoutSettings()
_DEFAULT_RETRIES = RetrySettings()
_DEFAULT_HEALTH = HealthCheckSettings()


def _route_settings(spec: ModelAliasSpec, fallbacks: tuple[str, ...]) -> RouteSettings:
    """Per-route settings: the spec's values over the table's defaults (shared instance when all default)."""
    if (
        spec.timeouts is None
        and spec.retries is None
        and spec.health_check is None
        and not fallbacks
        and not spec.request_defaults
        and not spec.request_overrides
    ):
        return _DEFAULT_SETTINGS
    timeouts = _DEFAULT_TIMEOUTS
    if spec.timeouts is not None:
        read = spec.timeouts.read_seconds or _DEFAULT_TIMEOUTS.read_seconds
        connect = spec.timeouts.connect_seconds or min(_DEFAULT_TIMEOUTS.connect_seconds, read)
        idle = spec.timeouts.idle_seconds or _DEFAULT_TIMEOUTS.idle_seconds
        timeouts = TimeoutSettings(connect_seconds=connect, read_seconds=read, idle_seconds=idle)
    retries = _DEFAULT_RETRIES
    if spec.retries is not None:
        attempts = spec.retries.attempts or _DEFAULT_RETRIES.attempts
        backoff = (
            _DEFAULT_RETRIES.backoff_seconds if spec.retries.backoff_seconds is None else spec.retries.backoff_seconds
        )
        retries = RetrySettings(
            attempts=attempts,
            backoff_seconds=backoff,
            backoff_max_seconds=max(_DEFAULT_RETRIES.backoff_max_seconds, backoff),
        )
    health = _DEFAULT_HEALTH
    if spec.health_check is not None:
        spec_health = spec.health_check
        interval = spec_health.interval_seconds or _DEFAULT_HEALTH.interval_seconds
        timeout = spec_health.timeout_seconds or min(_DEFAULT_HEALTH.timeout_seconds, interval)
        enabled = _DEFAULT_HEALTH.enabled if spec_health.enabled is None else spec_health.enabled
        health = HealthCheckSettings.model_construct(
            enabled=enabled, interval_seconds=interval, timeout_seconds=timeout
        )
    # model_construct: every value comes from a validated spec, so validating again is pure cost.
    return RouteSettings.model_construct(
        timeouts=timeouts,
        retries=retries,
        fallbacks=fallbacks,
        request_defaults=dict(spec.request_defaults or {}),
        request_overrides=dict(spec.request_overrides or {}),
        health_check=health,
    )


def _credential_problem(obj: ModelAlias, credentials: Mapping[str, CredentialInfo]) -> tuple[str, str] | None:
    name = obj.spec.backend.credentials
    if name is None:
        return None
    info = credentials.get(name)
    if info is None:
        return (
            REASON_CREDENTIALS_NOT_FOUND,
            f"credentials Secret {name!r} (spec.backend.credentials) does not exist in the gateway namespace; "
            "create it or fix the name",
        )
    if not info.permits(obj.metadata.namespace):
        return (
            REASON_CREDENTIALS_NOT_PERMITTED,
            f"credentials Secret {name!r} does not allow namespace {obj.metadata.namespace!r} "
            f"(annotation {ALLOWED_NAMESPACES_ANNOTATION}); add the namespace there or use other credentials",
        )
    return None


def resolve(
    objects: Iterable[ModelAlias | InvalidAlias],
    *,
    credentials: Mapping[str, CredentialInfo] | None = None,
    generation: int = 0,
    memo: ResolveMemo | None = None,
) -> Resolution:
    """Apply every rule of DESIGN §3 (in the order of the module docstring).

    ``credentials=None`` means they could not be checked; ``generation`` is the table's generation;
    ``memo`` (optional) carries unchanged routes over from the caller's previous resolution.
    """
    with collector_paused():
        return _resolve(objects, credentials=credentials, generation=generation, memo=memo)


def _resolve(
    objects: Iterable[ModelAlias | InvalidAlias],
    *,
    credentials: Mapping[str, CredentialInfo] | None,
    generation: int,
    memo: ResolveMemo | None,
) -> Resolution:
    out = _Output(credentials)
    entries = _check_each(_deduplicate(objects), credentials, out, memo)  # phase 1
    live = _agree_on_backends(entries)  # phase 2
    winners, responses_backends = _solve_modes_and_names(live)  # phase 3
    _explain_rejections(live, winners)
    return _assemble(entries, live, winners, responses_backends, out, generation, memo)  # phases 4 and 5


class _Output:
    """Verdicts and rejected-table entries as they are decided, plus how references are judged."""

    def __init__(self, credentials: Mapping[str, CredentialInfo] | None) -> None:
        self.credentials = credentials
        self.verdicts: dict[str, Verdict] = {}
        self.rejected: list[RejectedAlias] = []
        self.statics: list[tuple[ModelAlias, str, str | None, tuple[str, str]]] = []
        """Objects rejected by phase 1, judged once the accepted aliases (for fallbacks) are known."""
        self.accepted_aliases: frozenset[str] = frozenset()

    def references(self, obj: ModelAlias, credential_rejection: tuple[str, str] | None) -> _Refs:
        """The ResolvedRefs judgement: credentials first, then fallbacks against the accepted aliases."""
        if credential_rejection is not None:
            return _Refs(False, credential_rejection[0], credential_rejection[1])
        declared = tuple(obj.spec.fallbacks or ())
        missing = [name for name in declared if name not in self.accepted_aliases]
        if missing:
            kept = tuple(name for name in declared if name in self.accepted_aliases)
            return _Refs(
                False,
                REASON_FALLBACK_NOT_FOUND,
                f"fallback alias(es) {', '.join(repr(n) for n in missing)} (spec.fallbacks) are not accepted "
                f"aliases; the route skips them until they are",
                kept,
            )
        if self.credentials is None:
            return _Refs(
                None,
                REASON_CREDENTIALS_NOT_CHECKED,
                "fallbacks resolve; credentials were not checked (credentials Secrets not visible)",
                declared,
            )
        return _Refs(True, REASON_RESOLVED_REFS, "credentials and fallbacks resolve", declared)

    def reject_invalid(self, obj: InvalidAlias) -> None:
        message = f"{obj.field}: {obj.message}" if obj.field else obj.message
        self.verdicts[f"{obj.namespace}/{obj.name}"] = Verdict(
            namespace=obj.namespace,
            name=obj.name,
            uid=obj.uid,
            generation=obj.generation,
            alias=obj.alias,
            accepted=False,
            reason=REASON_INVALID_SPEC,
            message=message,
            backend_key=None,
            resolved_mode=None,
            refs_resolved=None,
            refs_reason=REASON_INVALID_SPEC,
            refs_message="references are not checked while the spec is invalid",
        )
        source = SourceRef(namespace=obj.namespace, name=obj.name, uid=obj.uid, generation=obj.generation)
        self.rejected.append(
            RejectedAlias(alias=obj.alias or obj.name, source=source, reason=REASON_INVALID_SPEC, message=message)
        )

    def reject(self, obj: ModelAlias, alias: str, key: str | None, rejection: tuple[str, str], refs: _Refs) -> None:
        reason, message = rejection
        self.verdicts[obj.ref] = Verdict(
            namespace=obj.metadata.namespace,
            name=obj.metadata.name,
            uid=obj.metadata.uid,
            generation=obj.metadata.generation,
            alias=alias,
            accepted=False,
            reason=reason,
            message=message,
            backend_key=key,
            resolved_mode=None,
            refs_resolved=refs.resolved,
            refs_reason=refs.reason,
            refs_message=refs.message,
        )
        self.rejected.append(RejectedAlias(alias=alias, source=_source(obj), reason=reason, message=message))


def _source(obj: ModelAlias) -> SourceRef:
    meta = obj.metadata
    return SourceRef.model_construct(namespace=meta.namespace, name=meta.name, uid=meta.uid, generation=meta.generation)


@dataclass(frozen=True, slots=True)
class _Static:
    """What phase 1 finds in one object alone (credentials aside): its backend and any problem."""

    ref: str
    alias: str
    age: tuple[bool, str, str, str]
    key: str | None
    base_url: str | None
    rejection: tuple[str, str] | None


def _static_check(obj: ModelAlias, url_cache: dict[str, str | InvalidObjectError]) -> _Static:
    spec = obj.spec
    alias = obj.alias
    backend = spec.backend
    key: str | None = None
    base_url: str | None = None
    problem = _spec_problem(spec, alias)
    if problem is None:
        raw_url = backend.base_url if backend.base_url is not None else DEFAULT_BASE_URLS[backend.provider]
        normalised = url_cache.get(raw_url)
        if normalised is None:
            try:
                normalised = normalize_base_url(raw_url)
            except InvalidObjectError as exc:
                normalised = exc
            url_cache[raw_url] = normalised
        if isinstance(normalised, InvalidObjectError):
            problem = str(normalised)
        else:
            base_url = normalised
            key = backend_key(backend.provider, base_url, backend.model)
    rejection: tuple[str, str] | None = None
    if problem is not None:
        rejection = (REASON_INVALID_SPEC, problem)
    elif spec.mode is not None and spec.mode not in PROVIDER_MODES[backend.provider]:
        served = " and ".join(sorted(PROVIDER_MODES[backend.provider]))
        rejection = (
            REASON_UNSUPPORTED_MODE,
            f"provider {backend.provider} serves only the {served} mode, so mode {spec.mode} cannot work on "
            f"backend {key}; remove spec.mode (the alias then inherits the backend's mode) or set it to {served}",
        )
    return _Static(ref=obj.ref, alias=alias, age=_age(obj), key=key, base_url=base_url, rejection=rejection)


def _check_each(
    unique: list[ModelAlias | InvalidAlias],
    credentials: Mapping[str, CredentialInfo] | None,
    out: _Output,
    memo: ResolveMemo | None,
) -> list[_Entry]:
    """Phase 1: the rules that need no other object. Survivors become entries with their backend key."""
    entries: list[_Entry] = []
    url_cache: dict[str, str | InvalidObjectError] = {}
    remembered = memo.statics if memo is not None else {}
    kept: dict[int, tuple[ModelAlias, _Static]] = {}
    for obj in unique:
        if isinstance(obj, InvalidAlias):
            out.reject_invalid(obj)
            continue
        known = remembered.get(id(obj))
        static = known[1] if known is not None and known[0] is obj else _static_check(obj, url_cache)
        kept[id(obj)] = (obj, static)
        rejection = static.rejection
        if rejection is None and credentials is not None:
            rejection = _credential_problem(obj, credentials)
        if rejection is not None:
            out.statics.append((obj, static.alias, static.key, rejection))
            continue
        assert static.key is not None  # set whenever no problem was found
        assert static.base_url is not None
        entries.append(
            _Entry(
                obj=obj,
                ref=static.ref,
                alias=static.alias,
                age=static.age,
                declared=obj.spec.mode,
                key=static.key,
                base_url=static.base_url,
            )
        )
    if memo is not None:
        memo.statics = kept
    return entries


def _shown(value: str | None) -> str:
    return "none" if value is None else repr(value)


def _agree_on_backends(entries: list[_Entry]) -> list[_Entry]:
    """Phase 2: the oldest alias on a backend fixes its credentials and apiVersion; returns the survivors."""
    by_backend: dict[str, list[_Entry]] = {}
    for entry in entries:
        by_backend.setdefault(entry.key, []).append(entry)
    for key, members in by_backend.items():
        if len(members) < 2:
            continue
        members.sort(key=lambda e: e.age)
        first = members[0].obj.spec.backend
        for entry in members[1:]:
            backend = entry.obj.spec.backend
            if backend.credentials != first.credentials:
                what, value = "credentials", first.credentials
            elif backend.api_version != first.api_version:
                what, value = "apiVersion", first.api_version
            else:
                continue
            entry.rejection = (
                REASON_BACKEND_CONFLICT,
                f"backend {key} already uses {what} {_shown(value)}, set by {_describe(members[0])}, its oldest "
                f"alias; aliases sharing a backend must agree on spec.backend.credentials and "
                f"spec.backend.apiVersion, so use the same value or point this alias at another backend",
            )
    return [entry for entry in entries if entry.rejection is None]


def _solve_modes_and_names(live: list[_Entry]) -> tuple[dict[str, _Entry], set[str]]:
    """Phase 3: the least fixpoint of Responses stickiness and alias uniqueness (see the module docstring).

    Marks downgraded entries and returns the winner of each alias name and the Responses backends. A
    worklist of backends newly in Responses mode drives it: downgrading a chat alias that was a name's
    winner lets the next claimant win, which may put its own backend in Responses mode in turn.
    """
    by_backend: dict[str, list[_Entry]] = {}
    claimants: dict[str, list[_Entry]] = {}
    for entry in live:
        by_backend.setdefault(entry.key, []).append(entry)
        claimants.setdefault(entry.alias, []).append(entry)
    for members in claimants.values():
        members.sort(key=lambda e: e.age)
    winner_index = dict.fromkeys(claimants, 0)
    responses_backends: set[str] = set()
    queue: list[str] = []

    def mark_responses(key: str) -> None:
        if key not in responses_backends:
            responses_backends.add(key)
            queue.append(key)

    for entry in live:
        if "chat" not in PROVIDER_MODES[entry.obj.spec.backend.provider]:
            mark_responses(entry.key)
    for members in claimants.values():
        if members[0].declared == "responses":
            mark_responses(members[0].key)
    while queue:
        for entry in by_backend[queue.pop()]:
            if entry.declared != "chat" or entry.downgraded:
                continue
            entry.downgraded = True
            members = claimants[entry.alias]
            index = winner_index[entry.alias]
            if members[index] is not entry:
                continue  # it was not winning its name, so no one else gains by its loss
            while index < len(members) and members[index].downgraded:
                index += 1
            winner_index[entry.alias] = index
            if index < len(members) and members[index].declared == "responses":
                mark_responses(members[index].key)
    winners = {
        alias: members[winner_index[alias]]
        for alias, members in claimants.items()
        if winner_index[alias] < len(members)
    }
    return winners, responses_backends


def _explain_rejections(live: list[_Entry], winners: dict[str, _Entry]) -> None:
    """Phase 3's verdicts: downgrades name the holders, name losers name the winner."""
    holders: dict[str, list[str]] = {}
    for winner in winners.values():
        if winner.declared == "responses":
            holders.setdefault(winner.key, []).append(_describe(winner))
    for entry in live:
        if entry.downgraded:
            named = sorted(holders.get(entry.key, []))
            held = f"held there by {_named(named)}" if named else "its provider serves only Responses"
            entry.rejection = (
                REASON_MODE_DOWNGRADE_REJECTED,
                f"backend {entry.key} is in Responses mode, {held}; mode chat would "
                f"downgrade it for every alias on it. Remove spec.mode (the alias then inherits responses and "
                f"the gateway bridges chat requests) or point spec.backend at another backend",
            )
            continue
        winner = winners[entry.alias]
        if winner is not entry:
            created = winner.obj.metadata.creation_timestamp
            since = f"created {created}" if created else "no creationTimestamp either"
            entry.rejection = (
                REASON_ALIAS_IN_USE,
                f"alias {entry.alias!r} is already served by {winner.ref} ({since}), which takes "
                f"precedence (oldest first, then namespace/name); rename spec.alias or delete the other object",
            )


def _shared_settings(
    spec: ModelAliasSpec, fallbacks: tuple[str, ...], shared: dict[Any, RouteSettings]
) -> RouteSettings:
    """Equal settings as one instance: thousands of aliases configured alike hold one object, not thousands."""
    if spec.request_defaults or spec.request_overrides:  # dicts: not hashable, and rarely shared
        return _route_settings(spec, fallbacks)
    key = (spec.timeouts, spec.retries, spec.health_check, fallbacks)
    found = shared.get(key)
    if found is None:
        found = shared[key] = _route_settings(spec, fallbacks)
    return found


def _accepted(entry: _Entry, mode: ApiMode, refs: _Refs, shared: dict[Any, RouteSettings]) -> tuple[Route, Verdict]:
    """The route and the verdict of an accepted alias."""
    obj = entry.obj
    route = Route.model_construct(  # built from validated parts
        alias=entry.alias,
        backend=entry.key,
        mode=mode,
        source=_source(obj),
        settings=_shared_settings(obj.spec, refs.fallbacks, shared),
    )
    inherited = " (inherited from the backend)" if entry.declared is None else ""
    verdict = Verdict(
        namespace=obj.metadata.namespace,
        name=obj.metadata.name,
        uid=obj.metadata.uid,
        generation=obj.metadata.generation,
        alias=entry.alias,
        accepted=True,
        reason=REASON_ACCEPTED,
        message=f"serves alias {entry.alias!r} on backend {entry.key} in {mode} mode{inherited}",
        backend_key=entry.key,
        resolved_mode=mode,
        refs_resolved=refs.resolved,
        refs_reason=refs.reason,
        refs_message=refs.message,
    )
    return route, verdict


def _assemble(
    entries: list[_Entry],
    live: list[_Entry],
    winners: dict[str, _Entry],
    responses_backends: set[str],
    out: _Output,
    generation: int,
    memo: ResolveMemo | None,
) -> Resolution:
    """Phases 4 and 5: resolved modes, routes with their settings, references, every verdict, the table."""
    out.accepted_aliases = frozenset(winners)
    backends: dict[str, Backend] = {}
    routes: dict[str, Route] = {}
    remembered = memo.entries if memo is not None else {}
    shared = memo.settings if memo is not None else {}
    kept: dict[int, tuple[ModelAlias, ApiMode, _Refs, Route, Verdict]] = {}
    reused = 0
    for entry in live:
        obj = entry.obj
        refs = out.references(obj, None)
        if entry.rejection is not None:
            out.reject(obj, entry.alias, entry.key, entry.rejection, refs)
            continue
        spec_backend = obj.spec.backend
        responses = entry.key in responses_backends or "chat" not in PROVIDER_MODES[spec_backend.provider]
        mode: ApiMode = "responses" if responses else "chat"
        if entry.key not in backends:
            backends[entry.key] = Backend(
                key=entry.key,
                provider=spec_backend.provider,
                base_url=entry.base_url,
                model=spec_backend.model,
                mode=mode,
                credentials=spec_backend.credentials,
                api_version=spec_backend.api_version,
            )
        known = remembered.get(id(obj))
        if known is not None and known[0] is obj and known[1] == mode and known[2] == refs:
            route, verdict = known[3], known[4]
            reused += 1
        else:
            route, verdict = _accepted(entry, mode, refs, shared)
        kept[id(obj)] = (obj, mode, refs, route, verdict)
        routes[entry.alias] = route
        out.verdicts[entry.ref] = verdict
    if memo is not None:
        memo.reused = reused
        memo.entries = kept
        if len(memo.settings) > 2 * len(kept) + 64:
            memo.settings = {}  # configurations come and go: never outgrow the set (routes keep theirs)
    for entry in entries:
        if entry.rejection is not None and entry.ref not in out.verdicts:  # phase 2's rejections
            out.reject(entry.obj, entry.alias, entry.key, entry.rejection, out.references(entry.obj, None))
    for obj, alias, key, rejection in out.statics:
        if rejection[0] in (REASON_CREDENTIALS_NOT_FOUND, REASON_CREDENTIALS_NOT_PERMITTED):
            credential_rejection: tuple[str, str] | None = rejection
        elif out.credentials is not None:
            credential_rejection = _credential_problem(obj, out.credentials)
        else:
            credential_rejection = None
        out.reject(obj, alias, key, rejection, out.references(obj, credential_rejection))
    table = RoutingTable.build(
        backends=backends,
        routes=routes,
        rejected=tuple(out.rejected),
        generation=generation,
        memo=memo.render if memo is not None else None,
    )
    return Resolution(
        table=table, verdicts=dict(sorted(out.verdicts.items())), credentials_checked=out.credentials is not None
    )
