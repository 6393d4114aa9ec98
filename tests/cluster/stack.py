"""aliasgate installed into a real control plane, its processes run locally with ServiceAccount tokens.

There is no kubelet, so what would be pods are local processes: ``python -m controller`` (two replicas,
leader election) and ``python -m gateway`` (two replicas), each with its own kubeconfig holding a token
minted through the TokenRequest API for the ServiceAccount deploy/rbac gives it. The gateways are made
discoverable the way pods are, by EndpointSlices of the ``aliasgate-gateway`` Service pointing at
this machine's address and their admin ports, so the controller finds them for ``Programmed`` as it does in a cluster.
The upstream is the simulator, in the test process.
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import openai
import orjson
from aiohttp import web

from aliasgate.simulator import SimulatorConfig, create_simulator_app, simulator_key
from tests.support.hostaddr import host_address
from tests.support.kubeclients import CommandResult, KubeHttp, jwt_claims, mint_token, run_tool_async, token_kubeconfig
from tests.support.kubecluster import Cluster
from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
SYSTEM = "aliasgate-system"
DEMO = "aliasgate-demo"
TEAM = "team-a"
CONFIGMAP = "aliasgate-routes"
LEASE = "aliasgate-controller"
CONTROLLER_SA = "aliasgate-controller"
GATEWAY_SA = "aliasgate-gateway"
GATEWAY_SERVICE = "aliasgate-gateway-admin"
"""What deploy/controller/deployment.yaml passes as --gateway-service."""
MA = "/apis/aliasgate.io/v1alpha1"
LEASE_SECONDS = 4
SLICE_MANAGER = "aliasgate-tests"
HOST = host_address()


@dataclass
class Proc:
    """One local process standing in for a pod."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    admin_port: int
    port: int = 0
    token_id: str = ""

    admin_host: str = "127.0.0.1"

    @property
    def admin_url(self) -> str:
        return f"http://{self.admin_host}:{self.admin_port}"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a node failure or OOM kill ends a pod: no goodbye, no Lease release."""
        self.popen.kill()
        self.popen.wait(10)

    def terminate(self, timeout: float = 15.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        return int(self.popen.returncode)

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


async def eventually(
    probe: Callable[[], Awaitable[Any]], *, timeout: float = 15.0, interval: float = 0.1, what: str = ""
) -> Any:
    """Await ``probe()`` until it returns something truthy; fail with its last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    value = await probe()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or probe} (last value: {value!r})")
        await asyncio.sleep(interval)
        value = await probe()
    return value


@dataclass
class Installation:
    """The CRD, namespaces, RBAC and ServiceAccounts of deploy/ applied to a cluster, plus credentials."""

    cluster: Cluster
    home: Path

    async def kubectl(self, *args: str, stdin: str | None = None, kubeconfig: Path | None = None) -> CommandResult:
        return await run_tool_async(
            "kubectl", *args, kubeconfig=kubeconfig or self.cluster.admin_kubeconfig, home=self.home, stdin=stdin
        )

    def admin(self) -> KubeHttp:
        return KubeHttp(self.cluster)

    def kubeconfig_for(self, service_account: str, name: str, *, namespace: str = SYSTEM) -> tuple[Path, str]:
        """(kubeconfig path, token id) for a fresh token of ``service_account``."""
        token = mint_token(self.cluster, namespace, service_account)
        path = token_kubeconfig(self.cluster, self.home / f"{name}.kubeconfig", token, namespace=namespace)
        return path, str(jwt_claims(token)["jti"])


def secret_body(name: str, data: dict[str, str]) -> dict[str, Any]:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": SYSTEM}, "data": encoded}


def sim_alias(name: str, simulator_url: str, *, mode: str | None, alias: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "backend": {
            "provider": "openai",
            "baseURL": f"{simulator_url}/v1",
            "model": "gpt-5.4",
            "credentials": "openai-key",
        }
    }
    if mode:
        spec["mode"] = mode
    if alias:
        spec["alias"] = alias
    return {
        "apiVersion": "aliasgate.io/v1alpha1",
        "kind": "ModelAlias",
        "metadata": {"name": name, "namespace": DEMO},
        "spec": spec,
    }


def _python_env(kubeconfig: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "KUBECONFIG": str(kubeconfig)}


async def _http_ok(url: str) -> bool:
    try:
        async with aiohttp.ClientSession() as session, session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as r:
            return r.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


