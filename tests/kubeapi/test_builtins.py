"""Built-in kinds: the rules of ConfigMaps, Secrets, Leases, Events, EndpointSlices and Namespaces
that a controller can trip over."""

from __future__ import annotations

import asyncio
import base64
import io
from typing import Any

import aiohttp
import orjson

from tests.kubeapi.fixtures import ServerFactory
from tests.kubeapi.support import CM, MA, MERGE, alias, configmap, post

SECRETS = "/api/v1/namespaces/default/secrets"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/default/leases"
CORE_EVENTS = "/api/v1/namespaces/default/events"
NEW_EVENTS = "/apis/events.k8s.io/v1/namespaces/default/events"
SLICES = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"


def _large(body: dict[str, Any]) -> dict[str, Any]:
    """Request arguments for a big JSON body (aiohttp warns about big raw bytes bodies)."""
    return {"data": io.BytesIO(orjson.dumps(body)), "headers": {"Content-Type": "application/json"}}


async def test_configmap_over_one_mebibyte_is_422(kube_http: aiohttp.ClientSession) -> None:
    # The limit counts the values' bytes (keys do not count): 1 MiB of values fits, one byte more does not.
    big = configmap("big", {"blob": "x" * (1024 * 1024 - 1), "b": "xx"})
    async with kube_http.post(CM, **_large(big)) as response:
        assert response.status == 422
        status = await response.json()
    assert status["message"] == 'ConfigMap "big" is invalid: []: Too long: may not be more than 1048576 bytes'
    async with kube_http.post(CM, **_large(configmap("fits", {"blob": "x" * (1024 * 1024)}))) as response:
        assert response.status == 201


async def test_configmap_binary_data_counts_decoded_bytes(kube_http: aiohttp.ClientSession) -> None:
    blob = base64.b64encode(b"\0" * (1024 * 1024 + 1)).decode()
    async with kube_http.post(CM, **_large({"metadata": {"name": "bin"}, "binaryData": {"b": blob}})) as response:
        assert response.status == 422
    async with kube_http.post(CM, json={"metadata": {"name": "bad"}, "binaryData": {"b": "not base64!"}}) as response:
        assert response.status == 400


async def test_immutable_configmap_refuses_data_changes(kube_http: aiohttp.ClientSession) -> None:
    await post(kube_http, CM, {"metadata": {"name": "frozen"}, "data": {"a": "1"}, "immutable": True})
    async with kube_http.patch(f"{CM}/frozen", json={"data": {"a": "2"}}, headers=MERGE) as response:
        assert response.status == 422
    async with kube_http.patch(f"{CM}/frozen", json={"metadata": {"labels": {"ok": "yes"}}}, headers=MERGE) as response:
        assert response.status == 200


async def test_secret_string_data_is_folded_into_data(kube_http: aiohttp.ClientSession) -> None:
    created = await post(kube_http, SECRETS, {"metadata": {"name": "s"}, "stringData": {"key": "sk-123"}})
    assert "stringData" not in created
    assert created["type"] == "Opaque"
    assert base64.b64decode(created["data"]["key"]) == b"sk-123"


