"""The ModelAlias custom resource (its CRD is in deploy/crds/) as pydantic models, and its semantic parsing.

Pure: no I/O, no Kubernetes client. The CRD schema in ``deploy/crds/`` mirrors these models field by
field (a test keeps them from drifting). ``parse_object`` turns one raw Kubernetes object (a dict, as
read from YAML or the API) into a :class:`ModelAlias` or raises :class:`InvalidObjectError` whose
message names the field.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.routing.table import ApiMode, Provider

__all__ = [
    "ALIAS_PATTERN",
    "API_VERSION",
    "DEFAULT_BASE_URLS",
    "GROUP",
    "KIND",
    "PLURAL",
    "PROVIDER_MODES",
    "SECRET_NAME_PATTERN",
    "SHORT_NAME",
    "VERSION",
    "BackendRef",
    "Condition",
    "HealthCheckSpec",
    "InvalidObjectError",
    "ModelAlias",
    "ModelAliasSpec",
    "ModelAliasStatus",
    "ObjectMeta",
    "RetriesSpec",
    "TimeoutsSpec",
    "normalize_base_url",
    "parse_object",
]

GROUP: Final = "aliasgate.io"
VERSION: Final = "v1alpha1"
KIND: Final = "ModelAlias"
PLURAL: Final = "modelaliases"
SHORT_NAME: Final = "ma"
API_VERSION: Final = "aliasgate.io/v1alpha1"

PROVIDER_MODES: dict[str, frozenset[str]] = {
    "chatgpt": frozenset({"responses"}),
    "openai": frozenset({"responses", "chat"}),
    "azure-openai": frozenset({"responses", "chat"}),
    "openai-compatible": frozenset({"responses", "chat"}),
}
"""Which API modes each provider can serve (docs/conflict-rules.md, step 1b)."""

DEFAULT_BASE_URLS: dict[str, str] = {
    "chatgpt": "https://chatgpt.com/backend-api/codex",
    "openai": "https://api.openai.com/v1",
}
"""Providers with a well-known endpoint; the others must set ``spec.backend.baseURL``."""


ALIAS_PATTERN = r"^\S+$"
"""Alias names are what clients send as ``model``: any non-empty string without whitespace."""

SECRET_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
"""A Secret name is a DNS-1123 subdomain."""

AliasName = Annotated[str, Field(min_length=1, max_length=256, pattern=ALIAS_PATTERN)]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


class _Spec(BaseModel):
    """Spec models: camelCase on the wire, unknown fields refused (the CRD prunes them anyway)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, alias_generator=_camel)


class BackendRef(_Spec):
    """Which real upstream serves the alias."""

    provider: Provider
    model: str = Field(min_length=1, max_length=256)
    """Upstream model id sent to the provider."""
    base_url: str | None = Field(default=None, alias="baseURL", max_length=2048)
    """Provider endpoint; defaults per provider (required for azure-openai and openai-compatible)."""
    credentials: str | None = Field(default=None, min_length=1, max_length=253, pattern=SECRET_NAME_PATTERN)
    """Name of a credentials Secret in the gateway namespace."""
    api_version: str | None = Field(default=None, min_length=1, max_length=64)
    """Azure OpenAI ``api-version``; only meaningful for provider azure-openai."""


class TimeoutsSpec(_Spec):
    """Upstream timeouts in seconds; omitted fields keep the gateway defaults."""

    connect_seconds: float | None = Field(default=None, gt=0, le=300)
    read_seconds: float | None = Field(default=None, gt=0, le=3600)
    idle_seconds: float | None = Field(default=None, gt=0, le=3600)


class RetriesSpec(_Spec):
    """Retry policy before the first byte reaches the client."""

    attempts: int | None = Field(default=None, ge=1, le=10)
    backoff_seconds: float | None = Field(default=None, ge=0, le=60)


class HealthCheckSpec(_Spec):
    """Active health probing; probes cost tokens, so they are rate-limited."""

    enabled: bool | None = None
    interval_seconds: float | None = Field(default=None, ge=10, le=86400)
    timeout_seconds: float | None = Field(default=None, gt=0, le=600)


class ModelAliasSpec(_Spec):
    """``spec`` of a ModelAlias."""

    alias: str | None = Field(default=None, min_length=1, max_length=256, pattern=ALIAS_PATTERN)
    """Model name clients send; defaults to ``metadata.name``."""
    backend: BackendRef
    mode: ApiMode | None = None
    """``responses`` | ``chat`` | omitted (inherit the backend's resolved mode)."""
    request_defaults: dict[str, Any] | None = None
    """Body fields applied when the client did not set them (e.g. ``reasoning_effort``)."""
    request_overrides: dict[str, Any] | None = None
    """Body fields forced whatever the client sent."""
    timeouts: TimeoutsSpec | None = None
    retries: RetriesSpec | None = None
    fallbacks: list[AliasName] | None = Field(default=None, max_length=8)
    """Other aliases tried in order when this one fails before the response started."""
    health_check: HealthCheckSpec | None = None


