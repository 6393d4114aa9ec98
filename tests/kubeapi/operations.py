"""The API semantics, independent of HTTP: create, read, list, update, patch, apply, delete.

``handlers`` parses requests and calls these; ``storage`` keeps objects and fans out events. Every write
goes through ``_write``, which assigns the next global resourceVersion, keeps ``uid`` and
``creationTimestamp``, bumps ``generation`` only when something outside metadata (and status, for
resources with a status subresource) changed, and skips identical writes entirely (same
resourceVersion, no watch event), as a real API server does.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import secrets
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from tests.kubeapi import admission, crds, errors, events, patching, schema
from tests.kubeapi.resources import Registry, ResourceType
from tests.kubeapi.storage import Store

Json = dict[str, Any]
Clock = Callable[[], datetime.datetime]
RuleFactory = Callable[[ResourceType], schema.RuleChecker | None]

_NAME_SUFFIX_CHARS = "bcdfghjklmnpqrstvwxz2456789"

TOP_LEVEL_FIELDS: dict[str, frozenset[str]] = {
    "configmaps": frozenset({"data", "binaryData", "immutable"}),
    "secrets": frozenset({"data", "stringData", "type", "immutable"}),
    "leases": frozenset({"spec"}),
    "namespaces": frozenset({"spec", "status"}),
    "services": frozenset({"spec", "status"}),
    "pods": frozenset({"spec", "status"}),
    "endpointslices": frozenset({"addressType", "endpoints", "ports"}),
    "customresourcedefinitions": frozenset({"spec", "status"}),
    "validatingwebhookconfigurations": frozenset({"webhooks"}),
    "events": frozenset(
        {
            "involvedObject",
            "reason",
            "message",
            "source",
            "firstTimestamp",
            "lastTimestamp",
            "count",
            "type",
            "eventTime",
            "series",
            "action",
            "related",
            "reportingComponent",
            "reportingInstance",
        }
    ),
}
"""Top-level fields of built-in kinds, for pruning/strict validation (their nested fields are not checked)."""

PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+json": "apply",
}


def clone(value: Json) -> Json:
    """A deep copy (orjson round trip: several times faster than ``copy.deepcopy`` for JSON data)."""
    result: Json = orjson.loads(orjson.dumps(value))
    return result


def timestamp(now: datetime.datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass(slots=True)
class WriteResult:
    obj: Json
    code: int = 200
    warnings: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True, slots=True)
class WriteOptions:
    dry_run: bool = False
    field_validation: str = "Warn"
    """``Ignore`` | ``Warn`` (default) | ``Strict``."""
    field_manager: str | None = None
    force: bool = False


class Engine:
    """All objects and their semantics; one per test API server."""

    def __init__(
        self,
        *,
        registry: Registry,
        store: Store,
        clock: Clock,
        strict_namespaces: bool,
        rules: RuleFactory | None = None,
    ) -> None:
        self.registry = registry
        self.store = store
        self.clock = clock
        self.strict_namespaces = strict_namespaces
        self.rules = rules
        self._applied: dict[tuple[str, str, str], dict[str, Json]] = {}
        """(storage key, namespace, name) -> field manager -> the configuration it last applied."""
        self._rule_cache: dict[ResourceType, schema.RuleChecker | None] = {}
        for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self._seed_namespace(name)

    # -- reading ---------------------------------------------------------------------------------

    def view(self, rt: ResourceType, obj: Json) -> Json:
        """The stored object as ``rt``'s version shows it."""
        if rt.group == "events.k8s.io":
            return events.to_events_v1(obj)
        if obj.get("apiVersion") != rt.api_version:
            return {**obj, "apiVersion": rt.api_version}
        return obj

    def get(self, rt: ResourceType, namespace: str, name: str) -> Json:
        obj = self.store.bucket(rt.key).get(namespace, name)
        if obj is None:
            raise errors.not_found(rt.group, rt.plural, name)
        return self.view(rt, obj)

    def select(
        self,
        rt: ResourceType,
        namespace: str | None,
        matches: Callable[[Json], bool] | None,
    ) -> list[Json]:
        """Stored objects in (namespace, name) order, filtered; not yet converted to ``rt``'s view."""
        items: Iterable[Json] = self.store.bucket(rt.key).iter(namespace)
        if matches is not None:
            items = filter(matches, items)
        return sorted(items, key=_sort_key)

    # -- writing ---------------------------------------------------------------------------------

    def create(self, rt: ResourceType, namespace: str, body: Any, options: WriteOptions) -> WriteResult:
        obj = self._incoming(rt, body)
        meta = obj["metadata"]
        self._check_namespace(rt, namespace, meta)
        if meta.get("resourceVersion"):
            raise errors.internal("resourceVersion should not be set on objects to be created")
        bucket = self.store.bucket(rt.key)
        if not meta.get("name"):
            prefix = meta.get("generateName")
            if prefix and (bad := admission.validate_name(rt, prefix, prefix=True)):
                raise errors.invalid(rt.group, rt.kind, "", bad)
            if not prefix:
                raise errors.invalid(
                    rt.group,
                    rt.kind,
                    "",
                    [
                        errors.field_error(
                            "metadata.name", "Required value: name or generateName is required", "FieldValueRequired"
                        )
                    ],
                )
            for _ in range(16):
                candidate = prefix + "".join(secrets.choice(_NAME_SUFFIX_CHARS) for _ in range(5))
                if bucket.get(namespace, candidate) is None:
                    break
            meta["name"] = candidate
        name = meta["name"]
        if rt.status_subresource:
            obj.pop("status", None)  # status is written through /status only, never on create
        warnings = self._admit(rt, obj, None, options)
        if bucket.get(namespace, name) is not None:
            raise errors.already_exists(rt.group, rt.plural, name)
        for key in ("deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"):
            meta.pop(key, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = timestamp(self.clock())
        if rt.has_generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        if rt.plural == "customresourcedefinitions" and rt.group == "apiextensions.k8s.io":
            obj["status"] = crds.status(obj, meta["creationTimestamp"])
        if options.dry_run:
            meta["resourceVersion"] = ""
            return WriteResult(self.view(rt, obj), 201, warnings)
        meta["resourceVersion"] = str(self.store.next_rv())
        self.store.commit(rt.key, "ADDED", obj, None)
        self._after_write(rt, obj, None)
        if rt.plural == "namespaces" and not rt.group:
            self._publish_root_ca(name)
        if rt.plural == "customresourcedefinitions" and rt.group == "apiextensions.k8s.io":
            return WriteResult({**obj, "status": crds.pending_status(obj)}, 201, warnings)
        return WriteResult(self.view(rt, obj), 201, warnings)

    def update(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: Any,
        subresource: str | None,
        options: WriteOptions,
    ) -> WriteResult:
        obj = self._incoming(rt, body)
        meta = obj["metadata"]
        if meta.get("name") and meta["name"] != name:
            raise errors.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
            )
        meta["name"] = name
        self._check_namespace(rt, namespace, meta)
        old = self.store.bucket(rt.key).get(namespace, name)
        if old is None:
            if rt.allow_create_on_update and subresource is None:
                meta.pop("resourceVersion", None)
                return self.create(rt, namespace, obj, options)
            raise errors.not_found(rt.group, rt.plural, name)
        if not meta.get("resourceVersion") and not rt.allow_unconditional_update:
            raise errors.invalid(
                rt.group,
                rt.kind,
                name,
                [errors.field_error("metadata.resourceVersion", "Invalid value: 0x0: must be specified for an update")],
            )
        return self._write(rt, obj, old, subresource, options)

    def patch(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        patch_type: str,
        body: Any,
        subresource: str | None,
        options: WriteOptions,
    ) -> WriteResult:
        kind = PATCH_TYPES.get(patch_type)
        if kind is None or (kind == "strategic" and rt.custom):
            accepted = "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
            if not rt.custom:
                accepted += ", application/strategic-merge-patch+json"
            raise errors.unsupported_media_type(accepted)
        old = self.store.bucket(rt.key).get(namespace, name)
        if kind == "apply":
            return self._apply(rt, namespace, name, body, old, subresource, options)
        if old is None:
            raise errors.not_found(rt.group, rt.plural, name)
        current = clone(self.view(rt, old))
        if kind == "json":
            patched = patching.json_patch(current, body)
        elif not isinstance(body, dict):
            raise errors.bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
        elif kind == "merge":
            patched = patching.merge_patch(current, body)
        else:
            patched = patching.strategic_merge_patch(current, body)
        if not isinstance(patched, dict):
            raise errors.bad_request("the patch did not produce an object")
        patched.setdefault("metadata", {})
        if patched["metadata"].get("name", name) != name:
            raise errors.invalid(
                rt.group, rt.kind, name, [errors.field_error("metadata.name", "Invalid value: field is immutable")]
            )
        return self._write(rt, self._incoming(rt, patched), old, subresource, options)

    def delete(self, rt: ResourceType, namespace: str, name: str, body: Any, options: WriteOptions) -> WriteResult:
        """DELETE of one object, answered as a real server answers: the object while finalizers hold it
        (200), else a ``Status`` naming it, except for the kinds whose storage returns the deleted object
        (Namespaces and CustomResourceDefinitions, shown terminating: their contents go afterwards)."""
        result = self.delete_object(rt, namespace, name, body, options)
        deleted = result.obj
        if result.code == 202:  # held by finalizers
            return WriteResult(deleted, 200)
        now = timestamp(self.clock())
        if rt.plural == "namespaces" and not rt.group:
            meta = {**deleted["metadata"], "deletionTimestamp": now}
            shown = {**deleted, "metadata": meta, "spec": {"finalizers": ["kubernetes"]}}
            return WriteResult({**shown, "status": {"phase": "Terminating"}}, 200)
        if rt.plural == "customresourcedefinitions" and rt.group == "apiextensions.k8s.io":
            return WriteResult(crds.terminating(deleted, now), 200)
        if rt.plural in RETURNS_DELETED_OBJECT and not rt.group:
            return WriteResult(deleted, 200)
        details: Json = {"name": name, "kind": rt.plural, "uid": deleted["metadata"]["uid"]}
        if rt.group:
            details = {"name": name, "group": rt.group, "kind": rt.plural, "uid": deleted["metadata"]["uid"]}
        status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
        return WriteResult(status, 200)

    def delete_object(
        self, rt: ResourceType, namespace: str, name: str, body: Any, options: WriteOptions
    ) -> WriteResult:
        """Delete (or mark for deletion while finalizers hold it: code 202) and return the object itself."""
        bucket = self.store.bucket(rt.key)
        old = bucket.get(namespace, name)
        if old is None:
            raise errors.not_found(rt.group, rt.plural, name)
        preconditions = (body or {}).get("preconditions") or {} if isinstance(body, dict) else {}
        meta = old["metadata"]
        if preconditions.get("uid") and preconditions["uid"] != meta["uid"]:
            raise errors.conflict(
                rt.group,
                rt.plural,
                name,
                f"Precondition failed: UID in precondition: {preconditions['uid']}, UID in object meta: {meta['uid']}",
            )
        if preconditions.get("resourceVersion") and preconditions["resourceVersion"] != meta["resourceVersion"]:
            raise errors.conflict(
                rt.group,
                rt.plural,
                name,
                f"Precondition failed: ResourceVersion in precondition: {preconditions['resourceVersion']}, "
                f"ResourceVersion in object meta: {meta['resourceVersion']}",
            )
        if meta.get("finalizers"):
            if meta.get("deletionTimestamp"):
                return WriteResult(self.view(rt, old), 202)
            new = {
                **old,
                "metadata": {**meta, "deletionTimestamp": timestamp(self.clock()), "deletionGracePeriodSeconds": 0},
            }
            if rt.has_generation:
                new["metadata"]["generation"] = meta.get("generation", 1) + 1
            if options.dry_run:
                return WriteResult(self.view(rt, new), 202)
            new["metadata"]["resourceVersion"] = str(self.store.next_rv())
            self.store.commit(rt.key, "MODIFIED", new, old)
            return WriteResult(self.view(rt, new), 202)
        if options.dry_run:
            return WriteResult(self.view(rt, old), 200)
        self._remove(rt, old)
        return WriteResult(self.view(rt, old), 200)

    def delete_collection(
        self, rt: ResourceType, namespace: str | None, matches: Callable[[Json], bool] | None, options: WriteOptions
    ) -> list[Json]:
        deleted = []
        for obj in self.select(rt, namespace, matches):
            meta = obj["metadata"]
            deleted.append(self.delete_object(rt, meta.get("namespace", ""), meta["name"], None, options).obj)
        return deleted

    # -- internals -------------------------------------------------------------------------------

    def _remove(self, rt: ResourceType, old: Json) -> None:
        meta = old["metadata"]
        final = {**old, "metadata": {**meta, "resourceVersion": str(self.store.next_rv())}}
        self.store.commit(rt.key, "DELETED", final, old)
        self._applied.pop((rt.key, meta.get("namespace", ""), meta["name"]), None)
        if rt.plural == "namespaces" and not rt.group:
            self._empty_namespace(meta["name"])
        if rt.plural == "customresourcedefinitions" and rt.group == "apiextensions.k8s.io":
            self._uninstall(old)

    def _incoming(self, rt: ResourceType, body: Any) -> Json:
        """Check apiVersion/kind of a request body and normalise it to the stored (core, for events) form."""
        if not isinstance(body, dict):
            raise errors.bad_request(f"json: cannot unmarshal {type(body).__name__} into Go value of type {rt.kind}")
        api_version = body.get("apiVersion") or rt.api_version
        kind = body.get("kind") or rt.kind
        if kind != rt.kind or api_version != rt.api_version:
            other = self.registry.by_kind(api_version, kind)
            if other is None or other.key != rt.key:
                raise errors.bad_request(
                    f"the API version in the data ({api_version}) does not match the expected API version ({rt.api_version})"
                    if kind == rt.kind
                    else f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})"
                )
        obj = {"apiVersion": rt.api_version, "kind": rt.kind, **body}
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        if not isinstance(obj.get("metadata"), dict):
            obj["metadata"] = {}
        else:
            obj["metadata"] = dict(obj["metadata"])
        for field in ("name", "namespace", "generateName", "resourceVersion"):
            value = obj["metadata"].get(field)
            if value is not None and not isinstance(value, str):
                go_type = {bool: "bool", int: "number", float: "number", list: "array", dict: "object"}.get(type(value))
                raise errors.bad_request(
                    f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: json: cannot unmarshal '
                    f"{go_type} into Go struct field ObjectMeta.metadata.{field} of type string"
                )
        if rt.group == "events.k8s.io":
            obj = events.to_core(obj)
        return obj

    def _check_namespace(self, rt: ResourceType, namespace: str, meta: Json) -> None:
        if not rt.namespaced:
            meta.pop("namespace", None)
            return
        if meta.get("namespace") and meta["namespace"] != namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        meta["namespace"] = namespace
        if self.strict_namespaces and self.store.bucket("/namespaces").get("", namespace) is None:
            raise errors.namespace_not_found(namespace)

    def _rules_for(self, rt: ResourceType) -> schema.RuleChecker | None:
        if rt not in self._rule_cache:
            self._rule_cache[rt] = self.rules(rt) if self.rules is not None else None
        return self._rule_cache[rt]

    def _admit(self, rt: ResourceType, obj: Json, old: Json | None, options: WriteOptions) -> list[str]:
        """Prune, default and validate ``obj`` in place; returns warnings, raises 400/422."""
        unknown: list[str] = []
        meta = obj["metadata"]
        if rt.custom and rt.schema is not None:
            schema.prune(obj, rt.schema, "", unknown, root=True)
        else:
            schema.prune_metadata(meta, unknown)
            allowed = TOP_LEVEL_FIELDS.get(rt.plural)
            if allowed is not None:
                for key in [k for k in obj if k not in allowed and k not in ("apiVersion", "kind", "metadata")]:
                    del obj[key]
                    unknown.append(key)
        warnings: list[str] = []
        if unknown and options.field_validation == "Strict":
            shown = ", ".join(f'unknown field "{u}"' for u in unknown)
            raise errors.bad_request(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: strict decoding error: {shown}'
            )
        if unknown and options.field_validation != "Ignore":
            warnings = [f'unknown field "{u}"' for u in unknown]
        causes = admission.validate_labels(meta)
        if old is None:
            causes = admission.validate_name(rt, meta.get("name", "")) + causes
        if rt.group == "events.k8s.io" and old is None:
            causes += events.validate_events_v1(events.to_events_v1(obj))
        if rt.custom and rt.schema is not None:
            schema.apply_defaults(obj, rt.schema)
            causes += schema.validate(obj, rt.schema, "", old=old, rules=self._rules_for(rt))
        else:
            causes += admission.prepare(rt, obj, old)
        if rt.plural == "customresourcedefinitions" and rt.group == "apiextensions.k8s.io":
            crds.with_defaults(obj)
            crds.check(obj)
        if causes:
            # events.k8s.io writes are validated as core Events: the message names "Event", no group
            group = "" if rt.group == "events.k8s.io" else rt.group
            raise errors.invalid(group, rt.kind, meta.get("name", ""), causes)
        return warnings

    def _write(
        self, rt: ResourceType, obj: Json, old: Json, subresource: str | None, options: WriteOptions
    ) -> WriteResult:
        """Update ``old`` to ``obj`` (a whole object from PUT or a patch), with all the update rules."""
        name = old["metadata"]["name"]
        old_meta = old["metadata"]
        wanted_rv = obj["metadata"].get("resourceVersion")
        if wanted_rv and wanted_rv != old_meta["resourceVersion"]:
            raise errors.conflict(rt.group, rt.plural, name)
        wanted_uid = obj["metadata"].get("uid")
        if wanted_uid and wanted_uid != old_meta["uid"]:
            raise errors.conflict(
                rt.group,
                rt.plural,
                name,
                f"Precondition failed: UID in precondition: {wanted_uid}, UID in object meta: {old_meta['uid']}",
            )
        # Copies of the old parts: admission prunes and defaults in place, and stored objects are immutable.
        if subresource == "status":
            status = obj.get("status")
            obj = clone({k: v for k, v in old.items() if k != "status"})
            if status is not None:
                obj["status"] = status
        elif rt.status_subresource:
            obj.pop("status", None)
            if "status" in old:
                obj["status"] = clone(old["status"]) if isinstance(old["status"], dict) else old["status"]
        meta = obj["metadata"]
        for key in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "namespace"):
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)
        meta.pop("managedFields", None)
        meta.pop("selfLink", None)
        meta["resourceVersion"] = old_meta["resourceVersion"]
        if rt.has_generation:
            meta["generation"] = old_meta.get("generation", 1)
        else:
            meta.pop("generation", None)
        if old_meta.get("deletionTimestamp"):
            added = set(meta.get("finalizers") or ()) - set(old_meta.get("finalizers") or ())
            if added:
                raise errors.invalid(
                    rt.group,
                    rt.kind,
                    name,
                    [
                        errors.field_error(
                            "metadata.finalizers",
                            "Forbidden: no new finalizers can be added if the object is being deleted",
                            "FieldValueForbidden",
                        )
                    ],
                )
        warnings = self._admit(rt, obj, old, options)
        if rt.plural == "customresourcedefinitions" and rt.group == "apiextensions.k8s.io" and subresource is None:
            obj["status"] = crds.status(
                obj,
                old.get("status", {}).get("conditions", [{}])[0].get("lastTransitionTime") or meta["creationTimestamp"],
            )
        if rt.has_generation and _spec_changed(rt, obj, old):
            meta["generation"] = old_meta.get("generation", 1) + 1
        if obj == old:
            return WriteResult(self.view(rt, old), 200, warnings)
        if options.dry_run:
            return WriteResult(self.view(rt, obj), 200, warnings)
        if old_meta.get("deletionTimestamp") and not meta.get("finalizers"):
            meta["resourceVersion"] = old_meta["resourceVersion"]
            self._remove(rt, obj)
            return WriteResult(self.view(rt, obj), 200, warnings)
        meta["resourceVersion"] = str(self.store.next_rv())
        self.store.commit(rt.key, "MODIFIED", obj, old)
        self._after_write(rt, obj, old)
        return WriteResult(self.view(rt, obj), 200, warnings)

    def _apply(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: Any,
        old: Json | None,
        subresource: str | None,
        options: WriteOptions,
    ) -> WriteResult:
        if not options.field_manager:
            raise errors.ApiError(
                422,
                "Invalid",
                'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
                details={
                    "group": "meta.k8s.io",
                    "kind": "PatchOptions",
                    "causes": [
                        errors.field_error(
                            "fieldManager", "Required value: is required for apply patch", "FieldValueRequired"
                        )
                    ],
                },
            )
        if not isinstance(body, dict):
            raise errors.bad_request("error decoding YAML: apply configuration must be an object")
        if not body.get("apiVersion") or not body.get("kind"):
            raise errors.bad_request("invalid object type: apiVersion and kind are required for apply")
        applied = clone(body)
        manager = options.field_manager
        managers = self._applied.get((rt.key, namespace, name), {})
        if old is None:
            if subresource is not None:
                raise errors.not_found(rt.group, rt.plural, name)
            result = self.create(
                rt, namespace, {**applied, "metadata": {**applied.get("metadata", {}), "name": name}}, options
            )
            if not options.dry_run:
                self._applied[(rt.key, namespace, name)] = {manager: applied}
            return result
        current = clone(self.view(rt, old))
        ours = patching.leaves(applied)
        others = {m: patching.leaves(config) for m, config in managers.items() if m != manager}
        conflicts = [
            (other, path)
            for other, owned in others.items()
            for path, value in ours.items()
            if path in owned and patching.get_path(current, path) != (True, value)
        ]
        if conflicts and not options.force:
            raise _apply_conflict(rt, name, conflicts)
        # Fields this manager applied before and no longer applies go, unless another manager applies them too.
        kept = set(ours).union(*(set(owned) for owned in others.values()))
        for path in patching.leaves(managers.get(manager, {})):
            if path not in kept:
                patching.delete_path(current, path)
        merged = patching.merge_patch(current, {k: v for k, v in applied.items() if k != "metadata"})
        merged["metadata"] = patching.merge_patch(current.get("metadata", {}), applied.get("metadata") or {})
        merged["metadata"]["resourceVersion"] = (applied.get("metadata") or {}).get("resourceVersion") or old[
            "metadata"
        ]["resourceVersion"]
        result = self._write(rt, self._incoming(rt, merged), old, subresource, options)
        if not options.dry_run:
            for other, path in conflicts:  # forced: the fields change hands
                patching.delete_path(managers[other], path)
            self._applied.setdefault((rt.key, namespace, name), {})[manager] = applied
        return result

    def _after_write(self, rt: ResourceType, obj: Json, old: Json | None) -> None:
        if rt.plural == "customresourcedefinitions" and rt.group == "apiextensions.k8s.io":
            self._install(obj, old)

    def _install(self, crd: Json, old: Json | None) -> None:
        """Serve the CRD's versions (again, after an update: schemas and columns may have changed)."""
        if old is not None:
            old_spec = old["spec"]
            self.registry.remove_group_resource(old_spec["group"], old_spec["names"]["plural"])
        for rt in crds.resource_types(crd):
            self.registry.add(rt)
        self._rule_cache.clear()

    def _uninstall(self, crd: Json) -> None:
        spec = crd["spec"]
        group, plural = spec["group"], spec["names"]["plural"]
        key = f"{group}/{plural}"
        rts = [rt for rt in self.registry.all() if rt.group == group and rt.plural == plural]
        if rts:
            for obj in self.select(rts[0], None, None):
                self._remove(rts[0], obj)
        self.registry.remove_group_resource(group, plural)
        self.store.drop_watchers(key)
        self.store.drop_bucket(key)
        self._rule_cache.clear()

    def _empty_namespace(self, namespace: str) -> None:
        for rt in self.registry.all():
            if rt.namespaced and rt.storage_version and rt.group != "events.k8s.io":
                for obj in list(self.store.bucket(rt.key).iter(namespace)):
                    self._remove(rt, obj)

    def _publish_root_ca(self, namespace: str) -> None:
        """What kube-controller-manager's root-ca-certificate-publisher puts into every namespace."""
        rt = self.registry.get("", "v1", "configmaps")
        assert rt is not None
        body = {"metadata": {"name": ROOT_CA_CONFIGMAP, "annotations": {"kubernetes.io/description": ROOT_CA_DESCRIPTION}},
                "data": {"ca.crt": ROOT_CA_PLACEHOLDER}}  # fmt: skip
        self.create(rt, namespace, body, WriteOptions())

    def _seed_namespace(self, name: str) -> None:
        rt = self.registry.get("", "v1", "namespaces")
        assert rt is not None
        self.create(rt, "", {"metadata": {"name": name}}, WriteOptions())


