"""``aliasgate demo``: the upstream simulator and local mode in one process, with example aliases.

The simulator (``aliasgate.simulator``) plays ChatGPT's codex backend under ``/backend-api/codex`` (its
quirks on, and half of its streams ending with ``response.completed.output == []``), api.openai.com
under ``/v1`` and a self-hosted OpenAI-compatible server under ``/vllm/v1``. The example aliases are
the kinds of ``deploy/samples/`` — a chatgpt Responses alias, a ``mode: chat`` alias on the same
backend (rejected), an openai chat alias and an openai-compatible one — written with fake credentials
into a temporary folder that is removed on exit. Ctrl-C or SIGTERM stops everything cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from aiohttp import web

from aliasgate.cli import local
from aliasgate.runtime.listen import parse_listen
from aliasgate.simulator import SimulatorConfig, create_simulator_app
from gateway.settings import GatewaySettings

__all__ = ["DEMO_ALIAS", "demo_manifests", "instructions", "main", "run_demo", "write_demo_files"]

DEMO_ALIAS = "chatgpt/gpt-5.4"
FAKE_CREDENTIALS: dict[str, dict[str, str]] = {
    "chatgpt-pro": {"accessToken": "demo-access-token", "accountId": "demo-account"},
    "openai-key": {"apiKey": "sk-demo-openai"},
    "vllm-key": {"apiKey": "sk-demo-vllm"},
}


def demo_manifests(upstream: str) -> str:
    """The example ModelAliases, every backend pointing at the simulator root ``upstream``."""
    return f"""\
# aliasgate demo aliases (generated): the kinds of deploy/samples/, served by the local simulator.
apiVersion: aliasgate.io/v1alpha1
kind: ModelAlias
metadata: {{name: gpt-5-4, namespace: aliasgate-demo, creationTimestamp: "2026-01-01T00:00:00Z"}}
spec:
  alias: chatgpt/gpt-5.4
  backend:
    provider: chatgpt
    model: gpt-5.4
    baseURL: {upstream}/backend-api/codex
    credentials: chatgpt-pro
  mode: responses
---
# Declares chat on the same Responses-only backend: rejected, the backend stays in Responses mode.
apiVersion: aliasgate.io/v1alpha1
kind: ModelAlias
metadata: {{name: gpt-5-4-chat, namespace: aliasgate-demo, creationTimestamp: "2026-01-02T00:00:00Z"}}
spec:
  alias: gpt-5.4-chat
  backend:
    provider: chatgpt
    model: gpt-5.4
    baseURL: {upstream}/backend-api/codex/
    credentials: chatgpt-pro
  mode: chat
---
apiVersion: aliasgate.io/v1alpha1
kind: ModelAlias
metadata: {{name: gpt-4-1-mini, namespace: aliasgate-demo, creationTimestamp: "2026-01-03T00:00:00Z"}}
spec:
  alias: gpt-4.1-mini
  backend:
    provider: openai
    model: gpt-4.1-mini
    baseURL: {upstream}/v1
    credentials: openai-key
  mode: chat
---
apiVersion: aliasgate.io/v1alpha1
kind: ModelAlias
metadata: {{name: qwen3-coder, namespace: aliasgate-demo, creationTimestamp: "2026-01-04T00:00:00Z"}}
spec:
  alias: local/qwen3-coder
  backend:
    provider: openai-compatible
    model: Qwen/Qwen3-Coder-30B-A3B-Instruct
    baseURL: {upstream}/vllm/v1
    credentials: vllm-key
  mode: chat
  fallbacks: [gpt-4.1-mini]
