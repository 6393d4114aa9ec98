"""Property: for any well-formed upstream stream, whichever subset of delta/done/added events the upstream
chose to send, whether or not `completed.output` is empty (codex) or omits some of the streamed items, and
whether or not the stream's output indices have gaps, the streaming caller and the non-streaming caller both
receive exactly the answer the streamed items hold."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gateway.bridge import ResponsesToChatStream, fold_chat_completion
from tests.gateway.bridge import harness

text = st.text(alphabet="abc xyz.\n{}\"'é", min_size=1, max_size=12)


@st.composite
def split(draw: st.DrawFn, value: str) -> list[str]:
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(value) - 1)), max_size=3)))
    bounds = [0, *[c for c in cuts if c < len(value)], len(value)]
    return [value[a:b] for a, b in itertools.pairwise(bounds) if value[a:b]]


@st.composite
def items(draw: st.DrawFn) -> list[dict[str, Any]]:
    kinds = draw(st.lists(st.sampled_from(["message", "refusal", "call", "reasoning"]), min_size=0, max_size=4))
    out: list[dict[str, Any]] = []
    for i, kind in enumerate(kinds):
        if kind == "message":
            parts = [
                {"type": "output_text", "text": draw(text), "annotations": []} for _ in range(draw(st.integers(1, 2)))
            ]
            item: dict[str, Any] = {
                "type": "message",
                "id": f"msg_{i}",
                "role": "assistant",
                "status": "completed",
                "content": parts,
            }
            phase = draw(st.sampled_from([None, "commentary", "final_answer"]))
            if phase:
                item["phase"] = phase
        elif kind == "refusal":
            item = {
                "type": "message",
                "id": f"msg_{i}",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "refusal", "refusal": draw(text)}],
            }
        elif kind == "call":
            item = {
                "type": "function_call",
                "id": f"fc_{i}",
                "call_id": f"call_{i}",
                "name": f"tool_{i}",
                "arguments": draw(text),
                "status": "completed",
            }
        else:
            item = {
                "type": "reasoning",
                "id": f"rs_{i}",
                "summary": [{"type": "summary_text", "text": draw(text)} for _ in range(draw(st.integers(1, 2)))],
            }
        out.append(item)
    return out


@st.composite
def upstream(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(output items, the event stream an upstream might send for them)."""
    output = draw(items())
    events: list[dict[str, Any]] = [
        {
            "type": "response.created",
            "response": {"id": "resp_p", "created_at": 1, "status": "in_progress", "output": []},
        }
    ]
    # Output indices as streamed: in order, but an upstream (or a capture trimmed by hand) may skip some.
    gaps = draw(st.lists(st.integers(0, 2), min_size=len(output), max_size=len(output)))
    streamed_at = list(itertools.accumulate(gap + 1 for gap in gaps))
    for oi, item in zip((at - 1 for at in streamed_at), output, strict=True):
        added = draw(st.booleans())
        item_done = draw(st.booleans())
        if "phase" in item or (item["type"] == "function_call" and not item_done):
            # A call's id and name travel only in output_item events; a codex message announces its phase in
            # output_item.added before any text (the stream needs it then to place the paragraph break).
            added = True
        if added:
            skeleton = {**item, "status": "in_progress"}
            if item["type"] == "message":
                skeleton["content"] = []
            elif item["type"] == "function_call":
                skeleton["arguments"] = ""
            else:
                skeleton["summary"] = []
            events.append({"type": "response.output_item.added", "output_index": oi, "item": skeleton})
        ids = {"item_id": item["id"], "output_index": oi}
        # Decided per item: real upstreams never stream a later part while sending nothing for an earlier one.
        item_deltas, item_dones = draw(st.booleans()), draw(st.booleans())
        if not (item_deltas or item_dones or item_done):
            item_deltas = True
        if item["type"] == "message":
            for ci, part in enumerate(item["content"]):
                field, prefix = ("text", "output_text") if part["type"] == "output_text" else ("refusal", "refusal")
                deltas, done = item_deltas, item_dones
                if deltas:
                    events.extend(
                        {"type": f"response.{prefix}.delta", **ids, "content_index": ci, "delta": d}
                        for d in draw(split(part[field]))
                    )
                if done:
                    events.append({"type": f"response.{prefix}.done", **ids, "content_index": ci, field: part[field]})
        elif item["type"] == "function_call":
            deltas, done = item_deltas, item_dones
            if deltas:
                events.extend(
                    {"type": "response.function_call_arguments.delta", **ids, "delta": d}
                    for d in draw(split(item["arguments"]))
                )
            if done:
                events.append({"type": "response.function_call_arguments.done", **ids, "arguments": item["arguments"]})
        else:
            for si, part in enumerate(item["summary"]):
                deltas, done = item_deltas, item_dones
                if deltas:
                    events.extend(
                        {"type": "response.reasoning_summary_text.delta", **ids, "summary_index": si, "delta": d}
                        for d in draw(split(part["text"]))
                    )
                if done:
                    events.append(
                        {
                            "type": "response.reasoning_summary_text.done",
                            **ids,
                            "summary_index": si,
                            "text": part["text"],
                        }
                    )
        if item_done:
            events.append({"type": "response.output_item.done", "output_index": oi, "item": item})
    codex = draw(st.booleans())
    # A terminal output may also leave out items it streamed; they are matched by id, never by position.
    kept = draw(st.lists(st.booleans(), min_size=len(output), max_size=len(output)))
    terminal = [item for item, keep in zip(output, kept, strict=True) if keep or not any(kept)]
    events.append(
        {
            "type": "response.completed",
            "response": {
                "id": "resp_p",
                "created_at": 1,
                "status": "completed",
                "output": [] if codex else terminal,
                "usage": None,
            },
        }
    )
    return output, events


