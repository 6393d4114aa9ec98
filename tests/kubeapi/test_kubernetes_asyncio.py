"""kubernetes-asyncio (the controller's client), unmodified, against the test server."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import pytest
from kubernetes_asyncio import client, config, watch
from kubernetes_asyncio.client.exceptions import ApiException

from tests.kubeapi.fixtures import ServerFactory
from tests.kubeapi.server import KubeApiServer
from tests.kubeapi.support import alias

GROUP, VERSION, PLURAL, NS = "aliasgate.io", "v1alpha1", "modelaliases", "team-a"
MERGE: dict[str, Any] = {"_content_type": "application/merge-patch+json"}
"""kubernetes-asyncio sends a dict body as a JSON patch unless told otherwise (a 400 on a real server)."""


def _objects(api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


async def test_custom_object_round_trip(kube_client: client.ApiClient) -> None:
    api = _objects(kube_client)
    created = await api.create_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, alias("a"))
    assert created["metadata"]["generation"] == 1
    fetched = await api.get_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "a")
    assert fetched["metadata"]["uid"] == created["metadata"]["uid"]
    patched = await api.patch_namespaced_custom_object(
        GROUP, VERSION, NS, PLURAL, "a", {"spec": {"mode": "chat"}}, **MERGE
    )
    assert patched["metadata"]["generation"] == 2
    status = {"status": {"observedGeneration": 2, "resolvedMode": "chat"}}
    with_status = await api.patch_namespaced_custom_object_status(GROUP, VERSION, NS, PLURAL, "a", status, **MERGE)
    assert with_status["status"]["observedGeneration"] == 2
    assert with_status["metadata"]["generation"] == 2
    listed = await api.list_cluster_custom_object(GROUP, VERSION, PLURAL)
    assert [item["metadata"]["name"] for item in listed["items"]] == ["a"]
    await api.delete_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "a")
    with pytest.raises(ApiException) as missing:
        await api.get_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "a")
    assert missing.value.status == 404


async def test_stale_replace_raises_409(kube_client: client.ApiClient) -> None:
    api = _objects(kube_client)
    created = await api.create_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, alias("s"))
    created["spec"]["mode"] = "chat"
    await api.replace_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "s", created)
    with pytest.raises(ApiException) as conflict:
        await api.replace_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "s", created)
    assert conflict.value.status == 409


async def test_a_dict_patch_without_content_type_is_refused(kube_client: client.ApiClient) -> None:
    api = _objects(kube_client)
    await api.create_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, alias("p"))
    with pytest.raises(ApiException) as refused:
        await api.patch_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "p", {"spec": {"mode": "chat"}})
    assert refused.value.status == 400


async def test_typed_config_maps(kube_client: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_client)
    body = client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="routes", labels={"app": "aliasgate"}), data={"table.json": "{}"}
    )
    created = await core.create_namespaced_config_map("default", body)
    assert isinstance(created, client.V1ConfigMap)
    assert created.metadata.resource_version
    listed = await core.list_namespaced_config_map("default", label_selector="app=aliasgate")
    assert [cm.metadata.name for cm in listed.items] == ["routes"]
    assert listed.metadata.resource_version


async def test_watch_stream_with_resume_and_timeout(kube_client: client.ApiClient) -> None:
    api = _objects(kube_client)
    first = await api.create_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, alias("w1"))
    await api.create_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, alias("w2"))
    seen: list[tuple[str, str]] = []
    async with watch.Watch() as stream:
        async for event in stream.stream(
            api.list_namespaced_custom_object,
            GROUP,
            VERSION,
            NS,
            PLURAL,
            resource_version=first["metadata"]["resourceVersion"],
            timeout_seconds=1,
        ):
            seen.append((event["type"], event["object"]["metadata"]["name"]))
    assert seen == [("ADDED", "w2")]


async def test_watch_raises_410_for_a_compacted_version(kube_api_factory: ServerFactory, tmp_path: Any) -> None:
    async with kube_api_factory(history_size=2) as api:
        configuration = client.Configuration()
        configuration.host = api.url
        async with client.ApiClient(configuration=configuration) as api_client:
            objects = _objects(api_client)
            first = await objects.create_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, alias("o0"))
            for index in range(1, 4):
                await objects.create_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, alias(f"o{index}"))
            stream = watch.Watch().stream(
                objects.list_namespaced_custom_object,
                GROUP,
                VERSION,
                NS,
                PLURAL,
                resource_version=first["metadata"]["resourceVersion"],
                timeout_seconds=2,
            )
            with pytest.raises(ApiException) as gone:
                async for _ in stream:
                    pass
    assert gone.value.status == 410


async def test_watch_bookmarks_reach_the_client(kube_api: KubeApiServer, kube_client: client.ApiClient) -> None:
    kube_api.settings.bookmark_interval = 0.1
    api = _objects(kube_client)
    async with watch.Watch() as stream:
        events = stream.stream(
            api.list_namespaced_custom_object, GROUP, VERSION, NS, PLURAL, allow_watch_bookmarks=True, timeout_seconds=2
        )
        async with asyncio.timeout(3):
            event = await events.__anext__()
    assert event["type"] == "BOOKMARK"
    assert int(event["object"]["metadata"]["resourceVersion"]) == kube_api.resource_version


async def test_leases_with_micro_time(kube_client: client.ApiClient) -> None:
    coordination = client.CoordinationV1Api(kube_client)
    now = datetime.datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=datetime.UTC)
    lease = client.V1Lease(
        metadata=client.V1ObjectMeta(name="aliasgate-controller"),
        spec=client.V1LeaseSpec(holder_identity="pod-a", lease_duration_seconds=15, acquire_time=now, renew_time=now),
    )
    created = await coordination.create_namespaced_lease("default", lease)
    assert created.spec.holder_identity == "pod-a"
    assert created.spec.renew_time == now
    created.spec.holder_identity = "pod-b"
    await coordination.replace_namespaced_lease("aliasgate-controller", "default", created)
    with pytest.raises(ApiException) as conflict:
        await coordination.replace_namespaced_lease("aliasgate-controller", "default", created)
    assert conflict.value.status == 409


async def test_events_v1_round_trip(kube_client: client.ApiClient) -> None:
    events = client.EventsV1Api(kube_client)
    body = client.EventsV1Event(
        metadata=client.V1ObjectMeta(generate_name="gpt-5-4-"),
        event_time=datetime.datetime(2026, 1, 1, 12, 0, 0, 1, tzinfo=datetime.UTC),
        reporting_controller="aliasgate.io/controller",
        reporting_instance="controller-0",
        action="Reconcile",
        reason="ModeDowngradeRejected",
        note="mode chat would downgrade a responses backend",
        type="Warning",
        regarding=client.V1ObjectReference(
            kind="ModelAlias", name="gpt-5-4", namespace="team-a", api_version="aliasgate.io/v1alpha1"
        ),
    )
    created = await events.create_namespaced_event("team-a", body)
    listed = await events.list_namespaced_event("team-a")
    assert [e.metadata.name for e in listed.items] == [created.metadata.name]
    assert listed.items[0].regarding.name == "gpt-5-4"


async def test_kubeconfig_with_tls_and_token(kube_api_factory: ServerFactory, tmp_path: Any) -> None:
    async with kube_api_factory(tls=True, require_auth=True) as api:
        configuration = client.Configuration()
        await config.load_kube_config(
            config_file=str(api.write_kubeconfig(tmp_path / "kc", user="controller-0")),
            client_configuration=configuration,
        )
        async with client.ApiClient(configuration=configuration) as api_client:
            listed = await client.CoreV1Api(api_client).list_namespace()
        assert "default" in [ns.metadata.name for ns in listed.items]
        assert api.requests.count(verb="list", resource="namespaces", user="controller-0") == 1


async def test_core_events_without_event_time_break_the_events_v1_model(kube_client: client.ApiClient) -> None:
    """The pitfall a real cluster has: events.k8s.io/v1 shows such events with ``eventTime: null``."""
    core = client.CoreV1Api(kube_client)
    event = client.CoreV1Event(
        metadata=client.V1ObjectMeta(name="old-style"),
        involved_object=client.V1ObjectReference(kind="ModelAlias", name="x", namespace="team-a"),
        reason="Accepted",
        message="accepted",
        type="Normal",
    )
    await core.create_namespaced_event("team-a", event)
    with pytest.raises(ValueError, match="event_time"):
        await client.EventsV1Api(kube_client).list_namespaced_event("team-a")
