"""The ``/status`` subresource: spec and status are written separately, never both at once."""

from __future__ import annotations

import aiohttp

from tests.kubeapi.support import CM, MA, MERGE, alias, post


async def test_status_in_a_create_body_is_dropped(kube_http: aiohttp.ClientSession) -> None:
    body = alias("c")
    body["status"] = {"resolvedMode": "chat"}
    created = await post(kube_http, MA, body)
    assert "status" not in created


async def test_main_resource_writes_ignore_status(kube_http: aiohttp.ClientSession) -> None:
    created = await post(kube_http, MA, alias("m"))
    created["status"] = {"resolvedMode": "chat"}
    created["spec"]["mode"] = "chat"
    async with kube_http.put(f"{MA}/m", json=created) as response:
        updated = await response.json()
    assert updated["spec"]["mode"] == "chat"
    assert "status" not in updated
    assert updated["metadata"]["generation"] == 2


async def test_status_writes_ignore_spec_and_metadata(kube_http: aiohttp.ClientSession) -> None:
    created = await post(kube_http, MA, alias("s"))
    created["spec"]["mode"] = "chat"
    created["metadata"]["labels"] = {"sneaky": "yes"}
    created["status"] = {"resolvedMode": "responses", "observedGeneration": 1}
    async with kube_http.put(f"{MA}/s/status", json=created) as response:
        assert response.status == 200
        updated = await response.json()
    assert "mode" not in updated["spec"]
    assert "labels" not in updated["metadata"]
    assert updated["status"] == {"resolvedMode": "responses", "observedGeneration": 1}
    assert updated["metadata"]["generation"] == 1


async def test_status_put_with_a_stale_version_is_409(kube_http: aiohttp.ClientSession) -> None:
    created = await post(kube_http, MA, alias("st"))
    async with kube_http.patch(f"{MA}/st", json={"spec": {"mode": "chat"}}, headers=MERGE) as response:
        assert response.status == 200
    created["status"] = {"resolvedMode": "chat"}
    async with kube_http.put(f"{MA}/st/status", json=created) as response:
        assert response.status == 409
        assert (await response.json())["reason"] == "Conflict"


async def test_status_of_a_kind_without_the_subresource_is_404(kube_http: aiohttp.ClientSession) -> None:
    await post(kube_http, CM, {"metadata": {"name": "x"}})
    async with kube_http.get(f"{CM}/x/status") as response:
        assert response.status == 404


async def test_status_get_returns_the_whole_object(kube_http: aiohttp.ClientSession) -> None:
    await post(kube_http, MA, alias("g"))
    async with kube_http.get(f"{MA}/g/status") as response:
        assert response.status == 200
        assert (await response.json())["metadata"]["name"] == "g"
