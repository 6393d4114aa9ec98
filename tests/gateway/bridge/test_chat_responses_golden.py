"""Every vector in tests/gateway/bridge/vectors, non-streaming and streaming, by the rules of vectors/README.md."""

from __future__ import annotations

import pytest

from tests.gateway.bridge import harness

VECTORS = harness.load_vectors()
IDS = [vector.name for vector in VECTORS]


def test_the_shared_vectors_and_many_of_our_own_are_present() -> None:
    names = set(IDS)
    shared = {
        "01_plain_text",
        "02_multi_delta_text",
        "03_tool_call_streamed_args",
        "05_reasoning_then_text",
        "07_incomplete_max_tokens",
        "08_failed_mid_stream",
        "09_codex_empty_output_item_done",
        "11_usage_cached_reasoning",
    }
    assert shared <= names
    assert len(names - shared) >= 35
    assert all(vector.stream is not None for vector in VECTORS), "every vector states its streaming expectation"


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_non_streaming_answer_matches_the_vector(vector: harness.Vector) -> None:
    result = harness.fold(vector.raw)
    status, body = harness.answer(result)
    assert status == vector.expected["http_status"]
    harness.assert_subset(vector.expected["body"], body)
    if status == 200:
        harness.check_completion(body)
    if "recovery" in vector.expected:
        want = vector.expected["recovery"]
        assert result.recovery.source == want["source"]
        assert result.recovery.unrecoverable == want["unrecoverable"]
    if "retry_after" in vector.expected:
        assert result.error is not None
        assert result.error.retry_after == vector.expected["retry_after"]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_streaming_answer_matches_the_vector(vector: harness.Vector) -> None:
    chunks = harness.translate(vector.raw)
    harness.check_stream_invariants(chunks, include_usage=True, expected_body=vector.expected["body"])
    assembled = harness.assemble(chunks)
    assert vector.stream is not None
    harness.check_stream_expectations(assembled, vector.stream)
    if vector.expected["http_status"] == 200:
        assert len(assembled.usage_chunks) == 1
        expected_usage = vector.expected["body"].get("usage")
        if expected_usage is not None:
            harness.assert_subset(expected_usage, assembled.usage_chunks[0], "usage")
    else:
        assert assembled.error == vector.expected["body"], "the in-stream error frame carries the same error"


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_streaming_without_include_usage_sends_no_usage_at_all(vector: harness.Vector) -> None:
    chunks = harness.translate(vector.raw, include_usage=False)
    harness.check_stream_invariants(chunks, include_usage=False, expected_body=vector.expected["body"])
    assert not harness.assemble(chunks).usage_chunks


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_stream_and_non_stream_deliver_the_same_answer(vector: harness.Vector) -> None:
    result = harness.fold(vector.raw)
    assembled = harness.assemble(harness.translate(vector.raw))
    if result.completion is None:
        assert result.error is not None
        assert assembled.error == result.error.body()
        return
    choice = result.completion["choices"][0]
    message = choice["message"]
    assert assembled.content == (message["content"] or "")
    assert assembled.refusal == (message["refusal"] or "")
    assert assembled.reasoning == (message.get("reasoning_content") or "")
    assert assembled.tool_calls == message.get("tool_calls", [])
    assert assembled.annotations == message.get("annotations", [])
    assert assembled.finish_reasons == [choice["finish_reason"]]
    assert assembled.usage_chunks == [result.completion.get("usage")], "the same usage, or none in both"
    assert "usage" in result.completion or result.usage is None
