"""DirectoryCredentialStore: credentials Secrets mounted as files, ``DIR/<secret-name>/<key>``.

Kubernetes mounts a Secret as a folder of files (one per key, swapped atomically through a
``..data`` symlink); local mode uses the same layout. A Codex CLI ``auth.json`` in a secret folder
is understood too (:mod:`gateway.credentials.secret_format` expands it, as for Secrets read through the API).
The folder is re-read when any file's (mtime, size) changes. Values are kept in memory only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

import structlog

from gateway.credentials.secret_format import with_auth_json_expanded

__all__ = ["DirectoryCredentialStore"]

_log = structlog.get_logger("gateway.credentials.files")
_MAX_FILE_BYTES = 64 * 1024


def _read_secret(folder: Path) -> dict[str, str]:
    keys: dict[str, str] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or not entry.is_file():
            continue
        if entry.stat().st_size > _MAX_FILE_BYTES:
            continue
        keys[entry.name] = entry.read_bytes().decode("utf-8", "replace").strip()
    return with_auth_json_expanded(keys)


def _fingerprint(root: Path) -> tuple[tuple[str, int, int], ...]:
    found: list[tuple[str, int, int]] = []
    try:
        folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return ()
    for folder in folders:
        try:
            for entry in folder.iterdir():
                if entry.name.startswith("."):
                    continue
                stat = entry.stat()
                found.append((f"{folder.name}/{entry.name}", stat.st_mtime_ns, stat.st_size))
        except OSError:
            continue
    return tuple(sorted(found))


class DirectoryCredentialStore:
    """A :class:`~gateway.credentials.store.CredentialStore` over ``DIR/<secret-name>/<key>`` files."""

    def __init__(
        self,
        root: Path,
        *,
        interval_seconds: float = 5.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.root = root
        self.interval_seconds = interval_seconds
        self._sleep = sleep
        self._secrets: Mapping[str, Mapping[str, str]] = MappingProxyType({})
        self._stamp: tuple[tuple[str, int, int], ...] | None = None
        self.reload()

    def get(self, secret_name: str) -> Mapping[str, str] | None:
        return self._secrets.get(secret_name)

    def want(self, names: Iterable[str]) -> None:
        """Every folder is read anyway: nothing to start."""

    def names(self) -> list[str]:
        return sorted(self._secrets)

    def reload(self) -> bool:
        """Re-read the folder if anything changed; True when it did."""
        stamp = _fingerprint(self.root)
        if stamp == self._stamp:
            return False
        secrets: dict[str, Mapping[str, str]] = {}
        try:
            folders = [p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")]
        except OSError as exc:
            _log.warning("credentials_unreadable", root=str(self.root), reason=exc.strerror or type(exc).__name__)
            folders = []
        for folder in folders:
            try:
                secrets[folder.name] = MappingProxyType(_read_secret(folder))
            except OSError as exc:
                _log.warning(
                    "credentials_unreadable", secret_name=folder.name, reason=exc.strerror or type(exc).__name__
                )
        self._secrets = MappingProxyType(secrets)
        self._stamp = stamp
        _log.info("credentials_loaded", root=str(self.root), secrets=sorted(secrets))
        return True

    async def run(self) -> None:
        while True:
            await self._sleep(self.interval_seconds)
            await asyncio.to_thread(self.reload)
