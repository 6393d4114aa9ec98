"""Every answer vector, both ways a caller can ask: non-stream (`chat.completion` → Response) and stream (chat
chunks → Responses events), checked against the vector, against each other, and by the real `openai` SDK."""

from __future__ import annotations

import json
from typing import Any

import httpx2 as httpx
import openai
import pytest

from gateway.bridge.responses_chat import response_from_chat_completion
from tests.gateway.bridge.common import assert_subset
from tests.gateway.bridge.reverse import harness

VECTORS = harness.load_answers()
IDS = [vector.name for vector in VECTORS]
OK = [vector for vector in VECTORS if "response" in vector.spec]
FAILED = [vector for vector in VECTORS if "error" in vector.spec]


def test_the_vectors_cover_answers_and_failures() -> None:
    assert len(OK) >= 15
    assert len(FAILED) >= 4
    assert all(("response" in v.spec) != ("error" in v.spec) for v in VECTORS), "each vector expects one outcome"


@pytest.mark.parametrize("vector", [v for v in VECTORS if v.spec["completion"] is not None], ids=lambda v: v.name)
def test_non_stream_answer_matches_the_vector(vector: harness.AnswerVector) -> None:
    result = response_from_chat_completion(vector.spec["completion"], vector.frame())
    if "error" in vector.spec:
        assert result.response is None
        assert result.error is not None
        assert result.error.status == vector.spec["error"]["http_status"]
        assert result.error.body() == vector.spec["error"]["body"]
        return
    assert result.error is None
    assert result.response is not None
    assert_subset(vector.spec["response"], result.response, "response")
    assert result.response["id"] == vector.response_id
    harness.validate_response(result.response)


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_stream_matches_the_vector(vector: harness.AnswerVector) -> None:
    events, stream = harness.translate(vector.raw, vector.frame())
    harness.check_stream_invariants(events)
    got = [[event["type"], event] for event in events]
    want = vector.spec["events"]
    assert [kind for kind, _ in got] == [kind for kind, _ in want]
    for i, ((_, event), (kind, fields)) in enumerate(zip(got, want, strict=True)):
        assert_subset(fields, event, f"events[{i}]<{kind}>")
    if "error" in vector.spec:
        assert stream.error is not None
        assert stream.error.body() == vector.spec["error"]["body"]
        assert stream.error.status == vector.spec["error"]["http_status"]
        assert stream.response is None
    else:
        assert stream.error is None
        assert stream.response == events[-1]["response"]


@pytest.mark.parametrize("vector", OK, ids=[v.name for v in OK])
def test_stream_and_non_stream_give_the_same_response(vector: harness.AnswerVector) -> None:
    streamed, stream = harness.translate(vector.raw, vector.frame())
    direct = response_from_chat_completion(vector.spec["completion"], vector.frame())
    assert streamed[-1]["response"] == direct.response
    assert stream.usage == direct.usage


@pytest.mark.parametrize("vector", OK, ids=[v.name for v in OK])
def test_deltas_alone_rebuild_the_final_output(vector: harness.AnswerVector) -> None:
    events, _ = harness.translate(vector.raw, vector.frame())
    final = events[-1]["response"]["output"]
    assert harness.without_status(harness.fold_deltas(events)) == harness.without_status(final)
    done = {e["output_index"]: e["item"] for e in events if e["type"] == "response.output_item.done"}
    assert [done[i] for i in sorted(done)] == final


def _without_parsed(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The SDK's parsed helpers add `parsed` / `parsed_arguments`; what remains must be exactly our items."""
    out = []
    for item in items:
        item = {k: v for k, v in item.items() if k != "parsed_arguments"}
        if isinstance(item.get("content"), list):
            item["content"] = [{k: v for k, v in part.items() if k != "parsed"} for part in item["content"]]
        out.append(item)
    return out


def _client(handler: Any) -> openai.OpenAI:
    return openai.OpenAI(
        api_key="test-key",
        base_url="http://gateway.test/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )


@pytest.mark.parametrize("vector", OK, ids=[v.name for v in OK])
def test_the_sdk_stream_helper_accumulates_our_events(vector: harness.AnswerVector) -> None:
    """`client.responses.stream()` runs the SDK's strict accumulator (identity checks, indexes, done items)."""
    events, _ = harness.translate(vector.raw, vector.frame())
    body = harness.encode(events)
    client = _client(lambda request: httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body))
    request = {k: v for k, v in vector.spec["request"].items() if k in ("model", "input")}
    if vector.spec["response"]["status"] == "incomplete":
        with client.responses.stream(**request) as stream:
            seen = [event.type for event in stream]
        assert seen == [event["type"] for event in events]
        return
    with client.responses.stream(**request) as stream:
        seen = [event.type for event in stream]
        final = stream.get_final_response()
    assert seen == [event["type"] for event in events]
    assert final.id == vector.response_id
    assert (
        _without_parsed(final.model_dump(mode="json", exclude_unset=True)["output"]) == events[-1]["response"]["output"]
    )
    texts = [
        part["text"]
        for item in events[-1]["response"]["output"]
        if item["type"] == "message"
        for part in item["content"]
        if part["type"] == "output_text"
    ]
    assert final.output_text == "".join(texts)


@pytest.mark.parametrize("vector", OK, ids=[v.name for v in OK])
def test_the_sdk_reads_the_non_stream_response(vector: harness.AnswerVector) -> None:
    direct = response_from_chat_completion(vector.spec["completion"], vector.frame()).response
    client = _client(
        lambda request: httpx.Response(
            200, content=json.dumps(direct).encode(), headers={"content-type": "application/json"}
        )
    )
    parsed = client.responses.create(model="alias-model", input="hi")
    assert parsed.id == vector.response_id
    assert parsed.status == vector.spec["response"]["status"]
    assert parsed.created_at == harness.CREATED_AT


@pytest.mark.parametrize("vector", FAILED, ids=[v.name for v in FAILED])
def test_a_failed_stream_reaches_the_sdk_as_response_failed(vector: harness.AnswerVector) -> None:
    events, stream = harness.translate(vector.raw, vector.frame())
    body = harness.encode(events)
    client = _client(lambda request: httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body))
    with client.responses.stream(model="alias-model", input="hi") as sdk_stream:
        seen = list(sdk_stream)
    assert seen[-1].type == "response.failed"
    assert stream.error is not None
    assert seen[-1].response.error is not None
    assert seen[-1].response.error.message == stream.error.message
