"""The reconciler against in-memory ports: publish diffing, status diffing, events, leadership, debounce.

The ports are small in-memory implementations that behave like the API adapters (a status write is
echoed back into the inventory as the watch would, with a new resourceVersion); the adapters themselves
are tested against the Kubernetes API test server.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from controller import ports
from controller.inventory import ALL_NAMESPACES, Change, Inventory, secret_essence
from controller.metrics import ControllerMetrics
from controller.reconciler import Debouncer, Reconciler, same_status
from gateway.routing.table import RoutingTable

NOW = datetime(2026, 11, 26, 6, 0, 0, tzinfo=UTC)
NAMESPACE = "aliasgate-system"
_uids = itertools.count(1)


def alias(
    name: str,
    *,
    mode: str | None = None,
    model: str = "gpt-5",
    ns: str = "team-a",
    created: str = "2026-01-01T00:00:00Z",
) -> dict[str, Any]:
    spec: dict[str, Any] = {"backend": {"provider": "openai", "model": model, "credentials": "openai-key"}}
    if mode:
        spec["mode"] = mode
    return {
        "apiVersion": "aliasgate.io/v1alpha1",
        "kind": "ModelAlias",
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": f"uid-{name}",
            "generation": 1,
            "resourceVersion": str(next(_uids)),
            "creationTimestamp": created,
        },
        "spec": spec,
    }


def secret(name: str = "openai-key", annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": NAMESPACE, "uid": f"s-{name}", "resourceVersion": "1"}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta}


class MemoryPublisher(ports.TablePublisher):
    def __init__(self) -> None:
        self.table: RoutingTable | None = None
        self.writes = 0
        self.fail_next = 0

    async def publish(self, table: RoutingTable) -> ports.PublishResult:
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("API server unavailable")
        if self.table is not None and self.table.sha256 == table.sha256:
            return ports.PublishResult(table=self.table, written=False)
        self.table = table.with_generation((self.table.generation if self.table else 0) + 1)
        self.writes += 1
        return ports.PublishResult(table=self.table, written=True)


class EchoingStatusWriter(ports.StatusWriter):
    """Stores the status and echoes the object back into the inventory, like the watch would."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.writes: list[tuple[str, str]] = []

    async def write_status(
        self,
        *,
        namespace: str,
        name: str,
        generation: int | None,
        resource_version: str | None,
        status: Mapping[str, Any],
    ) -> ports.StatusWriteResult:
        raw = self.inventory.get(namespace, name)
        if raw is None:
            return "gone"
        self.writes.append((namespace, name))
        stored = {k: v for k, v in status.items() if v is not None}  # merge patch: null deletes
        echoed = {**raw, "status": stored, "metadata": {**raw["metadata"], "resourceVersion": str(next(_uids))}}
        self.inventory.upsert(echoed)
        return "written"


class ListEvents(ports.EventRecorder):
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    async def record(
        self, *, namespace: str, name: str, uid: str | None, reason: str, message: str, warning: bool
    ) -> None:
        self.events.append((f"{namespace}/{name}", reason))


class Switch(ports.Leadership):
    def __init__(self, leader: bool = True) -> None:
        self.leader = leader

    def is_leader(self) -> bool:
        return self.leader


class Rig:
    def __init__(self, objects: list[dict[str, Any]], *, leader: bool = True) -> None:
        self.aliases = Inventory()
        self.aliases.replace_scope(ALL_NAMESPACES, objects)
        self.secrets = Inventory(essence=secret_essence, scopes=frozenset({NAMESPACE}))
        self.secrets.replace_scope(NAMESPACE, [secret()])
        self.publisher = MemoryPublisher()
        self.statuses = EchoingStatusWriter(self.aliases)
        self.events = ListEvents()
        self.leadership = Switch(leader)
        self.metrics = ControllerMetrics()
        self.reconciler = Reconciler(
            aliases=self.aliases,
            secrets=self.secrets,
            publisher=self.publisher,
            statuses=self.statuses,
            events=self.events,
            leadership=self.leadership,
            metrics=self.metrics,
            clock=lambda: NOW,
            debounce_seconds=0.01,
            debounce_max_seconds=0.05,
            retry_seconds=0.01,
            programmed_grace_seconds=0.2,
        )

    def status(self, name: str, ns: str = "team-a") -> dict[str, Any]:
        raw = self.aliases.get(ns, name)
        assert raw is not None
        return dict(raw.get("status") or {})

    def condition(self, name: str, kind: str) -> dict[str, Any]:
        return next(c for c in self.status(name)["conditions"] if c["type"] == kind)


