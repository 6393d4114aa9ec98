"""Watch semantics: initial events, resume from a resourceVersion, 410 Gone, bookmarks, timeouts,
selector transitions, fan-out, and the kubernetes-asyncio spellings of ``watch``."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.kubeapi.fixtures import ServerFactory
from tests.kubeapi.server import KubeApiServer
from tests.kubeapi.support import CM, MA, MA_ALL, MERGE, alias, configmap, post, read_events, read_until_end


async def test_watch_from_empty_version_starts_with_added_events(kube_http: aiohttp.ClientSession) -> None:
    await post(kube_http, MA, alias("a"))
    await post(kube_http, MA, alias("b"))
    async with kube_http.get(MA, params={"watch": "true"}) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.headers.get("Transfer-Encoding") == "chunked"
        initial = await read_events(response, 2)
        await post(kube_http, MA, alias("c"))
        (live,) = await read_events(response, 1)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in initial] == [("ADDED", "a"), ("ADDED", "b")]
    assert (live["type"], live["object"]["metadata"]["name"]) == ("ADDED", "c")
    assert live["object"]["kind"] == "ModelAlias"


@pytest.mark.parametrize("flag", ["true", "1", "True"])
async def test_watch_flag_spellings_are_all_accepted(kube_http: aiohttp.ClientSession, flag: str) -> None:
    created = await post(kube_http, CM, configmap("w"))
    rv = int(created["metadata"]["resourceVersion"]) - 1
    async with kube_http.get(CM, params={"watch": flag, "resourceVersion": str(rv)}) as response:
        (event,) = await read_events(response, 1)
    assert event["type"] == "ADDED"
    assert event["object"]["metadata"]["name"] == "w"


async def test_resume_replays_exactly_the_events_after_the_version(kube_http: aiohttp.ClientSession) -> None:
    first = await post(kube_http, MA, alias("r"))
    async with kube_http.patch(f"{MA}/r", json={"spec": {"mode": "chat"}}, headers=MERGE) as response:
        patched = await response.json()
    async with kube_http.delete(f"{MA}/r") as response:
        assert response.status == 200
    async with kube_http.get(
        MA, params={"watch": "1", "resourceVersion": first["metadata"]["resourceVersion"]}
    ) as response:
        events = await read_events(response, 2)
    assert [e["type"] for e in events] == ["MODIFIED", "DELETED"]
    assert events[0]["object"]["metadata"]["resourceVersion"] == patched["metadata"]["resourceVersion"]
    assert int(events[1]["object"]["metadata"]["resourceVersion"]) > int(patched["metadata"]["resourceVersion"])


async def test_too_old_version_is_an_error_event_410_expired(kube_api_factory: ServerFactory) -> None:
    async with kube_api_factory(history_size=3) as api, aiohttp.ClientSession(base_url=api.url) as http:
        first = await post(http, CM, configmap("c0"))
        for index in range(1, 6):
            await post(http, CM, configmap(f"c{index}"))
        async with http.get(
            CM, params={"watch": "true", "resourceVersion": first["metadata"]["resourceVersion"]}
        ) as response:
            assert response.status == 200
            events = await read_until_end(response)
    assert len(events) == 1
    error = events[0]
    assert error["type"] == "ERROR"
    assert error["object"]["kind"] == "Status"
    assert error["object"]["code"] == 410
    assert error["object"]["reason"] == "Expired"
    assert "too old resource version" in error["object"]["message"]


async def test_history_keeps_the_last_events_resumable(kube_api_factory: ServerFactory) -> None:
    async with kube_api_factory(history_size=3) as api, aiohttp.ClientSession(base_url=api.url) as http:
        created = [await post(http, CM, configmap(f"c{i}")) for i in range(5)]
        since = created[2]["metadata"]["resourceVersion"]
        async with http.get(CM, params={"watch": "true", "resourceVersion": since}) as response:
            events = await read_events(response, 2)
    assert [e["object"]["metadata"]["name"] for e in events] == ["c3", "c4"]


async def test_bookmarks_are_sent_when_asked_and_only_then(
    kube_api: KubeApiServer, kube_http: aiohttp.ClientSession
) -> None:
    kube_api.settings.bookmark_interval = 0.1
    async with kube_http.get(
        MA, params={"watch": "true", "allowWatchBookmarks": "true", "resourceVersion": "0"}
    ) as response:
        (bookmark,) = await read_events(response, 1, timeout=2)
    assert bookmark["type"] == "BOOKMARK"
    assert bookmark["object"]["kind"] == "ModelAlias"
    assert bookmark["object"]["apiVersion"] == "aliasgate.io/v1alpha1"
    assert int(bookmark["object"]["metadata"]["resourceVersion"]) == kube_api.resource_version
    async with kube_http.get(MA, params={"watch": "true", "timeoutSeconds": "1", "resourceVersion": "0"}) as response:
        assert await read_until_end(response) == []


async def test_timeout_seconds_ends_the_stream(kube_http: aiohttp.ClientSession) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with kube_http.get(CM, params={"watch": "true", "timeoutSeconds": "1"}) as response:
        await read_until_end(response, timeout=5)
    assert 0.9 <= loop.time() - started < 5


async def test_label_selector_transitions_become_added_and_deleted(kube_http: aiohttp.ClientSession) -> None:
    await post(kube_http, MA, alias("t"))
    async with kube_http.get(MA, params={"watch": "true", "labelSelector": "tier=gold"}) as response:
        for labels in ({"tier": "gold"}, {"tier": "gold", "x": "y"}, {"tier": "silver"}):
            async with kube_http.patch(f"{MA}/t", json={"metadata": {"labels": labels}}, headers=MERGE) as patched:
                assert patched.status == 200
        events = await read_events(response, 3)
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    # The DELETED event carries the last state the watcher was shown, at the new resourceVersion.
    assert events[2]["object"]["metadata"]["labels"] == {"tier": "gold", "x": "y"}
    assert int(events[2]["object"]["metadata"]["resourceVersion"]) > int(
        events[1]["object"]["metadata"]["resourceVersion"]
    )


async def test_namespaced_watch_sees_only_its_namespace(kube_http: aiohttp.ClientSession) -> None:
    other = MA.replace("team-a", "team-b")
    async with (
        kube_http.get(MA, params={"watch": "true"}) as ours,
        kube_http.get(MA_ALL, params={"watch": "true"}) as everything,
    ):
        await post(kube_http, other, alias("elsewhere"))
        await post(kube_http, MA, alias("here"))
        (seen,) = await read_events(ours, 1)
        both = await read_events(everything, 2)
    assert seen["object"]["metadata"]["name"] == "here"
    assert [e["object"]["metadata"]["namespace"] for e in both] == ["team-b", "team-a"]


async def test_field_selector_on_name_watches_one_object(kube_http: aiohttp.ClientSession) -> None:
    async with kube_http.get(CM, params={"watch": "true", "fieldSelector": "metadata.name=wanted"}) as response:
        await post(kube_http, CM, configmap("other"))
        await post(kube_http, CM, configmap("wanted"))
        (event,) = await read_events(response, 1)
    assert event["object"]["metadata"]["name"] == "wanted"


async def test_identical_write_emits_no_event(kube_http: aiohttp.ClientSession) -> None:
    created = await post(kube_http, CM, configmap("quiet", {"k": "v"}))
    async with kube_http.get(
        CM, params={"watch": "true", "resourceVersion": created["metadata"]["resourceVersion"]}
    ) as response:
        async with kube_http.put(f"{CM}/quiet", json=created) as same:
            assert same.status == 200
        async with kube_http.patch(f"{CM}/quiet", json={"data": {"k": "w"}}, headers=MERGE) as changed:
            assert changed.status == 200
        (event,) = await read_events(response, 1)
    assert event["type"] == "MODIFIED"
    assert event["object"]["data"] == {"k": "w"}


async def test_many_watchers_all_receive_every_event(kube_api: KubeApiServer, kube_http: aiohttp.ClientSession) -> None:
    watchers = 50
    responses = [
        await kube_http.get(CM, params={"watch": "true", "resourceVersion": str(kube_api.resource_version)})
        for _ in range(watchers)
    ]
    try:
        for index in range(5):
            await post(kube_http, CM, configmap(f"fan{index}"))
        results = await asyncio.gather(*(read_events(r, 5) for r in responses))
    finally:
        for response in responses:
            response.close()
    assert all([e["object"]["metadata"]["name"] for e in events] == [f"fan{i}" for i in range(5)] for events in results)


async def test_drop_watches_ends_open_streams(kube_api: KubeApiServer, kube_http: aiohttp.ClientSession) -> None:
    async with kube_http.get(CM, params={"watch": "true", "labelSelector": "app=none"}) as response:
        await asyncio.sleep(0.05)
        assert kube_api.watch_count() == 1
        assert kube_api.drop_watches() == 1
        assert await read_until_end(response, timeout=2) == []
    await asyncio.sleep(0.05)
    assert kube_api.watch_count() == 0


async def test_watch_prefix_url_watches_one_named_object(kube_http: aiohttp.ClientSession) -> None:
    async with kube_http.get("/api/v1/watch/namespaces/default/configmaps/solo") as response:
        await post(kube_http, CM, configmap("not-solo"))
        await post(kube_http, CM, configmap("solo"))
        (event,) = await read_events(response, 1)
    assert event["object"]["metadata"]["name"] == "solo"


async def test_send_initial_events_ends_with_a_marked_bookmark(kube_http: aiohttp.ClientSession) -> None:
    await post(kube_http, CM, configmap("one", labels={"initial": "yes"}))
    params = {
        "watch": "true",
        "labelSelector": "initial=yes",
        "sendInitialEvents": "true",
        "allowWatchBookmarks": "true",
        "resourceVersionMatch": "NotOlderThan",
    }
    async with kube_http.get(CM, params=params) as response:
        added, bookmark = await read_events(response, 2)
    assert (added["type"], added["object"]["metadata"]["name"]) == ("ADDED", "one")
    assert bookmark["type"] == "BOOKMARK"
    assert bookmark["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


async def test_a_watcher_that_falls_too_far_behind_is_ended(
    kube_api: KubeApiServer, kube_http: aiohttp.ClientSession
) -> None:
    kube_api.store.watch_buffer = 3
    async with kube_http.get(
        CM, params={"watch": "true", "resourceVersion": str(kube_api.resource_version)}
    ) as response:
        await asyncio.sleep(0.05)
        for index in range(6):  # all committed before the stream is drained: the queue overflows
            kube_api.create(
                configmap(f"burst{index}") | {"metadata": {"name": f"burst{index}", "namespace": "default"}}
            )
        events = await read_until_end(response)
    assert [e["object"]["metadata"]["name"] for e in events] == ["burst0", "burst1", "burst2"]
