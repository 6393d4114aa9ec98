"""HTTP layer: parse a Kubernetes API request, account for it, apply faults, call ``operations``.

One catch-all route, because Kubernetes URLs are easier to parse by hand than to express as routes:
``/api/v1[/watch][/namespaces/{ns}]/{plural}[/{name}[/{sub}]]`` and the same under ``/apis/{g}/{v}``.
Responses are JSON (``orjson``); watches are chunked ``application/json`` streams of one
``{"type","object"}`` line per event, fed from a ``storage.Watcher`` queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import logging
import re
import time
import weakref
from collections.abc import Callable
from typing import Any

import orjson
import yaml
from aiohttp import web

from tests.kubeapi import discovery, errors, operations, protobuf, selectors, tables, webhooks
from tests.kubeapi.faults import Faults, RequestLog, RequestRecord
from tests.kubeapi.resources import ResourceType
from tests.kubeapi.storage import Watcher, WatchEvent

Json = dict[str, Any]
log = logging.getLogger(__name__)

VERSION_INFO: Json = {
    "major": "1",
    "minor": "37",
    "gitVersion": "v1.37.2",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.26.8",
    "compiler": "gc",
    "platform": "linux/amd64",
}
AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
TABLE_TYPE = "application/json"
"""What a real server labels a Table answer (the ``as=Table`` is in the request's Accept only)."""
METADATA_TYPE = "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io"
METADATA_LIST_TYPE = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"
_TRUE = frozenset({"true", "1", "True", "TRUE"})
_WATCH_BATCH = 256


@dataclasses.dataclass(slots=True)
class HandlerSettings:
    bookmark_interval: float = 60.0
    """Seconds between BOOKMARK events on watches that ask for them (a real server: about a minute)."""
    require_auth: bool = False
    tokens: dict[str, str] = dataclasses.field(default_factory=dict)
    """bearer token -> user name."""
    default_watch_timeout: float | None = None
    """Seconds after which a watch without ``timeoutSeconds`` ends (None: never; a real server: 30-60 min)."""


@dataclasses.dataclass(slots=True)
class Target:
    """A parsed resource URL."""

    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None
    watch_prefix: bool


def _json(
    body: Any, status: int = 200, *, content_type: str = "application/json", warnings: list[str] | None = None
) -> web.Response:
    response = web.Response(body=orjson.dumps(body), status=status, content_type="application/json")
    if content_type != "application/json":
        response.headers["Content-Type"] = content_type
    for warning in warnings or ():
        response.headers.add("Warning", '299 - "' + warning.replace('"', '\\"') + '"')
    return response


def _error(error: errors.ApiError) -> web.Response:
    response = _json(error.status(), error.code)
    if error.code == 429:
        response.headers["Retry-After"] = "1"
    return response


class Api:
    """The aiohttp request handler; state lives in the engine, faults and log it is given."""

    def __init__(
        self,
        *,
        engine: operations.Engine,
        faults: Faults,
        log: RequestLog,
        settings: HandlerSettings,
        address: Callable[[], str],
    ) -> None:
        self.engine = engine
        self.faults = faults
        self.log = log
        self.settings = settings
        self.address = address
        self.down = False
        self.transports: weakref.WeakSet[asyncio.Transport] = weakref.WeakSet()
        self.webhooks = webhooks.Webhooks()
        self._docs: dict[str, bytes] = {}
        self._docs_revision = -1

    # -- entry -------------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        transport = request.transport
        if isinstance(transport, asyncio.Transport):
            self.transports.add(transport)
            if self.down:  # a keep-alive connection from before an outage: cut it, as a restart would
                transport.abort()
                return web.Response(status=503)
        user = self._user(request)
        segments = [s for s in request.path.split("/") if s]
        try:
            target = self._target(segments)
        except errors.ApiError as error:
            self._record(request, segments, None, user)
            return _error(error)
        record = self._record(request, segments, target, user)
        try:
            if self.settings.require_auth and user == "":
                raise errors.unauthorized()
            rule = self.faults.take(record)
            if rule is not None:
                if rule.delay:
                    await asyncio.sleep(rule.delay)
                if rule.status is not None:
                    if record.verb == "watch" and rule.status == 410:
                        return await self._stream_error(
                            request, errors.gone(f"too old resource version: {rule.message}")
                        )
                    raise rule.error()
            if target is None:
                return self._discovery(request, segments)
            return await self._resource(request, target, record.verb)
        except errors.ApiError as error:
            return _error(error)
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception as error:  # a bug in the test server: answer like a real server's 500, and say why
            log.exception("test API server failed on %s %s", request.method, request.path)
            return _error(errors.internal(f"test API server bug: {error!r}"))

    def _user(self, request: web.Request) -> str:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return self.settings.tokens.get(header[7:], "")
        return ""

    def _record(self, request: web.Request, segments: list[str], target: Target | None, user: str) -> RequestRecord:
        verb = ""
        if target is not None:
            verb = _verb(request, target)
        record = RequestRecord(
            method=request.method,
            path=request.path,
            verb=verb,
            group=target.rt.group if target else "",
            resource=target.rt.plural if target else "",
            subresource=(target.subresource or "") if target else "",
            namespace=(target.namespace or "") if target else "",
            name=(target.name or "") if target else "",
            user=user,
            user_agent=request.headers.get("User-Agent", ""),
            at=time.monotonic(),
        )
        self.log.add(record)
        return record

    # -- routing -----------------------------------------------------------------------------------

    def _target(self, segments: list[str]) -> Target | None:
        """The resource a URL names, None for discovery/OpenAPI/version URLs, 404 for unknown ones."""
        if len(segments) >= 3 and segments[0] == "api":
            group, version, rest = "", segments[1], segments[2:]
        elif len(segments) >= 4 and segments[0] == "apis":
            group, version, rest = segments[1], segments[2], segments[3:]
        else:
            return None
        watch_prefix = False
        if rest[0] == "watch":
            watch_prefix, rest = True, rest[1:]
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces" and not (group == "" and rest[2] in ("status", "finalize")):
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise _not_found_path()
        rt = self.engine.registry.get(group, version, rest[0])
        if rt is None:
            raise _not_found_path()
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else None
        if subresource is not None and not (subresource == "status" and rt.status_subresource):
            raise _not_found_path()
        if namespace is not None and not rt.namespaced:
            raise _not_found_path()
        if rt.namespaced and namespace is None and name is not None:
            raise _not_found_path()
        return Target(rt, namespace, name, subresource, watch_prefix)

    def _discovery(self, request: web.Request, segments: list[str]) -> web.StreamResponse:
        if request.method != "GET":
            raise errors.method_not_allowed()
        registry = self.engine.registry
        accept = request.headers.get("Accept", "")
        match segments:
            case []:
                return _json(
                    {"paths": ["/api", "/api/v1", "/apis", "/openapi/v3", "/version", "/healthz", "/livez", "/readyz"]}
                )
            case ["version"]:
                return _json(VERSION_INFO)
            case ["healthz" | "livez" | "readyz", *_]:
                return web.Response(text="ok", content_type="text/plain")
            case ["api"]:
                if aggregated := _aggregated_type(accept):
                    doc = discovery.aggregated(registry, core=True, api_version=aggregated[1])
                    return _json(doc, content_type=aggregated[0])
                return _json(discovery.api_versions(self.address()))
            case ["apis"]:
                if aggregated := _aggregated_type(accept):
                    doc = discovery.aggregated(registry, core=False, api_version=aggregated[1])
                    return _json(doc, content_type=aggregated[0])
                return _json(discovery.api_group_list(registry))
            case ["api", version] if version == "v1":
                return _json(discovery.resource_list(registry, "", version))
            case ["apis", group] if registry.versions(group):
                return _json(discovery.api_group(registry, group))
            case ["apis", group, version] if registry.has_group_version(group, version):
                return _json(discovery.resource_list(registry, group, version))
            case ["openapi", "v3"]:
                self._refresh_docs()  # a real server labels this index text/plain (its documents: JSON)
                return _json(discovery.openapi_v3_root(registry, self._docs), content_type="text/plain; charset=utf-8")
            case ["openapi", "v3", *rest]:
                self._refresh_docs()
                key = "/".join(rest)
                if key not in self._docs:
                    discovery.openapi_v3_root(registry, self._docs)
                if key in self._docs:
                    return web.Response(body=self._docs[key], content_type="application/json")
        raise _not_found_path()

    def _refresh_docs(self) -> None:
        if self._docs_revision != self.engine.registry.revision:
            self._docs = {}
            self._docs_revision = self.engine.registry.revision

    # -- resources ---------------------------------------------------------------------------------

    async def _resource(self, request: web.Request, target: Target, verb: str) -> web.StreamResponse:
        engine, rt = self.engine, target.rt
        query = request.query
        namespace = target.namespace or ""
        if verb == "watch":
            return await self._watch(request, target)
        if verb == "list":
            return self._list(request, target)
        if verb == "get":
            assert target.name is not None
            obj = engine.get(rt, namespace, target.name)
            if _wants_table(request):
                return _json(
                    tables.table(rt, [obj], now=self._now(), include_object=query.get("includeObject", "Metadata")),
                    content_type=TABLE_TYPE,
                )
            if _wants_metadata(request):
                return _json(tables.partial_metadata(obj), content_type=METADATA_TYPE)
            return _json(obj)
        options = _write_options(query)
        if rt.namespaced and target.namespace is None and verb in ("create", "deletecollection"):
            # only list and watch exist across all namespaces: a real server has no route for the rest
            return web.Response(status=404, text="404 page not found\n", content_type="text/plain")
        if verb == "deletecollection":
            matches = self._matcher(request, target)
            deleted = engine.delete_collection(rt, target.namespace, matches, options)
            return _json(
                self._list_body(rt, [engine.view(rt, o) for o in deleted], {"resourceVersion": str(engine.store.rv)})
            )
        if verb not in ("create", "update", "patch", "delete"):
            raise errors.method_not_allowed()
        if verb == "create" and target.subresource is not None:
            raise errors.method_not_allowed()
        body = await _body(request, optional=verb == "delete")
        if verb == "delete" and isinstance(body, dict) and body.get("dryRun"):
            options = dataclasses.replace(options, dry_run=True)
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip()

        def perform(write_options: operations.WriteOptions, payload: Any) -> operations.WriteResult:
            name = target.name or ""
            if verb == "create":
                return engine.create(rt, namespace, payload, write_options)
            if verb == "update":
                return engine.update(rt, namespace, name, payload, target.subresource, write_options)
            if verb == "patch":
                return engine.patch(rt, namespace, name, content_type, payload, target.subresource, write_options)
            return engine.delete(rt, namespace, name, payload, write_options)

        warnings = await self._admission(request, target, verb, options, body, perform)
        result = perform(options, body)
        result.warnings = warnings + result.warnings
        return _json(result.obj, result.code, warnings=result.warnings)

    def _now(self) -> datetime.datetime:
        return self.engine.clock()

    async def _admission(
        self,
        request: web.Request,
        target: Target,
        verb: str,
        options: operations.WriteOptions,
        body: Any,
        perform: Callable[[operations.WriteOptions, Any], operations.WriteResult],
    ) -> list[str]:
        """Run the validating webhooks that match this write on the object it would store."""
        engine, rt = self.engine, target.rt
        webhook_rt = engine.registry.get("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations")
        assert webhook_rt is not None
        configurations = engine.select(webhook_rt, None, None)
        if not configurations:
            return []
        namespace = target.namespace or ""
        old = engine.store.bucket(rt.key).get(namespace, target.name) if target.name else None
        old_view = engine.view(rt, old) if old is not None else None
        operation = {"create": "CREATE", "update": "UPDATE", "patch": "UPDATE", "delete": "DELETE"}[verb]
        if operation == "UPDATE" and old is None:
            operation = "CREATE"  # server-side apply (or PUT of an Event) creating the object
        namespace_labels = None
        if rt.namespaced:
            namespace_obj = engine.store.bucket("/namespaces").get("", namespace)
            namespace_labels = dict(((namespace_obj or {}).get("metadata") or {}).get("labels") or {})
        if operation == "DELETE":
            new_view = None
        else:
            preview = perform(dataclasses.replace(options, dry_run=True), _copy(body))
            new_view = preview.obj
        hooks = self.webhooks.matching(
            configurations, rt, operation, target.subresource, new_view, old_view, namespace_labels
        )
        if not hooks:
            return []
        subject = new_view or old_view or {}
        user = self._user(request)
        review_request: Json = {
            "kind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
            "resource": {"group": rt.group, "version": rt.version, "resource": rt.plural},
            "requestKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
            "requestResource": {"group": rt.group, "version": rt.version, "resource": rt.plural},
            "name": (subject.get("metadata") or {}).get("name", target.name or ""),
            "operation": operation,
            "userInfo": {
                "username": user or "system:anonymous",
                "groups": ["system:authenticated"] if user else ["system:unauthenticated"],
            },
            "object": new_view,
            "oldObject": old_view if operation != "CREATE" else None,
            "dryRun": options.dry_run,
            "options": {"kind": f"{operation.capitalize()}Options", "apiVersion": "meta.k8s.io/v1"},
        }
        if rt.namespaced:
            review_request["namespace"] = namespace
        if target.subresource:
            review_request["subResource"] = target.subresource
        return await self.webhooks.admit(hooks, {"request": review_request})

    def _matcher(self, request: web.Request, target: Target) -> Callable[[Json], bool] | None:
        query = request.query
        labels = selectors.parse_label_selector(query.get("labelSelector"))
        fields = selectors.parse_field_selector(query.get("fieldSelector"), target.rt.plural)
        by_name = None
        if target.watch_prefix and target.name is not None:
            by_name = selectors.parse_field_selector(f"metadata.name={target.name}", target.rt.plural)
        namespace = target.namespace
        checks = [c for c in (labels, fields, by_name) if c is not None]
        if namespace is not None:
            checks.insert(0, lambda o: o["metadata"].get("namespace") == namespace)
        if not checks:
            return None
        if len(checks) == 1:
            return checks[0]
        return lambda o: all(c(o) for c in checks)

    def _list_body(self, rt: ResourceType, items: list[Json], metadata: Json) -> Json:
        if not rt.custom:
            items = [{k: v for k, v in o.items() if k not in ("apiVersion", "kind")} for o in items]
        return {"kind": f"{rt.kind}List", "apiVersion": rt.api_version, "metadata": metadata, "items": items}

    def _list(self, request: web.Request, target: Target) -> web.StreamResponse:
        engine, rt, query = self.engine, target.rt, request.query
        matches = self._matcher(request, target)
        # Selection uses the stored namespace index; the matcher re-checks namespace cheaply.
        objs = engine.select(rt, target.namespace, matches)
        rv = engine.store.rv
        metadata: Json = {"resourceVersion": str(rv)}
        token = query.get("continue")
        if token:
            rv, after = operations.parse_continue(token)
            metadata["resourceVersion"] = str(rv)
            objs = [o for o in objs if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > after]
        limit_text = query.get("limit")
        if limit_text:
            try:
                limit = int(limit_text)
            except ValueError:
                raise errors.bad_request(f"invalid limit: {limit_text}") from None
            if 0 < limit < len(objs):
                last = objs[limit - 1]["metadata"]
                metadata["continue"] = operations.continue_token(rv, (last.get("namespace", ""), last["name"]))
                if not query.get("labelSelector") and not query.get("fieldSelector"):
                    metadata["remainingItemCount"] = len(objs) - limit  # unknown to a real server after a filter
                objs = objs[:limit]
        items = [engine.view(rt, o) for o in objs]
        if _wants_table(request):
            body = tables.table(
                rt, items, now=self._now(), include_object=query.get("includeObject", "Metadata"), metadata=metadata
            )
            return _json(body, content_type=TABLE_TYPE)
        if _wants_metadata(request):
            partial = [tables.partial_metadata(o) for o in items]
            body = {
                "kind": "PartialObjectMetadataList",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": metadata,
                "items": partial,
            }
            return _json(body, content_type=METADATA_LIST_TYPE)
        return _json(self._list_body(rt, items, metadata))

    # -- watch -------------------------------------------------------------------------------------

    async def _stream_error(self, request: web.Request, error: errors.ApiError) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(orjson.dumps({"type": "ERROR", "object": error.status()}) + b"\n")
        await response.write_eof()
        return response

    async def _watch(self, request: web.Request, target: Target) -> web.StreamResponse:
        engine, rt, query = self.engine, target.rt, request.query
        store = engine.store
        matches = self._matcher(request, target) or _always
        rv_text = query.get("resourceVersion", "")
        send_initial = query.get("sendInitialEvents") in _TRUE
        bookmarks = query.get("allowWatchBookmarks") in _TRUE
        as_table = _wants_table(request)
        as_metadata = _wants_metadata(request)
        initial: list[Json] = []
        if rv_text in ("", "0") or send_initial:
            initial = engine.select(rt, target.namespace, matches)
            watcher = store.watch(rt.key, matches, None)
        else:
            try:
                since = int(rv_text)
            except ValueError:
                raise errors.bad_request(f'invalid resource version "{rv_text}"') from None
            bucket = store.bucket(rt.key)
            if since < bucket.floor:
                return await self._stream_error(
                    request, errors.gone(f"too old resource version: {since} ({bucket.floor + 1})")
                )
            watcher = store.watch(rt.key, matches, since)
        timeout_text = query.get("timeoutSeconds")
        timeout = float(timeout_text) if timeout_text else self.settings.default_watch_timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout if timeout else None
        response = web.StreamResponse(
            status=200,
            headers={"Content-Type": TABLE_TYPE if as_table else METADATA_TYPE if as_metadata else "application/json"},
        )
        response.enable_chunked_encoding()
        try:
            await response.prepare(request)
            first = [True]
            render = self._renderer(rt, as_table, as_metadata, first)
            if initial:
                await response.write(b"".join(render("ADDED", WatchEvent("ADDED", o, None, 0)) for o in initial))
            if send_initial and bookmarks:
                await response.write(self._bookmark(rt, {"k8s.io/initial-events-end": "true"}))
            await self._pump(response, watcher, render, rt, bookmarks, deadline)
            with contextlib.suppress(ConnectionError):
                await response.write_eof()
        finally:
            store.unwatch(rt.key, watcher)
        return response

    def _renderer(
        self, rt: ResourceType, as_table: bool, as_metadata: bool, first: list[bool]
    ) -> Callable[[str, WatchEvent], bytes]:
        engine = self.engine
        identity = not rt.custom and rt.group != "events.k8s.io"
        if as_metadata:

            def metadata_line(type_: str, event: WatchEvent) -> bytes:
                return event.line(
                    type_, "meta.k8s.io/v1#" + rt.api_version, lambda o: tables.partial_metadata(engine.view(rt, o))
                )

            return metadata_line
        if as_table:

            def table_line(type_: str, event: WatchEvent) -> bytes:
                obj = engine.view(rt, event.obj)
                table = tables.table(rt, [obj], now=self._now(), headers=first[0])
                first[0] = False
                return orjson.dumps({"type": type_, "object": table}) + b"\n"

            return table_line

        def line(type_: str, event: WatchEvent) -> bytes:
            if identity:
                return event.line(type_, rt.api_version)
            return event.line(type_, rt.api_version, lambda o: engine.view(rt, o))

        return line

    def _bookmark(self, rt: ResourceType, annotations: dict[str, str] | None = None) -> bytes:
        meta: Json = {"resourceVersion": str(self.engine.store.rv)}
        if annotations:
            meta["annotations"] = annotations
        return (
            orjson.dumps(
                {"type": "BOOKMARK", "object": {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": meta}}
            )
            + b"\n"
        )

    async def _pump(
        self,
        response: web.StreamResponse,
        watcher: Watcher,
        render: Callable[[str, WatchEvent], bytes],
        rt: ResourceType,
        bookmarks: bool,
        deadline: float | None,
    ) -> None:
        loop = asyncio.get_running_loop()
        interval = self.settings.bookmark_interval
        next_bookmark = loop.time() + interval
        queue = watcher.queue
        while True:
            now = loop.time()
            if deadline is not None and now >= deadline:
                return
            wait = None if deadline is None else deadline - now
            if bookmarks:
                until_bookmark = max(next_bookmark - now, 0.0)
                wait = until_bookmark if wait is None else min(wait, until_bookmark)
            try:
                item = await asyncio.wait_for(queue.get(), wait) if queue.empty() else queue.get_nowait()
            except TimeoutError:
                if bookmarks and loop.time() >= next_bookmark:
                    await response.write(self._bookmark(rt))
                    next_bookmark = loop.time() + interval
                continue
            if item is None:
                return
            chunk = [render(item[0], item[1])]
            while len(chunk) < _WATCH_BATCH and not queue.empty():
                more = queue.get_nowait()
                if more is None:
                    await response.write(b"".join(chunk))
                    return
                chunk.append(render(more[0], more[1]))
            await response.write(b"".join(chunk))

    def abort_connections(self) -> None:
        for transport in list(self.transports):
            transport.abort()


def _always(obj: Json) -> bool:
    return True


def _not_found_path() -> errors.ApiError:
    return errors.ApiError(404, "NotFound", "the server could not find the requested resource", details={})


def _aggregated_type(accept: str) -> tuple[str, str] | None:
    compact = accept.replace(" ", "")
    if "as=APIGroupDiscoveryList" not in compact:
        return None
    for part in compact.split(","):
        if "as=APIGroupDiscoveryList" in part and "v=v2beta1" in part:
            return AGGREGATED_V2BETA1, "apidiscovery.k8s.io/v2beta1"
        if "as=APIGroupDiscoveryList" in part and "v=v2" in part:
            return AGGREGATED_V2, "apidiscovery.k8s.io/v2"
    return None


def _wants_table(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    if "as=Table" not in accept:
        return False
    first = accept.split(",")[0]
    return "as=Table" in first and "g=meta.k8s.io" in first


def _copy(body: Any) -> Any:
    """A private copy of a request body: the engine prunes and defaults in place."""
    return orjson.loads(orjson.dumps(body)) if isinstance(body, dict | list) else body


def _wants_metadata(request: web.Request) -> bool:
    """``Accept: ...;as=PartialObjectMetadata[List];g=meta.k8s.io`` (metadata-only informers)."""
    first = request.headers.get("Accept", "").split(",")[0]
    return "as=PartialObjectMetadata" in first and "g=meta.k8s.io" in first


def _verb(request: web.Request, target: Target) -> str:
    method = request.method
    if method == "GET":
        if target.watch_prefix or (target.name is None and request.query.get("watch") in _TRUE):
            return "watch"
        return "list" if target.name is None else "get"  # ?watch on a named object is a get, as on a real server
    if method == "POST":
        return "create" if target.name is None else "post"
    if method == "PUT":
        return "update" if target.name is not None else "put"
    if method == "PATCH":
        return "patch" if target.name is not None else "patchcollection"
    if method == "DELETE":
        return "delete" if target.name is not None else "deletecollection"
    return method.lower()


def _write_options(query: Any) -> operations.WriteOptions:
    validation = query.get("fieldValidation", "Warn")
    if validation not in ("Ignore", "Warn", "Strict"):
        raise errors.bad_request(f"fieldValidation parameter unsupported: {validation}")
    return operations.WriteOptions(
        dry_run=query.get("dryRun") == "All",
        field_validation=validation,
        field_manager=query.get("fieldManager"),
        force=query.get("force") in _TRUE,
    )


class _YamlLoader(yaml.SafeLoader):
    """YAML as Kubernetes reads it (sigs.k8s.io/yaml, YAML 1.1): timestamps stay strings, and ``y``/``n``
    are booleans too (so ``name: y`` is refused: a name must be a string)."""


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_YamlLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:y|Y|n|N)$"), list("yYnN"))


def _bool(loader: yaml.SafeLoader, node: yaml.Node) -> bool:
    assert isinstance(node, yaml.ScalarNode)
    return str(loader.construct_scalar(node)).lower() in {"y", "yes", "true", "on"}


_YamlLoader.add_constructor("tag:yaml.org,2002:bool", _bool)


def _string_keys(value: Any) -> Any:
    """JSON has only string keys; YAML may have others (``1: a``), which Kubernetes turns into strings."""
    if isinstance(value, dict):
        return {str(k): _string_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_string_keys(v) for v in value]
    return value


async def _body(request: web.Request, *, optional: bool = False) -> Any:
    raw = await request.read()
    if not raw:
        if optional:
            return None
        raise errors.bad_request("the request body is empty")
    content_type = request.headers.get("Content-Type", "application/json").split(";")[0].strip()
    if content_type == "application/vnd.kubernetes.protobuf":
        try:
            return protobuf.decode(raw)
        except protobuf.UnsupportedKindError as error:
            raise errors.unsupported_media_type(f"application/json, application/yaml ({error})") from None
        except protobuf.ProtobufError as error:  # a body that is not protobuf: the client's mistake
            raise errors.bad_request(f"the object provided is unrecognized: proto: {error}") from None
    if "protobuf" in content_type or "cbor" in content_type:
        raise errors.unsupported_media_type("application/json, application/yaml, application/vnd.kubernetes.protobuf")
    try:
        if "yaml" in content_type:
            return _string_keys(yaml.load(raw, Loader=_YamlLoader))
        return orjson.loads(raw)
    except (orjson.JSONDecodeError, yaml.YAMLError) as error:
        raise errors.bad_request(f"error decoding request body: {error}") from None
