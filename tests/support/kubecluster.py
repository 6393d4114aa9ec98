"""A real Kubernetes control plane on loopback: etcd + kube-apiserver + kube-controller-manager, v1.37.2.

``up(folder)`` builds what is missing (:mod:`tests.support.kubebuild`), makes a PKI, starts the three
processes on free 127.0.0.1 ports (TLS everywhere the API is served, RBAC authorization, the default
admission plugins, an audit log, etcd compaction every few seconds so expired resourceVersions can be
tested), writes ``admin.kubeconfig`` and returns once ``/readyz`` answers. ``down(folder)`` stops exactly
the processes ``up`` started (pid files checked against the process start time, so a reused pid is never
signalled) and removes their data. ``scripts/cluster`` and the pytest fixtures both use this module.
Standard library only.

Layout of the folder: ``admin.kubeconfig``, ``cluster.json`` (ports and the exact command of each
process), ``pki/`` (0700), ``etcd-data/``, ``<process>.pid``, ``<process>.log``, ``audit.log``.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import kubebuild
from tests.support.pki import new_ca, rsa_key_pair
from tests.support.ports import free_port

__all__ = ["COMPONENTS", "Cluster", "ClusterError", "down", "up"]

Progress = Callable[[str], None]

ETCD, APISERVER, CONTROLLER_MANAGER = "etcd", "kube-apiserver", "kube-controller-manager"
COMPONENTS = (ETCD, APISERVER, CONTROLLER_MANAGER)
STATE = "cluster.json"
COMPACTION_INTERVAL = "10s"
SERVICE_CIDR = "10.96.0.0/16"
# What pods-less tests need: namespaces deleted, owners' dependents collected, default ServiceAccounts,
# kube-root-ca.crt, EndpointSlices for Services, Deployments -> ReplicaSets -> (Pending) Pods, the
# aggregated view/edit/admin roles, PodDisruptionBudget status.
KCM_CONTROLLERS = (
    "namespace-controller",
    "garbage-collector-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "root-ca-certificate-publisher-controller",
    "endpointslice-controller",
    "deployment-controller",
    "replicaset-controller",
    "clusterrole-aggregation-controller",
    "disruption-controller",
)
# One audit entry per request (metadata only), for the human and machine clients the tests run;
# the control plane's own chatter is left out.
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [
        {"level": "None", "users": ["system:apiserver", "system:kube-controller-manager"]},
        {"level": "None", "userGroups": ["system:serviceaccounts:kube-system", "system:nodes"]},
        {"level": "None", "nonResourceURLs": ["/readyz*", "/healthz*", "/livez*"]},
        {"level": "Metadata"},
    ],
}


class ClusterError(RuntimeError):
    """The control plane did not start or stop as expected; the message carries the relevant log tail."""


@dataclass(frozen=True)
class Cluster:
    """A control plane started by :func:`up` in ``root`` (read back from ``cluster.json``)."""

    root: Path
    state: dict[str, Any]

    @classmethod
    def load(cls, root: Path) -> Cluster:
        return cls(root=root, state=json.loads((root / STATE).read_text()))

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.state['ports']['apiserver']}"

    @property
    def etcd_url(self) -> str:
        return f"http://127.0.0.1:{self.state['ports']['etcd']}"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.root / "admin.kubeconfig"

    @property
    def ca_cert(self) -> Path:
        return self.root / "pki" / "ca.crt"

    @property
    def audit_log(self) -> Path:
        return self.root / "audit.log"

    def log(self, component: str) -> Path:
        return self.root / f"{component}.log"

    def ssl_context(self) -> ssl.SSLContext:
        """Trusts the cluster's CA and presents the admin client certificate."""
        context = ssl.create_default_context(cafile=str(self.ca_cert))
        context.load_cert_chain(str(self.root / "pki" / "admin.crt"), str(self.root / "pki" / "admin.key"))
        return context

    def etcd_move_on_and_compact(self, writes: int = 3) -> int:
        """Write ``writes`` keys outside the API server's prefix straight into etcd (its revision moves on, as
        other writers would move it), then compact etcd up to that revision; return the revision.

        Every resourceVersion the API server handed out before is then gone from etcd's history too."""
        revision = 0
        for index in range(writes):
            answer = _post_json(
                f"{self.etcd_url}/v3/kv/put",
                {"key": _b64(f"/aliasgate-tests/bump-{index}"), "value": _b64(str(time.time()))},
            )
            revision = int(answer["header"]["revision"])
        _post_json(f"{self.etcd_url}/v3/kv/compaction", {"revision": revision, "physical": True})
        return revision

    def running(self, component: str) -> bool:
        return _alive(self.root / f"{component}.pid")

    def stop(self, component: str, *, timeout: float = 20.0) -> None:
        """Stop one process (SIGTERM, then SIGKILL after ``timeout``); :meth:`start` brings it back."""
        _terminate(self.root / f"{component}.pid", timeout=timeout)

    def start(self, component: str, *, timeout: float = 90.0) -> None:
        """Start one process again with exactly the command it had, and wait until it is healthy."""
        _spawn(self.root, component, self.state["commands"][component])
        _wait_healthy(self, component, timeout)


