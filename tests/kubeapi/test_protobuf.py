"""Protobuf request bodies (kubectl's typed commands): decoded for the kinds kubectl creates that way."""

from __future__ import annotations

import aiohttp

from tests.kubeapi import protobuf
from tests.kubeapi.support import CM


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (all this test needs; lengths stay below 128)."""
    assert len(payload) < 128
    return bytes([number << 3 | 2, len(payload)]) + payload


def _config_map(name: str, data: dict[str, str]) -> bytes:
    meta = _field(1, name.encode())
    body = _field(1, meta) + b"".join(_field(2, _field(1, k.encode()) + _field(2, v.encode())) for k, v in data.items())
    type_meta = _field(1, b"v1") + _field(2, b"ConfigMap")
    return protobuf.MAGIC + _field(1, type_meta) + _field(2, body)


def test_a_config_map_decodes_to_its_json_form() -> None:
    assert protobuf.decode(_config_map("pb", {"a": "1", "empty": ""})) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "pb"},
        "data": {"a": "1", "empty": ""},
    }


async def test_protobuf_create_over_http(kube_http: aiohttp.ClientSession) -> None:
    headers = {"Content-Type": "application/vnd.kubernetes.protobuf"}
    async with kube_http.post(CM, data=_config_map("pb", {"k": "v"}), headers=headers) as response:
        assert response.status == 201
        assert (await response.json())["data"] == {"k": "v"}
    async with kube_http.post(CM, data=b"k8s\x00garbage", headers=headers) as response:
        assert response.status == 400
        assert (await response.json())["message"].startswith("the object provided is unrecognized")
