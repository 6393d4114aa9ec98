"""The simulator as an aiohttp app: routes under any prefix, the shared request prologue (record, latency,
auth, JSON), the Responses / Chat Completions / models handlers, and the ``/_sim/*`` endpoints other
processes use to queue faults and read recorded requests.

The answers themselves are built by :mod:`~aliasgate.simulator.responses` and :mod:`~aliasgate.simulator.chat`
and sent by :mod:`~aliasgate.simulator.playing`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import web

from aliasgate.simulator.chat import ChatScript
from aliasgate.simulator.codex import codex_body_error, is_codex_prefix
from aliasgate.simulator.config import SimulatorConfig
from aliasgate.simulator.directives import Turn, chat_turn, read_directives, responses_turn
from aliasgate.simulator.playing import serve_script
from aliasgate.simulator.responses import ResponsesScript
from aliasgate.simulator.state import RecordedRequest, Simulator, simulator_key
from aliasgate.simulator.wire import (
    JSON_CONTENT_TYPE,
    Step,
    codex_error,
    data_frame,
    json_response,
    openai_error,
    simulated_status,
    sse_frame,
)

__all__ = ["create_simulator_app"]


def _record(sim: Simulator, request: web.Request, body: Any) -> None:
    if not sim.config.record_requests:
        return
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        if key == "authorization":
            value = "Bearer ***" if value.lower().startswith("bearer") else "***"
        elif key == "api-key":
            value = "***"
        headers[key] = value
    sim.requests.append(RecordedRequest(method=request.method, path=request.path, headers=headers, body=body))


def _auth_error(request: web.Request, *, codex: bool) -> web.Response | None:
    authorization = request.headers.get("Authorization", "")
    has_bearer = authorization.startswith("Bearer ") and len(authorization) > len("Bearer ")
    if codex:
        if not has_bearer:
            return codex_error(401, "Unauthorized: missing bearer token")
        if not request.headers.get("ChatGPT-Account-Id"):
            return codex_error(401, "Unauthorized: missing ChatGPT-Account-Id")
        return None
    if has_bearer or request.headers.get("api-key"):
        return None
    return openai_error(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header "
        "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        code=None,
    )


def _openai_responses_body_error(body: dict[str, Any]) -> web.Response | None:
    if not isinstance(body.get("model"), str) or not body["model"]:
        return openai_error(
            400, "Missing required parameter: 'model'.", param="model", code="missing_required_parameter"
        )
    value = body.get("input")
    if value is not None and not isinstance(value, str | list):
        return openai_error(400, "Invalid type for 'input': expected a string or an array.", param="input")
    limit = body.get("max_output_tokens")
    if isinstance(limit, int) and limit < 16:
        return openai_error(
            400,
            f"Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got {limit} "
            "instead.",
            param="max_output_tokens",
            code="integer_below_min_value",
        )
    return None


async def _read_json(request: web.Request) -> tuple[Any, bool]:
    raw = await request.read()
    if not raw:
        return None, False
    try:
        return orjson.loads(raw), True
    except orjson.JSONDecodeError:
        return None, False


async def _begin(request: web.Request, *, codex: bool) -> tuple[Simulator, Any, web.Response | None]:
    """Shared prologue: read and record the body, latency, auth."""
    sim = request.app[simulator_key]
    body, ok = await _read_json(request)
    _record(sim, request, body)
    if sim.config.latency_seconds > 0:
        await asyncio.sleep(sim.config.latency_seconds)
    if sim.config.require_auth:
        denied = _auth_error(request, codex=codex)
        if denied is not None:
            return sim, body, denied
    if not ok or not isinstance(body, dict):
        message = "We could not parse the JSON body of your request."
        return sim, body, codex_error(400, message) if codex else openai_error(400, message)
    return sim, body, None


async def _post_responses(request: web.Request, *, codex: bool) -> web.StreamResponse:
    sim, body, early = await _begin(request, codex=codex)
    if early is not None:
        return early
    if codex:
        detail = codex_body_error(body)
        if detail is not None:
            return codex_error(400, detail)
    else:
        rejected = _openai_responses_body_error(body)
        if rejected is not None:
            return rejected
    text, tool_output = responses_turn(body)
    directives, status = read_directives(text, sim.take_fault())
    if status is not None:
        return simulated_status(status)
    turn = Turn(text=text, tool_output=tool_output, directives=directives, status=status)
    stream = codex or body.get("stream") is True
    empty = stream and ("empty" in directives or (codex and sim.draw(sim.config.empty_output_rate)))
    script = ResponsesScript(sim=sim, body=body, turn=turn, empty_output=empty)
    steps = script.build()
    if stream:
        return await serve_script(request, steps, sse_frame, b"", directives)
    return await _responses_json(request, script, steps)


async def _responses_json(request: web.Request, script: ResponsesScript, steps: list[Step]) -> web.StreamResponse:
    """Non-stream Responses: the terminal Response object, or the stream's fault acted out on a JSON body."""
    sim = request.app[simulator_key]
    headers = {"x-upstream-id": sim.config.upstream_id}
    directives = script.turn.directives
    if "think" in directives:
        await asyncio.sleep(sim.config.think_seconds)
    if "slow" in directives or "stall" in directives:
        await asyncio.sleep(sim.config.stall_seconds if "stall" in directives else sim.config.slow_interval_seconds)
    if "cut" in directives:
        response = web.StreamResponse(headers={"Content-Type": JSON_CONTENT_TYPE, **headers})
        response.content_length = 4096
        await response.prepare(request)
        await response.write(b'{"id": "' + script.response_id.encode())
        if request.transport is not None:
            request.transport.close()
        return response
    if "garbage" in directives:
        return web.Response(body=b"{this is not json", content_type=JSON_CONTENT_TYPE, headers=headers)
    terminal = steps[-1]
    assert isinstance(terminal, dict)
    return json_response(terminal["response"], headers=headers)


