"""LocalTableSource: manifests → conflict engine → the gateway's real table holder, and reloads."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from aliasgate.cli.local import LocalTableSource, read_and_resolve, render_banner
from gateway.credentials.files import DirectoryCredentialStore
from gateway.metrics import GatewayMetrics
from gateway.routing.loading import TableHolder
from tests.aliasgate.cli.manifests_fixture import aliases_yaml, write_secrets

UPSTREAM = "http://127.0.0.1:9"


def touch_later(path: Path, text: str) -> None:
    """Rewrite a file and push its mtime forward, so a change is visible even within one clock tick."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


def test_manifests_become_the_served_table_with_the_chat_alias_rejected(tmp_path: Path) -> None:
    manifest = tmp_path / "aliases.yaml"
    manifest.write_text(aliases_yaml(UPSTREAM))
    holder = TableHolder(GatewayMetrics())
    source = LocalTableSource(paths=(str(manifest),), secrets_dir=str(write_secrets(tmp_path / "secrets")))
    assert source.poll(holder) is True
    served = holder.current
    assert served is not None
    assert served.generation == 1
    assert served.aliases == ("chatgpt/gpt-5.4", "gpt-4.1-mini", "local/qwen")
    target = served.get("chatgpt/gpt-5.4")
    assert target is not None
    assert (target.route.mode, target.backend.base_url) == ("responses", f"{UPSTREAM}/backend-api/codex")
    assert [(r.alias, r.reason) for r in served.table.rejected] == [("gpt-5.4-chat", "UnsupportedMode")]
    assert source.poll(holder) is False


def test_a_changed_file_is_re_resolved_into_the_next_generation(tmp_path: Path) -> None:
    manifest = tmp_path / "aliases.yaml"
    manifest.write_text(aliases_yaml(UPSTREAM))
    holder = TableHolder(GatewayMetrics())
    source = LocalTableSource(paths=(str(tmp_path),))
    source.poll(holder)
    extra = tmp_path / "more.yml"
    extra.write_text(
        "apiVersion: aliasgate.io/v1alpha1\nkind: ModelAlias\nmetadata: {name: extra, namespace: demo}\n"
        f"spec: {{backend: {{provider: openai, model: gpt-5, baseURL: '{UPSTREAM}/x/v1'}}}}\n"
    )
    assert source.poll(holder) is True
    served = holder.current
    assert served is not None
    assert served.generation == 2
    assert "extra" in served.aliases


def test_invalid_manifests_keep_the_last_good_table_and_say_why(tmp_path: Path) -> None:
    manifest = tmp_path / "aliases.yaml"
    manifest.write_text(aliases_yaml(UPSTREAM))
    holder = TableHolder(GatewayMetrics())
    source = LocalTableSource(paths=(str(manifest),))
    source.poll(holder)
    touch_later(manifest, aliases_yaml(UPSTREAM).replace("provider: openai,", "provider: nonsense,"))
    assert source.poll(holder) is False
    served = holder.current
    assert served is not None
    assert served.generation == 1
    assert "gpt-4.1-mini" in served.aliases
    assert source.last_error is not None
    assert "aliases.yaml" in source.last_error
    assert "provider" in source.last_error
    assert holder.last_result == "source_error"
    touch_later(manifest, aliases_yaml(UPSTREAM).replace("local/qwen", "local/qwen-b"))
    assert source.poll(holder) is True
    assert source.last_error is None
    served = holder.current
    assert served is not None
    assert served.generation == 2


def last_load(holder: TableHolder) -> tuple[str | None, str | None]:
    return holder.last_result, holder.last_error


def test_a_fix_back_to_the_served_content_clears_the_source_error(tmp_path: Path) -> None:
    manifest = tmp_path / "aliases.yaml"
    manifest.write_text(aliases_yaml(UPSTREAM))
    holder = TableHolder(GatewayMetrics())
    source = LocalTableSource(paths=(str(manifest),))
    source.poll(holder)
    touch_later(manifest, "apiVersion: aliasgate.io/v1alpha1\nkind: ModelAlias\nmetadata: [broken\n")
    source.poll(holder)
    result, error = last_load(holder)
    assert result == "source_error"
    assert error is not None
    touch_later(manifest, aliases_yaml(UPSTREAM))  # fixed: the very table being served
    assert source.poll(holder) is False
    assert last_load(holder) == ("unchanged", None)
    assert source.last_error is None
    served = holder.current
    assert served is not None
    assert served.generation == 1


