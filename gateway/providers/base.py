"""The provider interface shared by the provider modules."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from yarl import URL

from gateway.credentials.store import CredentialStore
from gateway.routing.table import Backend

__all__ = ["CredentialsUnavailableError", "Endpoint", "Provider", "UpstreamCall", "api_key", "join_url"]

Endpoint = Literal["chat", "responses"]


class CredentialsUnavailableError(Exception):
    """The backend's credentials Secret (or one of its keys) is missing; the message names only the Secret."""


@dataclass(frozen=True, slots=True)
class UpstreamCall:
    """One upstream HTTP call, ready to send. ``headers`` may hold credentials: never log it."""

    url: URL
    headers: Mapping[str, str]
    credential_version: str = ""
    """Opaque token identifying which credential was used (lets a 401 refresh run once, not per request)."""


class Provider(Protocol):
    """Builds upstream calls for one provider kind."""

    name: str
    forces_stream: bool
    """The backend answers Responses requests only as SSE (codex)."""

    async def prepare(self, backend: Backend, endpoint: Endpoint, *, request_id: str) -> UpstreamCall: ...

    async def unauthorized(self, backend: Backend, call: UpstreamCall) -> bool:
        """A 401 came back for ``call``; refresh if possible and return True when a retry makes sense."""
        ...


@functools.lru_cache(maxsize=1024)
def join_url(base: str, path: str, query: tuple[tuple[str, str], ...] = ()) -> URL:
    """``base/path?query`` as a parsed URL, cached: the same few URLs are built for every request."""
    url = URL(base.rstrip("/") + "/" + path.lstrip("/"))
    return url.with_query(dict(query)) if query else url


def api_key(credentials: CredentialStore, backend: Backend, *, required: bool) -> str | None:
    """The ``apiKey`` of the backend's Secret, or None when optional and absent."""
    if backend.credentials is None:
        if required:
            raise CredentialsUnavailableError(f"backend {backend.key!r} names no credentials Secret")
        return None
    secret = credentials.get(backend.credentials)
    key = None if secret is None else secret.get("apiKey")
    if not key:
        if required or secret is None:
            raise CredentialsUnavailableError(f"credentials Secret {backend.credentials!r} has no usable apiKey")
        return None
    return key
