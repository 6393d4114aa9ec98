"""SSE keepalives (docs/gateway.md, "Streaming, retries and fallbacks"): long silences get ``: keepalive`` comments, before and after content.

The simulator's ``#think`` pauses after the stream's head and before any content, as a reasoning model
does; ``#stall`` pauses mid-stream. Every client here is real: the raw bytes are read with aiohttp and the
same streams are consumed with the openai SDK, which must ignore the comments.
"""

from __future__ import annotations

import asyncio

import openai
import pytest
from openai.types.chat import ChatCompletionChunk

from aliasgate.simulator import SimulatorConfig
from gateway.settings import GatewaySettings
from tests.gateway.conftest import GatewayFactory, RouteSpec

KEEPALIVE = b": keepalive\n\n"
ROUTES = [
    RouteSpec("codex", prefix="/backend-api/codex", provider="chatgpt", mode="responses", credentials="chatgpt-pro"),
    RouteSpec("chat", mode="chat", model="gpt-4.1-mini"),
    RouteSpec("responses", mode="responses"),
]


def _settings(keepalive: float) -> GatewaySettings:
    return GatewaySettings(probe_min_interval_seconds=0.0, sse_keepalive_seconds=keepalive)


def _chat(model: str, text: str) -> dict[str, object]:
    return {"model": model, "stream": True, "messages": [{"role": "user", "content": text}]}


async def _raw(client_post: object, path: str, body: dict[str, object]) -> tuple[float, bytes, bytes]:
    """(seconds until the response started, bytes before the first data frame, the whole body)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    resp = await client_post(path, json=body)  # type: ignore[operator]
    assert resp.status == 200
    head_at = loop.time() - started
    body_bytes = await resp.read()
    before_data = body_bytes.split(b"data:", 1)[0]
    return head_at, before_data, body_bytes


async def test_a_reasoning_gap_before_content_starts_the_stream_and_keeps_it_alive(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(ROUTES, sim_config=SimulatorConfig(think_seconds=0.7), settings=_settings(0.2))
    for model in ("codex", "chat"):
        head_at, before_data, whole = await _raw(
            gateway.client.post, "/v1/chat/completions", _chat(model, "ponder #think")
        )
        assert head_at < 0.6, model  # started within the keepalive window, not after the whole gap
        if model == "codex":  # the bridge has no content before the gap: the stream opens on a keepalive
            assert before_data.startswith(KEEPALIVE)
        else:  # the upstream's role chunk is content for pass-through: it goes first, then the gap
            assert before_data == b""
        assert whole.count(KEEPALIVE) >= 2, model
        assert whole.rstrip().endswith(b"data: [DONE]"), model


async def test_the_openai_sdk_reads_kept_alive_streams_unharmed(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(ROUTES, sim_config=SimulatorConfig(think_seconds=0.5), settings=_settings(0.15))
    async with gateway.sdk() as sdk:
        for model in ("codex", "chat"):
            stream = await sdk.chat.completions.create(
                model=model, stream=True, messages=[{"role": "user", "content": "ponder #think"}]
            )
            chunks: list[ChatCompletionChunk] = [chunk async for chunk in stream]
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            assert text, model
            assert chunks[-1].choices[0].finish_reason == "stop", model
        events = [
            event.type async for event in await sdk.responses.create(model="responses", input="x #think", stream=True)
        ]
        assert events[0] == "response.created"
        assert events[-1] == "response.completed"


async def test_a_silence_after_content_gets_keepalives_and_the_stream_completes(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(ROUTES, sim_config=SimulatorConfig(stall_seconds=0.6), settings=_settings(0.15))
    _, before_data, whole = await _raw(gateway.client.post, "/v1/chat/completions", _chat("codex", "wait #stall"))
    assert KEEPALIVE not in before_data  # content came at once: no keepalive before it
    first_keepalive = whole.index(KEEPALIVE)
    assert b'"content":' in whole[:first_keepalive]  # the silence came after content
    assert whole.count(KEEPALIVE) >= 2
    assert whole.rstrip().endswith(b"data: [DONE]")
    _, _, responses = await _raw(
        gateway.client.post, "/v1/responses", {"model": "responses", "input": "wait #stall", "stream": True}
    )
    assert KEEPALIVE in responses
    assert b"event: response.completed" in responses


async def test_zero_turns_keepalives_off_and_priming_waits_for_content(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(ROUTES, sim_config=SimulatorConfig(think_seconds=0.4), settings=_settings(0))
    head_at, _, whole = await _raw(gateway.client.post, "/v1/chat/completions", _chat("codex", "ponder #think"))
    assert head_at >= 0.35  # held back until the first content, as before
    assert KEEPALIVE not in whole


async def test_a_failure_after_the_stream_started_on_a_keepalive_is_an_in_stream_error(
    make_gateway: GatewayFactory,
) -> None:
    routes = [
        RouteSpec(
            "codex",
            prefix="/backend-api/codex",
            provider="chatgpt",
            mode="responses",
            credentials="chatgpt-pro",
            settings={"timeouts": {"idleSeconds": 0.5}, "retries": {"attempts": 1}},
        )
    ]
    # The gap outlasts the upstream idle timeout: the stream started on a keepalive, so the stall arrives
    # as an error frame (the client's SDK raises it), not as a 504.
    gateway = await make_gateway(routes, sim_config=SimulatorConfig(think_seconds=1.5), settings=_settings(0.1))
    async with gateway.sdk() as sdk:
        stream = await sdk.chat.completions.create(
            model="codex", stream=True, messages=[{"role": "user", "content": "ponder #think"}]
        )
        with pytest.raises(openai.APIError, match="stalled"):
            async for _ in stream:
                pass
    assert gateway.upstream_connections() == 0
