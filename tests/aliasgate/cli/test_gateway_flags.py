"""``aliasgate run`` and ``demo`` take the gateway's own flags: same rows, same variables, same meaning."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from aliasgate import cli
from aliasgate.cli import gateway_flags
from aliasgate.runtime.flags import env_name
from gateway.settings import FLAGS
from tests.aliasgate.cli.manifests_fixture import aliases_yaml, write_secrets
from tests.support.ports import free_port
from tests.support.processes import stop_sync, wait_for_output

ALIASGATE = [sys.executable, "-m", "aliasgate"]


def subcommand(name: str) -> argparse.ArgumentParser:
    parser = cli.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    found = commands.choices[name]
    assert isinstance(found, argparse.ArgumentParser)
    return found


def settings_for(argv: list[str], environ: dict[str, str]) -> Any:
    args = cli.build_parser().parse_args(argv)
    return gateway_flags.gateway_settings(args, args.gateway_fields, environ, usage_error=args.usage_error)


@pytest.mark.parametrize(
    ("command", "fields"), [("run", gateway_flags.RUN_FIELDS), ("demo", gateway_flags.DEMO_FIELDS)]
)
def test_run_and_demo_offer_the_gateway_flags_with_their_variables(command: str, fields: tuple[str, ...]) -> None:
    help_text = " ".join(subcommand(command).format_help().split())
    for wanted in ("--log-json", "--no-log-json", "--log-level", "--api-keys-file", "--shutdown-grace-seconds"):
        assert wanted in help_text
    rows = {flag.field: flag for flag in FLAGS}
    for field in fields:
        row = rows[field]  # every field offered is one of the gateway's rows, with its help and variable
        assert row.option in help_text
        assert " ".join(row.help.split()) in help_text
        assert env_name(field) in help_text
    assert "--table-source" not in help_text  # where a cluster's table comes from is not local mode's to say


def test_flags_win_over_variables_which_win_over_the_command_defaults() -> None:
    defaults = settings_for(["run", "--manifests", "m.yaml"], {})
    assert (defaults.listen, defaults.admin_listen) == ("127.0.0.1:8080", "127.0.0.1:9090")
    assert (defaults.log_json, defaults.log_level, defaults.shutdown_grace_seconds) == (False, "info", 5.0)
    assert (defaults.namespace, defaults.table_source, defaults.api_keys_file) == ("local", "file", None)
    env = {
        "ALIASGATE_SHUTDOWN_GRACE_SECONDS": "9",
        "ALIASGATE_LOG_LEVEL": "warning",
        "ALIASGATE_LOG_JSON": "true",
        "ALIASGATE_API_KEYS_FILE": "/etc/keys",
        "ALIASGATE_LISTEN": "127.0.0.1:7000",
        "ALIASGATE_TABLE_SOURCE": "kubernetes",  # not local mode's: ignored
    }
    from_env = settings_for(["run", "--manifests", "m.yaml"], env)
    assert from_env.shutdown_grace_seconds == 9.0
    assert (from_env.log_level, from_env.log_json, from_env.listen) == ("warning", True, "127.0.0.1:7000")
    assert from_env.api_keys_file == Path("/etc/keys")
    assert from_env.table_source == "file"
    flagged = settings_for(
        ["demo", "--shutdown-grace-seconds", "3", "--no-log-json", "--log-level", "debug", "--listen", ":8100"], env
    )
    assert (flagged.shutdown_grace_seconds, flagged.log_json, flagged.log_level) == (3.0, False, "debug")
    assert flagged.listen == ":8100"
    assert settings_for(["run", "--manifests", "m", "--log-json", "off"], {}).log_json is False


@pytest.mark.parametrize(
    ("argv", "environ", "named"),
    [
        (["run", "--manifests", "m", "--shutdown-grace-seconds", "-1"], {}, "--shutdown-grace-seconds"),
        (["demo"], {"ALIASGATE_LOG_LEVEL": "loud"}, "--log-level (ALIASGATE_LOG_LEVEL)"),
        (["run", "--manifests", "m", "--listen", "nowhere"], {}, "--listen (ALIASGATE_LISTEN)"),
    ],
)
def test_bad_values_are_usage_errors_naming_the_flag(
    argv: list[str], environ: dict[str, str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        settings_for(argv, environ)
    assert exited.value.code == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith(f"aliasgate {argv[0]}: error: {named}"), last


def status_of(url: str, key: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_run_serves_with_the_keys_file_logs_json_and_takes_the_grace_from_the_environment(tmp_path: Path) -> None:
    manifest = tmp_path / "aliases.yaml"
    manifest.write_text(aliases_yaml("http://127.0.0.1:9"))
    secrets = write_secrets(tmp_path / "secrets")
    keys = tmp_path / "keys.txt"
    keys.write_text("sk-local-test-key\n")
    listen, admin = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    out = tmp_path / "out.log"
    env = {**os.environ, "ALIASGATE_SHUTDOWN_GRACE_SECONDS": "2.5", "ALIASGATE_LOG_LEVEL": "info"}
    env.pop("NO_COLOR", None)
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [
                *ALIASGATE,
                "run",
                "--manifests",
                str(manifest),
                f"--secrets-dir={secrets}",
                f"--listen={listen}",
                f"--admin-listen={admin}",
                f"--api-keys-file={keys}",
                "--log-json",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        banner = wait_for_output(out, "rejected aliases (1):", proc)
        assert f"client API keys        {keys}" in banner
        assert status_of(f"http://{listen}/v1/models") == 401
        assert status_of(f"http://{listen}/v1/models", "sk-wrong") == 401
        assert status_of(f"http://{listen}/v1/models", "sk-local-test-key") == 200
    finally:
        code = stop_sync(proc, grace_seconds=30)
    assert code == 0, out.read_text(errors="replace")
    text = out.read_text(errors="replace")
    assert "sk-local-test-key" not in text
    events = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert {"gateway_started", "table_loaded", "gateway_stopped"} <= {e["event"] for e in events}
    shutdown = next(e for e in events if e["event"] == "shutdown_requested")
    assert shutdown["grace_seconds"] == 2.5
    assert all(line.startswith("{") for line in text.split("rejected aliases (1):", 1)[1].splitlines()[2:]), text


@pytest.mark.parametrize("command", ["run", "demo"])
def test_console_logs_into_a_file_carry_no_colour_escapes(tmp_path: Path, command: str) -> None:
    listen, admin = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    argv = [*ALIASGATE, command, f"--listen={listen}", f"--admin-listen={admin}"]
    if command == "run":
        manifest = tmp_path / "aliases.yaml"
        manifest.write_text(aliases_yaml("http://127.0.0.1:9"))
        argv += ["--manifests", str(manifest)]
    else:
        argv += [f"--upstream-listen=127.0.0.1:{free_port()}"]
    out = tmp_path / "out.log"
    env = {k: v for k, v in os.environ.items() if k not in {"NO_COLOR", "ALIASGATE_LOG_JSON"}}
    with out.open("wb") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for_output(out, "gateway_started", proc)
    finally:
        code = stop_sync(proc, grace_seconds=30)
    assert code == 0
    text = out.read_text(errors="replace")
    assert "gateway_stopped" in text
    assert "\x1b[" not in text
