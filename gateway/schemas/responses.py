"""The Responses API streaming vocabulary, defined once.

Event type names, the sets that classify them (terminal, failed) and TypedDicts for the wire shapes the gateway
reads and writes. The bridge (both directions), the `/v1/responses` handler and the prober import these
instead of spelling event names as bare strings. Shapes are `total=False`: upstreams omit fields freely, and
readers must treat every key as optional.
"""

from __future__ import annotations

from typing import Any, Final, Literal, TypedDict

__all__ = [
    "FAILED_EVENTS",
    "OK_TERMINAL_EVENTS",
    "TERMINAL_EVENTS",
    "EventType",
    "FunctionCallItem",
    "MessageItem",
    "OutputItem",
    "ReasoningItem",
    "ResponseBody",
    "ResponseUsage",
    "StreamEvent",
    "is_failure",
    "is_terminal",
]

EventType = Literal[
    "response.created",
    "response.queued",
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
    "response.reasoning_summary_part.added",
    "response.reasoning_summary_part.done",
    "response.reasoning_summary_text.delta",
    "response.reasoning_summary_text.done",
    "response.reasoning_text.delta",
    "response.reasoning_text.done",
    "response.completed",
    "response.incomplete",
    "response.failed",
    "error",
]

OK_TERMINAL_EVENTS: Final = frozenset({"response.completed", "response.incomplete"})
"""Terminal events after which the response (possibly truncated) is usable."""

FAILED_EVENTS: Final = frozenset({"response.failed", "error"})
"""Events that end a stream with an error instead of an answer."""

TERMINAL_EVENTS: Final = OK_TERMINAL_EVENTS | FAILED_EVENTS
"""Every event after which no further event of the same response is expected."""


def is_terminal(event_type: object) -> bool:
    """True for an event type that ends the stream (ok or failed)."""
    return event_type in TERMINAL_EVENTS


def is_failure(event_type: object) -> bool:
    """True for an event type that ends the stream with an error."""
    return event_type in FAILED_EVENTS


class ResponseUsage(TypedDict, total=False):
    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_tokens_details: dict[str, int]
    output_tokens_details: dict[str, int]


class MessageItem(TypedDict, total=False):
    type: Literal["message"]
    id: str
    role: str
    status: str
    phase: str
    content: list[dict[str, Any]]


class FunctionCallItem(TypedDict, total=False):
    type: Literal["function_call"]
    id: str
    call_id: str
    name: str
    arguments: str
    status: str


class ReasoningItem(TypedDict, total=False):
    type: Literal["reasoning"]
    id: str
    summary: list[dict[str, Any]]
    content: list[dict[str, Any]]
    encrypted_content: str


OutputItem = MessageItem | FunctionCallItem | ReasoningItem | dict[str, Any]
"""An item of `Response.output`; unknown item types stay plain dicts."""


class ResponseBody(TypedDict, total=False):
    id: str
    object: Literal["response"]
    created_at: int
    status: str
    model: str
    output: list[dict[str, Any]]
    usage: ResponseUsage | None
    error: dict[str, Any] | None
    incomplete_details: dict[str, Any] | None


class StreamEvent(TypedDict, total=False):
    type: str
    sequence_number: int
    response: ResponseBody
    item: dict[str, Any]
    item_id: str
    output_index: int
    content_index: int
    summary_index: int
    delta: str
    text: str
    arguments: str
    part: dict[str, Any]
    code: str | None
    message: str
    param: str | None
