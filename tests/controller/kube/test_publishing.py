"""The publisher reads back a table ConfigMap someone else wrote with the contract's capped decoder (issue 14.18).

Before, the controller inflated ``binaryData["table.json.gz"]`` with an unbounded ``gzip.decompress``
while the gateway capped it; now both sides use :func:`gateway.routing.envelope.decode`.
"""

from __future__ import annotations

import base64
import tracemalloc
import zlib

from kubernetes_asyncio import client

from controller.kube.client import KubeClient
from controller.kube.publishing import ConfigMapPublisher, decode_table
from gateway.routing import envelope
from gateway.routing.table import RoutingTable
from tests.kubeapi import KubeApiServer

NS = "aliasgate-system"
NAME = "aliasgate-routing-table"
TABLE = RoutingTable.build(backends={}, routes={})
MIB = 1024 * 1024


def gzip_bomb(inflated_mib: int) -> bytes:
    """gzip of ``inflated_mib`` MiB of zeros, built without holding them in memory."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(MIB)
    return b"".join(packer.compress(zeros) for _ in range(inflated_mib)) + packer.flush()


def bomb_configmap(inflated_mib: int) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": NAME, "namespace": NS, "annotations": {envelope.SHA_ANNOTATION: "0" * 64}},
        "binaryData": {envelope.GZIP_KEY: base64.b64encode(gzip_bomb(inflated_mib)).decode("ascii")},
    }


def test_decode_table_refuses_what_inflates_past_the_cap() -> None:
    configmap = bomb_configmap(3)
    assert decode_table(configmap, max_bytes=2 * MIB) is None
    assert decode_table(configmap, max_bytes=4 * MIB) == bytes(3 * MIB)


async def test_a_foreign_gzip_bomb_is_refused_within_the_cap_and_overwritten(
    kube_api: KubeApiServer, kube_client: client.ApiClient
) -> None:
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    kube_api.create(bomb_configmap(256))  # 256 MiB inflated, about 350 KiB stored
    publisher = ConfigMapPublisher(client=KubeClient(kube_client), namespace=NS, name=NAME)
    tracemalloc.start()
    try:
        result = await publisher.publish(TABLE)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.written
    assert peak < envelope.MAX_TABLE_BYTES + 32 * MIB, f"peak {peak / MIB:.0f} MiB: inflation was not capped"
    stored = kube_api.get("v1", "configmaps", NAME, NS)
    assert stored is not None
    assert RoutingTable.from_json(envelope.decode(stored)).sha256 == TABLE.sha256
