"""Scale benchmark of the Kubernetes API test server (tests/kubeapi): 10,000 ModelAlias creates over HTTP,
a full list, and watch fan-out to many watchers. Not a test: prints figures.

    .venv/bin/python benchmarks/bench_kubeapi.py [--objects 10000] [--watchers 100] [--concurrency 32] [--in-process]

By default the server runs as its own process (``python -m tests.kubeapi``), as the controller benchmark
uses it, so client and server each get a core; ``--in-process`` shares one event loop with the client.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import pathlib
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from tests.kubeapi import TEST_CRD, KubeApiServer
from tests.support.processes import stop

PATH = "/apis/aliasgate.io/v1alpha1/namespaces/team-a/modelaliases"


def _alias(index: int) -> dict[str, Any]:
    return {
        "apiVersion": "aliasgate.io/v1alpha1",
        "kind": "ModelAlias",
        "metadata": {"name": f"alias-{index:05d}", "labels": {"shard": str(index % 10)}},
        "spec": {"alias": f"team/model-{index}", "backend": {"provider": "openai", "model": f"gpt-{index % 7}"}},
    }


async def _watch(http: aiohttp.ClientSession, rv: str, expected: int, counts: list[int]) -> None:
    async with http.get(PATH, params={"watch": "true", "resourceVersion": rv}) as response:
        seen = 0
        async for _line in response.content:
            seen += 1
            if seen == expected:
                break
        counts.append(seen)


class _Remote:
    """The parts of ``KubeApiServer`` the benchmark uses, for a server in another process."""

    def __init__(self, url: str) -> None:
        self.url = url


@contextlib.asynccontextmanager
async def _process_server() -> AsyncIterator[_Remote]:
    root = pathlib.Path(__file__).resolve().parents[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.kubeapi",
        "--port",
        "0",
        "--crd",
        str(TEST_CRD),
        cwd=root,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    try:
        yield _Remote(line.rsplit(" ", 1)[-1].strip())
    finally:
        await stop(process)


@contextlib.asynccontextmanager
async def _in_process_server() -> AsyncIterator[KubeApiServer]:
    async with KubeApiServer() as api:
        api.install_crd(TEST_CRD)
        yield api


async def _current_rv(http: aiohttp.ClientSession) -> str:
    async with http.get(PATH) as response:
        rv: str = (await response.json())["metadata"]["resourceVersion"]
        return rv


async def main(objects: int, watchers: int, concurrency: int, in_process: bool) -> None:
    server = _in_process_server() if in_process else _process_server()
    async with server as api:
        connector = aiohttp.TCPConnector(limit=concurrency + watchers + 4)
        async with aiohttp.ClientSession(base_url=api.url, connector=connector) as http:
            rv = await _current_rv(http)
            counts: list[int] = []
            watch_tasks = [asyncio.create_task(_watch(http, rv, objects, counts)) for _ in range(watchers)]
            await asyncio.sleep(0.5)  # let every watch connect
            queue: asyncio.Queue[int] = asyncio.Queue()
            for index in range(objects):
                queue.put_nowait(index)

            async def worker() -> None:
                while not queue.empty():
                    index = queue.get_nowait()
                    async with http.post(
                        PATH, data=orjson.dumps(_alias(index)), headers={"Content-Type": "application/json"}
                    ) as response:
                        assert response.status == 201, await response.text()
                        await response.read()

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            created = time.perf_counter() - started
            started = time.perf_counter()
            async with http.get(PATH) as response:
                body = await response.read()
            listed = time.perf_counter() - started
            items = len(orjson.loads(body)["items"])
            started = time.perf_counter()
            async with http.get(PATH, params={"labelSelector": "shard=3"}) as response:
                selected = len(orjson.loads(await response.read())["items"])
            selected_time = time.perf_counter() - started
            started = time.perf_counter()
            await asyncio.wait_for(asyncio.gather(*watch_tasks), timeout=120)
            drained = time.perf_counter() - started
    print(
        f"objects={objects} concurrency={concurrency} watchers={watchers} server={'in-process' if in_process else 'own process'}"
    )
    print(f"create: {created:.2f} s ({objects / created:.0f} creates/s with {watchers} watchers attached)")
    print(f"list all: {listed * 1000:.0f} ms for {items} items ({len(body) / 1e6:.1f} MB)")
    print(f"list labelSelector=shard=3: {selected_time * 1000:.0f} ms for {selected} items")
    print(
        f"watch fan-out: {watchers} watchers x {objects} events all delivered {sum(counts) == watchers * objects}; drained {drained:.2f} s after the last create"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--watchers", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--in-process", action="store_true", help="run the server in this process's event loop")
    args = parser.parse_args()
    asyncio.run(main(args.objects, args.watchers, args.concurrency, args.in_process))
