"""Decoding the table out of the published ConfigMap, in both encodings the controller writes."""

from __future__ import annotations

import base64
import gzip

import pytest

from controller.kube.publishing import render_configmap
from gateway.routing.kube_source import TableDecodeError, table_bytes
from gateway.routing.table import RoutingTable

TABLE = RoutingTable.build(backends={}, routes={}).with_generation(4)


def test_plain_table_is_read_from_data() -> None:
    configmap = render_configmap(TABLE, name="t", namespace="ns", gzip_threshold_bytes=1 << 20, resource_version=None)
    assert "data" in configmap
    assert RoutingTable.from_json(table_bytes(configmap)) == TABLE


def test_large_table_is_read_from_gzipped_binary_data() -> None:
    configmap = render_configmap(TABLE, name="t", namespace="ns", gzip_threshold_bytes=10, resource_version="7")
    assert "data" not in configmap
    assert configmap["metadata"]["resourceVersion"] == "7"
    assert RoutingTable.from_json(table_bytes(configmap)) == TABLE


def test_gzip_is_deterministic_so_equal_tables_give_equal_objects() -> None:
    first = render_configmap(TABLE, name="t", namespace="ns", gzip_threshold_bytes=10, resource_version=None)
    second = render_configmap(TABLE, name="t", namespace="ns", gzip_threshold_bytes=10, resource_version=None)
    assert first == second


def test_configmap_without_a_table_is_refused_with_a_reason() -> None:
    with pytest.raises(TableDecodeError, match="neither"):
        table_bytes({"data": {"other": "x"}})


def test_corrupt_gzip_is_refused() -> None:
    with pytest.raises(TableDecodeError, match="not base64 gzip"):
        table_bytes({"binaryData": {"table.json.gz": base64.b64encode(b"not gzip").decode()}})


def test_gzip_bomb_is_refused() -> None:
    bomb = gzip.compress(b"0" * (65 * 1024 * 1024), compresslevel=9)
    with pytest.raises(TableDecodeError, match="inflates beyond"):
        table_bytes({"binaryData": {"table.json.gz": base64.b64encode(bomb).decode()}})
