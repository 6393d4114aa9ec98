"""The gateway's minimal Kubernetes API access: plain aiohttp, in-cluster service account or a kubeconfig.

A gateway pod reads exactly two kinds of objects, each by name (RBAC ``resourceNames``): the routing
table ConfigMap and its credentials Secrets. :func:`watch_named` lists one object with
``fieldSelector=metadata.name=<name>`` and then watches it from the list's resourceVersion, with
bookmarks, an inactivity timeout, re-list on ``410 Gone`` and jittered backoff. The gateway never
imports kubernetes_asyncio or the controller.
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import ssl
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import yaml

__all__ = ["ApiStatusError", "KubeConnection", "WatchGoneError", "load_connection", "request_json", "watch_named"]

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class WatchGoneError(Exception):
    """410: the resourceVersion is too old; list again."""


class ApiStatusError(Exception):
    """The API server answered with an error status. ``message`` is the start of its answer, for logs of
    objects whose answers hold no secret values; callers touching Secrets log ``status`` only."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


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


async def _lines(response: aiohttp.ClientResponse, inactivity_seconds: float) -> AsyncIterator[bytes]:
    """Lines of any length (a table ConfigMap can be several hundred KiB on one line)."""
    buffer = b""
    chunks = response.content.iter_any().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(chunks.__anext__(), timeout=inactivity_seconds)
        except StopAsyncIteration:
            return
        buffer += chunk
        while (index := buffer.find(b"\n")) >= 0:
            line, buffer = buffer[:index], buffer[index + 1 :]
            if line.strip():
                yield line


async def request_json(
    session: aiohttp.ClientSession,
    connection: KubeConnection,
    method: str,
    url: str,
    *,
    params: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One JSON request; the answer's object, or :class:`ApiStatusError` for any status but 200.

    Raises ``ValueError`` when a 200 answer is not a JSON object."""
    headers = connection.headers()
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = orjson.dumps(body)
    async with session.request(
        method, url, params=params, data=data, headers=headers, ssl=connection.ssl_context
    ) as resp:
        answer = await resp.read()
        if resp.status != 200:
            raise ApiStatusError(resp.status, answer[:200].decode("utf-8", "replace"))
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
    inactivity_seconds: float = 70.0,
    backoff_base_seconds: float = 0.2,
    backoff_max_seconds: float = 5.0,
    watch_timeout_seconds: int = 300,
) -> None:
    """Mirror one named object forever: ``on_object(obj)`` after each list and change (None = absent)."""
    rng = random.Random()  # jitter only
    url = connection.server + collection_path
    selector = {"fieldSelector": f"metadata.name={name}"}
    failures = 0
    version: str | None = None
    timeout = aiohttp.ClientTimeout(total=None, connect=10, sock_connect=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while True:
            try:
                if version is None:
                    try:
                        listing = await request_json(session, connection, "GET", url, params=selector)
                    except ApiStatusError as exc:
                        if exc.status == 410:
                            raise WatchGoneError from None
                        raise
                    items = [item for item in listing.get("items") or [] if isinstance(item, dict)]
                    version = str((listing.get("metadata") or {}).get("resourceVersion") or "")
                    await on_object(items[0] if items else None)
                params = selector | {
                    "watch": "true",
                    "resourceVersion": version,
                    "allowWatchBookmarks": "true",
                    "timeoutSeconds": str(watch_timeout_seconds),
                }
                async with session.get(
                    url, params=params, headers=connection.headers(), ssl=connection.ssl_context
                ) as resp:
                    if resp.status == 410:
                        raise WatchGoneError
                    if resp.status != 200:
                        raise ApiStatusError(resp.status, (await resp.read())[:200].decode("utf-8", "replace"))
                    failures = 0
                    async for line in _lines(resp, inactivity_seconds):
                        event = orjson.loads(line)
                        kind, obj = event.get("type"), event.get("object") or {}
                        if kind == "ERROR":
                            if obj.get("code") == 410:
                                raise WatchGoneError
                            raise ApiStatusError(int(obj.get("code") or 0), str(obj.get("message") or ""))
                        version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                        if kind in {"ADDED", "MODIFIED"}:
                            await on_object(obj)
                        elif kind == "DELETED":
                            await on_object(None)
            except WatchGoneError:
                version = None
            except (aiohttp.ClientError, OSError, TimeoutError, ValueError, ApiStatusError) as exc:
                await on_failure(f"{type(exc).__name__}: {exc}"[:300])
                ceiling = min(backoff_max_seconds, backoff_base_seconds * 2**failures)
                failures += 1
                await asyncio.sleep(rng.uniform(ceiling / 2, ceiling))
