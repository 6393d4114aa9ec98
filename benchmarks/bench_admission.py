"""Benchmark the admission webhook: ``python benchmarks/bench_admission.py [--aliases N] [--reviews R]``.

Serves the real webhook app (``controller.webhook.server.WebhookServer`` over HTTPS on loopback, with a
self-signed certificate from ``openssl``) on an inventory of N aliases (the conflict benchmark's
population, default 10,000) and posts R AdmissionReviews one after the other: a downgrade (denied), a
duplicate alias (denied) and an upgrade that pushes others out (allowed with warnings), in turn. Prints
the first review (parses the inventory and computes its verdicts once) and the best/median of the rest
(one engine run each). The API server's default webhook timeout is 10 s; the chart sets 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
import orjson
from bench_conflicts import make_objects

from controller.inventory import Inventory
from controller.webhook.review import WEBHOOK_PATH
from controller.webhook.server import WebhookServer
from tests.kubeapi import self_signed_certificate


def _raw(obj: Any) -> dict[str, Any]:
    return dict(orjson.loads(obj.model_dump_json(by_alias=True, exclude_none=True)))


def _candidate(index: int, first: dict[str, Any]) -> dict[str, Any]:
    backend = dict(first["spec"]["backend"])
    spec: dict[str, Any] = {"backend": backend}
    kind = index % 3
    if kind == 0:
        spec["mode"] = "chat"  # downgrade of a Responses backend, or accepted: depends on the backend
    elif kind == 1:
        spec["alias"] = first["spec"].get("alias") or first["metadata"]["name"]  # duplicate
    else:
        spec["mode"] = "responses"
    meta = {"name": f"bench-{index}", "namespace": "bench"}
    return {"apiVersion": "aliasgate.io/v1alpha1", "kind": "ModelAlias", "metadata": meta, "spec": spec}


async def run(aliases: int, reviews: int) -> None:
    raws = [_raw(obj) for obj in make_objects(aliases, max(1, aliases // 5))]
    inventory = Inventory()
    inventory.replace_scope("", raws)
    cert, key = await self_signed_certificate("127.0.0.1")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "tls.crt").write_bytes(cert)
        (Path(tmp) / "tls.key").write_bytes(key)
        server = WebhookServer(
            listen="127.0.0.1:0", cert_file=f"{tmp}/tls.crt", key_file=f"{tmp}/tls.key", inventory=inventory
        )
        await server.start()
    context = ssl.create_default_context(cadata=cert.decode())
    url = f"https://127.0.0.1:{server.port}{WEBHOOK_PATH}"
    times: list[float] = []
    outcomes: dict[str, int] = {}
    try:
        async with aiohttp.ClientSession() as session:
            for index in range(reviews):
                body = {
                    "apiVersion": "admission.k8s.io/v1",
                    "kind": "AdmissionReview",
                    "request": {
                        "uid": str(index),
                        "operation": "CREATE",
                        "object": _candidate(index, raws[index % 50]),
                    },
                }
                started = time.perf_counter()
                async with session.post(url, json=body, ssl=context) as response:
                    answer = (await response.json())["response"]
                times.append(time.perf_counter() - started)
                label = "allowed" if answer["allowed"] else answer["status"]["message"].split(":")[0]
                outcomes[label] = outcomes.get(label, 0) + 1
    finally:
        await server.stop()
    rest = sorted(times[1:]) or times
    print(f"aliases={aliases} reviews={reviews} outcomes={outcomes}")
    print(f"first review (parse + baseline verdicts): {times[0]:.3f} s")
    print(f"later reviews: best {rest[0]:.3f} s, median {rest[len(rest) // 2]:.3f} s, worst {rest[-1]:.3f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aliases", type=int, default=10_000)
    parser.add_argument("--reviews", type=int, default=9)
    args = parser.parse_args()
    asyncio.run(run(args.aliases, args.reviews))
    return 0


if __name__ == "__main__":
    sys.exit(main())
