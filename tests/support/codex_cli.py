"""Codex CLI for the end-to-end tests, installed from npm into a cache outside the repository, once.

``python3 -m tests.support.codex_cli`` (run by ``.ci/run`` before ``make test``) and the tests' fixture both call
:func:`ensure_codex_cli`: it does nothing when the pinned version already answers ``--version``, else it runs
``npm install --prefix <cache> @openai/codex@<version>`` (the package ships its Linux binary, so nothing else is
downloaded). Standard library only, so CI can run it before the virtualenv exists.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["CODEX_CLI_VERSION", "codex_prefix", "ensure_codex_cli"]

CODEX_CLI_VERSION = "0.171.0"
"""The Codex CLI the tests are written against (it speaks only the Responses API)."""


def codex_prefix() -> Path:
    """The npm prefix: ``$ALIASGATE_CODEX_CLI_PREFIX``, else ``~/.cache/aliasgate/codex-cli``."""
    configured = os.environ.get("ALIASGATE_CODEX_CLI_PREFIX")
    return Path(configured) if configured else Path.home() / ".cache" / "aliasgate" / "codex-cli"


def _installed_version(binary: Path) -> str | None:
    if not binary.exists():
        return None
    try:
        result = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = result.stdout.split()
    return words[-1] if result.returncode == 0 and words else None


def ensure_codex_cli(prefix: Path | None = None) -> Path:
    """The ``codex`` executable of the pinned version, installed first if it is missing or another version."""
    prefix = prefix if prefix is not None else codex_prefix()
    binary = prefix / "node_modules" / ".bin" / "codex"
    if _installed_version(binary) == CODEX_CLI_VERSION:
        return binary
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed to install Codex CLI for the end-to-end tests (apt-get install npm)")
    prefix.mkdir(parents=True, exist_ok=True)
    command = [
        npm,
        "install",
        "--prefix",
        str(prefix),
        "--no-audit",
        "--no-fund",
        "--save-exact",
        f"@openai/codex@{CODEX_CLI_VERSION}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    found = _installed_version(binary)
    if result.returncode != 0 or found != CODEX_CLI_VERSION:
        raise RuntimeError(
            f"installing Codex CLI {CODEX_CLI_VERSION} into {prefix} failed (npm exit {result.returncode}, "
            f"version found {found}): {result.stderr[-2000:]}"
        )
    return binary


if __name__ == "__main__":
    print(ensure_codex_cli())
    sys.exit(0)
