"""Client API keys: a file of hashed keys, each optionally limited to alias patterns (docs/gateway.md, "Client API keys").

File format (``--api-keys-file``), one key per line; blank lines and ``#`` comments are ignored::

    sha256:<64 hex digits>                       # a key stored as its SHA-256 (preferred)
    sk-team-a-plain-key                          # a plain key, hashed at load and then forgotten
    sha256:<hex> aliases=chatgpt/*,team-a/*      # limited to aliases matching these shell patterns

A presented key is hashed and compared with every stored hash through ``hmac.compare_digest``
(no early exit), so timing reveals neither which key matched nor how much of it.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import structlog

__all__ = ["ApiKeyFile", "ApiKeyFileError", "ApiKeys", "KeyGrant", "hash_key", "parse_api_keys"]

_log = structlog.get_logger("gateway.client_keys")

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_COMMENT = re.compile(r"(?:^|\s)#.*$")
"""``#`` starts a comment at the start of a line or after whitespace (a key may contain ``#``)."""


class ApiKeyFileError(ValueError):
    """A line of the keys file is malformed; the message gives the line number, never the line."""


def hash_key(key: str) -> bytes:
    """SHA-256 of the key's UTF-8 bytes. A presented header may hold bytes that are not UTF-8 (aiohttp keeps
    them as lone surrogates): ``surrogatepass`` hashes those too, and since no valid key encodes to such
    bytes, they simply match nothing (401) instead of failing the request."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True, slots=True)
class KeyGrant:
    """What one key may use; ``patterns`` empty = every alias."""

    digest: bytes
    patterns: tuple[str, ...]
    _matcher: re.Pattern[str] | None

    def allows(self, alias: str) -> bool:
        return self._matcher is None or self._matcher.match(alias) is not None


def _grant(digest: bytes, patterns: tuple[str, ...]) -> KeyGrant:
    matcher = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns)) if patterns else None
    return KeyGrant(digest, patterns, matcher)


def parse_api_keys(text: str) -> tuple[KeyGrant, ...]:
    grants: list[KeyGrant] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _COMMENT.sub("", raw).strip()
        if not line:
            continue
        fields = line.split()
        key, options = fields[0], fields[1:]
        patterns: tuple[str, ...] = ()
        for option in options:
            name, sep, value = option.partition("=")
            if name != "aliases" or not sep or not value:
                raise ApiKeyFileError(f"line {number}: unknown option (expected aliases=pattern,...)")
            patterns = tuple(p for p in value.split(",") if p)
        if key.startswith("sha256:"):
            hexdigest = key.removeprefix("sha256:").lower()
            if not _HEX64.match(hexdigest):
                raise ApiKeyFileError(f"line {number}: sha256: must be followed by 64 hex digits")
            digest = bytes.fromhex(hexdigest)
        else:
            digest = hash_key(key)
        grants.append(_grant(digest, patterns))
    return tuple(grants)


@dataclass(frozen=True, slots=True)
class ApiKeys:
    grants: tuple[KeyGrant, ...]
    enabled: bool = True
    """False when no keys file is configured: the public port is open."""

    @classmethod
    def from_file(cls, path: Path) -> ApiKeys:
        return cls(parse_api_keys(path.read_text()))

    def digests(self) -> frozenset[bytes]:
        """The stored hashes (what the credential scrubber recognises client keys by)."""
        return frozenset(grant.digest for grant in self.grants)

    def authenticate(self, presented: str) -> KeyGrant | None:
        """The grant of the presented key, or None; compares against every stored hash."""
        digest = hash_key(presented)
        found: KeyGrant | None = None
        for grant in self.grants:
            if hmac.compare_digest(grant.digest, digest) and found is None:
                found = grant
        return found


class ApiKeyFile:
    """The keys in force, re-read when the file changes (rotate keys without a restart).

    A file that no longer parses (or vanished) leaves the previous keys in force and is logged, so a
    half-written edit never opens or closes the gateway by accident.
    """

    def __init__(
        self,
        keys: ApiKeys,
        *,
        path: Path | None = None,
        interval_seconds: float = 5.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.current = keys
        self.path = path
        self.interval_seconds = interval_seconds
        self._sleep = sleep
        self._stamp = _stamp(path) if path is not None else None

    def reload(self) -> bool:
        """Re-read the file if it changed; True when new keys are in force."""
        if self.path is None:
            return False
        stamp = _stamp(self.path)
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            keys = ApiKeys.from_file(self.path)
        except (OSError, ApiKeyFileError) as exc:
            _log.warning("api_keys_rejected", path=str(self.path), reason=str(exc), kept=len(self.current.grants))
            return False
        self.current = keys
        _log.info("api_keys_loaded", path=str(self.path), keys=len(keys.grants))
        return True

    async def run(self) -> None:
        while True:
            await self._sleep(self.interval_seconds)
            self.reload()


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)
