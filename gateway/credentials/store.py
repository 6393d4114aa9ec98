"""Upstream credentials, read from Secrets (DESIGN §5) and never copied anywhere else.

A store maps a credentials Secret name to its keys (``apiKey``; for chatgpt ``accessToken``,
``accountId``, optional ``refreshToken``, ``expiresAt``, or ``auth.json``). Values never reach a log line, a
metric label, an error message or the routing table.

Stores only read, with one exception: the Kubernetes store hands out a refresher
(``token_refresher()``, :mod:`gateway.kube_token_refresh`) that writes refreshed OAuth tokens back
into the Secret they came from, so replicas share one refresh. Stores without one refresh locally.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

__all__ = ["CredentialStore"]


class CredentialStore(Protocol):
    """Read access to credentials Secrets by name; implementations keep themselves up to date."""

    def get(self, secret_name: str) -> Mapping[str, str] | None:
        """The Secret's keys and values, or None when it does not exist (or is not readable)."""
        ...

    async def run(self) -> None:
        """Keep the store current (watch a folder or the API); returns only when cancelled."""
        ...
