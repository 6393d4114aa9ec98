"""A thin JSON client over kubernetes-asyncio's ApiClient (config, TLS, auth), with raw dict bodies.

kubernetes-asyncio's generated models are avoided on purpose: they drop unknown fields, reject valid API
answers (``eventTime: null``) and decode only some status codes. Here every call returns the JSON body
as a dict and raises an :mod:`aliasgate.runtime.kubeerrors` class for anything but 2xx
(:class:`~aliasgate.runtime.kubeerrors.NotFoundError`, ``ConflictError``, ...; ``TransportError`` when no
answer came). Only ``controller.kube`` modules import this (and kubernetes_asyncio).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from kubernetes_asyncio import client as k8s_client
from kubernetes_asyncio import config as k8s_config

from aliasgate.runtime.kubeerrors import KubeApiError, TransportError, error_from_body
from aliasgate.runtime.kubehttp import body_chunks

__all__ = ["KubeClient", "connect"]

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"


class KubeClient:
    """JSON requests and watch streams against the API server the ApiClient is configured for."""

    def __init__(self, api: k8s_client.ApiClient, *, request_timeout_seconds: float = 15.0) -> None:
        self.api = api
        self._timeout = request_timeout_seconds

    async def close(self) -> None:
        await self.api.close()

    async def _send(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None,
        body: Any,
        content_type: str,
        accept: str,
        limits: aiohttp.ClientTimeout | float,
    ) -> aiohttp.ClientResponse:
        headers = {"Accept": accept}
        if method in {"POST", "PUT", "PATCH", "DELETE"}:
            headers["Content-Type"] = content_type
        params = [
            (key, str(value).lower() if isinstance(value, bool) else value) for key, value in (query or {}).items()
        ]
        try:
            response: aiohttp.ClientResponse = await self.api.call_api(
                path,
                method,
                query_params=params,
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=limits,
            )
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise TransportError(type(exc).__name__, str(exc)) from exc
        return response

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str = JSON,
        accept: str = JSON,
    ) -> dict[str, Any]:
        """One request; the decoded JSON body, or a :class:`~aliasgate.runtime.kubeerrors.KubeApiError` class."""
        response = await self._send(
            method, path, query=query, body=body, content_type=content_type, accept=accept, limits=self._timeout
        )
        try:
            data = await response.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise TransportError(type(exc).__name__, str(exc)) from exc
        finally:
            response.release()
        if not 200 <= response.status < 300:
            raise error_from_body(response.status, data)
        if not data:
            return {}
        try:
            document = orjson.loads(data)
        except ValueError as exc:
            raise KubeApiError(response.status, "BadBody", "response is not JSON") from exc
        return document if isinstance(document, dict) else {}

    @contextlib.asynccontextmanager
    async def stream(
        self, path: str, *, query: Mapping[str, Any], accept: str = JSON
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """A long GET (a watch): its body as raw chunks, for :func:`aliasgate.runtime.kubewatch.watch_lines`.

        Non-2xx raises a :class:`~aliasgate.runtime.kubeerrors.KubeApiError` class; so does a body cut off."""
        timeout = aiohttp.ClientTimeout(total=None, connect=self._timeout, sock_connect=self._timeout)
        response = await self._send(
            "GET", path, query=query, body=None, content_type=JSON, accept=accept, limits=timeout
        )
        try:
            if not 200 <= response.status < 300:
                raise error_from_body(response.status, await response.read())
            yield body_chunks(response)
        finally:
            response.close()


async def connect(kubeconfig: str | None = None) -> KubeClient:
    """Configure from ``kubeconfig``, else ``KUBECONFIG``/``~/.kube/config``, else the in-cluster account."""
    configuration = k8s_client.Configuration()
    path = kubeconfig or os.environ.get("KUBECONFIG") or ""
    default = Path.home() / ".kube" / "config"
    if not path and os.environ.get("KUBERNETES_SERVICE_HOST"):
        k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    else:
        await k8s_config.load_kube_config(
            config_file=path or str(default), client_configuration=configuration, persist_config=False
        )
    api = k8s_client.ApiClient(configuration=configuration)
    await asyncio.sleep(0)
    return KubeClient(api)
