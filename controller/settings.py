"""Controller settings (docs/controller.md, "Flags"): one documented object built from flags and ``ALIASGATE_*`` variables.

Every field is a flag ``--<field-with-dashes>`` and a variable ``ALIASGATE_<FIELD>`` (the machinery is
:mod:`aliasgate.runtime.flags`, shared with the gateway); a flag given on the command line wins over the
environment, which wins over the default written once, on the field. A value
that does not fit its field is a usage error (exit 2, one line naming the flag), never a traceback.
Fields carry their unit in the name and say why the default.
"""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, NoReturn

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from aliasgate.runtime import flags
from aliasgate.runtime.flags import ENV_PREFIX, Flag

__all__ = [
    "ENV_PREFIX",
    "FALLBACK_NAMESPACE",
    "FLAGS",
    "ControllerSettings",
    "build_parser",
    "default_namespace",
    "parse_settings",
]

FALLBACK_NAMESPACE = "aliasgate-system"
"""The namespace when neither a flag, a variable, ``POD_NAMESPACE`` nor the service account says one."""
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def default_namespace(environ: Mapping[str, str] | None = None) -> str:
    """The pod's namespace (downward API variable or service-account file), else :data:`FALLBACK_NAMESPACE`."""
    env = os.environ if environ is None else environ
    if env.get("POD_NAMESPACE"):
        return env["POD_NAMESPACE"]
    try:
        text = SERVICE_ACCOUNT_NAMESPACE.read_text().strip()
    except OSError:
        text = ""
    return text or FALLBACK_NAMESPACE


