"""CredentialScrubber: known credential values out of anything relayed to a client or stored.

An upstream may echo the credential it received (a misconfigured proxy that reflects headers, an
error text quoting the key); passing its text on would hand the gateway's own API key or ChatGPT
token to a client, or to ``/health/models``. The scrubber learns each credential value as the
upstream client attaches it (``Authorization``, ``api-key``, ``ChatGPT-Account-Id``) and replaces
every occurrence with ``[redacted]``:

- :meth:`scrub` / :meth:`scrub_bytes`: the learned values only (a few substring searches), cheap
  enough for every upstream event and body relayed;
- :meth:`scrub_text`: also client API keys (recognised by their hash, so no plain key is kept here)
  and credential-looking text (``Bearer …``, ``sk-…``, JWTs), for error messages and stored text.

Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Collection, Mapping

from aliasgate.runtime.redaction import REDACTED, mask_credentials
from gateway.sse import SSEEvent

__all__ = ["CREDENTIAL_HEADERS", "CredentialScrubber"]

CREDENTIAL_HEADERS = ("authorization", "api-key", "chatgpt-account-id")
"""Upstream request headers whose values are credentials (or identify the account behind one)."""
MIN_SECRET_CHARS = 6
"""Shorter values are not scrubbed: they would match ordinary text and no real credential is that short."""
MAX_VALUES = 256
"""Values remembered; the oldest is forgotten first (refreshed OAuth tokens replace their predecessors)."""

_REDACTED_BYTES = REDACTED.encode()
_TOKEN = re.compile(r"[^\s\"'`,;()\[\]{}<>]{8,}")
"""A candidate client key inside text: a run of characters a key file line can hold."""


class CredentialScrubber:
    """Replaces known credential values; one per app, fed by the upstream client."""

    __slots__ = ("_bytes", "_client_digests", "_ordered", "_values")

    def __init__(self, *, client_digests: Callable[[], Collection[bytes]] | None = None) -> None:
        self._values: dict[str, None] = {}
        """Insertion-ordered set of the values learned (the oldest first)."""
        self._ordered: tuple[str, ...] = ()
        """The values, longest first: a value containing another is replaced whole."""
        self._bytes: tuple[bytes, ...] = ()
        self._client_digests = client_digests

    def learn(self, headers: Mapping[str, str]) -> None:
        """Remember the credential values among an upstream call's ``headers``."""
        for name, value in headers.items():
            if name.lower() not in CREDENTIAL_HEADERS:
                continue
            scheme, _, rest = value.partition(" ")
            self.learn_value(rest if rest and scheme.lower() == "bearer" else value)

    def learn_value(self, value: str) -> None:
        value = value.strip()
        if len(value) < MIN_SECRET_CHARS or value in self._values:
            return
        self._values[value] = None
        while len(self._values) > MAX_VALUES:
            del self._values[next(iter(self._values))]
        self._ordered = tuple(sorted(self._values, key=len, reverse=True))
        self._bytes = tuple(v.encode() for v in self._ordered)

    def __len__(self) -> int:
        return len(self._values)

    def scrub(self, text: str) -> str:
        """``text`` without any learned value."""
        for value in self._ordered:
            if value in text:
                text = text.replace(value, REDACTED)
        return text

    def scrub_bytes(self, data: bytes) -> bytes:
        """``data`` (a relayed body) without any learned value."""
        for value in self._bytes:
            if value in data:
                data = data.replace(value, _REDACTED_BYTES)
        return data

    def scrub_events(self, events: list[SSEEvent]) -> list[SSEEvent]:
        """Upstream SSE events without any learned value in their data (the hot path: usually a no-op)."""
        ordered = self._ordered
        if not ordered:
            return events
        for index, event in enumerate(events):
            data = event.data
            for value in ordered:
                if value in data:
                    events[index] = SSEEvent(event.event, self.scrub(data), event.id)
                    break
        return events

    def scrub_text(self, text: str) -> str:
        """:meth:`scrub`, plus client API keys and credential-looking text: for messages relayed or stored."""
        text = mask_credentials(self.scrub(text))
        digests = self._client_digests() if self._client_digests is not None else ()
        if not digests:
            return text
        return _TOKEN.sub(lambda found: _unless_client_key(found.group(0), digests), text)


def _unless_client_key(token: str, digests: Collection[bytes]) -> str:
    for candidate in (token, token.strip(".:!?")):
        if hashlib.sha256(candidate.encode("utf-8", "surrogatepass")).digest() in digests:
            return REDACTED
    return token