def test_touching_a_file_without_changing_content_keeps_the_generation(tmp_path: Path) -> None:
    manifest = tmp_path / "aliases.yaml"
    manifest.write_text(aliases_yaml(UPSTREAM))
    holder = TableHolder(GatewayMetrics())
    source = LocalTableSource(paths=(str(manifest),))
    source.poll(holder)
    touch_later(manifest, aliases_yaml(UPSTREAM))
    assert source.poll(holder) is False
    served = holder.current
    assert served is not None
    assert served.generation == 1


def test_missing_credentials_are_judged_when_a_secrets_dir_is_given(tmp_path: Path) -> None:
    manifest = tmp_path / "aliases.yaml"
    manifest.write_text(aliases_yaml(UPSTREAM))
    secrets = write_secrets(tmp_path / "secrets")
    for key in (secrets / "vllm-key").iterdir():
        key.unlink()
    (secrets / "vllm-key").rmdir()
    holder = TableHolder(GatewayMetrics())
    source = LocalTableSource(paths=(str(manifest),), secrets_dir=str(secrets))
    source.poll(holder)
    served = holder.current
    assert served is not None
    assert "local/qwen" not in served.aliases
    assert ("local/qwen", "CredentialsNotFound") in [(r.alias, r.reason) for r in served.table.rejected]
    write_secrets(secrets)
    assert source.poll(holder) is True
    served = holder.current
    assert served is not None
    assert "local/qwen" in served.aliases


async def test_run_polls_until_cancelled_and_picks_up_changes(tmp_path: Path) -> None:
    manifest = tmp_path / "aliases.yaml"
    manifest.write_text(aliases_yaml(UPSTREAM))
    holder = TableHolder(GatewayMetrics())
    source = LocalTableSource(paths=(str(manifest),), interval_seconds=0.01)
    task = asyncio.create_task(source.run(holder))
    try:
        async with asyncio.timeout(5):
            while holder.current is None:
                await asyncio.sleep(0.01)
            touch_later(manifest, aliases_yaml(UPSTREAM).replace("local/qwen", "local/qwen-2"))
            while "local/qwen-2" not in holder.current.aliases:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert holder.current.generation == 2


def test_banner_lists_addresses_accepted_and_rejected_aliases_with_reasons(tmp_path: Path) -> None:
    manifest = tmp_path / "aliases.yaml"
    manifest.write_text(aliases_yaml(UPSTREAM))
    snapshot = read_and_resolve([str(manifest)], None, generation=1)
    banner = render_banner(snapshot, listen="127.0.0.1:8080", admin_listen="127.0.0.1:9090", secrets_dir=None)
    assert "http://127.0.0.1:8080/v1" in banner
    assert "http://127.0.0.1:9090" in banner
    assert "accepted aliases (3):" in banner
    assert "rejected aliases (1):" in banner
    rejected_line = next(line for line in banner.splitlines() if line.strip().startswith("gpt-5.4-chat"))
    assert "UnsupportedMode" in rejected_line
    assert "not checked" in banner


def test_credentials_are_reloaded_before_the_table_that_needs_them(tmp_path: Path) -> None:
    manifest = tmp_path / "aliases.yaml"
    manifest.write_text(aliases_yaml(UPSTREAM))
    secrets = write_secrets(tmp_path / "secrets")
    shutil.rmtree(secrets / "openai-key")
    store = DirectoryCredentialStore(secrets, interval_seconds=3600)
    holder = TableHolder(GatewayMetrics())
    seen: list[object] = []
    holder.on_swap.append(lambda table: seen.append(("gpt-4.1-mini" in table.aliases, store.get("openai-key"))))
    source = LocalTableSource(paths=(str(manifest),), secrets_dir=str(secrets), credentials=store)
    assert source.poll(holder) is True
    (secrets / "openai-key").mkdir()
    (secrets / "openai-key" / "apiKey").write_text("sk-new")
    assert source.poll(holder) is True
    assert seen == [(False, None), (True, {"apiKey": "sk-new"})]  # the key was there when the alias was
