"""``python -m aliasgate.simulator`` runs standalone (the benchmark and the README use it this way), and the
older documented ``python -m gateway.simulator`` forwards to it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.support.ports import free_port


@pytest.mark.parametrize("module", ["aliasgate.simulator", "gateway.simulator"])
def test_standalone_simulator_serves_and_stops_on_sigterm(module: str) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", module, f"--listen=127.0.0.1:{port}", "--empty-output-rate=1", "--no-auth"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        body = json.dumps(
            {
                "model": "gpt-5.4",
                "instructions": "x",
                "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
                "stream": True,
                "store": False,
            }
        ).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/backend-api/codex/responses",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(request, timeout=5) as resp:
                    raw = resp.read()
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        last = [line for line in raw.decode().splitlines() if line.startswith("data: ")][-1]
        completed = json.loads(last[len("data: ") :])
        assert completed["type"] == "response.completed"
        assert completed["response"]["output"] == []
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert f"http://127.0.0.1:{port}" in output.decode()


@pytest.mark.parametrize("module", ["aliasgate.simulator", "gateway.simulator"])
def test_bad_flags_exit_2_with_usage(module: str) -> None:
    for argv in (["--listen", "8787"], ["--empty-output-rate", "2"]):
        result = subprocess.run(
            [sys.executable, "-m", module, *argv], capture_output=True, text=True, timeout=30, check=False
        )
        assert result.returncode == 2, (argv, result.stderr)
        assert "Traceback" not in result.stderr
    listen = subprocess.run(
        [sys.executable, "-m", module, "--listen", "8787"], capture_output=True, text=True, timeout=30, check=False
    )
    assert "usage: python -m aliasgate.simulator" in listen.stderr
    assert "HOST:PORT" in listen.stderr
