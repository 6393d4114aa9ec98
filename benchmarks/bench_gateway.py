"""Gateway benchmark: every figure side by side with the upstream mock alone, in the same run.

Processes (each its own interpreter, pinned with ``taskset`` when available): the upstream mock
(``python -m aliasgate.simulator``, zero added latency) and the load generator share core 1; the gateway
(``python -m gateway`` with a file table and a secrets folder, the production entry point) runs alone on
core 0. The load generator is ``wrk`` when it is installed (C, so the mock alone is not held back by its
client; ``apt-get install wrk``), else ``benchmarks/loadgen.py`` (aiohttp: the mock's figures are then
partly the client's, and the ratios flatter the gateway).

Shapes, each measured twice per round, mock alone then through the gateway, so every ratio is taken in one
run under the same machine load:

- ``chat_json`` / ``chat_sse``: Chat Completions on a chat-mode alias (pass-through), whole answer / stream;
- ``bridged_json`` / ``bridged_sse``: Chat Completions on a responses-mode ChatGPT codex alias (the bridge;
  8 text deltas per answer); the mock's figure is its codex Responses stream, which is what the bridge reads;
- ``reverse_json`` / ``reverse_sse``: Responses on the chat-mode alias (the reverse bridge); the mock's figure
  is its chat answer of the same kind.

For each shape: requests/s at 16 connections and the ratio to the mock's, gateway CPU per request
(``/proc/<pid>/stat`` utime+stime over the run's answers) and the mock's own (the floor), p50/p99; at one
connection, the latency the gateway adds (gateway minus mock, p50 and p99); the gateway's RSS. ``--soak N``
sends N mixed requests (bridged and pass-through, stream and not, some with empty output the bridge recovers,
some upstream 503s) in 20 slices and reports RSS after each: settled (after the second slice) against the end.
CI never runs this file; a soak of 1,000,000 requests takes the better part of an hour.

``--baseline DIR`` also runs a second gateway from another checkout (run from DIR) in the same rounds, for
before/after figures measured side by side.

    .venv/bin/python benchmarks/bench_gateway.py                    # quick run (a few minutes)
    .venv/bin/python benchmarks/bench_gateway.py --repeat 3         # on a busy machine
    .venv/bin/python benchmarks/bench_gateway.py --soak 1000000     # plus the RSS soak
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aliasgate.cli.manifests import load_manifests, load_secrets_dir  # noqa: E402
from controller.conflicts import resolve  # noqa: E402
from tests.support.metrics import samples, scrape_sync  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.processes import stop_sync, wait_http_ok_sync  # noqa: E402

PYTHON = sys.executable
LOADGEN = str(Path(__file__).resolve().with_name("loadgen.py"))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

BRIDGED = "chatgpt/gpt-5.4"
PASSTHROUGH = "gpt-4.1-mini"
SOAK_SLICES = 20

TARGETS: dict[str, tuple[str, float, str]] = {
    "bridged_json_cpu_ms": ("<=", 0.25, "gateway CPU per bridged non-stream request (ms)"),
    "bridged_json_ratio": (">=", 0.40, "bridged non-stream req/s ÷ mock alone"),
    "bridged_sse_ratio": (">=", 0.35, "bridged stream req/s ÷ mock alone"),
    "chat_json_ratio": (">=", 0.35, "chat pass-through req/s ÷ mock alone"),
    "chat_sse_ratio": (">=", 0.35, "chat pass-through stream req/s ÷ mock alone"),
    "reverse_json_ratio": (">=", 0.40, "reverse bridge non-stream req/s ÷ mock alone"),
    "reverse_sse_ratio": (">=", 0.35, "reverse bridge stream req/s ÷ mock alone"),
    "added_latency_p50_ms": ("<=", 0.5, "added latency p50 at 1 connection (ms)"),
    "added_latency_p99_ms": ("<=", 1.5, "added latency p99 at 1 connection (ms)"),
    "rss_mb": ("<=", 80.0, "gateway RSS (MiB)"),
    "soak_rss_growth_mb": ("<=", 2.0, "soak: RSS at the end minus settled (MiB)"),
}


def pin(core: int, command: list[str], enabled: bool) -> list[str]:
    if enabled and shutil.which("taskset") and (os.cpu_count() or 1) > core:
        return ["taskset", "-c", str(core), *command]
    return command


def wait_port(port: int, limit_seconds: float = 30.0) -> None:
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {limit_seconds} s")


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def proc_memory_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) in MiB."""
    rss = hwm = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
        elif line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024
    return rss, hwm