@dataclass
class Stack:
    """Simulator + gateways + controllers running against the installation; stopped by :meth:`close`."""

    install: Installation
    folder: Path
    simulator: web.Application | None = None
    simulator_url: str = ""
    _simulator_runner: web.AppRunner | None = None
    gateways: list[Proc] = field(default_factory=list)
    controllers: list[Proc] = field(default_factory=list)

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.folder / f"{name}.log"
        with log.open("ab") as sink:
            popen = subprocess.Popen(
                argv, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=REPO
            )
        return popen, log

    async def start_simulator(self) -> None:
        """In this process (its recorded requests are read by the tests), on the test's event loop."""
        app = create_simulator_app(SimulatorConfig(delta_count=3))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self.simulator = app
        self._simulator_runner = runner
        self.simulator_url = f"http://127.0.0.1:{runner.addresses[0][1]}"

    def upstream_paths(self, said: str) -> list[str]:
        """Paths of the upstream requests that carried ``said`` (the gateways' health probes carry other text)."""
        assert self.simulator is not None
        return [r.path for r in self.simulator[simulator_key].requests if said in orjson.dumps(r.body).decode()]

    async def start_gateway(self, name: str) -> Proc:
        kubeconfig, token_id = self.install.kubeconfig_for(GATEWAY_SA, name)
        port, admin = free_port(), free_port(HOST)
        argv = [sys.executable, "-m", "gateway", "--listen", f"127.0.0.1:{port}", "--admin-listen", f"{HOST}:{admin}",
                "--namespace", SYSTEM, "--shutdown-grace-seconds", "1", "--probe-min-interval-seconds", "3600"]  # fmt: skip
        popen, log = self._spawn(name, argv, _python_env(kubeconfig))
        gateway = Proc(name, popen, log, admin_port=admin, port=port, token_id=token_id, admin_host=HOST)
        self.gateways.append(gateway)
        await self._publish_endpoints(gateway)
        await eventually(lambda: _http_ok(gateway.admin_url + "/livez"), what=f"{name} to listen")
        return gateway

    async def _publish_endpoints(self, gateway: Proc) -> None:
        """What the EndpointSlice controller would write for a ready gateway pod (one slice per "pod":
        every pod here shares this machine's address, and a slice has one port list). The admin port
        listens on the machine's own address: EndpointSlices refuse loopback addresses."""
        body = {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": f"{GATEWAY_SERVICE}-{gateway.name}",
                "namespace": SYSTEM,
                "labels": {
                    "kubernetes.io/service-name": GATEWAY_SERVICE,
                    "endpointslice.kubernetes.io/managed-by": SLICE_MANAGER,
                },
            },
            "addressType": "IPv4",
            "endpoints": [{"addresses": [HOST], "conditions": {"ready": True}}],
            "ports": [
                {"name": "http", "port": gateway.port, "protocol": "TCP"},
                {"name": "admin", "port": gateway.admin_port, "protocol": "TCP"},
            ],
        }
        async with self.install.admin() as api:
            answer = await api.create(f"/apis/discovery.k8s.io/v1/namespaces/{SYSTEM}/endpointslices", body)
        assert answer.status == 201, answer

    async def start_controller(self, identity: str, *extra: str) -> Proc:
        kubeconfig, token_id = self.install.kubeconfig_for(CONTROLLER_SA, identity)
        admin = free_port()
        argv = [sys.executable, "-m", "controller", "--admin-listen", f"127.0.0.1:{admin}", "--identity", identity,
                "--namespace", SYSTEM, "--leader-election", "--table-configmap=aliasgate-routes",
                f"--gateway-service={GATEWAY_SERVICE}", *extra]  # fmt: skip
        env = _python_env(kubeconfig) | {
            "ALIASGATE_LEASE_DURATION_SECONDS": str(LEASE_SECONDS),
            "ALIASGATE_RENEW_DEADLINE_SECONDS": str(LEASE_SECONDS * 2 / 3),
            "ALIASGATE_RETRY_PERIOD_SECONDS": "0.25",
        }
        popen, log = self._spawn(f"controller-{identity}", argv, env)
        controller = Proc(identity, popen, log, admin_port=admin, token_id=token_id)
        self.controllers.append(controller)
        await eventually(lambda: _http_ok(controller.admin_url + "/livez"), what=f"controller {identity} to listen")
        return controller

    def sdk(self, gateway: Proc) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=gateway.base_url, api_key="unused", max_retries=0, timeout=10)

    async def served_models(self, gateway: Proc) -> set[str]:
        async with self.sdk(gateway) as client:
            return {model.id async for model in client.models.list()}

    async def all_serve(self, expected: set[str]) -> bool:
        for gateway in self.gateways:
            try:
                if await self.served_models(gateway) != expected:
                    return False
            except openai.APIError:
                return False
        return True

    async def wait_all_serve(self, expected: set[str], timeout: float) -> float:
        began = time.monotonic()
        await eventually(
            lambda: self.all_serve(expected), timeout=timeout, interval=0.02, what=f"both serve {expected}"
        )
        return time.monotonic() - began

    async def served_generation(self, gateway: Proc) -> int | None:
        """The table generation a gateway serves, by its admin ``/status``."""
        async with aiohttp.ClientSession() as session, session.get(gateway.admin_url + "/status?view=summary") as r:
            body = await r.json()
        generation = body.get("servedGeneration")
        return None if generation is None else int(generation)

    async def lease_holder(self) -> str | None:
        async with self.install.admin() as api:
            answer = await api.get(f"/apis/coordination.k8s.io/v1/namespaces/{SYSTEM}/leases/{LEASE}")
        if answer.status == 404:
            return None
        assert answer.status == 200, answer
        return (answer.body.get("spec") or {}).get("holderIdentity") or None

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.tail()}" for p in [*self.controllers, *self.gateways] if p.log.exists())

    async def close(self) -> None:
        for proc in [*self.controllers, *self.gateways]:
            proc.terminate()
        if self._simulator_runner is not None:
            await self._simulator_runner.cleanup()
        sys.stderr.write(self.logs() + "\n")


async def reset(install: Installation) -> None:
    """Remove what an earlier stack left: ModelAliases everywhere, the table, the Lease, test EndpointSlices."""
    result = await install.kubectl("delete", "modelaliases", "--all", "--all-namespaces", "--wait=true")
    assert result.code == 0, result.err
    for kind, name in (("configmap", CONFIGMAP), ("lease", LEASE)):
        await install.kubectl("delete", kind, name, "-n", SYSTEM, "--ignore-not-found")
    await install.kubectl(
        "delete", "endpointslices", "-n", SYSTEM, "-l", f"endpointslice.kubernetes.io/managed-by={SLICE_MANAGER}"
    )
