"""Request mapping, chat → Responses (docs/bridge.md, "Request mapping"), table-driven: one row per rule, compared as whole bodies."""

from __future__ import annotations

from typing import Any

import pytest
from openai.types.responses.response_create_params import ResponseCreateParamsBase
from pydantic import TypeAdapter, ValidationError

from gateway.bridge import CODEX_BASE_INSTRUCTIONS, BridgeRequestError, to_responses_request

USER_HI = {"role": "user", "content": "hi"}
HI_ITEM = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
BASE = {"model": "gpt-5.4", "input": [HI_ITEM], "stream": False, "store": False}


def _chat(**fields: Any) -> dict[str, Any]:
    return {"model": "my-alias", "messages": [USER_HI], **fields}


def _item(role: str, text: str, kind: str = "input_text") -> dict[str, Any]:
    return {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}


WEATHER_PARAMS = {"type": "object", "properties": {"city": {"type": "string"}}}

CASES: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = [
    ("minimal user string; store defaults to false", _chat(), "openai", BASE),
    (
        "leading system run joined with a blank line into instructions",
        {"model": "a", "messages": [{"role": "system", "content": "A"}, {"role": "system", "content": "B"}, USER_HI]},
        "openai",
        {**BASE, "instructions": "A\n\nB"},
    ),
    (
        "a non-leading system message stays an input item",
        {"model": "a", "messages": [USER_HI, {"role": "system", "content": "late"}]},
        "openai",
        {**BASE, "input": [HI_ITEM, _item("system", "late")]},
    ),
    (
        "a system message with list content becomes an item",
        {"model": "a", "messages": [{"role": "system", "content": [{"type": "text", "text": "S"}]}, USER_HI]},
        "openai",
        {**BASE, "input": [_item("system", "S"), HI_ITEM]},
    ),
    (
        "only system text: moved into input because input may not be empty",
        {"model": "a", "messages": [{"role": "system", "content": "Say hi"}]},
        "openai",
        {**BASE, "input": [_item("system", "Say hi")]},
    ),
    (
        "developer message; the `name` field is dropped",
        {"model": "a", "messages": [{"role": "developer", "content": "D", "name": "x"}, USER_HI]},
        "openai",
        {**BASE, "input": [_item("developer", "D"), HI_ITEM]},
    ),
    (
        "user content parts: text, images (object and bare string), file, audio",
        _chat(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "look"},
                        {"type": "image_url", "image_url": {"url": "https://x/i.png", "detail": "high"}},
                        {"type": "image_url", "image_url": "data:image/png;base64,AAA"},
                        {"type": "file", "file": {"file_id": "file_1", "filename": "a.pdf"}},
                        {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}},
                    ],
                }
            ]
        ),
        "openai",
        {
            **BASE,
            "input": [
                {
                    "type": "message",
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "look"},
                        {"type": "input_image", "image_url": "https://x/i.png", "detail": "high"},
                        {"type": "input_image", "image_url": "data:image/png;base64,AAA", "detail": "auto"},
                        {"type": "input_file", "file_id": "file_1", "filename": "a.pdf"},
                        {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}},
                    ],
                }
            ],
        },
    ),
    (
        "assistant history: text, then tool calls with call_id and no invented id; tool outputs",
        _chat(
            messages=[
                USER_HI,
                {
                    "role": "assistant",
                    "content": "Checking.",
                    "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}},
                        {"id": "call_2", "type": "custom", "custom": {"name": "patch", "input": "diff"}},
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "42"},
                {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "ok"}]},
            ]
        ),
        "openai",
        {
            **BASE,
            "input": [
                HI_ITEM,
                _item("assistant", "Checking.", "output_text"),
                {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": '{"a":1}'},
                {"type": "custom_tool_call", "call_id": "call_2", "name": "patch", "input": "diff"},
                {"type": "function_call_output", "call_id": "call_1", "output": "42"},
                {"type": "function_call_output", "call_id": "call_2", "output": [{"type": "input_text", "text": "ok"}]},
            ],
        },
    ),
    (
        "assistant refusal in history; an empty assistant turn is skipped",
        _chat(
            messages=[
                USER_HI,
                {"role": "assistant", "content": [{"type": "refusal", "refusal": "No."}]},
                {"role": "assistant", "content": None},
            ]
        ),
        "openai",
        {
            **BASE,
            "input": [
                HI_ITEM,
                {"type": "message", "role": "assistant", "content": [{"type": "refusal", "refusal": "No."}]},
            ],
        },
    ),
    (
        "function tools are flattened; strict defaults to false; missing parameters mean no arguments",
        _chat(
            tools=[
                {"type": "function", "function": {"name": "w", "description": "Weather", "parameters": WEATHER_PARAMS}},
                {"type": "function", "function": {"name": "s", "parameters": WEATHER_PARAMS, "strict": True}},
                {"type": "function", "function": {"name": "now"}},
                {"type": "custom", "custom": {"name": "patch", "description": "Apply", "format": {"type": "text"}}},
                {"type": "web_search"},
            ]
        ),
        "openai",
        {
            **BASE,
            "tools": [
                {
                    "type": "function",
                    "name": "w",
                    "description": "Weather",
                    "parameters": WEATHER_PARAMS,
                    "strict": False,
                },
                {"type": "function", "name": "s", "parameters": WEATHER_PARAMS, "strict": True},
                {
                    "type": "function",
                    "name": "now",
                    "parameters": {"type": "object", "properties": {}},
                    "strict": False,
                },
                {"type": "custom", "name": "patch", "description": "Apply", "format": {"type": "text"}},
                {"type": "web_search"},
            ],
        },
    ),
    ("tool_choice string passes", _chat(tool_choice="required"), "openai", {**BASE, "tool_choice": "required"}),
    (
        "named tool_choice is flattened",
        _chat(tool_choice={"type": "function", "function": {"name": "w"}}),
        "openai",
        {**BASE, "tool_choice": {"type": "function", "name": "w"}},
    ),
    (
        "named custom tool_choice is flattened",
        _chat(tool_choice={"type": "custom", "custom": {"name": "patch"}}),
        "openai",
        {**BASE, "tool_choice": {"type": "custom", "name": "patch"}},
    ),
    (
        "allowed_tools tool_choice is flattened",
        _chat(
            tool_choice={
                "type": "allowed_tools",
                "allowed_tools": {"mode": "required", "tools": [{"type": "function", "function": {"name": "w"}}]},
            }
        ),
        "openai",
        {
            **BASE,
            "tool_choice": {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "w"}]},
        },
    ),
    ("parallel_tool_calls passes", _chat(parallel_tool_calls=False), "openai", {**BASE, "parallel_tool_calls": False}),
    (
        "max_completion_tokens wins over max_tokens",
        _chat(max_tokens=100, max_completion_tokens=200),
        "openai",
        {**BASE, "max_output_tokens": 200},
    ),
    ("max_tokens maps; clamped to 16 for OpenAI", _chat(max_tokens=8), "openai", {**BASE, "max_output_tokens": 16}),
    ("azure clamps too", _chat(max_tokens=8), "azure-openai", {**BASE, "max_output_tokens": 16}),
    ("openai-compatible is not clamped", _chat(max_tokens=8), "openai-compatible", {**BASE, "max_output_tokens": 8}),
    (
        "temperature and top_p pass",
        _chat(temperature=0.2, top_p=0.9),
        "openai",
        {**BASE, "temperature": 0.2, "top_p": 0.9},
    ),
    (
        "json_schema keeps its description; strict defaults to false",
        _chat(
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "city", "description": "A city", "schema": WEATHER_PARAMS},
            }
        ),
        "openai",
        {
            **BASE,
            "text": {
                "format": {
                    "type": "json_schema",
                    "name": "city",
                    "description": "A city",
                    "schema": WEATHER_PARAMS,
                    "strict": False,
                }
            },
        },
    ),
    (
        "json_schema defaults",
        _chat(response_format={"type": "json_schema", "json_schema": {"strict": True}}),
        "openai",
        {**BASE, "text": {"format": {"type": "json_schema", "name": "response_schema", "schema": {}, "strict": True}}},
    ),
    (
        "json_object: the word json must be in input, so the system text moves there",
        {
            "model": "a",
            "messages": [{"role": "system", "content": "Reply in JSON."}, USER_HI],
            "response_format": {"type": "json_object"},
        },
        "openai",
        {**BASE, "input": [_item("system", "Reply in JSON."), HI_ITEM], "text": {"format": {"type": "json_object"}}},
    ),
    (
        "json_object with json already in the input keeps instructions",
        {
            "model": "a",
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "give json"}],
            "response_format": {"type": "json_object"},
        },
        "openai",
        {
            **BASE,
            "instructions": "Be brief.",
            "input": [_item("user", "give json")],
            "text": {"format": {"type": "json_object"}},
        },
    ),
    (
        "verbosity merges into text",
        _chat(verbosity="low", response_format={"type": "text"}),
        "openai",
        {**BASE, "text": {"format": {"type": "text"}, "verbosity": "low"}},
    ),
    (
        "reasoning_effort asks for a summary so reasoning_content can be filled",
        _chat(reasoning_effort="high"),
        "openai",
        {**BASE, "reasoning": {"effort": "high", "summary": "auto"}},
    ),
    (
        "reasoning_effort none asks for no summary",
        _chat(reasoning_effort="none"),
        "openai",
        {**BASE, "reasoning": {"effort": "none"}},
    ),
    (
        "identity and caching parameters pass; user is truncated to 64 characters",
        _chat(
            user="u" * 80,
            metadata={"k": "v"},
            prompt_cache_key="thread-1",
            safety_identifier="sid",
            service_tier="flex",
            prompt_cache_retention="24h",
        ),
        "openai",
        {
            **BASE,
            "user": "u" * 64,
            "metadata": {"k": "v"},
            "prompt_cache_key": "thread-1",
            "safety_identifier": "sid",
            "service_tier": "flex",
            "prompt_cache_retention": "24h",
        },
    ),
    ("store true is honoured", _chat(store=True), "openai", {**BASE, "store": True}),
    (
        "include_usage is ours, include_obfuscation passes",
        _chat(stream=True, stream_options={"include_usage": True, "include_obfuscation": False}),
        "openai",
        {**BASE, "stream": True, "stream_options": {"include_obfuscation": False}},
    ),
    (
        "web_search_options become a web_search tool with a flat user location",
        _chat(
            web_search_options={
                "search_context_size": "low",
                "user_location": {"type": "approximate", "approximate": {"city": "Paris", "country": "FR"}},
            }
        ),
        "openai",
        {
            **BASE,
            "tools": [
                {
                    "type": "web_search",
                    "search_context_size": "low",
                    "user_location": {"type": "approximate", "city": "Paris", "country": "FR"},
                }
            ],
        },
    ),
    (
        "inert values of unmappable parameters are accepted",
        _chat(n=1, stop=[], logprobs=False, frequency_penalty=0, presence_penalty=0, logit_bias={}, seed=None),
        "openai",
        BASE,
    ),
    (
        "codex: forced stream/store, canonical instructions, caller system text as developer, drops what it rejects",
        {
            "model": "a",
            "messages": [{"role": "system", "content": "Be terse."}, USER_HI, {"role": "system", "content": "Later."}],
            "temperature": 0.5,
            "top_p": 0.5,
            "max_tokens": 50,
            "metadata": {"k": "v"},
            "user": "alice",
            "safety_identifier": "sid",
            "prompt_cache_retention": "24h",
            "prompt_cache_key": "thread-9",
            "parallel_tool_calls": True,
            "service_tier": "fast",
            "reasoning_effort": "medium",
            "stream": False,
            "store": True,
        },
        "chatgpt",
        {
            "model": "gpt-5.4",
            "instructions": CODEX_BASE_INSTRUCTIONS,
            "input": [_item("developer", "Be terse."), HI_ITEM, _item("developer", "Later.")],
            "stream": True,
            "store": False,
            "include": ["reasoning.encrypted_content"],
            "reasoning": {"effort": "medium", "summary": "auto"},
            "prompt_cache_key": "thread-9",
            "parallel_tool_calls": True,
            "service_tier": "priority",
        },
    ),
    (
        "codex: unknown service tiers are dropped, tools and tool_choice kept",
        _chat(service_tier="flex", tools=[{"type": "function", "function": {"name": "now"}}], tool_choice="auto"),
        "chatgpt",
        {
            "model": "gpt-5.4",
            "instructions": CODEX_BASE_INSTRUCTIONS,
            "input": [HI_ITEM],
            "stream": True,
            "store": False,
            "include": ["reasoning.encrypted_content"],
            "tools": [
                {"type": "function", "name": "now", "parameters": {"type": "object", "properties": {}}, "strict": False}
            ],
            "tool_choice": "auto",
        },
    ),
    (
        "codex: service tier default stays default",
        _chat(service_tier="default"),
        "chatgpt",
        {
            "model": "gpt-5.4",
            "instructions": CODEX_BASE_INSTRUCTIONS,
            "input": [HI_ITEM],
            "stream": True,
            "store": False,
            "include": ["reasoning.encrypted_content"],
            "service_tier": "default",
        },
    ),
]


