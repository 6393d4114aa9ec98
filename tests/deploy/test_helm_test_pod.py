"""The chart's `helm test` script, run for real against a real `python -m gateway` process on loopback
(file table source, credentials from a folder: no cluster needed). Only the two Service URLs in the
script are pointed at the loopback ports; the checks themselves run unchanged."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.routing import table
from tests.deploy import manifests
from tests.support.ports import free_port
from tests.support.processes import stop_sync, wait_http_ok_sync

CLIENT_KEY = "sk-helm-test-client-key"


@dataclass(frozen=True)
class RunningGateway:
    public: str
    admin: str


def _table() -> bytes:
    backend = table.Backend(
        key=table.backend_key("openai-compatible", "http://127.0.0.1:9/v1", "m"),
        provider="openai-compatible",
        base_url="http://127.0.0.1:9/v1",
        model="m",
        mode="chat",
    )
    route = table.Route(
        alias="local/m",
        backend=backend.key,
        mode="chat",
        source=table.SourceRef(namespace="team-a", name="m"),
        settings=table.RouteSettings(health_check=table.HealthCheckSettings(enabled=False)),
    )
    return table.RoutingTable.build(backends={backend.key: backend}, routes={"local/m": route}, generation=1).to_json()


def _start_gateway(tmp_path: Path, *, api_keys: bool) -> Iterator[RunningGateway]:
    (tmp_path / "table.json").write_bytes(_table())
    (tmp_path / "secrets").mkdir()
    public_port, admin_port = free_port(), free_port()
    args = [
        sys.executable, "-m", "gateway",
        f"--listen=127.0.0.1:{public_port}",
        f"--admin-listen=127.0.0.1:{admin_port}",
        "--table-source=file",
        f"--table-file={tmp_path / 'table.json'}",
        f"--secrets-dir={tmp_path / 'secrets'}",
        "--shutdown-grace-seconds=1",
    ]  # fmt: skip
    if api_keys:
        (tmp_path / "api-keys").write_text(f"sha256:{hashlib.sha256(CLIENT_KEY.encode()).hexdigest()}\n")
        args.append(f"--api-keys-file={tmp_path / 'api-keys'}")
    with (tmp_path / "gateway.log").open("wb") as log:
        process = subprocess.Popen(args, cwd=manifests.ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            running = RunningGateway(public=f"http://127.0.0.1:{public_port}", admin=f"http://127.0.0.1:{admin_port}")
            wait_http_ok_sync(
                running.admin + "/readyz",
                alive=lambda: process.poll() is None,
                log=tmp_path / "gateway.log",
            )
            yield running
        finally:
            stop_sync(process, grace_seconds=15)


@pytest.fixture
def open_gateway(tmp_path: Path) -> Iterator[RunningGateway]:
    yield from _start_gateway(tmp_path, api_keys=False)


@pytest.fixture
def keyed_gateway(tmp_path: Path) -> Iterator[RunningGateway]:
    yield from _start_gateway(tmp_path, api_keys=True)


def _script(rendered: manifests.Rendered, gateway: RunningGateway) -> str:
    pod = manifests.named(rendered.docs, "Pod", "aliasgate-test-connection")
    script = str(pod["spec"]["containers"][0]["args"][0])
    script, public = re.subn(r'(?m)^public = "http://[^"]+"$', f'public = "{gateway.public}"', script)
    script, admin = re.subn(r'(?m)^admin = "http://[^"]+"$', f'admin = "{gateway.admin}"', script)
    assert (public, admin) == (1, 1), "the script's two Service URLs were not found"
    return script


def _run(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=90, check=False)


@pytest.mark.slow
def test_helm_test_passes_against_an_open_gateway(
    rendered_sources: dict[str, manifests.Rendered], open_gateway: RunningGateway
) -> None:
    result = _run(_script(rendered_sources["default"], open_gateway))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok: /readyz 200, /v1/models 200" in result.stdout


@pytest.mark.slow
def test_helm_test_with_client_keys_expects_a_401_envelope(
    rendered_sources: dict[str, manifests.Rendered], keyed_gateway: RunningGateway
) -> None:
    result = _run(_script(rendered_sources["ha"], keyed_gateway))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "/v1/models 401" in result.stdout


@pytest.mark.slow
def test_helm_test_fails_when_models_are_refused(
    rendered_sources: dict[str, manifests.Rendered], keyed_gateway: RunningGateway
) -> None:
    """The default value set expects an open gateway: a gateway demanding keys fails the test."""
    result = _run(_script(rendered_sources["default"], keyed_gateway))
    assert result.returncode != 0
    assert "/v1/models answered 401" in result.stderr
