"""Fault injection and request accounting: injected statuses and delays, outages, auth, counters."""

from __future__ import annotations

import asyncio
import os
import pathlib

import aiohttp
import pytest

from tests.kubeapi.fixtures import ServerFactory
from tests.kubeapi.server import KubeApiServer
from tests.kubeapi.support import CM, MA, MERGE, alias, configmap, post, read_events


async def test_injected_500_answers_the_next_matching_requests_only(
    kube_api: KubeApiServer, kube_http: aiohttp.ClientSession
) -> None:
    kube_api.faults.inject(status=500, times=2, method="POST", path="/configmaps$")
    for _ in range(2):
        async with kube_http.post(CM, json=configmap("x")) as response:
            assert response.status == 500
            assert (await response.json())["reason"] == "InternalError"
    async with kube_http.get(CM) as response:
        assert response.status == 200
    await post(kube_http, CM, configmap("x"))


async def test_injected_409_by_verb_and_resource(kube_api: KubeApiServer, kube_http: aiohttp.ClientSession) -> None:
    await post(kube_http, MA, alias("c"))
    kube_api.faults.inject(status=409, verb="patch", resource="modelaliases/status")
    async with kube_http.patch(f"{MA}/c", json={"spec": {"mode": "chat"}}, headers=MERGE) as response:
        assert response.status == 200
    async with kube_http.patch(f"{MA}/c/status", json={"status": {"resolvedMode": "chat"}}, headers=MERGE) as response:
        assert response.status == 409
        assert (await response.json())["reason"] == "Conflict"


async def test_injected_410_on_a_watch_is_an_error_event(
    kube_api: KubeApiServer, kube_http: aiohttp.ClientSession
) -> None:
    kube_api.faults.inject(status=410, verb="watch")
    async with kube_http.get(MA, params={"watch": "true", "resourceVersion": "1"}) as response:
        assert response.status == 200
        (event,) = await read_events(response, 1)
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410


async def test_injected_delay_slows_a_request(kube_api: KubeApiServer, kube_http: aiohttp.ClientSession) -> None:
    kube_api.faults.inject(status=None, delay=0.3, verb="list")
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with kube_http.get(CM) as response:
        assert response.status == 200
    assert loop.time() - started >= 0.3


async def test_outage_refuses_connections_then_recovers_with_state(kube_api: KubeApiServer) -> None:
    port = kube_api.port
    async with aiohttp.ClientSession(base_url=kube_api.url, timeout=aiohttp.ClientTimeout(total=5)) as http:
        await post(http, CM, configmap("kept"))
        async with http.get(CM, params={"watch": "true"}) as watch:
            await kube_api.outage(0.5)
            with pytest.raises(aiohttp.ClientError):
                await read_events(watch, 5, timeout=2)
        with pytest.raises(aiohttp.ClientError):
            async with http.get(f"{CM}/kept"):
                pass
        async with asyncio.timeout(10):  # back after about 0.5 s; poll so a loaded machine does not flake
            while True:
                try:
                    async with http.get(f"{CM}/kept") as response:
                        assert response.status == 200
                        break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.05)
    assert kube_api.port == port


async def test_down_context_manager(kube_api: KubeApiServer) -> None:
    async with aiohttp.ClientSession(base_url=kube_api.url, timeout=aiohttp.ClientTimeout(total=5)) as http:
        async with kube_api.down():
            with pytest.raises(aiohttp.ClientConnectorError):
                async with http.get("/version"):
                    pass
        async with http.get("/version") as response:
            assert response.status == 200


async def test_requests_are_counted_by_verb_resource_and_user(kube_api: KubeApiServer) -> None:
    async with (
        aiohttp.ClientSession(base_url=kube_api.url, headers=kube_api.auth_headers("leader")) as leader,
        aiohttp.ClientSession(base_url=kube_api.url, headers=kube_api.auth_headers("follower")) as follower,
    ):
        await post(leader, CM, configmap("a"))
        async with leader.patch(f"{CM}/a", json={"data": {"k": "v"}}, headers=MERGE) as response:
            assert response.status == 200
        async with follower.get(f"{CM}/a") as response:
            assert response.status == 200
        async with follower.get(CM) as response:
            assert response.status == 200
    log = kube_api.requests
    assert log.writes(user="leader") == 2
    assert log.writes(user="follower") == 0
    assert log.count(verb="get", resource="configmaps") == 1
    assert log.count(verb="list", user="follower") == 1
    assert log.count(verb="create", resource="configmaps", namespace="default") == 1


async def test_required_auth_answers_401_without_the_token(kube_api_factory: ServerFactory) -> None:
    async with kube_api_factory(require_auth=True) as api:
        async with aiohttp.ClientSession(base_url=api.url) as anonymous, anonymous.get(CM) as response:
            assert response.status == 401
            assert (await response.json())["reason"] == "Unauthorized"
        async with (
            aiohttp.ClientSession(base_url=api.url, headers=api.auth_headers()) as http,
            http.get(CM) as response,
        ):
            assert response.status == 200


async def test_tls_server_attributes_kubectl_and_client_requests(
    kube_api_factory: ServerFactory, tmp_path: pathlib.Path
) -> None:
    async with kube_api_factory(tls=True, require_auth=True) as api:
        assert api.url.startswith("https://")
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig", user="operator")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "KUBECONFIG": str(kubeconfig)}
        process = await asyncio.create_subprocess_exec(
            "kubectl",
            "get",
            "configmaps",
            "-A",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(20):
            _, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        assert api.requests.count(verb="list", resource="configmaps", user="operator") == 1
        context = api.client_ssl_context()
        assert context is not None
        connector = aiohttp.TCPConnector(ssl=context)
        async with (
            aiohttp.ClientSession(base_url=api.url, connector=connector, headers=api.auth_headers("raw")) as http,
            http.get(CM) as response,
        ):
            assert response.status == 200
        assert api.requests.count(user="raw") == 1
