"""``aliasgate run`` in-process: the real gateway serves the manifests, follows edits, survives bad ones."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from aliasgate.cli import local
from aliasgate.cli.gateway_flags import command_settings
from aliasgate.simulator import SimulatorConfig, create_simulator_app
from tests.aliasgate.cli.manifests_fixture import aliases_yaml, write_secrets
from tests.support.ports import free_port

UPSTREAM = "http://127.0.0.1:9"


def rewrite(path: Path, text: str) -> None:
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


async def get_json(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as resp:
        assert resp.status == 200
        return await resp.json()


async def wait_until(predicate: Any, limit_seconds: float = 10.0) -> None:
    async with asyncio.timeout(limit_seconds):
        while not await predicate():
            await asyncio.sleep(0.05)


async def test_serve_follows_manifest_edits_and_keeps_the_last_good_table(tmp_path: Path) -> None:
    manifest = tmp_path / "aliases.yaml"
    manifest.write_text(aliases_yaml(UPSTREAM))
    secrets = write_secrets(tmp_path / "secrets")
    listen, admin = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    out = io.StringIO()
    stop = asyncio.Event()
    ready = asyncio.Event()
    task = asyncio.create_task(
        local.serve(
            paths=[str(manifest)],
            settings=command_settings(listen=listen, admin_listen=admin, secrets_dir=secrets),
            stop=stop,
            out=out,
            ready=lambda _: ready.set(),
        )
    )
    try:
        async with asyncio.timeout(20):
            await ready.wait()
        assert f"http://{listen}/v1" in out.getvalue()
        assert "gpt-5.4-chat" in out.getvalue()
        async with aiohttp.ClientSession() as session:
            models = await get_json(session, f"http://{listen}/v1/models")
            assert [m["id"] for m in models["data"]] == ["chatgpt/gpt-5.4", "gpt-4.1-mini", "local/qwen"]

            rewrite(manifest, aliases_yaml(UPSTREAM).replace("local/qwen", "local/qwen-next"))

            async def renamed() -> bool:
                data = await get_json(session, f"http://{listen}/v1/models")
                return "local/qwen-next" in [m["id"] for m in data["data"]]

            await wait_until(renamed)
            status = await get_json(session, f"http://{admin}/status")
            assert status["servedGeneration"] == 2

            rewrite(manifest, "apiVersion: aliasgate.io/v1alpha1\nkind: ModelAlias\nmetadata: [not, a, mapping\n")

            async def refused() -> bool:
                data = await get_json(session, f"http://{admin}/status")
                return bool(data["lastLoadResult"] == "source_error")

            await wait_until(refused)
            status = await get_json(session, f"http://{admin}/status")
            assert status["servedGeneration"] == 2
            assert "aliases.yaml" in status["lastLoadError"]
            models = await get_json(session, f"http://{listen}/v1/models")
            assert "local/qwen-next" in [m["id"] for m in models["data"]]

            rewrite(manifest, aliases_yaml(UPSTREAM).replace("local/qwen", "local/qwen-next"))  # fixed back

            async def recovered() -> bool:
                data = await get_json(session, f"http://{admin}/status")
                return bool(data["lastLoadResult"] != "source_error")

            await wait_until(recovered)
            status = await get_json(session, f"http://{admin}/status")
            assert (status["lastLoadResult"], status["lastLoadError"]) == ("unchanged", None)
            assert (status["servedGeneration"], status["ready"]) == (2, True)
    finally:
        stop.set()
        code = await asyncio.wait_for(task, 20)
    assert code == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("kind: [broken\n", "malformed YAML"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", "no ModelAlias objects"),
    ],
)
async def test_serve_refuses_to_start_on_unusable_manifests(tmp_path: Path, content: str, message: str) -> None:
    manifest = tmp_path / "bad.yaml"
    manifest.write_text(content)
    out = io.StringIO()
    code = await local.serve(
        paths=[str(manifest)],
        settings=command_settings(listen=f"127.0.0.1:{free_port()}", admin_listen=f"127.0.0.1:{free_port()}"),
        stop=asyncio.Event(),
        out=out,
    )
    assert code == 2
    assert message in out.getvalue()
    assert "bad.yaml" in out.getvalue() or "ModelAlias" in out.getvalue()


async def test_new_credentials_are_served_with_the_alias_and_health_survives_reloads(tmp_path: Path) -> None:
    simulator = web.AppRunner(create_simulator_app(SimulatorConfig()), access_log=None)
    await simulator.setup()
    upstream_port = free_port()
    await web.TCPSite(simulator, "127.0.0.1", upstream_port).start()
    upstream = f"http://127.0.0.1:{upstream_port}"
    manifest = tmp_path / "aliases.yaml"
    manifest.write_text(aliases_yaml(upstream).replace("openai/v1", "v1"))
    secrets = write_secrets(tmp_path / "secrets")
    shutil.rmtree(secrets / "vllm-key")  # local/qwen starts rejected: CredentialsNotFound
    listen, admin = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    settings = command_settings(
        listen=listen,
        admin_listen=admin,
        secrets_dir=secrets,
        credentials_poll_interval_seconds=3600,  # the store's own polling never helps within this test
        passive_failure_threshold=1,
        probe_min_interval_seconds=3600,  # one probe per alias: the first, right after it is accepted
    )
    stop = asyncio.Event()
    ready = asyncio.Event()
    task = asyncio.create_task(
        local.serve(paths=[str(manifest)], settings=settings, stop=stop, out=io.StringIO(), ready=lambda _: ready.set())
    )
    try:
        async with asyncio.timeout(20):
            await ready.wait()
        async with aiohttp.ClientSession() as session:
            status = await get_json(session, f"http://{admin}/status")
            assert ("local/qwen", "CredentialsNotFound") in {(r["alias"], r["reason"]) for r in status["rejected"]}

            staged = tmp_path / "staged"
            staged.mkdir()
            (staged / "apiKey").write_text("sk-fake-vllm")
            staged.rename(secrets / "vllm-key")  # appears at once, as a mounted Secret does

            async def accepted() -> bool:
                data = await get_json(session, f"http://{listen}/v1/models")
                return "local/qwen" in [m["id"] for m in data["data"]]

            await wait_until(accepted, limit_seconds=10)
            body = {"model": "local/qwen", "messages": [{"role": "user", "content": "first"}]}
            async with session.post(f"http://{listen}/v1/chat/completions", json=body) as resp:
                assert resp.status == 200, await resp.text()  # the key came with the alias

            async def probed() -> bool:
                data = await get_json(session, f"http://{admin}/health/models")
                return bool(data["models"]["local/qwen"]["lastProbe"] is not None)

            await wait_until(probed, limit_seconds=10)
            health = (await get_json(session, f"http://{admin}/health/models"))["models"]
            assert health["local/qwen"]["lastProbe"]["ok"] is True
            assert health["local/qwen"]["healthy"] is True

            failing = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "#status:503"}]}
            async with session.post(f"http://{listen}/v1/chat/completions", json=failing) as resp:
                assert resp.status >= 500
            before = (await get_json(session, f"http://{admin}/health/models"))["models"]
            assert before["gpt-4.1-mini"]["healthy"] is False

            rewrite(manifest, manifest.read_text().replace("gpt-5.4-chat", "gpt-5.4-chat-b"))

            async def reloaded() -> bool:
                data = await get_json(session, f"http://{admin}/status?view=summary")
                return bool(data["servedGeneration"] == 3)

            await wait_until(reloaded)
            after = (await get_json(session, f"http://{admin}/health/models"))["models"]
            assert after["gpt-4.1-mini"] == before["gpt-4.1-mini"]
            assert after["local/qwen"] == before["local/qwen"]
    finally:
        stop.set()
        code = await asyncio.wait_for(task, 20)
        await simulator.cleanup()
    assert code == 0