class Condition(_Spec):
    """One status condition in the metav1.Condition shape (written by the controller)."""

    type: str = Field(min_length=1, max_length=316)
    status: Literal["True", "False", "Unknown"]
    reason: str = Field(min_length=1, max_length=1024, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
    message: str = Field(max_length=32768)
    observed_generation: int | None = Field(default=None, ge=0)
    last_transition_time: str
    """RFC 3339 date-time; changes only when ``status`` flips."""


class ModelAliasStatus(_Spec):
    """``status`` of a ModelAlias: what the controller made of it (``controller.conditions`` builds it)."""

    observed_generation: int | None = Field(default=None, ge=0)
    resolved_mode: ApiMode | None = None
    """The mode the route serves in; null while the alias is rejected."""
    backend_key: str | None = Field(default=None, max_length=4096)
    """``provider|baseURL|model`` of the backend the alias shares with others."""
    conditions: list[Condition] | None = Field(default=None, max_length=16)
    """``Accepted``, ``ResolvedRefs``, ``Programmed`` (a list map keyed by ``type``)."""


class ObjectMeta(BaseModel):
    """The slice of ``metadata`` the rules need; everything else is ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, alias_generator=_camel)

    name: str = Field(min_length=1, max_length=253)
    namespace: str = "default"
    uid: str | None = None
    generation: int | None = None
    resource_version: str | None = None
    creation_timestamp: str | None = None
    """RFC 3339 as the API server writes it; compared as a string (same format, so same order)."""
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class ModelAlias(BaseModel):
    """A whole ModelAlias object (status is the controller's output, so it is not parsed here)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    api_version: Literal["aliasgate.io/v1alpha1"] = Field(default=API_VERSION, alias="apiVersion")
    kind: Literal["ModelAlias"] = KIND
    metadata: ObjectMeta
    spec: ModelAliasSpec

    @property
    def alias(self) -> str:
        """The model name this object claims."""
        return self.spec.alias or self.metadata.name

    @property
    def ref(self) -> str:
        """``namespace/name``, how users and messages refer to the object."""
        return f"{self.metadata.namespace}/{self.metadata.name}"


class InvalidObjectError(ValueError):
    """A raw object is not a valid ModelAlias; ``field`` is a dotted path, ``message`` says what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


def normalize_base_url(url: str) -> str:
    """Canonical form of a base URL, so equal endpoints make equal backend keys.

    Scheme and host are lower-cased, default ports and trailing slashes dropped; the path keeps its
    case (servers may treat it case-sensitively). Credentials, queries and fragments are refused: a
    secret must never sit in a URL that ends up in the routing table. Messages never echo the URL
    (it may hold a secret).
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise InvalidObjectError(
            "spec.backend.baseURL",
            f"must be an http(s) URL, got scheme {scheme!r}" if scheme else "must be an http(s) URL",
        )
    if parts.username is not None or parts.password is not None:
        raise InvalidObjectError("spec.backend.baseURL", "must not carry credentials; use spec.backend.credentials")
    if parts.query or parts.fragment:
        raise InvalidObjectError("spec.backend.baseURL", "must not have a query string or fragment")
    try:
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError as exc:
        raise InvalidObjectError("spec.backend.baseURL", f"invalid URL: {exc}") from None
    if not host:
        raise InvalidObjectError("spec.backend.baseURL", "has no host")
    if ":" in host:
        host = f"[{host}]"
    if port is not None and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, host, path, "", ""))


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def parse_object(raw: Any) -> ModelAlias:
    """Validate one raw object as a ModelAlias, or raise :class:`InvalidObjectError` naming the field."""
    if not isinstance(raw, dict):
        raise InvalidObjectError("", f"expected a mapping (a Kubernetes object), got {type(raw).__name__}")
    if raw.get("apiVersion") != API_VERSION or raw.get("kind") != KIND:
        raise InvalidObjectError(
            "kind",
            f"expected apiVersion {API_VERSION} and kind {KIND}, got "
            f"apiVersion {raw.get('apiVersion')!r} and kind {raw.get('kind')!r}",
        )
    try:
        obj = ModelAlias.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidObjectError(_field_path(first["loc"]), first["msg"]) from None
    return obj