def _read_pid(pid_file: Path) -> tuple[int, str] | None:
    try:
        pid_text, started = pid_file.read_text().split()
    except (OSError, ValueError):
        return None
    return int(pid_text), started


def _start_time(pid: int) -> str | None:
    """The process start time in clock ticks since boot (field 22 of /proc/PID/stat), or None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    return fields[19]


def _alive(pid_file: Path) -> bool:
    recorded = _read_pid(pid_file)
    return recorded is not None and _start_time(recorded[0]) == recorded[1]


def _spawn(root: Path, component: str, argv: list[str]) -> None:
    with (root / f"{component}.log").open("ab") as log:
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=root, start_new_session=True
        )
    _children[process.pid] = process
    started = _start_time(process.pid)
    (root / f"{component}.pid").write_text(f"{process.pid} {started}\n")


def _terminate(pid_file: Path, *, timeout: float) -> None:
    recorded = _read_pid(pid_file)
    if recorded is None:
        return
    pid, started = recorded
    if _start_time(pid) == started:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _start_time(pid) == started and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.05)
        if _start_time(pid) == started:
            os.kill(pid, signal.SIGKILL)
            while _start_time(pid) == started:
                _reap(pid)
                time.sleep(0.05)
    pid_file.unlink(missing_ok=True)


_children: dict[int, subprocess.Popen[bytes]] = {}
"""Processes this Python process started (a pytest session): reaped here when they exit. After
``scripts/cluster up`` returns they are nobody's children but init's."""


def _reap(pid: int) -> None:
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        del _children[pid]


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _get(url: str, context: ssl.SSLContext | None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, context=context, timeout=5) as response:
            return int(response.status), response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except (OSError, urllib.error.URLError) as error:
        return 0, str(error)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _post_json(url: str, body: dict[str, Any]) -> dict[str, Any]:
    """etcd's JSON gateway (gRPC over HTTP) on its loopback client URL."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer


def _health_url(cluster: Cluster, component: str) -> tuple[str, ssl.SSLContext | None]:
    ports = cluster.state["ports"]
    if component == ETCD:
        return f"{cluster.etcd_url}/health", None
    if component == APISERVER:
        return f"{cluster.server}/readyz", ssl.create_default_context(cafile=str(cluster.ca_cert))
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE  # its self-signed serving certificate; /healthz is all we read
    return f"https://127.0.0.1:{ports['controller_manager']}/healthz", insecure


def _wait_healthy(cluster: Cluster, component: str, timeout: float) -> None:
    url, context = _health_url(cluster, component)
    deadline = time.monotonic() + timeout
    status, body = 0, ""
    while time.monotonic() < deadline:
        if not cluster.running(component):
            raise ClusterError(f"{component} exited; the end of its log:\n{_tail(cluster.log(component))}")
        status, body = _get(url, context)
        if status == 200:
            return
        time.sleep(0.2)
    raise ClusterError(
        f"{component} not healthy after {timeout:.0f} s ({url}: {status} {body[:300]}); the end of its log:\n"
        f"{_tail(cluster.log(component))}"
    )


def _kubeconfig(server: str, ca: Path, cert: Path, key: Path, user: str) -> dict[str, Any]:
    def data(path: Path) -> str:
        return base64.b64encode(path.read_bytes()).decode()

    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "aliasgate-test", "cluster": {"server": server, "certificate-authority-data": data(ca)}}],
        "users": [{"name": user, "user": {"client-certificate-data": data(cert), "client-key-data": data(key)}}],
        "contexts": [{"name": user, "context": {"cluster": "aliasgate-test", "user": user, "namespace": "default"}}],
        "current-context": user,
    }


def _write_private(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o600)


