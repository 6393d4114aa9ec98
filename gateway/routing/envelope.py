"""The routing table's ConfigMap envelope: where the table JSON sits in the object, and how big it may get.

Part of the contract between the planes, written once: the controller's publisher encodes with
:func:`encode`, and both the gateway's table source and the controller (reading back a ConfigMap
someone else may have written) decode with :func:`decode`, under one inflation cap.

- A table of at most ``gzip_threshold_bytes`` sits as text under ``data["table.json"]``; a larger one
  gzipped (level 6, mtime 0, so equal tables give equal bytes) and base64'd under
  ``binaryData["table.json.gz"]`` (a ConfigMap stops at 1 MiB).
- ``aliasgate.io/table-sha256`` and ``aliasgate.io/table-generation`` annotations repeat the table's
  hash and generation so that a diff needs no decoding.
- :func:`decode` refuses to inflate past ``max_bytes`` (64 MiB by default; a real table of 10k aliases
  is a few MiB), so a gzip bomb costs a bounded amount of memory on either side.

Pure: bytes and dicts in, bytes and dicts out.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib
from collections.abc import Mapping
from typing import Any

__all__ = [
    "GENERATION_ANNOTATION",
    "GZIP_KEY",
    "JSON_KEY",
    "MAX_TABLE_BYTES",
    "SHA_ANNOTATION",
    "EnvelopeError",
    "decode",
    "encode",
]

JSON_KEY = "table.json"
GZIP_KEY = "table.json.gz"
SHA_ANNOTATION = "aliasgate.io/table-sha256"
GENERATION_ANNOTATION = "aliasgate.io/table-generation"
MAX_TABLE_BYTES = 64 * 1024 * 1024
"""Refuse to inflate a gzip bomb beyond this (a real table of 10k aliases is a few MiB)."""


class EnvelopeError(ValueError):
    """The ConfigMap holds no readable table; the message names what is wrong (never the content)."""


def encode(payload: bytes, *, gzip_threshold_bytes: int) -> dict[str, dict[str, str]]:
    """The ConfigMap fields holding ``payload`` (the table JSON): ``{"data": ...}`` or ``{"binaryData": ...}``."""
    if len(payload) > gzip_threshold_bytes:
        packed = gzip.compress(payload, compresslevel=6, mtime=0)
        return {"binaryData": {GZIP_KEY: base64.b64encode(packed).decode("ascii")}}
    return {"data": {JSON_KEY: payload.decode("utf-8")}}


def decode(configmap: Mapping[str, Any], *, max_bytes: int = MAX_TABLE_BYTES) -> bytes:
    """The table JSON inside ``configmap`` (either key); raises :class:`EnvelopeError` naming what is wrong."""
    binary = configmap.get("binaryData") or {}
    if GZIP_KEY in binary:
        try:
            return _inflate(base64.b64decode(binary[GZIP_KEY], validate=True), max_bytes)
        except EnvelopeError:
            raise
        except (binascii.Error, zlib.error, gzip.BadGzipFile, TypeError, ValueError) as exc:
            raise EnvelopeError(f"binaryData[{GZIP_KEY!r}] is not base64 gzip: {exc}") from None
    data_map = configmap.get("data") or {}
    if JSON_KEY in data_map:
        return str(data_map[JSON_KEY]).encode("utf-8")
    raise EnvelopeError(f"the ConfigMap has neither data[{JSON_KEY!r}] nor binaryData[{GZIP_KEY!r}]")


_STEP = 1024 * 1024


def _inflate(packed: bytes, max_bytes: int) -> bytes:
    """Inflate one gzip member a MiB at a time, so a bomb costs at most ``max_bytes`` (plus a step) of memory."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    parts: list[bytes] = []
    size = 0
    pending = packed
    while not inflater.eof:
        part = inflater.decompress(pending, _STEP)
        pending = inflater.unconsumed_tail
        size += len(part)
        if size > max_bytes:
            raise EnvelopeError(f"binaryData[{GZIP_KEY!r}] inflates beyond {max_bytes} bytes")
        parts.append(part)
        if not part and not pending:
            raise EnvelopeError(f"binaryData[{GZIP_KEY!r}] is a truncated gzip stream")
    return b"".join(parts)
