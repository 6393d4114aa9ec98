"""Hostile-client figures for a real ``python -m gateway`` process (issue 15): file descriptors held by slow
clients, and memory taken by concurrent large bodies, each with the limit on and off.

- ``slow_clients``: N connections send half a request line and stall. Gateway FDs (``/proc/<pid>/fd``)
  before, while they are held, and some seconds after ``--header-read-timeout-seconds`` (0 = the old
  behaviour: held until the client leaves).
- ``large_bodies``: C concurrent chat requests of S MiB each to the bridged (codex) alias, non-stream.
  Gateway RSS before, peak (VmHWM) and after, and the answers' statuses, with the default
  ``--max-inflight-body-bytes`` and with a budget too large to matter.

    .venv/bin/python benchmarks/bench_hostile.py                 # 400 slow clients, 8 x 15 MiB bodies
    .venv/bin/python benchmarks/bench_hostile.py --slow 100 --bodies 4 --body-mib 4 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import orjson

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench_gateway import BRIDGED, proc_memory_mb, started  # noqa: E402  (a sibling: this folder is sys.path[0])


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def _slow_clients(gateway_url: str, pid: int, count: int, timeout: float) -> dict[str, Any]:
    host, port = gateway_url.removeprefix("http://").split(":")
    before = fds(pid)
    conns = []
    for _ in range(count):
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nX-Slow: ")
        conns.append((reader, writer))
    await asyncio.sleep(1.0)
    held = fds(pid)
    wait = (timeout if timeout > 0 else 10.0) + 3.0
    await asyncio.sleep(wait - 1.0)
    after = fds(pid)
    closed = 0
    for reader, _ in conns:
        try:
            answer = await asyncio.wait_for(reader.read(), 0.05)
        except TimeoutError:
            continue
        closed += reader.at_eof() and answer.startswith(b"HTTP/1.1 408")
    for _, writer in conns:
        writer.close()
    await asyncio.sleep(0.5)
    return {
        "clients": count,
        "header_timeout_seconds": timeout,
        "fds_before": before,
        "fds_held": held,
        f"fds_after_{wait:g}s": after,
        "closed_by_gateway": closed,
        "fds_after_clients_left": fds(pid),
    }


async def _large_bodies(gateway_url: str, pid: int, count: int, mib: int) -> dict[str, Any]:
    text = "x" * (mib * 1024 * 1024 - 200)
    body = orjson.dumps({"model": BRIDGED, "messages": [{"role": "user", "content": text}]})
    rss_before, _ = proc_memory_mb(pid)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def one() -> int:
            async with session.post(gateway_url + "/v1/chat/completions", data=body) as resp:
                await resp.read()
                return resp.status

        began = time.monotonic()
        statuses = await asyncio.gather(*(one() for _ in range(count)))
        seconds = time.monotonic() - began
    await asyncio.sleep(1.0)
    rss_after, peak = proc_memory_mb(pid)
    return {
        "requests": count,
        "body_mib": round(len(body) / 2**20, 2),
        "statuses": dict(Counter(statuses)),
        "seconds": round(seconds, 2),
        "rss_before_mb": round(rss_before, 1),
        "rss_peak_mb": round(peak, 1),
        "rss_after_mb": round(rss_after, 1),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"slow_clients": [], "large_bodies": []}
    for timeout in (args.header_timeout, 0.0):
        env = {"ALIASGATE_HEADER_READ_TIMEOUT_SECONDS": str(timeout), "ALIASGATE_MAX_CONNECTIONS": "100000",
               "ALIASGATE_LOG_LEVEL": "warning"}  # fmt: skip
        with tempfile.TemporaryDirectory() as folder, started(Path(folder), pinning=False, gateway_env=env) as procs:
            results["slow_clients"].append(
                asyncio.run(_slow_clients(procs.gateway_url, procs.gateway.pid, args.slow, timeout))
            )
    for budget in (None, 4 * 1024**3):
        env = {"ALIASGATE_LOG_LEVEL": "warning"}
        if budget is not None:
            env["ALIASGATE_MAX_INFLIGHT_BODY_BYTES"] = str(budget)
        with tempfile.TemporaryDirectory() as folder, started(Path(folder), pinning=False, gateway_env=env) as procs:
            figures = asyncio.run(_large_bodies(procs.gateway_url, procs.gateway.pid, args.bodies, args.body_mib))
            figures["max_inflight_body_bytes"] = "default (64 MiB)" if budget is None else budget
            results["large_bodies"].append(figures)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slow", type=int, default=400, help="slow clients")
    parser.add_argument("--header-timeout", type=float, default=5.0, help="--header-read-timeout-seconds to test")
    parser.add_argument("--bodies", type=int, default=8, help="concurrent large requests")
    parser.add_argument("--body-mib", type=int, default=15, help="MiB per large request")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    results = run(args)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
