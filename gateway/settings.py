"""GatewaySettings: every knob of ``python -m gateway``, each a ``--flag`` and an ``ALIASGATE_*`` variable.

Precedence: command-line flag, then environment variable, then the default documented on the field
(the machinery is :mod:`aliasgate.runtime.flags`, shared with the controller).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from aliasgate.runtime.flags import ENV_PREFIX, Flag, FlagKind, parse_flags
from aliasgate.runtime.listen import parse_listen
from aliasgate.runtime.loops import EventLoopChoice

__all__ = ["ENV_PREFIX", "FLAGS", "GatewaySettings", "parse_settings"]

_SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
CODEX_CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
"""The Codex CLI's public OAuth client id (not a secret); refresh tokens minted by Codex CLI are bound to it."""


def _default_namespace() -> str:
    try:
        return _SERVICE_ACCOUNT_NAMESPACE.read_text().strip() or "aliasgate-system"
    except OSError:
        return "aliasgate-system"


class GatewaySettings(BaseModel):
    """Settings of one gateway process; immutable once built."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    listen: str = "0.0.0.0:8080"
    """Public OpenAI-compatible port (docs/gateway.md, "Running it")."""
    admin_listen: str = "0.0.0.0:9090"
    """Health, readiness, metrics and status; kept off the public port so clients cannot reach them."""
    namespace: str = Field(default_factory=_default_namespace)
    """Where the table ConfigMap and credentials Secrets live; the pod's own namespace by default."""
    table_configmap: str = "aliasgate-routes"
    table_source: Literal["kubernetes", "file"] = "kubernetes"
    table_file: Path | None = None
    """JSON routing table for ``--table-source file``."""
    table_poll_interval_seconds: float = Field(default=1.0, gt=0)
    """File polling period; a stat() per second is free and keeps propagation near the kubelet's own lag."""
    secrets_dir: Path | None = None
    """Credentials as ``DIR/<secret-name>/<key>`` (mounted Secrets) instead of the Kubernetes API."""
    credentials_poll_interval_seconds: float = Field(default=5.0, gt=0)
    api_keys_file: Path | None = None
    """Client API keys (see docs/gateway.md); none = the public port is open."""
    api_keys_poll_interval_seconds: float = Field(default=5.0, gt=0)
    """How often the keys file is checked for changes (keys rotate without a restart)."""
    shutdown_grace_seconds: float = Field(default=60.0, ge=0)
    """How long in-flight streams may run after SIGTERM; LLM answers take tens of seconds."""
    max_body_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    """Request body limit; long conversations with images can reach a few MiB."""
    max_inflight_body_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    """Request-body bytes all requests in flight may hold together; over it a request gets 503 (a single
    request may still use all of it). The gateway's memory grows by several times this under load."""
    max_connections: int = Field(default=4096, ge=1)
    """Open connections on the public port; the next one gets 503 and is closed."""
    header_read_timeout_seconds: float = Field(default=15.0, ge=0)
    """A request's headers must be complete this long after its first byte (or the connection's start);
    else 408 and the connection is closed. 0 = no limit."""
    body_read_timeout_seconds: float = Field(default=60.0, ge=0)
    """The whole request body must arrive within this long; else 408. 0 = no limit."""
    keepalive_timeout_seconds: float = Field(default=75.0, gt=0)
    """An idle kept-alive connection is closed after this long."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_json: bool = True
    chatgpt_token_url: str = "https://auth.openai.com/oauth/token"
    chatgpt_client_id: str = CODEX_CLIENT_ID
    chatgpt_refresh_margin_seconds: float = Field(default=300.0, ge=0)
    """Refresh an access token this long before it expires, so no request races the expiry."""
    probe_concurrency: int = Field(default=4, ge=1)
    """At most this many health probes in flight; probes cost money."""
    probe_min_interval_seconds: float = Field(default=30.0, ge=0)
    """Rate limit: never probe one alias more often than this, whatever the alias asks for or ``/health/probe``."""
    passive_failure_threshold: int = Field(default=3, ge=1)
    """Consecutive live-traffic failures after which an alias is reported unhealthy."""
    sse_keepalive_seconds: float = Field(default=15.0, ge=0)
    """A stream silent this long gets an SSE comment (``: keepalive``), so proxies and load balancers with
    idle timeouts do not cut a model's long reasoning gap; a stream with no content yet is started (200 and
    headers) after this long instead of being held back for retries. 0 = neither."""
    event_loop: EventLoopChoice = "auto"
    """``auto``: uvloop when it is installed (it is a dependency), else the standard loop; ``uvloop`` insists on
    it; ``asyncio`` always takes the standard loop."""

    @field_validator("listen", "admin_listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        parse_listen(value)
        return value


_ROWS: tuple[tuple[str, str, str] | tuple[str, str, str, FlagKind], ...] = (
    ("listen", "HOST:PORT", "public port"),
    ("admin_listen", "HOST:PORT", "admin port (/livez /readyz /metrics /status /health)"),
    ("namespace", "NAME", "namespace of the table ConfigMap and credentials Secrets"),
    ("table_configmap", "NAME", "name of the routing table ConfigMap"),
    ("table_source", "kubernetes|file", "where the routing table comes from"),
    ("table_file", "PATH", "routing table JSON file (with --table-source file)"),
    ("table_poll_interval_seconds", "SECONDS", "table file polling period"),
    ("secrets_dir", "DIR", "credentials from DIR/<secret-name>/<key>"),
    ("credentials_poll_interval_seconds", "SECONDS", "credentials folder polling period"),
    ("api_keys_file", "PATH", "client API keys file"),
    ("api_keys_poll_interval_seconds", "SECONDS", "keys file polling period"),
    ("shutdown_grace_seconds", "SECONDS", "how long in-flight requests may finish after SIGTERM"),
    ("max_body_bytes", "BYTES", "request body limit (413 above it)"),
    ("max_inflight_body_bytes", "BYTES", "request-body bytes held by all requests together (503 above it)"),
    ("max_connections", "N", "open connections on the public port (503 above it)"),
    ("header_read_timeout_seconds", "SECONDS", "request headers must arrive within this (408; 0 = off)"),
    ("body_read_timeout_seconds", "SECONDS", "the request body must arrive within this (408; 0 = off)"),
    ("keepalive_timeout_seconds", "SECONDS", "idle kept-alive connections are closed after this"),
    ("log_level", "LEVEL", "debug|info|warning|error"),
    ("log_json", "BOOL", "JSON log lines (on) or console rendering (off; coloured only on a terminal)", "switch"),
    ("chatgpt_token_url", "URL", "OAuth token endpoint for ChatGPT refresh"),
    ("chatgpt_client_id", "ID", "OAuth client id used for ChatGPT refresh"),
    ("chatgpt_refresh_margin_seconds", "SECONDS", "refresh ChatGPT tokens this long before expiry"),
    ("probe_concurrency", "N", "health probes in flight at most"),
    ("probe_min_interval_seconds", "SECONDS", "never probe one alias more often than this"),
    ("passive_failure_threshold", "N", "consecutive failures that mark an alias unhealthy"),
    ("sse_keepalive_seconds", "SECONDS", "SSE keepalive comment after this much stream silence (0 = off)"),
    ("event_loop", "auto|uvloop|asyncio", "event loop (auto = uvloop when installed)"),
)
FLAGS: tuple[Flag, ...] = tuple(Flag(*row) for row in _ROWS)
"""Every setting's flag; ``aliasgate run`` and ``demo`` take their local-mode subset of these very rows."""


def parse_settings(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> GatewaySettings:
    """Flags over ``ALIASGATE_*`` variables over defaults; exits with a usage message on invalid values."""
    return parse_flags(
        GatewaySettings,
        FLAGS,
        argv,
        environ,
        prog="python -m gateway",
        description="aliasgate gateway (data plane)",
    )
