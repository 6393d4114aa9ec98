"""The controller with its real kube adapters against the Kubernetes API test server (one process)."""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from controller.inventory import Change
from gateway.routing.table import RoutingTable
from tests.controller.kube_rig import (
    CONFIGMAP,
    NAMESPACE,
    alias_body,
    condition,
    eventually,
    published,
    reason,
    running_controller,
    running_gateway,
    settings_for,
    started_api,
)
from tests.kubeapi import KubeApiServer, WriteOptions
from tests.support.hostaddr import host_address
from tests.support.metrics import sample_value, scrape
from tests.support.ports import free_port


@pytest.fixture
async def api() -> AsyncIterator[KubeApiServer]:
    async with started_api() as server:
        yield server


async def test_controller_publishes_the_table_and_writes_statuses(api: KubeApiServer, tmp_path: pathlib.Path) -> None:
    api.create(alias_body("gpt-5", mode="responses"))
    api.create(alias_body("gpt-5-team"))
    async with running_controller(settings_for(api, tmp_path)) as controller:
        table = await eventually(lambda: published(api))
        assert set(table.routes) == {"gpt-5", "gpt-5-team"}
        assert table.generation == 1
        assert await eventually(lambda: reason(api, "gpt-5-team")) == ("True", "Accepted")
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{controller.admin_port}/readyz") as resp:
                assert resp.status == 200
            text = await scrape(f"http://127.0.0.1:{controller.admin_port}", session)
        assert sample_value(text, "aliasgate_controller_aliases", reason="Accepted", state="accepted") == 2.0
        assert sample_value(text, "aliasgate_controller_leader") == 1.0


def configmap_writes(api: KubeApiServer) -> int:
    return api.requests.count(verb="create,update,patch", resource="configmaps", name=CONFIGMAP) + api.requests.count(
        verb="create", resource="configmaps", namespace=NAMESPACE
    )


def status_writes(api: KubeApiServer) -> int:
    return api.requests.count(verb="update,patch", resource="modelaliases", subresource="status")


async def test_table_is_published_only_when_its_content_changes(api: KubeApiServer, tmp_path: pathlib.Path) -> None:
    api.create(alias_body("gpt-5", mode="responses"))
    async with running_controller(settings_for(api, tmp_path)) as controller:
        await eventually(lambda: reason(api, "gpt-5"))
        writes = configmap_writes(api)
        statuses = status_writes(api)
        # A label change is not a table change; a status pass finds nothing to change either.
        obj = api.get("aliasgate.io/v1alpha1", "modelaliases", "gpt-5", "team-a")
        assert obj is not None
        controller.reconciler.notify(controller.reconciler.aliases.upsert(obj))
        passes = controller.reconciler.passes
        api.create(alias_body("unrelated", ns="team-b", model="gpt-4.1"))
        await eventually(lambda: reason(api, "unrelated", "team-b"))
        assert controller.reconciler.passes > passes
        table = published(api)
        assert table is not None
        assert table.generation == 2
        assert configmap_writes(api) == writes + 1
        assert status_writes(api) == statuses + 1  # only the new object's status


async def test_generation_continues_from_the_published_configmap_after_a_restart(
    api: KubeApiServer, tmp_path: pathlib.Path
) -> None:
    api.create(alias_body("gpt-5", mode="responses"))
    async with running_controller(settings_for(api, tmp_path)):
        await eventually(lambda: published(api))
    async with running_controller(settings_for(api, tmp_path, identity="controller-b")):
        await eventually(lambda: reason(api, "gpt-5"))
        table = published(api)
        assert table is not None
        assert table.generation == 1
        api.create(alias_body("gpt-5-team"))
        table = await eventually(lambda: (t := published(api)) is not None and t.generation == 2 and t)
        assert set(table.routes) == {"gpt-5", "gpt-5-team"}


async def test_a_conflict_on_publish_is_retried_after_a_fresh_read(api: KubeApiServer, tmp_path: pathlib.Path) -> None:
    api.create(alias_body("gpt-5", mode="responses"))
    async with running_controller(settings_for(api, tmp_path)) as controller:
        await eventually(lambda: published(api))
        rule = api.faults.inject(status=409, times=2, verb="update", resource="configmaps")
        api.create(alias_body("gpt-5-team"))
        table = await eventually(lambda: (t := published(api)) is not None and "gpt-5-team" in t.routes and t)
        assert table.generation == 2
        assert rule.hits == 2
        assert controller.publisher.conflicts == 2
        assert (
            'aliasgate_controller_table_publishes_total{result="conflict"} 2.0' in controller.metrics.render().decode()
        )


