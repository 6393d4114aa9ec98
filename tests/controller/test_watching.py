"""Watch faults: dropped streams, 410 on resume, 500s, an API server gone for a while. Nothing is lost."""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.controller.kube_rig import (
    TEAM,
    alias_body,
    eventually,
    published,
    reason,
    running_controller,
    settings_for,
    started_api,
)
from tests.kubeapi import KubeApiServer
from tests.support.metrics import sample_value


@pytest.fixture
async def api() -> AsyncIterator[KubeApiServer]:
    async with started_api(history_size=20) as server:
        yield server


def routes(api: KubeApiServer) -> set[str]:
    table = published(api)
    return set() if table is None else set(table.routes)


def delete_alias(api: KubeApiServer, name: str, ns: str = TEAM) -> None:
    rt = api.resource("aliasgate.io/v1alpha1", "modelaliases")
    from tests.kubeapi import WriteOptions

    api.engine.delete(rt, ns, name, None, WriteOptions())


def restarts(controller_metrics: bytes, reason_label: str) -> float:
    return sample_value(controller_metrics.decode(), "aliasgate_controller_watch_restarts_total", reason=reason_label)


async def test_a_dropped_watch_resumes_and_misses_nothing(api: KubeApiServer, tmp_path: pathlib.Path) -> None:
    api.create(alias_body("a"))
    async with running_controller(settings_for(api, tmp_path)) as controller:
        await eventually(lambda: routes(api) == {"a"})
        for name in ("b", "c"):
            await eventually(lambda: api.watch_count() >= 2)  # aliases and secrets
            assert api.drop_watches() >= 2
            api.create(alias_body(name, model=f"m-{name}"))
        await eventually(lambda: routes(api) == {"a", "b", "c"})
        assert controller.watchers[0].lists == 1  # resumed from its resourceVersion, no re-list


async def test_410_on_resume_relists_and_drops_what_was_deleted_meanwhile(
    api: KubeApiServer, tmp_path: pathlib.Path
) -> None:
    api.create(alias_body("a"))
    api.create(alias_body("b", model="m-b"))
    async with running_controller(settings_for(api, tmp_path)) as controller:
        await eventually(lambda: routes(api) == {"a", "b"})
        api.faults.inject(status=410, times=3, verb="watch", resource="modelaliases")
        api.drop_watches()
        delete_alias(api, "b")
        api.create(alias_body("c", model="m-c"))
        await eventually(lambda: routes(api) == {"a", "c"})
        assert controller.watchers[0].lists >= 2
        assert restarts(controller.metrics.render(), "expired") >= 1


async def test_history_compacted_while_disconnected_forces_a_relist(api: KubeApiServer, tmp_path: pathlib.Path) -> None:
    api.create(alias_body("a"))
    async with running_controller(settings_for(api, tmp_path)) as controller:
        await eventually(lambda: routes(api) == {"a"})
        await api.go_down()
        for index in range(30):  # more than the server's watch history of 20 events
            api.create(alias_body(f"x{index}", model=f"m-{index}"))
        for index in range(0, 30, 2):
            delete_alias(api, f"x{index}")
        await api.come_up()
        expected = {"a"} | {f"x{i}" for i in range(1, 30, 2)}
        await eventually(lambda: routes(api) == expected, timeout=10)
        assert controller.watchers[0].lists >= 2


async def test_server_errors_back_off_and_recover(api: KubeApiServer, tmp_path: pathlib.Path) -> None:
    rule = api.faults.inject(status=500, times=6, verb="list", resource="modelaliases")
    api.create(alias_body("a"))
    async with running_controller(settings_for(api, tmp_path)) as controller:
        readyz = f"http://127.0.0.1:{controller.admin_port}/readyz"
        async with aiohttp.ClientSession() as session:
            async with session.get(readyz) as resp:
                assert resp.status == 503  # no full list yet: not ready
            await eventually(lambda: routes(api) == {"a"}, timeout=10)
            async with session.get(readyz) as resp:
                assert resp.status == 200
        assert rule.hits == 6
        assert restarts(controller.metrics.render(), "error") >= 6


async def test_an_outage_keeps_state_and_everything_converges_after(api: KubeApiServer, tmp_path: pathlib.Path) -> None:
    api.create(alias_body("a", mode="responses"))
    api.create(alias_body("b", model="m-b"))
    async with running_controller(settings_for(api, tmp_path)) as controller:
        await eventually(lambda: reason(api, "b") == ("True", "Accepted"))
        await api.outage(3.0)
        # Changes made while the controller cannot see them (written straight into the store).
        delete_alias(api, "b")
        api.create(alias_body("c", mode="chat"))  # downgrades the backend that "a" holds
        await asyncio.sleep(1.0)
        assert controller.ready()  # still ready: it keeps serving its last state during the outage
        await eventually(lambda: routes(api) == {"a"} and reason(api, "c") is not None, timeout=15)
        assert reason(api, "c") == ("False", "ModeDowngradeRejected")
        assert reason(api, "a") == ("True", "Accepted")


async def test_a_silent_watch_is_restarted_after_the_inactivity_timeout(tmp_path: pathlib.Path) -> None:
    async with started_api(bookmark_interval=60.0) as api:
        api.create(alias_body("a"))
        settings = settings_for(api, tmp_path, watch_inactivity_timeout_seconds=0.3)
        async with running_controller(settings) as controller:
            await eventually(lambda: routes(api) == {"a"})
            await eventually(lambda: restarts(controller.metrics.render(), "inactivity") >= 2)
            api.create(alias_body("b", model="m-b"))
            await eventually(lambda: routes(api) == {"a", "b"})
            assert controller.watchers[0].lists == 1  # resumed, not re-listed
