"""Manifest texts for local-mode tests: the demo's kinds (a chatgpt responses alias, a rejected chat alias on the
same backend, an openai chat alias, an openai-compatible one), with base URLs filled in by the test."""

from __future__ import annotations

from pathlib import Path


def aliases_yaml(upstream: str) -> str:
    """Four ModelAliases whose backends all live under ``upstream`` (a simulator's root URL)."""
    return f"""\
apiVersion: aliasgate.io/v1alpha1
kind: ModelAlias
metadata: {{name: gpt-5-4, namespace: demo, creationTimestamp: "2026-01-01T00:00:00Z"}}
spec:
  alias: chatgpt/gpt-5.4
  backend: {{provider: chatgpt, model: gpt-5.4, baseURL: "{upstream}/backend-api/codex", credentials: chatgpt-pro}}
  mode: responses
---
apiVersion: aliasgate.io/v1alpha1
kind: ModelAlias
metadata: {{name: gpt-5-4-chat, namespace: demo, creationTimestamp: "2026-01-02T00:00:00Z"}}
spec:
  alias: gpt-5.4-chat
  backend: {{provider: chatgpt, model: gpt-5.4, baseURL: "{upstream}/backend-api/codex", credentials: chatgpt-pro}}
  mode: chat
---
apiVersion: aliasgate.io/v1alpha1
kind: ModelAlias
metadata: {{name: gpt-4-1-mini, namespace: demo, creationTimestamp: "2026-01-03T00:00:00Z"}}
spec:
  alias: gpt-4.1-mini
  backend: {{provider: openai, model: gpt-4.1-mini, baseURL: "{upstream}/openai/v1", credentials: openai-key}}
  mode: chat
---
apiVersion: aliasgate.io/v1alpha1
kind: ModelAlias
metadata: {{name: qwen, namespace: demo, creationTimestamp: "2026-01-04T00:00:00Z"}}
spec:
  alias: local/qwen
  backend: {{provider: openai-compatible, model: qwen3, baseURL: "{upstream}/vllm/v1", credentials: vllm-key}}
  mode: chat
"""


def write_secrets(root: Path) -> Path:
    """Fake credentials in the mounted-Secret layout ``DIR/<secret>/<key>``."""
    for name, keys in {
        "chatgpt-pro": {"accessToken": "fake-access-token", "accountId": "acct-demo"},
        "openai-key": {"apiKey": "sk-fake-openai"},
        "vllm-key": {"apiKey": "sk-fake-vllm"},
    }.items():
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for key, value in keys.items():
            (folder / key).write_text(value)
    return root
