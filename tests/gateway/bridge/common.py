"""What both bridges' test harnesses do alike: compare answers as deep subsets, decode raw SSE in pieces."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from gateway import sse

__all__ = ["assert_subset", "decoded_in_pieces"]


def assert_subset(expected: Any, actual: Any, path: str = "", *, null_is_absent: bool = False) -> None:
    """Deep subset: every expected key present with a matching value (with ``null_is_absent``, an expected null
    also matches an absent key); lists match in length and order; scalars match in type and value."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        for key, value in expected.items():
            if null_is_absent and value is None and key not in actual:
                continue
            assert key in actual, f"{path}.{key}: missing (expected {value!r})"
            assert_subset(value, actual[key], f"{path}.{key}", null_is_absent=null_is_absent)
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: expected a list, got {actual!r}"
        assert len(expected) == len(actual), f"{path}: length {len(actual)} != {len(expected)}: {actual!r}"
        for i, (want, got) in enumerate(zip(expected, actual, strict=True)):
            assert_subset(want, got, f"{path}[{i}]", null_is_absent=null_is_absent)
    else:
        assert type(expected) is type(actual), f"{path}: {actual!r} is not a {type(expected).__name__}"
        assert expected == actual, f"{path}: {actual!r} != {expected!r}"


def decoded_in_pieces(raw: bytes, splits: list[int] | None = None) -> Iterator[list[sse.SSEEvent]]:
    """The SSE decoder fed `raw` cut at the `splits` byte offsets, as the network may deliver it: what each
    piece completes, then what closing the stream completes."""
    decoder = sse.SSEDecoder()
    for start, end in itertools.pairwise([0, *(splits or []), len(raw)]):
        yield decoder.feed(raw[start:end])
    yield decoder.close()
