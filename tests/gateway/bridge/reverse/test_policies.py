"""Reverse-bridge rules that the vectors do not pin one by one: the echo, identity, usage both ways, tool-call
bookkeeping of odd backends, failure codes, and hostile input that must never raise."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.bridge import errors, usage
from gateway.bridge.responses_chat import ResponseFrame, response_from_chat_completion, usage_from_chat
from gateway.bridge.responses_chat_request import to_chat_request
from gateway.bridge.responses_chat_stream import ChatToResponsesStream, response_error
from tests.gateway.bridge.reverse import harness


def _frame(request: dict[str, Any] | None = None) -> ResponseFrame:
    plan = to_chat_request(
        request or {"model": "alias", "input": "hi"}, upstream_model="up", provider="openai-compatible"
    )
    return plan.frame(response_id="resp_t", created_at=harness.CREATED_AT, model="alias")


def _run(frame: ResponseFrame, chunks: list[Any]) -> tuple[list[dict[str, Any]], ChatToResponsesStream]:
    stream = ChatToResponsesStream(frame)
    events: list[dict[str, Any]] = []
    for chunk in chunks:
        events.extend(stream.feed_data(chunk if isinstance(chunk, str) else json.dumps(chunk)))
    events.extend(stream.finish())
    return events, stream


def _delta(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def test_the_response_echoes_the_request_and_identity_comes_from_the_gateway() -> None:
    tools = [{"type": "function", "name": "f", "parameters": {"type": "object"}}]
    request = {
        "model": "alias",
        "input": "hi",
        "instructions": "Be brief.",
        "tools": tools,
        "tool_choice": "required",
        "parallel_tool_calls": False,
        "temperature": 0.5,
        "top_p": 0.8,
        "max_output_tokens": 50,
        "metadata": {"k": "v"},
        "user": "u",
        "reasoning": {"effort": "low", "summary": "concise"},
        "text": {"format": {"type": "json_object"}, "verbosity": "low"},
        "prompt_cache_key": "p",
        "safety_identifier": "s",
    }
    frame = _frame(request)
    response = response_from_chat_completion(
        {"choices": [{"index": 0, "message": {"content": "{}"}, "finish_reason": "stop"}]}, frame
    ).response
    assert response is not None
    echoed = {
        k: v for k, v in response.items() if k not in ("output", "usage", "status", "error", "incomplete_details")
    }
    assert echoed == {
        "id": "resp_t",
        "object": "response",
        "created_at": harness.CREATED_AT,
        "model": "alias",
        "instructions": "Be brief.",
        "max_output_tokens": 50,
        "metadata": {"k": "v"},
        "parallel_tool_calls": False,
        "previous_response_id": None,
        "reasoning": {"effort": "low", "summary": "concise"},
        "store": False,
        "temperature": 0.5,
        "text": {"format": {"type": "json_object"}, "verbosity": "low"},
        "tool_choice": "required",
        "tools": tools,
        "top_p": 0.8,
        "truncation": "disabled",
        "user": "u",
        "background": False,
        "prompt_cache_key": "p",
        "safety_identifier": "s",
    }
    harness.validate_response(response)


def test_metadata_is_echoed_but_never_sent_upstream() -> None:
    for provider in ("openai", "openai-compatible"):
        plan = to_chat_request(
            {"model": "a", "input": "x", "metadata": {"k": "v"}}, upstream_model="u", provider=provider
        )
        assert "metadata" not in plan.body
        assert plan.echo["metadata"] == {"k": "v"}


def test_hints_are_sent_only_to_openai_platform_backends() -> None:
    request = {"model": "a", "input": "x", "user": "u", "prompt_cache_key": "k", "service_tier": "auto"}
    compatible = to_chat_request(request, upstream_model="u", provider="openai-compatible").body
    azure = to_chat_request(request, upstream_model="u", provider="azure-openai").body
    assert not {"user", "prompt_cache_key", "service_tier"} & set(compatible)
    assert {azure["user"], azure["prompt_cache_key"], azure["service_tier"]} == {"u", "k", "auto"}


def test_only_the_leading_system_text_merges_and_images_in_system_messages_are_refused() -> None:
    request = {
        "model": "a",
        "instructions": "Rules.",
        "input": [
            {"role": "developer", "content": "One."},
            {"role": "user", "content": "Hi"},
            {"role": "system", "content": "Later."},
        ],
    }
    messages = to_chat_request(request, upstream_model="u", provider="openai-compatible").body["messages"]
    assert messages == [
        {"role": "system", "content": "Rules.\n\nOne."},
        {"role": "user", "content": "Hi"},
        {"role": "system", "content": "Later."},
    ]
    with pytest.raises(errors.BridgeRequestError) as raised:
        to_chat_request(
            {"model": "a", "input": [{"role": "system", "content": [{"type": "input_image", "image_url": "x"}]}]},
            upstream_model="u",
            provider="openai-compatible",
        )
    assert raised.value.error.param == "input[0].content[0].type"


def test_replayed_reasoning_without_an_answer_adds_no_empty_assistant_message() -> None:
    request = {
        "model": "a",
        "input": [
            {"role": "user", "content": "a"},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "hm"}]},
            {"role": "user", "content": "b"},
        ],
    }
    plan = to_chat_request(
        request, upstream_model="u", provider="openai-compatible", reasoning_history="reasoning_content"
    )
    assert plan.body["messages"] == [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]


def test_only_system_text_is_refused_rather_than_sent_as_an_empty_conversation() -> None:
    with pytest.raises(errors.BridgeRequestError) as raised:
        to_chat_request(
            {"model": "a", "input": [{"role": "developer", "content": "x"}]}, upstream_model="u", provider="openai"
        )
    assert raised.value.error.param == "input"


@given(
    st.integers(0, 10**7),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.integers(0, 10**5),
)
def test_usage_maps_both_ways_without_loss(
    prompt: int, completion: int, cached: int, written: int, reasoning: int
) -> None:
    chat = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "cache_write_tokens": written},
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }
    mapped = usage_from_chat(chat)
    assert mapped is not None
    assert usage.usage_to_chat(mapped) == chat
    assert usage_from_chat(usage.usage_to_chat(mapped)) == mapped


def test_usage_without_details_or_total_is_completed_honestly() -> None:
    assert usage_from_chat({"prompt_tokens": 3, "completion_tokens": 4, "prompt_tokens_details": None}) == {
        "input_tokens": 3,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": 4,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 7,
    }
    assert usage_from_chat(None) is None


def test_tool_call_deltas_without_index_follow_their_id_then_the_latest_call() -> None:
    frame = _frame(
        {"model": "a", "input": "x", "tools": [{"type": "function", "name": "f"}, {"type": "function", "name": "g"}]}
    )
    events, stream = _run(
        frame,
        [
            _delta({"tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": '{"a"'}}]}),
            _delta({"tool_calls": [{"function": {"arguments": ":1}"}}]}),
            _delta({"tool_calls": [{"id": "c2", "function": {"name": "g", "arguments": "{}"}}]}),
            _delta({}, "tool_calls"),
            "[DONE]",
        ],
    )
    assert stream.response is not None
    calls = [(item["call_id"], item["name"], item["arguments"]) for item in stream.response["output"]]
    assert calls == [("c1", "f", '{"a":1}'), ("c2", "g", "{}")]
    harness.check_stream_invariants(events)


def test_a_call_whose_name_never_arrives_is_still_closed_at_the_finish() -> None:
    events, stream = _run(
        _frame(),
        [_delta({"tool_calls": [{"index": 0, "id": "c", "function": {"arguments": "{}"}}]}), _delta({}, "tool_calls")],
    )
    assert stream.response is not None
    assert stream.response["output"] == [
        {"type": "function_call", "id": "fc_t_0", "call_id": "c", "name": "", "arguments": "{}", "status": "completed"}
    ]
    harness.check_stream_invariants(events)


def test_text_after_reasoning_after_text_opens_new_items_in_order() -> None:
    events, stream = _run(
        _frame(),
        [_delta({"content": "A"}), _delta({"reasoning_content": "r"}), _delta({"content": "B"}), _delta({}, "stop")],
    )
    assert stream.response is not None
    assert [(item["type"], item["id"]) for item in stream.response["output"]] == [
        ("message", "msg_t_0"),
        ("reasoning", "rs_t_1"),
        ("message", "msg_t_2"),
    ]
    harness.check_stream_invariants(events)


def test_done_without_finish_reason_completes_and_eof_without_it_fails() -> None:
    _, done = _run(_frame(), [_delta({"content": "ok"}), "[DONE]"])
    assert done.response is not None
    assert done.response["status"] == "completed"
    events, cut = _run(_frame(), [_delta({"content": "ok"})])
    assert cut.response is None
    assert cut.error is not None
    assert cut.error.status == 502
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["output"][0]["status"] == "incomplete"


def test_started_tells_a_failure_before_output_from_one_after() -> None:
    error = {"error": {"message": "overloaded", "type": "server_error", "code": None}}
    _, early = _run(_frame(), [_delta({"role": "assistant", "content": ""}), error])
    assert early.error is not None
    assert not early.started, "only the prelude was produced: the gateway can answer a plain HTTP error"
    _, late = _run(_frame(), [_delta({"content": "x"}), error])
    assert late.started


def test_a_failure_the_gateway_met_ends_the_stream_once_with_the_items_so_far() -> None:
    stream = ChatToResponsesStream(_frame())
    events = stream.feed_data(json.dumps(_delta({"content": "half an ans"})))
    stalled = errors.ChatError(504, "The upstream went silent for 120 s.", "server_error", None, "upstream_timeout")
    events += stream.fail(stalled)
    assert stream.fail(stalled) == []
    assert stream.finish() == []
    assert stream.error is stalled
    assert stream.done
    failed = events[-1]
    assert failed["type"] == "response.failed"
    assert failed["response"]["error"] == {"code": "upstream_timeout", "message": "The upstream went silent for 120 s."}
    assert failed["response"]["output"][0]["status"] == "incomplete"
    assert failed["response"]["output"][0]["content"][0]["text"] == "half an ans"
    assert [e["sequence_number"] for e in events] == list(range(len(events)))


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (429, None, "rate_limit_exceeded"),
        (400, None, "invalid_prompt"),
        (503, None, "server_error"),
        (400, "context_length_exceeded", "context_length_exceeded"),
        (429, "insufficient_quota", "insufficient_quota"),
    ],
)
def test_a_failure_keeps_the_upstream_code_or_names_one_by_status(status: int, code: str | None, expected: str) -> None:
    error = errors.ChatError(status, "m", "t", None, code)
    assert response_error(error) == {"code": expected, "message": "m"}


def test_nothing_is_emitted_after_the_terminal_event() -> None:
    stream = ChatToResponsesStream(_frame())
    stream.feed(_delta({"content": "x"}, "stop"))
    stream.feed_data("[DONE]")
    assert stream.done
    assert stream.feed(_delta({"content": "more"})) == []
    assert stream.feed_data("[DONE]") == []
    assert stream.finish() == []


junk = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2, 3), st.text(max_size=4)),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["index", "id", "name", "arguments", "x"]), inner, max_size=3)
    ),
    max_leaves=6,
)
deltas = st.fixed_dictionaries(
    {},
    optional={
        "content": junk,
        "reasoning_content": junk,
        "reasoning": junk,
        "refusal": junk,
        "annotations": junk,
        "tool_calls": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "index": junk,
                    "id": junk,
                    "function": st.fixed_dictionaries({}, optional={"name": junk, "arguments": junk}),
                },
            ),
            max_size=3,
        )
        | junk,
    },
)
chunks = st.fixed_dictionaries(
    {},
    optional={
        "choices": st.lists(
            st.fixed_dictionaries({}, optional={"index": junk, "delta": deltas | junk, "finish_reason": junk}),
            max_size=2,
        )
        | junk,
        "usage": junk,
        "error": junk,
        "service_tier": junk | st.sampled_from(["default", "bogus-tier"]),
    },
)


@given(st.lists(st.one_of(chunks.map(json.dumps), st.sampled_from(["[DONE]", "{", "[]", "null"])), max_size=8))
def test_hostile_chunks_never_raise_and_the_stream_always_ends_once(frames: list[str]) -> None:
    events, stream = _run(_frame(), list(frames))
    assert stream.done
    assert stream.response is not None or stream.error is not None
    harness.check_stream_invariants(events)


item_types = st.sampled_from(
    ["message", "function_call", "function_call_output", "custom_tool_call", "reasoning", "item_reference", "x", None]
)
items = st.fixed_dictionaries(
    {"type": item_types},
    optional={
        "role": st.sampled_from(["user", "assistant", "system", "developer", "tool"]) | junk,
        "content": junk
        | st.lists(
            st.fixed_dictionaries(
                {"type": st.sampled_from(["input_text", "output_text", "refusal", "input_image"]) | junk},
                optional={"text": junk, "refusal": junk, "image_url": junk},
            ),
            max_size=2,
        ),
        "call_id": junk,
        "name": junk,
        "arguments": junk,
        "output": junk,
        "id": junk,
        "namespace": junk,
    },
)
requests = st.fixed_dictionaries(
    {"model": st.just("a"), "input": st.lists(items, max_size=4) | junk},
    optional={
        "instructions": junk,
        "tools": st.lists(
            st.fixed_dictionaries(
                {"type": st.sampled_from(["function", "custom", "namespace", "web_search"]) | junk},
                optional={"name": junk, "tools": junk, "format": junk, "parameters": junk},
            ),
            max_size=2,
        )
        | junk,
        "tool_choice": junk | st.sampled_from(["auto", "required"]),
        "text": junk,
        "reasoning": junk,
        "include": junk,
        "max_output_tokens": junk,
        "temperature": junk,
        "store": junk,
        "stream": junk,
        "metadata": junk,
    },
)


@given(requests)
def test_any_request_maps_or_is_refused_with_a_named_400(request: dict[str, Any]) -> None:
    refused: errors.ChatError | None = None
    try:
        plan = to_chat_request(request, upstream_model="u", provider="openai-compatible")
    except errors.BridgeRequestError as exc:
        refused = exc.error
    if refused is not None:
        assert refused.status == 400
        assert refused.param
        assert f"`{refused.param}`" in refused.message
        return
    assert plan.body["messages"]
    assert any(message["role"] != "system" for message in plan.body["messages"])


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "choices": junk
            | st.lists(
                st.fixed_dictionaries({}, optional={"index": junk, "message": junk, "finish_reason": junk}), max_size=2
            ),
            "usage": junk,
            "error": junk,
        },
    )
)
def test_any_completion_body_becomes_a_response_or_an_error(completion: dict[str, Any]) -> None:
    result = response_from_chat_completion(completion, _frame())
    assert (result.response is None) != (result.error is None)
    if result.response is not None:
        harness.validate_response(result.response)
