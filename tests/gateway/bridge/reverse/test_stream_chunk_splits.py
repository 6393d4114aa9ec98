"""Chunk-boundary invariance: wherever the transport cuts the upstream chat stream, and whichever line endings
it uses, the Responses events we send are the same."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.gateway.bridge.reverse import harness

VECTORS = harness.load_answers()
IDS = [vector.name for vector in VECTORS]


def _lf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n")


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_every_single_split_point_gives_the_same_events(vector: harness.AnswerVector) -> None:
    frame = vector.frame()
    reference, _ = harness.translate(vector.raw, frame)
    assert reference[-1]["type"] in ("response.completed", "response.incomplete", "response.failed")
    for offset in range(1, len(vector.raw)):
        assert harness.translate(vector.raw, frame, splits=[offset])[0] == reference, offset


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_one_byte_at_a_time_gives_the_same_events(vector: harness.AnswerVector) -> None:
    frame = vector.frame()
    reference, _ = harness.translate(vector.raw, frame)
    assert harness.translate(vector.raw, frame, splits=list(range(1, len(vector.raw))))[0] == reference


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_crlf_line_endings_split_anywhere_give_the_same_events(vector: harness.AnswerVector) -> None:
    frame = vector.frame()
    reference, _ = harness.translate(_lf(vector.raw), frame)
    crlf = _lf(vector.raw).replace(b"\n", b"\r\n")
    for offset in range(1, len(crlf)):
        assert harness.translate(crlf, frame, splits=[offset])[0] == reference, offset


@given(
    vector=st.sampled_from(VECTORS),
    ending=st.sampled_from([b"\n", b"\r\n", b"\r"]),
    cuts=st.lists(st.floats(min_value=0.0, max_value=1.0, exclude_max=True), max_size=40),
)
def test_any_set_of_split_points_and_any_line_ending_gives_the_same_events(
    vector: harness.AnswerVector, ending: bytes, cuts: list[float]
) -> None:
    frame = vector.frame()
    raw = _lf(vector.raw).replace(b"\n", ending)
    splits = sorted({int(cut * len(raw)) for cut in cuts} - {0})
    assert harness.translate(raw, frame, splits=splits)[0] == harness.translate(_lf(vector.raw), frame)[0]
