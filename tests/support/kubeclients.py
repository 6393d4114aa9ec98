"""Clients of a real control plane for tests: JSON over HTTPS, ServiceAccount kubeconfigs, kubectl, helm.

Set-up runs as the cluster admin (client certificate, ``system:masters``); the processes under test get
their own kubeconfig holding a ServiceAccount token minted through the TokenRequest API, so every request
they make is authorised by the RBAC rules applied to the cluster, as in a real installation.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import ssl
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from tests.support import kubebuild
from tests.support.kubecluster import Cluster

__all__ = [
    "Answer",
    "CommandResult",
    "KubeHttp",
    "jwt_claims",
    "mint_token",
    "run_tool",
    "run_tool_async",
    "token_kubeconfig",
]

MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


@dataclass(frozen=True)
class Answer:
    """One API answer: status, decoded JSON body (or None) and the ``Warning`` headers."""

    status: int
    body: Any
    warnings: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        return str((self.body or {}).get("reason") or "") if isinstance(self.body, dict) else ""

    @property
    def message(self) -> str:
        return str((self.body or {}).get("message") or "") if isinstance(self.body, dict) else ""


class KubeHttp:
    """An aiohttp session against the API: the admin's client certificate, or a bearer token."""

    def __init__(self, cluster: Cluster, *, token: str | None = None, timeout: float = 30.0) -> None:
        self.cluster = cluster
        if token is None:
            context = cluster.ssl_context()
            headers = {}
        else:
            context = ssl.create_default_context(cafile=str(cluster.ca_cert))
            headers = {"Authorization": f"Bearer {token}"}
        self.session = aiohttp.ClientSession(
            base_url=cluster.server,
            headers=headers,
            connector=aiohttp.TCPConnector(ssl=context),
            timeout=aiohttp.ClientTimeout(total=timeout),
        )

    async def __aenter__(self) -> KubeHttp:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        data = None if body is None else (body if isinstance(body, (bytes, str)) else orjson.dumps(body))
        sent = {"Content-Type": "application/json", **(headers or {})} if data is not None else headers
        async with self.session.request(method, path, data=data, params=params, headers=sent) as response:
            raw = await response.read()
            warnings = tuple(response.headers.getall("Warning", []))
        decoded = orjson.loads(raw) if raw[:1] in (b"{", b"[") else None
        return Answer(response.status, decoded, warnings)

    async def get(self, path: str, **params: str) -> Answer:
        return await self.call("GET", path, params=params or None)

    async def create(self, path: str, body: Any) -> Answer:
        return await self.call("POST", path, body)

    async def merge(self, path: str, patch: Any) -> Answer:
        return await self.call("PATCH", path, patch, headers=MERGE_PATCH)

    async def delete(self, path: str) -> Answer:
        return await self.call("DELETE", path)

    async def watch_events(
        self, path: str, *, limit: int, timeout: float = 20.0, **params: str
    ) -> tuple[int, list[Any]]:
        """(status, the first ``limit`` events) of a watch on ``path``; an ERROR event is an event too."""
        events: list[Any] = []
        query = {"watch": "true", **params}
        async with asyncio.timeout(timeout), self.session.get(path, params=query) as response:
            if response.status != 200:
                return response.status, [await response.json(content_type=None)]
            async for line in response.content:
                if line.strip():
                    events.append(orjson.loads(line))
                if len(events) >= limit:
                    break
        return 200, events


def _admin_request(cluster: Cluster, method: str, path: str, body: Any) -> Any:
    request = urllib.request.Request(
        cluster.server + path,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, context=cluster.ssl_context(), timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise AssertionError(f"{method} {path} answered {error.code}: {error.read()[:500]!r}") from None


def mint_token(
    cluster: Cluster, namespace: str, service_account: str, *, seconds: int = 3600, audiences: list[str] | None = None
) -> str:
    """A ServiceAccount token from the TokenRequest API (what the kubelet mounts into a pod)."""
    spec: dict[str, Any] = {"expirationSeconds": seconds}
    if audiences:
        spec["audiences"] = audiences
    answer = _admin_request(
        cluster,
        "POST",
        f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token",
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec},
    )
    return str(answer["status"]["token"])


def jwt_claims(token: str) -> dict[str, Any]:
    """The (unverified) claims of a JWT: which ServiceAccount, which token id (``jti``)."""
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def token_kubeconfig(cluster: Cluster, path: Path, token: str, *, namespace: str = "default") -> Path:
    """A kubeconfig with the cluster's CA and a bearer token (no client certificate)."""
    ca = base64.b64encode(cluster.ca_cert.read_bytes()).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "test", "cluster": {"server": cluster.server, "certificate-authority-data": ca}}],
        "users": [{"name": "sa", "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "test", "user": "sa", "namespace": namespace}}],
        "current-context": "sa",
    }
    path.write_text(json.dumps(config, indent=1))
    path.chmod(0o600)
    return path


@dataclass(frozen=True)
class CommandResult:
    code: int
    out: str
    err: str

    def check(self) -> CommandResult:
        if self.code != 0:
            raise AssertionError(f"exit {self.code}\nstdout: {self.out}\nstderr: {self.err}")
        return self


def _tool_env(kubeconfig: Path, home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "HOME": str(home),
        "HELM_CACHE_HOME": str(home / "helm-cache"),
        "HELM_CONFIG_HOME": str(home / "helm-config"),
        "HELM_DATA_HOME": str(home / "helm-data"),
    }


def run_tool(
    tool: str, *args: str, kubeconfig: Path, home: Path, stdin: str | None = None, timeout: float = 90.0
) -> CommandResult:
    """Run the built ``kubectl`` or ``helm`` (never the machine's: its version is outside the skew)."""
    result = subprocess.run(
        [str(kubebuild.binary_path(tool)), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=_tool_env(kubeconfig, home),
        timeout=timeout,
        check=False,
    )
    return CommandResult(result.returncode, result.stdout, result.stderr)


async def run_tool_async(
    tool: str, *args: str, kubeconfig: Path, home: Path, stdin: str | None = None, timeout: float = 90.0
) -> CommandResult:
    """:func:`run_tool` without blocking the event loop."""
    process = await asyncio.create_subprocess_exec(
        str(kubebuild.binary_path(tool)),
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_tool_env(kubeconfig, home),
    )
    out, err = await asyncio.wait_for(process.communicate(stdin.encode() if stdin else None), timeout=timeout)
    return CommandResult(int(process.returncode or 0), out.decode(), err.decode())
