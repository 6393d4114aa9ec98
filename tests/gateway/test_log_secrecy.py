"""A real ``python -m gateway`` process, in both log formats, driven through every failure path of issue 15 with
known client keys, upstream keys and ChatGPT tokens in play: its output never contains one of them, never a
frame's locals, never a request body, and stays small."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
from pathlib import Path

import aiohttp
import orjson
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from aliasgate.simulator import SimulatorConfig, create_simulator_app
from tests.gateway.conftest import (
    CHATGPT_ACCESS,
    CHATGPT_ACCOUNT,
    CHATGPT_REFRESH,
    DEFAULT_ROUTES,
    OPENAI_KEY,
    RouteSpec,
    build_table,
    write_secrets,
)
from tests.gateway.served import raw_request, read_answer
from tests.gateway.upstreams import credential_echo_app, echo_mode_key
from tests.support.ports import free_port

CLIENT_KEY = "sk-client-log-secrecy-key-0042"
BODY_MARKER = "body-text-that-must-never-be-logged-7731"
SECRETS = (
    OPENAI_KEY,
    CHATGPT_ACCESS,
    CHATGPT_ACCOUNT,
    CHATGPT_REFRESH,
    CLIENT_KEY,
    hashlib.sha256(CLIENT_KEY.encode()).hexdigest(),
    BODY_MARKER,
)
NO_RETRIES = {"retries": {"attempts": 1}}


async def _gateway_process(
    tmp_path: Path, table: bytes, token_url: str, *, json: bool
) -> tuple[asyncio.subprocess.Process, int, int, Path]:
    (tmp_path / "table.json").write_bytes(table)
    secrets = tmp_path / "secrets"
    if not secrets.exists():
        write_secrets(secrets)
    (tmp_path / "keys").write_text(CLIENT_KEY + "\n")
    port, admin_port = free_port(), free_port()
    log = tmp_path / f"gateway-{'json' if json else 'console'}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALIASGATE_")}
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway",
            "--listen", f"127.0.0.1:{port}", "--admin-listen", f"127.0.0.1:{admin_port}",
            "--table-source", "file", "--table-file", str(tmp_path / "table.json"), "--secrets-dir", str(secrets),
            "--api-keys-file", str(tmp_path / "keys"), "--chatgpt-token-url", token_url,
            "--log-level", "debug", "--log-json", "true" if json else "false",
            "--header-read-timeout-seconds", "0.5", "--body-read-timeout-seconds", "0.5",
            "--max-connections", "40", "--max-inflight-body-bytes", "200000", "--max-body-bytes", "1000000",
            "--shutdown-grace-seconds", "1",
            env=env, stdout=sink, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
    async with aiohttp.ClientSession() as session, asyncio.timeout(20):
        while True:
            try:
                async with session.get(f"http://127.0.0.1:{admin_port}/readyz") as resp:
                    if resp.status == 200:
                        break
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)
    return process, port, admin_port, log


async def _every_failure_path(port: int, admin_port: int, echo: list[str]) -> None:
    url = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {CLIENT_KEY}"}
    chat = b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
    authed = chat + f"Authorization: Bearer {CLIENT_KEY}\r\n".encode()
    message = [{"role": "user", "content": BODY_MARKER}]
    async with aiohttp.ClientSession() as session:

        async def post(path: str, body: object, headers: dict[str, str] | None = None) -> int:
            async with session.post(
                url + path, data=orjson.dumps(body), headers=auth if headers is None else headers
            ) as resp:
                await resp.read()
                return resp.status

        # Validation: non-string role, too deep, huge model name, bad JSON; wrong and missing keys.
        assert await post("/v1/chat/completions", {"model": "team/chat", "messages": [{"role": {}}]}) == 400
        deep = b"[" * 300 + b"]" * 300
        payload = b'{"model":"team/chat","messages":[{"role":"user","content":"' + BODY_MARKER.encode() + b'"}],"x":'
        async with session.post(url + "/v1/chat/completions", data=payload + deep + b"}", headers=auth) as resp:
            assert resp.status == 400
        assert await post("/v1/chat/completions", {"model": "m" * 100_000, "messages": message}) == 404
        async with session.post(url + "/v1/chat/completions", data=BODY_MARKER.encode(), headers=auth) as resp:
            assert resp.status == 400
        assert await post("/v1/chat/completions", {"model": "team/chat", "messages": message}, {}) == 401
        wrong = {"Authorization": f"Bearer {OPENAI_KEY}"}
        assert await post("/v1/chat/completions", {"model": "team/chat", "messages": message}, wrong) == 401
        assert (
            await raw_request(port, chat + b"Authorization: Bearer \xff\xfe\r\nContent-Length: 2\r\n\r\n{}")
        ).status == 401
        # aiohttp's own 400s.
        assert (await raw_request(port, authed + b"X-Big: " + BODY_MARKER.encode() * 400 + b"\r\n\r\n")).status == 400
        assert (
            await raw_request(port, authed + b"Transfer-Encoding: chunked\r\n\r\nzz" + BODY_MARKER.encode() + b"\r\n")
        ).status == 400
        cl_te = authed + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
        assert (await raw_request(port, cl_te)).status == 400
        # Slow headers, slow body, a client gone mid-body.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(chat + f"Authorization: Bearer {CLIENT_KEY}".encode())
        assert (await read_answer(reader)).status == 408
        writer.close()
        slow = authed + b"Content-Length: 500\r\n\r\n" + b'{"model": "' + BODY_MARKER.encode()
        assert (await raw_request(port, slow)).status == 408
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(slow)
        await writer.drain()
        writer.close()
        # Limits: the body budget and the connection cap.
        big = {
            "model": "chatgpt/gpt-5.4",
            "stream": True,
            "messages": [{"role": "user", "content": "#slow " + "y" * 150_000}],
        }
        held = await session.post(url + "/v1/chat/completions", data=orjson.dumps(big), headers=auth)
        assert held.status == 200
        assert (
            await post(
                "/v1/chat/completions",
                {"model": "team/chat", "messages": [{"role": "user", "content": BODY_MARKER * 3000}]},
            )
            == 503
        )
        await held.read()
        held.release()
        conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(45)]
        statuses = [(await read_answer(r)).status for r, _ in conns[40:]]
        assert statuses == [503] * 5
        for _, w in conns:
            w.close()
        await asyncio.sleep(0.6)  # the held ones time out (408) and close
        # Upstream failures: credentials echoed, refused (→ token refresh refused), unreachable, broken streams.
        for mode in ("401", "403", "500", "detail", "text", "json", "failed", "late"):
            echo[0] = mode
            for alias in ("echo/chat", "echo/chatgpt"):
                for stream in (False, True):
                    body = {"model": alias, "stream": stream, "messages": message}
                    status = await post("/v1/chat/completions", body)
                    assert status in (200, 400, 502, 500), (mode, alias, status)
        assert await post("/v1/chat/completions", {"model": "dead/x", "messages": message}) == 502
        # A client that leaves mid-stream.
        async with session.post(url + "/v1/chat/completions", data=orjson.dumps(
            {"model": "chatgpt/gpt-5.4", "stream": True, "messages": [{"role": "user", "content": "#slow bye"}]}
        ), headers=auth) as resp:  # fmt: skip
            await resp.content.readline()
        async with session.get(f"http://127.0.0.1:{admin_port}/health/models") as resp:
            health = await resp.text()
        async with session.post(f"http://127.0.0.1:{admin_port}/health/probe") as resp:
            health += await resp.text()
    for secret in SECRETS[:-1]:
        assert secret not in health


@pytest.mark.parametrize("json", [True, False], ids=["json", "console"])
async def test_gateway_process_output_holds_no_secret_nor_body(
    aiohttp_server: AiohttpServer, tmp_path: Path, json: bool
) -> None:
    sim = await aiohttp_server(create_simulator_app(SimulatorConfig(slow_interval_seconds=0.05)))
    upstream = credential_echo_app()
    echo_server = await aiohttp_server(upstream)
    token_app = web.Application()

    async def refuse(request: web.Request) -> web.Response:  # quotes the refresh token it was sent
        return web.json_response({"error": "invalid_grant", "echo": await request.text()}, status=400)

    token_app.router.add_post("/token", refuse)
    token_server = await aiohttp_server(token_app)
    echo_base = str(echo_server.make_url("")).rstrip("/")
    routes = [
        *DEFAULT_ROUTES,
        RouteSpec("echo/chat", mode="chat", model="echo-chat", base_url=echo_base + "/v1", settings=NO_RETRIES),
        RouteSpec("echo/chatgpt", provider="chatgpt", mode="responses", model="echo-codex", credentials="chatgpt-pro",
                  base_url=echo_base + "/backend-api/codex", settings=NO_RETRIES),
        RouteSpec("dead/x", model="dead", base_url=f"http://127.0.0.1:{free_port()}/v1", settings=NO_RETRIES),
    ]  # fmt: skip
    table = build_table(str(sim.make_url("")).rstrip("/"), routes).to_json()
    process, port, admin_port, log = await _gateway_process(
        tmp_path, table, str(token_server.make_url("/token")), json=json
    )
    try:
        await asyncio.wait_for(_every_failure_path(port, admin_port, upstream[echo_mode_key]), 60)
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 20)
    out = log.read_text(errors="replace")
    for secret in SECRETS:
        assert secret not in out, secret
    assert "locals" not in out  # structlog's dict tracebacks and Rich both print a "locals" section
    assert len(out) < 400_000, len(out)
    assert max(len(line) for line in out.splitlines()) < 40_000
    for event in ("bad_http_request", "request_header_timeout", "token_refresh_failed", "request_completed"):
        assert event in out, event
    if json:
        events = [orjson.loads(line) for line in out.splitlines() if line.strip()]
        assert all(isinstance(e, dict) for e in events)
        assert sum(e["event"] == "request_completed" for e in events) > 40
