"""DirectoryCredentialStore: credentials Secrets mounted as files, ``DIR/<secret-name>/<key>``.

Kubernetes mounts a Secret as a folder of files (one per key, swapped atomically through a
``..data`` symlink); local mode uses the same layout. A Codex CLI ``auth.json`` in a secret folder
is understood too (``tokens.access_token``, ``tokens.account_id``, ``tokens.refresh_token``).
The folder is re-read when any file's (mtime, size) changes. Values are kept in memory only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from types import MappingProxyType

import orjson
import structlog

__all__ = ["DirectoryCredentialStore", "EmptyCredentialStore", "keys_from_auth_json"]

_log = structlog.get_logger("gateway.credentials")
_MAX_FILE_BYTES = 64 * 1024


def keys_from_auth_json(data: bytes) -> dict[str, str]:
    """Map a Codex CLI ``auth.json`` to the store's key names; unknown shapes give nothing."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(doc, dict):
        return {}
    keys: dict[str, str] = {}
    tokens = doc.get("tokens")
    if isinstance(tokens, dict):
        for src, dst in (
            ("access_token", "accessToken"),
            ("account_id", "accountId"),
            ("refresh_token", "refreshToken"),
            ("id_token", "idToken"),
        ):
            value = tokens.get(src)
            if isinstance(value, str) and value:
                keys[dst] = value
    api_key = doc.get("OPENAI_API_KEY")
    if isinstance(api_key, str) and api_key:
        keys["apiKey"] = api_key
    expires = doc.get("expires_at")
    if isinstance(expires, int | float):
        keys["expiresAt"] = str(expires)
    return keys


def _read_secret(folder: Path) -> dict[str, str]:
    keys: dict[str, str] = {}
    auth_json: bytes | None = None
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or not entry.is_file():
            continue
        if entry.stat().st_size > _MAX_FILE_BYTES:
            continue
        data = entry.read_bytes()
        if entry.name == "auth.json":
            auth_json = data
            continue
        keys[entry.name] = data.decode("utf-8", "replace").strip()
    if auth_json is not None:
        for key, value in keys_from_auth_json(auth_json).items():
            keys.setdefault(key, value)
    return keys


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
    """A :class:`~gateway.credentials.CredentialStore` over ``DIR/<secret-name>/<key>`` files."""

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


class EmptyCredentialStore:
    """No credentials at all (a gateway in front of keyless openai-compatible backends)."""

    def get(self, secret_name: str) -> Mapping[str, str] | None:
        return None

    async def run(self) -> None:
        await asyncio.Event().wait()