RETURNS_DELETED_OBJECT = frozenset({"namespaces", "pods", "services", "serviceaccounts"})
"""Core kinds whose DELETE answers with the object (upstream ``ReturnDeletedObject``); others answer a Status."""
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
ROOT_CA_DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as "
    "the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of "
    "Kubernetes clusters."
)
ROOT_CA_PLACEHOLDER = "-----BEGIN CERTIFICATE-----\n(the test server has no cluster CA)\n-----END CERTIFICATE-----\n"


def _apply_conflict(rt: ResourceType, name: str, conflicts: list[tuple[str, patching.Path]]) -> errors.ApiError:
    causes = [
        {"reason": "FieldManagerConflict", "message": f'conflict with "{m}"', "field": patching.show_path(p)}
        for m, p in conflicts
    ]
    listed = "\n".join(f"- {c['message']}: {c['field']}" for c in causes)
    plural = "conflict" if len(causes) == 1 else "conflicts"
    error = errors.conflict(rt.group, rt.plural, name)
    error.message = (
        f"Apply failed with {len(causes)} {plural}: {listed}"
        if len(causes) > 1
        else f"Apply failed with 1 conflict: {causes[0]['message']}: {causes[0]['field']}"
    )
    assert error.details is not None
    error.details["causes"] = causes
    return error


def _sort_key(obj: Json) -> tuple[str, str]:
    meta = obj["metadata"]
    return (meta.get("namespace", ""), meta["name"])


def _spec_changed(rt: ResourceType, new: Json, old: Json) -> bool:
    skip = ("metadata", "status") if rt.status_subresource else ("metadata",)
    keys = (set(new) | set(old)) - set(skip)
    return any(new.get(k) != old.get(k) for k in keys)


def continue_token(rv: int, after: tuple[str, str]) -> str:
    raw = orjson.dumps({"rv": rv, "ns": after[0], "name": after[1]})
    return base64.urlsafe_b64encode(raw).decode()


def parse_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), (str(data["ns"]), str(data["name"]))
    except (ValueError, KeyError, TypeError):
        raise errors.bad_request("continue key is not valid: illegal base64 data") from None
