"""The derived cases of vectors/README.md, made by mutating the shared vectors, plus translator state."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.bridge import ResponsesToChatStream, fold_chat_completion
from tests.gateway.bridge import harness

BY_NAME = {vector.name: vector for vector in harness.load_vectors()}


def _frames(events: list[dict[str, Any]]) -> bytes:
    return b"".join(b"data: " + json.dumps(event).encode() + b"\n\n" for event in events)


def _events(name: str) -> list[dict[str, Any]]:
    return harness.events_of(BY_NAME[name].raw)


def test_text_without_any_delta_is_still_streamed_from_done_events() -> None:
    events = [e for e in _events("01_plain_text") if e["type"] != "response.output_text.delta"]
    assembled = harness.assemble(harness.translate(_frames(events)))
    assert assembled.content_deltas == ["Hello! How can I help you today?"]
    assert assembled.finish_reasons == ["stop"]


def test_a_call_seen_only_at_output_item_done_is_streamed_in_one_chunk() -> None:
    dropped = {"response.function_call_arguments.delta", "response.function_call_arguments.done"}
    events = [
        e
        for e in _events("03_tool_call_streamed_args")
        if e["type"] not in dropped and e["type"] != "response.output_item.added"
    ]
    chunks = harness.translate(_frames(events))
    assembled = harness.assemble(chunks)
    assert assembled.tool_call_chunks == [
        {
            "index": 0,
            "id": "call_v03_weather",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"location": "Paris, FR", "unit": "c"}'},
        }
    ]
    assert assembled.finish_reasons == ["tool_calls"]


def test_dropping_the_terminal_event_is_a_502_not_a_stop() -> None:
    events = [e for e in _events("01_plain_text") if e["type"] != "response.completed"]
    result = fold_chat_completion(events, model=harness.MODEL)
    assert result.completion is None
    assert result.error is not None
    assert result.error.status == 502
    chunks = harness.translate(_frames(events))
    assembled = harness.assemble(chunks)
    assert assembled.finish_reasons == []
    assert assembled.error == result.error.body()
    assert assembled.content == "Hello! How can I help you today?"


def test_an_error_event_instead_of_response_failed_is_a_429_rate_limit() -> None:
    events = [e for e in _events("08_failed_mid_stream") if e["type"] != "response.failed"]
    events.append(
        {
            "type": "error",
            "sequence_number": 6,
            "code": "rate_limit_exceeded",
            "message": "Rate limit reached",
            "param": None,
        }
    )
    result = fold_chat_completion(events, model=harness.MODEL)
    assert result.error is not None
    assert result.error.status == 429
    assert result.error.body() == {
        "error": {
            "message": "Rate limit reached",
            "type": "rate_limit_error",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }


def test_role_chunk_waits_for_content_so_early_failures_stay_plain_http_errors() -> None:
    stream = ResponsesToChatStream(model=harness.MODEL, include_usage=True)
    events = _events("38_failed_context_length_before_output")
    assert stream.feed(events[0]) == []
    assert stream.feed(events[1]) == []
    assert not stream.started
    frames = stream.feed(events[2])
    assert stream.error is not None
    assert frames == [stream.error.body()]
    assert stream.error.status == 400
    assert stream.done
    assert not stream.started
    assert stream.finish() == []


def test_started_flips_with_the_first_content_chunk_not_the_role_chunk() -> None:
    stream = ResponsesToChatStream(model=harness.MODEL, include_usage=False)
    seen: list[bool] = []
    for event in _events("05_reasoning_then_text"):
        chunks = stream.feed(event)
        seen.append(stream.started)
        if chunks and not stream.done:
            assert stream.started
    assert seen[0] is False
    assert stream.done
    assert stream.finish_reason == "stop"
    assert stream.usage is not None
    assert stream.usage["completion_tokens_details"] == {"reasoning_tokens": 64}
    assert stream.error is None


def test_events_after_the_terminal_event_produce_nothing() -> None:
    stream = ResponsesToChatStream(model=harness.MODEL, include_usage=False)
    for event in _events("01_plain_text"):
        stream.feed(event)
    assert stream.done
    assert stream.feed({"type": "response.output_text.delta", "output_index": 0, "delta": "late"}) == []
    assert stream.finish() == []


@pytest.mark.parametrize(
    ("name", "source", "unrecoverable"),
    [
        ("01_plain_text", None, False),
        ("09_codex_empty_output_item_done", "output_item_done", False),
        ("24_text_done_only_recovery", "output_text_done", False),
        ("25_deltas_only_recovery", "deltas", False),
        ("36_empty_output_nothing_to_recover", None, True),
    ],
)
def test_the_stream_translator_reports_the_same_recovery_as_the_fold(
    name: str, source: str | None, unrecoverable: bool
) -> None:
    stream = ResponsesToChatStream(model=harness.MODEL, include_usage=False)
    for event in _events(name):
        stream.feed(event)
    folded = fold_chat_completion(_events(name), model=harness.MODEL)
    assert stream.recovery == folded.recovery
    assert stream.recovery.source == source
    assert stream.recovery.unrecoverable is unrecoverable


def test_without_response_created_the_fallback_id_and_created_are_used() -> None:
    stream = ResponsesToChatStream(model="m", include_usage=False, fallback_id="chatcmpl-x", created=5)
    chunks = stream.feed(
        {"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "hi", "item_id": "m1"}
    )
    assert [c["id"] for c in chunks] == ["chatcmpl-x", "chatcmpl-x"]
    assert [c["created"] for c in chunks] == [5, 5]


def test_reasoning_items_with_encrypted_content_are_kept_for_replay_in_both_directions() -> None:
    expected = [{"type": "reasoning", "summary": [], "encrypted_content": "gAAAAABv09-opaque"}]
    folded = fold_chat_completion(_events("09_codex_empty_output_item_done"), model=harness.MODEL)
    assert folded.completion is not None
    message = folded.completion["choices"][0]["message"]
    assert message["reasoning_items"] == expected
    stream = ResponsesToChatStream(model=harness.MODEL, include_usage=False)
    for event in _events("09_codex_empty_output_item_done"):
        stream.feed(event)
    assert stream.reasoning_items == expected


def test_an_echoed_assistant_message_replays_its_reasoning_before_the_turn() -> None:
    from gateway.bridge import to_responses_request

    folded = fold_chat_completion(_events("09_codex_empty_output_item_done"), model=harness.MODEL)
    assert folded.completion is not None
    assistant = folded.completion["choices"][0]["message"]
    chat = {
        "model": "a",
        "messages": [
            {"role": "user", "content": "read it"},
            assistant,
            {"role": "tool", "tool_call_id": "call_v09_read", "content": "# README"},
        ],
    }
    body = to_responses_request(chat, upstream_model="gpt-5.4", provider="chatgpt")
    assert [item.get("type") for item in body["input"]] == [
        "message",
        "reasoning",
        "message",
        "function_call",
        "function_call_output",
    ]
    assert body["input"][1] == {"type": "reasoning", "summary": [], "encrypted_content": "gAAAAABv09-opaque"}
    assert body["input"][3] == {
        "type": "function_call",
        "call_id": "call_v09_read",
        "name": "read_file",
        "arguments": '{"path": "README.md"}',
    }


def test_a_json_response_maps_like_the_folded_stream() -> None:
    from gateway.bridge import chat_completion_from_response

    events = _events("05_reasoning_then_text")
    direct = chat_completion_from_response(events[-1]["response"], model=harness.MODEL)
    folded = fold_chat_completion(events, model=harness.MODEL)
    assert direct.completion == folded.completion
    assert direct.usage == folded.usage
    failed = chat_completion_from_response(_events("08_failed_mid_stream")[-1]["response"], model=harness.MODEL)
    assert failed.completion is None
    assert failed.error is not None
    assert failed.error.status == 500