class ControllerSettings(BaseModel):
    """Everything ``python -m controller`` can be told; immutable once built."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    namespace: str = FALLBACK_NAMESPACE
    """Where the table ConfigMap, the Lease and the credentials Secrets live (``parse_settings`` defaults it
    to the pod's own namespace)."""
    table_configmap: str = "aliasgate-routes"
    """Name of the published routing-table ConfigMap (the controller owns it; Helm never templates it)."""
    admin_listen: str = "0.0.0.0:9090"
    """host:port of /livez, /readyz and /metrics."""
    watch_namespaces: tuple[str, ...] = ()
    """Namespaces whose ModelAliases count; empty = all namespaces (one cluster-wide watch)."""
    leader_election: bool = True
    """Lease-based election so two replicas can run; only the leader writes."""
    lease_name: str = "aliasgate-controller"
    """Name of the leader-election Lease in ``namespace`` (the chart names it after the release)."""
    identity: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    """Holder identity written into the Lease; unique per process."""
    lease_duration_seconds: float = Field(default=15.0, gt=0)
    """How long a follower waits on an unrenewed Lease before taking over (client-go's default)."""
    renew_deadline_seconds: float = Field(default=10.0, gt=0)
    """The leader steps down when it could not renew for this long; below the lease duration so that two
    leaders never overlap."""
    retry_period_seconds: float = Field(default=2.0, gt=0)
    """Pause between two acquire/renew attempts."""
    debounce_seconds: float = Field(default=0.05, ge=0)
    """Quiet time after the last change before reconciling: batches bursts (kubectl apply -f dir)."""
    debounce_max_seconds: float = Field(default=0.3, ge=0)
    """A steady trickle of changes still reconciles at least this often."""
    watch_inactivity_timeout_seconds: float = Field(default=70.0, gt=0)
    """A watch silent this long is restarted: the API sends bookmarks every ~60 s, so 70 s is a dead stream."""
    watch_timeout_seconds: int = Field(default=300, gt=0)
    """Server-side ``timeoutSeconds`` of each watch request; the watch then resumes from its last version."""
    backoff_base_seconds: float = Field(default=0.2, gt=0)
    """First retry delay after an API error (full jitter, doubling)."""
    backoff_max_seconds: float = Field(default=5.0, gt=0)
    """Ceiling of the retry delay, so a returning API server is noticed within seconds."""
    gzip_threshold_bytes: int = Field(default=256 * 1024, ge=0)
    """Tables whose JSON exceeds this are published gzipped in binaryData (ConfigMaps stop at 1 MiB)."""
    status_concurrency: int = Field(default=16, ge=1)
    """Parallel status writes; bounded so a 10k-alias first reconcile does not flood the API server."""
    gateway_service: str = "aliasgate-gateway"
    """Service whose EndpointSlices list the gateway pods (for the Programmed condition)."""
    gateway_admin_port_name: str = "admin"
    """Named port of the gateway's admin server in those EndpointSlices (serves /status)."""
    gateway_status_urls: tuple[str, ...] = ()
    """Static gateway admin base URLs; when set they replace EndpointSlice discovery (tests, no-API setups)."""
    programmed_poll_seconds: float = Field(default=2.0, gt=0)
    """Idle period between two reads of the gateways' /status; after a publish they are read every 0.1 s."""
    webhook_listen: str = ""
    """host:port of the HTTPS validating admission webhook (e.g. ``0.0.0.0:9443``); empty = off, and the
    reconciler alone judges objects (it is the source of truth either way)."""
    webhook_cert_file: str | None = None
    """PEM certificate (chain) of the webhook listener; reloaded when the file changes (cert rotation)."""
    webhook_key_file: str | None = None
    """PEM private key matching ``webhook_cert_file``."""
    kubeconfig: str | None = None
    """Path of a kubeconfig; None = ``KUBECONFIG``/``~/.kube/config``, or the in-cluster service account."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """JSON log lines on stderr at this level and above."""

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_case_level(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _webhook_needs_a_certificate(self) -> ControllerSettings:
        if self.webhook_listen and not (self.webhook_cert_file and self.webhook_key_file):
            raise ValueError("--webhook-listen needs --webhook-cert-file and --webhook-key-file (HTTPS only)")
        return self


FLAGS: tuple[Flag, ...] = (
    Flag(
        "namespace",
        "NAME",
        f"namespace of the table ConfigMap, Lease and credentials Secrets; default the pod's, else {FALLBACK_NAMESPACE}",
    ),
    Flag("table_configmap", "NAME", "name of the published routing-table ConfigMap"),
    Flag("admin_listen", "HOST:PORT", "host:port of /livez, /readyz, /metrics"),
    Flag("watch_namespaces", "NS,...", "comma-separated namespaces to watch; empty = all", "list"),
    Flag("leader_election", "", "run Lease-based leader election", "switch"),
    Flag("gateway_service", "NAME", "gateway Service whose EndpointSlices list the gateway pods"),
    Flag("gateway_admin_port_name", "NAME", "named port of the gateway's admin server in those EndpointSlices"),
    Flag(
        "gateway_status_urls",
        "URL,...",
        "comma-separated gateway admin URLs (replaces EndpointSlice discovery)",
        "list",
    ),
    Flag("programmed_poll_seconds", "SECONDS", "idle period between two reads of the gateways' /status"),
    Flag("webhook_listen", "HOST:PORT", "host:port of the HTTPS admission webhook (e.g. 0.0.0.0:9443); empty = off"),
    Flag("webhook_cert_file", "PATH", "PEM certificate of the webhook listener (reloaded when it changes)"),
    Flag("webhook_key_file", "PATH", "PEM private key of the webhook listener"),
    Flag("kubeconfig", "PATH", "kubeconfig path (default: KUBECONFIG, ~/.kube/config, or in-cluster)"),
    Flag("identity", "NAME", "leader-election identity (default: hostname-pid)"),
    Flag("log_level", "LEVEL", "debug, info, warning or error"),
    Flag("lease_name", "NAME", "name of the leader-election Lease"),
    Flag("lease_duration_seconds", "SECONDS", "Lease duration"),
    Flag("renew_deadline_seconds", "SECONDS", "leader steps down when it could not renew for this long"),
    Flag("retry_period_seconds", "SECONDS", "pause between two acquire/renew attempts"),
    Flag("watch_inactivity_timeout_seconds", "SECONDS", "restart a watch silent for this long"),
    Flag("watch_timeout_seconds", "SECONDS", "server-side timeout of each watch request (it then resumes)"),
    Flag("backoff_base_seconds", "SECONDS", "first retry delay after an API error (full jitter, doubling)"),
    Flag("backoff_max_seconds", "SECONDS", "ceiling of the retry delay after API errors"),
    Flag("debounce_seconds", "SECONDS", "quiet time before a reconcile"),
    Flag("debounce_max_seconds", "SECONDS", "a steady trickle of changes still reconciles at least this often"),
    Flag("gzip_threshold_bytes", "BYTES", "publish the table gzipped when its JSON is larger than this"),
    Flag("status_concurrency", "N", "parallel status writes at most"),
)
"""Every field of :class:`ControllerSettings` as a flag and a variable (tests check none is missing)."""


def _with_default(flag: Flag) -> Flag:
    """The help text ends with the field's default, read from the model (never written twice)."""
    info = ControllerSettings.model_fields[flag.field]
    value = info.default
    if flag.field == "namespace" or info.default_factory is not None or value in (None, "", ()):
        return flag
    shown = ("on" if value else "off") if isinstance(value, bool) else value
    return replace(flag, help=f"{flag.help}; default {shown}")


def build_parser() -> argparse.ArgumentParser:
    """The flags of docs/controller.md plus every tuning knob; a flag not given stays None (then variable, then default)."""
    return flags.build_parser(
        [_with_default(flag) for flag in FLAGS], prog="python -m controller", description="aliasgate controller"
    )


def _usage_error(parser: argparse.ArgumentParser, exc: ValidationError) -> NoReturn:
    """One line naming each offending flag (and its variable), then exit 2 as argparse does."""
    problems = []
    for error in exc.errors(include_url=False):
        message = str(error["msg"]).removeprefix("Value error, ")
        field = str(error["loc"][0]) if error["loc"] else ""
        if field in ControllerSettings.model_fields:
            option = "--" + field.replace("_", "-")
            problems.append(f"{option} (or {flags.env_name(field)}) {error['input']!r}: {message}")
        else:
            problems.append(message)
    parser.exit(2, f"{parser.prog}: error: {'; '.join(problems)}\n")


def parse_settings(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> ControllerSettings:
    """Flags first, then ``ALIASGATE_*`` variables, then defaults; a bad value exits 2 with one line.

    An empty value counts as not given (``ALIASGATE_WEBHOOK_LISTEN=""`` keeps the webhook off).
    """
    env = os.environ if environ is None else environ
    parser = build_parser()
    given = flags.gather(parser.parse_args(argv), FLAGS, env)
    values = {field: value for field, value in given.items() if value != ""}
    values.setdefault("namespace", default_namespace(env))
    try:
        return ControllerSettings.model_validate(values)
    except ValidationError as exc:
        _usage_error(parser, exc)
