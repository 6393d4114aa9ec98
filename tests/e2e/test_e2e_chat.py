"""Chat pass-through end to end: the openai SDK → gateway → a simulated OpenAI (and OpenAI-compatible) upstream."""

from __future__ import annotations

import openai
from openai.types.chat import ChatCompletionFunctionToolParam

from tests.e2e.stack import Stack
from tests.support.metrics import sample_value, scrape

TOOL: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {"name": "search", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}},
}


def test_sync_chat_pass_through_keeps_the_body_and_swaps_the_model(stack: Stack) -> None:
    with openai.OpenAI(base_url=stack.v1, api_key="unused", max_retries=0, timeout=20) as client:
        completion = client.chat.completions.create(
            model="gpt-4.1-mini", messages=[{"role": "user", "content": "pass me through"}], temperature=0.5
        )
    assert completion.choices[0].message.content == "You said: pass me through"
    assert stack.recorded("/responses") == []
    (body,) = stack.recorded("/openai/v1/chat/completions")
    assert body["model"] == "gpt-4.1-mini"
    assert body["messages"] == [{"role": "user", "content": "pass me through"}]
    assert body["temperature"] == 0.5
    (request,) = [r for r in stack.simulator.requests if r.path.endswith("/chat/completions")]
    assert request.headers["authorization"] == "Bearer ***"


async def test_async_chat_pass_through_stream_with_tools_and_usage(stack: Stack) -> None:
    async with openai.AsyncOpenAI(base_url=stack.v1, api_key="unused", max_retries=0, timeout=20) as client:
        stream = await client.chat.completions.create(
            model="local/qwen",
            messages=[{"role": "user", "content": "#tool find cats"}],
            tools=[TOOL],
            stream=True,
            stream_options={"include_usage": True},
        )
        arguments = ""
        usage = None
        finish = []
        async for chunk in stream:
            if chunk.usage is not None:
                usage = chunk.usage
            for choice in chunk.choices:
                for call in choice.delta.tool_calls or []:
                    arguments += (call.function.arguments if call.function else None) or ""
                if choice.finish_reason:
                    finish.append(choice.finish_reason)
    assert arguments == '{"q":"#tool find cats"}'
    assert finish == ["tool_calls"]
    assert usage is not None
    assert usage.completion_tokens == 8
    (body,) = stack.recorded("/vllm/v1/chat/completions")
    assert body["model"] == "qwen3"
    assert body["stream"] is True


async def test_pass_through_requests_are_counted_per_alias(stack: Stack) -> None:
    before = sample_value(await scrape(stack.admin), "aliasgate_requests_total", alias="gpt-4.1-mini", mode="chat",
                          stream="false", code="200")  # fmt: skip
    async with openai.AsyncOpenAI(base_url=stack.v1, api_key="unused", max_retries=0, timeout=20) as client:
        for _ in range(3):
            await client.chat.completions.create(model="gpt-4.1-mini", messages=[{"role": "user", "content": "x"}])
    after = sample_value(await scrape(stack.admin), "aliasgate_requests_total", alias="gpt-4.1-mini", mode="chat",
                         stream="false", code="200")  # fmt: skip
    assert after == before + 3
