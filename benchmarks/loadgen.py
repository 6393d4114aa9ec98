"""A small async HTTP load generator (aiohttp client), run in its own process by ``bench_gateway.py``.

Fixed concurrency (N workers sharing one connection pool of N keep-alive connections), bounded by a
request count and a time limit, whichever comes first. Each request's whole body is read (streams to
EOF) and checked for a 200 status and, optionally, a marker byte string. Prints one JSON object.

    python benchmarks/loadgen.py --url http://127.0.0.1:8080/v1/chat/completions \
        --body '{"model":"m","messages":[{"role":"user","content":"hi"}]}' --concurrency 16 --requests 5000

``--mix FILE`` sends a mix instead (the soak of ``bench_gateway.py``): a JSON list of cases
``{"name", "url", "body", "status", "expect", "weight"}``, taken in a fixed weighted rotation; each answer must
have its case's status (and marker), and the counts come back per case.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[rank]


@dataclass(frozen=True, slots=True)
class Case:
    """One kind of request in the load: where it goes, what it sends, and what a correct answer looks like."""

    name: str
    url: str
    body: bytes
    status: int = 200
    expect: bytes | None = None
    weight: int = 1


def load_mix(path: Path) -> list[Case]:
    """The cases of a ``--mix`` file."""
    cases = []
    for item in json.loads(path.read_text()):
        expect = item.get("expect")
        cases.append(
            Case(
                name=str(item["name"]),
                url=str(item["url"]),
                body=json.dumps(item["body"]).encode(),
                status=int(item.get("status", 200)),
                expect=expect.encode() if expect else None,
                weight=max(1, int(item.get("weight", 1))),
            )
        )
    return cases


def rotation(cases: Sequence[Case]) -> list[Case]:
    """A fixed schedule with each case ``weight`` times, spread out (not all of one case in a row)."""
    slots = [(i / case.weight, n, case) for n, case in enumerate(cases) for i in range(case.weight)]
    return [case for _, _, case in sorted(slots, key=lambda slot: (slot[0], slot[1]))]


async def run_load(
    *,
    url: str,
    body: bytes,
    headers: dict[str, str],
    concurrency: int,
    requests: int,
    duration_seconds: float,
    expect: bytes | None,
    warmup: int,
    mix: Sequence[Case] = (),
) -> dict[str, Any]:
    """Drive the load; returns counts, throughput and latency percentiles (milliseconds)."""
    schedule = rotation(mix) if mix else [Case("single", url, body, 200, expect)]
    per_case: dict[str, int] = {}
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    issued = 0
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=headers) as session:

        async def one(case: Case) -> None:
            started = time.perf_counter()
            try:
                async with session.post(case.url, data=case.body) as resp:
                    payload = await resp.read()
                    if resp.status != case.status:
                        key = f"status_{resp.status}" if len(schedule) == 1 else f"{case.name}:status_{resp.status}"
                        errors[key] = errors.get(key, 0) + 1
                        return
                    if case.expect is not None and case.expect not in payload:
                        key = "unexpected_body" if len(schedule) == 1 else f"{case.name}:unexpected_body"
                        errors[key] = errors.get(key, 0) + 1
                        return
            except (aiohttp.ClientError, TimeoutError) as exc:
                key = type(exc).__name__
                errors[key] = errors.get(key, 0) + 1
                return
            latencies.append(time.perf_counter() - started)
            per_case[case.name] = per_case.get(case.name, 0) + 1

        for n in range(warmup):
            await one(schedule[n % len(schedule)])
        latencies.clear()
        errors.clear()
        per_case.clear()
        deadline = time.perf_counter() + duration_seconds

        async def worker() -> None:
            nonlocal issued
            while issued < requests and time.perf_counter() < deadline:
                case = schedule[issued % len(schedule)]
                issued += 1
                await one(case)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    done = len(latencies)
    return {
        "url": url,
        "concurrency": concurrency,
        "requests": done,
        "errors": errors,
        "per_case": per_case,
        "elapsed_seconds": elapsed,
        "rps": done / elapsed if elapsed > 0 else 0.0,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p90_ms": percentile(latencies, 0.90) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "mean_ms": (sum(latencies) / done * 1000) if done else 0.0,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="", help="where to send (unless --mix)")
    parser.add_argument("--body", default="{}", help="JSON request body (unless --mix)")
    parser.add_argument("--mix", type=Path, default=None, help="JSON list of request cases to rotate through")
    parser.add_argument("--header", action="append", default=[], metavar="NAME:VALUE")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--requests", type=int, default=5000, help="stop after this many requests")
    parser.add_argument("--duration", type=float, default=60.0, help="stop after this many seconds")
    parser.add_argument("--expect", default=None, help="a string every 200 body must contain")
    parser.add_argument("--warmup", type=int, default=50, help="sequential requests before measuring")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.url and args.mix is None:
        build_parser().error("--url or --mix is needed")
    headers = {"Content-Type": "application/json"}
    for header in args.header:
        name, _, value = header.partition(":")
        headers[name.strip()] = value.strip()
    result = asyncio.run(
        run_load(
            url=args.url,
            body=args.body.encode(),
            headers=headers,
            concurrency=max(1, args.concurrency),
            requests=args.requests,
            duration_seconds=args.duration,
            expect=args.expect.encode() if args.expect else None,
            warmup=args.warmup,
            mix=load_mix(args.mix) if args.mix else (),
        )
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
