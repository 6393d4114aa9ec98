"""POST /v1/chat/completions end to end: the openai SDK → gateway → simulator, both modes, stream and not."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.gateway.conftest import CHATGPT_ACCOUNT, Gateway

ALIASES = ["team/chat", "team/responses", "chatgpt/gpt-5.4"]
MODES = {"team/chat": "chat", "team/responses": "responses", "chatgpt/gpt-5.4": "responses"}

TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look something up.",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
        },
    }
]


@pytest.mark.parametrize("alias", ALIASES)
async def test_non_streaming_answer_comes_back_through_the_sdk(gateway: Gateway, alias: str) -> None:
    async with gateway.sdk() as sdk:
        completion = await sdk.chat.completions.create(model=alias, messages=[{"role": "user", "content": "hello"}])
    assert completion.choices[0].message.content == "You said: hello"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 8
    mode = MODES[alias]
    assert gateway.metric("aliasgate_requests_total", alias=alias, mode=mode, stream="false", code="200") == 1
    assert gateway.metric("aliasgate_tokens_total", alias=alias, type="completion") == 8
    assert gateway.metric("aliasgate_tokens_total", alias=alias, type="prompt") == 1
    assert gateway.metric("aliasgate_gateway_overhead_seconds_count", alias=alias) == 1
    assert gateway.upstream_connections() == 0


@pytest.mark.parametrize("alias", ALIASES)
async def test_streaming_answer_arrives_in_chunks(gateway: Gateway, alias: str) -> None:
    async with gateway.sdk() as sdk:
        stream = await sdk.chat.completions.create(
            model=alias,
            messages=[{"role": "user", "content": "stream me"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        pieces: list[str] = []
        finish: list[str] = []
        usage = None
        async for chunk in stream:
            for choice in chunk.choices:
                if choice.delta.content:
                    pieces.append(choice.delta.content)
                if choice.finish_reason:
                    finish.append(choice.finish_reason)
            if chunk.usage is not None:
                usage = chunk.usage
    assert "".join(pieces) == "You said: stream me"
    assert len(pieces) > 1
    assert finish == ["stop"]
    assert usage is not None
    assert usage.completion_tokens == 8
    mode = MODES[alias]
    assert gateway.metric("aliasgate_requests_total", alias=alias, mode=mode, stream="true", code="200") == 1
    assert gateway.metric("aliasgate_time_to_first_token_seconds_count", alias=alias) == 1
    assert gateway.metric("aliasgate_tokens_total", alias=alias, type="completion") == 8


@pytest.mark.parametrize("alias", ALIASES)
async def test_tool_calls_survive_both_modes(gateway: Gateway, alias: str) -> None:
    async with gateway.sdk() as sdk:
        completion = await sdk.chat.completions.create(
            model=alias, messages=[{"role": "user", "content": "find #tool"}], tools=TOOLS
        )
        message = completion.choices[0].message
        assert completion.choices[0].finish_reason == "tool_calls"
        assert message.tool_calls is not None
        call = message.tool_calls[0]
        assert call.type == "function"
        assert call.function.name == "lookup"
        assert json.loads(call.function.arguments) == {"q": "find #tool"}

        stream = await sdk.chat.completions.create(
            model=alias, messages=[{"role": "user", "content": "find #tool"}], tools=TOOLS, stream=True
        )
        arguments = ""
        names: list[str] = []
        async for chunk in stream:
            for choice in chunk.choices:
                for delta in choice.delta.tool_calls or []:
                    if delta.function and delta.function.name:
                        names.append(delta.function.name)
                    if delta.function and delta.function.arguments:
                        arguments += delta.function.arguments
    assert names == ["lookup"]
    assert json.loads(arguments) == {"q": "find #tool"}


async def test_codex_requests_carry_the_codex_headers_and_shape(gateway: Gateway) -> None:
    async with gateway.sdk() as sdk:
        await sdk.chat.completions.create(
            model="chatgpt/gpt-5.4",
            messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
            extra_headers={"x-request-id": "req-codex-1"},
        )
    [seen] = [r for r in gateway.sim.requests if r.path.endswith("/responses")]
    assert seen.path == "/backend-api/codex/responses"
    assert seen.headers["authorization"] == "Bearer ***"
    assert seen.headers["chatgpt-account-id"] == CHATGPT_ACCOUNT
    assert seen.headers["originator"] == "codex_cli_rs"
    assert seen.headers["session_id"] == "req-codex-1"
    assert seen.headers["accept"] == "text/event-stream"
    assert seen.body["model"] == "gpt-5.4"
    assert seen.body["stream"] is True
    assert seen.body["store"] is False
    assert isinstance(seen.body["input"], list)


async def test_empty_completed_output_is_recovered_and_counted(gateway: Gateway) -> None:
    async with gateway.sdk() as sdk:
        completion = await sdk.chat.completions.create(
            model="chatgpt/gpt-5.4", messages=[{"role": "user", "content": "answer #empty"}]
        )
        assert completion.choices[0].message.content == "You said: answer #empty"
        stream = await sdk.chat.completions.create(
            model="chatgpt/gpt-5.4", messages=[{"role": "user", "content": "again #empty"}], stream=True
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "You said: again #empty"
    recovered = sum(
        gateway.metric("aliasgate_bridge_recoveries_total", alias="chatgpt/gpt-5.4", source=source)
        for source in ("output_item_done", "output_text_done", "deltas")
    )
    assert recovered == 2
    assert gateway.metric("aliasgate_bridge_unrecoverable_total", alias="chatgpt/gpt-5.4") == 0


async def test_reasoning_tokens_are_counted(gateway: Gateway) -> None:
    async with gateway.sdk() as sdk:
        completion = await sdk.chat.completions.create(
            model="team/responses", messages=[{"role": "user", "content": "think #reason"}]
        )
    assert completion.choices[0].message.content == "You said: think #reason"
    assert gateway.metric("aliasgate_tokens_total", alias="team/responses", type="reasoning") == 2


async def test_request_id_is_echoed_or_generated(gateway: Gateway) -> None:
    body = {"model": "team/chat", "messages": [{"role": "user", "content": "hi"}]}
    resp = await gateway.client.post("/v1/chat/completions", json=body, headers={"x-request-id": "abc-123"})
    assert resp.status == 200
    assert resp.headers["x-request-id"] == "abc-123"
    resp = await gateway.client.post("/v1/chat/completions", json=body, headers={"x-request-id": "bad id\u00e9"})
    generated = resp.headers["x-request-id"]
    assert generated != "bad id\u00e9"
    assert len(generated) == 32
    resp = await gateway.client.post("/v1/chat/completions", json=body | {"stream": True})
    assert resp.headers["content-type"] == "text/event-stream"
    assert len(resp.headers["x-request-id"]) == 32
    await resp.read()


async def test_route_defaults_and_overrides_shape_the_upstream_body(make_gateway: Any) -> None:
    from tests.gateway.conftest import RouteSpec

    gateway = await make_gateway(
        [
            RouteSpec(
                "tuned",
                mode="chat",
                settings={"requestDefaults": {"temperature": 0.2, "top_p": 0.5}, "requestOverrides": {"top_p": 0.9}},
            )
        ]
    )
    async with gateway.sdk() as sdk:
        await sdk.chat.completions.create(model="tuned", messages=[{"role": "user", "content": "x"}], temperature=1.0)
    [seen] = gateway.sim.requests
    assert seen.body["model"] == "gpt-5.4"
    assert seen.body["temperature"] == 1.0
    assert seen.body["top_p"] == 0.9


async def test_passthrough_streams_count_tokens_without_showing_usage_unasked(gateway: Gateway) -> None:
    resp = await gateway.client.post(
        "/v1/chat/completions",
        json={"model": "team/chat", "stream": True, "messages": [{"role": "user", "content": "count me"}]},
    )
    raw = await resp.read()
    assert b'"usage":{' not in raw
    assert raw.endswith(b"data: [DONE]\n\n")
    [seen] = gateway.sim.requests
    assert seen.body["stream_options"] == {"include_usage": True}
    assert gateway.metric("aliasgate_tokens_total", alias="team/chat", type="completion") == 8
    assert gateway.metric("aliasgate_tokens_total", alias="team/chat", type="prompt") == 2
