"""Graceful shutdown: in-flight streams finish within the grace period; SIGTERM drains a real process; at the
grace's end the streams still running get an error frame and ``[DONE]`` and the process exits right after."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp
import orjson
import pytest
from pytest_aiohttp import AiohttpServer

from aliasgate.simulator import SimulatorConfig, create_simulator_app
from gateway.app import CUT_SECONDS
from gateway.keys import admin_app_key, draining_key
from tests.gateway.conftest import DEFAULT_ROUTES, build_table, write_secrets
from tests.gateway.served import served_gateway
from tests.support.ports import free_port
from tests.support.processes import wait_http_ok
from tests.support.sse_streams import ChatStream, read_chat_stream

STREAMS = 50


async def _stream(session: aiohttp.ClientSession, url: str, started: asyncio.Event, counter: list[int]) -> str:
    body = {"model": "chatgpt/gpt-5.4", "stream": True, "messages": [{"role": "user", "content": "go #slow"}]}
    async with session.post(url, json=body) as resp:
        assert resp.status == 200
        text = ""
        first = True
        async for line in resp.content:
            if first:
                counter.append(1)
                if len(counter) == STREAMS:
                    started.set()
                first = False
            if line.startswith(b"data: {"):
                chunk = orjson.loads(line[6:])
                for choice in chunk.get("choices", []):
                    text += choice["delta"].get("content") or ""
            if line.startswith(b"data: [DONE]"):
                text += "<DONE>"
        return text


async def test_shutdown_lets_fifty_open_streams_finish(aiohttp_server: AiohttpServer, tmp_path: Path) -> None:
    grace = 10.0
    sim_config = SimulatorConfig(slow_interval_seconds=0.05)
    connector = aiohttp.TCPConnector(limit=STREAMS + 5)
    async with (
        served_gateway(aiohttp_server, tmp_path, sim_config, shutdown_grace_seconds=grace) as served,
        aiohttp.ClientSession(connector=connector) as session,
    ):
        url = f"{served.url}/v1/chat/completions"
        started = asyncio.Event()
        counter: list[int] = []
        streams = [asyncio.create_task(_stream(session, url, started, counter)) for _ in range(STREAMS)]
        await asyncio.wait_for(started.wait(), 10)
        began = time.monotonic()
        served.stop.set()
        await asyncio.sleep(0.05)
        assert served.app[draining_key].value is True
        async with session.get(f"http://127.0.0.1:{served.admin_port}/status") as resp:
            assert (await resp.json())["draining"] is True
        with pytest.raises(aiohttp.ClientConnectionError):
            async with aiohttp.ClientSession() as fresh, fresh.post(url, json={}) as resp:
                await resp.read()
        results = await asyncio.wait_for(asyncio.gather(*streams), 10)
        await asyncio.wait_for(served.task, 10)
        elapsed = time.monotonic() - began
    assert results == ["You said: go #slow<DONE>"] * STREAMS
    assert elapsed < grace
    assert served.app[admin_app_key] is not None


@pytest.mark.parametrize(("choice", "loop"), [("auto", "uvloop"), ("asyncio", "asyncio")])
async def test_sigterm_drains_a_real_gateway_process(
    aiohttp_server: AiohttpServer, tmp_path: Path, choice: str, loop: str
) -> None:
    """On uvloop (the default, a dependency) and on the standard loop alike."""
    sim = await aiohttp_server(create_simulator_app(SimulatorConfig(slow_interval_seconds=0.1)))
    table_file = tmp_path / "table.json"
    table_file.write_bytes(build_table(str(sim.make_url("")).rstrip("/"), DEFAULT_ROUTES).to_json())
    secrets = write_secrets(tmp_path / "secrets")
    port, admin_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALIASGATE_")}
    env |= {"ALIASGATE_SHUTDOWN_GRACE_SECONDS": "10", "ALIASGATE_EVENT_LOOP": choice}
    log_path = tmp_path / "gateway.log"
    log = log_path.open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway",
        "--listen", f"127.0.0.1:{port}", "--admin-listen", f"127.0.0.1:{admin_port}",
        "--table-source", "file", "--table-file", str(table_file), "--secrets-dir", str(secrets),
        env=env, stdout=log, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as session:
            await wait_http_ok(f"http://127.0.0.1:{admin_port}/readyz", timeout_seconds=15, session=session)
            started = asyncio.Event()
            counter: list[int] = []
            url = f"http://127.0.0.1:{port}/v1/chat/completions"
            streams = [asyncio.create_task(_stream(session, url, started, counter)) for _ in range(STREAMS)]
            await asyncio.wait_for(started.wait(), 10)
            process.send_signal(signal.SIGTERM)
            results = await asyncio.wait_for(asyncio.gather(*streams), 15)
        code = await asyncio.wait_for(process.wait(), 15)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        log.close()
    assert results == ["You said: go #slow<DONE>"] * STREAMS
    assert code == 0
    lines = [orjson.loads(line) for line in log_path.read_bytes().splitlines() if line.startswith(b"{")]
    (started_line,) = [line for line in lines if line["event"] == "gateway_started"]
    assert started_line["event_loop"] == loop
    assert sum(line["event"] == "request_completed" and line["status"] == 200 for line in lines) == STREAMS


def _chat(text: str, model: str = "chatgpt/gpt-5.4") -> dict[str, object]:
    return {"model": model, "stream": True, "messages": [{"role": "user", "content": text}]}


def _json_lines(text: str) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in text.splitlines() if line.startswith("{")]


GRACE = 5.0
"""Long enough for the ``#slow`` streams below (about 3 s) to finish after SIGTERM, short for a test."""
SLOW_SIM = SimulatorConfig(slow_interval_seconds=0.2, stall_seconds=120.0)
"""``#slow``: 16 events 0.2 s apart; ``#stall``: silent for 2 minutes after the second delta (never ends)."""


