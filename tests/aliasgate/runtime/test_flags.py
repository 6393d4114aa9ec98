"""The shared flag/environment machinery: precedence, kinds, and usage errors instead of tracebacks."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, Field

from aliasgate.runtime.flags import Flag, build_parser, env_name, parse_flags


class Knobs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    table_configmap: str = "routes"
    period_seconds: float = Field(default=1.0, gt=0)
    namespaces: tuple[str, ...] = ()
    election: bool = True


FLAGS = (
    Flag("table_configmap", "NAME", "table name"),
    Flag("period_seconds", "SECONDS", "period"),
    Flag("namespaces", "NS,NS", "namespaces", kind="list"),
    Flag("election", "BOOL", "leader election", kind="switch"),
)


def parse(argv: list[str], environ: dict[str, str]) -> Knobs:
    return parse_flags(Knobs, FLAGS, argv, environ, prog="knobs", description="test knobs")


def test_defaults_come_from_the_model() -> None:
    assert parse([], {}) == Knobs()


def test_a_flag_wins_over_the_environment_which_wins_over_the_default() -> None:
    env = {"ALIASGATE_TABLE_CONFIGMAP": "from-env", "ALIASGATE_PERIOD_SECONDS": "2.5"}
    knobs = parse(["--table-configmap", "from-flag"], env)
    assert knobs.table_configmap == "from-flag"
    assert knobs.period_seconds == 2.5


def test_lists_are_comma_separated_from_flags_and_environment() -> None:
    assert parse(["--namespaces", "a, b,,c"], {}).namespaces == ("a", "b", "c")
    assert parse([], {"ALIASGATE_NAMESPACES": "x,y"}).namespaces == ("x", "y")
    assert parse(["--namespaces", ""], {"ALIASGATE_NAMESPACES": "x"}).namespaces == ()


def test_switches_have_a_negative_flag_and_read_boolean_words_from_the_environment() -> None:
    assert parse(["--no-election"], {}).election is False
    assert parse(["--election"], {"ALIASGATE_ELECTION": "false"}).election is True
    assert parse([], {"ALIASGATE_ELECTION": "off"}).election is False
    assert parse([], {"ALIASGATE_ELECTION": "yes"}).election is True


@pytest.mark.parametrize(
    ("argv", "environ", "named"),
    [
        (["--period-seconds", "soon"], {}, "--period-seconds (ALIASGATE_PERIOD_SECONDS): "),
        (["--period-seconds", "-1"], {}, "--period-seconds (ALIASGATE_PERIOD_SECONDS): "),
        ([], {"ALIASGATE_PERIOD_SECONDS": "0"}, "--period-seconds (ALIASGATE_PERIOD_SECONDS): "),
        ([], {"ALIASGATE_ELECTION": "maybe"}, "--election (ALIASGATE_ELECTION): "),
    ],
)
def test_bad_values_exit_2_with_a_usage_message_naming_the_field(
    argv: list[str], environ: dict[str, str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse(argv, environ)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: knobs")
    last = err.splitlines()[-1]
    assert last.startswith(f"knobs: error: {named}"), last  # one line naming the flag and its variable
    assert "Traceback" not in err


def test_help_names_each_environment_variable() -> None:
    text = build_parser(FLAGS, prog="knobs", description="test knobs").format_help()
    for flag in FLAGS:
        assert flag.option in text
        assert env_name(flag.field) in text
    assert "--no-election" in text
