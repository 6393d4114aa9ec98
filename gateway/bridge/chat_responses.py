"""The answer side of the Chat → Responses bridge: a Responses answer → one `chat.completion` (spec §2).

`fold_chat_completion` folds a whole upstream SSE body (already parsed into event dicts) into one
`chat.completion` in a single pass, rebuilding an empty terminal `output` through `recovery.OutputCollector`;
`chat_completion_from_response` maps an upstream JSON `Response`. The request side (spec §1) lives in
`chat_responses_request`; the stream direction in `chat_responses_stream`, which reuses `finish_reason_for`,
`chat_annotation` and `reasoning_item_for_replay` from here so both agree.

Policies (see also docs/bridge.md):

* `content` is the concatenation of every `output_text` part of every message item, in output order. A codex
  message item that carries `phase` (commentary, final_answer) starts a new paragraph: when text precedes it,
  `"\\n\\n"` separates them (LiteLLM glues "Working...Final."). Without `phase` there is no separator, as in
  the SDK's `Response.output_text`.
* `refusal` parts → `message.refusal`; with no `output_text` part, `content` is null (also when the answer is
  only tool calls). No output at all → `content: ""`, `finish_reason: "stop"` (never a 500).
* `url_citation` annotations → chat's nested `{"type":"url_citation","url_citation":{…}}`, their offsets shifted
  to index into the concatenated `content`; other annotation types have no chat form and are dropped.
* `reasoning_content` (LiteLLM-style extension): reasoning summary texts joined with `"\\n\\n"`; a reasoning item
  without summary text contributes its `reasoning_text` content instead; absent when there is none.
* Tool calls use `call_id` as the chat id; `custom_tool_call` becomes a function call whose arguments are its
  `input`.
* `usage` is absent when the upstream reported none (never a usage of zeros); `created` is `int(created_at)`,
  or the caller-supplied receive time when the upstream sent none.
* `reasoning_items` (LiteLLM-style extension): reasoning items that carry `encrypted_content` (codex sends it
  because we ask via `include`), so a client that echoes the assistant message back gets multi-turn reasoning
  with `store: false`; the request mapping replays them before that assistant turn. Streams do not carry them
  (no chat delta field exists for it); `ResponsesToChatStream.reasoning_items` exposes them to the gateway.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gateway.bridge import errors, usage
from gateway.bridge.recovery import NOT_NEEDED, OutputCollector, RecoveryOutcome
from gateway.schemas.responses import OK_TERMINAL_EVENTS, TERMINAL_EVENTS

__all__ = [
    "FoldResult",
    "chat_annotation",
    "chat_completion_from_response",
    "finish_reason_for",
    "fold_chat_completion",
    "message_from_output",
    "reasoning_item_for_replay",
]

_SEPARATOR = "\n\n"
_SERVICE_TIERS = frozenset({"auto", "default", "flex", "scale", "priority"})
_FOLD_STOPS = TERMINAL_EVENTS | {None}
_INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}


@dataclass(frozen=True, slots=True)
class FoldResult:
    """The chat answer for a non-streaming caller: a completion, or the error to answer with."""

    completion: dict[str, Any] | None
    error: errors.ChatError | None
    recovery: RecoveryOutcome
    usage: dict[str, Any] | None


def finish_reason_for(response: dict[str, Any], *, has_tool_calls: bool) -> str:
    """Spec §2.5: incomplete → length/content_filter; completed → tool_calls when calls were seen, else stop."""
    if response.get("status") == "incomplete":
        details = response.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        return _INCOMPLETE_REASONS.get(reason, "length") if isinstance(reason, str) else "length"
    return "tool_calls" if has_tool_calls else "stop"


def created_from(value: object) -> int | None:
    """`created` from `response.created_at` (int or float epoch seconds); None when unusable."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return int(value)
    return None


def chat_annotation(annotation: dict[str, Any], offset: int) -> dict[str, Any] | None:
    """A Responses annotation in chat shape, offsets shifted by `offset`; None when chat has no equivalent."""
    if annotation.get("type") != "url_citation":
        return None
    citation: dict[str, Any] = {}
    for key in ("start_index", "end_index"):
        value = annotation.get(key)
        if type(value) is int:
            citation[key] = value + offset
    citation["title"] = annotation.get("title") if isinstance(annotation.get("title"), str) else ""
    citation["url"] = annotation.get("url") if isinstance(annotation.get("url"), str) else ""
    return {"type": "url_citation", "url_citation": citation}


