"""Helpers shared by the conformance tests: request bodies and reading watch streams."""

from __future__ import annotations

import asyncio
import os
import pathlib
import shutil
from typing import Any

import aiohttp
import orjson

from tests.kubeapi.server import KubeApiServer

Json = dict[str, Any]

CM = "/api/v1/namespaces/default/configmaps"
MA = "/apis/aliasgate.io/v1alpha1/namespaces/team-a/modelaliases"
MA_ALL = "/apis/aliasgate.io/v1alpha1/modelaliases"
MERGE = {"Content-Type": "application/merge-patch+json"}
JSON_PATCH = {"Content-Type": "application/json-patch+json"}
STRATEGIC = {"Content-Type": "application/strategic-merge-patch+json"}
APPLY = {"Content-Type": "application/apply-patch+yaml"}
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"


def alias(
    name: str, *, model: str = "gpt-5.4", provider: str = "openai", labels: dict[str, str] | None = None, **spec: Any
) -> Json:
    meta: Json = {"name": name}
    if labels:
        meta["labels"] = labels
    return {
        "apiVersion": "aliasgate.io/v1alpha1",
        "kind": "ModelAlias",
        "metadata": meta,
        "spec": {"backend": {"provider": provider, "model": model}, **spec},
    }


def configmap(name: str, data: dict[str, str] | None = None, labels: dict[str, str] | None = None) -> Json:
    meta: Json = {"name": name}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data or {}}


async def post(http: aiohttp.ClientSession, path: str, body: Json, status: int = 201) -> Json:
    async with http.post(path, json=body) as response:
        result: Json = await response.json()
        assert response.status == status, result
        return result


async def read_events(response: aiohttp.ClientResponse, count: int, *, timeout: float = 5.0) -> list[Json]:
    """The next ``count`` watch events (fewer if the stream ends first)."""
    events: list[Json] = []
    async with asyncio.timeout(timeout):
        while len(events) < count:
            line = await response.content.readline()
            if not line:
                break
            events.append(orjson.loads(line))
    return events


async def read_until_end(response: aiohttp.ClientResponse, *, timeout: float = 5.0) -> list[Json]:
    events: list[Json] = []
    async with asyncio.timeout(timeout):
        async for line in response.content:
            if line.strip():
                events.append(orjson.loads(line))
    return events


class Kubectl:
    """Runs kubectl against one server, with its own HOME (discovery cache) and kubeconfig."""

    def __init__(self, api: KubeApiServer, home: pathlib.Path) -> None:
        self.home = home
        self.kubeconfig = api.write_kubeconfig(home / "kubeconfig", user="kubectl")

    def _env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "KUBECONFIG": str(self.kubeconfig),
        }

    async def __call__(self, *args: str, check: bool = True, timeout: float = 20) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            KUBECTL, *args, env=self._env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        async with asyncio.timeout(timeout):
            out, err = await process.communicate()
        code = process.returncode
        assert code is not None
        if check:
            assert code == 0, f"kubectl {' '.join(args)} failed ({code}): {err.decode()}"
        return code, out.decode(), err.decode()

    async def start(self, *args: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            KUBECTL, *args, env=self._env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