def _truth(output: list[dict[str, Any]]) -> dict[str, Any]:
    content, refusal = "", ""
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    last_text_item = None
    for position, item in enumerate(output):
        if item["type"] == "message":
            for part in item["content"]:
                if part["type"] == "refusal":
                    refusal += part["refusal"]
                    continue
                if last_text_item != position and content and "phase" in item:
                    content += "\n\n"
                last_text_item = position
                content += part["text"]
        elif item["type"] == "function_call":
            calls.append(
                {
                    "id": item["call_id"],
                    "type": "function",
                    "function": {"name": item["name"], "arguments": item["arguments"]},
                }
            )
        else:
            reasoning.extend(part["text"] for part in item["summary"])
    return {
        "content": content,
        "refusal": refusal,
        "reasoning": "\n\n".join(reasoning),
        "tool_calls": calls,
        "finish": "tool_calls" if calls else "stop",
    }


@given(upstream())
def test_stream_and_fold_both_deliver_exactly_the_output_items(
    case: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    output, events = case
    truth = _truth(output)
    folded = fold_chat_completion(events, model=harness.MODEL)
    assert folded.completion is not None
    choice = folded.completion["choices"][0]
    message = choice["message"]
    assert (message["content"] or "") == truth["content"]
    assert (message["refusal"] or "") == truth["refusal"]
    assert message.get("reasoning_content", "") == truth["reasoning"]
    assert message.get("tool_calls", []) == truth["tool_calls"]
    assert choice["finish_reason"] == truth["finish"]
    stream = ResponsesToChatStream(model=harness.MODEL, include_usage=True)
    chunks = [chunk for event in events for chunk in stream.feed(event)] + stream.finish()
    harness.check_stream_invariants(chunks, include_usage=True, expected_body={})
    assembled = harness.assemble(chunks)
    assert assembled.content == truth["content"]
    assert assembled.refusal == truth["refusal"]
    assert assembled.reasoning == truth["reasoning"]
    assert assembled.tool_calls == truth["tool_calls"]
    assert assembled.finish_reasons == [truth["finish"]]
    assert stream.recovery == folded.recovery
