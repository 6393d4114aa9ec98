"""Two replicas on one API server: one leader writes, the follower stays warm and takes over."""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import AsyncIterator

import pytest

from controller.__main__ import Controller
from tests.controller.kube_rig import (
    NAMESPACE,
    alias_body,
    crash,
    eventually,
    published,
    reason,
    running_controller,
    settings_for,
    started_api,
)
from tests.kubeapi import KubeApiServer

WRITES = "create,update,patch"


@pytest.fixture
async def api() -> AsyncIterator[KubeApiServer]:
    async with started_api() as server:
        yield server


def writes_by(api: KubeApiServer, user: str) -> list[float]:
    """When ``user`` wrote the table or a status (Lease renewals excluded)."""
    return [
        r.at
        for r in api.requests.records
        if r.user == user and r.verb in WRITES.split(",") and r.resource in {"configmaps", "modelaliases", "events"}
    ]


def lease_holder(api: KubeApiServer) -> str | None:
    lease = api.get("coordination.k8s.io/v1", "leases", "aliasgate-controller", NAMESPACE)
    return None if lease is None else lease["spec"].get("holderIdentity")


def leader_of(*controllers: Controller) -> list[str]:
    return [c.settings.identity for c in controllers if c.elector is not None and c.elector.is_leader()]


async def test_only_the_leader_writes_and_the_follower_stays_warm(api: KubeApiServer, tmp_path: pathlib.Path) -> None:
    api.create(alias_body("gpt-5", mode="responses"))
    async with (
        running_controller(settings_for(api, tmp_path, identity="a", leader_election=True)) as a,
        running_controller(settings_for(api, tmp_path, identity="b", leader_election=True)) as b,
    ):
        leaders = await eventually(lambda: leader_of(a, b))
        assert len(leaders) == 1
        await eventually(lambda: reason(api, "gpt-5"))
        api.create(alias_body("gpt-5-chat", mode="chat"))
        assert await eventually(lambda: reason(api, "gpt-5-chat")) == ("False", "ModeDowngradeRejected")
        follower = b if leaders == ["a"] else a
        await eventually(lambda: len(follower.aliases) == 2)  # warm inventory
        assert follower.ready()
        assert writes_by(api, follower.settings.identity) == []
        assert writes_by(api, leaders[0])
        lease = api.get("coordination.k8s.io/v1", "leases", "aliasgate-controller", NAMESPACE)
        assert lease is not None
        assert len(lease["spec"]["renewTime"].split(".")[1]) == 7  # six digits and "Z"
        metrics = follower.metrics.render().decode()
        assert "aliasgate_controller_leader 0.0" in metrics


async def test_a_graceful_leader_releases_the_lease_and_the_other_takes_over_at_once(
    api: KubeApiServer, tmp_path: pathlib.Path
) -> None:
    api.create(alias_body("gpt-5", mode="responses"))
    settings_a = settings_for(api, tmp_path, identity="a", leader_election=True)
    async with running_controller(settings_a) as a:
        await eventually(lambda: leader_of(a) == ["a"])
        async with running_controller(settings_for(api, tmp_path, identity="b", leader_election=True)) as b:
            await eventually(lambda: len(b.aliases) == 1)
            await a.stop()
            started = asyncio.get_running_loop().time()
            await eventually(lambda: leader_of(b) == ["b"], timeout=settings_a.lease_duration_seconds)
            # Released, so no wait for expiry: one retry period, far below the lease duration.
            assert asyncio.get_running_loop().time() - started < settings_a.lease_duration_seconds / 2
            api.create(alias_body("gpt-5-team"))
            table = await eventually(lambda: (t := published(api)) is not None and "gpt-5-team" in t.routes and t)
            assert set(table.routes) == {"gpt-5", "gpt-5-team"}


async def test_a_dead_leader_is_replaced_within_the_lease_duration_and_tenures_never_overlap(
    api: KubeApiServer, tmp_path: pathlib.Path
) -> None:
    api.create(alias_body("gpt-5", mode="responses"))
    settings_a = settings_for(api, tmp_path, identity="a", leader_election=True)
    settings_b = settings_for(api, tmp_path, identity="b", leader_election=True)
    async with running_controller(settings_a) as a:
        await eventually(lambda: leader_of(a) == ["a"])
        await eventually(lambda: reason(api, "gpt-5"))
        async with running_controller(settings_b) as b:
            await eventually(lambda: len(b.aliases) == 1)
            loop_time = asyncio.get_running_loop().time
            await crash(a)
            died = loop_time()
            await eventually(lambda: leader_of(b) == ["b"], timeout=settings_b.lease_duration_seconds + 2)
            took_over = loop_time() - died
            assert took_over < settings_b.lease_duration_seconds + settings_b.retry_period_seconds + 0.5
            assert lease_holder(api) == "b"
            api.create(alias_body("gpt-5-team"))
            assert await eventually(lambda: reason(api, "gpt-5-team")) == ("True", "Accepted")
    a_writes, b_writes = writes_by(api, "a"), writes_by(api, "b")
    assert a_writes
    assert b_writes
    assert max(a_writes) < min(b_writes)


async def test_an_api_outage_longer_than_the_renew_deadline_makes_the_leader_step_down_then_recover(
    api: KubeApiServer, tmp_path: pathlib.Path
) -> None:
    api.create(alias_body("gpt-5", mode="responses"))
    async with (
        running_controller(settings_for(api, tmp_path, identity="a", leader_election=True)) as a,
        running_controller(settings_for(api, tmp_path, identity="b", leader_election=True)) as b,
    ):
        await eventually(lambda: reason(api, "gpt-5"))
        # Long enough that a loaded machine still sees the step-down (at the renew deadline) before it ends.
        await api.outage(a.settings.renew_deadline_seconds + 4.0)
        api.create(alias_body("gpt-5-team"))  # written while nobody can see it
        await eventually(lambda: leader_of(a, b) == [], timeout=a.settings.renew_deadline_seconds + 3.5)
        await eventually(lambda: "aliasgate_controller_leader 0.0" in a.metrics.render().decode())
        await eventually(lambda: "aliasgate_controller_leader 0.0" in b.metrics.render().decode())
        assert await eventually(lambda: reason(api, "gpt-5-team"), timeout=15) == ("True", "Accepted")
        assert len(leader_of(a, b)) == 1
        table = published(api)
        assert table is not None
        assert set(table.routes) == {"gpt-5", "gpt-5-team"}
