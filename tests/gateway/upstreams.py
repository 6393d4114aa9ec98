"""Small inline upstreams for faults the simulator cannot produce (it strikes only after the 2nd delta)."""

from __future__ import annotations

import orjson
from aiohttp import web

CREATED = {
    "type": "response.created",
    "sequence_number": 0,
    "response": {"id": "resp_x", "status": "in_progress", "output": []},
}


def frame(event: dict[str, object]) -> bytes:
    return b"event: " + str(event["type"]).encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


def early_failure_app(kind: str) -> web.Application:
    """A Responses upstream that fails before any content: ``cut`` (EOF after response.created),
    ``failed`` (response.failed with server_error) or ``garbage`` (a non-JSON data frame first).
    Counts its requests in ``app[hits_key]``."""
    app = web.Application()
    hits: list[int] = []
    app[hits_key] = hits

    async def handler(request: web.Request) -> web.StreamResponse:
        hits.append(1)
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
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
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"data: " + orjson.dumps(chat_chunk("Hel")) + b"\n\n")
        await response.write_eof()
        return response

    async def responses(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(frame(CREATED))
        delta = {"type": "response.output_text.delta", "sequence_number": 1, "output_index": 0, "content_index": 0}
        await response.write(frame({**delta, "item_id": "msg_x", "delta": "Hel"}))
        await response.write_eof()
        return response

    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/v1/responses", responses)
    return app


hits_key = web.AppKey("hits", list[int])


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