async def test_first_pass_publishes_the_table_and_writes_every_status() -> None:
    rig = Rig([alias("gpt-5", mode="responses"), alias("gpt-5-team")])
    await rig.reconciler.reconcile()
    assert rig.publisher.table is not None
    assert rig.publisher.table.generation == 1
    assert set(rig.publisher.table.routes) == {"gpt-5", "gpt-5-team"}
    assert rig.status("gpt-5-team")["resolvedMode"] == "responses"
    assert rig.condition("gpt-5", "Accepted")["status"] == "True"
    assert sorted(rig.statuses.writes) == [("team-a", "gpt-5"), ("team-a", "gpt-5-team")]
    assert rig.reconciler.ready


async def test_a_second_pass_over_the_same_objects_writes_nothing() -> None:
    rig = Rig([alias("gpt-5", mode="responses")])
    await rig.reconciler.reconcile()
    await rig.reconciler.reconcile(Change.SPEC)
    await rig.reconciler.reconcile(Change.STATUS)
    assert rig.publisher.writes == 1
    assert len(rig.statuses.writes) == 1


async def test_downgrading_alias_is_rejected_and_traffic_stays_in_responses_mode() -> None:
    rig = Rig([alias("gpt-5", mode="responses")])
    await rig.reconciler.reconcile()
    rig.aliases.upsert(alias("gpt-5-chat", mode="chat", created="2026-02-01T00:00:00Z"))
    await rig.reconciler.reconcile()
    table = rig.publisher.table
    assert table is not None
    assert set(table.routes) == {"gpt-5"}
    assert table.routes["gpt-5"].mode == "responses"
    accepted = rig.condition("gpt-5-chat", "Accepted")
    assert (accepted["status"], accepted["reason"]) == ("False", "ModeDowngradeRejected")
    assert "resolvedMode" not in rig.status("gpt-5-chat")


async def test_a_rejection_emits_one_event_however_often_it_is_reconciled() -> None:
    rig = Rig([alias("gpt-5", mode="responses"), alias("gpt-5-chat", mode="chat", created="2026-02-01T00:00:00Z")])
    for _ in range(3):
        await rig.reconciler.reconcile(Change.SPEC)
    assert rig.events.events == [("team-a/gpt-5-chat", "ModeDowngradeRejected")]


async def test_unknown_credentials_are_rejected_through_the_secret_inventory() -> None:
    rig = Rig([alias("gpt-5")])
    rig.secrets.replace_scope(NAMESPACE, [])
    await rig.reconciler.reconcile()
    assert rig.condition("gpt-5", "Accepted")["reason"] == "CredentialsNotFound"


async def test_secret_annotation_forbidding_the_namespace_is_honoured() -> None:
    rig = Rig([alias("gpt-5")])
    rig.secrets.replace_scope(NAMESPACE, [secret(annotations={"aliasgate.io/allowed-namespaces": "team-b"})])
    await rig.reconciler.reconcile()
    assert rig.condition("gpt-5", "Accepted")["reason"] == "CredentialsNotPermitted"


@pytest.mark.parametrize("value", ["*", " * ", "team-b,*", "team-a"])
async def test_secret_annotation_allowing_every_namespace_or_this_one_is_honoured(value: str) -> None:
    """``*`` means every namespace in the cluster too, exactly as in ``aliasgate check`` (one parser)."""
    rig = Rig([alias("gpt-5")])
    rig.secrets.replace_scope(NAMESPACE, [secret(annotations={"aliasgate.io/allowed-namespaces": value})])
    await rig.reconciler.reconcile()
    assert rig.condition("gpt-5", "Accepted")["reason"] == "Accepted"
    assert rig.condition("gpt-5", "ResolvedRefs")["reason"] == "ResolvedRefs"


async def test_follower_resolves_but_never_writes_until_it_leads() -> None:
    rig = Rig([alias("gpt-5")], leader=False)
    await rig.reconciler.reconcile()
    assert rig.publisher.writes == 0
    assert rig.statuses.writes == []
    assert rig.reconciler.ready  # a warm follower is ready
    rig.leadership.leader = True
    await rig.reconciler.reconcile(Change.STATUS)  # the first pass as leader is always a full one
    assert rig.publisher.writes == 1
    assert rig.statuses.writes == [("team-a", "gpt-5")]


