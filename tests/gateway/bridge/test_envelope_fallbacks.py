"""What the bridge says when the upstream leaves something out: no `usage` → none in both answers (a usage chunk
with `usage: null` for streams, never zeros); no `created_at` → the `created` the gateway passes (its receive
time), the same in every chunk and in the non-stream answer."""

from __future__ import annotations

from typing import Any

from gateway.bridge import ResponsesToChatStream, chat_completion_from_response, fold_chat_completion

RECEIVED = 1_800_000_000


def _events(*, created_at: object = None, usage: object = None) -> list[dict[str, Any]]:
    envelope: dict[str, Any] = {"id": "resp_env", "status": "in_progress", "output": []}
    if created_at is not None:
        envelope["created_at"] = created_at
    message = {
        "id": "msg_env",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": "hi", "annotations": []}],
    }
    return [
        {"type": "response.created", "response": envelope},
        {
            "type": "response.output_text.delta",
            "item_id": "msg_env",
            "output_index": 0,
            "content_index": 0,
            "delta": "hi",
        },
        {
            "type": "response.completed",
            "response": {**envelope, "status": "completed", "output": [message], "usage": usage},
        },
    ]


def _stream(events: list[dict[str, Any]], *, include_usage: bool = True) -> list[dict[str, Any]]:
    translator = ResponsesToChatStream(model="m", include_usage=include_usage, created=RECEIVED)
    return [chunk for event in events for chunk in translator.feed(event)] + translator.finish()


def test_no_usage_from_the_upstream_means_no_usage_in_either_answer() -> None:
    events = _events(created_at=1_700_000_000)
    folded = fold_chat_completion(events, model="m", created=RECEIVED)
    assert folded.completion is not None
    assert "usage" not in folded.completion
    assert folded.usage is None
    chunks = _stream(events)
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] is None, "a usage chunk of zeros would say the request cost nothing"
    assert all(chunk["usage"] is None for chunk in chunks)
    assert not any("usage" in chunk for chunk in _stream(events, include_usage=False))


def test_reported_usage_is_the_same_in_both_answers() -> None:
    usage = {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7}
    events = _events(created_at=1_700_000_000, usage=usage)
    folded = fold_chat_completion(events, model="m", created=RECEIVED)
    assert folded.completion is not None
    assert folded.completion["usage"]["total_tokens"] == 7
    assert _stream(events)[-1]["usage"] == folded.completion["usage"]


def test_without_created_at_both_answers_carry_the_receive_time() -> None:
    events = _events()
    folded = fold_chat_completion(events, model="m", created=RECEIVED)
    assert folded.completion is not None
    assert folded.completion["created"] == RECEIVED
    assert {chunk["created"] for chunk in _stream(events)} == {RECEIVED}
    response = events[-1]["response"]
    answered = chat_completion_from_response(response, model="m", created=RECEIVED)
    assert answered.completion is not None
    assert answered.completion["created"] == RECEIVED


def test_the_upstream_created_at_wins_over_the_receive_time() -> None:
    events = _events(created_at=1_700_000_000.9)
    folded = fold_chat_completion(events, model="m", created=RECEIVED)
    assert folded.completion is not None
    assert folded.completion["created"] == 1_700_000_000
    assert {chunk["created"] for chunk in _stream(events)} == {1_700_000_000}
