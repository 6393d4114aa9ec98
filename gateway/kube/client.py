"""The gateway's minimal Kubernetes API access: plain aiohttp, in-cluster service account or a kubeconfig.

A gateway pod reads exactly two kinds of objects, each by name (RBAC ``resourceNames``): the routing
table ConfigMap and its credentials Secrets. :func:`watch_named` mirrors one object through the shared
list-then-watch loop (:mod:`aliasgate.runtime.kubewatch`: ``fieldSelector=metadata.name=<name>``,
bookmarks, inactivity timeout, re-list on ``410 Gone``, jittered backoff); :func:`request_json` is one
request. Failures are :mod:`aliasgate.runtime.kubeerrors` classes, as in the controller. The gateway
never imports kubernetes_asyncio or the controller.
"""

from __future__ import annotations

import base64
import contextlib
import os
import ssl
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import yaml

from aliasgate.runtime.kubeerrors import TransportError, error_from_body
from aliasgate.runtime.kubehttp import body_chunks
from aliasgate.runtime.kubewatch import Changed, Listed, Restarting, WatchPolicy, list_then_watch

__all__ = ["KubeConnection", "load_connection", "request_json", "watch_named"]

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


@dataclass(frozen=True)
class KubeConnection:
    """Where the API server is and how to authenticate (the token file is re-read: bound tokens rotate)."""

    server: str
    ssl_context: ssl.SSLContext | bool
    token: str | None = None
    token_file: Path | None = None

    def headers(self) -> dict[str, str]:
        token = self.token
        if self.token_file is not None:
            try:
                token = self.token_file.read_text().strip()
            except OSError:
                token = self.token
        return {"Authorization": f"Bearer {token}"} if token else {}

    @classmethod
    def in_cluster(cls) -> KubeConnection:
        host = os.environ["KUBERNETES_SERVICE_HOST"]
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if ":" in host:
            host = f"[{host}]"
        context = ssl.create_default_context(cafile=str(SERVICE_ACCOUNT_DIR / "ca.crt"))
        return cls(server=f"https://{host}:{port}", ssl_context=context, token_file=SERVICE_ACCOUNT_DIR / "token")

    @classmethod
    def from_kubeconfig(cls, path: Path, context_name: str | None = None) -> KubeConnection:
        config = yaml.safe_load(path.read_text()) or {}
        name = context_name or config.get("current-context")
        context = _named(config.get("contexts"), name).get("context") or {}
        cluster = _named(config.get("clusters"), context.get("cluster")).get("cluster") or {}
        user = _named(config.get("users"), context.get("user")).get("user") or {}
        server = str(cluster.get("server") or "").rstrip("/")
        if not server:
            raise ValueError(f"kubeconfig {path}: context {name!r} has no cluster server")
        base = path.parent
        ssl_context: ssl.SSLContext | bool = False
        if server.startswith("https://"):
            if cluster.get("insecure-skip-tls-verify"):
                ssl_context = False
            else:
                ssl_context = ssl.create_default_context()
                if cluster.get("certificate-authority-data"):
                    ssl_context.load_verify_locations(
                        cadata=base64.b64decode(cluster["certificate-authority-data"]).decode()
                    )
                elif cluster.get("certificate-authority"):
                    ssl_context.load_verify_locations(cafile=str(base / cluster["certificate-authority"]))
            if isinstance(ssl_context, ssl.SSLContext):
                _load_client_cert(ssl_context, user, base)
        token_file = Path(base / user["tokenFile"]) if user.get("tokenFile") else None
        return cls(server=server, ssl_context=ssl_context, token=user.get("token"), token_file=token_file)


def _named(items: Any, name: Any) -> dict[str, Any]:
    for item in items or []:
        if isinstance(item, dict) and item.get("name") == name:
            return item
    return {}


def _load_client_cert(context: ssl.SSLContext, user: dict[str, Any], base: Path) -> None:
    if user.get("client-certificate-data") and user.get("client-key-data"):
        with tempfile.TemporaryDirectory() as folder:
            cert, key = Path(folder) / "cert.pem", Path(folder) / "key.pem"
            cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
            key.write_bytes(base64.b64decode(user["client-key-data"]))
            key.chmod(0o600)
            context.load_cert_chain(str(cert), str(key))
    elif user.get("client-certificate") and user.get("client-key"):
        context.load_cert_chain(str(base / user["client-certificate"]), str(base / user["client-key"]))


def load_connection(kubeconfig: str | None = None) -> KubeConnection:
    """``kubeconfig``, else ``KUBECONFIG``, else the in-cluster service account, else ``~/.kube/config``."""
    path = kubeconfig or os.environ.get("KUBECONFIG")
    if path:
        return KubeConnection.from_kubeconfig(Path(path.split(os.pathsep)[0]))
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return KubeConnection.in_cluster()
    return KubeConnection.from_kubeconfig(Path.home() / ".kube" / "config")


async def request_json(
    session: aiohttp.ClientSession,
    connection: KubeConnection,
    method: str,
    url: str,
    *,
    params: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One JSON request; the answer's object. Raises a :mod:`~aliasgate.runtime.kubeerrors` class for any
    status but 200 (``TransportError`` when no answer came), ``ValueError`` when a 200 is not a JSON object."""
    headers = connection.headers()
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = orjson.dumps(body)
    try:
        async with session.request(
            method, url, params=params, data=data, headers=headers, ssl=connection.ssl_context
        ) as resp:
            answer = await resp.read()
            status = resp.status
    except aiohttp.ClientError as exc:
        raise TransportError(type(exc).__name__, str(exc)) from exc
    if status != 200:
        raise error_from_body(status, answer)
    document = orjson.loads(answer)
    if not isinstance(document, dict):
        raise ValueError("the API answered something other than a JSON object")
    return document


async def watch_named(
    *,
    connection: KubeConnection,
    collection_path: str,
    name: str,
    on_object: Callable[[dict[str, Any] | None], Awaitable[None]],
    on_failure: Callable[[str], Awaitable[None]],
    policy: WatchPolicy | None = None,
) -> None:
    """Mirror one named object forever: ``on_object(obj)`` after each list and change (None = absent);
    ``on_failure(reason)`` when the API fails (the loop retries on its own)."""
    url = connection.server + collection_path
    timeout = aiohttp.ClientTimeout(total=None, connect=10, sock_connect=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def list_page(query: Mapping[str, str]) -> dict[str, Any]:
            return await request_json(session, connection, "GET", url, params=dict(query))

        @contextlib.asynccontextmanager
        async def open_watch(query: Mapping[str, str]) -> AsyncIterator[AsyncIterator[bytes]]:
            try:
                response = await session.get(
                    url, params=dict(query), headers=connection.headers(), ssl=connection.ssl_context
                )
            except aiohttp.ClientError as exc:
                raise TransportError(type(exc).__name__, str(exc)) from exc
            try:
                if response.status != 200:
                    raise error_from_body(response.status, await response.read())
                yield body_chunks(response)
            finally:
                response.close()

        events = list_then_watch(
            list_page=list_page,
            open_watch=open_watch,
            query={"fieldSelector": f"metadata.name={name}"},
            policy=policy,
        )
        async with contextlib.aclosing(events):
            async for event in events:
                if isinstance(event, Listed):
                    await on_object(event.items[0] if event.items else None)
                elif isinstance(event, Changed):
                    await on_object(None if event.type == "DELETED" else event.object)
                elif isinstance(event, Restarting) and event.cause == "error":
                    await on_failure(f"{type(event.error).__name__}: {event.error}"[:300])
