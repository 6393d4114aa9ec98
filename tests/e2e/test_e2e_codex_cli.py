"""Codex CLI (which speaks only the Responses API) against a chat-only backend through aliasgate.

The gateway is started the production way (``python -m aliasgate run`` over a manifest) in front of a scripted
Chat Completions upstream (:mod:`tests.e2e.scripted_chat`); Codex CLI, installed from npm by the ``codex_cli``
fixture, runs ``codex exec`` non-interactively with its JSONL output. Codex always streams and always sends its
tools (``exec_command`` first), so every run crosses the reverse bridge's stream translation both ways: a plain
answer, a tool round trip (Codex runs the command in its sandbox and sends the output back as a
``function_call_output``), and a resumed session whose second turn carries the whole first one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.scripted_chat import ScriptedChat, running_scripted_chat
from tests.support.metrics import sample_value, scrape_sync
from tests.support.ports import free_port
from tests.support.processes import stop_sync, wait_http_ok_sync

ALIAS = "team/coder"
MANIFEST = """\
apiVersion: aliasgate.io/v1alpha1
kind: ModelAlias
metadata: {{name: coder, namespace: agents, creationTimestamp: "2026-01-01T00:00:00Z"}}
spec:
  alias: {alias}
  backend: {{provider: openai-compatible, model: scripted-7b, baseURL: "{base}"}}
  mode: chat
