"""The controller's HTTPS listener for the validating admission webhook (docs/controller.md, "Admission webhook").

Every replica serves it, leader or not: followers watch too, so their inventory is as warm as the
leader's. The API server only calls HTTPS webhooks, so the listener needs a certificate; cert-manager
(or a rotation job) replaces the mounted files in place, and :class:`ReloadingCertificate` loads the new
pair into the live TLS context so new connections use it without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import structlog
from aiohttp import web

from aliasgate.runtime.listen import parse_listen
from controller.conflicts import InvalidAlias, Verdict, resolve
from controller.inventory import Inventory
from controller.parsing import ParsedAliases
from controller.resources import ModelAlias
from controller.webhook.review import webhook_routes

__all__ = ["ParsedInventory", "ReloadingCertificate", "WebhookServer"]

log = structlog.get_logger("controller.webhook")


class ParsedInventory:
    """The alias inventory as the rules read it, re-parsing only objects whose essence changed.

    A review at 10k objects must not parse 10k objects each time; the cache follows the inventory's
    ``version`` (bumped on every spec change), so an unchanged inventory costs one comparison. The
    verdicts of the inventory as it is are cached the same way (:meth:`baseline`), so a review runs the
    engine once (on the inventory with the write applied) instead of twice.
    """

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self._parsed = ParsedAliases(inventory)
        self._lock = threading.Lock()  # baseline() runs in worker threads
        self._baseline: tuple[Sequence[ModelAlias | InvalidAlias], Mapping[str, Verdict]] | None = None
        self.baseline_runs = 0

    def ready(self) -> bool:
        """True once every watch scope delivered its first full list."""
        return self.inventory.complete

    def __call__(self) -> list[ModelAlias | InvalidAlias]:
        return self._parsed.objects()

    def baseline(self, objects: Sequence[ModelAlias | InvalidAlias]) -> Mapping[str, Verdict]:
        """Verdicts of ``objects`` (a list this snapshot returned), computed once per inventory version.

        Keyed by the list's identity: a new inventory version gives a new list. Credentials are not
        judged, as in :func:`controller.webhook.admission.review`.
        """
        with self._lock:
            cached = self._baseline
            if cached is not None and cached[0] is objects:
                return cached[1]
            verdicts = resolve(objects).verdicts
            self._baseline = (objects, verdicts)
            self.baseline_runs += 1
            return verdicts


class ReloadingCertificate:
    """A server TLS context whose certificate pair is reloaded when the files change on disk."""

    def __init__(self, cert_file: str, key_file: str, *, check_seconds: float = 10.0) -> None:
        self.cert_file = Path(cert_file)
        self.key_file = Path(key_file)
        self.check_seconds = check_seconds
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._stamp = self._read_stamp()
        self.context.load_cert_chain(self.cert_file, self.key_file)  # fails loudly at startup: no webhook without it
        self.reloads = 0

    def _read_stamp(self) -> tuple[float, float, int, int]:
        cert, key = self.cert_file.stat(), self.key_file.stat()
        return cert.st_mtime, key.st_mtime, cert.st_size, key.st_size

    def check(self) -> bool:
        """Reload when the files changed; a half-written pair keeps the previous certificate (retried later)."""
        try:
            stamp = self._read_stamp()
            if stamp == self._stamp:
                return False
            self.context.load_cert_chain(self.cert_file, self.key_file)
        except (OSError, ssl.SSLError) as error:
            log.warning("webhook_certificate_reload_failed", error=str(error), cert_file=str(self.cert_file))
            return False
        self._stamp = stamp
        self.reloads += 1
        log.info("webhook_certificate_reloaded", cert_file=str(self.cert_file))
        return True

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(self.check_seconds)
            self.check()


class WebhookServer:
    """``POST /validate-modelalias`` over HTTPS, answering from the controller's own inventory."""

    def __init__(self, *, listen: str, cert_file: str, key_file: str, inventory: Inventory) -> None:
        self.listen = listen
        self.certificate = ReloadingCertificate(cert_file, key_file)
        self.snapshot = ParsedInventory(inventory)
        self._runner: web.AppRunner | None = None
        self._watch: asyncio.Task[None] | None = None
        self.port: int | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=3 * 1024 * 1024)  # the API server caps objects at ~1.5 MiB
        routes = webhook_routes(self.snapshot, ready=self.snapshot.ready, baseline=self.snapshot.baseline)
        app.add_routes(routes)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        host, port = parse_listen(self.listen)
        await web.TCPSite(self._runner, host, port, ssl_context=self.certificate.context).start()
        self.port = int(self._runner.addresses[0][1])
        self._watch = asyncio.create_task(self.certificate.watch())
        log.info("webhook_started", port=self.port)

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
