"""A :class:`~gateway.credentials.store.CredentialStore` over the credentials Secrets, watched through the API.

One list+watch per Secret name (``fieldSelector=metadata.name=<name>``, as RBAC ``resourceNames``
requires); values are base64-decoded into memory and nowhere else: not logged, not in errors. Names
come from the constructor and from :meth:`want` (the gateway calls it with the credentials its table
references); ``get`` of an unknown name also starts a watch for it. A Secret that disappears is dropped;
an API outage keeps the last values (credentials do not vanish because the API is down).
A Codex CLI ``auth.json`` key is expanded into the flat keys, as the credentials folder does
(:mod:`gateway.credentials.secret_format`).

The replicas' shared OAuth refresher, which writes refreshed tokens back into these Secrets, is
:class:`gateway.kube.token_refresh.KubeTokenRefresher`: built beside this store where the gateway is
wired, it uses :attr:`connection`, :attr:`namespace` and :meth:`next_update`. This module does not know it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping
from typing import Any

import structlog

from aliasgate.runtime.kubewatch import WatchPolicy
from gateway.credentials.secret_format import secret_values
from gateway.kube.client import KubeConnection, load_connection, watch_named

__all__ = ["KubeCredentialStore", "decode_secret"]

log = structlog.get_logger("gateway.kube.secrets")


def decode_secret(secret: Mapping[str, Any]) -> dict[str, str]:
    """The Secret's keys as text (:func:`~gateway.credentials.secret_format.secret_values`); undecodable
    keys are skipped and named in a warning, never shown."""
    values, undecodable = secret_values(secret)
    for key in undecodable:
        log.warning("secret_key_undecodable", secret_name=(secret.get("metadata") or {}).get("name"), key=key)
    return values


class KubeCredentialStore:
    """Credentials Secrets by name, each mirrored by its own list+watch."""

    @classmethod
    def from_environment(
        cls, *, namespace: str, names: Iterable[str] = (), kubeconfig: str | None = None
    ) -> KubeCredentialStore:
        """Connect like kubectl: ``kubeconfig``/``KUBECONFIG``, else the pod's service account."""
        return cls(connection=load_connection(kubeconfig), namespace=namespace, names=names)

    def __init__(
        self,
        *,
        connection: KubeConnection,
        namespace: str,
        names: Iterable[str] = (),
        inactivity_seconds: float = 70.0,
    ) -> None:
        self._connection = connection
        self._namespace = namespace
        self._inactivity = inactivity_seconds
        self._values: dict[str, dict[str, str]] = {}
        self._wanted: set[str] = set(names)
        self._watching: dict[str, asyncio.Task[None]] = {}
        self._changed = asyncio.Event()
        self._updated: dict[str, asyncio.Event] = {}
        self.failures: dict[str, str] = {}
        """Last API failure per Secret name (no values in it), for /status and tests."""

    def get(self, secret_name: str) -> Mapping[str, str] | None:
        if secret_name not in self._wanted:
            self.want([secret_name])
        return self._values.get(secret_name)

    def want(self, names: Iterable[str]) -> None:
        """Make sure these Secrets are watched (the set only grows; RBAC decides what is readable)."""
        fresh = set(names) - self._wanted
        if fresh:
            self._wanted |= fresh
            self._changed.set()

    @property
    def connection(self) -> KubeConnection:
        return self._connection

    @property
    def namespace(self) -> str:
        return self._namespace

    async def next_update(self, name: str) -> None:
        """Return when the watch next delivers a version of Secret ``name`` (callers bound the wait)."""
        await self._updated.setdefault(name, asyncio.Event()).wait()

    async def _watch(self, name: str) -> None:
        async def on_object(secret: dict[str, Any] | None) -> None:
            if secret is None:
                self._values.pop(name, None)
            else:
                self._values[name] = decode_secret(secret)
            self.failures.pop(name, None)
            updated = self._updated.pop(name, None)
            if updated is not None:
                updated.set()

        async def on_failure(reason: str) -> None:
            self.failures[name] = reason
            log.warning("secret_watch_failed", secret_name=name, reason=reason)

        await watch_named(
            connection=self._connection,
            collection_path=f"/api/v1/namespaces/{self._namespace}/secrets",
            name=name,
            on_object=on_object,
            on_failure=on_failure,
            policy=WatchPolicy(inactivity_seconds=self._inactivity),
        )

    async def run(self) -> None:
        try:
            while True:
                for name in sorted(self._wanted - set(self._watching)):
                    self._watching[name] = asyncio.create_task(self._watch(name), name=f"secret-watch-{name}")
                self._changed.clear()
                await self._changed.wait()
        finally:
            for task in self._watching.values():
                task.cancel()
            for task in self._watching.values():
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._watching.clear()
