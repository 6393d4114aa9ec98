"""The Chat Completions API as the simulator speaks it, through the real openai SDK."""

from __future__ import annotations

import openai
import pytest
from openai.types.chat import ChatCompletionChunk, ChatCompletionFunctionToolParam

from aliasgate.simulator import SimulatorConfig, create_simulator_app
from tests.aliasgate.simulator.conftest import StartSimulator, base_url
from tests.support.threaded import serve_in_thread

TOOL: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {"name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}},
}


async def test_chat_json_answer_and_usage(start_simulator: StartSimulator) -> None:
    server, sim = await start_simulator()
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=base_url(server), max_retries=0)
    completion = await client.chat.completions.create(
        model="gpt-4.1-mini", messages=[{"role": "system", "content": "s"}, {"role": "user", "content": "two words"}]
    )
    assert completion.choices[0].message.content == "You said: two words"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (2, 8)
    assert sim.requests[-1].path == "/v1/chat/completions"
    await client.close()


async def test_chat_stream_with_usage_chunk(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator()
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=base_url(server), max_retries=0)
    stream = await client.chat.completions.create(
        model="gpt-4.1-mini",
        messages=[{"role": "user", "content": "stream me"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks: list[ChatCompletionChunk] = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "You said: stream me"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 8
    await client.close()


async def test_chat_stream_without_usage_has_no_usage_chunk(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator()
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=base_url(server), max_retries=0)
    stream = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], stream=True)
    chunks = [chunk async for chunk in stream]
    assert all(chunk.usage is None and chunk.choices for chunk in chunks)
    await client.close()


async def test_chat_tool_call_streams_and_folds(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator()
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=base_url(server), max_retries=0)
    completion = await client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "#tool cats"}],
        tools=[TOOL],
    )
    call = completion.choices[0].message.tool_calls
    assert call is not None
    assert call[0].type == "function"
    assert (call[0].function.name, call[0].function.arguments) == ("lookup", '{"q":"#tool cats"}')
    assert completion.choices[0].finish_reason == "tool_calls"
    stream = await client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "#tool cats"}],
        tools=[TOOL],
        stream=True,
    )
    arguments = ""
    ids = set()
    async for chunk in stream:
        for delta_call in chunk.choices[0].delta.tool_calls or []:
            arguments += (delta_call.function.arguments if delta_call.function else None) or ""
            ids.add(delta_call.id)
    assert arguments == '{"q":"#tool cats"}'
    assert len(ids - {None}) == 1
    await client.close()


async def test_chat_refusal_and_length(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator()
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=base_url(server), max_retries=0)
    refused = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "#refuse"}])
    assert refused.choices[0].message.refusal == "I'm sorry, but I can't help with that."
    assert refused.choices[0].message.content is None
    cut_short = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "#incomplete"}])
    assert cut_short.choices[0].finish_reason == "length"
    await client.close()


async def test_chat_fail_is_an_error_frame_mid_stream_and_a_500_otherwise(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator()
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=base_url(server), max_retries=0)
    stream = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "#fail"}], stream=True
    )
    received: list[ChatCompletionChunk] = []

    async def drain() -> None:
        async for chunk in stream:
            received.append(chunk)

    with pytest.raises(openai.APIError, match="failed to generate"):
        await drain()
    assert len(received) == 3
    with pytest.raises(openai.InternalServerError):
        await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "#fail"}])
    await client.close()


async def test_fault_queue_applies_before_directives_then_drains(start_simulator: StartSimulator) -> None:
    server, sim = await start_simulator()
    sim.enqueue("status:503", 2)
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=base_url(server), max_retries=0)
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    ok = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert ok.choices[0].message.content == "You said: x"
    with pytest.raises(ValueError, match="unknown fault"):
        sim.enqueue("explode")
    await client.close()


async def test_fault_and_request_endpoints_for_other_processes(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator()
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=base_url(server), max_retries=0)
    root = f"http://127.0.0.1:{server.port}"
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.post(root + "/_sim/faults", json={"fault": "status:429", "count": 1}) as resp:
            assert resp.status == 200
        async with session.post(root + "/_sim/faults", json={"fault": "status:200"}) as resp:
            assert resp.status == 400
        with pytest.raises(openai.RateLimitError):
            await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        async with session.get(root + "/_sim/requests") as resp:
            recorded = await resp.json()
        assert recorded[-1]["path"] == "/v1/chat/completions"
        assert recorded[-1]["headers"]["authorization"] == "Bearer ***"
        assert recorded[-1]["body"]["messages"] == [{"role": "user", "content": "x"}]
        async with session.post(root + "/_sim/reset") as resp:
            assert resp.status == 200
        async with session.get(root + "/_sim/requests") as resp:
            assert await resp.json() == []
    await client.close()


async def test_models_list(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator(upstream_id="up-a")
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=base_url(server), max_retries=0)
    raw = await client.models.with_raw_response.list()
    assert raw.headers["x-upstream-id"] == "up-a"
    assert [m.id for m in raw.parse().data] == ["gpt-5.4", "gpt-5.4-mini", "gpt-4.1-mini"]
    await client.close()


def test_the_sync_sdk_works_against_a_threaded_simulator() -> None:
    with serve_in_thread(lambda: create_simulator_app(SimulatorConfig(delta_count=2))) as url:
        client = openai.OpenAI(api_key="sk-test", base_url=url + "/v1", max_retries=0)
        completion = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "sync"}])
        assert completion.choices[0].message.content == "You said: sync"
        response = client.responses.create(model="m", input="sync")
        assert response.output_text == "You said: sync"
        client.close()
