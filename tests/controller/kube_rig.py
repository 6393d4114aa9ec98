"""Shared pieces of the controller's API-level tests: object bodies, running controllers and gateways.

Everything here is real: the Kubernetes API test server (``tests.kubeapi``), the controller wired with
its real kube adapters, and gateways built by ``gateway.app.create_app`` with the Kubernetes table source.
"""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from controller.__main__ import Controller
from controller.kube import client as kube_client
from controller.kube.publishing import decode_table
from controller.settings import ControllerSettings
from gateway.app import create_app
from gateway.keys import admin_app_key, table_holder_key
from gateway.kube.client import KubeConnection
from gateway.kube.secrets import KubeCredentialStore
from gateway.kube.table_source import ConfigMapTableSource
from gateway.kube.token_refresh import KubeTokenRefresher
from gateway.routing.loading import TableHolder
from gateway.routing.table import RoutingTable
from gateway.settings import GatewaySettings
from tests.kubeapi import KubeApiServer

NAMESPACE = "aliasgate-system"
TEAM = "team-a"
CONFIGMAP = "aliasgate-routes"


def alias_body(
    name: str,
    *,
    ns: str = TEAM,
    model: str = "gpt-5",
    mode: str | None = None,
    provider: str = "openai",
    base_url: str | None = None,
    credentials: str | None = "openai-key",
    alias: str | None = None,
) -> dict[str, Any]:
    backend: dict[str, Any] = {"provider": provider, "model": model}
    if base_url:
        backend["baseURL"] = base_url
    if credentials:
        backend["credentials"] = credentials
    spec: dict[str, Any] = {"backend": backend}
    if mode:
        spec["mode"] = mode
    if alias:
        spec["alias"] = alias
    return {
        "apiVersion": "aliasgate.io/v1alpha1",
        "kind": "ModelAlias",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def secret_body(
    name: str, *, data: dict[str, str] | None = None, annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    import base64

    meta: dict[str, Any] = {"name": name, "namespace": NAMESPACE}
    if annotations:
        meta["annotations"] = annotations
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in (data or {"apiKey": "sk-test"}).items()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque", "data": encoded}


def seed(api: KubeApiServer, *, secrets: tuple[str, ...] = ("openai-key",)) -> None:
    """Namespaces and credentials Secrets every test starts from."""
    for name in (NAMESPACE, TEAM, "team-b", "aliasgate-demo"):
        with contextlib.suppress(Exception):
            api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    for name in secrets:
        api.create(secret_body(name))


def settings_for(
    api: KubeApiServer, tmp_path: pathlib.Path, *, identity: str = "controller-a", **overrides: Any
) -> ControllerSettings:
    kubeconfig = api.write_kubeconfig(tmp_path / f"kubeconfig-{identity}", user=identity)
    values: dict[str, Any] = {
        "namespace": NAMESPACE,
        "admin_listen": "127.0.0.1:0",
        "identity": identity,
        "kubeconfig": str(kubeconfig),
        "leader_election": False,
        "debounce_seconds": 0.02,
        "debounce_max_seconds": 0.1,
        "backoff_base_seconds": 0.05,
        "backoff_max_seconds": 0.5,
        "programmed_poll_seconds": 0.2,
        "lease_duration_seconds": 3.0,
        "renew_deadline_seconds": 2.0,
        "retry_period_seconds": 0.25,
    }
    values.update(overrides)
    return ControllerSettings.model_validate(values)


@contextlib.asynccontextmanager
async def running_controller(settings: ControllerSettings) -> AsyncIterator[Controller]:
    """An in-process controller with the real kube adapters; stopped (Lease released) on exit."""
    client = await kube_client.connect(settings.kubeconfig)
    controller = Controller(settings, client)
    await controller.start()
    try:
        yield controller
    finally:
        await controller.stop(release=not getattr(controller, "crashed", False))
        await client.close()


async def crash(controller: Controller) -> None:
    """Stop a controller the way a killed process stops: no Lease release, no goodbye."""
    controller.crashed = True  # type: ignore[attr-defined]
    await controller.stop(release=False)


async def eventually(predicate: Callable[[], Any], *, timeout: float = 5.0, interval: float = 0.02) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail with its last value after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    value = predicate()
    while not value:
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last value: {value!r})")
        await asyncio.sleep(interval)
        value = predicate()
    return value


def published(api: KubeApiServer) -> RoutingTable | None:
    configmap = api.get("v1", "configmaps", CONFIGMAP, NAMESPACE)
    if configmap is None:
        return None
    raw = decode_table(configmap)
    return None if raw is None else RoutingTable.from_json(raw)


def stored_alias(api: KubeApiServer, name: str, ns: str = TEAM) -> dict[str, Any]:
    obj = api.get("aliasgate.io/v1alpha1", "modelaliases", name, ns)
    assert obj is not None, f"{ns}/{name} does not exist"
    return obj


def condition(api: KubeApiServer, name: str, kind: str, ns: str = TEAM) -> dict[str, Any] | None:
    status = stored_alias(api, name, ns).get("status") or {}
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), None)