@pytest.mark.parametrize(("chat_body", "provider", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_chat_request_maps_to_the_expected_responses_body(
    chat_body: dict[str, Any], provider: str, expected: dict[str, Any]
) -> None:
    assert to_responses_request(chat_body, upstream_model="gpt-5.4", provider=provider) == expected


def test_mapping_does_not_mutate_the_chat_request() -> None:
    body = _chat(
        tools=[{"type": "function", "function": {"name": "now"}}],
        messages=[{"role": "system", "content": "S"}, USER_HI],
    )
    snapshot = repr(body)
    to_responses_request(body, upstream_model="m", provider="chatgpt")
    assert repr(body) == snapshot


REJECTED: list[tuple[dict[str, Any], str]] = [
    (_chat(stop=["\n"]), "stop"),
    (_chat(n=2), "n"),
    (_chat(seed=7), "seed"),
    (_chat(logprobs=True), "logprobs"),
    (_chat(top_logprobs=3), "top_logprobs"),
    (_chat(frequency_penalty=0.5), "frequency_penalty"),
    (_chat(presence_penalty=-1), "presence_penalty"),
    (_chat(logit_bias={"50256": -100}), "logit_bias"),
    (_chat(modalities=["text", "audio"]), "modalities"),
    (_chat(audio={"voice": "alloy", "format": "wav"}), "audio"),
    (_chat(prediction={"type": "content", "content": "x"}), "prediction"),
    (_chat(functions=[{"name": "f"}]), "functions"),
    (_chat(function_call="auto"), "function_call"),
    (_chat(frobnicate=True), "frobnicate"),
    ({"model": "a", "messages": []}, "messages"),
    ({"model": "a"}, "messages"),
    (_chat(messages=[{"role": "function", "name": "f", "content": "x"}]), "messages[0].role"),
    (_chat(messages=[{"role": "wizard", "content": "x"}]), "messages[0].role"),
    (_chat(messages=[USER_HI, {"role": "tool", "content": "x"}]), "messages[1].tool_call_id"),
    (_chat(messages=[{"role": "user", "content": [{"type": "video", "video": {}}]}]), "messages[0].content[0].type"),
    (
        _chat(messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]),
        "messages[0].content[0].image_url",
    ),
    (_chat(max_tokens=0), "max_tokens"),
    (_chat(max_completion_tokens="many"), "max_completion_tokens"),
    (_chat(tool_choice="sometimes"), "tool_choice"),
    (_chat(tools=[{"type": "function", "function": {}}]), "tools[0].function"),
    (_chat(response_format={"type": "yaml"}), "response_format.type"),
]


@pytest.mark.parametrize(("chat_body", "param"), REJECTED, ids=[p for _, p in REJECTED])
def test_untranslatable_requests_are_a_400_naming_the_parameter(chat_body: dict[str, Any], param: str) -> None:
    with pytest.raises(BridgeRequestError) as raised:
        to_responses_request(chat_body, upstream_model="m", provider="openai")
    error = raised.value.error
    assert error.status == 400
    assert error.type == "invalid_request_error"
    assert error.param == param
    assert error.body()["error"]["param"] == param
    assert f"`{param}`" in error.message


def test_an_unknown_provider_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="provider"):
        to_responses_request(_chat(), upstream_model="m", provider="bedrock")


_CREATE_PARAMS: TypeAdapter[ResponseCreateParamsBase] = TypeAdapter(ResponseCreateParamsBase)

# Shapes the API accepts but SDK 3.57's typed params do not list.
_BEYOND_SDK_TYPES = {
    "user content parts: text, images (object and bare string), file, audio",  # input_audio part
    "assistant history: text, then tool calls with call_id and no invented id; tool outputs",  # output_text history
    "assistant refusal in history; an empty assistant turn is skipped",  # refusal part in history
}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_mapped_bodies_are_sdk_shaped(case: tuple[str, dict[str, Any], str, dict[str, Any]]) -> None:
    name, chat_body, provider, _ = case
    body = to_responses_request(chat_body, upstream_model="gpt-5.4", provider=provider)
    adapter = _CREATE_PARAMS
    if name in _BEYOND_SDK_TYPES:
        with pytest.raises(ValidationError):
            adapter.validate_python(body)
    else:
        adapter.validate_python(body)
