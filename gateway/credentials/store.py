"""Upstream credentials, read from Secrets (docs/gateway.md, "Providers and credentials") and never copied anywhere else.

A store maps a credentials Secret name to its keys (``apiKey``; for chatgpt ``accessToken``,
``accountId``, optional ``refreshToken``, ``expiresAt``, or ``auth.json``; see
:mod:`gateway.credentials.secret_format`). Values never reach a log line, a metric label, an error
message or the routing table.

Implementations: :class:`~gateway.credentials.files.DirectoryCredentialStore` (mounted folders, local
mode), :class:`~gateway.kube.secrets.KubeCredentialStore` (the API), :class:`EmptyCredentialStore`.
Stores only read. Who refreshes OAuth tokens (and writes them back) is a separate
:class:`~gateway.credentials.refresh.TokenRefresher`, picked where the gateway is wired.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Protocol

__all__ = ["CredentialStore", "EmptyCredentialStore"]


class CredentialStore(Protocol):
    """Read access to credentials Secrets by name; implementations keep themselves up to date."""

    def get(self, secret_name: str) -> Mapping[str, str] | None:
        """The Secret's keys and values, or None when it does not exist (or is not readable)."""
        ...

    def want(self, names: Iterable[str]) -> None:
        """The routing table references these Secrets: a store that reads by name starts reading them.

        Called on every table swap with all names the table uses; the set only grows. Stores that
        already see every Secret (a folder) do nothing."""
        ...

    async def run(self) -> None:
        """Keep the store current (watch a folder or the API); returns only when cancelled."""
        ...


class EmptyCredentialStore:
    """No credentials at all (a gateway in front of keyless openai-compatible backends)."""

    def get(self, secret_name: str) -> Mapping[str, str] | None:
        return None

    def want(self, names: Iterable[str]) -> None:
        """Nothing to read."""

    async def run(self) -> None:
        await asyncio.Event().wait()