MANIFESTS = """\
apiVersion: aliasgate.io/v1alpha1
kind: ModelAlias
metadata: {{name: gpt-5-4, namespace: bench}}
spec:
  alias: {bridged}
  backend: {{provider: chatgpt, model: gpt-5.4, baseURL: "{upstream}/backend-api/codex", credentials: chatgpt}}
  mode: responses
  healthCheck: {{enabled: false}}
---
apiVersion: aliasgate.io/v1alpha1
kind: ModelAlias
metadata: {{name: gpt-4-1-mini, namespace: bench}}
spec:
  alias: {passthrough}
  backend: {{provider: openai, model: gpt-4.1-mini, baseURL: "{upstream}/v1", credentials: openai}}
  mode: chat
  healthCheck: {{enabled: false}}
"""


def write_config(folder: Path, upstream: str) -> tuple[Path, Path]:
    """Manifests → conflict engine → the table file the gateway serves; plus fake credentials."""
    secrets = folder / "secrets"
    for name, keys in {"chatgpt": {"accessToken": "bench", "accountId": "acct"}, "openai": {"apiKey": "sk"}}.items():
        (secrets / name).mkdir(parents=True)
        for key, value in keys.items():
            (secrets / name / key).write_text(value)
    manifest = folder / "aliases.yaml"
    manifest.write_text(MANIFESTS.format(upstream=upstream, bridged=BRIDGED, passthrough=PASSTHROUGH))
    resolution = resolve(
        [entry.obj for entry in load_manifests([manifest]).objects],
        credentials=load_secrets_dir(secrets),
        generation=1,
    )
    if len(resolution.table.routes) != 2:
        raise RuntimeError(f"benchmark aliases were not all accepted: {resolution.verdicts}")
    table = folder / "table.json"
    table.write_bytes(resolution.table.to_json())
    return table, secrets


def callgrind(command: list[str], folder: Path) -> list[str]:
    """``command`` under callgrind with instrumentation off until :func:`count_instructions` turns it on."""
    out = folder / "callgrind.out.%p"
    return ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}", *command]


