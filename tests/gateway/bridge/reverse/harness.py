"""Shared by the reverse-bridge tests (deep-subset comparison from :mod:`tests.gateway.bridge.common`): answer vectors, running the stream translator on raw upstream bytes,
and validating what we emit with the `openai` SDK's own types and stream accumulator.

An answer vector is `answers/NN_name.sse` (the raw upstream chat stream) + `answers/NN_name.json`:
`request` (the caller's Responses request, which shapes the echo and the tool names), `completion` (the same
answer as a non-stream `chat.completion`, or an error body, or null), `response` (the Response a caller must
get, compared as a deep subset with lists matched in length) or `error` (`http_status` + `body`), and
`events`: the exact event sequence as `[type, fields]` pairs, `fields` a deep subset of the event.
"""

from __future__ import annotations

import json
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openai.types.responses import Response, ResponseError, ResponseStreamEvent
from pydantic import TypeAdapter

from gateway import sse
from gateway.bridge.responses_chat import ResponseFrame
from gateway.bridge.responses_chat_request import to_chat_request
from gateway.bridge.responses_chat_stream import ChatToResponsesStream
from tests.gateway.bridge.common import decoded_in_pieces

ANSWERS = Path(__file__).parent / "answers"
REQUESTS = Path(__file__).parent / "requests"
CREATED_AT = 1767225600
UPSTREAM_MODEL = "qwen3-8b"
EVENT = TypeAdapter(ResponseStreamEvent)
SDK_ERROR_CODES = frozenset(typing.get_args(ResponseError.model_fields["code"].annotation))


@dataclass(frozen=True)
class AnswerVector:
    name: str
    raw: bytes
    spec: dict[str, Any]

    @property
    def response_id(self) -> str:
        return f"resp_v{self.name[:2]}"

    def frame(self) -> ResponseFrame:
        plan = to_chat_request(self.spec["request"], upstream_model=UPSTREAM_MODEL, provider="openai-compatible")
        return plan.frame(response_id=self.response_id, created_at=CREATED_AT, model=self.spec["request"]["model"])


def load_answers() -> list[AnswerVector]:
    return [
        AnswerVector(path.stem, path.read_bytes(), json.loads(path.with_suffix(".json").read_text()))
        for path in sorted(ANSWERS.glob("*.sse"))
    ]


def load_requests() -> list[tuple[str, dict[str, Any]]]:
    return [(path.stem, json.loads(path.read_text())) for path in sorted(REQUESTS.glob("*.json"))]


def translate(
    raw: bytes, frame: ResponseFrame, *, splits: list[int] | None = None
) -> tuple[list[dict[str, Any]], ChatToResponsesStream]:
    """The gateway's streaming path on `raw`, cut at `splits`: SSE decode → `feed_data` → events; `finish()`."""
    stream = ChatToResponsesStream(frame)
    events: list[dict[str, Any]] = []
    for piece in decoded_in_pieces(raw, splits):
        for event in piece:
            events.extend(stream.feed_data(event.data))
    events.extend(stream.finish())
    return events, stream


def encode(events: list[dict[str, Any]]) -> bytes:
    return b"".join(sse.encode_event(json.dumps(event), event=event["type"]) for event in events)


def validate_event(event: dict[str, Any]) -> None:
    """The SDK's own event union accepts it. A failure's upstream code outside the SDK's `ResponseError.code`
    literals (e.g. `context_length_exceeded`, which Codex CLI reads there) is checked with that code swapped."""
    if event["type"] == "response.failed" and event["response"]["error"]["code"] not in SDK_ERROR_CODES:
        event = json.loads(json.dumps(event))
        event["response"]["error"]["code"] = "server_error"
    EVENT.validate_python(event)


def validate_response(response: dict[str, Any]) -> Response:
    return Response.model_validate(response)


def check_stream_invariants(events: list[dict[str, Any]]) -> None:
    """What holds for every stream we send: numbered from 0, starts with created/in_progress, exactly one
    terminal event and it is last, every event valid for the SDK, and added/done paired per output index."""
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    assert [event["type"] for event in events[:2]] == ["response.created", "response.in_progress"]
    terminals = [
        i for i, e in enumerate(events) if e["type"] in ("response.completed", "response.incomplete", "response.failed")
    ]
    assert terminals == [len(events) - 1], "exactly one terminal event, last"
    for event in events:
        validate_event(event)
    ids = {event["response"]["id"] for event in events if "response" in event}
    assert len(ids) == 1, "one response id throughout"
    added = [e["output_index"] for e in events if e["type"] == "response.output_item.added"]
    done = [e["output_index"] for e in events if e["type"] == "response.output_item.done"]
    assert added == list(range(len(added))), "items are added in output order, without gaps"
    assert len(set(done)) == len(done), "each item is done once"
    assert set(done) <= set(added), "only added items are done"
    if events[-1]["type"] != "response.failed":
        assert sorted(done) == added, "every item is done before the response completes"
        assert [item["id"] for item in events[-1]["response"]["output"]] == [
            e["item"]["id"]
            for e in sorted(
                (e for e in events if e["type"] == "response.output_item.done"), key=lambda e: e["output_index"]
            )
        ]


def fold_deltas(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rebuild the output from `output_item.added` and the delta events only, as a client that never reads done
    events would; done events must then agree with it (checked by the caller)."""
    items: dict[int, dict[str, Any]] = {}
    for event in events:
        kind = event["type"]
        if kind == "response.output_item.added":
            items[event["output_index"]] = json.loads(json.dumps(event["item"]))
        elif kind == "response.content_part.added":
            items[event["output_index"]]["content"].append(json.loads(json.dumps(event["part"])))
        elif kind == "response.output_text.delta":
            items[event["output_index"]]["content"][event["content_index"]]["text"] += event["delta"]
        elif kind == "response.refusal.delta":
            items[event["output_index"]]["content"][event["content_index"]]["refusal"] += event["delta"]
        elif kind == "response.output_text.annotation.added":
            items[event["output_index"]]["content"][event["content_index"]]["annotations"].append(event["annotation"])
        elif kind == "response.reasoning_summary_part.added":
            items[event["output_index"]]["summary"].append(json.loads(json.dumps(event["part"])))
        elif kind == "response.reasoning_summary_text.delta":
            items[event["output_index"]]["summary"][event["summary_index"]]["text"] += event["delta"]
        elif kind == "response.function_call_arguments.delta":
            items[event["output_index"]]["arguments"] += event["delta"]
        elif kind == "response.custom_tool_call_input.delta":
            items[event["output_index"]]["input"] += event["delta"]
    return [items[index] for index in sorted(items)]


def without_status(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items compared without `status`, which only done events and the final output know."""
    return [{key: value for key, value in item.items() if key != "status"} for item in items]
