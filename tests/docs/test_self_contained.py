"""The repository's docs stand on their own: no citations of material outside the repo, links that resolve,
and statements about names that match what the manifests actually create."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from controller.settings import ControllerSettings
from tests.deploy import manifests

ROOT = manifests.ROOT
DOCS = sorted(
    [
        ROOT / "README.md",
        *(ROOT / "docs").glob("*.md"),
        *manifests.CHART_DIR.rglob("*.md"),
        *manifests.CHART_DIR.rglob("*.yaml"),
        *manifests.CHART_DIR.rglob("*.tpl"),
        *manifests.CHART_DIR.rglob("*.txt"),
        *manifests.DEPLOY_DIR.rglob("*.md"),
        *manifests.DEPLOY_DIR.rglob("*.yaml"),
    ]
)
OUTSIDE = {
    "a DESIGN document": re.compile(r"\bDESIGN\b"),
    "a numbered section of another document": re.compile("§"),
    "the shared reference folder": re.compile(r"(?<![\w/.-])shared/"),
    "a spec file": re.compile(r"\bspec/[\w.-]+\.md\b"),
    "a review file": re.compile(r"REVIEW-\d"),
}
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", DOCS, ids=relative)
def test_docs_cite_nothing_outside_the_repository(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    found = [
        f"line {text.count(chr(10), 0, match.start()) + 1}: {what} ({match.group(0)!r})"
        for what, pattern in OUTSIDE.items()
        for match in pattern.finditer(text)
    ]
    assert found == []


PYTHON = sorted(
    path
    for folder in ("aliasgate", "controller", "gateway", "tests", "benchmarks", "scripts", "tools")
    for path in (ROOT / folder).rglob("*.py")
    if path != Path(__file__).resolve()
)
CITING_SPEC_YET = (
    "gateway/handlers/",
    "gateway/upstream/",
    "gateway/bridge/",
    "gateway/context.py",
    "gateway/metrics.py",
)
"""Modules whose docstrings still cite the bridge spec by section, to be rewritten by their owners; this list
only ever shrinks."""


def test_python_docstrings_and_comments_cite_only_the_repository() -> None:
    """A module says where its rules are written down in the repo (docs/*.md), or states them itself."""
    checked = [path for path in PYTHON if not relative(path).startswith(CITING_SPEC_YET)]
    found = [
        f"{relative(path)}:{text.count(chr(10), 0, match.start()) + 1}: {what} ({match.group(0)!r})"
        for path in checked
        for text in [path.read_text(encoding="utf-8")]
        for what, pattern in OUTSIDE.items()
        for match in pattern.finditer(text)
    ]
    assert len(checked) > 100
    assert found == []


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(line.lstrip("#")) for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")}


@pytest.mark.parametrize("path", [p for p in DOCS if p.suffix == ".md"], ids=relative)
def test_every_relative_link_resolves_with_its_anchor(path: Path) -> None:
    broken = []
    for target in LINK.findall(path.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no such heading")
    assert broken == []


@pytest.fixture(scope="module")
def kustomized() -> manifests.Rendered:
    return manifests.render_kustomize()


def lease_name(rendered: manifests.Rendered) -> str:
    deployment = manifests.named(
        rendered.docs,
        "Deployment",
        next(
            doc["metadata"]["name"]
            for doc in manifests.of_kind(rendered.docs, "Deployment")
            if doc["metadata"]["name"].endswith("-controller")
        ),
    )
    args = deployment["spec"]["template"]["spec"]["containers"][0].get("args", [])
    given = [arg.split("=", 1)[1] for arg in args if arg.startswith("--lease-name=")]
    return given[0] if given else ControllerSettings().lease_name


@pytest.mark.parametrize("release", ["aliasgate", "team-a"])
def test_the_documented_lease_names_are_the_rendered_ones(release: str, kustomized: manifests.Rendered) -> None:
    rendered = manifests.render_chart({}, release=release)
    name = lease_name(rendered)
    role = next(
        doc for doc in manifests.of_kind(rendered.docs, "Role") if doc["metadata"]["name"].endswith("-controller")
    )
    granted = {n for rule in role["rules"] if "leases" in rule["resources"] for n in rule.get("resourceNames", [])}
    assert granted == {name}
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    assert f"`{name}`" in operations, f"docs/operations.md never names the Lease of release {release!r}: {name}"
    assert lease_name(kustomized) == "aliasgate-controller"
    assert "The kustomization keeps the default,\n`aliasgate-controller`" in operations
    for path in DOCS:
        assert "always named `aliasgate-controller`" not in path.read_text(encoding="utf-8"), relative(path)
