"""The table's ConfigMap envelope: both encodings the controller writes, and the one capped decoder."""

from __future__ import annotations

import base64
import gzip

import pytest

from controller.kube.publishing import render_configmap
from gateway.routing import envelope
from gateway.routing.table import RoutingTable

TABLE = RoutingTable.build(backends={}, routes={}).with_generation(4)


def test_plain_table_is_read_from_data() -> None:
    configmap = render_configmap(TABLE, name="t", namespace="ns", gzip_threshold_bytes=1 << 20, resource_version=None)
    assert "data" in configmap
    assert RoutingTable.from_json(envelope.decode(configmap)) == TABLE


def test_large_table_is_read_from_gzipped_binary_data() -> None:
    configmap = render_configmap(TABLE, name="t", namespace="ns", gzip_threshold_bytes=10, resource_version="7")
    assert "data" not in configmap
    assert configmap["metadata"]["resourceVersion"] == "7"
    assert RoutingTable.from_json(envelope.decode(configmap)) == TABLE


def test_encode_switches_to_gzip_only_past_the_threshold() -> None:
    payload = TABLE.to_json()
    assert envelope.encode(payload, gzip_threshold_bytes=len(payload)) == {
        "data": {envelope.JSON_KEY: payload.decode()}
    }
    packed = envelope.encode(payload, gzip_threshold_bytes=len(payload) - 1)
    assert list(packed) == ["binaryData"]
    assert envelope.decode(packed) == payload


def test_gzip_is_deterministic_so_equal_tables_give_equal_objects() -> None:
    first = render_configmap(TABLE, name="t", namespace="ns", gzip_threshold_bytes=10, resource_version=None)
    second = render_configmap(TABLE, name="t", namespace="ns", gzip_threshold_bytes=10, resource_version=None)
    assert first == second


def test_configmap_without_a_table_is_refused_with_a_reason() -> None:
    with pytest.raises(envelope.EnvelopeError, match="neither"):
        envelope.decode({"data": {"other": "x"}})


def test_corrupt_gzip_is_refused() -> None:
    with pytest.raises(envelope.EnvelopeError, match="not base64 gzip"):
        envelope.decode({"binaryData": {"table.json.gz": base64.b64encode(b"not gzip").decode()}})


def test_truncated_gzip_is_refused_rather_than_read_in_part() -> None:
    packed = gzip.compress(TABLE.to_json(), mtime=0)
    with pytest.raises(envelope.EnvelopeError, match="truncated"):
        envelope.decode({"binaryData": {"table.json.gz": base64.b64encode(packed[: len(packed) // 2]).decode()}})


def test_gzip_bomb_is_refused() -> None:
    bomb = gzip.compress(b"0" * (65 * 1024 * 1024), compresslevel=9)
    with pytest.raises(envelope.EnvelopeError, match=r"^binaryData.* inflates beyond"):
        envelope.decode({"binaryData": {"table.json.gz": base64.b64encode(bomb).decode()}})


def test_the_cap_is_the_callers_to_choose() -> None:
    payload = TABLE.to_json()
    configmap = envelope.encode(payload, gzip_threshold_bytes=0)
    assert envelope.decode(configmap, max_bytes=len(payload)) == payload
    with pytest.raises(envelope.EnvelopeError, match=f"inflates beyond {len(payload) - 1} bytes"):
        envelope.decode(configmap, max_bytes=len(payload) - 1)
