"""How the ``aliasgate`` command is reached: the console script in pyproject, ``python -m aliasgate``, ``--version``."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import aliasgate.cli
from aliasgate import cli

PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"


def project() -> dict[str, object]:
    table = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    assert isinstance(table, dict)
    return table


def test_the_console_script_is_aliasgate_cli_main() -> None:
    scripts = project()["scripts"]
    assert scripts == {"aliasgate": "aliasgate.cli:main"}
    module, _, attribute = scripts["aliasgate"].partition(":")
    assert getattr(sys.modules[module], attribute) is aliasgate.cli.main


def test_python_m_aliasgate_prints_the_project_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "aliasgate", "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"aliasgate {project()['version']}"


def test_every_subcommand_is_listed_and_one_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main([])
    assert exited.value.code == 2
    assert "COMMAND" in capsys.readouterr().err
    help_text = cli.build_parser().format_help()
    for command in ("check", "run", "demo"):
        assert command in help_text
    assert "--version" in help_text


@pytest.mark.parametrize(
    ("command", "prog"),
    [
        (["-m", "aliasgate", "check"], "aliasgate check"),
        (["-m", "aliasgate", "run"], "aliasgate run"),
        (["-m", "aliasgate", "demo"], "aliasgate demo"),
        (["-m", "gateway"], "python -m gateway"),
        (["-m", "controller"], "python -m controller"),
    ],
)
def test_every_command_prints_the_project_version(command: list[str], prog: str) -> None:
    result = subprocess.run(
        [sys.executable, *command, "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{prog} {project()['version']}"
