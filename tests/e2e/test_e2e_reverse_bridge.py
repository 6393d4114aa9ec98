"""The reverse bridge end to end: Responses clients → gateway → a chat-only upstream (the simulator's vLLM).

``local/qwen`` is an ``openai-compatible`` alias in ``chat`` mode whose backend speaks only Chat Completions.
The openai SDK's ``responses.create`` (which parses and validates every event) and the OpenAI Agents SDK's
Responses model with a function tool must work against it as against OpenAI itself; the gateway's metrics
count these requests in chat mode like any other.
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from agents import Agent, ModelSettings, OpenAIResponsesModel, RunConfig, Runner, function_tool
from openai.types.responses import FunctionToolParam, Response, ResponseFunctionToolCall

from tests.e2e.stack import Stack
from tests.support.metrics import sample_value, scrape

ALIAS = "local/qwen"
UPSTREAM_PATH = "/vllm/v1/chat/completions"
LOOKUP: FunctionToolParam = {
    "type": "function",
    "name": "lookup",
    "description": "Look something up",
    "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
    "strict": True,
}


def async_client(stack: Stack) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=stack.v1, api_key="unused", max_retries=0, timeout=20)


def test_the_sync_sdk_gets_a_response_from_a_chat_backend(stack: Stack) -> None:
    with openai.OpenAI(base_url=stack.v1, api_key="unused", max_retries=0, timeout=20) as client:
        response = client.responses.create(model=ALIAS, instructions="Be brief.", input="hello reverse bridge")
    assert response.output_text == "You said: hello reverse bridge"
    assert (response.model, response.status, response.object) == (ALIAS, "completed", "response")
    assert response.usage is not None
    assert response.usage.output_tokens == 8
    (body,) = stack.recorded(UPSTREAM_PATH)
    assert body["model"] == "qwen3"
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello reverse bridge"},
    ]
    assert stack.recorded("/responses") == []


async def test_the_async_sdk_streams_every_event_and_the_gateway_counts_it(stack: Stack) -> None:
    before = await scrape(stack.admin)
    requests_before = sample_value(
        before, "aliasgate_requests_total", alias=ALIAS, mode="chat", stream="true", code="200"
    )
    async with async_client(stack) as client:
        stream = await client.responses.create(model=ALIAS, input="stream it back", stream=True)
        events = [event async for event in stream]
    kinds = [event.type for event in events]
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert kinds[-1] == "response.completed"
    assert kinds.count("response.output_text.delta") == 8
    assert [event.sequence_number for event in events] == list(range(len(events)))
    final = events[-1]
    assert final.type == "response.completed"
    assert final.response.output_text == "You said: stream it back"
    (body,) = stack.recorded(UPSTREAM_PATH)
    assert (body["stream"], body["stream_options"]) == (True, {"include_usage": True})
    after = await scrape(stack.admin)
    assert (
        sample_value(after, "aliasgate_requests_total", alias=ALIAS, mode="chat", stream="true", code="200")
        == requests_before + 1
    )
    assert sample_value(after, "aliasgate_tokens_total", alias=ALIAS, type="completion") >= 8
    assert sample_value(after, "aliasgate_time_to_first_token_seconds_count", alias=ALIAS) >= 1


@pytest.mark.parametrize("stream", [False, True])
async def test_the_sdk_completes_a_tool_round_trip(stack: Stack, stream: bool) -> None:
    async with async_client(stack) as client:
        first: Response
        if stream:
            async with client.responses.stream(model=ALIAS, input="#tool weather in Oslo", tools=[LOOKUP]) as events:
                arguments = [e.delta async for e in events if e.type == "response.function_call_arguments.delta"]
                first = await events.get_final_response()
            assert "".join(arguments) == '{"q":"#tool weather in Oslo"}'
        else:
            first = await client.responses.create(model=ALIAS, input="#tool weather in Oslo", tools=[LOOKUP])
        (call,) = [item for item in first.output if isinstance(item, ResponseFunctionToolCall)]
        assert (call.name, json.loads(call.arguments)) == ("lookup", {"q": "#tool weather in Oslo"})
        history: list[Any] = [
            {"role": "user", "content": "#tool weather in Oslo"},
            *[item.model_dump(exclude_none=True) for item in first.output],
            {"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 21 C"},
        ]
        second = await client.responses.create(model=ALIAS, input=history, tools=[LOOKUP], stream=False)
    assert second.output_text == "Tool said: sunny, 21 C"
    first_body, second_body = stack.recorded(UPSTREAM_PATH)
    assert first_body["tools"][0]["function"]["name"] == "lookup"
    assistant, tool = second_body["messages"][1:]
    assert assistant["tool_calls"][0]["id"] == tool["tool_call_id"] == call.call_id
    assert tool["content"] == "sunny, 21 C"


@pytest.mark.parametrize("streamed", [False, True])
async def test_the_agents_sdk_runs_its_function_tool_through_the_gateway(stack: Stack, streamed: bool) -> None:
    looked_up: list[str] = []

    @function_tool
    def lookup(q: str) -> str:
        """Look something up."""
        looked_up.append(q)
        return f"{len(q)} results"

    async with async_client(stack) as client:
        agent = Agent(
            name="assistant",
            instructions="Use the lookup tool.",
            model=OpenAIResponsesModel(model=ALIAS, openai_client=client),
            model_settings=ModelSettings(temperature=0.2),
            tools=[lookup],
        )
        config = RunConfig(tracing_disabled=True)
        if streamed:
            run = Runner.run_streamed(agent, "#tool cats nearby", run_config=config)
            kinds = [event.type async for event in run.stream_events()]
            assert "raw_response_event" in kinds
            output = run.final_output
        else:
            output = (await Runner.run(agent, "#tool cats nearby", run_config=config)).final_output
    assert looked_up == ["#tool cats nearby"]  # the SDK ran the tool with the arguments the model produced
    assert output == "Tool said: 17 results"
    first, second = stack.recorded(UPSTREAM_PATH)
    assert first["messages"][0] == {"role": "system", "content": "Use the lookup tool."}
    assert first["tools"][0]["function"]["name"] == "lookup"
    assert first["temperature"] == 0.2
    assert second["messages"][-1]["role"] == "tool"
    assert second["messages"][-1]["content"] == "17 results"
    assert second["stream"] is streamed
