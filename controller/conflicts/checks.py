"""Phase 1 of the engine: the rules that need no other object (spec semantics, mode, credentials)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from controller.conflicts.credentials import ALLOWED_NAMESPACES_ANNOTATION, CredentialInfo
from controller.conflicts.objects import InvalidAlias, age_of
from controller.conflicts.reasons import Rejection
from controller.conflicts.recording import Output
from controller.resources import (
    DEFAULT_BASE_URLS,
    PROVIDER_MODES,
    InvalidObjectError,
    ModelAlias,
    ModelAliasSpec,
    normalize_base_url,
)
from gateway.routing.table import ApiMode, backend_key

__all__ = ["Entry", "Static", "check_each", "credential_problem", "spec_problem", "static_check"]

_RESERVED_BODY_FIELDS = ("model", "stream")
"""Request fields the gateway owns: the upstream model comes from the backend, framing from the client."""


@dataclass(slots=True, eq=False)
class Entry:
    """Working state of one statically valid alias during resolution (identity semantics)."""

    obj: ModelAlias
    ref: str
    alias: str
    age: tuple[bool, str, str, str]
    declared: ApiMode | None
    key: str
    base_url: str
    downgraded: bool = False
    rejection: Rejection | None = None


def spec_problem(spec: ModelAliasSpec, alias: str) -> str | None:
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
    if health is not None and _exceeds(health.timeout_seconds, health.interval_seconds):
        return "spec.healthCheck.timeoutSeconds: must not exceed spec.healthCheck.intervalSeconds"
    timeouts = spec.timeouts
    if timeouts is not None and _exceeds(timeouts.connect_seconds, timeouts.read_seconds):
        return "spec.timeouts.connectSeconds: must not exceed spec.timeouts.readSeconds"
    return None


def _exceeds(part: float | None, whole: float | None) -> bool:
    """Whether a duration that must fit inside another is longer than it; an unset one always fits."""
    return part is not None and whole is not None and part > whole


def credential_problem(obj: ModelAlias, credentials: Mapping[str, CredentialInfo]) -> Rejection | None:
    name = obj.spec.backend.credentials
    if name is None:
        return None
    info = credentials.get(name)
    if info is None:
        return (
            "CredentialsNotFound",
            f"credentials Secret {name!r} (spec.backend.credentials) does not exist in the gateway namespace; "
            "create it or fix the name",
        )
    if not info.permits(obj.metadata.namespace):
        return (
            "CredentialsNotPermitted",
            f"credentials Secret {name!r} does not allow namespace {obj.metadata.namespace!r} "
            f"(annotation {ALLOWED_NAMESPACES_ANNOTATION}); add the namespace there or use other credentials",
        )
    return None


@dataclass(frozen=True, slots=True)
class Static:
    """What phase 1 finds in one object alone (credentials aside): its backend and any problem."""

    ref: str
    alias: str
    age: tuple[bool, str, str, str]
    key: str | None
    base_url: str | None
    rejection: Rejection | None


def static_check(obj: ModelAlias, url_cache: dict[str, str | InvalidObjectError]) -> Static:
    spec = obj.spec
    alias = obj.alias
    backend = spec.backend
    key: str | None = None
    base_url: str | None = None
    problem = spec_problem(spec, alias)
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
    rejection: Rejection | None = None
    if problem is not None:
        rejection = ("InvalidSpec", problem)
    elif spec.mode is not None and spec.mode not in PROVIDER_MODES[backend.provider]:
        served = " and ".join(sorted(PROVIDER_MODES[backend.provider]))
        rejection = (
            "UnsupportedMode",
            f"provider {backend.provider} serves only the {served} mode, so mode {spec.mode} cannot work on "
            f"backend {key}; remove spec.mode (the alias then inherits the backend's mode) or set it to {served}",
        )
    return Static(ref=obj.ref, alias=alias, age=age_of(obj), key=key, base_url=base_url, rejection=rejection)


def check_each(
    unique: list[ModelAlias | InvalidAlias],
    credentials: Mapping[str, CredentialInfo] | None,
    out: Output,
    remembered: Mapping[int, tuple[ModelAlias, Static]],
) -> tuple[list[Entry], dict[int, tuple[ModelAlias, Static]]]:
    """Phase 1: the rules that need no other object. Survivors become entries with their backend key.

    ``remembered`` holds earlier findings by parsed object (see ``ResolveMemo.statics``); the second
    value returned is this run's findings, for the next run.
    """
    entries: list[Entry] = []
    url_cache: dict[str, str | InvalidObjectError] = {}
    kept: dict[int, tuple[ModelAlias, Static]] = {}
    for obj in unique:
        if isinstance(obj, InvalidAlias):
            out.reject_invalid(obj)
            continue
        known = remembered.get(id(obj))
        static = known[1] if known is not None and known[0] is obj else static_check(obj, url_cache)
        kept[id(obj)] = (obj, static)
        rejection = static.rejection
        if rejection is None and credentials is not None:
            rejection = credential_problem(obj, credentials)
        if rejection is not None:
            out.statics.append((obj, static.alias, static.key, rejection))
            continue
        assert static.key is not None  # set whenever no problem was found
        assert static.base_url is not None
        entries.append(
            Entry(
                obj=obj,
                ref=static.ref,
                alias=static.alias,
                age=static.age,
                declared=obj.spec.mode,
                key=static.key,
                base_url=static.base_url,
            )
        )
    return entries, kept