"""


def write_demo_files(folder: Path, upstream: str) -> tuple[Path, Path]:
    """Write the manifests and a fake secrets folder (``DIR/<secret>/<key>``); returns both paths."""
    manifests = folder / "manifests" / "aliases.yaml"
    manifests.parent.mkdir(parents=True)
    manifests.write_text(demo_manifests(upstream), encoding="utf-8")
    secrets = folder / "secrets"
    for name, keys in FAKE_CREDENTIALS.items():
        (secrets / name).mkdir(parents=True)
        for key, value in keys.items():
            (secrets / name / key).write_text(value, encoding="utf-8")
    return manifests, secrets


def _client_host(host: str) -> str:
    """Where a client on this machine connects for a listen address (wildcards become loopback)."""
    if host in {"", "0.0.0.0"}:
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def instructions(*, listen: str, admin_listen: str, api_keys: bool = False) -> str:
    """The copy-paste examples printed once the gateway serves (a test runs them exactly as printed).

    With ``api_keys`` (an ``--api-keys-file`` is in force) they send ``$OPENAI_API_KEY``, as the openai
    SDK does by itself."""
    host, port = parse_listen(listen)
    base = f"http://{_client_host(host)}:{port}/v1"
    admin_host, admin_port = parse_listen(admin_listen)
    admin = f"http://{_client_host(admin_host)}:{admin_port}"
    body = '{"model": "' + DEMO_ALIAS + '", "messages": [{"role": "user", "content": "Hello from curl"}]}'
    auth = ' -H "Authorization: Bearer $OPENAI_API_KEY"' if api_keys else ""
    curl = f"curl -sS {base}/chat/completions -H 'Content-Type: application/json'{auth} -d {shlex.quote(body)}"
    client = f'OpenAI(base_url="{base}")' if api_keys else f'OpenAI(base_url="{base}", api_key="unused-in-the-demo")'
    python = "\n".join(
        [
            "from openai import OpenAI",
            f"client = {client}",
            "reply = client.chat.completions.create(",
            f'    model="{DEMO_ALIAS}", messages=[{{"role": "user", "content": "Hello from Python"}}]',
            ")",
            "print(reply.choices[0].message.content)",
        ]
    )
    return "\n".join(
        [
            "",
            f"Try it: chat completions to {DEMO_ALIAS} are bridged to the simulated codex Responses backend,",
            "which drops the final output half of the time; the gateway recovers the answer and counts it.",
            "--- curl ---",
            curl,
            "--- python (pip install openai) ---",
            python,
            "--- end ---",
            "Directives in the message select upstream behaviours: #tool #reason #refuse #empty #incomplete #fail",
            f"Recoveries:  curl -sS {admin}/metrics | grep aliasgate_bridge_recoveries_total",
            f"Health:      curl -sS -X POST {admin}/health/probe",
            "Stop with Ctrl-C.",
            "",
        ]
    )


async def run_demo(*, settings: GatewaySettings, upstream_listen: str, stop: asyncio.Event, out: TextIO) -> int:
    """Start the simulator, then local mode on generated manifests, until ``stop`` is set."""
    up_host, up_port = parse_listen(upstream_listen)
    # The simulator ends its answers when the gateway hangs up (handler cancellation), so a stalled one does
    # not keep the command alive after the gateway's shutdown.
    simulator = web.AppRunner(
        create_simulator_app(SimulatorConfig(empty_output_rate=0.5, upstream_id="demo")),
        access_log=None,
        handler_cancellation=True,
        shutdown_timeout=1.0,
    )
    await simulator.setup()
    try:
        try:
            await web.TCPSite(simulator, up_host, up_port).start()
        except OSError as exc:
            out.write(f"aliasgate demo: error: cannot listen on {upstream_listen} for the simulator: {exc}\n")
            out.flush()
            return 1
        upstream = f"http://{_client_host(up_host)}:{up_port}"
        with tempfile.TemporaryDirectory(prefix="aliasgate-demo-") as folder:
            manifests, secrets = write_demo_files(Path(folder), upstream)
            out.write(f"upstream simulator on {upstream} (codex quirks under /backend-api/codex)\n")

            def ready(_: local.ManifestSnapshot) -> None:
                out.write(
                    instructions(
                        listen=settings.listen,
                        admin_listen=settings.admin_listen,
                        api_keys=settings.api_keys_file is not None,
                    )
                )
                out.flush()

            return await local.serve(
                paths=[str(manifests)],
                settings=settings.model_copy(update={"secrets_dir": secrets}),
                stop=stop,
                out=out,
                ready=ready,
            )
    finally:
        await simulator.cleanup()


def main(args: argparse.Namespace, settings: GatewaySettings) -> int:
    from aliasgate.runtime.logs import configure_logging

    configure_logging(level=settings.log_level, json=settings.log_json)

    async def run() -> int:
        stop = asyncio.Event()
        local.install_stop_signals(stop)
        return await run_demo(settings=settings, upstream_listen=str(args.upstream_listen), stop=stop, out=sys.stdout)

    return asyncio.run(run())
