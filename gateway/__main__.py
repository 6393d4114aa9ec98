"""``python -m gateway``: settings → logging → table source + credentials → serve until SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Sequence

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


def _table_source(settings: GatewaySettings) -> TableSource:
    if settings.table_source == "file":
        if settings.table_file is None:
            raise SystemExit("--table-source file needs --table-file")
        return FileTableSource(settings.table_file, interval_seconds=settings.table_poll_interval_seconds)
    # Lazy: only cluster deployments talk to the API (plain aiohttp, never kubernetes_asyncio).
    from gateway.kube.client import load_connection
    from gateway.kube.table_source import ConfigMapTableSource

    return ConfigMapTableSource(
        connection=load_connection(), namespace=settings.namespace, name=settings.table_configmap
    )


def build_credentials(settings: GatewaySettings) -> tuple[CredentialStore, TokenRefresher]:
    """The credential store and who refreshes its OAuth tokens: files are refreshed locally (in memory);
    Secrets read through the API are refreshed once for all replicas and written back into the Secret."""
    if settings.secrets_dir is not None:
        files = DirectoryCredentialStore(
            settings.secrets_dir, interval_seconds=settings.credentials_poll_interval_seconds
        )
        return files, LocalTokenRefresher()
    from gateway.kube.client import load_connection
    from gateway.kube.secrets import KubeCredentialStore
    from gateway.kube.token_refresh import KubeTokenRefresher

    secrets = KubeCredentialStore(connection=load_connection(), namespace=settings.namespace)
    return secrets, KubeTokenRefresher(store=secrets)


async def _main(settings: GatewaySettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        api_keys = ApiKeys.from_file(settings.api_keys_file) if settings.api_keys_file else None
    except (OSError, ApiKeyFileError) as exc:
        raise SystemExit(f"gateway: cannot use --api-keys-file: {exc}") from None
    credentials, token_refresher = build_credentials(settings)
    app = create_app(
        settings,
        table_source=_table_source(settings),
        credentials=credentials,
        token_refresher=token_refresher,
        api_keys=api_keys,
    )
    await serve(app, settings, stop=stop)


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_settings(argv)
    configure_logging(level=settings.log_level, json=settings.log_json)
    try:
        loops.run(_main(settings), choice=settings.event_loop)
    except loops.EventLoopUnavailableError as exc:
        raise SystemExit(f"gateway: {exc}") from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
