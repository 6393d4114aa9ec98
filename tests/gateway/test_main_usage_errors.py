"""``python -m gateway`` with settings that cannot work: one usage line and exit 2, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.routing.table import RoutingTable


def run_gateway(tmp_path: Path, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The gateway outside any cluster: no service-account variables, a HOME without ``.kube/config``."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KUBERNETES_", "KUBECONFIG", "ALIASGATE_"))}
    return subprocess.run(
        [sys.executable, "-m", "gateway", "--listen=127.0.0.1:0", "--admin-listen=127.0.0.1:0", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**clean, "HOME": str(home), **(env or {})},
    )


@pytest.fixture
def table_file(tmp_path: Path) -> Path:
    path = tmp_path / "table.json"
    path.write_bytes(RoutingTable.build(backends={}, routes={}, generation=1).to_json())
    return path


def assert_usage_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("python -m gateway: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_a_file_table_without_secrets_dir_outside_a_cluster_is_a_usage_error(tmp_path: Path, table_file: Path) -> None:
    result = run_gateway(tmp_path, "--table-source", "file", "--table-file", str(table_file))
    assert_usage_error(result, "credentials Secrets (no --secrets-dir)", "--secrets-dir DIR", ".kube/config")


def test_the_kubernetes_table_source_without_any_cluster_is_a_usage_error(tmp_path: Path) -> None:
    result = run_gateway(tmp_path, "--secrets-dir", str(tmp_path))
    assert_usage_error(result, "the routing table ConfigMap (--table-source kubernetes)", "KUBECONFIG")


def test_a_broken_kubeconfig_is_a_usage_error(tmp_path: Path, table_file: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("clusters: [{name: c, cluster: {}}]\ncontexts: [{name: x, context: {cluster: c}}]\n")
    result = run_gateway(
        tmp_path, "--table-source", "file", "--table-file", str(table_file), env={"KUBECONFIG": str(kubeconfig)}
    )
    assert_usage_error(result, "no cluster server")


def test_a_file_table_source_needs_the_file(tmp_path: Path) -> None:
    result = run_gateway(tmp_path, "--table-source", "file", "--secrets-dir", str(tmp_path))
    assert_usage_error(result, "--table-source file needs --table-file")


def test_an_unusable_keys_file_is_a_usage_error(tmp_path: Path, table_file: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("sha256:not-hex\n")
    argv = ["--table-source", "file", "--table-file", str(table_file), "--secrets-dir", str(tmp_path)]
    result = run_gateway(tmp_path, *argv, "--api-keys-file", str(keys))
    assert_usage_error(result, "cannot use --api-keys-file", "line 1")
    assert "not-hex" not in result.stderr
