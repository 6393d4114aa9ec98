"""Test plumbing exists once and fakes are used through their public API."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tests.kubeapi

ROOT = Path(__file__).resolve().parents[2]
USERS = sorted(
    path
    for path in [*ROOT.joinpath("tests").rglob("*.py"), *ROOT.joinpath("benchmarks").glob("*.py")]
    if ROOT.joinpath("tests", "kubeapi") not in path.parents
)


def _imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_there_are_users_to_check() -> None:
    assert any(path.name == "bench_kubeapi.py" for path in USERS)
    assert any(path.name == "kube_rig.py" for path in USERS)


@pytest.mark.parametrize("path", USERS, ids=[str(p.relative_to(ROOT)) for p in USERS])
def test_the_kube_api_test_server_is_imported_through_its_package(path: Path) -> None:
    internal = sorted(m for m in _imported_modules(path) if m.startswith("tests.kubeapi."))
    assert internal == [], f"import these from tests.kubeapi (add them to its __all__ if missing): {internal}"


def test_the_package_exports_what_it_promises() -> None:
    for name in tests.kubeapi.__all__:
        assert getattr(tests.kubeapi, name) is not None


def test_free_port_is_defined_once() -> None:
    definitions = [
        str(path.relative_to(ROOT))
        for path in [*USERS, *ROOT.joinpath("tests", "kubeapi").rglob("*.py")]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef) and node.name.lstrip("_") in {"free_port", "closed_port", "unused_port"}
    ]
    assert definitions == ["tests/support/ports.py"]
