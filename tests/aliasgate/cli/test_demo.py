"""``aliasgate demo`` as a user runs it: a subprocess on free ports whose printed examples work as printed."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from tests.support.ports import free_port
from tests.support.processes import stop_sync, wait_for_output
from tests.support.sse_streams import read_chat_stream

ALIASGATE = [sys.executable, "-m", "aliasgate"]
"""The command as a user runs it; ``python -m aliasgate`` is the console script's body (see test_entry_points)."""


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
        text = wait_for_output(log, "--- end ---", proc)
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


def test_demo_with_a_keys_file_prints_examples_that_send_the_key(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("sk-demo-client-key\n")
    log = tmp_path / "demo.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [
                *ALIASGATE,
                "demo",
                f"--listen=127.0.0.1:{free_port()}",
                f"--admin-listen=127.0.0.1:{free_port()}",
                f"--upstream-listen=127.0.0.1:{free_port()}",
                f"--api-keys-file={keys}",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        text = wait_for_output(log, "--- end ---", proc)
        curl = block(text, "curl")
        assert "$OPENAI_API_KEY" in curl
        with_key = {**os.environ, "OPENAI_API_KEY": "sk-demo-client-key"}
        curl_run = subprocess.run(["bash", "-c", curl], capture_output=True, timeout=30, check=False, env=with_key)
        assert b'"content":"You said: Hello from curl"' in curl_run.stdout, curl_run.stdout
        wrong = {**os.environ, "OPENAI_API_KEY": "sk-not-listed"}
        refused = subprocess.run(["bash", "-c", curl], capture_output=True, timeout=30, check=False, env=wrong)
        assert b'"code":"invalid_api_key"' in refused.stdout, refused.stdout
        snippet = block(text, "python")
        assert "api_key=" not in snippet  # the SDK reads OPENAI_API_KEY itself
        py_run = subprocess.run(
            [sys.executable, "-c", snippet], capture_output=True, timeout=60, check=False, env=with_key
        )
        assert py_run.returncode == 0, py_run.stderr
        assert py_run.stdout.decode().strip() == "You said: Hello from Python"
    finally:
        code = stop_sync(proc, grace_seconds=30)
    assert code == 0, log.read_text(errors="replace")


LOCAL_GRACE = 5.0
"""The shutdown grace local mode runs with."""


async def test_demo_sigterm_lets_streams_finish_within_the_grace_and_cuts_the_rest_properly(tmp_path: Path) -> None:
    """SIGTERM with six streams in flight: the three that can finish within the grace (``#think``: two seconds
    of silence, then the answer) finish; the three stalled ones get the ``server_shutting_down`` error frame
    and ``[DONE]`` at the deadline; the command exits right after, without a traceback."""
    listen, admin, upstream = free_port(), free_port(), free_port()
    log = tmp_path / "demo.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [*ALIASGATE, "demo", f"--listen=127.0.0.1:{listen}", f"--admin-listen=127.0.0.1:{admin}",
             f"--upstream-listen=127.0.0.1:{upstream}"],
            stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, "NO_COLOR": "1"},
        )  # fmt: skip
    try:
        await asyncio.to_thread(wait_for_output, log, "--- end ---", proc)
        url = f"http://127.0.0.1:{listen}/v1/chat/completions"
        models = ("gpt-4.1-mini", "chatgpt/gpt-5.4", "local/qwen3-coder")
        bodies = [{"model": m, "stream": True, "messages": [{"role": "user", "content": "go #think"}]} for m in models]
        bodies += [{"model": m, "stream": True, "messages": [{"role": "user", "content": "go #stall"}]} for m in models]
        async with aiohttp.ClientSession() as session:
            started = [asyncio.Event() for _ in bodies]
            streams = [
                asyncio.create_task(read_chat_stream(session, url, body, first))
                for body, first in zip(bodies, started, strict=True)
            ]
            await asyncio.wait_for(asyncio.gather(*(event.wait() for event in started[3:])), 15)
            sigterm = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            results = await asyncio.wait_for(asyncio.gather(*streams), LOCAL_GRACE + 10)
        code = await asyncio.to_thread(proc.wait, LOCAL_GRACE + 10)
        exited = time.monotonic() - sigterm
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    text = log.read_text(errors="replace")
    assert code == 0, text
    finished, stalled = results[:3], results[3:]
    assert all(r.complete and r.text == "You said: go #think" and r.ended_at > sigterm for r in finished), finished
    assert all(r.cut_at_shutdown for r in stalled), stalled
    assert all(LOCAL_GRACE - 0.1 <= r.ended_at - sigterm < LOCAL_GRACE + 2.0 for r in stalled)
    assert LOCAL_GRACE <= exited < LOCAL_GRACE + 2.0, f"exited {exited:.2f} s after SIGTERM"
    print(f"aliasgate demo SIGTERM exit: {exited:.2f} s (grace {LOCAL_GRACE} s)")
    assert "Traceback" not in text
    assert "[error" not in text
    assert "shutdown_grace_expired" in text
    assert "gateway_stopped" in text
