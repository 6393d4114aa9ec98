"""``KubeApiServer``: the test API server's lifecycle, kubeconfig files, CRD installation and faults.

    async with KubeApiServer() as api:
        api.install_crd("deploy/crds/aliasgate.io_modelaliases.yaml")
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
        ...

It listens on a real loopback port (aiohttp). ``outage()`` closes the listener and every open
connection, then listens again on the same port with the same state, like an API server restart.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import pathlib
import secrets
import shutil
import ssl
import tempfile
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any

import yaml
from aiohttp import web

from tests.kubeapi import cel_rules, errors, operations
from tests.kubeapi.faults import Faults, RequestLog
from tests.kubeapi.handlers import Api, HandlerSettings
from tests.kubeapi.resources import Registry, ResourceType
from tests.kubeapi.storage import Store

Json = dict[str, Any]


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def self_signed_certificate(host: str = "127.0.0.1") -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) for ``host``, made by the ``openssl`` command (no Python crypto package
    is a dependency); the certificate is its own CA, as a webhook's ``caBundle`` or a kubeconfig expects."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("a self-signed certificate needs the openssl command")
    with tempfile.TemporaryDirectory() as tmp:
        key, cert = pathlib.Path(tmp, "key.pem"), pathlib.Path(tmp, "cert.pem")
        process = await asyncio.create_subprocess_exec(
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=kubeapi-test",
            "-addext", f"subjectAltName=IP:{host},DNS:localhost",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"openssl failed: {err.decode()}")
        return cert.read_bytes(), key.read_bytes()


class KubeApiServer:
    """A Kubernetes API server for tests, in memory, over real HTTP on loopback.

    The Python helpers (``create``, ``get``, ``list``, ``update``, ``patch``, ``delete``) bypass HTTP but
    run the same code as requests do, and return copies: stored objects are never shared with callers.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        require_auth: bool = False,
        history_size: int = 1000,
        bookmark_interval: float = 60.0,
        strict_namespaces: bool = False,
        cel: bool = True,
        tls: bool = False,
        clock: Callable[[], datetime.datetime] = _utcnow,
    ) -> None:
        """``history_size``: watch events kept per resource for resumption (older ones: 410 Gone).
        ``strict_namespaces``: refuse namespaced objects in namespaces that do not exist (a real server does).
        ``cel``: evaluate the CRDs' ``x-kubernetes-validations`` rules.
        ``tls``: serve HTTPS with a fresh self-signed certificate (``openssl``); kubectl sends bearer tokens
        only over TLS, so tests that attribute kubectl's requests to a user need it.
        """
        self.host = host
        self.port = port
        self.registry = Registry()
        self.store = Store(history_size=history_size)
        self.engine = operations.Engine(
            registry=self.registry,
            store=self.store,
            clock=clock,
            strict_namespaces=strict_namespaces,
            rules=cel_rules.rule_checker if cel else None,
        )
        self.faults = Faults()
        self.requests = RequestLog()
        self.settings = HandlerSettings(bookmark_interval=bookmark_interval, require_auth=require_auth)
        self.api = Api(
            engine=self.engine, faults=self.faults, log=self.requests, settings=self.settings, address=self._address
        )
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._outage: asyncio.Task[None] | None = None
        self.tls = tls
        self.certificate: bytes | None = None
        """PEM of the server certificate (also its own CA) when ``tls`` is on."""
        self._ssl: ssl.SSLContext | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        if self.tls and self._ssl is None:
            await self._make_certificate()
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.api.handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        await self._listen()

    async def _listen(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True, ssl_context=self._ssl)
        await self._site.start()
        server = self._site._server  # the asyncio server: the only way to learn an ephemeral port
        assert server is not None
        sockets = getattr(server, "sockets", None)
        if self.port == 0 and sockets:
            self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._outage is not None:
            self._outage.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._outage
        self.store.drop_watchers()
        await asyncio.sleep(0)
        await self.api.webhooks.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> KubeApiServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _make_certificate(self) -> None:
        cert, key = await self_signed_certificate(self.host)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        with tempfile.TemporaryDirectory() as tmp:
            cert_path, key_path = pathlib.Path(tmp, "cert.pem"), pathlib.Path(tmp, "key.pem")
            cert_path.write_bytes(cert)
            key_path.write_bytes(key)
            context.load_cert_chain(cert_path, key_path)
        self.certificate = cert
        self._ssl = context

    def client_ssl_context(self) -> ssl.SSLContext | None:
        """For aiohttp clients of a TLS server: trusts exactly this server's certificate."""
        if self.certificate is None:
            return None
        return ssl.create_default_context(cadata=self.certificate.decode())

    def _address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def service_urls(self) -> dict[tuple[str, str], str]:
        """Where to call webhooks whose ``clientConfig`` names a Service: (namespace, name) -> base URL."""
        return self.api.webhooks.service_urls

    # -- clients ---------------------------------------------------------------------------------

    def add_user(self, name: str) -> str:
        """Issue a bearer token for ``name``; requests with it are recorded under that user."""
        token = f"{name}-{secrets.token_hex(8)}"
        self.settings.tokens[token] = name
        return token

    def write_kubeconfig(
        self, path: str | pathlib.Path, *, user: str = "test", namespace: str = "default"
    ) -> pathlib.Path:
        """A kubeconfig for kubectl and kubernetes-asyncio, with a fresh token for ``user``."""
        path = pathlib.Path(path)
        token = self.add_user(user)
        cluster: Json = {"server": self.url}
        if self.certificate is not None:
            cluster["certificate-authority-data"] = base64.b64encode(self.certificate).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "kubeapi-test", "cluster": cluster}],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [
                {"name": "kubeapi-test", "context": {"cluster": "kubeapi-test", "user": user, "namespace": namespace}}
            ],
            "current-context": "kubeapi-test",
            "preferences": {},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def auth_headers(self, user: str = "test") -> dict[str, str]:
        """Headers for a raw aiohttp client (a fresh token for ``user``)."""
        return {"Authorization": f"Bearer {self.add_user(user)}"}

    # -- objects, bypassing HTTP (test setup and assertions) ---------------------------------------

    def resource(self, api_version: str, plural: str) -> ResourceType:
        group, _, version = api_version.rpartition("/")
        rt = self.registry.get(group, version, plural)
        if rt is None:
            raise KeyError(f"{plural} in {api_version} is not served")
        return rt

    def install_crd(self, crd: str | pathlib.Path | Json) -> Json:
        """Create (or update) a CRD from a dict or a YAML file, as ``kubectl apply`` would."""
        if not isinstance(crd, dict):
            loaded = yaml.safe_load(pathlib.Path(crd).read_text())
            if not isinstance(loaded, dict):
                raise ValueError(f"{crd} does not hold one YAML object")
            crd = loaded
        rt = self.resource("apiextensions.k8s.io/v1", "customresourcedefinitions")
        name = crd["metadata"]["name"]
        try:
            current = self.engine.get(rt, "", name)
        except errors.ApiError:
            return operations.clone(self.engine.create(rt, "", operations.clone(crd), operations.WriteOptions()).obj)
        body = operations.clone(crd)
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        return operations.clone(self.engine.update(rt, "", name, body, None, operations.WriteOptions()).obj)

    def create(self, obj: Json, *, plural: str | None = None) -> Json:
        """Create ``obj`` (apiVersion/kind/metadata set) without HTTP; returns the stored object."""
        rt = self._rt_for(obj, plural)
        namespace = obj.get("metadata", {}).get("namespace", "default") if rt.namespaced else ""
        return operations.clone(self.engine.create(rt, namespace, operations.clone(obj), operations.WriteOptions()).obj)

    def update(self, obj: Json, *, plural: str | None = None, subresource: str | None = None) -> Json:
        """Replace ``obj`` (PUT semantics; a missing resourceVersion means "the current one")."""
        rt = self._rt_for(obj, plural)
        meta = obj["metadata"]
        namespace = meta.get("namespace", "default") if rt.namespaced else ""
        body = operations.clone(obj)
        if not meta.get("resourceVersion"):
            body["metadata"]["resourceVersion"] = self.engine.get(rt, namespace, meta["name"])["metadata"][
                "resourceVersion"
            ]
        return operations.clone(
            self.engine.update(rt, namespace, meta["name"], body, subresource, operations.WriteOptions()).obj
        )

    def patch(
        self,
        api_version: str,
        plural: str,
        name: str,
        patch: Json,
        *,
        namespace: str = "",
        subresource: str | None = None,
    ) -> Json:
        """JSON merge patch ``patch`` onto an object (``subresource="status"`` for its status)."""
        rt = self.resource(api_version, plural)
        result = self.engine.patch(
            rt,
            namespace,
            name,
            "application/merge-patch+json",
            operations.clone(patch),
            subresource,
            operations.WriteOptions(),
        )
        return operations.clone(result.obj)

    def delete(self, api_version: str, plural: str, name: str, namespace: str = "") -> Json:
        """Delete an object (finalizers hold it, as over HTTP); 404 raises ``errors.ApiError``."""
        rt = self.resource(api_version, plural)
        return operations.clone(self.engine.delete_object(rt, namespace, name, None, operations.WriteOptions()).obj)

    def get(self, api_version: str, plural: str, name: str, namespace: str = "") -> Json | None:
        rt = self.resource(api_version, plural)
        try:
            return operations.clone(self.engine.get(rt, namespace, name))
        except errors.ApiError:
            return None

    def list(self, api_version: str, plural: str, namespace: str | None = None) -> list[Json]:
        rt = self.resource(api_version, plural)
        return [operations.clone(self.engine.view(rt, o)) for o in self.engine.select(rt, namespace, None)]

    def _rt_for(self, obj: Json, plural: str | None) -> ResourceType:
        api_version, kind = obj["apiVersion"], obj["kind"]
        if plural is not None:
            return self.resource(api_version, plural)
        rt = self.registry.by_kind(api_version, kind)
        if rt is None:
            raise KeyError(f"{kind} in {api_version} is not served")
        return rt

    @property
    def resource_version(self) -> int:
        """The current global resourceVersion."""
        return self.store.rv

    # -- faults ----------------------------------------------------------------------------------

    def drop_watches(self) -> int:
        """End every open watch now (clean end of stream, as when a real server restarts watches)."""
        return self.store.drop_watchers()

    def watch_count(self) -> int:
        return self.store.watcher_count()

    async def go_down(self) -> None:
        """Stop listening and cut every open connection; state is kept."""
        self.api.down = True
        self.store.drop_watchers()
        self.api.abort_connections()
        if self._site is not None:
            await self._site.stop()
            self._site = None

    async def come_up(self) -> None:
        """Listen again on the same port."""
        if self._site is None:
            self.api.down = False
            await self._listen()

    async def outage(self, seconds: float) -> None:
        """Be down for ``seconds`` in the background; returns once the server is down."""
        await self.go_down()

        async def _later() -> None:
            await asyncio.sleep(seconds)
            await self.come_up()

        self._outage = asyncio.get_running_loop().create_task(_later())

    @contextlib.asynccontextmanager
    async def down(self) -> AsyncIterator[None]:
        """``async with api.down():`` — refuse connections inside the block."""
        await self.go_down()
        try:
            yield
        finally:
            await self.come_up()