async def test_a_new_leader_writes_no_status_before_its_first_publish() -> None:
    """A follower's resolution may already hold an alias the table lacks: statuses wait for the publish,
    so no status says Accepted for an alias the published table does not route."""
    rig = Rig([alias("gpt-5")], leader=False)
    await rig.reconciler.reconcile()
    rig.aliases.upsert(alias("gpt-5-team"))
    await rig.reconciler.spec_pass()  # resolved as a follower: knows gpt-5-team, publishes nothing
    rig.leadership.leader = True
    rig.reconciler.leadership_changed(True)
    await rig.reconciler.status_pass()  # e.g. the gateway poller woke the status loop first
    assert rig.statuses.writes == []
    assert rig.publisher.table is None
    await rig.reconciler.spec_pass()
    assert rig.publisher.table is not None
    assert set(rig.publisher.table.routes) == {"gpt-5", "gpt-5-team"}
    await rig.reconciler.status_pass()
    assert sorted(rig.statuses.writes) == [("team-a", "gpt-5"), ("team-a", "gpt-5-team")]


async def test_an_incomplete_inventory_is_never_published() -> None:
    rig = Rig([alias("gpt-5")])
    rig.secrets.listed.clear()
    await rig.reconciler.reconcile()
    assert rig.publisher.table is None
    assert not rig.reconciler.ready


async def test_programmed_follows_what_the_gateways_serve() -> None:
    rig = Rig([alias("gpt-5")])
    await rig.reconciler.reconcile()
    assert rig.condition("gpt-5", "Programmed")["status"] == "Unknown"
    await rig.reconciler.on_served({"http://10.0.0.1:9090": 0, "http://10.0.0.2:9090": 1})
    await rig.reconciler.reconcile(Change.STATUS)
    assert rig.condition("gpt-5", "Programmed")["status"] == "False"
    await rig.reconciler.on_served({"http://10.0.0.1:9090": 1, "http://10.0.0.2:9090": 1})
    await rig.reconciler.reconcile(Change.STATUS)
    assert rig.condition("gpt-5", "Programmed")["status"] == "True"
    assert rig.publisher.writes == 1


async def test_run_loop_debounces_a_burst_into_one_publish() -> None:
    rig = Rig([])
    task = asyncio.create_task(rig.reconciler.run())
    try:
        for index in range(20):
            rig.aliases.upsert(alias(f"a{index}"))
            rig.reconciler.notify(Change.SPEC)
        async with asyncio.timeout(5):
            while rig.publisher.table is None or len(rig.publisher.table.routes) < 20:
                await asyncio.sleep(0.01)
        assert rig.publisher.writes == 1
    finally:
        task.cancel()


async def test_run_loop_retries_a_failed_publish() -> None:
    rig = Rig([alias("gpt-5")])
    rig.publisher.fail_next = 2
    task = asyncio.create_task(rig.reconciler.run())
    try:
        rig.reconciler.notify(Change.SPEC)
        async with asyncio.timeout(5):
            while rig.publisher.table is None:
                await asyncio.sleep(0.01)
        assert rig.metrics.reconciles.labels("error")._value.get() == 2
    finally:
        task.cancel()


async def test_alias_gauge_counts_accepted_and_rejected_by_reason() -> None:
    rig = Rig([alias("gpt-5", mode="responses"), alias("gpt-5-chat", mode="chat", created="2026-02-01T00:00:00Z")])
    await rig.reconciler.reconcile()
    text = rig.metrics.render().decode()
    assert 'aliasgate_controller_aliases{reason="Accepted",state="accepted"} 1.0' in text
    assert 'aliasgate_controller_aliases{reason="ModeDowngradeRejected",state="rejected"} 1.0' in text


def test_a_null_in_the_desired_status_matches_an_absent_field() -> None:
    assert same_status({"a": 1}, {"a": 1, "resolvedMode": None})
    assert not same_status({"a": 1}, {"a": 2})
    assert not same_status(None, {"a": 1})


@pytest.mark.parametrize("gap", [0.0, 0.005])
async def test_debouncer_coalesces_a_burst(gap: float) -> None:
    debouncer = Debouncer(quiet=0.05, max_wait=1.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(5):
        debouncer.trigger()
        await asyncio.sleep(gap)
    await asyncio.wait_for(debouncer.wait(), timeout=2)
    assert loop.time() - started >= 0.05
    waiter = asyncio.create_task(debouncer.wait())
    await asyncio.sleep(0.1)
    assert not waiter.done()  # the burst was consumed: nothing left to fire for
    waiter.cancel()


async def test_debouncer_fires_by_max_wait_under_a_steady_trickle() -> None:
    debouncer = Debouncer(quiet=0.05, max_wait=0.2)

    async def trickle() -> None:
        while True:
            debouncer.trigger()
            await asyncio.sleep(0.01)

    task = asyncio.create_task(trickle())
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        await asyncio.wait_for(debouncer.wait(), timeout=2)
    finally:
        task.cancel()
    assert 0.19 <= loop.time() - started < 1.0
