"""Local mode, ``aliasgate run``: manifest files → conflict engine → the gateway, in one process.

The same code paths as the cluster: ``aliasgate.cli.manifests`` reads the files, ``controller.conflicts``
judges them, and the resulting :class:`~gateway.routing.table.RoutingTable` reaches the gateway through
the :class:`~gateway.routing.source.TableSource` seam (:class:`LocalTableSource`), exactly where the
ConfigMap watch plugs in on a cluster. The source polls the files' mtimes and re-resolves on any
change; invalid manifests are reported to the sink (``source_failed``) and the last good table keeps
serving. Credentials come from ``--secrets-dir`` (``DIR/<secret-name>/<key>``), as mounted Secrets do;
the source re-reads them in the same round, before it offers a table, so an alias is never served before
the credentials that let it through (a probe would fail and mark it unhealthy).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

import structlog

from aliasgate.cli import manifests
from controller.conflicts import CredentialInfo, Resolution, resolve
from gateway.routing.source import TableSink

if TYPE_CHECKING:
    from gateway.client_keys import ApiKeys
    from gateway.settings import GatewaySettings

__all__ = ["LocalTableSource", "ManifestSnapshot", "Reloadable", "main", "render_banner", "serve"]

_log = structlog.get_logger("aliasgate.cli.local")

Fingerprint = tuple[tuple[str, int, int], ...]


def fingerprint(paths: Sequence[str], secrets_dir: str | None) -> Fingerprint:
    """(path, mtime_ns, size) of every manifest file, plus the names in the secrets folder.

    Credential *names* decide ``CredentialsNotFound``, so adding a secret folder re-resolves too.
    A path that cannot be listed contributes a marker, so its reappearance is noticed.
    """
    found: list[tuple[str, int, int]] = []
    try:
        files = manifests.find_manifest_files(paths)
    except manifests.ManifestError as exc:
        return (("!missing", 0, hash(exc.path) & 0xFFFF),)
    for file in files:
        try:
            stat = file.stat()
        except OSError:
            found.append((str(file), -1, -1))
            continue
        found.append((str(file), stat.st_mtime_ns, stat.st_size))
    if secrets_dir is not None:
        root = Path(secrets_dir)
        try:
            for entry in sorted(root.iterdir()):
                if entry.is_dir() and not entry.name.startswith("."):
                    allowed = entry / manifests.ALLOWED_NAMESPACES_FILE
                    mtime = allowed.stat().st_mtime_ns if allowed.is_file() else 0
                    found.append((f"secret:{entry.name}", mtime, 0))
        except OSError:
            found.append(("secret:!unreadable", 0, 0))
    return tuple(found)


@dataclass(frozen=True, slots=True)
class ManifestSnapshot:
    """One successful read-and-resolve of the manifests."""

    loaded: manifests.Manifests
    resolution: Resolution


def read_and_resolve(paths: Sequence[str], secrets_dir: str | None, *, generation: int) -> ManifestSnapshot:
    """Load the manifests and run the conflict engine; raises ``ManifestError`` on unreadable input."""
    loaded = manifests.load_manifests(paths)
    credentials: dict[str, CredentialInfo] | None = None
    if secrets_dir is not None:
        credentials = manifests.load_secrets_dir(secrets_dir)
    resolution = resolve([entry.obj for entry in loaded.objects], credentials=credentials, generation=generation)
    return ManifestSnapshot(loaded=loaded, resolution=resolution)


class Reloadable(Protocol):
    """A credentials store that can be brought up to date on demand (``DirectoryCredentialStore``)."""

    def reload(self) -> bool: ...


@dataclass(slots=True)
class LocalTableSource:
    """A :class:`~gateway.routing.source.TableSource` over manifest files (and a secrets folder).

    Polls every ``interval_seconds``; when any file changed it re-reads, re-resolves and hands the table
    to the sink with the next generation (only when the content hash changed). Errors go to
    ``sink.source_failed`` once per distinct message; the sink keeps the last good table.
    """

    paths: tuple[str, ...]
    secrets_dir: str | None = None
    credentials: Reloadable | None = None
    """The gateway's store over ``secrets_dir``: reloaded at the start of every round, before any table."""
    interval_seconds: float = 0.5
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # tests pass a fast sleep
    on_snapshot: list[Callable[[ManifestSnapshot], None]] = field(default_factory=list)
    """Called after each new table was offered (the banner and tests listen here)."""
    snapshot: ManifestSnapshot | None = None
    last_error: str | None = None
    _generation: int = 0
    _stamp: Fingerprint | None = None

    @property
    def origin(self) -> str:
        return "manifests:" + ",".join(self.paths)

    def poll(self, sink: TableSink) -> bool:
        """One round: re-resolve if anything changed; True when a new table was offered to the sink."""
        if self.credentials is not None:
            self.credentials.reload()  # first: what the next table needs is then already there
        stamp = fingerprint(self.paths, self.secrets_dir)
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            snapshot = read_and_resolve(self.paths, self.secrets_dir, generation=self._generation + 1)
        except (manifests.ManifestError, OSError) as exc:
            message = str(exc)
            if message != self.last_error:
                self.last_error = message
                _log.warning("manifests_rejected", origin=self.origin, reason=message)
                sink.source_failed(f"invalid manifests: {message}", origin=self.origin)
            return False
        self.last_error = None
        previous = self.snapshot
        if previous is not None and previous.resolution.table.sha256 == snapshot.resolution.table.sha256:
            self.snapshot = ManifestSnapshot(
                loaded=snapshot.loaded,
                resolution=Resolution(
                    table=previous.resolution.table,
                    verdicts=snapshot.resolution.verdicts,
                    credentials_checked=snapshot.resolution.credentials_checked,
                ),
            )
            # Offered again, so the sink records "unchanged": after a fix back to the served content,
            # /status must stop reporting the source error.
            sink.load_table(previous.resolution.table, origin=self.origin)
            return False
        if not sink.load_table(snapshot.resolution.table, origin=self.origin):
            return False
        self._generation += 1
        self.snapshot = snapshot
        _log.info(
            "manifests_resolved",
            origin=self.origin,
            generation=snapshot.resolution.table.generation,
            accepted=sorted(snapshot.resolution.table.routes),
            rejected={v.alias or v.ref: v.reason for v in snapshot.resolution.verdicts.values() if not v.accepted},
        )
        for callback in self.on_snapshot:
            callback(snapshot)
        return True

    async def run(self, sink: TableSink) -> None:
        while True:
            self.poll(sink)
            await self.sleep(self.interval_seconds)


