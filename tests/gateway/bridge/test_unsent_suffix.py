"""Done events only add what the deltas did not already send: one rule for text, refusal, reasoning and arguments."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gateway.bridge import ResponsesToChatStream
from gateway.bridge.chat_responses_stream import unsent_suffix


@given(st.text(max_size=30), st.text(max_size=30))
def test_the_suffix_completes_what_was_sent(sent: str, more: str) -> None:
    assert sent + unsent_suffix(sent + more, sent) == sent + more


def test_nothing_new_or_a_disagreeing_done_event_adds_nothing() -> None:
    assert unsent_suffix("hello", "hello") == ""
    assert unsent_suffix("hel", "hello") == ""
    assert unsent_suffix("jello world", "hello") == ""


def _deltas(stream: ResponsesToChatStream, events: list[dict[str, Any]], field: str) -> str:
    out = []
    for event in events:
        for chunk in stream.feed(event):
            for choice in chunk.get("choices") or []:
                value = choice["delta"].get(field)
                if isinstance(value, str):
                    out.append(value)
    return "".join(out)


def test_text_refusal_and_reasoning_done_events_send_only_the_missing_suffix() -> None:
    where = {"output_index": 0, "content_index": 0}
    cases = {
        "content": [
            {"type": "response.output_text.delta", **where, "delta": "Hel"},
            {"type": "response.output_text.done", **where, "text": "Hello"},
            {"type": "response.content_part.done", **where, "part": {"type": "output_text", "text": "Hello"}},
        ],
        "refusal": [
            {"type": "response.refusal.delta", **where, "delta": "I can"},
            {"type": "response.refusal.done", **where, "refusal": "I cannot"},
            {"type": "response.content_part.done", **where, "part": {"type": "refusal", "refusal": "I cannot"}},
        ],
        "reasoning_content": [
            {"type": "response.reasoning_summary_text.delta", "output_index": 0, "summary_index": 0, "delta": "Thi"},
            {"type": "response.reasoning_summary_text.done", "output_index": 0, "summary_index": 0, "text": "Think"},
        ],
    }
    expected = {"content": "Hello", "refusal": "I cannot", "reasoning_content": "Think"}
    for field, events in cases.items():
        stream = ResponsesToChatStream(model="m", include_usage=False)
        assert _deltas(stream, events, field) == expected[field], field
