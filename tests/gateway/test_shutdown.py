"""Graceful shutdown: in-flight streams finish within the grace period; SIGTERM drains a real process."""

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
from gateway.app import create_app, serve
from gateway.credentials.files import DirectoryCredentialStore
from gateway.keys import admin_app_key, draining_key, table_holder_key
from gateway.settings import GatewaySettings
from tests.gateway.conftest import DEFAULT_ROUTES, StaticTableSource, build_table, write_secrets
from tests.support.ports import free_port
from tests.support.processes import wait_http_ok

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
    sim = await aiohttp_server(create_simulator_app(SimulatorConfig(slow_interval_seconds=0.05)))
    table = build_table(str(sim.make_url("")).rstrip("/"), DEFAULT_ROUTES)
    port, admin_port = free_port(), free_port()
    settings = GatewaySettings(
        listen=f"127.0.0.1:{port}", admin_listen=f"127.0.0.1:{admin_port}", shutdown_grace_seconds=10.0
    )
    app = create_app(
        settings,
        table_source=StaticTableSource(table),
        credentials=DirectoryCredentialStore(write_secrets(tmp_path / "secrets")),
        probing=False,
    )
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, settings, stop=stop))
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    connector = aiohttp.TCPConnector(limit=STREAMS + 5)
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(200):
            if app[table_holder_key].loaded:
                break
            await asyncio.sleep(0.01)
        started = asyncio.Event()
        counter: list[int] = []
        streams = [asyncio.create_task(_stream(session, url, started, counter)) for _ in range(STREAMS)]
        await asyncio.wait_for(started.wait(), 10)
        began = time.monotonic()
        stop.set()
        await asyncio.sleep(0.05)
        assert app[draining_key].value is True
        async with session.get(f"http://127.0.0.1:{admin_port}/status") as resp:
            assert (await resp.json())["draining"] is True
        with pytest.raises(aiohttp.ClientConnectionError):
            async with aiohttp.ClientSession() as fresh, fresh.post(url, json={}) as resp:
                await resp.read()
        results = await asyncio.wait_for(asyncio.gather(*streams), 10)
        await asyncio.wait_for(server, 10)
        elapsed = time.monotonic() - began
    assert results == ["You said: go #slow<DONE>"] * STREAMS
    assert elapsed < settings.shutdown_grace_seconds
    assert app[admin_app_key] is not None


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


async def test_streams_longer_than_the_grace_period_are_cut(aiohttp_server: AiohttpServer, tmp_path: Path) -> None:
    sim = await aiohttp_server(create_simulator_app(SimulatorConfig(stall_seconds=30.0)))
    table = build_table(str(sim.make_url("")).rstrip("/"), DEFAULT_ROUTES)
    port, admin_port = free_port(), free_port()
    settings = GatewaySettings(
        listen=f"127.0.0.1:{port}", admin_listen=f"127.0.0.1:{admin_port}", shutdown_grace_seconds=0.3
    )
    app = create_app(
        settings,
        table_source=StaticTableSource(table),
        credentials=DirectoryCredentialStore(write_secrets(tmp_path / "secrets")),
        probing=False,
    )
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, settings, stop=stop))
    body = {"model": "chatgpt/gpt-5.4", "stream": True, "messages": [{"role": "user", "content": "x #stall"}]}
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            if app[table_holder_key].loaded:
                break
            await asyncio.sleep(0.01)
        async with session.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=body) as resp:
            assert resp.status == 200
            await resp.content.readline()
            began = time.monotonic()
            stop.set()
            with pytest.raises(aiohttp.ClientPayloadError):
                await resp.read()
        await asyncio.wait_for(server, 5)
    assert time.monotonic() - began < 3.0
