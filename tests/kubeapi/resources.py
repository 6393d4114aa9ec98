"""Which resources the test API server serves: built-in kinds plus those of installed CRDs.

A :class:`ResourceType` is one (group, version, plural) as discovery lists it. Objects are stored under
``storage_key`` (group/plural), shared by all versions of a CRD, so a write through one version is seen
through every other (the CRD conversion strategy ``None`` only rewrites ``apiVersion``). Core and
``events.k8s.io`` Events share one storage key, as in a real cluster.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

Json = dict[str, Any]

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class ResourceType:
    """One served resource in one version."""

    group: str
    """API group; ``""`` for the core group."""
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status_subresource: bool = False
    """With it, main-resource writes ignore ``status`` and ``/status`` writes ignore everything else."""
    custom: bool = False
    """Custom resources: generation on every change outside metadata/status, no strategic merge patch."""
    has_generation: bool = False
    storage_key: str = ""
    schema: Json | None = None
    """The CRD version's ``openAPIV3Schema`` (custom resources only)."""
    printer_columns: tuple[Json, ...] = ()
    allow_create_on_update: bool = False
    allow_unconditional_update: bool = True
    storage_version: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> tuple[str, str]:
        return (self.group, self.version)

    @property
    def key(self) -> str:
        return self.storage_key or f"{self.group}/{self.plural}"


def _builtin(**kwargs: Any) -> ResourceType:
    rt = ResourceType(**kwargs)
    return dataclasses.replace(rt, storage_key=rt.storage_key or f"{rt.group}/{rt.plural}")


BUILTINS: tuple[ResourceType, ...] = (
    _builtin(
        group="",
        version="v1",
        kind="Namespace",
        plural="namespaces",
        singular="namespace",
        namespaced=False,
        short_names=("ns",),
        status_subresource=True,
    ),
    _builtin(
        group="",
        version="v1",
        kind="ConfigMap",
        plural="configmaps",
        singular="configmap",
        namespaced=True,
        short_names=("cm",),
    ),
    _builtin(group="", version="v1", kind="Secret", plural="secrets", singular="secret", namespaced=True),
    _builtin(
        group="",
        version="v1",
        kind="Event",
        plural="events",
        singular="event",
        namespaced=True,
        short_names=("ev",),
        storage_key="/events",
        allow_create_on_update=True,
    ),
    _builtin(
        group="",
        version="v1",
        kind="Service",
        plural="services",
        singular="service",
        namespaced=True,
        short_names=("svc",),
        categories=("all",),
        status_subresource=True,
    ),
    _builtin(
        group="",
        version="v1",
        kind="Pod",
        plural="pods",
        singular="pod",
        namespaced=True,
        short_names=("po",),
        categories=("all",),
        status_subresource=True,
    ),
    _builtin(
        group="events.k8s.io",
        version="v1",
        kind="Event",
        plural="events",
        singular="event",
        namespaced=True,
        short_names=("ev",),
        storage_key="/events",
        allow_create_on_update=True,
    ),
    _builtin(
        group="discovery.k8s.io",
        version="v1",
        kind="EndpointSlice",
        plural="endpointslices",
        singular="endpointslice",
        namespaced=True,
        has_generation=True,
    ),
    _builtin(
        group="coordination.k8s.io",
        version="v1",
        kind="Lease",
        plural="leases",
        singular="lease",
        namespaced=True,
    ),
    _builtin(
        group="admissionregistration.k8s.io",
        version="v1",
        kind="ValidatingWebhookConfiguration",
        plural="validatingwebhookconfigurations",
        singular="validatingwebhookconfiguration",
        namespaced=False,
        categories=("api-extensions",),
        has_generation=True,
    ),
    _builtin(
        group="apiextensions.k8s.io",
        version="v1",
        kind="CustomResourceDefinition",
        plural="customresourcedefinitions",
        singular="customresourcedefinition",
        namespaced=False,
        short_names=("crd", "crds"),
        categories=("api-extensions",),
        status_subresource=True,
        has_generation=True,
    ),
)

PREFERRED_GROUP_ORDER = (
    "",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
)


class Registry:
    """Served resources by (group, version, plural); CRDs add and remove theirs at run time."""

    def __init__(self) -> None:
        self._by_gvr: dict[tuple[str, str, str], ResourceType] = {}
        self._group_versions: dict[str, list[str]] = {}
        self.revision = 0
        """Bumped on every change so discovery and OpenAPI documents can be cached."""
        for rt in BUILTINS:
            self.add(rt)

    def add(self, rt: ResourceType) -> None:
        self._by_gvr[(rt.group, rt.version, rt.plural)] = rt
        versions = self._group_versions.setdefault(rt.group, [])
        if rt.version not in versions:
            versions.append(rt.version)
        self.revision += 1

    def remove_group_resource(self, group: str, plural: str) -> None:
        for key in [k for k in self._by_gvr if k[0] == group and k[2] == plural]:
            del self._by_gvr[key]
        remaining = {k[1] for k in self._by_gvr if k[0] == group}
        if remaining:
            self._group_versions[group] = [v for v in self._group_versions[group] if v in remaining]
        else:
            self._group_versions.pop(group, None)
        self.revision += 1

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_gvr.get((group, version, plural))

    def has_group_version(self, group: str, version: str) -> bool:
        return version in self._group_versions.get(group, ())

    def groups(self) -> list[str]:
        """Non-core groups, built-ins first in a fixed order, then CRD groups sorted."""
        named = [g for g in self._group_versions if g]
        fixed = [g for g in PREFERRED_GROUP_ORDER if g in named]
        return fixed + sorted(g for g in named if g not in PREFERRED_GROUP_ORDER)

    def versions(self, group: str) -> list[str]:
        """Served versions, most preferred first (Kubernetes version priority: GA, beta, alpha)."""
        return sorted(self._group_versions.get(group, ()), key=version_priority)

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return sorted(
            (rt for (g, v, _), rt in self._by_gvr.items() if g == group and v == version), key=lambda rt: rt.plural
        )

    def all(self) -> list[ResourceType]:
        return list(self._by_gvr.values())

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        for rt in self._by_gvr.values():
            if rt.group == group and rt.version == version and rt.kind == kind:
                return rt
        return None


_KUBE_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key of Kubernetes API versions: v2, v1, v1beta2, v1beta1, v1alpha1, then others by name."""
    match = _KUBE_VERSION.match(version)
    if match is None:
        return (3, 0, 0, version)
    major, stage, minor = int(match[1]), match[2], int(match[3] or 0)
    return ({None: 0, "beta": 1, "alpha": 2}[stage], -major, -minor, version)
