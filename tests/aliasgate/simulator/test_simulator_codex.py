"""The ChatGPT codex backend's quirks, as docs/gateway.md ("Providers and credentials") describes them."""

from __future__ import annotations

from typing import Any

import aiohttp
import openai
import pytest

from tests.aliasgate.simulator.conftest import StartSimulator, base_url
from tests.aliasgate.simulator.sse_reading import parse_sse

CODEX = "/backend-api/codex"
CODEX_HEADERS = {"Authorization": "Bearer tok", "ChatGPT-Account-Id": "acct-1"}


def good_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "gpt-5.4",
        "instructions": "You are Codex.",
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
        "stream": True,
        "store": False,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


async def post(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    chosen = CODEX_HEADERS if headers is None else headers
    async with aiohttp.ClientSession() as session, session.post(url, json=body, headers=chosen) as resp:
        return resp.status, await resp.read()


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"input": "hi"}, "Input must be a list"),
        ({"stream": False}, "Stream must be set to true"),
        ({"stream": None}, "Stream must be set to true"),
        ({"store": None}, "Store must be set to false"),
        ({"store": True}, "Store must be set to false"),
        ({"instructions": None}, "Instructions are required"),
        ({"max_output_tokens": 64}, "Unsupported parameter: max_output_tokens"),
        ({"temperature": 0.2}, "Unsupported parameter: temperature"),
        ({"top_p": 0.9}, "Unsupported parameter: top_p"),
        ({"metadata": {"a": "b"}}, "Unsupported parameter: metadata"),
        (
            {"input": [{"type": "message", "role": "system", "content": [{"type": "input_text", "text": "x"}]}]},
            "System messages are not allowed",
        ),
    ],
)
async def test_codex_refuses_bodies_it_does_not_accept(
    start_simulator: StartSimulator, changes: dict[str, Any], detail: str
) -> None:
    server, _ = await start_simulator()
    status, raw = await post(base_url(server, CODEX) + "/responses", good_body(**changes))
    assert status == 400
    assert raw == b'{"detail":"' + detail.encode() + b'"}'


async def test_codex_accepts_the_shaped_body_and_answers_sse(start_simulator: StartSimulator) -> None:
    server, sim = await start_simulator()
    body = good_body(parallel_tool_calls=True, prompt_cache_key="t1", include=["reasoning.encrypted_content"])
    status, raw = await post(base_url(server, CODEX) + "/responses", body)
    assert status == 200
    events = [data for _, data in parse_sse(raw)]
    assert events[-1]["type"] == "response.completed"
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "You said: hi"
    assert sim.requests[-1].headers["authorization"] == "Bearer ***"
    assert sim.requests[-1].headers["chatgpt-account-id"] == "acct-1"


async def test_codex_requires_token_and_account_id(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator()
    url = base_url(server, CODEX) + "/responses"
    assert (await post(url, good_body(), {"Authorization": "Bearer tok"}))[0] == 401
    assert (await post(url, good_body(), {"ChatGPT-Account-Id": "a"}))[0] == 401


async def test_codex_empty_output_rate_one_always_empties_completed_output(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator(empty_output_rate=1.0)
    for _ in range(3):
        _, raw = await post(base_url(server, CODEX) + "/responses", good_body())
        events = [data for _, data in parse_sse(raw)]
        assert events[-1]["response"]["output"] == []
        assert any(e["type"] == "response.output_item.done" for e in events)


async def test_empty_output_rate_is_codex_only_and_seeded(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator(empty_output_rate=0.5, seed=7)
    outcomes = []
    for _ in range(20):
        _, raw = await post(base_url(server, CODEX) + "/responses", good_body())
        outcomes.append(parse_sse(raw)[-1][1]["response"]["output"] == [])
    assert 0 < sum(outcomes) < 20
    again, _ = await start_simulator(empty_output_rate=0.5, seed=7)
    replay = []
    for _ in range(20):
        _, raw = await post(base_url(again, CODEX) + "/responses", good_body())
        replay.append(parse_sse(raw)[-1][1]["response"]["output"] == [])
    assert replay == outcomes
    body = {"model": "m", "input": "x", "stream": True}
    _, raw = await post(base_url(server) + "/responses", body, {"Authorization": "Bearer k"})
    assert parse_sse(raw)[-1][1]["response"]["output"] != []


async def test_codex_chat_completions_is_forbidden(start_simulator: StartSimulator) -> None:
    server, sim = await start_simulator()
    client = openai.AsyncOpenAI(
        api_key="tok", base_url=base_url(server, CODEX), default_headers={"ChatGPT-Account-Id": "a"}, max_retries=0
    )
    with pytest.raises(openai.PermissionDeniedError):
        await client.chat.completions.create(model="gpt-5.4", messages=[{"role": "user", "content": "hi"}])
    assert sim.requests[-1].path == CODEX + "/chat/completions"
    await client.close()


async def test_the_sdk_streams_from_codex_when_the_body_is_shaped(start_simulator: StartSimulator) -> None:
    server, _ = await start_simulator()
    client = openai.AsyncOpenAI(
        api_key="tok", base_url=base_url(server, CODEX), default_headers={"ChatGPT-Account-Id": "a"}, max_retries=0
    )
    stream = await client.responses.create(
        model="gpt-5.4",
        instructions="You are Codex.",
        input=[{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "ping"}]}],
        stream=True,
        store=False,
    )
    text = "".join([e.delta async for e in stream if e.type == "response.output_text.delta"])
    assert text == "You said: ping"
    with pytest.raises(openai.BadRequestError) as caught:
        await client.responses.create(model="gpt-5.4", input="ping", stream=True, store=False, instructions="x")
    assert caught.value.body == {"detail": "Input must be a list"} or "Input must be a list" in str(caught.value)
    await client.close()