"""


@dataclass
class CodexGateway:
    v1: str
    admin: str
    script: ScriptedChat

    def agent_requests(self) -> list[dict[str, Any]]:
        """The bodies Codex's turns produced upstream (the gateway's health probe declares no tools)."""
        return [body for body in self.script.requests if body.get("tools")]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CodexGateway]:
    folder = tmp_path_factory.mktemp("codex-gateway")
    with running_scripted_chat() as (base, script):
        manifest = folder / "aliases.yaml"
        manifest.write_text(MANIFEST.format(alias=ALIAS, base=base))
        secrets = folder / "secrets"
        secrets.mkdir()
        listen, admin = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
        log = folder / "gateway.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "aliasgate", "run", "--manifests", str(manifest), "--secrets-dir", str(secrets),
                 "--listen", listen, "--admin-listen", admin],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        try:
            wait_http_ok_sync(f"http://{admin}/readyz", alive=lambda: process.poll() is None, log=log)
            yield CodexGateway(v1=f"http://{listen}/v1", admin=f"http://{admin}", script=script)
        finally:
            stop_sync(process)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def codex_exec(codex: Path, gateway: CodexGateway, home: Path, workdir: Path, *args: str) -> list[dict[str, Any]]:
    """Run ``codex exec --json <args>`` against the gateway; its JSONL events (the run must succeed)."""
    provider = (
        f'model_providers.aliasgate={{name="aliasgate",base_url="{gateway.v1}",'
        'env_key="ALIASGATE_API_KEY",wire_api="responses"}'
    )
    command = [
        str(codex), "exec", "--json", "--skip-git-repo-check", "--sandbox", "workspace-write",
        "-c", 'approval_policy="never"', "-c", 'model_provider="aliasgate"', "-c", f'model="{ALIAS}"',
        "-c", 'web_search="disabled"', "-c", provider, *args,
    ]  # fmt: skip
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "CODEX_"))}
    env |= {"CODEX_HOME": str(home), "ALIASGATE_API_KEY": "sk-aliasgate-client"}
    result = subprocess.run(
        command, cwd=workdir, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=100
    )
    assert result.returncode == 0, result.stderr[-3000:]
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert events[-1]["type"] == "turn.completed", events
    return events


def completed(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e["item"] for e in events if e["type"] == "item.completed" and e["item"]["type"] == kind]


def codex_home(tmp_path: Path) -> Path:
    home = tmp_path / "codex-home"
    home.mkdir(exist_ok=True)
    return home


def test_codex_gets_a_plain_answer_from_a_chat_backend(
    codex_cli: Path, gateway: CodexGateway, tmp_path: Path, workdir: Path
) -> None:
    before = scrape_sync(gateway.admin)
    labels = {"alias": ALIAS, "mode": "chat", "stream": "true", "code": "200"}
    count = len(gateway.agent_requests())
    events = codex_exec(codex_cli, gateway, codex_home(tmp_path), workdir, "--ephemeral", "Say hello to the gateway.")
    assert [item["text"] for item in completed(events, "agent_message")] == ["Plain answer: Say hello to the gateway."]
    assert completed(events, "command_execution") == []
    (body,) = gateway.agent_requests()[count:]
    assert body["model"] == "scripted-7b"
    assert (body["stream"], body["stream_options"]) == (True, {"include_usage": True})
    assert body["messages"][0]["role"] == "system"  # Codex's instructions
    assert body["messages"][-1] == {"role": "user", "content": "Say hello to the gateway."}
    assert "exec_command" in [tool["function"]["name"] for tool in body["tools"]]
    after = scrape_sync(gateway.admin)
    assert sample_value(after, "aliasgate_requests_total", **labels) == sample_value(before, "aliasgate_requests_total", **labels) + 1  # fmt: skip
    assert sample_value(after, "aliasgate_tokens_total", alias=ALIAS, type="completion") > 0


def test_codex_runs_the_tool_the_model_asked_for_and_sends_the_output_back(
    codex_cli: Path, gateway: CodexGateway, tmp_path: Path, workdir: Path
) -> None:
    count = len(gateway.agent_requests())
    prompt = "Leave proof. RUN: echo reverse-bridge-ok > proof.txt && cat proof.txt"
    events = codex_exec(codex_cli, gateway, codex_home(tmp_path), workdir, "--ephemeral", prompt)
    (command,) = completed(events, "command_execution")
    assert command["exit_code"] == 0
    assert "reverse-bridge-ok" in command["aggregated_output"]
    assert (workdir / "proof.txt").read_text() == "reverse-bridge-ok\n"  # Codex really ran it, in its workspace
    (answer,) = completed(events, "agent_message")
    assert answer["text"].startswith("The command printed:")
    assert "reverse-bridge-ok" in answer["text"]
    asked, answered = gateway.agent_requests()[count:]
    assert asked["messages"][-1]["content"] == prompt
    call_message, tool_message = answered["messages"][-2:]
    (call,) = call_message["tool_calls"]
    assert call["function"]["name"] == "exec_command"
    assert json.loads(call["function"]["arguments"]) == {"cmd": "echo reverse-bridge-ok > proof.txt && cat proof.txt"}
    assert tool_message["role"] == "tool"
    assert tool_message["tool_call_id"] == call["id"]
    assert "reverse-bridge-ok" in tool_message["content"]


def test_codex_resumes_a_session_and_sends_the_whole_conversation(
    codex_cli: Path, gateway: CodexGateway, tmp_path: Path, workdir: Path
) -> None:
    home = codex_home(tmp_path)
    count = len(gateway.agent_requests())
    first = codex_exec(codex_cli, gateway, home, workdir, "First turn. RUN: echo turn-one")
    assert "turn-one" in completed(first, "agent_message")[0]["text"]
    second = codex_exec(codex_cli, gateway, home, workdir, "resume", "--last", "Second turn, no tools.")
    assert [item["text"] for item in completed(second, "agent_message")] == ["Plain answer: Second turn, no tools."]
    assert first[0]["thread_id"] == second[0]["thread_id"]  # the same session, continued
    *_, resumed = gateway.agent_requests()[count:]
    roles = [message["role"] for message in resumed["messages"]]
    assert roles[-5:] == ["user", "assistant", "tool", "assistant", "user"]
    turn_one = resumed["messages"][-5:]
    assert turn_one[0]["content"] == "First turn. RUN: echo turn-one"
    assert turn_one[1]["tool_calls"][0]["id"] == turn_one[2]["tool_call_id"]
    assert "turn-one" in turn_one[3]["content"]
    assert turn_one[4] == {"role": "user", "content": "Second turn, no tools."}
