"""Controller flags of DESIGN §8, and their ALIASGATE_* environment variables."""

from __future__ import annotations

from controller.settings import parse_settings


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