@contextmanager
def simulator(
    folder: Path, *, pinning: bool, counted: bool = False, core: int = 1
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """The upstream mock (on core 1 unless told); yields the process and its base URL."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [PYTHON, "-m", "aliasgate.simulator", f"--listen=127.0.0.1:{port}", "--no-record"]
    with (folder / "simulator.log").open("wb") as log:
        proc = subprocess.Popen(
            pin(core, callgrind(command, folder) if counted else command, pinning),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_port(port, limit_seconds=300 if counted else 30)
            yield proc, f"http://127.0.0.1:{port}"
        finally:
            stop_sync(proc, grace_seconds=15)


@dataclass
class Gateway:
    name: str
    proc: subprocess.Popen[bytes]
    url: str
    admin_url: str


@contextmanager
def gateway(
    folder: Path,
    upstream: str,
    *,
    name: str,
    pinning: bool,
    env: dict[str, str] | None = None,
    code: Path = ROOT,
    counted: bool = False,
) -> Iterator[Gateway]:
    """``python -m gateway`` from the checkout ``code``, on core 0, with a file table pointing at ``upstream``."""
    folder.mkdir(parents=True, exist_ok=True)
    table, secrets = write_config(folder, upstream)
    gw_port, admin_port = free_port(), free_port()
    command = [
        PYTHON,
        "-m",
        "gateway",
        f"--listen=127.0.0.1:{gw_port}",
        f"--admin-listen=127.0.0.1:{admin_port}",
        "--table-source=file",
        f"--table-file={table}",
        f"--secrets-dir={secrets}",
        "--namespace=bench",
    ]
    with (folder / "gateway.log").open("wb") as log:
        proc = subprocess.Popen(
            pin(0, callgrind(command, folder) if counted else command, pinning),
            cwd=code,
            env={**os.environ, **(env or {}), "PYTHONPATH": str(code)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_http_ok_sync(
                f"http://127.0.0.1:{admin_port}/readyz",
                timeout_seconds=300 if counted else 30,
                alive=lambda: proc.poll() is None,
            )
            yield Gateway(name, proc, f"http://127.0.0.1:{gw_port}", f"http://127.0.0.1:{admin_port}")
        finally:
            stop_sync(proc, grace_seconds=15)


@dataclass
class Processes:
    """The mock and one gateway in front of it (what sibling benchmarks start through :func:`started`)."""

    simulator: subprocess.Popen[bytes]
    gateway: subprocess.Popen[bytes]
    upstream: str
    gateway_url: str
    admin_url: str


@contextmanager
def started(folder: Path, *, pinning: bool, gateway_env: dict[str, str] | None = None) -> Iterator[Processes]:
    """The mock, then the gateway serving the benchmark table in front of it; both stopped on exit."""
    with (
        simulator(folder / "mock", pinning=pinning) as (mock, upstream),
        gateway(folder / "gateway", upstream, name="gateway", pinning=pinning, env=gateway_env) as gw,
    ):
        yield Processes(mock, gw.proc, upstream, gw.url, gw.admin_url)


# ---------------------------------------------------------------- requests


@dataclass(frozen=True)
class Request:
    """One request of a shape, sent to the mock directly or to a gateway."""

    path: str
    body: dict[str, Any]
    headers: tuple[str, ...]
    expect: str


MESSAGE = [{"role": "user", "content": "benchmark this request"}]
CODEX_HEADERS = ("Authorization: Bearer bench", "ChatGPT-Account-Id: acct")


def codex_body(text: str = "benchmark this") -> dict[str, Any]:
    """What the bridge sends the codex backend for a one-message chat request."""
    return {
        "model": "gpt-5.4",
        "instructions": "bench",
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}],
        "stream": True,
        "store": False,
    }


@dataclass(frozen=True)
class Shape:
    """A kind of answer: what the mock serves for it alone, and the gateway request that produces it."""

    name: str
    label: str
    mock: Request
    via_gateway: Request


SHAPES: tuple[Shape, ...] = (
    Shape(
        "chat_json",
        "chat pass-through JSON",
        Request(
            "/v1/chat/completions",
            {"model": PASSTHROUGH, "messages": MESSAGE},
            ("Authorization: Bearer sk",),
            "You said",
        ),
        Request("/v1/chat/completions", {"model": PASSTHROUGH, "messages": MESSAGE}, (), "You said"),
    ),
    Shape(
        "chat_sse",
        "chat pass-through SSE",
        Request(
            "/v1/chat/completions",
            {"model": PASSTHROUGH, "messages": MESSAGE, "stream": True, "stream_options": {"include_usage": True}},
            ("Authorization: Bearer sk",),
            "[DONE]",
        ),
        Request("/v1/chat/completions", {"model": PASSTHROUGH, "messages": MESSAGE, "stream": True}, (), "[DONE]"),
    ),
    Shape(
        "bridged_json",
        "bridged JSON (chat → codex Responses SSE)",
        Request("/backend-api/codex/responses", codex_body(), CODEX_HEADERS, "response.completed"),
        Request("/v1/chat/completions", {"model": BRIDGED, "messages": MESSAGE}, (), "You said"),
    ),
    Shape(
        "bridged_sse",
        "bridged SSE (chat → codex Responses SSE)",
        Request("/backend-api/codex/responses", codex_body(), CODEX_HEADERS, "response.completed"),
        Request("/v1/chat/completions", {"model": BRIDGED, "messages": MESSAGE, "stream": True}, (), "[DONE]"),
    ),
    Shape(
        "reverse_json",
        "reverse bridge JSON (Responses → chat JSON)",
        Request(
            "/v1/chat/completions",
            {"model": PASSTHROUGH, "messages": MESSAGE},
            ("Authorization: Bearer sk",),
            "You said",
        ),
        Request("/v1/responses", {"model": PASSTHROUGH, "input": "benchmark this request"}, (), "You said"),
    ),
    Shape(
        "reverse_sse",
        "reverse bridge SSE (Responses → chat SSE)",
        Request(
            "/v1/chat/completions",
            {"model": PASSTHROUGH, "messages": MESSAGE, "stream": True, "stream_options": {"include_usage": True}},
            ("Authorization: Bearer sk",),
            "[DONE]",
        ),
        Request(
            "/v1/responses",
            {"model": PASSTHROUGH, "input": "benchmark this request", "stream": True},
            (),
            "response.completed",
        ),
    ),
)
"""The mock's figure for a shape is what the gateway's upstream call costs it alone: chat for pass-through and
the reverse bridge, the codex Responses stream for the bridge."""


# ---------------------------------------------------------------- load generators


def wrk_script(request: Request, folder: Path) -> Path:
    """A wrk Lua script: POST the body with the headers, count answers that are not 200 or lack the marker."""
    body = json.dumps(request.body)
    lines = [
        'wrk.method = "POST"',
        f"wrk.body = [==[{body}]==]",
        'wrk.headers["Content-Type"] = "application/json"',
    ]
    for header in request.headers:
        name, _, value = header.partition(":")
        lines.append(f"wrk.headers[{json.dumps(name.strip())}] = {json.dumps(value.strip())}")
    lines += [
        "local threads = {}",
        "function setup(thread) table.insert(threads, thread) end",
        "function init(args) bad = 0 end",
        f"local expect = {json.dumps(request.expect)}",
        "function response(status, headers, body)",
        "  if status ~= 200 or not string.find(body, expect, 1, true) then bad = bad + 1 end",
        "end",
        "function done(summary, latency, requests)",
        "  local b = 0",
        '  for _, t in ipairs(threads) do b = b + t:get("bad") end',
        "  local e = summary.errors",
        '  io.write(string.format("WRKJSON {\\"requests\\": %d, \\"bad\\": %d, \\"socket_errors\\": %d, '
        '\\"duration_us\\": %d, \\"p50_us\\": %d, \\"p99_us\\": %d, \\"mean_us\\": %f}\\n", '
        "summary.requests, b, e.connect + e.read + e.write + e.timeout, summary.duration, "
        "latency:percentile(50), latency:percentile(99), latency.mean))",
        "end",
    ]
    path = folder / f"wrk-{abs(hash((request.path, body, request.headers))):x}.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_wrk(
    url: str, request: Request, *, folder: Path, connections: int, seconds: float, pinning: bool
) -> dict[str, Any]:
    script = wrk_script(request, folder)
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", str(script), url + request.path]
    done = subprocess.run(pin(1, command, pinning), capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next((row for row in done.stdout.splitlines() if row.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line[len("WRKJSON ") :])
    elapsed = raw["duration_us"] / 1e6
    good = raw["requests"] - raw["bad"]
    errors = {key: raw[key] for key in ("bad", "socket_errors") if raw[key]}
    return {
        "requests": raw["requests"],
        "errors": errors,
        "elapsed_seconds": elapsed,
        "rps": good / elapsed if elapsed > 0 else 0.0,
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "mean_ms": raw["mean_us"] / 1000,
    }


def run_loadgen(
    url: str,
    request: Request | None,
    *,
    connections: int,
    seconds: float,
    pinning: bool,
    requests: int = 10**9,
    mix: Path | None = None,
    warmup: int = 20,
) -> dict[str, Any]:
    command = [
        PYTHON,
        LOADGEN,
        f"--concurrency={connections}",
        f"--requests={requests}",
        f"--duration={seconds}",
        f"--warmup={warmup}",
    ]
    if mix is not None:
        command.append(f"--mix={mix}")
    if request is not None:
        command += [f"--url={url + request.path}", f"--body={json.dumps(request.body)}", f"--expect={request.expect}"]
        command += [f"--header={header}" for header in request.headers]
    done = subprocess.run(pin(1, command, pinning), capture_output=True, check=True, timeout=seconds + 600)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@dataclass
class Driver:
    """Runs one load against one process and measures that process's CPU over it."""

    kind: str
    folder: Path
    pinning: bool

    def measure(
        self, pid: int, url: str, request: Request, *, connections: int, seconds: float, label: str
    ) -> dict[str, Any]:
        cpu_before = proc_cpu_seconds(pid)
        if self.kind == "wrk":
            result = run_wrk(
                url, request, folder=self.folder, connections=connections, seconds=seconds, pinning=self.pinning
            )
        else:
            result = run_loadgen(url, request, connections=connections, seconds=seconds, pinning=self.pinning)
        cpu = proc_cpu_seconds(pid) - cpu_before
        answered = result["requests"] + sum(result["errors"].values())
        result["cpu_ms_per_request"] = cpu / answered * 1000 if answered else 0.0
        if result["errors"]:
            print(f"  warning: {label}: errors {result['errors']}", file=sys.stderr)
        return result


def warm(driver: Driver, pid: int, url: str, request: Request) -> None:
    """A short untimed load first: connection pools, caches and lazily built objects are ready."""
    driver.measure(pid, url, request, connections=4, seconds=1.0, label="warm-up")


# ---------------------------------------------------------------- instruction counts


def count_instructions(
    pid: int, folder: Path, url: str, request: Request, *, requests: int, connections: int
) -> dict[str, Any]:
    """Instructions per answered request of a process under :func:`callgrind`: counting on, ``requests``
    requests, counting off, read the dump. Machine load does not move this figure (kernel time is not in it)."""
    before = set(folder.glob("callgrind.out.*"))
    subprocess.run(["callgrind_control", "-z", str(pid)], check=True, capture_output=True)
    subprocess.run(["callgrind_control", "-i", "on", str(pid)], check=True, capture_output=True)
    result = run_loadgen(
        url, request, connections=connections, seconds=3600, pinning=False, requests=requests, warmup=0
    )
    subprocess.run(["callgrind_control", "-d", str(pid)], check=True, capture_output=True)
    subprocess.run(["callgrind_control", "-i", "off", str(pid)], check=True, capture_output=True)
    deadline = time.monotonic() + 60
    dumps: list[Path] = []
    while not dumps and time.monotonic() < deadline:
        dumps = sorted(set(folder.glob("callgrind.out.*")) - before, key=lambda path: path.stat().st_mtime)
        time.sleep(0.2)
    if not dumps:
        raise RuntimeError(f"callgrind wrote no dump for {pid}")
    total = 0
    for line in dumps[-1].read_text(errors="replace").splitlines():
        if line.startswith(("summary:", "totals:")):
            total = int(line.split()[1])
    answered = result["requests"] + sum(result["errors"].values())
    return {"requests": answered, "errors": result["errors"], "instructions_per_request": total / max(1, answered)}


def measure_instructions(
    folder: Path, upstream: str, *, requests: int, pinning: bool, baseline: Path | None, env: dict[str, str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """Every shape at 16 and at 1 connection: instructions per request of the mock alone (its own counted
    instance) and of each gateway (counted instances of their own, on the normal mock)."""
    results: dict[str, dict[str, dict[str, Any]]] = {}
    with ExitStack() as stack:
        mock, mock_url = stack.enter_context(simulator(folder / "counted-mock", pinning=pinning, counted=True, core=0))
        targets: list[tuple[str, int, str, Path]] = [("mock", mock.pid, mock_url, folder / "counted-mock")]
        codes = [("gateway", ROOT)] + ([("baseline", baseline.resolve())] if baseline is not None else [])
        for name, code in codes:
            where = folder / f"counted-{name}"
            gw = stack.enter_context(
                gateway(where, upstream, name=name, pinning=pinning, env=env, code=code, counted=True)
            )
            targets.append((name, gw.proc.pid, gw.url, where))
        for connections in (16, 1):
            for shape in SHAPES:
                key = f"{shape.name}_c{connections}"
                results[key] = {}
                for name, pid, url, where in targets:
                    request = shape.mock if name == "mock" else shape.via_gateway
                    print(f"instructions: {key} {name} ...", file=sys.stderr, flush=True)
                    run_loadgen(url, request, connections=4, seconds=600, pinning=False, requests=100, warmup=20)
                    results[key][name] = count_instructions(
                        pid, where, url, request, requests=requests, connections=connections
                    )
    return results


# ---------------------------------------------------------------- the run


def _best(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The best round by requests/s (interference only ever makes a round worse); CPU per request is the
    median over rounds, and every round's figures are kept."""
    best = dict(max(rows, key=lambda row: float(row["rps"])))
    best["cpu_ms_per_request"] = statistics.median(float(row["cpu_ms_per_request"]) for row in rows)
    best["rounds"] = [
        {key: row[key] for key in ("rps", "p50_ms", "p99_ms", "cpu_ms_per_request", "requests")} for row in rows
    ]
    return best


def measure_shapes(
    driver: Driver,
    mock_pid: int,
    mock_url: str,
    gateways: Sequence[Gateway],
    *,
    connections: int,
    seconds: float,
    repeat: int,
) -> dict[str, dict[str, Any]]:
    """Every shape, mock alone then each gateway, ``repeat`` rounds; per shape and target the best round."""
    results: dict[str, dict[str, Any]] = {}
    for shape in SHAPES:
        warm(driver, mock_pid, mock_url, shape.mock)
        for gw in gateways:
            warm(driver, gw.proc.pid, gw.url, shape.via_gateway)
        rows: dict[str, list[dict[str, Any]]] = {"mock": [], **{gw.name: [] for gw in gateways}}
        for round_number in range(max(1, repeat)):
            print(f"{shape.name} c={connections} round {round_number + 1} ...", file=sys.stderr, flush=True)
            rows["mock"].append(
                driver.measure(
                    mock_pid, mock_url, shape.mock, connections=connections, seconds=seconds, label=f"{shape.name} mock"
                )
            )
            for gw in gateways:
                rows[gw.name].append(
                    driver.measure(
                        gw.proc.pid,
                        gw.url,
                        shape.via_gateway,
                        connections=connections,
                        seconds=seconds,
                        label=f"{shape.name} {gw.name}",
                    )
                )
        results[shape.name] = {name: _best(found) for name, found in rows.items()}
    return results


def soak_mix(url: str, folder: Path) -> Path:
    """The soak's request mix: bridged, reverse-bridged and pass-through, stream and not, empty outputs the
    bridge recovers, upstream 503s."""

    def chat(model: str, text: str, *, stream: bool) -> dict[str, Any]:
        return {"model": model, "messages": [{"role": "user", "content": text}], "stream": stream}

    chat_path, responses_path = "/v1/chat/completions", "/v1/responses"
    cases: list[tuple[str, str, dict[str, Any], int, str | None, int]] = [
        ("bridged_json", chat_path, chat(BRIDGED, "soak", stream=False), 200, "You said", 6),
        ("bridged_sse", chat_path, chat(BRIDGED, "soak", stream=True), 200, "[DONE]", 6),
        ("chat_json", chat_path, chat(PASSTHROUGH, "soak", stream=False), 200, "You said", 6),
        ("chat_sse", chat_path, chat(PASSTHROUGH, "soak", stream=True), 200, "[DONE]", 6),
        ("reverse_json", responses_path, {"model": PASSTHROUGH, "input": "soak"}, 200, "You said", 3),
        ("reverse_sse", responses_path, {"model": PASSTHROUGH, "input": "soak", "stream": True}, 200, "completed", 3),
        ("bridged_recovered_json", chat_path, chat(BRIDGED, "soak #empty", stream=False), 200, "You said", 1),
        ("bridged_recovered_sse", chat_path, chat(BRIDGED, "soak #empty", stream=True), 200, "[DONE]", 1),
        ("bridged_upstream_503", chat_path, chat(BRIDGED, "soak #status:503", stream=False), 503, None, 1),
        ("chat_upstream_503", chat_path, chat(PASSTHROUGH, "soak #status:503", stream=True), 503, None, 1),
    ]
    path = folder / "soak-mix.json"
    rows = [
        {"name": name, "url": url + where, "body": body, "status": status, "expect": expect, "weight": weight}
        for name, where, body, status, expect, weight in cases
    ]
    path.write_text(json.dumps(rows))
    return path


def soak(gw: Gateway, folder: Path, *, requests: int, connections: int, pinning: bool) -> dict[str, Any]:
    """``requests`` mixed requests in slices, RSS after each; settled = after the second slice."""
    mix = soak_mix(gw.url, folder)
    per_slice = max(1, requests // SOAK_SLICES)
    rss: list[float] = []
    totals: dict[str, int] = {}
    errors: dict[str, int] = {}
    cpu_before = proc_cpu_seconds(gw.proc.pid)
    started = time.monotonic()
    for number in range(SOAK_SLICES):
        print(f"soak slice {number + 1}/{SOAK_SLICES} ({per_slice} requests) ...", file=sys.stderr, flush=True)
        result = run_loadgen(
            "", None, connections=connections, seconds=1e6, pinning=pinning, requests=per_slice, mix=mix, warmup=0
        )
        for name, count in result["per_case"].items():
            totals[name] = totals.get(name, 0) + count
        for name, count in result["errors"].items():
            errors[name] = errors.get(name, 0) + count
        rss.append(proc_memory_mb(gw.proc.pid)[0])
    elapsed = time.monotonic() - started
    answered = sum(totals.values()) + sum(errors.values())
    settled = rss[1] if len(rss) > 1 else rss[0]
    return {
        "requests": answered,
        "per_case": totals,
        "errors": errors,
        "seconds": elapsed,
        "cpu_ms_per_request": (proc_cpu_seconds(gw.proc.pid) - cpu_before) / answered * 1000 if answered else 0.0,
        "rss_by_slice_mb": rss,
        "rss_settled_mb": settled,
        "rss_end_mb": rss[-1],
        "rss_growth_mb": rss[-1] - settled,
        "peak_rss_mb": proc_memory_mb(gw.proc.pid)[1],
    }


def added_latency(sequential: dict[str, dict[str, Any]], gw: str) -> dict[str, float]:
    """The worst shape's p50 and p99 at one connection, gateway minus mock."""
    return {
        "p50_ms": max(rows[gw]["p50_ms"] - rows["mock"]["p50_ms"] for rows in sequential.values()),
        "p99_ms": max(rows[gw]["p99_ms"] - rows["mock"]["p99_ms"] for rows in sequential.values()),
    }


def summarise(report: dict[str, Any], gw: str) -> dict[str, float]:
    throughput = report.get("throughput", {})
    summary: dict[str, float] = {}
    for shape in SHAPES if throughput else ():
        rows = throughput[shape.name]
        summary[f"{shape.name}_rps"] = rows[gw]["rps"]
        summary[f"{shape.name}_mock_rps"] = rows["mock"]["rps"]
        summary[f"{shape.name}_ratio"] = rows[gw]["rps"] / rows["mock"]["rps"] if rows["mock"]["rps"] else 0.0
        summary[f"{shape.name}_cpu_ms"] = rows[gw]["cpu_ms_per_request"]
        summary[f"{shape.name}_mock_cpu_ms"] = rows["mock"]["cpu_ms_per_request"]
        # What the ratio would be with a whole core each (both CPU-bound): robust to a busy machine.
        gw_cpu = rows[gw]["cpu_ms_per_request"]
        summary[f"{shape.name}_cpu_ratio"] = rows["mock"]["cpu_ms_per_request"] / gw_cpu if gw_cpu else 0.0
        counted = report.get("instructions", {}).get(f"{shape.name}_c16", {})
        if gw in counted:
            summary[f"{shape.name}_instructions"] = counted[gw]["instructions_per_request"]
            summary[f"{shape.name}_instructions_vs_mock"] = (
                counted[gw]["instructions_per_request"] / counted["mock"]["instructions_per_request"]
            )
    if report.get("sequential"):
        latency = added_latency(report["sequential"], gw)
        summary["added_latency_p50_ms"] = latency["p50_ms"]
        summary["added_latency_p99_ms"] = latency["p99_ms"]
    summary["rss_mb"], summary["peak_rss_mb"] = report["memory"][gw]
    if gw in report.get("soak", {}):
        summary["soak_rss_growth_mb"] = report["soak"][gw]["rss_growth_mb"]
    return summary


def run(args: argparse.Namespace) -> dict[str, Any]:
    pinning = not args.no_pin
    kind = args.loadgen if args.loadgen != "auto" else ("wrk" if shutil.which("wrk") else "python")
    extra_env = dict(item.split("=", 1) for item in args.gateway_env)
    report: dict[str, Any] = {
        "config": {
            "connections": args.connections,
            "seconds": args.seconds,
            "latency_seconds": args.latency_seconds,
            "repeat": args.repeat,
            "load_generator": kind,
            "soak_requests": args.soak,
            "pinned": pinning and shutil.which("taskset") is not None,
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "load_average_at_start": os.getloadavg()[0],
            "gateway_env": list(args.gateway_env),
            "baseline": str(args.baseline) if args.baseline else None,
        },
    }
    with tempfile.TemporaryDirectory(prefix="aliasgate-bench-") as tmp, ExitStack() as stack:
        folder = Path(tmp)
        mock, upstream = stack.enter_context(simulator(folder, pinning=pinning))
        gateways = [
            stack.enter_context(gateway(folder / "gateway", upstream, name="gateway", pinning=pinning, env=extra_env))
        ]
        if args.baseline is not None:
            gateways.append(
                stack.enter_context(
                    gateway(
                        folder / "baseline",
                        upstream,
                        name="baseline",
                        pinning=pinning,
                        env=extra_env,
                        code=args.baseline.resolve(),
                    )
                )
            )
        driver = Driver(kind, folder, pinning)
        if not args.soak_only:
            report["throughput"] = measure_shapes(
                driver,
                mock.pid,
                upstream,
                gateways,
                connections=args.connections,
                seconds=args.seconds,
                repeat=args.repeat,
            )
            report["sequential"] = measure_shapes(
                driver, mock.pid, upstream, gateways, connections=1, seconds=args.latency_seconds, repeat=args.repeat
            )
        report["memory"] = {gw.name: proc_memory_mb(gw.proc.pid) for gw in gateways}
        if args.soak:
            report["soak"] = {
                gw.name: soak(gw, folder, requests=args.soak, connections=args.connections, pinning=pinning)
                for gw in gateways
            }
        report["gateway_overhead_metric"] = {gw.name: overhead_means(gw.admin_url) for gw in gateways}
        if args.instructions:
            report["instructions"] = measure_instructions(
                folder, upstream, requests=args.instructions, pinning=pinning, baseline=args.baseline, env=extra_env
            )
    report["config"]["load_average_at_end"] = os.getloadavg()[0]
    report["summary"] = {gw: summarise(report, gw) for gw in report["memory"]}
    return report


def overhead_means(admin_url: str) -> dict[str, float]:
    """Mean of ``aliasgate_gateway_overhead_seconds`` per alias in ms: the gateway's own view of its cost."""
    text = scrape_sync(admin_url)
    sums = {
        dict(labels)["alias"]: value
        for labels, value in samples(text, "aliasgate_gateway_overhead_seconds_sum").items()
    }
    counts = {
        dict(labels)["alias"]: value
        for labels, value in samples(text, "aliasgate_gateway_overhead_seconds_count").items()
    }
    return {alias: sums[alias] / counts[alias] * 1000 for alias in sums if counts.get(alias)}


def render(report: dict[str, Any]) -> str:
    names = list(report["summary"])
    lines = [
        f"load generator: {report['config']['load_generator']}, {report['config']['connections']} connections, "
        f"best of {report['config']['repeat']} rounds (CPU per request: median of rounds)",
        "",
        f"{'shape':<14}{'target':<10}{'req/s':>9}{'x mock':>8}{'p50 ms':>9}{'p99 ms':>9}{'cpu ms/req':>12}",
    ]
    for section, title in (("throughput", "throughput"), ("sequential", "one connection")):
        if section not in report:
            continue
        lines.append(f"-- {title}")
        for shape, rows in report.get(section, {}).items():
            mock_rps = rows["mock"]["rps"]
            for name, row in rows.items():
                ratio = "" if name == "mock" else f"{row['rps'] / mock_rps:.2f}" if mock_rps else "-"
                lines.append(
                    f"{shape:<14}{name:<10}{row['rps']:>9.0f}{ratio:>8}{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}"
                    f"{row['cpu_ms_per_request']:>12.3f}"
                )
    for name in names:
        rss, peak = report["memory"][name]
        lines.append(f"{name}: RSS {rss:.1f} MiB (peak {peak:.1f})")
        if name in report.get("soak", {}):
            run_ = report["soak"][name]
            lines.append(
                f"{name} soak: {run_['requests']} requests in {run_['seconds']:.0f} s, {run_['cpu_ms_per_request']:.3f} "
                f"CPU ms/req, RSS settled {run_['rss_settled_mb']:.1f} → end {run_['rss_end_mb']:.1f} MiB "
                f"({run_['rss_growth_mb']:+.1f}), peak {run_['peak_rss_mb']:.1f}; errors {run_['errors'] or 'none'}"
            )
        for alias, mean in report.get("gateway_overhead_metric", {}).get(name, {}).items():
            lines.append(f"{name}: aliasgate_gateway_overhead_seconds mean for {alias}: {mean:.3f} ms")
    if "instructions" in report:
        lines.append("")
        lines.append("instructions per request (callgrind; user space, independent of machine load):")
        for key, rows in report["instructions"].items():
            mock_ir = rows["mock"]["instructions_per_request"]
            cells = [f"mock {mock_ir / 1e3:,.0f}k"] + [
                f"{name} {row['instructions_per_request'] / 1e3:,.0f}k ({row['instructions_per_request'] / mock_ir:.1f}x mock)"
                for name, row in rows.items()
                if name != "mock"
            ]
            lines.append(f"  {key:<18}" + "   ".join(cells))
    config = report["config"]
    lines.append(
        f"load average at start/end: {config['load_average_at_start']:.2f} / {config['load_average_at_end']:.2f} "
        f"on {config['cpus']} CPUs (other processes inflate latencies and deflate requests/s; ratios and CPU per "
        "request move less)"
    )
    lines.append("")
    lines.append(f"{'target':<52}" + "".join(f"{name:>12}" for name in names) + f"{'goal':>10}")
    for key, (op, goal, label) in TARGETS.items():
        cells = []
        for name in names:
            value = report["summary"][name].get(key)
            if value is None:
                cells.append(f"{'-':>12}")
                continue
            ok = value >= goal if op == ">=" else value <= goal
            cells.append(f"{value:>7.2f} {'ok' if ok else 'MISS':<4}")
        lines.append(f"{label:<52}" + "".join(cells) + f"  {op}{goal:>6.2f}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", "--concurrency", type=int, default=16, dest="connections")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each throughput measurement")
    parser.add_argument("--latency-seconds", type=float, default=4.0, help="length of each 1-connection measurement")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per shape; the best is kept")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--soak", type=int, default=0, metavar="N", help="also send N mixed requests, RSS per slice")
    parser.add_argument("--full", action="store_true", help="the same as --soak 100000")
    parser.add_argument("--soak-only", action="store_true", help="skip the shapes: only the soak (and RSS)")
    parser.add_argument(
        "--instructions",
        type=int,
        default=0,
        metavar="N",
        help="also count instructions per request under callgrind (N requests per shape; needs valgrind)",
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to cores")
    parser.add_argument(
        "--baseline", type=Path, default=None, metavar="DIR", help="also run a gateway from another checkout"
    )
    parser.add_argument(
        "--gateway-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the gateway processes (e.g. ALIASGATE_EVENT_LOOP=asyncio)",
    )
    parser.add_argument("--output", default="bench_gateway.json", help="where to write the JSON report")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.full and not args.soak:
        args.soak = 100_000
    report = run(args)
    print(render(report))
    Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nJSON report: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
