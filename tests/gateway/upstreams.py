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


hits_key = web.AppKey("hits", list[int])
