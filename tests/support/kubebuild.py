"""Build the real Kubernetes binaries the cluster tests run, from the Go wrapper modules in tools/kube/.

kube-apiserver, kube-controller-manager and kubectl come from k8s.io/kubernetes v1.37.2, etcd from the
etcd server module that release requires, helm from helm.sh/helm/v4 (its own module in tools/kube/helm/,
so that helm's newer dependencies do not change what the control plane is built from).

Binaries are cached outside the repository, keyed by version (``~/.cache/aliasgate/kube/v1.37.2/bin``,
or ``$ALIASGATE_KUBE_CACHE/v1.37.2/bin``), each with a stamp of the inputs it was built from (go.mod,
go.sum, package, flags, Go version): a warm cache rebuilds nothing, a changed input rebuilds that binary.
Standard library only, so ``scripts/cluster`` runs with any Python ≥ 3.11.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BINARIES",
    "HELM_VERSION",
    "KUBERNETES_VERSION",
    "Binary",
    "BuildError",
    "bin_dir",
    "binary_path",
    "ensure_binaries",
    "go_executable",
    "missing_binaries",
]

KUBERNETES_VERSION = "v1.37.2"
HELM_VERSION = "v4.3.2"
REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / "tools" / "kube"

Progress = Callable[[str], None]
HEARTBEAT = 60.0


class BuildError(RuntimeError):
    """A binary could not be built (no Go, a module refused, a compile error); the message says which."""


def _version_flags(package: str, version: str) -> tuple[str, ...]:
    major, minor = version.lstrip("v").split(".")[:2]
    return tuple(
        f"-X {package}.{name}={value}"
        for name, value in (
            ("gitVersion", version),
            ("gitMajor", major),
            ("gitMinor", minor),
            ("gitTreeState", "clean"),
        )
    )


# Without these /version says v0.0.0-master (the same variables upstream's hack/lib/version.sh sets).
KUBE_LDFLAGS = (
    "-s",
    "-w",
    *_version_flags("k8s.io/component-base/version", KUBERNETES_VERSION),
    *_version_flags("k8s.io/client-go/pkg/version", KUBERNETES_VERSION),
)
HELM_LDFLAGS = (
    "-s",
    "-w",
    f"-X helm.sh/helm/v4/internal/version.version={HELM_VERSION}",
    "-X helm.sh/helm/v4/internal/version.gitTreeState=clean",
)


@dataclass(frozen=True)
class Binary:
    """One executable: its name in the cache, the Go package, and the wrapper module that builds it."""

    name: str
    package: str
    module: Path
    ldflags: tuple[str, ...]


BINARIES: tuple[Binary, ...] = (
    Binary("etcd", "go.etcd.io/etcd/server/v3", TOOLS, KUBE_LDFLAGS),
    Binary("kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver", TOOLS, KUBE_LDFLAGS),
    Binary("kube-controller-manager", "k8s.io/kubernetes/cmd/kube-controller-manager", TOOLS, KUBE_LDFLAGS),
    Binary("kubectl", "k8s.io/kubernetes/cmd/kubectl", TOOLS, KUBE_LDFLAGS),
    Binary("helm", "helm.sh/helm/v4/cmd/helm", TOOLS / "helm", HELM_LDFLAGS),
)


def cache_root() -> Path:
    override = os.environ.get("ALIASGATE_KUBE_CACHE")
    return Path(override) if override else Path.home() / ".cache" / "aliasgate" / "kube"


def bin_dir() -> Path:
    return cache_root() / KUBERNETES_VERSION / "bin"


def binary_path(name: str) -> Path:
    return bin_dir() / name


def go_executable() -> str:
    """The Go toolchain: ``go`` on PATH, else the official tarball's place."""
    found = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if found is None:
        raise BuildError(
            "Go >= 1.26 is needed to build the cluster test binaries (https://go.dev/dl/); none on PATH "
            "or in /usr/local/go/bin"
        )
    return found


