"""End to end on the real kube-apiserver: kubectl apply of the samples, traffic through both gateways with
the openai SDK, a downgrade rejected with its reason, an edit, Programmed from the gateways, the leader
SIGKILLed and replaced, a delete, and a graceful hand-over, with two controllers and two gateways each
authorised by the RBAC of deploy/rbac through its own ServiceAccount token.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import openai
import pytest
import yaml

from controller import conflicts
from controller.kube.publishing import decode_table
from gateway.routing.table import RoutingTable
from tests.cluster.stack import (
    CONFIGMAP,
    CONTROLLER_SA,
    DEMO,
    DEPLOY,
    GATEWAY_SA,
    LEASE_SECONDS,
    SYSTEM,
    Installation,
    Stack,
    eventually,
    sim_alias,
)
from tests.support.kubeaudit import read_audit

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

SAMPLES = DEPLOY / "samples"


def expected_accepted(documents: list[dict[str, Any]]) -> set[str]:
    """What the conflict engine accepts of the stored samples, given the two Secrets the cluster holds."""
    objects = [conflicts.parse_or_invalid(doc) for doc in documents if doc.get("kind") == "ModelAlias"]
    credentials = {name: conflicts.CredentialInfo() for name in ("openai-key", "chatgpt-pro")}
    return set(conflicts.resolve(objects, credentials=credentials).table.routes)


def row(table_text: str, name: str) -> list[str]:
    for line in table_text.splitlines():
        if line.split() and line.split()[0] == name:
            return line.split()
    raise AssertionError(f"{name} not in kubectl output:\n{table_text}")


async def jsonpath(install: Installation, name: str, path: str) -> str:
    result = await install.kubectl("get", "ma", name, "-n", DEMO, "-o", f"jsonpath={path}")
    return result.out if result.code == 0 else ""


async def published_table(install: Installation) -> RoutingTable | None:
    async with install.admin() as api:
        answer = await api.get(f"/api/v1/namespaces/{SYSTEM}/configmaps/{CONFIGMAP}")
    if answer.status != 200:
        return None
    raw = decode_table(answer.body)
    return None if raw is None else RoutingTable.from_json(raw)


async def test_samples_apply_edit_downgrade_delete_and_leader_death(stack: Stack) -> None:
    install = stack.install
    for name in ("gw-0", "gw-1"):
        await stack.start_gateway(name)
    for identity in ("ctl-a", "ctl-b"):
        await stack.start_controller(identity)
    await eventually(stack.lease_holder, timeout=30, what="a leader")

    # 1. kubectl apply -f deploy/samples/: the server's CEL rules refuse the chatgpt alias in chat mode
    #    (kubectl exits 1 and applies the rest); both gateways serve the accepted ones.
    applied = await install.kubectl("apply", "-f", str(SAMPLES))
    assert applied.code == 1
    assert "provider chatgpt serves only the responses mode" in applied.err
    listed = await install.kubectl("get", "ma", "-n", DEMO, "-o", "yaml")
    stored = yaml.safe_load(listed.out)["items"]
    assert {obj["metadata"]["name"] for obj in stored} >= {"gpt-5", "gpt-5-chat", "gpt-4-1-mini"}
    assert "gpt-5-4-chat" not in {obj["metadata"]["name"] for obj in stored}
    expected = expected_accepted(stored)
    first = await stack.wait_all_serve(expected, timeout=10.0)
    sys.stderr.write(f"samples served by both gateways {first:.3f} s after kubectl apply returned\n")

    async def settled() -> str:
        result = await install.kubectl("get", "ma", "-n", DEMO, "-o", "wide")
        rows = [line.split() for line in result.out.splitlines()[1:] if line.strip()]
        done = len(rows) == len(stored) and all("True" in r or "False" in r for r in rows)
        return result.out if done else ""

    output = await eventually(settled, what="every sample carries Accepted")
    assert "False" in row(output, "gpt-5-chat")
    assert "ModeDowngradeRejected" in row(output, "gpt-5-chat")
    assert "True" in row(output, "gpt-5")
    # The rejection is also an Event the real server accepted (kubectl describe shows it).
    described = await install.kubectl("describe", "ma", "gpt-5-chat", "-n", DEMO)
    assert "ModeDowngradeRejected" in described.out.split("Events:")[-1], described.out

    # 2. Traffic through the SDK: an alias on a simulator backend in Responses mode, via chat completions.
    await install.kubectl(
        "apply", "-f", "-", stdin=yaml.safe_dump(sim_alias("sim", stack.simulator_url, mode="responses"))
    )
    expected |= {"sim"}
    await stack.wait_all_serve(expected, timeout=10.0)
    for gateway in stack.gateways:
        async with stack.sdk(gateway) as client:
            answer = await client.chat.completions.create(model="sim", messages=[{"role": "user", "content": "hello"}])
        assert answer.choices[0].message.content
    assert stack.upstream_paths(said="hello") == ["/v1/responses", "/v1/responses"]

    # 3. A downgrading alias on the same backend is rejected with its reason; traffic stays in Responses mode.
    await install.kubectl(
        "apply", "-f", "-", stdin=yaml.safe_dump(sim_alias("sim-chat", stack.simulator_url, mode="chat"))
    )
    accepted = '{.status.conditions[?(@.type=="Accepted")].status}/{.status.conditions[?(@.type=="Accepted")].reason}'

    async def sim_chat_rejected() -> bool:
        return await jsonpath(install, "sim-chat", accepted) == "False/ModeDowngradeRejected"

    await eventually(sim_chat_rejected, what="sim-chat rejected")
    assert await stack.all_serve(expected)
    async with stack.sdk(stack.gateways[1]) as client:
        await client.chat.completions.create(model="sim", messages=[{"role": "user", "content": "still there"}])
        with pytest.raises(openai.NotFoundError):
            await client.chat.completions.create(model="sim-chat", messages=[{"role": "user", "content": "x"}])
    assert stack.upstream_paths(said="still there") == ["/v1/responses"]

    # 4. Programmed: the controller found both gateways through their EndpointSlices and read their /status.
    async def programmed() -> bool:
        return await jsonpath(install, "sim", '{.status.conditions[?(@.type=="Programmed")].status}') == "True"

    await eventually(programmed, timeout=20, what="sim Programmed")

    # 5. An edit propagates: the alias claims another model name.
    edited = sim_alias("sim", stack.simulator_url, mode="responses", alias="sim-renamed")
    await install.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(edited))
    expected = (expected - {"sim"}) | {"sim-renamed"}
    edit = await stack.wait_all_serve(expected, timeout=10.0)
    sys.stderr.write(f"edit served by both gateways {edit:.3f} s after kubectl apply returned\n")

    # 6. The leader is SIGKILLed: the other replica takes the real Lease over once it expires.
    holder = await stack.lease_holder()
    leader = next(c for c in stack.controllers if c.name == holder)
    follower = next(c for c in stack.controllers if c is not leader)
    leader.kill()
    died = time.monotonic()

    async def follower_leads() -> bool:
        return await stack.lease_holder() == follower.name

    await eventually(follower_leads, timeout=LEASE_SECONDS + 10, interval=0.1, what="the follower takes over")
    sys.stderr.write(f"takeover {time.monotonic() - died:.2f} s after SIGKILL (lease {LEASE_SECONDS} s)\n")

    # 7. A delete propagates through the new leader; with "sim" gone nothing holds the backend in Responses
    #    mode, so "sim-chat" is accepted now.
    deleted = await install.kubectl("delete", "ma", "sim", "-n", DEMO)
    assert deleted.code == 0, deleted.err
    expected = (expected - {"sim-renamed"}) | {"sim-chat"}
    await stack.wait_all_serve(expected, timeout=10.0)
    async with stack.sdk(stack.gateways[0]) as client:
        with pytest.raises(openai.NotFoundError):
            await client.chat.completions.create(model="sim-renamed", messages=[{"role": "user", "content": "x"}])

    # Two leaders never wrote at once: by the API server's own audit log, every write of the dead leader's
    # token precedes every write of the new leader's token.
    controller_user = f"system:serviceaccount:{SYSTEM}:{CONTROLLER_SA}"
    writes: dict[str, list[Any]] = {}
    for entry in read_audit(install.cluster.audit_log):
        wrote = entry.verb in {"create", "update", "patch"} and 200 <= entry.code < 300
        if entry.user == controller_user and wrote and entry.resource in {"configmaps", "modelaliases"}:
            writes.setdefault(entry.token_id, []).append(entry)
    assert set(writes) == {leader.token_id, follower.token_id}
    # ... and the real RBAC authorised every request the four processes made.
    product = {controller_user, f"system:serviceaccount:{SYSTEM}:{GATEWAY_SA}"}
    refused = [
        (e.user, e.verb, e.uri) for e in read_audit(install.cluster.audit_log) if e.user in product and e.code == 403
    ]
    assert refused == []
    assert max(e.completed for e in writes[leader.token_id]) < min(e.received for e in writes[follower.token_id])

    # Nothing lost: the table and what both gateways serve agree.
    table = await published_table(install)
    assert table is not None
    assert set(table.routes) == expected

    async def gateways_on(generation: int) -> bool:
        return all([await stack.served_generation(g) == generation for g in stack.gateways])

    await eventually(lambda: gateways_on(table.generation), what="both gateways on the published generation")

    # Graceful shutdown (SIGTERM) hands the Lease back.
    assert follower.terminate() == 0
    assert await stack.lease_holder() is None
