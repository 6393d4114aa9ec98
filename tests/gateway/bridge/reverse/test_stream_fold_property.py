"""Property: for any chat answer, however the backend chunks it (and the transport cuts the bytes), the streamed
events fold into exactly the Response the non-stream mapping builds for the same answer; the deltas alone
rebuild its output; every event is valid for the SDK; and the SDK's own stream accumulator agrees."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import openai
from hypothesis import given
from hypothesis import strategies as st

from gateway.bridge.responses_chat import response_from_chat_completion
from gateway.bridge.responses_chat_request import to_chat_request
from tests.gateway.bridge.reverse import harness

text = st.text(alphabet="ab yz.\n{}\"'é\\", min_size=1, max_size=14)
BASE = {"id": "chatcmpl-p", "object": "chat.completion.chunk", "created": 1, "model": "up"}


@dataclass(frozen=True)
class Call:
    kind: str  # function | custom | namespace
    number: int
    call_id: str | None
    arguments: str

    @property
    def chat_name(self) -> str:
        return {"function": f"f{self.number}", "custom": f"c{self.number}", "namespace": f"ns__m{self.number}"}[
            self.kind
        ]


@dataclass(frozen=True)
class Answer:
    reasoning: str | None
    reasoning_key: str
    content: str | None
    refusal: str | None
    calls: list[Call]
    finish: str
    usage: dict[str, Any] | None
    usage_on_finish: bool
    done_marker: bool


@st.composite
def answers(draw: st.DrawFn) -> Answer:
    kinds = draw(st.lists(st.sampled_from(["function", "custom", "namespace"]), max_size=3))
    calls = []
    for number, kind in enumerate(kinds):
        raw = draw(text)
        arguments = json.dumps({"input": raw}) if kind == "custom" else json.dumps({"q": raw})
        calls.append(Call(kind, number, draw(st.one_of(st.none(), st.just(f"call_{number}"))), arguments))
    finish = draw(st.sampled_from(["stop", "length", "content_filter"] + (["tool_calls"] * 3 if calls else [])))
    usage = draw(
        st.one_of(
            st.none(),
            st.builds(
                lambda p, c, cached, reasoning: {
                    "prompt_tokens": p,
                    "completion_tokens": c,
                    "total_tokens": p + c,
                    "prompt_tokens_details": {"cached_tokens": cached},
                    "completion_tokens_details": {"reasoning_tokens": reasoning},
                },
                st.integers(0, 5000),
                st.integers(0, 900),
                st.integers(0, 100),
                st.integers(0, 100),
            ),
        )
    )
    return Answer(
        reasoning=draw(st.one_of(st.none(), text)),
        reasoning_key=draw(st.sampled_from(["reasoning_content", "reasoning"])),
        content=draw(st.one_of(st.none(), text)),
        refusal=draw(st.one_of(st.none(), text)) if draw(st.booleans()) else None,
        calls=calls,
        finish=finish,
        usage=usage,
        usage_on_finish=draw(st.booleans()),
        done_marker=draw(st.booleans()),
    )


def request_for(answer: Answer) -> dict[str, Any]:
    tools: list[dict[str, Any]] = []
    members = []
    for call in answer.calls:
        if call.kind == "function":
            tools.append({"type": "function", "name": call.chat_name, "parameters": {"type": "object"}})
        elif call.kind == "custom":
            tools.append({"type": "custom", "name": call.chat_name})
        else:
            members.append({"type": "function", "name": f"m{call.number}", "parameters": {"type": "object"}})
    if members:
        tools.append({"type": "namespace", "name": "ns", "description": "members", "tools": members})
    return {"model": "alias", "input": "go", "tools": tools}


def completion_for(answer: Answer) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.content}
    if answer.reasoning is not None:
        message[answer.reasoning_key] = answer.reasoning
    if answer.refusal is not None:
        message["refusal"] = answer.refusal
    if answer.calls:
        message["tool_calls"] = [
            {
                **({"id": call.call_id} if call.call_id else {}),
                "type": "function",
                "function": {"name": call.chat_name, "arguments": call.arguments},
            }
            for call in answer.calls
        ]
    body: dict[str, Any] = {"id": "chatcmpl-p", "object": "chat.completion", "created": 1, "model": "up"}
    body["choices"] = [{"index": 0, "message": message, "finish_reason": answer.finish}]
    if answer.usage is not None:
        body["usage"] = answer.usage
    return body


@st.composite
def pieces(draw: st.DrawFn, value: str) -> list[str]:
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(value) - 1)), max_size=3)))
    bounds = [0, *[c for c in cuts if c < len(value)], len(value)]
    return [value[a:b] for a, b in itertools.pairwise(bounds) if value[a:b]]


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {**BASE, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


@st.composite
def chunk_stream(draw: st.DrawFn, answer: Answer) -> bytes:
    """How a backend might stream `answer`: any delta splitting, the role alone or with content, calls announced
    in order with their argument deltas interleaved, the name repeated or not, usage on the finish chunk or
    after it, `[DONE]` or plain EOF."""
    chunks = [chunk({"role": "assistant", "content": draw(st.sampled_from(["", None]))})]
    if answer.reasoning:
        chunks += [chunk({answer.reasoning_key: piece}) for piece in draw(pieces(answer.reasoning))]
    if answer.content:
        chunks += [chunk({"content": piece}) for piece in draw(pieces(answer.content))]
    if answer.refusal:
        chunks += [chunk({"refusal": piece}) for piece in draw(pieces(answer.refusal))]
    repeat_names = draw(st.booleans())
    queues: list[list[dict[str, Any]]] = []
    for index, call in enumerate(answer.calls):
        args = draw(pieces(call.arguments))
        first: dict[str, Any] = {
            "index": index,
            "type": "function",
            "function": {"name": call.chat_name, "arguments": ""},
        }
        if call.call_id:
            first["id"] = call.call_id
        rest = [
            {"index": index, "function": {"arguments": piece, **({"name": call.chat_name} if repeat_names else {})}}
            for piece in args
        ]
        chunks.append(chunk({"tool_calls": [first]}))
        queues.append(rest)
    # Interleave the argument deltas of all calls, keeping each call's own order.
    while any(queues):
        live = [q for q in queues if q]
        queue = live[draw(st.integers(0, len(live) - 1))]
        chunks.append(chunk({"tool_calls": [queue.pop(0)]}))
    finish = chunk({}, answer.finish)
    if answer.usage is not None and answer.usage_on_finish:
        finish["usage"] = answer.usage
    chunks.append(finish)
    if answer.usage is not None and not answer.usage_on_finish:
        chunks.append({**BASE, "choices": [], "usage": answer.usage})
    body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks)
    if answer.done_marker:
        body += "data: [DONE]\n\n"
    return body.encode()


@st.composite
def cases(draw: st.DrawFn) -> tuple[Answer, bytes, list[int]]:
    answer = draw(answers())
    raw = draw(chunk_stream(answer))
    cuts = draw(st.lists(st.integers(1, max(1, len(raw) - 1)), max_size=12))
    return answer, raw, sorted(set(cuts))


def sdk_final_response(events: list[dict[str, Any]]) -> openai.types.responses.Response:
    """The SDK's public stream helper over our bytes: its accumulator checks ids, indexes and done items."""
    body = harness.encode(events)
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    )
    client = openai.OpenAI(
        api_key="k", base_url="http://gateway.test/v1", http_client=httpx.Client(transport=transport)
    )
    with client.responses.stream(model="alias", input="go") as stream:
        return stream.get_final_response()


@given(cases())
def test_the_streamed_events_fold_into_the_non_stream_response(case: tuple[Answer, bytes, list[int]]) -> None:
    answer, raw, splits = case
    plan = to_chat_request(request_for(answer), upstream_model="up", provider="openai-compatible")
    frame = plan.frame(response_id="resp_prop", created_at=harness.CREATED_AT, model="alias")
    direct = response_from_chat_completion(completion_for(answer), frame)
    assert direct.response is not None
    harness.validate_response(direct.response)

    events, stream = harness.translate(raw, frame, splits=splits)
    harness.check_stream_invariants(events)
    assert events[-1]["response"] == direct.response
    assert stream.usage == direct.usage
    final = events[-1]["response"]["output"]
    assert harness.without_status(harness.fold_deltas(events)) == harness.without_status(final)
    assert harness.translate(raw, frame)[0] == events, "the cut points change nothing"
    if answer.finish in ("stop", "tool_calls"):
        assert [item.id for item in sdk_final_response(events).output] == [item["id"] for item in final]
