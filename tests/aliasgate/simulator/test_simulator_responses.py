"""The Responses API as the simulator speaks it, checked with the real openai SDK and the SDK's own types."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import aiohttp
import openai
import pytest
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from tests.aliasgate.simulator.conftest import StartSimulator, base_url
from tests.aliasgate.simulator.sse_reading import parse_sse

EVENTS = TypeAdapter(ResponseStreamEvent)
AUTH = {"Authorization": "Bearer sk-test"}
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather by city",
    "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
    "strict": False,
}


async def read_into(resp: aiohttp.ClientResponse, into: bytearray) -> None:
    async for chunk in resp.content.iter_any():
        into += chunk


async def raw_stream(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> list[Any]:
    async with aiohttp.ClientSession() as session, session.post(url, json=body, headers=headers or AUTH) as resp:
        assert resp.status == 200, await resp.text()
        assert resp.content_type == "text/event-stream"
        return [data for _, data in parse_sse(await resp.read())]


@pytest.mark.parametrize(
    "text",
    [
        "hello there",
        "#tool find",
        "#reason why",
        "#refuse no",
        "#incomplete long",
        "#fail now",
        "#empty x",
        "#reason #tool both",
        "#reason #refuse both",
    ],
)
async def test_every_streamed_event_validates_against_the_sdk_union(start_simulator: StartSimulator, text: str) -> None:
    server, _ = await start_simulator()
    body = {"model": "gpt-5.4", "input": text, "stream": True, "tools": [WEATHER_TOOL]}
    events = await raw_stream(base_url(server) + "/responses", body)
    for event in events:
        EVENTS.validate_python(event)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[0]["type"] == "response.created"
    assert events[1]["type"] == "response.in_progress"
    assert events[-1]["type"] in {"response.completed", "response.incomplete", "response.failed"}
    assert events[-1]["response"]["usage"]["input_tokens"] == len(text.split())


async def test_plain_stream_through_the_sdk_yields_the_echo_in_eight_deltas(start_simulator: StartSimulator) -> None:
    server, sim = await start_simulator()
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=base_url(server), max_retries=0)
    stream = await client.responses.create(model="gpt-5.4", input="hello simulator", stream=True)
    types: list[str] = []
    deltas: list[str] = []
    final: Response | None = None
    async for event in stream:
        types.append(event.type)
        if event.type == "response.output_text.delta":
            deltas.append(event.delta)
        if event.type == "response.completed":
            final = event.response
    assert types == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * 8,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert "".join(deltas) == "You said: hello simulator"
    assert final is not None
    assert final.output_text == "You said: hello simulator"
    assert final.usage is not None
    assert (final.usage.input_tokens, final.usage.output_tokens, final.usage.total_tokens) == (2, 8, 10)
    assert sim.requests[-1].body["input"] == "hello simulator"
    await client.close()


async def test_non_stream_answers_a_json_response_object(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator(delta_count=3)
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=base_url(server), max_retries=0)
    response = await client.responses.create(
        model="gpt-5.4",
        input=[{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "json please"}]}],
        instructions="be brief",
    )
    assert response.status == "completed"
    assert response.output_text == "You said: json please"
    assert response.instructions == "be brief"
    assert response.usage is not None
    assert response.usage.output_tokens == 3
    await client.close()


async def test_tool_directive_streams_a_function_call_in_argument_deltas(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator()
    body = {"model": "gpt-5.4", "input": "#tool weather in Oslo", "stream": True, "tools": [WEATHER_TOOL]}
    events = await raw_stream(base_url(server) + "/responses", body)
    arg_deltas = [e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta"]
    assert len(arg_deltas) == 8
    assert "".join(arg_deltas) == '{"q":"#tool weather in Oslo"}'
    item = events[-1]["response"]["output"][0]
    assert (item["type"], item["name"], item["arguments"]) == ("function_call", "get_weather", "".join(arg_deltas))
    assert item["call_id"].startswith("call_")


async def test_tool_directive_without_tools_answers_text(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator()
    events = await raw_stream(base_url(server) + "/responses", {"model": "m", "input": "#tool x", "stream": True})
    assert events[-1]["response"]["output"][0]["type"] == "message"


async def test_function_call_output_is_answered_from_the_tool_result(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator()
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=base_url(server), max_retries=0)
    response = await client.responses.create(
        model="gpt-5.4",
        input=[
            {"type": "message", "role": "user", "content": "#tool weather"},
            {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
        ],
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
    )
    assert response.output_text == "Tool said: sunny"
    await client.close()


async def test_reason_directive_adds_a_reasoning_item_with_two_summary_parts(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator()
    body = {"model": "gpt-5.4", "input": "#reason think", "stream": True, "include": ["reasoning.encrypted_content"]}
    events = await raw_stream(base_url(server) + "/responses", body)
    summary_deltas = [e for e in events if e["type"] == "response.reasoning_summary_text.delta"]
    assert [e["summary_index"] for e in summary_deltas] == [0, 1]
    final = Response.model_validate(events[-1]["response"])
    assert [item.type for item in final.output] == ["reasoning", "message"]
    reasoning = final.output[0]
    assert reasoning.type == "reasoning"
    assert len(reasoning.summary) == 2
    assert reasoning.encrypted_content
    assert final.usage is not None
    assert final.usage.output_tokens_details.reasoning_tokens == 2


async def test_refuse_directive_streams_a_refusal_part(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator()
    events = await raw_stream(base_url(server) + "/responses", {"model": "m", "input": "#refuse", "stream": True})
    assert any(e["type"] == "response.refusal.delta" for e in events)
    assert not any(e["type"] == "response.output_text.delta" for e in events)
    part = events[-1]["response"]["output"][0]["content"][0]
    assert part["type"] == "refusal"
    assert part["refusal"] == "I'm sorry, but I can't help with that."


async def test_incomplete_directive_ends_with_response_incomplete(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator()
    events = await raw_stream(base_url(server) + "/responses", {"model": "m", "input": "#incomplete", "stream": True})
    final = events[-1]
    assert final["type"] == "response.incomplete"
    assert final["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert final["response"]["usage"]["output_tokens"] == 4
    assert final["response"]["output"][0]["status"] == "incomplete"


async def test_fail_directive_fails_after_two_deltas(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator()
    events = await raw_stream(base_url(server) + "/responses", {"model": "m", "input": "#fail", "stream": True})
    assert [e["type"] for e in events][-3:] == [
        "response.output_text.delta",
        "response.output_text.delta",
        "response.failed",
    ]
    assert events[-1]["response"]["error"]["code"] == "server_error"
    assert events[-1]["response"]["status"] == "failed"


async def test_empty_directive_empties_completed_output_but_streams_the_items(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator()
    events = await raw_stream(base_url(server) + "/responses", {"model": "m", "input": "#empty", "stream": True})
    assert events[-1]["type"] == "response.completed"
    assert events[-1]["response"]["output"] == []
    done = [e for e in events if e["type"] == "response.output_item.done"]
    assert done[0]["item"]["content"][0]["text"] == "You said: #empty"


async def test_garbage_directive_sends_a_non_json_frame_mid_stream(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator()
    events = await raw_stream(base_url(server) + "/responses", {"model": "m", "input": "#garbage", "stream": True})
    garbage = [i for i, e in enumerate(events) if isinstance(e, str)]
    assert len(garbage) == 1
    assert events[garbage[0] - 1]["type"] == "response.output_text.delta"
    assert events[-1]["type"] == "response.completed"


async def test_cut_directive_drops_the_connection_without_a_terminal_event(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator()
    received = bytearray()
    async with aiohttp.ClientSession() as session:
        body = {"model": "m", "input": "#cut", "stream": True}
        async with session.post(base_url(server) + "/responses", json=body, headers=AUTH) as resp:
            assert resp.status == 200
            with pytest.raises(aiohttp.ClientPayloadError):
                await read_into(resp, received)
    types = [data["type"] for _, data in parse_sse(bytes(received))]
    assert types.count("response.output_text.delta") == 2
    assert not {"response.completed", "response.failed", "response.incomplete"} & set(types)


async def test_stall_directive_pauses_mid_stream(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator(stall_seconds=0.3)
    loop_time = asyncio.get_running_loop().time
    arrivals: list[tuple[float, bytes]] = []
    async with aiohttp.ClientSession() as session:
        body = {"model": "m", "input": "#stall", "stream": True}
        async with session.post(base_url(server) + "/responses", json=body, headers=AUTH) as resp:
            async for chunk in resp.content.iter_any():
                arrivals.append((loop_time(), chunk))
    gaps = [later[0] - earlier[0] for earlier, later in itertools.pairwise(arrivals)]
    assert max(gaps) >= 0.25
    assert b"event: response.completed" in b"".join(chunk for _, chunk in arrivals)


async def test_think_directive_pauses_after_the_head_before_any_content(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator(think_seconds=0.3)
    loop_time = asyncio.get_running_loop().time
    arrivals: list[tuple[float, bytes]] = []
    async with aiohttp.ClientSession() as session:
        body = {"model": "m", "input": "#think", "stream": True}
        async with session.post(base_url(server) + "/responses", json=body, headers=AUTH) as resp:
            async for chunk in resp.content.iter_any():
                arrivals.append((loop_time(), chunk))
    gaps = [later[0] - earlier[0] for earlier, later in itertools.pairwise(arrivals)]
    widest = gaps.index(max(gaps))
    assert max(gaps) >= 0.25
    before = b"".join(chunk for _, chunk in arrivals[: widest + 1])
    assert b"response.in_progress" in before
    assert b"output_text.delta" not in before  # the pause comes before the first content
    assert b"event: response.completed" in b"".join(chunk for _, chunk in arrivals)


async def test_status_directive_answers_an_openai_error_with_retry_after(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator()
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=base_url(server), max_retries=0)
    with pytest.raises(openai.RateLimitError) as caught:
        await client.responses.create(model="m", input="#status:429")
    assert caught.value.response.headers["Retry-After"] == "1"
    assert caught.value.code == "rate_limit_exceeded"
    with pytest.raises(openai.InternalServerError) as server_error:
        await client.responses.create(model="m", input="#status:503", stream=True)
    assert server_error.value.status_code == 503
    await client.close()


async def test_openai_paths_require_a_bearer_token(start_simulator: StartSimulator) -> None:
    server, sim = await start_simulator()
    async with aiohttp.ClientSession() as session:
        async with session.post(base_url(server) + "/responses", json={"model": "m", "input": "x"}) as resp:
            assert resp.status == 401
            assert (await resp.json())["error"]["type"] == "invalid_request_error"
        headers = {"api-key": "azure-key"}
        async with session.post(
            base_url(server) + "/responses", json={"model": "m", "input": "x"}, headers=headers
        ) as resp:
            assert resp.status == 200
    assert sim.requests[-1].headers["api-key"] == "***"


async def test_max_output_tokens_below_sixteen_is_refused_like_the_api(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator()
    client = openai.AsyncOpenAI(api_key="sk-test", base_url=base_url(server), max_retries=0)
    with pytest.raises(openai.BadRequestError) as caught:
        await client.responses.create(model="m", input="x", max_output_tokens=5)
    assert caught.value.param == "max_output_tokens"
    await client.close()


async def test_malformed_json_gets_a_400(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator()
    url = base_url(server) + "/responses"
    async with aiohttp.ClientSession() as session, session.post(url, data=b"{nope", headers=AUTH) as resp:
        assert resp.status == 400
        assert "parse" in (await resp.json())["error"]["message"]
