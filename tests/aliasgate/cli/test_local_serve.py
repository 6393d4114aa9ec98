"""``aliasgate run`` in-process: the real gateway serves the manifests, follows edits, survives bad ones."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from aliasgate.cli import local
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
            listen=listen,
            admin_listen=admin,
            secrets_dir=str(secrets),
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
        listen=f"127.0.0.1:{free_port()}",
        admin_listen=f"127.0.0.1:{free_port()}",
        secrets_dir=None,
        stop=asyncio.Event(),
        out=out,
    )
    assert code == 2
    assert message in out.getvalue()
    assert "bad.yaml" in out.getvalue() or "ModelAlias" in out.getvalue()
