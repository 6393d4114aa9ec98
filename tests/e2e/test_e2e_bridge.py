"""The Responses bridge end to end: the openai SDK → gateway → the simulated codex backend (and back).

The incident aliasgate exists for (README.md, "Try it"): two aliases share chatgpt/gpt-5.4 and one declares ``mode: chat``.
That one is rejected; the accepted alias reaches ``/responses`` with a list ``input``, its answer arrives
even when ``response.completed.output == []``, each recovery is counted, and the health probe is healthy.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import openai
import pytest
from openai.types.chat import ChatCompletionChunk, ChatCompletionFunctionToolParam

from tests.e2e.stack import Stack
from tests.support.metrics import sample_value, scrape

ALIAS = "chatgpt/gpt-5.4"
TOOL: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "Look something up",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
    },
}


def sync_client(stack: Stack) -> openai.OpenAI:
    return openai.OpenAI(base_url=stack.v1, api_key="unused", max_retries=0, timeout=20)


def async_client(stack: Stack) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=stack.v1, api_key="unused", max_retries=0, timeout=20)


def assert_codex_shaped(body: dict[str, Any], text: str) -> None:
    """What the codex backend demands (docs/gateway.md, "Providers and credentials"), on the body the simulator received."""
    assert body["input"][-1] == {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    assert body["stream"] is True
    assert body["store"] is False
    assert body["instructions"]
    assert not {"max_output_tokens", "temperature", "top_p"} & body.keys()


def test_the_chat_alias_on_the_shared_codex_backend_is_rejected_and_not_served(stack: Stack) -> None:
    with sync_client(stack) as client:
        assert [m.id for m in client.models.list().data] == ["chatgpt/gpt-5.4", "gpt-4.1-mini", "local/qwen"]
        with pytest.raises(openai.NotFoundError) as caught:
            client.chat.completions.create(model="gpt-5.4-chat", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.code == "model_not_available"  # it exists, and the answer says why it is not served
    assert "UnsupportedMode" in caught.value.message
    assert stack.simulator.requests == []


def test_sync_chat_is_bridged_to_responses_with_a_list_input(stack: Stack) -> None:
    with sync_client(stack) as client:
        completion = client.chat.completions.create(
            model=ALIAS,
            messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello gateway"}],
            temperature=0.3,
            max_tokens=100,
        )
    assert completion.choices[0].message.content == "You said: hello gateway"
    assert completion.model == ALIAS  # the model the client asked for, not the upstream model id
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (2, 8)
    assert stack.recorded("/chat/completions") == []
    (body,) = stack.recorded("/backend-api/codex/responses")
    assert_codex_shaped(body, "hello gateway")
    assert "Be brief." in body["instructions"] or any(
        item.get("role") == "developer" for item in body["input"] if isinstance(item, dict)
    )


@pytest.mark.parametrize("stream", [False, True])
async def test_an_empty_completed_output_still_answers_and_is_counted(stack: Stack, stream: bool) -> None:
    before = sample_value(await scrape(stack.admin), "aliasgate_bridge_recoveries_total", alias=ALIAS,
                          source="output_item_done")  # fmt: skip
    async with async_client(stack) as client:
        if stream:
            chunks = await client.chat.completions.create(
                model=ALIAS, messages=[{"role": "user", "content": "answer me #empty"}], stream=True
            )
            received = [chunk async for chunk in chunks]
            text = "".join(c.choices[0].delta.content or "" for c in received if c.choices)
            finish = [c.choices[0].finish_reason for c in received if c.choices and c.choices[0].finish_reason]
            assert finish == ["stop"]
        else:
            completion = await client.chat.completions.create(
                model=ALIAS, messages=[{"role": "user", "content": "answer me #empty"}]
            )
            text = completion.choices[0].message.content or ""
    assert text == "You said: answer me #empty"
    (body,) = stack.recorded("/responses")
    assert_codex_shaped(body, "answer me #empty")
    after = await scrape(stack.admin)
    total = sum(
        sample_value(after, "aliasgate_bridge_recoveries_total", alias=ALIAS, source=source)
        for source in ("output_item_done", "output_text_done", "deltas")
    )
    assert total >= before + 1
    assert sample_value(after, "aliasgate_bridge_unrecoverable_total", alias=ALIAS) == 0


def test_a_queued_empty_output_fault_is_recovered_too(stack: Stack) -> None:
    stack.simulator.enqueue("empty", 3)
    with sync_client(stack) as client:
        for n in range(3):
            completion = client.chat.completions.create(model=ALIAS, messages=[{"role": "user", "content": f"q{n}"}])
            assert completion.choices[0].message.content == f"You said: q{n}"
    assert len(stack.recorded("/responses")) == 3


async def test_async_stream_with_usage_chunk(stack: Stack) -> None:
    async with async_client(stack) as client:
        stream = await client.chat.completions.create(
            model=ALIAS,
            messages=[{"role": "user", "content": "count the deltas"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks: list[ChatCompletionChunk] = [chunk async for chunk in stream]
    content = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert "".join(content) == "You said: count the deltas"
    assert {c.model for c in chunks} == {ALIAS}
    assert len(content) == 8
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (3, 8)


def test_tool_calls_round_trip_through_the_bridge(stack: Stack) -> None:
    with sync_client(stack) as client:
        first = client.chat.completions.create(
            model=ALIAS, messages=[{"role": "user", "content": "#tool weather in Oslo"}], tools=[TOOL]
        )
        calls = first.choices[0].message.tool_calls
        assert calls is not None
        assert first.choices[0].finish_reason == "tool_calls"
        call = calls[0]
        assert call.type == "function"
        assert (call.function.name, call.function.arguments) == ("lookup", '{"q":"#tool weather in Oslo"}')
        second = client.chat.completions.create(
            model=ALIAS,
            messages=[
                {"role": "user", "content": "#tool weather in Oslo"},
                {"role": "assistant", "tool_calls": [call.model_dump(exclude_none=True)]},  # type: ignore[list-item]
                {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 C"},
            ],
            tools=[TOOL],
        )
    assert second.choices[0].message.content == "Tool said: sunny, 21 C"
    first_body, second_body = stack.recorded("/responses")
    assert first_body["tools"][0]["name"] == "lookup"
    assert first_body["tools"][0]["type"] == "function"
    replay = [item for item in second_body["input"] if item.get("type") in {"function_call", "function_call_output"}]
    assert [item["type"] for item in replay] == ["function_call", "function_call_output"]
    assert replay[0]["call_id"] == replay[1]["call_id"] == call.id


async def test_streamed_tool_call_arrives_as_chat_tool_call_deltas(stack: Stack) -> None:
    async with async_client(stack) as client:
        stream = await client.chat.completions.create(
            model=ALIAS, messages=[{"role": "user", "content": "#tool #empty stream it"}], tools=[TOOL], stream=True
        )
        arguments = ""
        names: list[str] = []
        finish: list[str] = []
        async for chunk in stream:
            if not chunk.choices:
                continue
            for delta in chunk.choices[0].delta.tool_calls or []:
                if delta.function is not None:
                    arguments += delta.function.arguments or ""
                    if delta.function.name:
                        names.append(delta.function.name)
            if chunk.choices[0].finish_reason:
                finish.append(chunk.choices[0].finish_reason)
    assert names == ["lookup"]
    assert arguments == '{"q":"#tool #empty stream it"}'
    assert finish == ["tool_calls"]


def test_reasoning_summaries_and_tokens_come_back(stack: Stack) -> None:
    with sync_client(stack) as client:
        completion = client.chat.completions.create(
            model=ALIAS, messages=[{"role": "user", "content": "#reason think first"}], reasoning_effort="high"
        )
    message = completion.choices[0].message
    assert message.content == "You said: #reason think first"
    extra = message.model_extra or {}
    assert extra.get("reasoning_content") == "Reading the question carefully.\n\nChoosing the shortest correct answer."
    assert completion.usage is not None
    assert completion.usage.completion_tokens_details is not None
    assert completion.usage.completion_tokens_details.reasoning_tokens == 2
    (body,) = stack.recorded("/responses")
    assert body["reasoning"]["effort"] == "high"


def test_upstream_errors_map_to_openai_errors(stack: Stack) -> None:
    with sync_client(stack) as client:
        with pytest.raises(openai.RateLimitError) as limited:
            client.chat.completions.create(model=ALIAS, messages=[{"role": "user", "content": "#status:429"}])
        assert limited.value.code == "rate_limit_exceeded"
        with pytest.raises(openai.APIStatusError) as failed:
            client.chat.completions.create(model=ALIAS, messages=[{"role": "user", "content": "#fail"}])
    assert failed.value.status_code >= 500


async def test_a_failure_after_streaming_began_is_an_error_frame(stack: Stack) -> None:
    async with async_client(stack) as client:
        stream = await client.chat.completions.create(
            model=ALIAS, messages=[{"role": "user", "content": "#fail midway"}], stream=True
        )
        received: list[ChatCompletionChunk] = []

        async def drain() -> None:
            async for chunk in stream:
                received.append(chunk)

        with pytest.raises(openai.APIError):
            await drain()
    text = "".join(c.choices[0].delta.content or "" for c in received if c.choices)
    assert text
    assert "You said: #fail midway".startswith(text)


def test_responses_pass_through_normalises_a_string_input_and_folds_the_forced_stream(stack: Stack) -> None:
    with sync_client(stack) as client:
        response = client.responses.create(model=ALIAS, input="plain string #empty")
    assert response.status == "completed"
    assert response.output_text == "You said: plain string #empty"
    (body,) = stack.recorded("/responses")
    assert_codex_shaped(body, "plain string #empty")


async def test_responses_stream_pass_through_rewrites_an_empty_completed_output(stack: Stack) -> None:
    async with async_client(stack) as client:
        stream = await client.responses.create(model=ALIAS, input="stream me #empty", stream=True)
        events = [event async for event in stream]
    completed = [e for e in events if e.type == "response.completed"]
    assert len(completed) == 1
    assert completed[0].response.output_text == "You said: stream me #empty"


async def test_the_health_probe_is_healthy_and_sends_a_codex_shaped_request(stack: Stack) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(stack.admin + "/health/probe") as resp:
            assert resp.status == 200
            results = (await resp.json())["results"]
        async with session.get(stack.admin + "/health/models") as resp:
            assert resp.status == 200
            health = await resp.text()
    assert results[ALIAS]["ok"] is True
    assert results[ALIAS]["status"] == 200
    assert ALIAS in health
    probes = stack.recorded("/backend-api/codex/responses")
    assert len(probes) == 1
    probe = probes[0]
    assert isinstance(probe["input"], list)
    assert probe["input"][0]["content"][0]["type"] == "input_text"
    assert probe["store"] is False
    assert probe["stream"] is True
    assert "max_output_tokens" not in probe
    assert "temperature" not in probe
    metrics = await scrape(stack.admin)
    assert sample_value(metrics, "aliasgate_model_healthy", alias=ALIAS) == 1.0
