"""Replay of real traffic against the rendered RBAC: the controller and the gateway run as real processes
(`python -m controller`, `python -m gateway`, with the flags and environment of deploy/'s Deployments)
against the project's Kubernetes API test server, through a recording proxy on loopback. Every API request
they make is then authorized, request by request, with the RBAC matching rules of
test_rbac_authorization.py against the rendered Roles. A request the RBAC would refuse fails the test,
so a permission the code needs but the manifests lack is caught here rather than in a cluster.
A ChatGPT alias whose OAuth token is about to expire makes the gateway refresh it through a loopback
token endpoint, so the Secret lock and token write-back requests (GET and PUT on the Secret) are
replayed too."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
import yaml
from aiohttp import web

from aliasgate.simulator import create_simulator_app
from tests.deploy import manifests
from tests.deploy.test_rbac_authorization import Request, allowed
from tests.kubeapi import KubeApiServer
from tests.support.hostaddr import host_address
from tests.support.ports import free_port
from tests.support.processes import stop

NS = manifests.NAMESPACE
TEAM = "team-replay"


@dataclass(frozen=True)
class Recorded:
    user: str
    method: str
    path: str
    query: dict[str, list[str]]


def classify(record: Recorded) -> Request | None:
    """The RBAC attributes of one request, as the API server's RequestInfo resolver derives them; None
    for non-resource URLs (discovery, /version, OpenAPI), which every authenticated user may read."""
    parts = [p for p in record.path.split("/") if p]
    if len(parts) >= 3 and parts[0] == "api":
        group, rest = "", parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, rest = parts[1], parts[3:]
    else:
        return None
    watch = bool(rest) and rest[0] == "watch"
    if watch:
        rest = rest[1:]
    namespace = ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    if len(rest) > 2:
        resource = f"{resource}/{rest[2]}"
    watch = watch or record.query.get("watch", [""])[0] in {"true", "1"}
    verbs = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete" if name else "deletecollection"}
    verb = verbs.get(record.method, "get" if name else ("watch" if watch else "list"))
    if verb in {"list", "watch"}:
        for selector in record.query.get("fieldSelector", []):
            if selector.startswith("metadata.name="):
                name = selector.removeprefix("metadata.name=")
    return Request(verb, group, resource, namespace, name)


@contextlib.asynccontextmanager
async def recording_proxy(upstream: str, tokens: dict[str, str]) -> AsyncIterator[tuple[str, list[Recorded]]]:
    """A streaming reverse proxy (watches stay open) that records who asked for what."""
    records: list[Recorded] = []
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None), auto_decompress=False)

    async def forward(request: web.Request) -> web.StreamResponse:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        records.append(Recorded(tokens.get(token, "?"), request.method, request.path, parse_qs(request.query_string)))
        headers = {k: v for k, v in request.headers.items() if k.lower() in {"authorization", "content-type", "accept"}}
        async with session.request(
            request.method, upstream + request.path_qs, headers=headers, data=await request.read()
        ) as answer:
            response = web.StreamResponse(status=answer.status)
            for key in ("Content-Type", "Content-Encoding", "Warning"):
                if key in answer.headers:
                    response.headers[key] = answer.headers[key]
            await response.prepare(request)
            with contextlib.suppress(ConnectionResetError, aiohttp.ClientPayloadError):
                async for chunk in answer.content.iter_any():
                    await response.write(chunk)
            return response

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = next(address[1] for address in runner.addresses)
    try:
        yield f"http://127.0.0.1:{port}", records
    finally:
        await runner.cleanup()
        await session.close()


def _kubeconfig(path: Path, server: str, token: str) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "replay", "cluster": {"server": server}}],
                "users": [{"name": "replay", "user": {"token": token}}],
                "contexts": [{"name": "replay", "context": {"cluster": "replay", "user": "replay", "namespace": NS}}],
                "current-context": "replay",
            }
        ),
        encoding="utf-8",
    )
    return path


SETUPS: dict[str, dict[str, Any]] = {
    "all-namespaces": {},
    "watch-namespaces": {"controller": {"watchNamespaces": [TEAM]}},
}
"""Chart values per replay; "all-namespaces" runs the kustomize Deployments, the other the chart's."""


def _installs(setup: str) -> dict[str, list[manifests.Manifest]]:
    """The rendered installs whose Deployments and RBAC a replay uses (the first one's Deployments)."""
    values = {"gateway": {"credentialsSecrets": ["openai-key", "chatgpt-pro"]}, **SETUPS[setup]}
    chart = manifests.render_chart(values).docs
    if setup == "all-namespaces":
        return {"kustomize": manifests.render_kustomize().docs, "chart": chart}
    return {"chart": chart}


def _deployment_container(docs: list[manifests.Manifest], name: str) -> manifests.Manifest:
    container: manifests.Manifest = manifests.named(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"][
        0
    ]
    return container