def render_banner(
    snapshot: ManifestSnapshot,
    *,
    listen: str,
    admin_listen: str,
    secrets_dir: str | None,
    api_keys_file: str | None = None,
) -> str:
    """What a person starting local mode needs: where to connect and what was accepted or rejected, and why."""
    table = snapshot.resolution.table
    lines = [
        "aliasgate local mode",
        f"  OpenAI-compatible API  http://{listen}/v1   (chat/completions, responses, models)",
        f"  admin                  http://{admin_listen}   (/readyz /metrics /status /health/models)",
        f"  manifests              {', '.join(snapshot.loaded.files) or '-'}",
        f"  credentials            {secrets_dir if secrets_dir else 'not checked (no --secrets-dir)'}",
        f"  client API keys        {api_keys_file if api_keys_file else 'none: the API port is open'}",
        f"  table generation {table.generation}, sha256 {table.sha256[:12]}",
        "",
        f"accepted aliases ({len(table.routes)}):",
    ]
    for alias, route in table.routes.items():
        backend = table.backends[route.backend]
        lines.append(f"  {alias:<28} {route.mode:<10} {backend.provider}/{backend.model}  ({backend.base_url})")
    rejected = [v for v in snapshot.resolution.verdicts.values() if not v.accepted]
    lines.append(f"rejected aliases ({len(rejected)}):")
    for verdict in rejected:
        lines.append(f"  {verdict.alias or verdict.ref:<28} {verdict.reason}: {verdict.message}")
    unresolved = [v for v in snapshot.resolution.verdicts.values() if v.accepted and v.refs_resolved is False]
    for verdict in unresolved:
        lines.append(f"  warning: {verdict.alias} {verdict.refs_reason}: {verdict.refs_message}")
    return "\n".join(lines) + "\n"


