"""End to end in one process tree: API test server + two ``python -m controller`` replicas + two gateways
(``gateway.app.create_app`` with the Kubernetes table source) + the upstream simulator, driven by the real
``kubectl`` and the real ``openai`` SDK.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pathlib
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import openai
import pytest
import yaml
from aiohttp import web

from aliasgate.simulator import SimulatorConfig, create_simulator_app, simulator_key
from controller import conflicts
from tests.controller.kube_rig import (
    NAMESPACE,
    RunningGateway,
    alias_body,
    eventually,
    published,
    running_gateway,
    secret_body,
    started_api,
)
from tests.kubeapi import KubeApiServer
from tests.support.ports import free_port
from tests.support.processes import stop

REPO = pathlib.Path(__file__).resolve().parents[2]
SAMPLES = REPO / "deploy" / "samples"
DEMO = "aliasgate-demo"
KUBECTL = "/usr/bin/kubectl"
LEASE_SECONDS = 4.0


@dataclass
class ControllerProcess:
    identity: str
    process: asyncio.subprocess.Process
    admin_port: int
    log: pathlib.Path


@dataclass
class Cluster:
    api: KubeApiServer
    gateways: list[RunningGateway]
    controllers: list[ControllerProcess]
    simulator: web.Application
    simulator_url: str
    kubeconfig: pathlib.Path
    tmp: pathlib.Path

    async def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        process = await asyncio.create_subprocess_exec(
            KUBECTL,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "KUBECONFIG": str(self.kubeconfig), "HOME": str(self.tmp)},
        )
        out, err = await asyncio.wait_for(process.communicate(stdin.encode() if stdin else None), timeout=30)
        if check and process.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {err.decode()}")
        return out.decode()

    async def apply(self, documents: list[dict[str, Any]]) -> None:
        await self.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(documents))

    def sdk(self, gateway: RunningGateway) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=gateway.base_url, api_key="unused", max_retries=0, timeout=10)

    async def served_models(self, gateway: RunningGateway) -> set[str]:
        async with self.sdk(gateway) as client:
            return {model.id async for model in client.models.list()}

    def upstream_paths(self) -> list[str]:
        return [request.path for request in self.simulator[simulator_key].requests]


async def start_controller(
    api: KubeApiServer, tmp: pathlib.Path, identity: str, gateways: list[RunningGateway]
) -> ControllerProcess:
    kubeconfig = api.write_kubeconfig(tmp / f"kubeconfig-{identity}", user=identity)
    admin_port = free_port()
    log = tmp / f"controller-{identity}.log"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "ALIASGATE_NAMESPACE": NAMESPACE,
        "ALIASGATE_GATEWAY_STATUS_URLS": ",".join(g.admin_url for g in gateways),
        "ALIASGATE_LEASE_DURATION_SECONDS": str(LEASE_SECONDS),
        "ALIASGATE_RENEW_DEADLINE_SECONDS": str(LEASE_SECONDS * 2 / 3),
        "ALIASGATE_RETRY_PERIOD_SECONDS": "0.25",
    }
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "controller",
            "--kubeconfig",
            str(kubeconfig),
            "--admin-listen",
            f"127.0.0.1:{admin_port}",
            "--identity",
            identity,
            "--leader-election",
            stdout=sink,
            stderr=sink,
            env=env,
            cwd=str(REPO),
        )
    return ControllerProcess(identity=identity, process=process, admin_port=admin_port, log=log)


async def stop_controller(controller: ControllerProcess) -> None:
    await stop(controller.process)


@pytest.fixture
async def cluster(tmp_path: pathlib.Path) -> AsyncIterator[Cluster]:
    simulator = create_simulator_app(SimulatorConfig(delta_count=3))
    sim_runner = web.AppRunner(simulator, access_log=None)
    await sim_runner.setup()
    await web.TCPSite(sim_runner, "127.0.0.1", 0).start()
    simulator_url = f"http://127.0.0.1:{sim_runner.addresses[0][1]}"
    async with started_api() as api, contextlib.AsyncExitStack() as stack:
        api.create(secret_body("chatgpt-pro", data={"accessToken": "token", "accountId": "acct"}))
        gateways = [await stack.enter_async_context(running_gateway(api, tmp_path, name=f"gw-{i}")) for i in range(2)]
        controllers = [await start_controller(api, tmp_path, identity, gateways) for identity in ("ctl-a", "ctl-b")]
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig-admin", user="admin", namespace=DEMO)
        cluster = Cluster(api, gateways, controllers, simulator, simulator_url, kubeconfig, tmp_path)
        try:
            await eventually(lambda: lease_holder(api) is not None, timeout=20)
            yield cluster
        finally:
            for controller in controllers:
                await stop_controller(controller)
            for controller in controllers:
                sys.stderr.write(f"--- {controller.identity} log (tail) ---\n")
                sys.stderr.write("\n".join(controller.log.read_text().splitlines()[-15:]) + "\n")
    await sim_runner.cleanup()


def lease_holder(api: KubeApiServer) -> str | None:
    lease = api.get("coordination.k8s.io/v1", "leases", "aliasgate-controller", NAMESPACE)
    return None if lease is None else lease["spec"].get("holderIdentity")


def expected_accepted(documents: list[dict[str, Any]]) -> set[str]:
    """What the conflict engine accepts of the samples, given the Secrets the cluster holds."""
    objects = [conflicts.parse_or_invalid(doc) for doc in documents if doc.get("kind") == "ModelAlias"]
    credentials = {name: conflicts.CredentialInfo() for name in ("openai-key", "chatgpt-pro")}
    resolution = conflicts.resolve(objects, credentials=credentials)
    return set(resolution.table.routes)


def sim_alias(name: str, simulator_url: str, *, mode: str | None, model: str = "gpt-5.4") -> dict[str, Any]:
    return alias_body(name, ns=DEMO, model=model, mode=mode, base_url=f"{simulator_url}/v1")


def accepted_column(table_text: str, name: str) -> list[str]:
    for line in table_text.splitlines():
        if line.split() and line.split()[0] == name:
            return line.split()
    raise AssertionError(f"{name} not in kubectl output:\n{table_text}")


async def all_serve(cluster: Cluster, expected: set[str]) -> bool:
    for gateway in cluster.gateways:
        if await cluster.served_models(gateway) != expected:
            return False
    return True


async def wait_all_serve(cluster: Cluster, expected: set[str], timeout: float) -> float:
    started = time.perf_counter()
    while not await all_serve(cluster, expected):
        if time.perf_counter() - started > timeout:
            served = [await cluster.served_models(g) for g in cluster.gateways]
            raise AssertionError(f"gateways serve {served}, expected {expected}")
        await asyncio.sleep(0.01)
    return time.perf_counter() - started


@pytest.mark.slow
async def test_samples_apply_edit_downgrade_delete_and_leader_death(cluster: Cluster) -> None:
    # 1. kubectl apply -f deploy/samples/ → both gateways serve the accepted aliases within a second.
    #    (Admission may refuse a sample whose CEL rules fail; the rest is applied, as kubectl does.)
    await cluster.kubectl("apply", "-f", str(SAMPLES), check=False)
    stored = cluster.api.list("aliasgate.io/v1alpha1", "modelaliases", DEMO)
    assert {obj["metadata"]["name"] for obj in stored} >= {"gpt-5", "gpt-5-chat", "gpt-4-1-mini"}
    expected = expected_accepted(stored)
    first = await wait_all_serve(cluster, expected, timeout=1.0)
    sys.stderr.write(f"samples served by both gateways {first:.3f} s after kubectl apply returned\n")
    assert first < 1.0
    output = await eventually_async(lambda: kubectl_get_settled(cluster, len(stored)))
    row = accepted_column(output, "gpt-5-chat")
    assert "False" in row
    assert "ModeDowngradeRejected" in row
    assert "True" in accepted_column(output, "gpt-5")

    # 2. Traffic through the SDK: an alias on a simulator backend in Responses mode, via chat completions.
    await cluster.apply([sim_alias("sim", cluster.simulator_url, mode="responses")])
    expected |= {"sim"}
    await wait_all_serve(cluster, expected, timeout=1.0)
    for gateway in cluster.gateways:
        async with cluster.sdk(gateway) as client:
            answer = await client.chat.completions.create(
                model="sim", messages=[{"role": "user", "content": "hello there"}]
            )
        assert answer.choices[0].message.content
    assert cluster.upstream_paths() == ["/v1/responses", "/v1/responses"]

    # 3. A downgrading alias on the same backend is rejected; traffic stays in Responses mode.
    await cluster.apply([sim_alias("sim-chat", cluster.simulator_url, mode="chat")])
    reason = await eventually_async(
        lambda: cluster.kubectl(
            "get",
            "ma",
            "sim-chat",
            "-o",
            'jsonpath={.status.conditions[?(@.type=="Accepted")].status}/{.status.conditions[?(@.type=="Accepted")].reason}',
        ),
        want="False/ModeDowngradeRejected",
    )
    assert reason == "False/ModeDowngradeRejected"
    assert await all_serve(cluster, expected)
    async with cluster.sdk(cluster.gateways[1]) as client:
        await client.chat.completions.create(model="sim", messages=[{"role": "user", "content": "still there"}])
        with pytest.raises(openai.NotFoundError):
            await client.chat.completions.create(model="sim-chat", messages=[{"role": "user", "content": "x"}])
    assert cluster.upstream_paths()[-1] == "/v1/responses"

    # 4. Programmed: every gateway serves the alias's generation (controllers read the gateways' /status).
    programmed = await eventually_async(
        lambda: cluster.kubectl(
            "get", "ma", "sim", "-o", 'jsonpath={.status.conditions[?(@.type=="Programmed")].status}'
        ),
        want="True",
    )
    assert programmed == "True"

    # 5. Edit propagates: the alias now claims another model name.
    edited = sim_alias("sim", cluster.simulator_url, mode="responses")
    edited["spec"]["alias"] = "sim-renamed"
    await cluster.apply([edited])
    expected = (expected - {"sim"}) | {"sim-renamed"}
    edit = await wait_all_serve(cluster, expected, timeout=1.0)
    sys.stderr.write(f"edit served by both gateways {edit:.3f} s after kubectl apply returned\n")
    assert edit < 1.0

    # 6. The leader dies (SIGKILL): the other replica takes over within the lease duration.
    holder = lease_holder(cluster.api)
    leader = next(c for c in cluster.controllers if c.identity == holder)
    follower = next(c for c in cluster.controllers if c is not leader)
    leader.process.kill()
    await leader.process.wait()
    died = time.perf_counter()
    await eventually(lambda: lease_holder(cluster.api) == follower.identity, timeout=LEASE_SECONDS + 3)
    assert time.perf_counter() - died < LEASE_SECONDS + 1.5

    # 7. Delete propagates through the new leader.
    # With "sim" gone nothing holds the backend in Responses mode, so "sim-chat" is accepted now.
    await cluster.kubectl("delete", "ma", "sim")
    expected = (expected - {"sim-renamed"}) | {"sim-chat"}
    await wait_all_serve(cluster, expected, timeout=2.0)
    async with cluster.sdk(cluster.gateways[0]) as client:
        with pytest.raises(openai.NotFoundError):
            await client.chat.completions.create(model="sim-renamed", messages=[{"role": "user", "content": "x"}])

    # Two leaders never wrote at once: every write of the dead leader precedes every write of the new one.
    writes: dict[str, list[float]] = {}
    for record in cluster.api.requests.records:
        if record.verb in {"create", "update", "patch"} and record.resource in {"configmaps", "modelaliases"}:
            writes.setdefault(record.user, []).append(record.at)
    # kubectl sends no bearer token over plain HTTP, so its writes are anonymous ("").
    assert set(writes) - {""} == {"ctl-a", "ctl-b"}
    assert writes.get(leader.identity)
    assert writes.get(follower.identity)
    assert max(writes[leader.identity]) < min(writes[follower.identity])

    # Nothing lost: the table and every status match the objects.
    table = published(cluster.api)
    assert table is not None
    assert set(table.routes) == expected
    for gateway in cluster.gateways:
        assert gateway.generation() == table.generation

    # Graceful shutdown (SIGTERM) hands the Lease back.
    await stop_controller(follower)
    assert follower.process.returncode == 0
    assert lease_holder(cluster.api) is None


async def kubectl_get_settled(cluster: Cluster, count: int) -> str:
    """``kubectl get ma -o wide`` once every sample carries an Accepted condition."""
    output = await cluster.kubectl("get", "ma", "-n", DEMO, "-o", "wide")
    rows = [line for line in output.splitlines()[1:] if line.strip()]
    if len(rows) < count or any("True" not in row.split() and "False" not in row.split() for row in rows):
        return ""
    return output


async def eventually_async(make: Any, *, want: str | None = None, timeout: float = 10.0) -> str:
    deadline = time.perf_counter() + timeout
    while True:
        value = await make()
        if value and (want is None or value == want):
            return str(value)
        if time.perf_counter() > deadline:
            raise AssertionError(f"not settled within {timeout} s: {value!r}")
        await asyncio.sleep(0.05)