def _environment(go: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GOTOOLCHAIN="local",  # fail rather than download a newer Go
        CGO_ENABLED="0",  # static, as upstream builds them
        GOFLAGS="-mod=mod",
        PATH=f"{Path(go).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def _go_version(go: str) -> str:
    result = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BuildError(f"{go} env GOVERSION failed: {result.stderr.strip()}")
    return result.stdout.strip()


def fingerprint(binary: Binary, go_version: str) -> str:
    """What the binary is built from; a different fingerprint means rebuild."""
    digest = hashlib.sha256()
    for part in (binary.package, " ".join(binary.ldflags), go_version):
        digest.update(part.encode() + b"\0")
    for name in ("go.mod", "go.sum"):
        digest.update((binary.module / name).read_bytes())
    return digest.hexdigest()


def _stamp(binary: Binary) -> Path:
    return bin_dir() / f".{binary.name}.stamp"


def _is_current(binary: Binary, go_version: str) -> bool:
    stamp = _stamp(binary)
    return (
        binary_path(binary.name).exists()
        and stamp.exists()
        and stamp.read_text().strip() == fingerprint(binary, go_version)
    )


def missing_binaries(go_version: str | None = None) -> list[Binary]:
    """The binaries that are absent or were built from other inputs."""
    version = go_version if go_version is not None else _go_version(go_executable())
    return [binary for binary in BINARIES if not _is_current(binary, version)]


def _build_one(go: str, binary: Binary, env: dict[str, str], log: Path, progress: Progress) -> None:
    """``go build -v`` into a partial file, renamed when complete; a heartbeat every ``HEARTBEAT`` seconds."""
    target = binary_path(binary.name)
    partial = target.with_name(target.name + ".partial")
    command = [go, "build", "-v", "-trimpath", "-ldflags", " ".join(binary.ldflags), "-o", str(partial)]
    command.append(binary.package)
    began = time.monotonic()
    with log.open("ab") as sink:
        sink.write(f"$ (cd {binary.module} && {' '.join(command)})\n".encode())
        sink.flush()
        start_size = log.stat().st_size
        process = subprocess.Popen(command, cwd=binary.module, env=env, stdout=sink, stderr=sink)
        while True:
            try:
                returncode = process.wait(timeout=HEARTBEAT)
                break
            except subprocess.TimeoutExpired:
                with log.open("rb") as reader:
                    reader.seek(start_size)
                    compiled = reader.read().count(b"\n")
                progress(f"    {binary.name}: {compiled} packages compiled, {time.monotonic() - began:.0f} s")
    if returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise BuildError(f"building {binary.name} ({binary.package}) failed; the end of {log}:\n{tail}")
    partial.replace(target)


def ensure_binaries(progress: Progress = print, only: Sequence[str] | None = None) -> dict[str, float]:
    """Build what is missing or stale; return seconds spent per binary built (empty when all were warm)."""
    go = go_executable()
    go_version = _go_version(go)
    todo = [b for b in missing_binaries(go_version) if only is None or b.name in only]
    spent: dict[str, float] = {}
    if not todo:
        return spent
    bin_dir().mkdir(parents=True, exist_ok=True)
    log = bin_dir().parent / "build.log"
    env = _environment(go)
    progress(
        f"building {len(todo)} Kubernetes binaries into {bin_dir()} with {go_version} "
        f"(a cold build takes 15-25 min on 2 cores; log: {log})"
    )
    started = time.monotonic()
    for index, binary in enumerate(todo, 1):
        progress(f"[{index}/{len(todo)}] {binary.name} ({binary.package}) ...")
        began = time.monotonic()
        _build_one(go, binary, env, log, progress)
        _stamp(binary).write_text(fingerprint(binary, go_version) + "\n")
        spent[binary.name] = time.monotonic() - began
        progress(
            f"[{index}/{len(todo)}] {binary.name} built in {spent[binary.name]:.0f} s "
            f"(total {time.monotonic() - started:.0f} s)"
        )
    return spent
