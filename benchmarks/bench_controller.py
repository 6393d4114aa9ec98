"""Controller at scale: 10,000 ModelAliases in 50 namespaces through the Kubernetes API test server.

Processes (all real, loopback only): the test API server (``python -m tests.kubeapi``), one controller
(``python -m controller``, no election), one gateway (``python -m gateway --table-source kubernetes``)
and this script as the client. Reports:

- time from the last create to a published table holding every alias;
- reconcile time (the controller's own ``reconciled`` log lines: resolve and whole pass);
- publish size, raw JSON and gzipped as stored in the ConfigMap;
- controller RSS (current and peak) once settled;
- apply-to-served latency for one change at that size (a new alias, and a rename), seen by the gateway.

Run: ``.venv/bin/python benchmarks/bench_controller.py [--aliases 10000] [--namespaces 50]``.
Targets: full reconcile < 2 s, one change served < 1 s, RSS < 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gzip
import json
import os
import pathlib
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import yaml

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere: the repository's packages and tests.support

from tests.support.ports import free_port  # noqa: E402
from tests.support.processes import stop, wait_http_ok  # noqa: E402

SYSTEM = "aliasgate-system"
CONFIGMAP = "aliasgate-routes"
GROUP_PATH = "/apis/aliasgate.io/v1alpha1"


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident set size of ``pid`` in MiB."""
    fields = {}
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def alias_object(index: int, namespaces: int) -> dict[str, Any]:
    namespace = f"team-{index % namespaces:02d}"
    spec: dict[str, Any] = {
        "alias": f"{namespace}/model-{index:05d}",
        "backend": {"provider": "openai", "model": f"upstream-{index % 200:03d}", "credentials": "openai-key"},
        "healthCheck": {"enabled": False},
    }
    if index % 3 == 0:
        spec["mode"] = "responses"
    return {
        "apiVersion": "aliasgate.io/v1alpha1",
        "kind": "ModelAlias",
        "metadata": {"name": f"alias-{index:05d}", "namespace": namespace},
        "spec": spec,
    }


@contextlib.asynccontextmanager
async def process(*args: str, env: dict[str, str], log: pathlib.Path) -> AsyncIterator[asyncio.subprocess.Process]:
    with log.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(*args, stdout=sink, stderr=sink, env=env, cwd=str(REPO))
    try:
        yield proc
    finally:
        await stop(proc)


class Api:
    def __init__(self, session: aiohttp.ClientSession, server: str, token: str) -> None:
        self.session = session
        self.server = server
        self.headers = {"Authorization": f"Bearer {token}"}

    async def send(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = content_type
        data = None if body is None else json.dumps(body)
        async with self.session.request(method, self.server + path, data=data, headers=headers) as resp:
            payload = await resp.read()
            if resp.status >= 300:
                raise RuntimeError(f"{method} {path}: {resp.status} {payload[:200]!r}")
            return json.loads(payload) if payload else None


def table_of(configmap: dict[str, Any]) -> tuple[dict[str, Any], int, int]:
    """(table, raw JSON bytes, bytes stored in the ConfigMap)."""
    binary = configmap.get("binaryData") or {}
    if "table.json.gz" in binary:
        stored = binary["table.json.gz"]
        raw = gzip.decompress(base64.b64decode(stored))
    else:
        stored = configmap["data"]["table.json"]
        raw = stored.encode()
    return json.loads(raw), len(raw), len(stored)


def reconciled_lines(log: pathlib.Path, event: str = "reconciled") -> list[dict[str, Any]]:
    """The controller's JSON log lines of one event (``reconciled`` passes, ``statuses_written``)."""
    lines = []
    for line in log.read_text(errors="replace").splitlines():
        if f'"{event}"' in line:
            with contextlib.suppress(ValueError):
                lines.append(json.loads(line))
    return lines


async def gateway_generation(session: aiohttp.ClientSession, admin: str) -> int | None:
    async with session.get(admin + "/status") as resp:
        document = await resp.json()
    table = document.get("table") or {}
    generation = table.get("generation")
    return generation if isinstance(generation, int) else None


async def served(session: aiohttp.ClientSession, public: str, model: str) -> bool:
    async with session.get(f"{public}/v1/models/{model}") as resp:
        await resp.read()
        return resp.status == 200


async def time_until_served(session: aiohttp.ClientSession, public: str, model: str, timeout: float = 30) -> float:
    started = time.perf_counter()
    while not await served(session, public, model):
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"{model} not served within {timeout} s")
        await asyncio.sleep(0.005)
    return time.perf_counter() - started


