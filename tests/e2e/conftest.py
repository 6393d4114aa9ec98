"""One simulator + gateway stack per test module; the simulator's recordings are cleared per test. Codex CLI,
installed from npm on first use (never skipped: a missing npm fails the tests that need it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.stack import Stack, running_stack
from tests.support.codex_cli import ensure_codex_cli


@pytest.fixture(scope="module")
def module_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(Path(tmp_path_factory.mktemp("e2e"))) as stack:
        yield stack


@pytest.fixture
def stack(module_stack: Stack) -> Stack:
    module_stack.simulator.clear()
    return module_stack


@pytest.fixture(scope="session")
def codex_cli() -> Path:
    """The pinned Codex CLI executable (``.ci/run`` installs it beforehand; this installs it when missing)."""
    return ensure_codex_cli()