def message_from_output(items: Iterable[object]) -> dict[str, Any]:
    """Output items → the chat `message` (role, content, refusal, tool_calls, annotations, reasoning_content)."""
    texts: list[str] = []
    length = 0
    has_text = False
    last_text_item = -1
    refusals: list[str] = []
    annotations: list[dict[str, Any]] = []
    tool_calls: list[dict[str, Any]] = []
    reasoning: list[str] = []
    replay: list[dict[str, Any]] = []
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "message":
            content = item.get("content")
            if not isinstance(content, list):
                continue
            for part in content:
                if not isinstance(part, dict):
                    continue
                part_type = part.get("type")
                if part_type == "output_text":
                    has_text = True
                    text = part.get("text")
                    if not isinstance(text, str):
                        text = ""
                    if text and last_text_item != position:
                        if length and isinstance(item.get("phase"), str):
                            texts.append(_SEPARATOR)
                            length += len(_SEPARATOR)
                        last_text_item = position
                    part_annotations = part.get("annotations")
                    if isinstance(part_annotations, list):
                        for annotation in part_annotations:
                            if isinstance(annotation, dict):
                                converted = chat_annotation(annotation, length)
                                if converted is not None:
                                    annotations.append(converted)
                    texts.append(text)
                    length += len(text)
                elif part_type == "refusal":
                    refusal = part.get("refusal")
                    if isinstance(refusal, str):
                        refusals.append(refusal)
        elif kind in ("function_call", "custom_tool_call"):
            arguments = item.get("arguments") if kind == "function_call" else item.get("input")
            tool_calls.append(
                {
                    "id": str(item.get("call_id") or item.get("id") or ""),
                    "type": "function",
                    "function": {
                        "name": str(item.get("name") or ""),
                        "arguments": arguments if isinstance(arguments, str) else "",
                    },
                }
            )
        elif kind == "reasoning":
            reasoning.extend(_reasoning_texts(item))
            if isinstance(item.get("encrypted_content"), str):
                replay.append(item)
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if has_text else (None if tool_calls or refusals else ""),
        "refusal": "".join(refusals) if refusals else None,
    }
    if tool_calls:
        message["tool_calls"] = tool_calls
    if annotations:
        message["annotations"] = annotations
    if reasoning:
        message["reasoning_content"] = _SEPARATOR.join(reasoning)
    if replay:
        message["reasoning_items"] = [reasoning_item_for_replay(item) for item in replay]
    return message


def reasoning_item_for_replay(item: dict[str, Any]) -> dict[str, Any]:
    """A reasoning output item as the `reasoning_items` extension carries it (and as it is sent back upstream).

    No `id`: with `store: false` the upstream cannot resolve it ("item not found"); the opaque
    `encrypted_content` is what restores the reasoning state.
    """
    summary = item.get("summary")
    return {
        "type": "reasoning",
        "summary": [
            {"type": "summary_text", "text": part["text"]}
            for part in (summary if isinstance(summary, list) else ())
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        ],
        "encrypted_content": item["encrypted_content"],
    }


def _reasoning_texts(item: dict[str, Any]) -> list[str]:
    summary = item.get("summary")
    texts = [
        part["text"]
        for part in (summary if isinstance(summary, list) else ())
        if isinstance(part, dict) and isinstance(part.get("text"), str) and part["text"]
    ]
    if texts:
        return texts
    content = item.get("content")
    return [
        part["text"]
        for part in (content if isinstance(content, list) else ())
        if isinstance(part, dict) and isinstance(part.get("text"), str) and part["text"]
    ]


def _completion(response: dict[str, Any], output: list[Any], *, model: str, created: int) -> dict[str, Any]:
    message = message_from_output(output)
    upstream_created = created_from(response.get("created_at"))
    completion: dict[str, Any] = {
        "id": str(response.get("id") or ""),
        "object": "chat.completion",
        "created": created if upstream_created is None else upstream_created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": finish_reason_for(response, has_tool_calls="tool_calls" in message),
            }
        ],
    }
    chat_usage = usage.usage_to_chat(response.get("usage"))
    if chat_usage is not None:
        completion["usage"] = chat_usage
    tier = response.get("service_tier")
    if tier in _SERVICE_TIERS:
        completion["service_tier"] = tier
    return completion


def chat_completion_from_response(response: dict[str, Any], *, model: str, created: int = 0) -> FoldResult:
    """An upstream JSON `Response` (non-SSE answer) → chat completion; a failed response → its error.

    ``created`` is used when the upstream sent no `created_at` (the gateway passes its receive time)."""
    if response.get("status") == "failed" or isinstance(response.get("error"), dict):
        error = errors.error_from_event({"type": "response.failed", "response": response})
        return FoldResult(completion=None, error=error, recovery=NOT_NEEDED, usage=None)
    output = response.get("output")
    items = output if isinstance(output, list) else []
    recovery = NOT_NEEDED if items else RecoveryOutcome(source=None, unrecoverable=True)
    completion = _completion(response, items, model=model, created=created)
    return FoldResult(completion=completion, error=None, recovery=recovery, usage=completion.get("usage"))


def fold_chat_completion(events: Iterable[dict[str, Any]], *, model: str, created: int = 0) -> FoldResult:
    """Upstream SSE events → one chat completion (spec §2, recovery §2.1); EOF without terminal → 502.

    ``created`` is used when the upstream sent no `created_at` (the gateway passes its receive time)."""
    collector = OutputCollector()
    feed = collector.feed
    for event in events:
        kind = event.get("type")
        if kind.__class__ is str:
            if kind not in _FOLD_STOPS:
                feed(event)
                continue
        elif kind is not None:
            continue  # a garbage `type` is as unknown as any other
        if kind in OK_TERMINAL_EVENTS:
            response = event.get("response")
            if not isinstance(response, dict):
                response = {"status": "incomplete" if kind == "response.incomplete" else "completed"}
            output, recovery = collector.outcome_for(response.get("output"))
            completion = _completion(response, output, model=model, created=created)
            return FoldResult(completion=completion, error=None, recovery=recovery, usage=completion.get("usage"))
        if kind is not None or isinstance(event.get("error"), dict):
            return FoldResult(completion=None, error=errors.error_from_event(event), recovery=NOT_NEEDED, usage=None)
    return FoldResult(completion=None, error=errors.stream_truncated_error(), recovery=NOT_NEEDED, usage=None)
