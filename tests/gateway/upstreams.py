"""Small inline upstreams for faults the simulator cannot produce (it strikes only after the 2nd delta)."""

from __future__ import annotations

import asyncio

import orjson
from aiohttp import web

CREATED = {
    "type": "response.created",
    "sequence_number": 0,
    "response": {"id": "resp_x", "status": "in_progress", "output": []},
}


hits_key = web.AppKey("hits", list[int])


def counting_app() -> tuple[web.Application, list[int]]:
    """An upstream app whose handlers count their requests in the list, also ``app[hits_key]``."""
    app = web.Application()
    hits: list[int] = []
    app[hits_key] = hits
    return app, hits


async def open_event_stream(request: web.Request) -> web.StreamResponse:
    """Read the request, then start an SSE answer to it (200, ``text/event-stream``)."""
    await request.read()
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    return response


def frame(event: dict[str, object]) -> bytes:
    return b"event: " + str(event["type"]).encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


def early_failure_app(kind: str) -> web.Application:
    """A Responses upstream that fails before any content: ``cut`` (EOF after response.created),
    ``failed`` (response.failed with server_error) or ``garbage`` (a non-JSON data frame first).
    Counts its requests in ``app[hits_key]``."""
    app, hits = counting_app()

    async def handler(request: web.Request) -> web.StreamResponse:
        hits.append(1)
        response = await open_event_stream(request)
        if kind == "garbage":
            await response.write(b"data: {not json\n\n")
        await response.write(frame(CREATED))
        if kind == "failed":
            failed = {
                "type": "response.failed",
                "sequence_number": 1,
                "response": {"id": "resp_x", "status": "failed", "error": {"code": "server_error", "message": "boom"}},
            }
            await response.write(frame(failed))
        if kind == "cut" and request.transport is not None:
            request.transport.close()
            return response
        await response.write_eof()
        return response

    app.router.add_post("/v1/responses", handler)
    return app


def chat_chunk(content: str) -> dict[str, object]:
    """A first chat completion chunk (role and some content), as upstreams stream it."""
    return {
        "id": "chatcmpl-x",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": content}, "finish_reason": None}],
    }


def ended_early_app() -> web.Application:
    """Streams that end cleanly (a proper chunked EOF) after content but before their terminal event:
    chat chunks without ``[DONE]`` and a Responses stream without ``response.completed``."""
    app = web.Application()

    async def chat(request: web.Request) -> web.StreamResponse:
        response = await open_event_stream(request)
        await response.write(b"data: " + orjson.dumps(chat_chunk("Hel")) + b"\n\n")
        await response.write_eof()
        return response

    async def responses(request: web.Request) -> web.StreamResponse:
        response = await open_event_stream(request)
        await response.write(frame(CREATED))
        delta = {"type": "response.output_text.delta", "sequence_number": 1, "output_index": 0, "content_index": 0}
        await response.write(frame({**delta, "item_id": "msg_x", "delta": "Hel"}))
        await response.write_eof()
        return response

    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/v1/responses", responses)
    return app


def empty_answer_app(*, status: str = "completed", silence: float = 0.0) -> web.Application:
    """A Responses upstream whose answer carries nothing: ``response.created``, then (after ``silence``
    seconds) a terminal event with ``output: []`` and no output event to rebuild it from — ``completed`` or,
    with ``status="incomplete"``, ``response.incomplete`` (content filter). Counts its requests in
    ``app[hits_key]``."""
    app, hits = counting_app()

    async def handler(request: web.Request) -> web.StreamResponse:
        hits.append(1)
        response = await open_event_stream(request)
        await response.write(frame(CREATED))
        if silence:
            await asyncio.sleep(silence)
        terminal = {"id": "resp_x", "status": status, "output": [], "usage": {"input_tokens": 3, "output_tokens": 0}}
        if status == "incomplete":
            terminal["incomplete_details"] = {"reason": "content_filter"}
        kind = "response.incomplete" if status == "incomplete" else "response.completed"
        await response.write(frame({"type": kind, "sequence_number": 1, "response": terminal}))
        await response.write_eof()
        return response

    app.router.add_post("/v1/responses", handler)
    return app


