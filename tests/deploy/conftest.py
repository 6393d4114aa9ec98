"""Session fixtures: every install source is rendered once and shared by all deploy tests."""

from __future__ import annotations

import pytest

from tests.deploy import manifests


@pytest.fixture(scope="session")
def rendered_sources() -> dict[str, manifests.Rendered]:
    """The kustomization and each chart value set, rendered once per session."""
    sources = {"kustomize": manifests.render_kustomize()}
    for value_set in manifests.VALUE_SETS:
        sources[value_set] = manifests.render_chart(manifests.load_values(value_set))
    return sources


@pytest.fixture(scope="session")
def chart_default(rendered_sources: dict[str, manifests.Rendered]) -> manifests.Rendered:
    return rendered_sources["default"]


@pytest.fixture(scope="session")
def kustomized(rendered_sources: dict[str, manifests.Rendered]) -> manifests.Rendered:
    return rendered_sources["kustomize"]
