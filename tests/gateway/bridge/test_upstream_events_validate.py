"""Our vectors speak the real wire format: every upstream event validates as the SDK's `ResponseStreamEvent`,
except the deliberately odd ones listed here (what real upstreams send that SDK 3.57 would reject)."""

from __future__ import annotations

import pytest
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter, ValidationError

from tests.gateway.bridge import harness

_EVENTS: TypeAdapter[ResponseStreamEvent] = TypeAdapter(ResponseStreamEvent)

# Legacy codex usage (no cache_write_tokens) in terminal events of codex vectors.
_CODEX_TERMINAL: set[str | None] = {"response.completed"}
_ODD: dict[str, set[str | None]] = {
    "09_codex_empty_output_item_done": _CODEX_TERMINAL,
    "23_refusal_done_only_codex": _CODEX_TERMINAL,
    "24_text_done_only_recovery": _CODEX_TERMINAL,
    "25_deltas_only_recovery": _CODEX_TERMINAL,
    "26_unknown_events_and_framing": {
        "response.output_text.future_thing",
        "response.output_text_extra",
        "response.brand_new_event",
    },
    "31_codex_commentary_and_final_answer": _CODEX_TERMINAL,
    "35_tool_call_item_done_only": _CODEX_TERMINAL,
    "36_empty_output_nothing_to_recover": _CODEX_TERMINAL,
    "37_function_args_done_only": _CODEX_TERMINAL,
    # Error codes the SDK's `ResponseError.code` literal does not list, though real upstreams send them.
    "38_failed_context_length_before_output": {"response.failed"},
    "40_failed_insufficient_quota": {"response.failed"},
    "57_failed_unknown_code": {"response.failed"},
    "41_bare_error_frame": {None},
    "46_mixed_recovery_sources": _CODEX_TERMINAL,
    "48_events_without_output_index": {"response.output_text.delta", "response.function_call_arguments.delta"},
    "49_error_event_nested_shape": {"error"},
    "50_annotations_in_item_done_only": _CODEX_TERMINAL,
    "51_usage_limit_in_stream": {"error"},
    "53_reasoning_summary_in_item_done_only": _CODEX_TERMINAL,
    "54_item_done_extends_deltas": _CODEX_TERMINAL,
    "56_reasoning_and_text_from_deltas": _CODEX_TERMINAL,
    "59_codex_parallel_calls_item_done_only": _CODEX_TERMINAL,
    "60_codex_refusal_from_deltas": _CODEX_TERMINAL,
    "61_unknown_lookalike_events_ignored": {
        "response.function_call_arguments.future",
        "response.function_call_arguments.deltas",
        "response.refusal.extra",
        "response.reasoning_summary_text.preview",
        "response.output_text",
    },
    "62_two_messages_text_done_only": _CODEX_TERMINAL,
    # Codex CLI's own fixture shape: a bare `response.created`, items without id or output_index.
    "66_item_done_without_index_or_id": {"response.created", "response.output_item.done", "response.completed"},
}

VECTORS = harness.load_vectors()


@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_upstream_events_are_sdk_shaped_unless_deliberately_odd(vector: harness.Vector) -> None:
    odd = _ODD.get(vector.name, set())
    rejected: set[str | None] = set()
    for event in harness.events_of(vector.raw):
        try:
            _EVENTS.validate_python(event)
        except ValidationError:
            rejected.add(event.get("type"))
    assert rejected == odd
