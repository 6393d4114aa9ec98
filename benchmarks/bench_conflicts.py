"""Benchmark the conflict engine: ``python benchmarks/bench_conflicts.py [--aliases N] [--backends M]``.

Resolves N aliases spread over M backends (default 10,000 over 2,000) with the conflicts a large
cluster would have: shared backends with mixed declared modes (downgrades), chatgpt backends with
chat declarations, duplicate alias names and fallbacks. Prints the best wall time of several runs,
the tracemalloc peak of one run and the process's peak RSS. Target: under 1 s and 200 MB.
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from controller import conflicts, resources

PROVIDERS = ("openai", "openai", "openai-compatible", "azure-openai", "chatgpt")


def make_objects(aliases: int, backends: int, seed: int = 1) -> list[resources.ModelAlias]:
    rng = random.Random(seed)
    pool: list[dict[str, Any]] = []
    for index in range(backends):
        provider = PROVIDERS[index % len(PROVIDERS)]
        backend: dict[str, Any] = {"provider": provider, "model": f"model-{index}", "credentials": "shared-key"}
        if provider in ("openai-compatible", "azure-openai"):
            backend["baseURL"] = f"https://host-{index % 50}.example.com/v1"
        if provider == "azure-openai":
            backend["apiVersion"] = "2025-04-01-preview"
        pool.append(backend)
    objects = []
    for index in range(aliases):
        backend = dict(pool[index % backends])
        if index % 7 == 0 and "baseURL" in backend:
            backend["baseURL"] = backend["baseURL"].replace("example.com", "EXAMPLE.com:443") + "/"
        spec: dict[str, Any] = {"backend": backend, "alias": f"alias-{index if index % 20 else index // 2}"}
        mode = rng.choice([None, None, "chat", "responses"])
        if mode is not None:
            spec["mode"] = mode
        if index % 5 == 0:
            spec["fallbacks"] = [f"alias-{rng.randrange(aliases)}"]
            spec["timeouts"] = {"readSeconds": 300}
        raw = {
            "apiVersion": "aliasgate.io/v1alpha1",
            "kind": "ModelAlias",
            "metadata": {
                "name": f"alias-{index}",
                "namespace": f"team-{index % 40}",
                "uid": f"uid-{index}",
                "generation": 1 + index % 3,
                "creationTimestamp": f"2026-01-{1 + index % 28:02d}T00:00:00Z",
            },
            "spec": spec,
        }
        objects.append(resources.parse_object(raw))
    return objects


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aliases", type=int, default=10_000)
    parser.add_argument("--backends", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    objects = make_objects(args.aliases, args.backends)
    rss_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    credentials = {"shared-key": conflicts.CredentialInfo()}
    times: list[float] = []
    cpu_times: list[float] = []
    resolution = None
    for _ in range(args.runs):
        gc.collect()
        start, cpu_start = time.perf_counter(), time.process_time()
        resolution = conflicts.resolve(objects, credentials=credentials, generation=1)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    assert resolution is not None
    resolution.table.check()

    gc.collect()
    tracemalloc.start()
    conflicts.resolve(objects, credentials=credentials, generation=1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    reasons = Counter(v.reason for v in resolution.verdicts.values())
    print(f"aliases={args.aliases} backends={args.backends} runs={args.runs}")
    print(f"outcome: {len(resolution.table.routes)} routes, {len(resolution.table.backends)} backends, {dict(reasons)}")
    print(f"resolve wall time: best {min(times):.3f} s, median {sorted(times)[len(times) // 2]:.3f} s")
    print(f"resolve CPU time: best {min(cpu_times):.3f} s (the wall figures include waiting for a busy machine)")
    print(f"tracemalloc peak during one resolve: {peak / 2**20:.1f} MiB")
    print(
        f"process peak RSS: {rss_kib / 1024:.1f} MiB "
        f"({rss_before_kib / 1024:.1f} MiB after importing and parsing the objects, before resolving)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
