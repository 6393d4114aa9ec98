"""Controller flags of docs/controller.md, and their ALIASGATE_* environment variables."""

from __future__ import annotations

import subprocess
import sys

import pytest

from controller.settings import FLAGS, ControllerSettings, build_parser, parse_settings


def test_defaults_follow_the_design() -> None:
    settings = parse_settings([], environ={"POD_NAMESPACE": "ops"})
    assert settings.namespace == "ops"
    assert settings.table_configmap == "aliasgate-routes"
    assert settings.admin_listen == "0.0.0.0:9090"
    assert settings.watch_namespaces == ()
    assert settings.leader_election is True
    assert settings.watch_inactivity_timeout_seconds == 70.0


def test_environment_variables_set_every_flag() -> None:
    settings = parse_settings(
        [],
        environ={
            "ALIASGATE_NAMESPACE": "gw",
            "ALIASGATE_TABLE_CONFIGMAP": "routes",
            "ALIASGATE_ADMIN_LISTEN": "127.0.0.1:0",
            "ALIASGATE_WATCH_NAMESPACES": "team-a, team-b",
            "ALIASGATE_LEADER_ELECTION": "false",
        },
    )
    assert (settings.namespace, settings.table_configmap, settings.admin_listen) == ("gw", "routes", "127.0.0.1:0")
    assert settings.watch_namespaces == ("team-a", "team-b")
    assert settings.leader_election is False


def test_flags_win_over_the_environment() -> None:
    settings = parse_settings(
        ["--namespace", "flag", "--leader-election", "--watch-namespaces", "x"],
        environ={"ALIASGATE_NAMESPACE": "env", "ALIASGATE_LEADER_ELECTION": "false"},
    )
    assert settings.namespace == "flag"
    assert settings.leader_election is True
    assert settings.watch_namespaces == ("x",)


def test_no_leader_election_flag() -> None:
    assert parse_settings(["--no-leader-election"], environ={}).leader_election is False


def test_the_lease_name_is_a_flag_and_a_variable() -> None:
    assert parse_settings([], {}).lease_name == "aliasgate-controller"
    assert parse_settings(["--lease-name", "prod-aliasgate-controller"], {}).lease_name == "prod-aliasgate-controller"
    assert parse_settings([], {"ALIASGATE_LEASE_NAME": "from-env"}).lease_name == "from-env"


def test_every_field_is_a_flag_and_a_variable() -> None:
    assert {flag.field for flag in FLAGS} == set(ControllerSettings.model_fields)
    parser_flags = {flag for action in build_parser()._actions for flag in action.option_strings}
    for field in ControllerSettings.model_fields:
        assert "--" + field.replace("_", "-") in parser_flags, field
    given = {
        "debounce_max_seconds": ("0.5", 0.5),
        "watch_timeout_seconds": ("120", 120),
        "backoff_base_seconds": ("0.1", 0.1),
        "backoff_max_seconds": ("9", 9.0),
        "gzip_threshold_bytes": ("1024", 1024),
        "status_concurrency": ("4", 4),
        "gateway_admin_port_name": ("metrics", "metrics"),
        "programmed_poll_seconds": ("0.5", 0.5),
    }
    from_flags = parse_settings(
        [arg for field, (text, _) in given.items() for arg in ("--" + field.replace("_", "-"), text)], environ={}
    )
    from_env = parse_settings([], environ={"ALIASGATE_" + field.upper(): text for field, (text, _) in given.items()})
    for field, (_, expected) in given.items():
        assert getattr(from_flags, field) == expected, field
        assert getattr(from_env, field) == expected, field


def test_defaults_live_on_the_fields_only() -> None:
    parsed = parse_settings([], environ={})
    assert parsed.model_dump(exclude={"identity", "namespace"}) == ControllerSettings().model_dump(
        exclude={"identity", "namespace"}
    )


@pytest.mark.parametrize(
    ("argv", "environ", "named"),
    [
        (["--lease-duration-seconds", "fifteen"], {}, "--lease-duration-seconds (or ALIASGATE_LEASE_DURATION_SECONDS)"),
        ([], {"ALIASGATE_DEBOUNCE_SECONDS": "0,05"}, "--debounce-seconds (or ALIASGATE_DEBOUNCE_SECONDS)"),
        (["--status-concurrency", "0"], {}, "--status-concurrency"),
        (["--watch-timeout-seconds", "2.5"], {}, "--watch-timeout-seconds"),
        ([], {"ALIASGATE_LEADER_ELECTION": "maybe"}, "--leader-election (or ALIASGATE_LEADER_ELECTION)"),
        (["--log-level", "loud"], {}, "--log-level"),
    ],
)
def test_a_bad_value_is_a_one_line_usage_error(
    argv: list[str], environ: dict[str, str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_settings(argv, environ=environ)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("python -m controller: error: ")
    assert named in err


def test_a_bad_number_exits_2_from_the_command_without_a_traceback() -> None:
    """The real process: ``python -m controller --debounce-seconds soon`` is a usage error, not a crash."""
    done = subprocess.run(
        [sys.executable, "-m", "controller", "--debounce-seconds", "soon"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "python -m controller: error: --debounce-seconds (or ALIASGATE_DEBOUNCE_SECONDS) 'soon': "
        "Input should be a valid number, unable to parse string as a number"
    ]
