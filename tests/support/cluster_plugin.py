"""Pytest plugin for the tests that run against a real control plane (marked ``kube``).

Before the first test runs, the binaries are built if missing (progress on the terminal; a cold build
takes 15-25 minutes, so it happens here, outside any test's timeout, not inside a fixture).
:func:`running_cluster` starts a control plane in a temporary folder and stops it afterwards; each test
package that needs one wraps it in a fixture of the scope it wants.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import kubebuild, kubecluster

__all__ = ["running_cluster"]


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly or not any(item.get_closest_marker("kube") for item in session.items):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")

    def say(message: str) -> None:
        if reporter is not None:
            reporter.write_line(f"kube: {message}")

    began = time.monotonic()
    spent = kubebuild.ensure_binaries(say)
    if spent:
        say(f"built {', '.join(spent)} in {time.monotonic() - began:.0f} s")


@contextlib.contextmanager
def running_cluster(folder: Path) -> Iterator[kubecluster.Cluster]:
    """A control plane in ``folder`` for the duration of the block."""
    cluster = kubecluster.up(folder, lambda _: None)
    try:
        yield cluster
    finally:
        kubecluster.down(folder, lambda _: None)
