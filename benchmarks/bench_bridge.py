"""Cost of the Responses bridge on one core.

* per streamed upstream event: SSE decode (each event arriving as its own network chunk) + JSON parse +
  `ResponsesToChatStream.feed` + encoding every returned chunk (target < 20 µs);
* per non-streaming fold of a typical 200-event response: `fold_chat_completion` over parsed events
  (target < 0.3 ms), and the same including SSE decode + JSON parse of the raw body, for reference.

Run: `.venv/bin/python benchmarks/bench_bridge.py` (add `--quick` for a smoke run).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from gateway import sse
from gateway.bridge import ResponsesToChatStream, decode_events, fold_chat_completion, parse_event_data

RID = "resp_bench"


def _response(status: str, output: list[dict[str, Any]], usage: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": RID,
        "object": "response",
        "created_at": 1767225600,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "model": "gpt-5.4",
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": usage,
    }


def typical_events(*, codex: bool) -> list[dict[str, Any]]:
    """200 events: lifecycle, a reasoning summary (30 deltas), a 150-delta answer, done events, terminal."""
    events: list[dict[str, Any]] = []

    def add(kind: str, **fields: Any) -> None:
        events.append({"type": kind, "sequence_number": len(events), **fields})

    add("response.created", response=_response("in_progress", [], None))
    add("response.in_progress", response=_response("in_progress", [], None))
    add("response.output_item.added", output_index=0, item={"id": "rs_1", "type": "reasoning", "summary": []})
    add(
        "response.reasoning_summary_part.added",
        item_id="rs_1",
        output_index=0,
        summary_index=0,
        part={"type": "summary_text", "text": ""},
    )
    pieces = [f"step {i} of the plan, " for i in range(30)]
    for piece in pieces:
        add("response.reasoning_summary_text.delta", item_id="rs_1", output_index=0, summary_index=0, delta=piece)
    summary = "".join(pieces)
    add("response.reasoning_summary_text.done", item_id="rs_1", output_index=0, summary_index=0, text=summary)
    reasoning = {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": summary}]}
    add("response.output_item.done", output_index=0, item=reasoning)
    add(
        "response.output_item.added",
        output_index=1,
        item={"id": "msg_1", "type": "message", "status": "in_progress", "content": [], "role": "assistant"},
    )
    add(
        "response.content_part.added",
        item_id="msg_1",
        output_index=1,
        content_index=0,
        part={"type": "output_text", "annotations": [], "text": ""},
    )
    words = [f" word{i}" for i in range(200 - len(events) - 6)]
    for word in words:
        add(
            "response.output_text.delta",
            item_id="msg_1",
            output_index=1,
            content_index=0,
            delta=word,
            logprobs=[],
            obfuscation="abc",
        )
    text = "".join(words)
    add("response.output_text.done", item_id="msg_1", output_index=1, content_index=0, text=text, logprobs=[])
    part = {"type": "output_text", "annotations": [], "text": text}
    add("response.content_part.done", item_id="msg_1", output_index=1, content_index=0, part=part)
    message = {"id": "msg_1", "type": "message", "status": "completed", "content": [part], "role": "assistant"}
    add("response.output_item.done", output_index=1, item=message)
    usage = {
        "input_tokens": 900,
        "input_tokens_details": {"cached_tokens": 512},
        "output_tokens": 300,
        "output_tokens_details": {"reasoning_tokens": 100},
        "total_tokens": 1200,
    }
    add("response.completed", response=_response("completed", [] if codex else [reasoning, message], usage))
    while len(events) < 200:
        events.insert(2, {"type": "response.queued", "sequence_number": 0, "response": _response("queued", [], None)})
    return events


def frames(events: list[dict[str, Any]]) -> list[bytes]:
    return [f"event: {e['type']}\ndata: {json.dumps(e, separators=(',', ':'))}\n\n".encode() for e in events]


def stream_once(chunks: list[bytes]) -> int:
    decoder = sse.SSEDecoder()
    translator = ResponsesToChatStream(model="gpt-5.4", include_usage=True)
    written = 0
    encode = sse.encode_json_frame
    for chunk in chunks:
        for event in decoder.feed(chunk):
            parsed = parse_event_data(event.data)
            if parsed is not None:
                for out in translator.feed(parsed):
                    written += len(encode(out))
    for out in translator.finish():
        written += len(encode(out))
    return written


def fold_body(body: bytes) -> object:
    return fold_chat_completion(decode_events(body), model="gpt-5.4")


def measure(label: str, fn: Callable[[], object], *, repeat: int, per: int, unit: str, target: float) -> float:
    fn()  # warm up
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - start) / repeat)
    value = best / per * (1e6 if unit == "µs" else 1e3)
    verdict = "OK" if value < target else "OVER TARGET"
    print(f"{label:<58} {value:8.2f} {unit}  (target < {target} {unit}) {verdict}")
    return value


def main() -> None:
    quick = "--quick" in sys.argv
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    repeat = 20 if quick else 300
    for codex in (False, True):
        events = typical_events(codex=codex)
        assert len(events) == 200
        chunks = frames(events)
        body = b"".join(chunks)
        tag = "codex, output: []" if codex else "full output"
        measure(
            f"stream: decode+parse+translate+encode per event ({tag})",
            partial(stream_once, chunks),
            repeat=repeat,
            per=len(events),
            unit="µs",
            target=20,
        )
        measure(
            f"fold: 200 parsed events ({tag})",
            partial(fold_chat_completion, events, model="gpt-5.4"),
            repeat=repeat,
            per=1,
            unit="ms",
            target=0.3,
        )
        measure(
            f"fold incl. SSE decode + JSON parse ({tag})",
            partial(fold_body, body),
            repeat=repeat,
            per=1,
            unit="ms",
            target=1.0,
        )


if __name__ == "__main__":
    main()