async def bench(count: int, namespaces: int, workdir: pathlib.Path) -> dict[str, Any]:
    results: dict[str, Any] = {"aliases": count, "namespaces": namespaces}
    kubeconfig = workdir / "kubeconfig"
    api_port, gw_port, gw_admin, ctl_admin = free_port(), free_port(), free_port(), free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "KUBECONFIG": str(kubeconfig)}
    python = sys.executable
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(
            process(
                python, "-m", "tests.kubeapi", "--port", str(api_port), "--kubeconfig", str(kubeconfig),
                "--history-size", str(count * 3), env=env, log=workdir / "kubeapi.log",
            )
        )  # fmt: skip
        session = await stack.enter_async_context(aiohttp.ClientSession())
        server = f"http://127.0.0.1:{api_port}"
        await wait_http_ok(server + "/version", session=session)
        token = yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]["token"]
        api = Api(session, server, token)
        for name in [SYSTEM] + [f"team-{i:02d}" for i in range(namespaces)]:
            await api.send(
                "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            )
        await api.send(
            "POST",
            f"/api/v1/namespaces/{SYSTEM}/secrets",
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "openai-key"},
                "data": {"apiKey": "c2stYmVuY2g="},
            },
        )
        gateway = await stack.enter_async_context(
            process(
                python, "-m", "gateway", "--table-source", "kubernetes", "--namespace", SYSTEM,
                "--listen", f"127.0.0.1:{gw_port}", "--admin-listen", f"127.0.0.1:{gw_admin}",
                env=env, log=workdir / "gateway.log",
            )
        )  # fmt: skip
        controller_log = workdir / "controller.log"
        controller = await stack.enter_async_context(
            process(
                python, "-m", "controller", "--namespace", SYSTEM, "--no-leader-election",
                "--admin-listen", f"127.0.0.1:{ctl_admin}", "--gateway-status-urls", f"http://127.0.0.1:{gw_admin}",
                env=env, log=controller_log,
            )
        )  # fmt: skip
        await wait_http_ok(f"http://127.0.0.1:{ctl_admin}/readyz", session=session)
        _ = gateway

        # 1. Create everything, 32 requests in flight.
        semaphore = asyncio.Semaphore(32)

        async def create(index: int) -> None:
            body = alias_object(index, namespaces)
            async with semaphore:
                await api.send("POST", f"{GROUP_PATH}/namespaces/{body['metadata']['namespace']}/modelaliases", body)

        started = time.perf_counter()
        await asyncio.gather(*(create(i) for i in range(count)))
        last_create = time.perf_counter()
        results["create_seconds"] = round(last_create - started, 2)

        # 2. Until the published table holds every alias.
        version = None
        while True:
            try:
                configmap = await api.send("GET", f"/api/v1/namespaces/{SYSTEM}/configmaps/{CONFIGMAP}")
            except RuntimeError:
                await asyncio.sleep(0.05)
                continue
            rv = configmap["metadata"]["resourceVersion"]
            if rv != version:
                version = rv
                table, raw_size, stored_size = table_of(configmap)
                if len(table["routes"]) == count:
                    break
            if time.perf_counter() - last_create > 120:
                raise RuntimeError("table never held every alias")
            await asyncio.sleep(0.02)
        results["last_create_to_published_seconds"] = round(time.perf_counter() - last_create, 3)
        results["publish_raw_bytes"] = raw_size
        results["publish_stored_bytes"] = stored_size
        results["table_generation_after_bulk"] = table["generation"]

        # 3. Settle: every status written (a pass logs once it is done), then the controller goes quiet.
        quiet_since = time.perf_counter()
        seen = 0
        statuses_done: float | None = None
        while statuses_done is None or time.perf_counter() - quiet_since < 3.0:
            writes = reconciled_lines(controller_log, "statuses_written")
            activity = len(writes) + len(reconciled_lines(controller_log))
            if activity != seen:
                seen, quiet_since = activity, time.perf_counter()
                if statuses_done is None and writes and writes[-1]["total"] >= count:
                    statuses_done = time.perf_counter()
            if time.perf_counter() - last_create > 300:
                raise RuntimeError("statuses never settled")
            await asyncio.sleep(0.1)
        lines = reconciled_lines(controller_log)
        full = [line for line in lines if line.get("objects") == count and line.get("resolve_seconds", 0) > 0]
        results["status_writes_total"] = reconciled_lines(controller_log, "statuses_written")[-1]["total"]
        results["all_statuses_written_after_last_create_seconds"] = round(statuses_done - last_create, 2)
        results["full_reconcile_passes_at_size"] = len(full)
        if full:
            results["full_reconcile_resolve_seconds_median"] = round(
                statistics.median(line["resolve_seconds"] for line in full), 3
            )
            results["full_reconcile_pass_seconds_median"] = round(
                statistics.median(line["duration_seconds"] for line in full), 3
            )
        rss, peak = rss_mb(controller.pid)
        results["controller_rss_mb"] = round(rss, 1)
        results["controller_peak_rss_mb"] = round(peak, 1)

        # 4. One change at this size: a new alias, then a rename of an existing one.
        public = f"http://127.0.0.1:{gw_port}"
        new_latencies: list[float] = []
        rename_latencies: list[float] = []
        passes: list[float] = []
        for round_ in range(5):
            before = len(reconciled_lines(controller_log))
            body = alias_object(count + round_, namespaces)
            body["spec"]["alias"] = f"bench/new-{round_}"
            await api.send("POST", f"{GROUP_PATH}/namespaces/{body['metadata']['namespace']}/modelaliases", body)
            new_latencies.append(await time_until_served(session, public, f"bench/new-{round_}"))
            victim = alias_object(round_ * 7, namespaces)
            path = (
                f"{GROUP_PATH}/namespaces/{victim['metadata']['namespace']}/modelaliases/{victim['metadata']['name']}"
            )
            await api.send(
                "PATCH", path, {"spec": {"alias": f"bench/renamed-{round_}"}}, "application/merge-patch+json"
            )
            rename_latencies.append(await time_until_served(session, public, f"bench/renamed-{round_}"))
            await asyncio.sleep(1.5)
            passes.extend(
                line["duration_seconds"]
                for line in reconciled_lines(controller_log)[before:]
                if line.get("pass_level") == "SPEC"
            )
        results["one_change_new_alias_served_seconds"] = {
            "median": round(statistics.median(new_latencies), 3),
            "max": round(max(new_latencies), 3),
        }
        results["one_change_rename_served_seconds"] = {
            "median": round(statistics.median(rename_latencies), 3),
            "max": round(max(rename_latencies), 3),
        }
        if passes:
            results["one_change_reconcile_pass_seconds_median"] = round(statistics.median(passes), 3)
        results["gateway_generation"] = await gateway_generation(session, f"http://127.0.0.1:{gw_admin}")
        rss, peak = rss_mb(controller.pid)
        results["controller_rss_mb_end"] = round(rss, 1)
        results["controller_peak_rss_mb_end"] = round(peak, 1)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--aliases", type=int, default=10_000)
    parser.add_argument("--namespaces", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs) and print its path")
    args = parser.parse_args()
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="bench-controller-"))
    results = asyncio.run(bench(args.aliases, args.namespaces, workdir))
    print(json.dumps(results, indent=2))
    if args.keep:
        print(f"logs: {workdir}")


if __name__ == "__main__":
    main()
