"""Decoding of the Kubernetes protobuf wire format for the few request bodies kubectl sends that way.

kubectl's typed commands (``kubectl create namespace|configmap|secret``, and their DELETE options) send
``application/vnd.kubernetes.protobuf``: the magic ``k8s\\0`` then a ``runtime.Unknown`` envelope whose
``raw`` field holds the object. Only the kinds in ``MESSAGES`` are understood (field numbers from the
Kubernetes ``generated.proto`` files); anything else is refused with 415 by the caller.
"""

from __future__ import annotations

import base64
from typing import Any

Json = dict[str, Any]
MAGIC = b"k8s\x00"

# A message schema: field number -> (json name, kind). Kinds: "string", "bytes", "int", "bool",
# a message name, "map:<key kind>:<value kind>", "repeated:<kind>".
MESSAGES: dict[str, dict[int, tuple[str, str]]] = {
    "Unknown": {1: ("typeMeta", "TypeMeta"), 2: ("raw", "bytes"), 3: ("contentEncoding", "string"), 4: ("contentType", "string")},
    "TypeMeta": {1: ("apiVersion", "string"), 2: ("kind", "string")},
    "Time": {1: ("seconds", "int"), 2: ("nanos", "int")},
    "OwnerReference": {
        1: ("kind", "string"), 3: ("name", "string"), 4: ("uid", "string"), 5: ("apiVersion", "string"),
        6: ("controller", "bool"), 7: ("blockOwnerDeletion", "bool"),
    },
    "ObjectMeta": {
        1: ("name", "string"), 2: ("generateName", "string"), 3: ("namespace", "string"), 5: ("uid", "string"),
        6: ("resourceVersion", "string"), 7: ("generation", "int"), 11: ("labels", "map:string:string"),
        12: ("annotations", "map:string:string"), 13: ("ownerReferences", "repeated:OwnerReference"),
        14: ("finalizers", "repeated:string"),
    },
    "ConfigMap": {1: ("metadata", "ObjectMeta"), 2: ("data", "map:string:string"), 3: ("binaryData", "map:string:bytes"), 4: ("immutable", "bool")},
    "Secret": {
        1: ("metadata", "ObjectMeta"), 2: ("data", "map:string:bytes"), 3: ("type", "string"),
        4: ("stringData", "map:string:string"), 5: ("immutable", "bool"),
    },
    "NamespaceSpec": {1: ("finalizers", "repeated:string")},
    "Namespace": {1: ("metadata", "ObjectMeta"), 2: ("spec", "NamespaceSpec")},
    "Preconditions": {1: ("uid", "string"), 2: ("resourceVersion", "string")},
    "DeleteOptions": {
        1: ("gracePeriodSeconds", "int"), 2: ("preconditions", "Preconditions"), 3: ("orphanDependents", "bool"),
        4: ("propagationPolicy", "string"), 5: ("dryRun", "repeated:string"),
    },
}  # fmt: skip


class UnsupportedKindError(ValueError):
    """A well-formed body of a kind this decoder does not know (the fake's limit, not the client's fault)."""


class ProtobufError(ValueError):
    """The body is not protobuf this module understands."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) pairs: varints as int, length-delimited as bytes."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            out.append((number, value))
        elif wire == 2:
            length, pos = _varint(data, pos)
            out.append((number, data[pos : pos + length]))
            pos += length
        elif wire == 1:
            out.append((number, int.from_bytes(data[pos : pos + 8], "little")))
            pos += 8
        elif wire == 5:
            out.append((number, int.from_bytes(data[pos : pos + 4], "little")))
            pos += 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
    return out


def _scalar(kind: str, value: int | bytes) -> Any:
    if kind == "string":
        return value.decode() if isinstance(value, bytes) else str(value)
    if kind == "bytes":
        return base64.b64encode(value).decode() if isinstance(value, bytes) else value
    if kind == "int":
        number = int(value) if isinstance(value, int) else 0
        return number - (1 << 64) if number >= 1 << 63 else number
    if kind == "bool":
        return bool(value)
    if not isinstance(value, bytes):
        raise ProtobufError(f"{kind} must be a message")
    return decode_message(kind, value)


def decode_message(name: str, data: bytes) -> Json:
    schema = MESSAGES[name]
    out: Json = {}
    for number, value in _fields(data):
        entry = schema.get(number)
        if entry is None:
            continue
        field, kind = entry
        if kind.startswith("map:"):
            _, key_kind, value_kind = kind.split(":")
            pair = dict(_fields(value if isinstance(value, bytes) else b""))
            key = _scalar(key_kind, pair.get(1, b""))
            out.setdefault(field, {})[key] = _scalar(value_kind, pair.get(2, b""))
        elif kind.startswith("repeated:"):
            out.setdefault(field, []).append(_scalar(kind.split(":", 1)[1], value))
        else:
            decoded = _scalar(kind, value)
            if decoded not in ("", 0, False, {}):  # Go's omitempty: zero values do not appear in JSON
                out[field] = decoded
    return out


def decode(body: bytes) -> Json:
    """A Kubernetes protobuf body as the JSON object it stands for."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing the k8s protobuf magic")
    envelope = decode_message("Unknown", body[len(MAGIC) :])
    type_meta = envelope.get("typeMeta", {})
    kind = type_meta.get("kind", "")
    if kind not in MESSAGES or kind in ("Unknown", "TypeMeta"):
        raise UnsupportedKindError(f"protobuf bodies of kind {kind!r} are not supported")
    raw = base64.b64decode(envelope.get("raw", ""))
    obj = decode_message(kind, raw)
    return {"apiVersion": type_meta.get("apiVersion", "v1"), "kind": kind, **obj}