def _environment(kubeconfig: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALIASGATE_", "KUBERNETES_"))}
    env.update({"KUBECONFIG": str(kubeconfig), "ALIASGATE_NAMESPACE": NS})
    return env


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _seed(api: KubeApiServer, admin_port: int, codex_url: str) -> None:
    """Two credentials Secrets (one with an OAuth token due for refresh), three aliases on loopback backends
    (no probes), and the gateway's EndpointSlice."""
    api.create({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "openai-key", "namespace": NS},
        "data": {"apiKey": _b64("sk-replay-not-a-real-key")},
    })  # fmt: skip
    api.create({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "chatgpt-pro", "namespace": NS},
        "data": {
            "accessToken": _b64("replay-access-0"),
            "accountId": _b64("acct-replay"),
            "refreshToken": _b64("replay-refresh-0"),
            "expiresAt": _b64(str(int(time.time()) + 60)),  # inside the refresh margin
        },
    })  # fmt: skip
    api.create({
        "apiVersion": "aliasgate.io/v1alpha1",
        "kind": "ModelAlias",
        "metadata": {"name": "replay-codex", "namespace": TEAM},
        "spec": {
            "alias": "replay/replay-codex",
            "backend": {"provider": "chatgpt", "baseURL": codex_url, "model": "gpt-5.4", "credentials": "chatgpt-pro"},
            "mode": "responses",
            "healthCheck": {"enabled": False},
        },
    })  # fmt: skip
    for name, mode in (("replay-chat", "chat"), ("replay-default", None)):
        spec: dict[str, Any] = {
            "alias": f"replay/{name}",
            "backend": {
                "provider": "openai-compatible",
                "baseURL": "http://127.0.0.1:9/v1",
                "model": "m",
                "credentials": "openai-key",
            },
            "healthCheck": {"enabled": False},
        }
        if mode:
            spec["mode"] = mode
        api.create({
            "apiVersion": "aliasgate.io/v1alpha1",
            "kind": "ModelAlias",
            "metadata": {"name": name, "namespace": TEAM},
            "spec": spec,
        })  # fmt: skip
    api.create({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "aliasgate-gateway-admin-replay",
            "namespace": NS,
            "labels": {"kubernetes.io/service-name": "aliasgate-gateway-admin"},
        },
        "addressType": "IPv4",
        # A real API server refuses loopback endpoint addresses: the gateway's admin port listens on this
        # machine's own address.
        "endpoints": [{"addresses": [host_address()], "conditions": {"ready": True}}],
        "ports": [{"name": "admin", "port": admin_port, "protocol": "TCP"}],
    })  # fmt: skip


def _programmed(api: KubeApiServer) -> bool:
    aliases = api.list("aliasgate.io/v1alpha1", "modelaliases", TEAM)
    conditions = [c for a in aliases for c in (a.get("status") or {}).get("conditions") or []]
    return len(aliases) == 3 and sum(c["type"] == "Programmed" and c["status"] == "True" for c in conditions) == 3


@contextlib.asynccontextmanager
async def _oauth_upstream() -> AsyncIterator[tuple[str, str, list[str]]]:
    """A codex upstream (the simulator) and a token endpoint issuing one new token pair per refresh token."""
    hits: list[str] = []

    async def token(request: web.Request) -> web.Response:
        used = (await request.json()).get("refresh_token")
        hits.append(str(used))
        if used != "replay-refresh-0":
            return web.json_response({"error": "invalid_grant"}, status=400)
        return web.json_response(
            {"access_token": "replay-access-1", "refresh_token": "replay-refresh-1", "expires_in": 3600}
        )

    oauth = web.Application()
    oauth.router.add_post("/oauth/token", token)
    runners = [web.AppRunner(app, access_log=None) for app in (create_simulator_app(), oauth)]
    ports: list[int] = []
    for runner in runners:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        ports.append(next(address[1] for address in runner.addresses))
    try:
        yield f"http://127.0.0.1:{ports[0]}/backend-api/codex", f"http://127.0.0.1:{ports[1]}/oauth/token", hits
    finally:
        for runner in runners:
            await runner.cleanup()


