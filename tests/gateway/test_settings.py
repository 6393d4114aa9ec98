"""GatewaySettings: flags over ALIASGATE_* variables over defaults; bad values exit with usage."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import GatewaySettings, parse_settings


def test_defaults_match_the_design() -> None:
    settings = parse_settings([], environ={})
    assert settings.listen == "0.0.0.0:8080"
    assert settings.admin_listen == "0.0.0.0:9090"
    assert settings.table_configmap == "aliasgate-routes"
    assert settings.table_source == "kubernetes"
    assert settings.namespace == "aliasgate-system"


def test_environment_variables_and_flags() -> None:
    env = {
        "ALIASGATE_LISTEN": "127.0.0.1:8000",
        "ALIASGATE_TABLE_SOURCE": "file",
        "ALIASGATE_TABLE_FILE": "/tmp/t.json",
        "ALIASGATE_MAX_BODY_BYTES": "1024",
        "ALIASGATE_SHUTDOWN_GRACE_SECONDS": "5",
        "ALIASGATE_NAMESPACE": "gw",
    }
    settings = parse_settings(["--listen", "127.0.0.1:9000", "--secrets-dir", "/s"], environ=env)
    assert settings.listen == "127.0.0.1:9000"
    assert settings.table_source == "file"
    assert settings.table_file == Path("/tmp/t.json")
    assert settings.max_body_bytes == 1024
    assert settings.shutdown_grace_seconds == 5.0
    assert settings.secrets_dir == Path("/s")
    assert settings.namespace == "gw"


@pytest.mark.parametrize(
    "argv",
    [["--listen", "nowhere"], ["--table-source", "consul"], ["--max-body-bytes", "-1"], ["--log-level", "loud"]],
)
def test_invalid_values_exit_with_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_settings(argv, environ={})
    assert exited.value.code == 2
    assert "error" in capsys.readouterr().err


def test_settings_are_frozen() -> None:
    assert GatewaySettings().model_config["frozen"] is True


def test_a_bad_environment_value_exits_with_usage_too(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_settings([], environ={"ALIASGATE_PROBE_CONCURRENCY": "many"})
    assert exited.value.code == 2
    assert "--probe-concurrency (ALIASGATE_PROBE_CONCURRENCY): " in capsys.readouterr().err.splitlines()[-1]


def test_the_event_loop_is_a_flag_and_a_variable() -> None:
    assert parse_settings([], environ={}).event_loop == "auto"
    assert parse_settings(["--event-loop", "asyncio"], environ={}).event_loop == "asyncio"
    assert parse_settings([], environ={"ALIASGATE_EVENT_LOOP": "uvloop"}).event_loop == "uvloop"
    with pytest.raises(SystemExit) as exited:
        parse_settings(["--event-loop", "trio"], environ={})
    assert exited.value.code == 2