def reason(api: KubeApiServer, name: str, ns: str = TEAM) -> tuple[str, str] | None:
    """(Accepted status, reason) as written for the object's current generation, or None."""
    obj = stored_alias(api, name, ns)
    accepted = condition(api, name, "Accepted", ns)
    if accepted is None or accepted.get("observedGeneration") != obj["metadata"].get("generation"):
        return None
    return accepted["status"], accepted["reason"]


class RunningGateway:
    """A gateway app (public + admin ports on loopback) fed by the Kubernetes ConfigMap source."""

    def __init__(
        self, app: web.Application, runner: web.AppRunner, admin_runner: web.AppRunner, admin_host: str = "127.0.0.1"
    ) -> None:
        self.app = app
        self.admin_host = admin_host
        self._runner = runner
        self._admin_runner = admin_runner
        self.port = int(runner.addresses[0][1])
        self.admin_port = int(admin_runner.addresses[0][1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def admin_url(self) -> str:
        return f"http://{self.admin_host}:{self.admin_port}"

    @property
    def holder(self) -> TableHolder:
        return self.app[table_holder_key]

    def generation(self) -> int | None:
        current = self.holder.current
        return None if current is None else current.generation


@contextlib.asynccontextmanager
async def running_gateway(
    api: KubeApiServer, tmp_path: pathlib.Path, *, name: str, admin_host: str = "127.0.0.1"
) -> AsyncIterator[RunningGateway]:
    """``admin_host``: where the admin port listens; an EndpointSlice must name a non-loopback address."""
    kubeconfig = api.write_kubeconfig(tmp_path / f"kubeconfig-{name}", user=name)
    connection = KubeConnection.from_kubeconfig(kubeconfig)
    settings = GatewaySettings(
        listen="127.0.0.1:0",
        admin_listen="127.0.0.1:0",
        namespace=NAMESPACE,
        table_configmap=CONFIGMAP,
        shutdown_grace_seconds=0.5,
        log_json=True,
    )
    credentials = KubeCredentialStore(connection=connection, namespace=NAMESPACE)
    app = create_app(  # wired as gateway/__main__.py wires a pod
        settings,
        table_source=ConfigMapTableSource(connection=connection, namespace=NAMESPACE, name=CONFIGMAP),
        credentials=credentials,
        token_refresher=KubeTokenRefresher(store=credentials),
        probing=False,
    )
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    admin_runner = web.AppRunner(app[admin_app_key], access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    await admin_runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    await web.TCPSite(admin_runner, admin_host, 0).start()
    try:
        yield RunningGateway(app, runner, admin_runner, admin_host)
    finally:
        await runner.cleanup()
        await admin_runner.cleanup()


@contextlib.asynccontextmanager
async def started_api(**options: Any) -> AsyncIterator[KubeApiServer]:
    """A test API server with the project's CRD installed and the namespaces and Secrets seeded."""
    from tests.kubeapi import modelalias_crd_path

    options.setdefault("bookmark_interval", 0.5)
    async with KubeApiServer(**options) as api:
        api.install_crd(modelalias_crd_path())
        seed(api)
        yield api
