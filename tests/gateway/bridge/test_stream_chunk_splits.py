"""Chunk-boundary property (docs/bridge.md, "Streaming"): wherever the transport cuts the upstream body, and whatever line
endings it uses, the chat stream we send is byte-identical."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.gateway.bridge import harness

VECTORS = harness.load_vectors()
IDS = [vector.name for vector in VECTORS]
SHARED = [vector for vector in VECTORS if int(vector.name[:2]) < 20]


def _lf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n")


def _reference(raw: bytes) -> bytes:
    return harness.encode(harness.translate(_lf(raw)))


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_every_single_split_point_gives_identical_bytes(vector: harness.Vector) -> None:
    reference = harness.encode(harness.translate(vector.raw))
    assert reference.endswith(b"data: [DONE]\n\n")
    for offset in range(1, len(vector.raw)):
        assert harness.encode(harness.translate(vector.raw, splits=[offset])) == reference, offset


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_crlf_line_endings_split_anywhere_give_identical_bytes(vector: harness.Vector) -> None:
    reference = _reference(vector.raw)
    crlf = _lf(vector.raw).replace(b"\n", b"\r\n")
    assert harness.encode(harness.translate(crlf)) == reference
    for offset in range(1, len(crlf)):
        assert harness.encode(harness.translate(crlf, splits=[offset])) == reference, offset


@pytest.mark.parametrize("vector", SHARED, ids=[v.name for v in SHARED])
def test_bare_cr_line_endings_split_anywhere_give_identical_bytes(vector: harness.Vector) -> None:
    reference = _reference(vector.raw)
    cr = _lf(vector.raw).replace(b"\n", b"\r")
    for offset in range(1, len(cr)):
        assert harness.encode(harness.translate(cr, splits=[offset])) == reference, offset


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_one_byte_at_a_time_gives_identical_bytes(vector: harness.Vector) -> None:
    reference = harness.encode(harness.translate(vector.raw))
    assert harness.encode(harness.translate(vector.raw, splits=list(range(1, len(vector.raw))))) == reference


@given(
    vector=st.sampled_from(VECTORS),
    ending=st.sampled_from([b"\n", b"\r\n", b"\r"]),
    cuts=st.lists(st.floats(min_value=0.0, max_value=1.0, exclude_max=True), max_size=40),
)
def test_any_set_of_split_points_gives_identical_bytes(
    vector: harness.Vector, ending: bytes, cuts: list[float]
) -> None:
    raw = _lf(vector.raw).replace(b"\n", ending)
    splits = sorted({int(cut * len(raw)) for cut in cuts} - {0})
    assert harness.encode(harness.translate(raw, splits=splits)) == _reference(vector.raw)
