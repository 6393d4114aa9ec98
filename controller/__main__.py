"""``python -m controller``: settings → logging → kube adapters wired into the reconciler → run until signalled.

:class:`Controller` is the wiring, usable in-process (tests, benchmarks); :func:`main` adds signals.
Shutdown stops the watches and the reconciler, then releases the Lease so the other replica takes over.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable, Sequence

import structlog
from aiohttp import web

from aliasgate.runtime.listen import parse_listen
from aliasgate.runtime.logs import configure_logging
from controller import ports
from controller.gateways import GatewayPoller
from controller.health import create_admin_app
from controller.inventory import Change, Inventory, alias_essence, secret_essence, table_essence
from controller.kube import client as kube_client
from controller.kube.endpoints import EndpointSliceDiscovery, StaticDiscovery
from controller.kube.events import EventPoster
from controller.kube.leasing import AlwaysLeader, LeaseElector
from controller.kube.publishing import ConfigMapPublisher
from controller.kube.secrets import secrets_target
from controller.kube.statuses import StatusPatcher
from controller.kube.targets import alias_targets, table_target
from controller.kube.watching import Watcher, WatchTarget
from controller.metrics import ControllerMetrics
from controller.programmed import ProgrammedTracker
from controller.reconciler import Reconciler
from controller.settings import ControllerSettings, parse_settings
from controller.webhook.server import WebhookServer

__all__ = ["Controller", "configure_logging", "main"]

log = structlog.get_logger("controller")


class Controller:
    """All the parts of one controller process, wired; ``start``/``stop`` for in-process use."""

    def __init__(self, settings: ControllerSettings, client: kube_client.KubeClient) -> None:
        self.settings = settings
        self.client = client
        self.metrics = ControllerMetrics()
        targets = alias_targets(settings.watch_namespaces)
        self.aliases = Inventory(essence=alias_essence, scopes=frozenset(t.scope for t in targets))
        self.secrets = Inventory(essence=secret_essence, scopes=frozenset({settings.namespace}))
        self.publisher = ConfigMapPublisher(
            client=client,
            namespace=settings.namespace,
            name=settings.table_configmap,
            gzip_threshold_bytes=settings.gzip_threshold_bytes,
            metrics=self.metrics,
        )
        self.statuses = StatusPatcher(client=client)
        self.events = EventPoster(client=client, instance=settings.identity)
        self.elector: LeaseElector | None = None
        leadership: ports.Leadership
        if settings.leader_election:
            self.elector = LeaseElector(
                client=client,
                namespace=settings.namespace,
                name=settings.lease_name,
                identity=settings.identity,
                lease_duration_seconds=settings.lease_duration_seconds,
                renew_deadline_seconds=settings.renew_deadline_seconds,
                retry_period_seconds=settings.retry_period_seconds,
                on_change=self._leadership_changed,
            )
            leadership = self.elector
        else:
            leadership = AlwaysLeader()
        discovery: ports.GatewayDiscovery
        if settings.gateway_status_urls:
            discovery = StaticDiscovery(list(settings.gateway_status_urls))
        else:
            discovery = EndpointSliceDiscovery(
                client=client,
                namespace=settings.namespace,
                service=settings.gateway_service,
                port_name=settings.gateway_admin_port_name,
            )
        self.reconciler = Reconciler(
            aliases=self.aliases,
            secrets=self.secrets,
            publisher=self.publisher,
            statuses=self.statuses,
            events=self.events,
            leadership=leadership,
            metrics=self.metrics,
            tracker=ProgrammedTracker(),
            on_published=self._published,
            debounce_seconds=settings.debounce_seconds,
            debounce_max_seconds=settings.debounce_max_seconds,
            status_concurrency=settings.status_concurrency,
        )
        self.poller = GatewayPoller(
            discovery=discovery, on_served=self.reconciler.on_served, idle_seconds=settings.programmed_poll_seconds
        )
        self.metrics.leader.set(0 if settings.leader_election else 1)

        def watcher(
            target: WatchTarget, inventory: Inventory, on_change: Callable[[Change], None] | None = None
        ) -> Watcher:
            return Watcher(
                client=client,
                target=target,
                inventory=inventory,
                on_change=on_change or self.reconciler.notify,
                metrics=self.metrics,
                inactivity_seconds=settings.watch_inactivity_timeout_seconds,
                watch_timeout_seconds=settings.watch_timeout_seconds,
                backoff_base_seconds=settings.backoff_base_seconds,
                backoff_max_seconds=settings.backoff_max_seconds,
            )

        self.watchers = [watcher(t, self.aliases) for t in targets]
        self.watchers.append(watcher(secrets_target(settings.namespace), self.secrets))
        # The published ConfigMap itself: a deletion or a foreign edit is repaired by the next pass.
        self.published_object = Inventory(essence=table_essence, scopes=frozenset({settings.namespace}))
        table_watch = watcher(
            table_target(settings.namespace, settings.table_configmap),
            self.published_object,
            self._table_object_changed,
        )
        self.watchers.append(table_watch)
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None
        self.admin_port: int | None = None
        self.webhook: WebhookServer | None = None
        if settings.webhook_listen:
            if not (settings.webhook_cert_file and settings.webhook_key_file):
                raise ValueError("the admission webhook needs webhook_cert_file and webhook_key_file (HTTPS only)")
            self.webhook = WebhookServer(
                listen=settings.webhook_listen,
                cert_file=settings.webhook_cert_file,
                key_file=settings.webhook_key_file,
                inventory=self.aliases,
            )

    def _leadership_changed(self, leader: bool) -> None:
        self.publisher.invalidate()  # the previous leader may have published since we last looked
        self.reconciler.leadership_changed(leader)

    def _table_object_changed(self, change: Change) -> None:
        """Someone else changed or deleted the table ConfigMap: publish again (a no-op when it matches)."""
        if change is Change.NONE or not self.published_object.complete:
            return
        current = self.published_object.get(self.settings.namespace, self.settings.table_configmap)
        version = None if current is None else (current.get("metadata") or {}).get("resourceVersion")
        if version is None or version != self.publisher.written_version:
            self.publisher.invalidate()
            self.reconciler.republish()

    def _published(self, generation: int) -> None:
        self.poller.kick(generation)

    def ready(self) -> bool:
        return self.reconciler.ready

    async def start(self) -> None:
        app = create_admin_app(metrics=self.metrics, ready=self.ready)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        host, port = parse_listen(self.settings.admin_listen)
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        for address in self._runner.addresses:
            self.admin_port = int(address[1])
        if self.webhook is not None:
            await self.webhook.start()  # on every replica: followers watch too, so they can judge
        runs = [w.run() for w in self.watchers] + [self.reconciler.run(), self.poller.run()]
        if self.elector is not None:
            runs.append(self.elector.run())
        self._tasks = [asyncio.create_task(run) for run in runs]
        log.info(
            "controller_started",
            identity=self.settings.identity,
            admin_port=self.admin_port,
            webhook_port=None if self.webhook is None else self.webhook.port,
        )

    async def stop(self, *, release: bool = True) -> None:
        """Stop every loop, hand the Lease back, close the admin server.

        ``release=False`` leaves the Lease as a crashed process would (tests of a dying leader)."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _done, stuck = await asyncio.wait(self._tasks, timeout=5.0)
            if stuck:
                log.warning("shutdown_tasks_stuck", tasks=len(stuck))
        self._tasks = []
        if self.elector is not None and release:
            await self.elector.release()
        if self.webhook is not None:
            await self.webhook.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        log.info("controller_stopped", identity=self.settings.identity)


async def run(settings: ControllerSettings) -> None:
    client = await kube_client.connect(settings.kubeconfig)
    controller = Controller(settings, client)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await controller.start()
        await stop.wait()
    finally:
        await controller.stop()
        await client.close()


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_settings(argv)
    configure_logging(level=settings.log_level, stream="stderr", cache=False)  # JSON lines on stderr, redacted
    asyncio.run(run(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