echo_mode_key = web.AppKey("echo_mode", list[str])


def credential_echo_app() -> web.Application:
    """An upstream that puts the credentials it received into whatever it answers, as a misconfigured proxy or a
    chatty error page would. ``app[echo_mode_key][0]`` picks the answer: ``401``, ``403``, ``500`` (OpenAI
    error bodies quoting the key), ``detail`` (a FastAPI 400), ``text`` (a plain-text 502), ``json`` (a 200
    chat completion / Response whose content quotes it; ``detail`` quotes the request body too), ``failed`` (a Responses stream failing before content)
    and ``late`` (a stream failing after content)."""
    app = web.Application()
    app[echo_mode_key] = ["401"]

    def leak(request: web.Request) -> str:
        return " ".join(
            f"{name}={request.headers[name]}"
            for name in ("Authorization", "api-key", "ChatGPT-Account-Id")
            if name in request.headers
        )

    async def handler(request: web.Request) -> web.StreamResponse:
        received = await request.text()
        mode = app[echo_mode_key][0]
        text = leak(request)
        chat = request.path.endswith("/chat/completions")
        if mode in ("401", "403", "500"):
            code = {"401": "invalid_api_key", "403": "unsupported_country", "500": "server_error"}[mode]
            error = {"message": f"Incorrect credentials: {text}", "type": "invalid_request_error", "code": code}
            return web.json_response({"error": error}, status=int(mode))
        if mode == "detail":
            return web.json_response({"detail": f"bad request from {text}: {received[:300]}"}, status=400)
        if mode == "text":
            return web.Response(text=f"proxy error {text}", status=502)
        if mode == "json":
            if chat:
                message = {"role": "assistant", "content": f"you are {text}"}
                choice = {"index": 0, "message": message, "finish_reason": "stop"}
                return web.json_response({"id": "c", "object": "chat.completion", "created": 1, "model": "m",
                                          "choices": [choice]})  # fmt: skip
            output = [{"type": "message", "id": "m", "role": "assistant", "status": "completed",
                       "content": [{"type": "output_text", "text": f"you are {text}", "annotations": []}]}]  # fmt: skip
            return web.json_response({"id": "r", "object": "response", "status": "completed", "output": output})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(frame(CREATED))
        if mode == "late":
            delta = {"type": "response.output_text.delta", "sequence_number": 1, "output_index": 0,
                     "content_index": 0, "item_id": "msg_x", "delta": "Hel"}  # fmt: skip
            await response.write(frame(delta))
        failed = {
            "type": "response.failed",
            "sequence_number": 2,
            "response": {"id": "resp_x", "status": "failed", "error": {"code": "server_error", "message": text}},
        }
        await response.write(frame(failed))
        await response.write_eof()
        return response

    for path in ("/v1/chat/completions", "/v1/responses", "/backend-api/codex/responses"):
        app.router.add_post(path, handler)
    return app


scripted_key = web.AppKey("scripted", list[dict[str, object]])
"""The bodies a scripted upstream received, in order."""


def scripted_app(status: int, body: bytes, *, headers: dict[str, str] | None = None) -> web.Application:
    """An upstream that answers every POST (chat or Responses) with ``status``, ``headers`` and ``body``
    (SSE when ``body`` starts with ``event:`` or ``data:``), and records what it was sent."""
    app = web.Application()
    seen: list[dict[str, object]] = []
    app[scripted_key] = seen
    sse = body.startswith((b"event:", b"data:"))

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append(orjson.loads(await request.read()))
        content_type = "text/event-stream" if sse else "application/json"
        return web.Response(status=status, body=body, headers={"Content-Type": content_type, **(headers or {})})

    app.router.add_post("/v1/responses", handler)
    app.router.add_post("/v1/chat/completions", handler)
    return app