async def serve(
    *,
    paths: Sequence[str],
    settings: GatewaySettings,
    stop: asyncio.Event,
    out: TextIO,
    ready: Callable[[ManifestSnapshot], None] | None = None,
) -> int:
    """Run local mode until ``stop`` is set; returns the exit code. Separate from :func:`main` for tests.

    ``settings`` are the gateway's (:func:`aliasgate.cli.gateway_flags.gateway_settings`)."""
    secrets_dir = None if settings.secrets_dir is None else str(settings.secrets_dir)
    try:
        source = LocalTableSource(paths=tuple(paths), secrets_dir=secrets_dir)
        first = read_and_resolve(paths, secrets_dir, generation=1)
    except (manifests.ManifestError, OSError) as exc:
        out.write("".join(f"aliasgate run: error: {line}\n" for line in str(exc).splitlines()))
        out.flush()
        return 2
    if not first.loaded.objects:
        out.write(f"aliasgate run: error: no ModelAlias objects found in {' '.join(paths)}\n")
        out.flush()
        return 2
    from gateway.client_keys import ApiKeyFileError, ApiKeys

    try:
        api_keys = ApiKeys.from_file(settings.api_keys_file) if settings.api_keys_file else None
    except (OSError, ApiKeyFileError) as exc:
        out.write(f"aliasgate run: error: cannot use --api-keys-file: {exc}\n")
        out.flush()
        return 2
    return await run_gateway(
        source=source,
        first=first,
        settings=settings,
        api_keys=api_keys,
        stop=stop,
        announce=lambda snapshot: _announce(snapshot, settings, out, ready),
    )


def _announce(
    snapshot: ManifestSnapshot,
    settings: GatewaySettings,
    out: TextIO,
    ready: Callable[[ManifestSnapshot], None] | None,
) -> None:
    secrets_dir = None if settings.secrets_dir is None else str(settings.secrets_dir)
    out.write(
        render_banner(
            snapshot,
            listen=settings.listen,
            admin_listen=settings.admin_listen,
            secrets_dir=secrets_dir,
            api_keys_file=None if settings.api_keys_file is None else str(settings.api_keys_file),
        )
    )
    out.flush()
    if ready is not None:
        ready(snapshot)


async def _wait_until_listening(
    listen: str, snapshot_ready: Callable[[], bool], *, limit_seconds: float = 30.0
) -> bool:
    """True once the public port accepts connections and the first table was served."""
    from aliasgate.runtime.listen import parse_listen

    host, port = parse_listen(listen)
    host = "127.0.0.1" if host in {"0.0.0.0", ""} else ("::1" if host == "::" else host)
    deadline = asyncio.get_running_loop().time() + limit_seconds
    while asyncio.get_running_loop().time() < deadline:
        if snapshot_ready():
            try:
                _, writer = await asyncio.open_connection(host, port)
            except OSError:
                pass
            else:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
                return True
        await asyncio.sleep(0.02)
    return False


async def run_gateway(
    *,
    source: LocalTableSource,
    first: ManifestSnapshot,
    settings: GatewaySettings,
    api_keys: ApiKeys | None,
    stop: asyncio.Event,
    announce: Callable[[ManifestSnapshot], None],
) -> int:
    """Serve the gateway (``gateway.app``) with ``source`` as its table source until ``stop`` is set."""
    from gateway import app as gateway_app
    from gateway.credentials.files import DirectoryCredentialStore

    credentials = (
        DirectoryCredentialStore(settings.secrets_dir, interval_seconds=settings.credentials_poll_interval_seconds)
        if settings.secrets_dir is not None
        else None
    )
    source.credentials = credentials
    app = gateway_app.create_app(settings, table_source=source, credentials=credentials, api_keys=api_keys)
    server = asyncio.create_task(gateway_app.serve(app, settings, stop=stop), name="aliasgate:local-gateway")
    waiter = asyncio.create_task(_wait_until_listening(settings.listen, lambda: source.snapshot is not None))
    await asyncio.wait({server, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if waiter.done() and waiter.result() and not server.done():
        announce(source.snapshot or first)
    else:
        waiter.cancel()
    try:
        await server
    except OSError as exc:
        _log.error("local_mode_failed", reason=str(exc))
        print(f"aliasgate: error: cannot serve: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM set ``stop`` (graceful shutdown instead of a KeyboardInterrupt traceback)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


def main(args: argparse.Namespace, settings: GatewaySettings) -> int:
    from aliasgate.runtime.logs import configure_logging

    configure_logging(level=settings.log_level, json=settings.log_json)

    async def run() -> int:
        stop = asyncio.Event()
        install_stop_signals(stop)
        return await serve(paths=list(args.manifests), settings=settings, stop=stop, out=sys.stdout)

    return asyncio.run(run())
