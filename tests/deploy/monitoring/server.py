"""A real Prometheus server on loopback scraping live metric registries, for judging PromQL that a dashboard runs.

Each target is a prometheus_client registry served over HTTP by a thread in the test process (so a test can
change the figures between queries) and scraped every second with the labels the Prometheus Operator would
give it (`namespace`, `pod`). Debian's `prometheus` package provides the binary, as it provides promtool.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from tests.support.ports import free_port

SCRAPE_SECONDS = 1


@dataclass(frozen=True)
class Target:
    """One scraped process: its registry and the target labels Prometheus attaches."""

    registry: CollectorRegistry
    labels: Mapping[str, str]


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


class Prometheus:
    """Query access to the running server."""

    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, expr: str) -> list[Sample]:
        """An instant query now; a PromQL error fails the test with Prometheus' message."""
        body = urllib.parse.urlencode({"query": expr}).encode()
        request = urllib.request.Request(f"{self.url}/api/v1/query", data=body, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                answer: dict[str, Any] = json.load(response)
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{expr}: {exc.read().decode()}") from None
        assert answer["status"] == "success", answer
        data = answer["data"]
        if data["resultType"] == "scalar":
            return [Sample({}, float(data["result"][1]))]
        assert data["resultType"] == "vector", data
        return [Sample(dict(item["metric"]), float(item["value"][1])) for item in data["result"]]

    def until(self, expr: str, check: Callable[[list[Sample]], bool], timeout: float = 40.0) -> list[Sample]:
        """Query until ``check`` accepts the result (scrapes happen every second)."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.query(expr)
            if check(got):
                return got
            assert time.monotonic() < deadline, f"{expr}: still {got}"
            time.sleep(0.25)

    def scraped(self, targets: int, samples: int = 3) -> None:
        """Wait until every target was scraped successfully at least ``samples`` times."""

        def ready(got: list[Sample]) -> bool:
            return len(got) == targets and all(s.value >= samples for s in got)

        self.until("sum_over_time(up[5m])", ready)


def finite(samples: list[Sample]) -> bool:
    return all(math.isfinite(s.value) for s in samples)


class _Exporter(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, registries: Mapping[str, CollectorRegistry]) -> None:
        self.registries = registries
        super().__init__(("127.0.0.1", free_port()), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Exporter

    def do_GET(self) -> None:
        registry = self.server.registries.get(self.path.strip("/"))
        if registry is None:
            self.send_error(404)
            return
        body = generate_latest(registry)
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE_LATEST)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: one line per scrape would flood the test output."""


@contextmanager
def running(targets: Mapping[str, Target], workdir: Path) -> Iterator[Prometheus]:
    """Serve ``targets`` and run Prometheus scraping them every second; stopped on exit."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus not found: apt-get install prometheus (as .ci/run does)"
    exporter = _Exporter({name: t.registry for name, t in targets.items()})
    thread = threading.Thread(target=exporter.serve_forever, daemon=True)
    thread.start()
    port = exporter.server_address[1]
    config = {
        "global": {"scrape_interval": f"{SCRAPE_SECONDS}s", "scrape_timeout": f"{SCRAPE_SECONDS}s"},
        "scrape_configs": [
            {
                "job_name": name,
                "metrics_path": f"/{name}",
                "static_configs": [{"targets": [f"127.0.0.1:{port}"], "labels": dict(target.labels)}],
            }
            for name, target in targets.items()
        ],
    }
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    web = f"127.0.0.1:{free_port()}"
    log = (workdir / "prometheus.log").open("w", encoding="utf-8")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address={web}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        server = Prometheus(f"http://{web}")
        _wait_ready(server.url, process, workdir / "prometheus.log")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        exporter.shutdown()
        exporter.server_close()


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, f"prometheus exited: {log.read_text(encoding='utf-8')}"
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"prometheus not ready within 60 s: {log.read_text(encoding='utf-8')}")
