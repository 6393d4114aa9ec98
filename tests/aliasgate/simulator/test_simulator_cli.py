"""``python -m gateway.simulator`` runs standalone (the benchmark and the README use it this way)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_standalone_simulator_serves_and_stops_on_sigterm() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.simulator", f"--listen=127.0.0.1:{port}", "--empty-output-rate=1", "--no-auth"],
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