async def test_a_stale_status_write_is_retried_and_a_deleted_object_tolerated(
    api: KubeApiServer, tmp_path: pathlib.Path
) -> None:
    rule = api.faults.inject(status=409, times=1, verb="patch", resource="modelaliases/status")
    api.create(alias_body("gpt-5", mode="responses"))
    async with running_controller(settings_for(api, tmp_path)) as controller:
        assert await eventually(lambda: reason(api, "gpt-5")) == ("True", "Accepted")
        assert rule.hits == 1
        assert controller.statuses.conflicts == 1
        # A 404 means the object was deleted meanwhile: skipped quietly, and the loop carries on.
        gone = api.faults.inject(status=404, times=1, verb="patch", resource="modelaliases/status")
        api.create(alias_body("gone-soon"))
        await eventually(lambda: gone.hits == 1)
        api.create(alias_body("next-one", model="gpt-4.1"))
        assert await eventually(lambda: reason(api, "next-one")) == ("True", "Accepted")


async def test_a_rejection_is_reported_by_one_event(api: KubeApiServer, tmp_path: pathlib.Path) -> None:
    api.create(alias_body("gpt-5", mode="responses"))
    api.create(alias_body("gpt-5-chat", mode="chat"))
    async with running_controller(settings_for(api, tmp_path)) as controller:
        assert await eventually(lambda: reason(api, "gpt-5-chat")) == ("False", "ModeDowngradeRejected")
        events = await eventually(lambda: api.list("v1", "events", "team-a"))
        passes = controller.reconciler.passes
        controller.reconciler.notify(Change.SPEC)  # a full pass again: the same rejection
        await eventually(lambda: controller.reconciler.passes > passes)
        events = api.list("v1", "events", "team-a")
        assert [(e["involvedObject"]["name"], e["reason"], e["type"]) for e in events] == [
            ("gpt-5-chat", "ModeDowngradeRejected", "Warning")
        ]
        assert events[0]["eventTime"].endswith("Z")
        assert len(events[0]["eventTime"].split(".")[1]) == 7


async def test_a_deleted_or_edited_table_configmap_is_repaired_with_a_higher_generation(
    api: KubeApiServer, tmp_path: pathlib.Path
) -> None:
    api.create(alias_body("gpt-5", mode="responses"))
    async with running_controller(settings_for(api, tmp_path)):
        first = await eventually(lambda: published(api))
        rt = api.resource("v1", "configmaps")
        api.engine.delete(rt, NAMESPACE, CONFIGMAP, None, WriteOptions())
        repaired = await eventually(lambda: published(api))
        assert repaired.generation > first.generation
        assert repaired.sha256 == first.sha256
        current = api.get("v1", "configmaps", CONFIGMAP, NAMESPACE)
        assert current is not None
        api.engine.update(rt, NAMESPACE, CONFIGMAP, {**current, "data": {"table.json": "{}"}}, None, WriteOptions())
        fixed = await eventually(lambda: (t := _readable(api)) is not None and t.generation > repaired.generation and t)
        assert fixed.sha256 == first.sha256


def _readable(api: KubeApiServer) -> RoutingTable | None:
    try:
        return published(api)
    except ValueError:
        return None


def endpoint_slice(name: str, port: int, *, ready: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "labels": {"kubernetes.io/service-name": "aliasgate-gateway"},
        },
        "addressType": "IPv4",
        "ports": [{"name": "admin", "port": port, "protocol": "TCP"}],
        "endpoints": [{"addresses": [host_address()], "conditions": {"ready": ready}}],
    }


def programmed(api: KubeApiServer, name: str) -> str | None:
    found = condition(api, name, "Programmed")
    return None if found is None else found["status"]


async def test_programmed_comes_from_the_gateways_found_through_endpoint_slices(
    api: KubeApiServer, tmp_path: pathlib.Path
) -> None:
    api.create(alias_body("gpt-5", mode="responses"))
    async with (
        running_gateway(api, tmp_path, name="gw-0", admin_host=host_address()) as gw0,
        running_gateway(api, tmp_path, name="gw-1", admin_host=host_address()) as gw1,
        running_controller(settings_for(api, tmp_path)),
    ):
        await eventually(lambda: reason(api, "gpt-5"))
        assert programmed(api, "gpt-5") == "Unknown"  # no gateway pod known yet
        api.create(endpoint_slice("gw-0", gw0.admin_port))
        api.create(endpoint_slice("gw-1", gw1.admin_port))
        api.create(endpoint_slice("gw-down", free_port(), ready=False))  # not ready: not counted
        assert await eventually(lambda: programmed(api, "gpt-5") == "True", timeout=10)
        api.create(alias_body("gpt-5-team"))
        assert await eventually(lambda: programmed(api, "gpt-5-team") == "True", timeout=10)
        table = published(api)
        assert table is not None
        assert gw0.generation() == gw1.generation() == table.generation
