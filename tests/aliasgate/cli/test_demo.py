"""``aliasgate demo`` as a user runs it: a subprocess on free ports whose printed examples work as printed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.ports import free_port
from tests.support.processes import stop_sync

ALIASGATE = [sys.executable, "-m", "aliasgate"]
"""The command as a user runs it; ``python -m aliasgate`` is the console script's body (see test_entry_points)."""


def wait_for(log: Path, marker: str, proc: subprocess.Popen[bytes], limit_seconds: float = 30.0) -> str:
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if marker in text:
            return text
        if proc.poll() is not None:
            pytest.fail(f"aliasgate demo exited with {proc.returncode}:\n{text}")
        time.sleep(0.05)
    pytest.fail(f"no {marker!r} within {limit_seconds} s:\n{log.read_text(errors='replace')}")


def block(text: str, start: str) -> str:
    match = re.search(rf"^--- {re.escape(start)}[^\n]*---\n(.*?)\n--- ", text, flags=re.S | re.M)
    assert match is not None, text
    return match.group(1)


def test_demo_prints_examples_that_work_and_stops_on_sigterm(tmp_path: Path) -> None:
    listen, admin, upstream = free_port(), free_port(), free_port()
    log = tmp_path / "demo.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [
                *ALIASGATE,
                "demo",
                f"--listen=127.0.0.1:{listen}",
                f"--admin-listen=127.0.0.1:{admin}",
                f"--upstream-listen=127.0.0.1:{upstream}",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1"},
        )
    try:
        text = wait_for(log, "--- end ---", proc)
        assert "rejected aliases (1):" in text
        assert re.search(r"gpt-5\.4-chat\s+UnsupportedMode", text)
        curl = block(text, "curl")
        assert curl.startswith("curl ")
        curl_run = subprocess.run(["bash", "-c", curl], capture_output=True, timeout=30, check=False)
        assert curl_run.returncode == 0, curl_run.stderr
        assert b'"content":"You said: Hello from curl"' in curl_run.stdout
        snippet = block(text, "python")
        py_run = subprocess.run([sys.executable, "-c", snippet], capture_output=True, timeout=60, check=False)
        assert py_run.returncode == 0, py_run.stderr
        assert py_run.stdout.decode().strip() == "You said: Hello from Python"
        demo_dir = re.search(r"manifests\s+(\S+)/manifests/aliases\.yaml", text)
        assert demo_dir is not None
        assert Path(demo_dir.group(1)).is_dir()
    finally:
        code = stop_sync(proc, grace_seconds=20)
    assert code == 0, log.read_text(errors="replace")
    assert not Path(demo_dir.group(1)).exists()
    assert "gateway_stopped" in log.read_text(errors="replace")