async def test_lease_times_must_be_micro_time(kube_http: aiohttp.ClientSession) -> None:
    lease: dict[str, Any] = {"metadata": {"name": "l"}, "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}}
    lease["spec"]["renewTime"] = "2026-01-01T00:00:00Z"
    async with kube_http.post(LEASES, json=lease) as response:
        assert response.status == 400
        assert (await response.json())["message"] == (
            'Lease in version "v1" cannot be handled as a Lease: parsing time "2026-01-01T00:00:00Z" as '
            '"2006-01-02T15:04:05.000000Z07:00": cannot parse "Z" as ".000000"'
        )
    lease["spec"]["renewTime"] = "2026-01-01T00:00:00.123456Z"
    lease["spec"]["acquireTime"] = "2026-01-01T00:00:00.000000Z"
    created = await post(kube_http, LEASES, lease)
    assert "generation" not in created["metadata"]


async def test_events_are_one_object_behind_two_apis(kube_http: aiohttp.ClientSession) -> None:
    core = {
        "metadata": {"name": "e1"},
        "involvedObject": {"kind": "ModelAlias", "name": "x", "namespace": "default"},
        "reason": "Rejected",
        "message": "mode downgrade",
        "type": "Warning",
    }
    await post(kube_http, CORE_EVENTS, core)
    async with kube_http.get(f"{NEW_EVENTS}/e1") as response:
        seen = await response.json()
    assert seen["apiVersion"] == "events.k8s.io/v1"
    assert seen["eventTime"] is None
    assert seen["note"] == "mode downgrade"
    assert seen["regarding"]["name"] == "x"


async def test_events_v1_requires_its_fields(kube_http: aiohttp.ClientSession) -> None:
    async with kube_http.post(NEW_EVENTS, json={"metadata": {"name": "e2"}, "reason": "R", "note": "n"}) as response:
        assert response.status == 422
        status = await response.json()
    assert (
        status["message"]
        == 'Event "e2" is invalid: [eventTime: Required value, type: Invalid value: "": has invalid value: ]'
    )
    # Only an event with eventTime is checked for the reporting fields.
    timed = {
        "metadata": {"name": "e2"},
        "reason": "R",
        "note": "n",
        "type": "Normal",
        "eventTime": "2026-01-01T00:00:00.000000Z",
    }
    async with kube_http.post(NEW_EVENTS, json=timed) as response:
        assert response.status == 422
        fields = [c["field"] for c in (await response.json())["details"]["causes"]]
    assert fields == ["reportingController"] * 3 + ["reportingInstance", "action"]
    full = {
        "metadata": {"name": "e3"},
        "eventTime": "2026-01-01T00:00:00.000000Z",
        "reportingController": "aliasgate.io/controller",
        "reportingInstance": "controller-0",
        "action": "Reconcile",
        "reason": "Accepted",
        "note": "ok",
        "type": "Normal",
        "regarding": {"kind": "ModelAlias", "name": "x", "namespace": "default"},
    }
    await post(kube_http, NEW_EVENTS, full)
    async with kube_http.get(f"{CORE_EVENTS}/e3") as response:
        core = await response.json()
    assert core["message"] == "ok"
    assert core["reportingComponent"] == "aliasgate.io/controller"
    assert core["involvedObject"]["name"] == "x"


async def test_endpoint_slices_need_an_address_type(kube_http: aiohttp.ClientSession) -> None:
    async with kube_http.post(SLICES, json={"metadata": {"name": "s"}, "endpoints": []}) as response:
        assert response.status == 422
    created = await post(
        kube_http,
        SLICES,
        {"metadata": {"name": "s"}, "addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.1"]}]},
    )
    assert created["metadata"]["generation"] == 1


async def test_deleting_a_namespace_deletes_its_objects(kube_http: aiohttp.ClientSession) -> None:
    await post(kube_http, "/api/v1/namespaces", {"metadata": {"name": "team-c"}})
    inside = MA.replace("team-a", "team-c")
    await post(kube_http, inside, alias("inside"))
    async with kube_http.delete("/api/v1/namespaces/team-c") as response:
        assert response.status == 200
        terminating = await response.json()
    assert terminating["status"]["phase"] == "Terminating"
    assert terminating["metadata"]["deletionTimestamp"]
    # Its contents go, then the namespace itself (at once on the test server; the namespace controller's pace on a real one).
    for path in (f"{inside}/inside", "/api/v1/namespaces/team-c"):
        for _ in range(300):
            async with kube_http.get(path) as response:
                if response.status == 404:
                    break
            await asyncio.sleep(0.1)
        assert response.status == 404


async def test_default_namespaces_exist(kube_http: aiohttp.ClientSession) -> None:
    async with kube_http.get("/api/v1/namespaces") as response:
        names = {item["metadata"]["name"] for item in (await response.json())["items"]}
    assert {"default", "kube-system"} <= names


async def test_strict_namespaces_refuse_objects_in_missing_namespaces(kube_api_factory: ServerFactory) -> None:
    async with kube_api_factory(strict_namespaces=True) as api, aiohttp.ClientSession(base_url=api.url) as http:
        async with http.post(MA, json=alias("x")) as response:
            assert response.status == 404
            assert (await response.json())["message"] == 'namespaces "team-a" not found'
        await post(http, "/api/v1/namespaces", {"metadata": {"name": "team-a"}})
        await post(http, MA, alias("x"))


async def test_invalid_names_are_422(kube_http: aiohttp.ClientSession) -> None:
    async with kube_http.post(CM, json=configmap("Not_Valid")) as response:
        assert response.status == 422
        assert (await response.json())["details"]["causes"][0]["field"] == "metadata.name"


async def test_endpoint_addresses_must_be_routable(kube_http: aiohttp.ClientSession) -> None:
    body = {"metadata": {"name": "lo"}, "addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.1", "127.0.0.1"]}]}
    async with kube_http.post(SLICES, json=body) as response:
        assert response.status == 422
        status = await response.json()
    (cause,) = status["details"]["causes"]
    assert cause["field"] == "endpoints[0].addresses[1]"
    assert cause["message"] == 'Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)'
    body["endpoints"] = [{"addresses": ["169.254.1.1"]}]
    async with kube_http.post(SLICES, json=body) as response:
        assert response.status == 422
        assert "link-local" in (await response.json())["message"]