async def _refresh_through_the_gateway(api: KubeApiServer, gateway_public: int) -> None:
    """One chat request to the codex alias: the gateway refreshes the due token and writes it back."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        body = {"model": "replay/replay-codex", "messages": [{"role": "user", "content": "hi"}]}
        deadline = time.monotonic() + 20
        while True:  # Programmed means the table is served; the first answer may still race the Secret's watch
            async with session.post(f"http://127.0.0.1:{gateway_public}/v1/chat/completions", json=body) as resp:
                if resp.status == 200 or time.monotonic() > deadline:
                    assert resp.status == 200, await resp.text()
                    break
            await asyncio.sleep(0.2)
    secret = api.get("v1", "secrets", "chatgpt-pro", NS)
    assert secret is not None
    assert base64.b64decode(secret["data"]["accessToken"]) == b"replay-access-1", "token written back"
    assert "aliasgate.io/token-refresh" not in (secret["metadata"].get("annotations") or {})


@pytest.mark.slow
@pytest.mark.parametrize("setup", list(SETUPS))
async def test_real_processes_need_no_permission_the_manifests_lack(
    kube_api: KubeApiServer, tmp_path: Path, setup: str
) -> None:
    installs = _installs(setup)
    first = next(iter(installs.values()))
    tokens = {kube_api.add_user("controller"): "controller", kube_api.add_user("gateway"): "gateway"}
    by_user = {user: token for token, user in tokens.items()}
    gateway_public, gateway_admin, controller_admin = free_port(), free_port(), free_port()
    gateway = _deployment_container(first, "aliasgate-gateway")
    controller = _deployment_container(first, "aliasgate-controller")
    async with (
        _oauth_upstream() as (codex_url, token_url, token_hits),
        recording_proxy(kube_api.url, tokens) as (proxy_url, records),
    ):
        _seed(kube_api, gateway_admin, codex_url)
        processes: list[asyncio.subprocess.Process] = []
        logs = {name: (tmp_path / f"{name}.log").open("wb") for name in ("gateway", "controller")}
        try:
            processes.append(
                await asyncio.create_subprocess_exec(
                    sys.executable, *gateway["command"][1:], *gateway["args"],
                    f"--listen=127.0.0.1:{gateway_public}",
                    f"--admin-listen={host_address()}:{gateway_admin}",
                    "--shutdown-grace-seconds=1",
                    f"--chatgpt-token-url={token_url}",
                    cwd=manifests.ROOT,
                    env=_environment(_kubeconfig(tmp_path / "gateway.kubeconfig", proxy_url, by_user["gateway"])),
                    stdout=logs["gateway"], stderr=asyncio.subprocess.STDOUT,
                )
            )  # fmt: skip
            processes.append(
                await asyncio.create_subprocess_exec(
                    sys.executable, *controller["command"][1:], *controller["args"],
                    f"--admin-listen=127.0.0.1:{controller_admin}",
                    cwd=manifests.ROOT,
                    env=_environment(_kubeconfig(tmp_path / "controller.kubeconfig", proxy_url, by_user["controller"])),
                    stdout=logs["controller"], stderr=asyncio.subprocess.STDOUT,
                )
            )  # fmt: skip
            deadline = time.monotonic() + 45
            while not _programmed(kube_api) and time.monotonic() < deadline:
                assert all(p.returncode is None for p in processes), "a process exited early"
                await asyncio.sleep(0.2)
            if _programmed(kube_api):
                await _refresh_through_the_gateway(kube_api, gateway_public)
        finally:
            for process in processes:
                await stop(process, grace_seconds=15)
            for log in logs.values():
                log.close()
        traffic = list(records)

    def tail(name: str) -> str:
        return (tmp_path / f"{name}.log").read_text(errors="replace")[-3000:]

    assert _programmed(kube_api), "never Programmed:\n" + tail("controller") + "\n" + tail("gateway")
    assert kube_api.get("v1", "configmaps", "aliasgate-routes", NS) is not None
    assert kube_api.get("coordination.k8s.io/v1", "leases", "aliasgate-controller", NS) is not None

    for user, service_account in (("controller", "aliasgate-controller"), ("gateway", "aliasgate-gateway")):
        requests = [r for r in (classify(rec) for rec in traffic if rec.user == user) if r is not None]
        assert len(requests) >= 3, f"{user} made no API requests"
        for source, docs in installs.items():
            denied = sorted({f"{r.verb} {r.group or 'core'}/{r.resource} ns={r.namespace or '*'} name={r.name or '-'}"
                             for r in requests if not allowed(docs, service_account, r)})  # fmt: skip
            assert not denied, f"{source} RBAC would refuse {user}:\n" + "\n".join(denied)
    controller_requests = {classify(rec) for rec in traffic if rec.user == "controller"}
    alias_reads = {r for r in controller_requests if r is not None and r.resource == "modelaliases"}
    assert alias_reads, "the controller never read ModelAliases"
    if setup == "watch-namespaces":
        assert {r.namespace for r in alias_reads} == {TEAM}, "watch-namespaces: no cluster-wide reads"
    else:
        assert {r.namespace for r in alias_reads} == {""}, "all namespaces: one cluster-wide watch"
    gateway_requests = {classify(rec) for rec in traffic if rec.user == "gateway"}
    assert Request("watch", "", "configmaps", NS, "aliasgate-routes") in gateway_requests
    assert Request("watch", "", "secrets", NS, "openai-key") in gateway_requests
    assert Request("get", "", "secrets", NS, "chatgpt-pro") in gateway_requests, "the refresh read the Secret"
    assert Request("update", "", "secrets", NS, "chatgpt-pro") in gateway_requests, "lock and write-back"
    assert token_hits == ["replay-refresh-0"], "one refresh, with the Secret's refresh token"
