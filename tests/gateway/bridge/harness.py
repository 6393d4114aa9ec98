"""Vector loading and the comparison rules of `vectors/README.md`, shared by the bridge tests.

A vector is `NN_name.sse` (raw upstream body) + `NN_name.expected.json` (`{"http_status", "body"}` for a
non-streaming chat caller; our own vectors may add `"recovery": {"source", "unrecoverable"}` and
`"retry_after"`) + optionally `NN_name.stream.json` (what a caller with `stream: true,
stream_options.include_usage: true` must receive; keys documented in `check_stream_expectations`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openai.types.chat import ChatCompletion, ChatCompletionChunk

from gateway import sse
from gateway.bridge import FoldResult, ResponsesToChatStream, decode_events, fold_chat_completion, parse_events
from tests.gateway.bridge import common

VECTORS = Path(__file__).parent / "vectors"
MODEL = "gpt-5.4"


@dataclass(frozen=True)
class Vector:
    name: str
    raw: bytes
    expected: dict[str, Any]
    stream: dict[str, Any] | None


def load_vectors() -> list[Vector]:
    vectors = []
    for path in sorted(VECTORS.glob("*.sse")):
        stem = path.name.removesuffix(".sse")
        stream_path = VECTORS / f"{stem}.stream.json"
        vectors.append(
            Vector(
                name=stem,
                raw=path.read_bytes(),
                expected=json.loads((VECTORS / f"{stem}.expected.json").read_text()),
                stream=json.loads(stream_path.read_text()) if stream_path.exists() else None,
            )
        )
    return vectors


def assert_subset(expected: Any, actual: Any, path: str = "body") -> None:
    """README rule 2: deep subset; expected null also matches an absent key; arrays match in length and order."""
    common.assert_subset(expected, actual, path, null_is_absent=True)


def fold(raw: bytes) -> FoldResult:
    return fold_chat_completion(decode_events(raw), model=MODEL)


def answer(result: FoldResult) -> tuple[int, dict[str, Any]]:
    """What the gateway would answer a non-streaming caller: (status, body)."""
    if result.error is not None:
        return result.error.status, result.error.body()
    assert result.completion is not None
    return 200, result.completion


def translate(raw: bytes, *, include_usage: bool = True, splits: list[int] | None = None) -> list[dict[str, Any]]:
    """Run the streaming path (SSE decode → JSON → translator) on `raw`, cut at `splits` byte offsets."""
    stream = ResponsesToChatStream(model=MODEL, include_usage=include_usage)
    chunks: list[dict[str, Any]] = []
    for piece in common.decoded_in_pieces(raw, splits):
        for event in parse_events(piece):
            chunks.extend(stream.feed(event))
    chunks.extend(stream.finish())
    return chunks


def encode(chunks: list[dict[str, Any]]) -> bytes:
    return b"".join(sse.encode_json_frame(chunk) for chunk in chunks) + sse.DONE_FRAME


@dataclass
class Assembled:
    """A chat stream put back together the way a client would."""

    content: str
    content_deltas: list[str]
    refusal: str
    refusal_deltas: list[str]
    reasoning: str
    reasoning_deltas: list[str]
    tool_call_chunks: list[dict[str, Any]]
    tool_calls: list[dict[str, Any]]
    annotations: list[dict[str, Any]]
    finish_reasons: list[str]
    usage_chunks: list[dict[str, Any]]
    error: dict[str, Any] | None


def assemble(chunks: list[dict[str, Any]]) -> Assembled:
    out = Assembled("", [], "", [], "", [], [], [], [], [], [], None)
    calls: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        if "error" in chunk:
            out.error = chunk
            continue
        if not chunk["choices"]:
            out.usage_chunks.append(chunk["usage"])
            continue
        choice = chunk["choices"][0]
        delta = choice["delta"]
        if choice["finish_reason"] is not None:
            out.finish_reasons.append(choice["finish_reason"])
        if delta.get("content"):
            out.content += delta["content"]
            out.content_deltas.append(delta["content"])
        if delta.get("refusal"):
            out.refusal += delta["refusal"]
            out.refusal_deltas.append(delta["refusal"])
        if delta.get("reasoning_content"):
            out.reasoning += delta["reasoning_content"]
            out.reasoning_deltas.append(delta["reasoning_content"])
        out.annotations.extend(delta.get("annotations") or [])
        for entry in delta.get("tool_calls") or []:
            out.tool_call_chunks.append(entry)
            call = calls.setdefault(entry["index"], {"id": None, "type": "function", "name": "", "arguments": ""})
            if "id" in entry:
                assert call["id"] is None, f"tool call {entry['index']} announced twice"
                call["id"] = entry["id"]
                call["name"] = entry["function"]["name"]
            call["arguments"] += entry["function"].get("arguments", "")
    out.tool_calls = [
        {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
        for _, c in sorted(calls.items())
    ]
    return out


def check_stream_invariants(
    chunks: list[dict[str, Any]], *, include_usage: bool, expected_body: dict[str, Any]
) -> None:
    """README "streaming expectations" that hold for every vector, plus SDK validation of every chunk."""
    assert chunks, "a stream always ends with a finish chunk or an error frame"
    errors = [i for i, c in enumerate(chunks) if "error" in c]
    if errors:
        assert errors == [len(chunks) - 1], "an error frame is the last thing sent, and only once"
        assert all(c["choices"] and c["choices"][0]["finish_reason"] is None for c in chunks[:-1]), "no finish chunk"
        body = chunks[:-1]
    else:
        body = chunks
    for chunk in body:
        ChatCompletionChunk.model_validate(chunk)
        assert chunk["object"] == "chat.completion.chunk"
        if "id" in expected_body:
            assert chunk["id"] == expected_body["id"]
            assert chunk["created"] == expected_body["created"]
        assert chunk["model"] == MODEL
        if include_usage:
            assert "usage" in chunk
        else:
            assert "usage" not in chunk
    if not body:
        return
    first = body[0]["choices"][0]
    assert first["index"] == 0
    assert first["delta"].get("role") == "assistant", "first chunk carries the role"
    finishes = [i for i, c in enumerate(body) if c["choices"] and c["choices"][0]["finish_reason"] is not None]
    if errors:
        assert not finishes
    else:
        assert len(finishes) == 1, "exactly one finish chunk"
        tail = body[finishes[0] + 1 :]
        if include_usage:
            assert len(tail) == 1
            assert tail[0]["choices"] == []
            # the non-stream usage: null exactly when the upstream reported none
            if "usage" in expected_body:
                if expected_body["usage"] is None:
                    assert tail[0]["usage"] is None
                else:
                    assert_subset(expected_body["usage"], tail[0]["usage"], "usage")
        else:
            assert tail == []
    for i, chunk in enumerate(body):
        if not chunk["choices"]:
            continue
        choice = chunk["choices"][0]
        assert choice["index"] == 0
        assert choice["logprobs"] is None
        delta = choice["delta"]
        if i == 0 or choice["finish_reason"] is not None:
            continue
        meaningful = {k: v for k, v in delta.items() if v not in (None, "", [], {})}
        assert meaningful, f"empty delta in chunk {i}: {delta!r}"
        assert "role" not in delta, "only the first chunk carries the role"
        if include_usage:
            assert chunk["usage"] is None


def check_stream_expectations(assembled: Assembled, expectations: dict[str, Any]) -> None:
    """Per-vector `.stream.json` keys: content, content_deltas, refusal, refusal_deltas, reasoning_content,
    reasoning_deltas, tool_calls (assembled), tool_call_chunks (exact), annotations, finish_reason (null: none),
    usage (subset of the usage chunk), error (the exact error frame)."""
    simple = {
        "content": assembled.content,
        "content_deltas": assembled.content_deltas,
        "refusal": assembled.refusal,
        "refusal_deltas": assembled.refusal_deltas,
        "reasoning_content": assembled.reasoning,
        "reasoning_deltas": assembled.reasoning_deltas,
        "tool_calls": assembled.tool_calls,
        "tool_call_chunks": assembled.tool_call_chunks,
        "annotations": assembled.annotations,
    }
    for key, actual in simple.items():
        if key in expectations:
            assert actual == expectations[key], f"stream {key}: {actual!r} != {expectations[key]!r}"
    if "finish_reason" in expectations:
        want = expectations["finish_reason"]
        assert assembled.finish_reasons == ([] if want is None else [want])
    if "usage" in expectations:
        assert len(assembled.usage_chunks) == 1
        assert_subset(expectations["usage"], assembled.usage_chunks[0], "usage")
    if "error" in expectations:
        assert assembled.error == expectations["error"]
    else:
        assert assembled.error is None, f"unexpected error frame {assembled.error!r}"


def check_completion(body: dict[str, Any]) -> None:
    """The real SDK must parse every completion we produce."""
    parsed = ChatCompletion.model_validate(body)
    assert parsed.choices[0].message.role == "assistant"


def events_of(raw: bytes) -> list[dict[str, Any]]:
    return decode_events(raw)