async def _post_chat_completions(request: web.Request, *, codex: bool) -> web.StreamResponse:
    if codex:
        # ChatGPT's codex endpoint serves only the Responses API (chat requests get 403).
        sim = request.app[simulator_key]
        body, _ = await _read_json(request)
        _record(sim, request, body)
        return codex_error(403, "Forbidden: this endpoint serves only the Responses API")
    sim, body, early = await _begin(request, codex=False)
    if early is not None:
        return early
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return openai_error(400, "Missing required parameter: 'messages'.", param="messages")
    if not isinstance(body.get("model"), str) or not body["model"]:
        return openai_error(400, "Missing required parameter: 'model'.", param="model")
    text, tool_output = chat_turn(body)
    directives, status = read_directives(text, sim.take_fault())
    if status is not None:
        return simulated_status(status)
    turn = Turn(text=text, tool_output=tool_output, directives=directives, status=status)
    script = ChatScript(sim=sim, body=body, turn=turn)
    if body.get("stream") is True:
        return await serve_script(request, script.chunks(), data_frame, b"data: [DONE]\n\n", directives)
    if "fail" in directives:
        return openai_error(500, "The model failed to generate a response.")
    if "think" in directives:
        await asyncio.sleep(sim.config.think_seconds)
    if "slow" in directives or "stall" in directives:
        await asyncio.sleep(sim.config.stall_seconds if "stall" in directives else sim.config.slow_interval_seconds)
    if "garbage" in directives:
        return web.Response(body=b"{this is not json", content_type=JSON_CONTENT_TYPE)
    if "cut" in directives:
        response = web.StreamResponse(headers={"Content-Type": JSON_CONTENT_TYPE})
        response.content_length = 4096
        await response.prepare(request)
        await response.write(b'{"id": "')
        if request.transport is not None:
            request.transport.close()
        return response
    return json_response(script.completion(), headers={"x-upstream-id": sim.config.upstream_id})


async def _get_models(request: web.Request) -> web.StreamResponse:
    sim = request.app[simulator_key]
    _record(sim, request, None)
    codex = is_codex_prefix(request.path)
    if sim.config.require_auth:
        denied = _auth_error(request, codex=codex)
        if denied is not None:
            return denied
    data = [
        {"id": model, "object": "model", "created": 1767225600, "owned_by": "simulator"} for model in sim.config.models
    ]
    return json_response({"object": "list", "data": data}, headers={"x-upstream-id": sim.config.upstream_id})


async def post_any(request: web.Request) -> web.StreamResponse:
    """``POST {prefix}/responses`` and ``POST {prefix}/chat/completions`` under any prefix."""
    path = request.path.rstrip("/")
    if path.endswith("/responses"):
        return await _post_responses(request, codex=is_codex_prefix(path[: -len("/responses")]))
    if path.endswith("/chat/completions"):
        return await _post_chat_completions(request, codex=is_codex_prefix(path[: -len("/chat/completions")]))
    return openai_error(404, f"Invalid URL (POST {request.path})", code="unknown_url")


async def get_any(request: web.Request) -> web.StreamResponse:
    """``GET {prefix}/models`` under any prefix."""
    if request.path.rstrip("/").endswith("/models"):
        return await _get_models(request)
    return openai_error(404, f"Invalid URL (GET {request.path})", code="unknown_url")


async def post_sim_faults(request: web.Request) -> web.StreamResponse:
    """Out-of-process fault queue: ``{"fault": "status:503", "count": 2}``."""
    sim = request.app[simulator_key]
    body, ok = await _read_json(request)
    if not ok or not isinstance(body, dict) or not isinstance(body.get("fault"), str):
        return openai_error(400, 'expected {"fault": "<name>", "count": N}', param="fault")
    count = body.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool):
        return openai_error(400, "count must be an integer", param="count")
    try:
        sim.enqueue(body["fault"], count)
    except ValueError as exc:
        return openai_error(400, str(exc), param="fault")
    return json_response({"queued": sim.queued_faults})


async def get_sim_requests(request: web.Request) -> web.StreamResponse:
    """Every recorded request, oldest first."""
    return json_response([recorded.to_json() for recorded in request.app[simulator_key].requests])


async def post_sim_reset(request: web.Request) -> web.StreamResponse:
    """Forget recorded requests and queued faults."""
    request.app[simulator_key].clear()
    return json_response({"ok": True})


def create_simulator_app(config: SimulatorConfig | None = None) -> web.Application:
    """The simulator as an aiohttp app; its state is ``app[simulator_key]``."""
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app[simulator_key] = Simulator(config or SimulatorConfig())
    app.router.add_routes(
        [
            web.post("/_sim/faults", post_sim_faults, name="sim_faults"),
            web.get("/_sim/requests", get_sim_requests, name="sim_requests"),
            web.post("/_sim/reset", post_sim_reset, name="sim_reset"),
            web.post("/{tail:.*}", post_any, name="post_any"),
            web.get("/{tail:.*}", get_any, name="get_any"),
        ]
    )
    return app
