"""``python -m gateway``: settings → logging → table source + credentials → serve until SIGTERM.

Everything a bad setting breaks is found before serving and reported as a usage error (exit 2, one line):
a file table without ``--table-file``, an unusable keys file, or no Kubernetes API (outside a cluster,
without a kubeconfig) when the table or the credentials would be read through it.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

import yaml

from aliasgate.runtime import loops
from aliasgate.runtime.logs import configure_logging
from gateway.app import create_app, serve
from gateway.client_keys import ApiKeyFileError, ApiKeys
from gateway.credentials.files import DirectoryCredentialStore
from gateway.credentials.refresh import LocalTokenRefresher, TokenRefresher
from gateway.credentials.store import CredentialStore
from gateway.routing.loading import FileTableSource
from gateway.routing.source import TableSource
from gateway.settings import GatewaySettings, parse_settings

if TYPE_CHECKING:
    from gateway.kube.client import KubeConnection

PROG = "python -m gateway"


def _usage_error(message: str) -> NoReturn:
    """A setting that cannot work: one line naming what to change, exit 2 (never a traceback)."""
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def _api_purpose(settings: GatewaySettings) -> str | None:
    """What this process needs the Kubernetes API for, or None when files stand in for all of it."""
    needs = []
    if settings.table_source == "kubernetes":
        needs.append("the routing table ConfigMap (--table-source kubernetes)")
    if settings.secrets_dir is None:
        needs.append("credentials Secrets (no --secrets-dir)")
    return " and ".join(needs) or None


def _connection(settings: GatewaySettings) -> KubeConnection | None:
    """The API connection if one is needed; a missing or broken kubeconfig outside a cluster is a usage error."""
    purpose = _api_purpose(settings)
    if purpose is None:
        return None
    from gateway.kube.client import load_connection  # lazy: only cluster deployments talk to the API

    try:
        return load_connection()
    except (OSError, ValueError, LookupError, TypeError, AttributeError, yaml.YAMLError) as exc:
        reason = f"{exc.strerror}: {exc.filename}" if isinstance(exc, OSError) and exc.strerror else str(exc)
        _usage_error(
            f"no Kubernetes API connection for {purpose}: not in a cluster and no usable kubeconfig ({reason}); "
            "outside a cluster pass --secrets-dir DIR (and --table-source file --table-file PATH) or set KUBECONFIG"
        )


def _table_source(settings: GatewaySettings, connection: KubeConnection | None) -> TableSource:
    if settings.table_source == "file":
        if settings.table_file is None:
            _usage_error("--table-source file needs --table-file PATH")
        return FileTableSource(settings.table_file, interval_seconds=settings.table_poll_interval_seconds)
    # Lazy: only cluster deployments talk to the API (plain aiohttp, never kubernetes_asyncio).
    from gateway.kube.table_source import ConfigMapTableSource

    return ConfigMapTableSource(
        connection=connection or _connection_or_fail(settings),
        namespace=settings.namespace,
        name=settings.table_configmap,
    )


def _connection_or_fail(settings: GatewaySettings) -> KubeConnection:
    connection = _connection(settings)
    if connection is None:  # pragma: no cover - _api_purpose asks for one whenever a caller needs it
        _usage_error("no Kubernetes API connection")
    return connection


def build_credentials(
    settings: GatewaySettings, connection: KubeConnection | None = None
) -> tuple[CredentialStore, TokenRefresher]:
    """The credential store and who refreshes its OAuth tokens: files are refreshed locally (in memory);
    Secrets read through the API are refreshed once for all replicas and written back into the Secret.
    Without ``connection``, one is loaded (a usage error when there is none to load)."""
    if settings.secrets_dir is not None:
        files = DirectoryCredentialStore(
            settings.secrets_dir, interval_seconds=settings.credentials_poll_interval_seconds
        )
        return files, LocalTokenRefresher()
    from gateway.kube.secrets import KubeCredentialStore
    from gateway.kube.token_refresh import KubeTokenRefresher

    secrets = KubeCredentialStore(connection=connection or _connection_or_fail(settings), namespace=settings.namespace)
    return secrets, KubeTokenRefresher(store=secrets)


def _api_keys(settings: GatewaySettings) -> ApiKeys | None:
    try:
        return ApiKeys.from_file(settings.api_keys_file) if settings.api_keys_file else None
    except (OSError, ApiKeyFileError) as exc:
        _usage_error(f"cannot use --api-keys-file: {exc}")


async def _main(settings: GatewaySettings, connection: KubeConnection | None, api_keys: ApiKeys | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    credentials, token_refresher = build_credentials(settings, connection)
    app = create_app(
        settings,
        table_source=_table_source(settings, connection),
        credentials=credentials,
        token_refresher=token_refresher,
        api_keys=api_keys,
    )
    await serve(app, settings, stop=stop)


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_settings(argv)
    if settings.table_source == "file" and settings.table_file is None:
        _usage_error("--table-source file needs --table-file PATH")
    api_keys = _api_keys(settings)
    connection = _connection(settings)  # before serving: a missing cluster is a usage error, not a traceback
    configure_logging(level=settings.log_level, json=settings.log_json)
    try:
        loops.run(_main(settings, connection, api_keys), choice=settings.event_loop)
    except loops.EventLoopUnavailableError as exc:
        _usage_error(str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
