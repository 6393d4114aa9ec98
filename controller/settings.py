"""Controller settings (DESIGN §8): one documented object built from flags and ``ALIASGATE_*`` variables.

Every flag also reads ``ALIASGATE_<FLAG>`` (upper case, dashes as underscores); a flag given on the
command line wins over the environment. Fields carry their unit in the name and say why the default.
"""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from aliasgate.runtime.flags import add_version

__all__ = ["ControllerSettings", "build_parser", "default_namespace", "parse_settings"]

SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def default_namespace(environ: Mapping[str, str] | None = None) -> str:
    """The pod's namespace (downward API variable or service-account file), else ``aliasgate-system``."""
    env = os.environ if environ is None else environ
    if env.get("POD_NAMESPACE"):
        return env["POD_NAMESPACE"]
    try:
        text = SERVICE_ACCOUNT_NAMESPACE.read_text().strip()
    except OSError:
        text = ""
    return text or "aliasgate-system"


class ControllerSettings(BaseModel):
    """Everything ``python -m controller`` can be told; immutable once built."""

    model_config = ConfigDict(frozen=True)

    namespace: str = "aliasgate-system"
    """Where the table ConfigMap, the Lease and the credentials Secrets live."""
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
    lease_duration_seconds: float = 15.0
    """How long a follower waits on an unrenewed Lease before taking over (client-go's default)."""
    renew_deadline_seconds: float = 10.0
    """The leader steps down when it could not renew for this long; below the lease duration so that two
    leaders never overlap."""
    retry_period_seconds: float = 2.0
    """Pause between two acquire/renew attempts."""
    debounce_seconds: float = 0.05
    """Quiet time after the last change before reconciling: batches bursts (kubectl apply -f dir)."""
    debounce_max_seconds: float = 0.3
    """A steady trickle of changes still reconciles at least this often."""
    watch_inactivity_timeout_seconds: float = 70.0
    """A watch silent this long is restarted: the API sends bookmarks every ~60 s, so 70 s is a dead stream."""
    watch_timeout_seconds: int = 300
    """Server-side ``timeoutSeconds`` of each watch request; the watch then resumes from its last version."""
    backoff_base_seconds: float = 0.2
    """First retry delay after an API error (full jitter, doubling)."""
    backoff_max_seconds: float = 5.0
    """Ceiling of the retry delay, so a returning API server is noticed within seconds."""
    gzip_threshold_bytes: int = 256 * 1024
    """Tables whose JSON exceeds this are published gzipped in binaryData (ConfigMaps stop at 1 MiB)."""
    status_concurrency: int = 16
    """Parallel status writes; bounded so a 10k-alias first reconcile does not flood the API server."""
    gateway_service: str = "aliasgate-gateway"
    """Service whose EndpointSlices list the gateway pods (for the Programmed condition)."""
    gateway_admin_port_name: str = "admin"
    """Named port of the gateway's admin server in those EndpointSlices (serves /status)."""
    gateway_status_urls: tuple[str, ...] = ()
    """Static gateway admin base URLs; when set they replace EndpointSlice discovery (tests, no-API setups)."""
    programmed_poll_seconds: float = 2.0
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
    log_level: str = "info"


def _env_default(environ: Mapping[str, str], flag: str, default: str | None) -> str | None:
    return environ.get("ALIASGATE_" + flag.upper().replace("-", "_"), default)


def _parse_bool(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes", "on"}


def build_parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    """Flags of DESIGN §8 (plus tuning knobs); defaults come from ``ALIASGATE_*`` variables."""
    parser = argparse.ArgumentParser(prog="python -m controller", description="aliasgate controller")
    add_version(parser)

    def add(flag: str, default: str | None, help_text: str) -> None:
        parser.add_argument(f"--{flag}", default=_env_default(environ, flag, default), help=help_text)

    add("namespace", default_namespace(environ), "namespace of the table ConfigMap, Lease and credentials Secrets")
    add("table-configmap", "aliasgate-routes", "name of the published routing-table ConfigMap")
    add("admin-listen", "0.0.0.0:9090", "host:port of /livez, /readyz, /metrics")
    add("watch-namespaces", "", "comma-separated namespaces to watch; empty = all")
    add("gateway-service", "aliasgate-gateway", "gateway Service whose EndpointSlices list the gateway pods")
    add("gateway-status-urls", "", "comma-separated gateway admin URLs (replaces EndpointSlice discovery)")
    add("webhook-listen", "", "host:port of the HTTPS admission webhook (e.g. 0.0.0.0:9443); empty = off")
    add("webhook-cert-file", None, "PEM certificate of the webhook listener (reloaded when it changes)")
    add("webhook-key-file", None, "PEM private key of the webhook listener")
    add("kubeconfig", None, "kubeconfig path (default: KUBECONFIG, ~/.kube/config, or in-cluster)")
    add("identity", None, "leader-election identity (default: hostname-pid)")
    add("log-level", "info", "debug, info, warning or error")
    add("lease-name", "aliasgate-controller", "name of the leader-election Lease")
    add("lease-duration-seconds", "15", "Lease duration")
    add("renew-deadline-seconds", "10", "leader steps down when it could not renew for this long")
    add("retry-period-seconds", "2", "pause between two acquire/renew attempts")
    add("watch-inactivity-timeout-seconds", "70", "restart a watch silent for this long")
    add("debounce-seconds", "0.05", "quiet time before a reconcile")
    election = _env_default(environ, "leader-election", "true")
    parser.add_argument(
        "--leader-election",
        dest="leader_election",
        action="store_true",
        default=_parse_bool(election or "true"),
        help="run Lease-based leader election (default)",
    )
    parser.add_argument("--no-leader-election", dest="leader_election", action="store_false")
    return parser


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def parse_settings(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> ControllerSettings:
    """Flags first, then ``ALIASGATE_*`` variables, then defaults."""
    env = os.environ if environ is None else environ
    args = build_parser(env).parse_args(argv)
    values: dict[str, object] = {
        "namespace": args.namespace,
        "table_configmap": args.table_configmap,
        "admin_listen": args.admin_listen,
        "watch_namespaces": _split(args.watch_namespaces),
        "leader_election": args.leader_election,
        "gateway_service": args.gateway_service,
        "gateway_status_urls": _split(args.gateway_status_urls),
        "webhook_listen": args.webhook_listen or "",
        "webhook_cert_file": args.webhook_cert_file or None,
        "webhook_key_file": args.webhook_key_file or None,
        "kubeconfig": args.kubeconfig,
        "log_level": args.log_level,
        "lease_name": args.lease_name,
        "lease_duration_seconds": float(args.lease_duration_seconds),
        "renew_deadline_seconds": float(args.renew_deadline_seconds),
        "retry_period_seconds": float(args.retry_period_seconds),
        "watch_inactivity_timeout_seconds": float(args.watch_inactivity_timeout_seconds),
        "debounce_seconds": float(args.debounce_seconds),
    }
    if args.identity:
        values["identity"] = args.identity
    if values["webhook_listen"] and not (values["webhook_cert_file"] and values["webhook_key_file"]):
        build_parser(env).error("--webhook-listen needs --webhook-cert-file and --webhook-key-file (HTTPS only)")
    return ControllerSettings.model_validate(values)