async def test_sigterm_with_twenty_streams_in_flight_ends_each_properly_and_exits_at_the_grace(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    """20 streams at SIGTERM (``python -m gateway --shutdown-grace-seconds 5``): the 10 that can finish within
    the grace finish; the 10 that cannot get the ``server_shutting_down`` error frame and ``[DONE]`` at the
    deadline, counted as cut by the server (not as client disconnects); the process exits right after the
    grace, with no error line and no traceback."""
    sim = await aiohttp_server(create_simulator_app(SLOW_SIM))
    table_file = tmp_path / "table.json"
    table_file.write_bytes(build_table(str(sim.make_url("")).rstrip("/"), DEFAULT_ROUTES).to_json())
    secrets = write_secrets(tmp_path / "secrets")
    port, admin_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALIASGATE_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway",
        "--listen", f"127.0.0.1:{port}", "--admin-listen", f"127.0.0.1:{admin_port}",
        "--table-source", "file", "--table-file", str(table_file), "--secrets-dir", str(secrets),
        "--shutdown-grace-seconds", str(GRACE), "--log-level", "info",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    bodies = [_chat("go #slow", m) for m in ("chatgpt/gpt-5.4", "team/chat")] * 5
    bodies += [_chat("go #stall", m) for m in ("chatgpt/gpt-5.4", "team/chat")] * 5
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            await wait_http_ok(f"http://127.0.0.1:{admin_port}/readyz", timeout_seconds=15, session=session)
            started = [asyncio.Event() for _ in bodies]
            streams = [
                asyncio.create_task(read_chat_stream(session, url, body, first))
                for body, first in zip(bodies, started, strict=True)
            ]
            await asyncio.wait_for(asyncio.gather(*(event.wait() for event in started)), 15)
            sigterm = time.monotonic()
            process.send_signal(signal.SIGTERM)
            results: list[ChatStream] = await asyncio.wait_for(asyncio.gather(*streams), GRACE + 10)
        await asyncio.wait_for(process.wait(), GRACE + 10)
        exited = time.monotonic() - sigterm
        out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    slow, stalled = results[:10], results[10:]
    assert [r.status for r in results] == [200] * 20
    assert all(r.complete and r.text == "You said: go #slow" for r in slow), slow
    assert all(r.ended_at > sigterm for r in slow)  # they were in flight at SIGTERM
    assert all(r.cut_at_shutdown and r.text and "You said: go #stall".startswith(r.text) for r in stalled), stalled
    cut_times = sorted(r.ended_at - sigterm for r in stalled)
    assert cut_times[0] >= GRACE - 0.1
    assert cut_times[-1] < GRACE + CUT_SECONDS
    assert process.returncode == 0
    assert GRACE <= exited < GRACE + 2.0, f"exited {exited:.2f} s after SIGTERM (grace {GRACE} s)"
    print(f"SIGTERM exit: {exited:.2f} s (grace {GRACE} s), streams cut at {cut_times[0]:.2f}-{cut_times[-1]:.2f} s")
    lines = _json_lines(out.decode())
    assert b"Traceback" not in out + err
    assert err == b""
    assert not [line for line in lines if line["level"] in ("error", "critical")]
    completed = [line for line in lines if line["event"] == "request_completed"]
    assert len(completed) == 20
    assert sum(1 for line in completed if line["shutdown_cut"]) == 10
    assert all(line["error_code"] == "server_shutting_down" for line in completed if line["shutdown_cut"])
    assert not any(line["client_disconnected"] for line in completed)
    (expired,) = [line for line in lines if line["event"] == "shutdown_grace_expired"]
    assert expired["cut"] == 10


async def test_at_the_deadline_every_kind_of_answer_still_running_ends_with_an_error(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    """A stalled chat stream: error frame + ``[DONE]``; a stalled Responses stream: an ``error`` event; a
    request whose answer has not started: a 503 ``server_shutting_down``. All counted as cut, none as a
    client disconnect; ``serve`` returns right after the grace."""
    grace = 0.5
    sim_config = SimulatorConfig(stall_seconds=120.0, think_seconds=120.0)
    async with (
        served_gateway(aiohttp_server, tmp_path, sim_config, shutdown_grace_seconds=grace) as served,
        aiohttp.ClientSession() as session,
    ):
        metrics, base = served.metrics, f"{served.url}/v1"
        chat_started = asyncio.Event()
        chat = asyncio.create_task(
            read_chat_stream(session, f"{base}/chat/completions", _chat("x #stall"), chat_started)
        )
        responses_body = {"model": "chatgpt/gpt-5.4", "stream": True, "input": "y #stall"}
        async with session.post(f"{base}/responses", json=responses_body) as resp:
            assert resp.status == 200
            while b"output_text.delta" not in await resp.content.readline():
                pass
            thinking = asyncio.create_task(session.post(f"{base}/chat/completions", json=_chat("z #think")))
            await asyncio.wait_for(chat_started.wait(), 10)
            while metrics.value("aliasgate_inflight_requests") < 3:
                await asyncio.sleep(0.01)
            began = time.monotonic()
            served.stop.set()
            rest = await asyncio.wait_for(resp.read(), grace + 5)
        chat_result = await chat
        not_started = await thinking
        assert not_started.status == 503
        assert (await not_started.json())["error"]["code"] == "server_shutting_down"
        not_started.release()
        await asyncio.wait_for(served.task, grace + 5)
        elapsed = time.monotonic() - began
    assert chat_result.cut_at_shutdown, chat_result
    events = [block for block in rest.split(b"\n\n") if block.strip()]
    assert events[-1].startswith(b"event: error\ndata: ")
    error = orjson.loads(events[-1].split(b"data: ", 1)[1])
    assert error["type"] == "error"
    assert error["code"] == "server_shutting_down"
    assert error["sequence_number"] > 0
    assert grace <= elapsed < grace + 2.0
    assert metrics.value("aliasgate_shutdown_cuts_total", {"alias": "chatgpt/gpt-5.4"}) == 3
    assert metrics.value("aliasgate_client_disconnects_total", {"alias": "chatgpt/gpt-5.4"}) == 0
    labels = {"alias": "chatgpt/gpt-5.4", "mode": "responses", "stream": "true", "code": "503"}
    assert metrics.value("aliasgate_requests_total", labels) == 1