def _commands(root: Path, ports: dict[str, int]) -> dict[str, list[str]]:
    pki, binary = root / "pki", kubebuild.binary_path
    etcd = f"http://127.0.0.1:{ports['etcd']}"
    peer = f"http://127.0.0.1:{ports['etcd_peer']}"
    server = f"https://127.0.0.1:{ports['apiserver']}"
    return {
        ETCD: [
            str(binary("etcd")),
            "--name=default",
            f"--data-dir={root / 'etcd-data'}",
            f"--listen-client-urls={etcd}",
            f"--advertise-client-urls={etcd}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=default={peer}",
            "--unsafe-no-fsync=true",
            "--log-level=warn",
        ],
        APISERVER: [
            str(binary("kube-apiserver")),
            f"--etcd-servers={etcd}",
            f"--etcd-compaction-interval={COMPACTION_INTERVAL}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={ports['apiserver']}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--service-account-issuer={server}",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=RBAC",
            "--endpoint-reconciler-type=none",  # the `kubernetes` Service's endpoints reject loopback
            "--profiling=false",
            f"--audit-policy-file={root / 'audit-policy.json'}",
            f"--audit-log-path={root / 'audit.log'}",
            "--audit-log-format=json",
            "--audit-log-maxbackup=1",
        ],
        CONTROLLER_MANAGER: [
            str(binary("kube-controller-manager")),
            f"--kubeconfig={root / 'kube-controller-manager.kubeconfig'}",
            f"--authentication-kubeconfig={root / 'kube-controller-manager.kubeconfig'}",
            f"--authorization-kubeconfig={root / 'kube-controller-manager.kubeconfig'}",
            "--bind-address=127.0.0.1",
            f"--secure-port={ports['controller_manager']}",
            "--leader-elect=false",
            "--use-service-account-credentials=true",
            f"--root-ca-file={pki / 'ca.crt'}",
            f"--service-account-private-key-file={pki / 'sa.key'}",
            f"--controllers={','.join(KCM_CONTROLLERS)}",
            "--concurrent-gc-syncs=5",
        ],
    }


def _prepare(root: Path) -> dict[str, Any]:
    """PKI, kubeconfigs, audit policy and the commands; nothing started yet."""
    ca = new_ca(root / "pki")
    ca.issue("apiserver", common_name="kube-apiserver", ips=["127.0.0.1"], dns=["localhost", "kubernetes.default.svc"])
    admin = ca.issue("admin", common_name="admin", organizations=["system:masters"], client=True)
    kcm = ca.issue("kube-controller-manager", common_name="system:kube-controller-manager", client=True)
    rsa_key_pair(root / "pki", "sa")
    ports = {name: free_port() for name in ("etcd", "etcd_peer", "apiserver", "controller_manager")}
    server = f"https://127.0.0.1:{ports['apiserver']}"
    _write_private(
        root / "admin.kubeconfig", json.dumps(_kubeconfig(server, ca.cert, admin.cert, admin.key, "admin"), indent=1)
    )
    _write_private(
        root / "kube-controller-manager.kubeconfig",
        json.dumps(_kubeconfig(server, ca.cert, kcm.cert, kcm.key, "system:kube-controller-manager"), indent=1),
    )
    (root / "audit-policy.json").write_text(json.dumps(AUDIT_POLICY, indent=1))
    return {"version": kubebuild.KUBERNETES_VERSION, "ports": ports, "commands": _commands(root, ports)}


def up(root: Path, progress: Progress = print, *, timeout: float = 120.0) -> Cluster:
    """Start a control plane in ``root`` (or return the one already running there)."""
    root = root.resolve()
    if (root / STATE).exists():
        existing = Cluster.load(root)
        if all(existing.running(component) for component in COMPONENTS):
            progress(f"already up: {existing.server} (kubeconfig {existing.admin_kubeconfig})")
            return existing
        progress(f"{root} holds a stopped or partial cluster: cleaning it up first")
        down(root, progress)
    kubebuild.ensure_binaries(progress)
    root.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    state = _prepare(root)
    (root / STATE).write_text(json.dumps(state, indent=1))
    cluster = Cluster(root=root, state=state)
    try:
        for component in COMPONENTS:
            _spawn(root, component, state["commands"][component])
            _wait_healthy(cluster, component, timeout)
    except BaseException:
        down(root, lambda _: None)
        raise
    progress(
        f"cluster up in {time.monotonic() - began:.1f} s: {cluster.server} ({kubebuild.KUBERNETES_VERSION}); "
        f"KUBECONFIG={cluster.admin_kubeconfig}"
    )
    return cluster


# Everything up() creates in the folder; down() removes exactly these.
_CREATED = ("pki", "etcd-data", STATE, "admin.kubeconfig", "kube-controller-manager.kubeconfig", "audit-policy.json")


def down(root: Path, progress: Progress = print) -> None:
    """Stop the processes ``up`` started in ``root`` (controller manager, API server, etcd) and remove its data."""
    root = root.resolve()
    stopped = [c for c in reversed(COMPONENTS) if (root / f"{c}.pid").exists()]
    for component in stopped:
        _terminate(root / f"{component}.pid", timeout=20.0)
    for name in _CREATED:
        path = root / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    for path in root.glob("audit*.log"):
        path.unlink()
    for component in COMPONENTS:
        (root / f"{component}.log").unlink(missing_ok=True)
    progress(f"cluster down: stopped {', '.join(stopped) or 'nothing'}; removed its data in {root}")
