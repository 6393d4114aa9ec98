"""The gateway's Kubernetes sources against the API test server: the table ConfigMap and credentials Secrets."""

from __future__ import annotations

import asyncio
import base64
import pathlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import structlog

from controller.kube.publishing import render_configmap
from gateway.kube.client import KubeConnection
from gateway.kube.secrets import KubeCredentialStore
from gateway.kube.table_source import ConfigMapTableSource
from gateway.metrics import GatewayMetrics
from gateway.routing.loading import TableHolder
from gateway.routing.table import RoutingTable
from tests.kubeapi import KubeApiServer, WriteOptions
from tests.support.tables import one_backend_table

NS = "aliasgate-system"
NAME = "aliasgate-routes"


def make_table(generation: int, *aliases: str) -> RoutingTable:
    return one_backend_table(generation, dict.fromkeys(aliases), namespace="t")


def put_table(api: KubeApiServer, table: RoutingTable, *, gzip_threshold: int = 1 << 20) -> None:
    current = api.get("v1", "configmaps", NAME, NS)
    body = render_configmap(
        table,
        name=NAME,
        namespace=NS,
        gzip_threshold_bytes=gzip_threshold,
        resource_version=None if current is None else current["metadata"]["resourceVersion"],
    )
    write(api, body, current)


def write(api: KubeApiServer, body: dict[str, Any], current: dict[str, Any] | None) -> None:
    rt = api.resource("v1", "configmaps")
    if current is None:
        api.engine.create(rt, NS, body, WriteOptions())
    else:
        api.engine.update(rt, NS, NAME, body, None, WriteOptions())


@pytest.fixture
async def api() -> AsyncIterator[KubeApiServer]:
    async with KubeApiServer(bookmark_interval=0.5) as server:
        server.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        yield server


@pytest.fixture
def connection(api: KubeApiServer, tmp_path: pathlib.Path) -> KubeConnection:
    return KubeConnection.from_kubeconfig(api.write_kubeconfig(tmp_path / "kubeconfig", user="gateway"))


@pytest.fixture
async def holder(connection: KubeConnection) -> AsyncIterator[TableHolder]:
    sink = TableHolder(metrics=GatewayMetrics())
    source = ConfigMapTableSource(connection=connection, namespace=NS, name=NAME)
    task = asyncio.create_task(source.run(sink))
    yield sink
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def until(predicate: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


def served(holder: TableHolder) -> int | None:
    return None if holder.current is None else holder.current.generation


async def test_a_missing_configmap_leaves_the_gateway_unloaded_then_loads_it(
    api: KubeApiServer, holder: TableHolder
) -> None:
    await until(lambda: holder.last_error is not None)
    assert not holder.loaded
    put_table(api, make_table(1, "a"))
    await until(lambda: served(holder) == 1)


async def test_updates_are_swapped_in_plain_and_gzipped(api: KubeApiServer, holder: TableHolder) -> None:
    put_table(api, make_table(1, "a"))
    await until(lambda: served(holder) == 1)
    put_table(api, make_table(2, "a", "b"), gzip_threshold=10)
    await until(lambda: served(holder) == 2)
    assert holder.current is not None
    assert set(holder.current.aliases) == {"a", "b"}
    assert api.requests.count(verb="watch", resource="configmaps") >= 1
    assert api.requests.count(verb="list", resource="configmaps") >= 1


async def test_a_bad_document_keeps_the_last_good_table(api: KubeApiServer, holder: TableHolder) -> None:
    put_table(api, make_table(1, "a"))
    await until(lambda: served(holder) == 1)
    current = api.get("v1", "configmaps", NAME, NS)
    assert current is not None
    broken = {**current, "data": {"table.json": '{"apiVersion": "nope"}'}}
    write(api, broken, current)
    await until(lambda: holder.last_result == "rejected")
    assert served(holder) == 1
    put_table(api, make_table(3, "a", "c"))
    await until(lambda: served(holder) == 3)


async def test_deletion_and_outage_keep_serving_and_recover(api: KubeApiServer, holder: TableHolder) -> None:
    put_table(api, make_table(1, "a"))
    await until(lambda: served(holder) == 1)
    api.engine.delete(api.resource("v1", "configmaps"), NS, NAME, None, WriteOptions())
    await until(lambda: holder.last_error is not None and "does not exist" in holder.last_error)
    assert served(holder) == 1
    await api.go_down()
    put_table(api, make_table(2, "a", "b"))
    await until(lambda: holder.last_error is not None and "Kubernetes API" in holder.last_error)
    assert served(holder) == 1
    await api.come_up()
    await until(lambda: served(holder) == 2, timeout=10)


async def test_410_on_resume_relists(api: KubeApiServer, holder: TableHolder) -> None:
    put_table(api, make_table(1, "a"))
    await until(lambda: served(holder) == 1)
    api.faults.inject(status=410, times=1, verb="watch", resource="configmaps")
    api.drop_watches()
    put_table(api, make_table(2, "a", "b"))
    await until(lambda: served(holder) == 2)


async def test_credentials_are_decoded_and_follow_the_secret(api: KubeApiServer, connection: KubeConnection) -> None:
    store = KubeCredentialStore(connection=connection, namespace=NS, names=["openai-key"])
    task = asyncio.create_task(store.run())
    try:
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "openai-key", "namespace": NS},
            "data": {"apiKey": base64.b64encode(b"sk-one").decode()},
        }
        api.create(secret)
        await until(lambda: store.get("openai-key") == {"apiKey": "sk-one"})
        assert store.get("chatgpt-pro") is None  # unknown: now watched, absent
        api.create({**secret, "metadata": {"name": "chatgpt-pro", "namespace": NS}})
        await until(lambda: store.get("chatgpt-pro") == {"apiKey": "sk-one"})
        api.engine.delete(api.resource("v1", "secrets"), NS, "openai-key", None, WriteOptions())
        await until(lambda: store.get("openai-key") is None)
        assert api.requests.count(verb="list", resource="secrets") >= 2  # one list+watch per name
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_an_outage_keeps_credentials_and_names_the_secret_in_the_warning(
    api: KubeApiServer, connection: KubeConnection
) -> None:
    """The warning says which Secret (as ``secret_name``: a ``secret`` field is redacted by the log setup)."""
    store = KubeCredentialStore(connection=connection, namespace=NS, names=["openai-key"])
    api.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "openai-key", "namespace": NS},
            "data": {"apiKey": base64.b64encode(b"sk-one").decode()},
        }
    )
    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(store.run())
        try:
            await until(lambda: store.get("openai-key") == {"apiKey": "sk-one"})
            await api.go_down()
            await until(lambda: any(e["event"] == "secret_watch_failed" for e in logs))
            assert store.get("openai-key") == {"apiKey": "sk-one"}  # the API being down removes nothing
        finally:
            await api.come_up()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    failed = [e for e in logs if e["event"] == "secret_watch_failed"]
    assert failed[0]["secret_name"] == "openai-key"
    assert "secret" not in failed[0]
