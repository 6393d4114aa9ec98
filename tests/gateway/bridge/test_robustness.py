"""Hostile or malformed upstream events never crash a consumer: every one answers with a chat result or a
ChatError, never an exception (house rule: bad input → clear error, never a crash)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gateway.bridge import ResponseFolder, ResponsesStreamRecovery, ResponsesToChatStream, fold_chat_completion

TYPES = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.output_item.done",
    "response.content_part.added",
    "response.content_part.done",
    "response.output_text.delta",
    "response.output_text.done",
    "response.output_text.annotation.added",
    "response.refusal.delta",
    "response.refusal.done",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.custom_tool_call_input.delta",
    "response.custom_tool_call_input.done",
    "response.reasoning_summary_text.delta",
    "response.reasoning_summary_text.done",
    "response.reasoning_text.delta",
    "response.reasoning_text.done",
    "response.completed",
    "response.incomplete",
    "response.failed",
    "error",
]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 5), st.floats(allow_nan=True), st.text(max_size=5))
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
item = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "function_call", "custom_tool_call", "reasoning", "web_search_call", 3])},
    optional={
        "id": values,
        "call_id": values,
        "name": values,
        "arguments": values,
        "input": values,
        "content": st.lists(
            st.fixed_dictionaries(
                {"type": st.sampled_from(["output_text", "refusal", "reasoning_text"])},
                optional={"text": values, "refusal": values, "annotations": values},
            )
            | values,
            max_size=3,
        ),
        "summary": values,
        "phase": values,
    },
)
event = st.fixed_dictionaries(
    {"type": st.sampled_from(TYPES) | values},
    optional={
        "output_index": values,
        "content_index": values,
        "summary_index": values,
        "item_id": values,
        "delta": values,
        "text": values,
        "refusal": values,
        "arguments": values,
        "input": values,
        "item": item | values,
        "part": values,
        "annotation": values,
        "response": st.fixed_dictionaries(
            {},
            optional={
                "id": values,
                "created_at": values,
                "status": values,
                "output": st.lists(item, max_size=3) | values,
                "usage": values,
                "error": values,
                "incomplete_details": values,
            },
        )
        | values,
        "error": values,
        "code": values,
        "message": values,
    },
)


@given(st.lists(event, max_size=12))
def test_no_event_sequence_crashes_any_consumer(events: list[dict[str, Any]]) -> None:
    stream = ResponsesToChatStream(model="m", include_usage=True)
    chunks = [chunk for e in events for chunk in stream.feed(e)] + stream.finish()
    assert stream.done
    assert chunks, "a stream always ends with a finish chunk or an error frame"
    assert ("error" in chunks[-1]) == (stream.error is not None)
    result = fold_chat_completion(events, model="m")
    assert (result.completion is None) != (result.error is None)
    folder = ResponseFolder()
    recovery = ResponsesStreamRecovery()
    for e in events:
        folder.feed(e)
        recovery.feed(e)
    assert folder.result() is not None
