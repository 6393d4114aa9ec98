"""Cost of the Responses bridge on one core, both directions.

Forward (chat callers, Responses backends):

* per streamed upstream event: SSE decode (each event arriving as its own network chunk) + JSON parse +
  `ResponsesToChatStream.feed` + encoding every returned chunk (target < 20 µs);
* per non-streaming fold of a typical 200-event response: `fold_chat_completion` over parsed events
  (target < 0.3 ms), and the same including SSE decode + JSON parse of the raw body, for reference.

Reverse (Responses callers, chat backends):

* per streamed upstream chat chunk: SSE decode + `ChatToResponsesStream.feed_data` (JSON parse, translate) +
  encoding every returned event (target < 20 µs), and the same per request of 200 chunks, as req/s;
* a Codex-sized request (40 KB of instructions, 12 tools, a tool round trip) mapped by `to_chat_request`;
* a non-stream answer: `response_from_chat_completion` + JSON encoding of the Response.

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

import orjson

from gateway import sse
from gateway.bridge import ResponsesToChatStream, decode_events, fold_chat_completion, parse_event_data
from gateway.bridge.responses_chat import ResponseFrame, response_from_chat_completion
from gateway.bridge.responses_chat_request import to_chat_request
from gateway.bridge.responses_chat_stream import ChatToResponsesStream

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


# ---- reverse direction --------------------------------------------------------------------------------------

_CHUNK = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1767225600, "model": "qwen3-8b"}
_CHAT_USAGE = {
    "prompt_tokens": 900,
    "completion_tokens": 300,
    "total_tokens": 1200,
    "prompt_tokens_details": {"cached_tokens": 512},
    "completion_tokens_details": {"reasoning_tokens": 100},
}


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {**_CHUNK, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}


def typical_chat_chunks() -> list[bytes]:
    """200 upstream frames, each its own network chunk: role, 30 reasoning deltas, 166 text deltas, finish,
    usage, `[DONE]`."""
    chunks = [_chunk({"role": "assistant", "content": ""})]
    chunks += [_chunk({"reasoning_content": f"step {i} of the plan, "}) for i in range(30)]
    chunks += [_chunk({"content": f" word{i}"}) for i in range(166)]
    chunks += [_chunk({}, "stop"), {**_CHUNK, "choices": [], "usage": _CHAT_USAGE}]
    frames = [b"data: " + orjson.dumps(chunk) + b"\n\n" for chunk in chunks]
    return [*frames, b"data: [DONE]\n\n"]


def codex_sized_request() -> dict[str, Any]:
    """The shape Codex CLI sends on its second turn: long developer text, a dozen tools, a tool round trip."""
    tool = {
        "type": "function",
        "strict": False,
        "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]},
    }
    return {
        "model": "alias",
        "stream": True,
        "store": False,
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "reasoning": {"summary": "auto"},
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "thread",
        "tools": [{**tool, "name": f"tool_{i}", "description": "Runs something. " * 20} for i in range(12)],
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Rules. " * 5700}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<environment_context/>"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Write out.txt"}]},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Plan."}]},
            {"type": "function_call", "call_id": "call_1", "name": "tool_0", "arguments": '{"cmd":"echo hi"}'},
            {"type": "function_call_output", "call_id": "call_1", "output": "hi\n"},
        ],
    }


def reverse_frame() -> ResponseFrame:
    plan = to_chat_request({"model": "alias", "input": "hi"}, upstream_model="qwen3-8b", provider="openai-compatible")
    return plan.frame(response_id="resp_bench", created_at=1767225600, model="alias")


def reverse_stream_once(chunks: list[bytes], frame: ResponseFrame) -> int:
    decoder = sse.SSEDecoder()
    translator = ChatToResponsesStream(frame)
    written = 0
    for chunk in chunks:
        for event in decoder.feed(chunk):
            for out in translator.feed_data(event.data):
                written += len(sse.encode_event(orjson.dumps(out).decode(), event=out["type"]))
    for out in translator.finish():
        written += len(sse.encode_event(orjson.dumps(out).decode(), event=out["type"]))
    return written


def reverse_non_stream_once(completion: dict[str, Any], frame: ResponseFrame) -> bytes:
    result = response_from_chat_completion(completion, frame)
    return orjson.dumps(result.response)


def cpu_per_call(fn: Callable[[], object], *, repeat: int) -> float:
    """CPU seconds per call (process time, best of 5): what one request costs the core, however busy it is."""
    fn()
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(repeat):
            fn()
        best = min(best, (time.process_time() - start) / repeat)
    return best


def report_request(label: str, seconds: float) -> None:
    print(f"{label:<58} {seconds * 1e3:8.2f} ms CPU  ({1 / seconds:,.0f} req/s on one core)")


def reverse_measures(repeat: int) -> None:
    frame = reverse_frame()
    chunks = typical_chat_chunks()
    stream = partial(reverse_stream_once, chunks, frame)
    measure(
        "reverse stream: decode+translate+encode per upstream chunk",
        stream,
        repeat=repeat,
        per=len(chunks),
        unit="µs",
        target=20,
    )
    request = codex_sized_request()
    mapping = partial(to_chat_request, request, upstream_model="qwen3-8b", provider="openai-compatible")
    measure(
        "reverse request mapping (Codex-sized, 40 KB, 12 tools)", mapping, repeat=repeat, per=1, unit="ms", target=0.5
    )
    message = {"role": "assistant", "content": "word " * 166, "reasoning_content": "step of the plan, " * 30}
    completion = {**_CHUNK, "object": "chat.completion", "usage": _CHAT_USAGE}
    completion["choices"] = [{"index": 0, "message": message, "finish_reason": "stop"}]
    answer = partial(reverse_non_stream_once, completion, frame)
    measure(
        "reverse non-stream: completion → Response, JSON-encoded", answer, repeat=repeat, per=1, unit="ms", target=0.3
    )
    report_request(
        "reverse, streamed request (mapping + 200 chunks)", cpu_per_call(lambda: (mapping(), stream()), repeat=repeat)
    )
    report_request(
        "reverse, non-stream request (mapping + answer)", cpu_per_call(lambda: (mapping(), answer()), repeat=repeat)
    )
    forward = partial(stream_once, frames(typical_events(codex=False)))
    report_request("forward, streamed request (200 events), for comparison", cpu_per_call(forward, repeat=repeat))


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
    reverse_measures(repeat)


if __name__ == "__main__":
    main()
