"""Faults a real control plane produces by itself: a 409 on a stale publish, resourceVersions expired by
etcd compaction (a 410 on a list, and inside a watch stream after a restart), and the API server gone
for 30 s then restarted while controllers and gateways run."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
import yaml

from aliasgate.runtime.kubewatch import WatchPolicy
from controller import conflicts
from controller.kube import client as kube_client
from controller.kube.publishing import ConfigMapPublisher
from gateway.kube.client import KubeConnection, watch_named
from gateway.routing.envelope import SHA_ANNOTATION
from gateway.routing.table import RoutingTable
from tests.cluster.stack import (
    CONFIGMAP,
    CONTROLLER_SA,
    GATEWAY_SA,
    SYSTEM,
    TEAM,
    Installation,
    Stack,
    eventually,
    reset,
    sim_alias,
)
from tests.support.kubeaudit import read_audit
from tests.support.kubeclients import KubeHttp
from tests.support.kubecluster import APISERVER

pytestmark = [pytest.mark.slow]

CONFIGMAPS = f"/api/v1/namespaces/{SYSTEM}/configmaps"
OUTAGE_SECONDS = 30.0


def table_of(*models: str) -> RoutingTable:
    """A routing table the conflict engine makes of one alias per model."""
    docs = [
        {"apiVersion": "aliasgate.io/v1alpha1", "kind": "ModelAlias",
         "metadata": {"name": m, "namespace": TEAM, "uid": f"uid-{m}", "generation": 1,
                      "creationTimestamp": "2026-01-01T00:00:00Z"},
         "spec": {"backend": {"provider": "openai", "model": m, "credentials": "openai-key"}}}
        for m in models
    ]  # fmt: skip
    objects = [conflicts.parse_or_invalid(doc) for doc in docs]
    return conflicts.resolve(objects, credentials={"openai-key": conflicts.CredentialInfo()}).table


async def test_a_stale_publish_is_a_real_409_and_is_retried(installation: Installation, admin: KubeHttp) -> None:
    await reset(installation)
    kubeconfig, token_id = installation.kubeconfig_for(CONTROLLER_SA, "publisher")
    client = await kube_client.connect(str(kubeconfig))
    try:
        publisher = ConfigMapPublisher(client=client, namespace=SYSTEM, name=CONFIGMAP)
        first = await publisher.publish(table_of("gpt-5"))
        assert first.written
        # Someone else writes the ConfigMap; this publisher still believes its own resourceVersion.
        foreign = await admin.merge(f"{CONFIGMAPS}/{CONFIGMAP}", {"metadata": {"labels": {"edited-by": "admin"}}})
        assert foreign.status == 200
        second = await publisher.publish(table_of("gpt-5", "gpt-4.1"))
    finally:
        await client.close()
    assert second.written
    assert publisher.conflicts == 1
    stored = (await admin.get(f"{CONFIGMAPS}/{CONFIGMAP}")).body
    assert stored["metadata"]["annotations"][SHA_ANNOTATION] == second.table.sha256
    # The API server's audit log has the refused write: an update by this token answered 409.
    codes = [
        e.code for e in read_audit(installation.cluster.audit_log) if e.token_id == token_id and e.verb == "update"
    ]
    assert codes == [409, 200]


async def test_compaction_expires_old_resource_versions(admin: KubeHttp) -> None:
    """The API server compacts etcd every 10 s (--etcd-compaction-interval): a list at an exact
    resourceVersion older than that is 410 Expired."""
    created = await admin.create(CONFIGMAPS, {"metadata": {"generateName": "compaction-"}, "data": {"n": "0"}})
    assert created.status == 201
    path = f"{CONFIGMAPS}/{created.body['metadata']['name']}"
    old = created.body["metadata"]["resourceVersion"]
    exact = {"resourceVersion": old, "resourceVersionMatch": "Exact"}
    listed = await admin.get(CONFIGMAPS, **exact)
    assert listed.status == 200
    assert listed.body["metadata"]["resourceVersion"] == old

    async def expired() -> Any:
        await admin.merge(path, {"data": {"n": str(time.time())}})  # the revision moves on
        answer = await admin.get(CONFIGMAPS, **exact)
        return answer if answer.status == 410 else None

    gone = await eventually(expired, timeout=60, interval=1.0, what="compaction past the old resourceVersion")
    assert gone.reason == "Expired"
    assert "too old" in gone.message
    await admin.delete(path)


async def _served(stack: Stack, model: str) -> bool:
    """Both gateways answer a chat completion for ``model`` (from the table they hold)."""
    for gateway in stack.gateways:
        async with stack.sdk(gateway) as client:
            answer = await client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
        if not answer.choices[0].message.content:
            return False
    return True


async def _metric(url: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    async with aiohttp.ClientSession() as session, session.get(url + "/metrics") as response:
        text = await response.text()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(part in line for part in wanted.split(",")):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.timeout(300)
async def test_api_server_down_30_seconds_then_restarted(stack: Stack) -> None:
    install, cluster = stack.install, stack.install.cluster
    for name in ("gw-0", "gw-1"):
        await stack.start_gateway(name)
    for identity in ("ctl-a", "ctl-b"):
        await stack.start_controller(identity)
    await eventually(stack.lease_holder, timeout=30, what="a leader")
    before = sim_alias("before", stack.simulator_url, mode="responses")
    assert (await install.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(before))).code == 0
    await stack.wait_all_serve({"before"}, timeout=15)
    async with install.admin() as api:
        old_version = (await api.get(f"{CONFIGMAPS}/{CONFIGMAP}")).body["metadata"]["resourceVersion"]
    # The gateways' own view of the table, with the product's watch code and the gateway's token.
    mirrored: list[dict[str, Any] | None] = []
    failures: list[str] = []
    kubeconfig, _ = install.kubeconfig_for(GATEWAY_SA, "watch-probe")

    async def on_object(obj: dict[str, Any] | None) -> None:
        mirrored.append(obj)

    async def on_failure(reason: str) -> None:
        failures.append(reason)

    probe = asyncio.create_task(
        watch_named(connection=KubeConnection.from_kubeconfig(kubeconfig), collection_path=CONFIGMAPS, name=CONFIGMAP,
                    on_object=on_object, on_failure=on_failure, policy=WatchPolicy(backoff_max_seconds=2.0))
    )  # fmt: skip
    try:
        await eventually(lambda: _true(bool(mirrored)), what="the probe's first list")

        # The API server goes away. Meanwhile etcd moves on and is compacted: every resourceVersion
        # handed out so far is history.
        cluster.stop(APISERVER)
        down_at = time.monotonic()
        revision = cluster.etcd_move_on_and_compact()
        assert revision > int(old_version)
        served_during = 0
        while time.monotonic() - down_at < OUTAGE_SECONDS:
            assert await _served(stack, "before")  # the data plane serves its last table throughout
            served_during += 1
            await asyncio.sleep(3)
        assert all(p.alive() for p in [*stack.gateways, *stack.controllers]), stack.logs()
        assert failures, "the probe's watch noticed the outage"
        restarted = datetime.now(UTC)  # taken before the start: it serves requests before /readyz says ready
        cluster.start(APISERVER)
        sys.stderr.write(f"API server down {time.monotonic() - down_at:.1f} s, {served_during} rounds served\n")

        # A watch from a resourceVersion of before: a 200 stream whose one event is an ERROR carrying 410.
        async def watch_from_old() -> list[Any] | None:
            async with KubeHttp(cluster) as api:
                status, events = await api.watch_events(CONFIGMAPS, limit=1, resourceVersion=old_version)
            return events if status == 200 else None  # e.g. 429 while the watch cache initialises

        (event,) = await eventually(watch_from_old, timeout=60, interval=0.5, what="a watch from the old version")
        assert event["type"] == "ERROR"
        assert event["object"]["code"] == 410
        assert event["object"]["reason"] == "Expired"

        # Everything recovers: a leader again, a new alias served by both gateways, the probe re-listed.
        await eventually(stack.lease_holder, timeout=60, what="a leader after the restart")
        after = sim_alias("after", stack.simulator_url, mode="responses")
        assert (await install.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(after))).code == 0
        recovery = await stack.wait_all_serve({"before", "after"}, timeout=60)
        sys.stderr.write(f"new alias served {recovery:.2f} s after its apply, post-restart\n")
        await eventually(lambda: _true(_has_model(mirrored[-1], "after")), what="the probe sees the new table")
    finally:
        probe.cancel()
        await asyncio.gather(probe, return_exceptions=True)

    # The 410 made each gateway list again after the restart (a plain connection error resumes the watch).
    gateway_user = f"system:serviceaccount:{SYSTEM}:{GATEWAY_SA}"
    relisted = {
        e.token_id
        for e in read_audit(cluster.audit_log)
        if e.user == gateway_user and e.verb == "list" and e.resource == "configmaps" and e.received > restarted
    }
    assert {g.token_id for g in stack.gateways} <= relisted
    # ... and each controller's watches were restarted as expired.
    for controller in stack.controllers:
        assert await _metric(controller.admin_url, "aliasgate_controller_watch_restarts_total", reason="expired") > 0


async def _true(value: bool) -> bool:
    return value


def _has_model(configmap: dict[str, Any] | None, model: str) -> bool:
    return configmap is not None and model in str((configmap.get("data") or {}).get("table.json", ""))
