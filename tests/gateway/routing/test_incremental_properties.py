"""Incremental table loading decides exactly what whole-document validation decides.

``TableHolder.load_bytes`` reuses the objects of the last accepted document and checks only what
changed (gateway/routing/decoding.py, invariants.py). Here sequences of random edits to a published
document are fed both to a holder and to the reference pipeline (``RoutingTable.from_json`` then
``check()``, the unchanged/stale-generation rules), and every outcome must agree: the result, the
error message, and the served table down to the JSON type of every value.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from typing import Any

import orjson
import pydantic
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.metrics import GatewayMetrics
from gateway.routing import table as rt
from gateway.routing.decoding import TableDecoder
from gateway.routing.invariants import hold_after
from gateway.routing.loading import TableHolder, _summarise

Doc = dict[str, Any]


def base_table(generation: int = 1) -> rt.RoutingTable:
    backends: dict[str, rt.Backend] = {}
    for index, (provider, mode) in enumerate([("openai", "chat"), ("openai", "responses"), ("chatgpt", "responses")]):
        url = f"https://upstream-{index}.example/v1"
        key = rt.backend_key(provider, url, f"m{index}")
        backends[key] = rt.Backend.model_validate(
            {"key": key, "provider": provider, "baseURL": url, "model": f"m{index}", "mode": mode}
        )
    keys = list(backends)
    routes: dict[str, rt.Route] = {}
    for index in range(12):
        backend = backends[keys[index % 3]]
        alias = f"team/a{index:02d}"
        settings = rt.RouteSettings(
            fallbacks=(f"team/a{index + 1:02d}",) if index % 3 == 0 else (),
            request_overrides={"temperature": 1} if index % 5 == 0 else {},
        )
        routes[alias] = rt.Route(
            alias=alias,
            backend=backend.key,
            mode=backend.mode if index % 2 or backend.mode == "responses" else "chat",
            source=rt.SourceRef(namespace="team", name=f"a{index:02d}", uid=f"u{index}", generation=1),
            settings=settings,
        )
    rejected = (
        rt.RejectedAlias(
            alias="team/taken", source=rt.SourceRef(namespace="other", name="taken"), reason="Conflict", message="m"
        ),
    )
    return rt.RoutingTable.build(backends=backends, routes=routes, rejected=rejected, generation=generation)


def rehash(doc: Doc) -> None:
    content = {k: v for k, v in doc.items() if k not in ("generation", "sha256")}
    doc["sha256"] = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _route(doc: Doc, n: int) -> dict[str, Any]:
    routes = doc["routes"]
    if not routes:
        routes["team/fresh"] = {
            "alias": "team/fresh",
            "backend": next(iter(doc["backends"]), "none"),
            "mode": "responses",
            "source": {"namespace": "team", "name": "fresh"},
        }
    return routes[sorted(routes)[n % len(routes)]]  # type: ignore[no-any-return]


def _backend(doc: Doc, n: int) -> dict[str, Any]:
    backends = doc["backends"]
    found: dict[str, Any] = backends[sorted(backends)[n % len(backends)]] if backends else {}
    return found


def _add_route(doc: Doc, n: int) -> None:
    template = copy.deepcopy(_route(doc, n))
    alias = f"team/new{n}"
    template["alias"] = alias
    template["source"] = {"namespace": "team", "name": f"new{n}"}
    doc["routes"][alias] = template


def _key(doc: Doc, n: int) -> str:
    return sorted(doc["routes"])[n % len(doc["routes"])] if doc["routes"] else ""


def _remove_route(doc: Doc, n: int) -> None:
    doc["routes"].pop(_key(doc, n), None)


def _remove_fallback_target(doc: Doc, n: int) -> None:
    targets = sorted({f for r in doc["routes"].values() for f in r.get("settings", {}).get("fallbacks", [])})
    if targets:
        doc["routes"].pop(targets[n % len(targets)], None)


def _rename_route(doc: Doc, n: int) -> None:
    key = _key(doc, n)
    if key:
        route = doc["routes"].pop(key)
        route["alias"] = key + "-renamed"
        doc["routes"][key + "-renamed"] = route


def _source_generation(doc: Doc, n: int) -> None:
    source = _route(doc, n)["source"]
    source["generation"] = source.get("generation", 0) + 1


def _override_type(doc: Doc, n: int) -> None:
    """1, 1.0 and true are equal in Python; the served value must still follow the document."""
    settings = _route(doc, n).setdefault("settings", {})
    settings["requestOverrides"] = {"temperature": [1, 1.0, True, "1"][n % 4]}


def _timeout(doc: Doc, n: int) -> None:
    _route(doc, n).setdefault("settings", {})["timeouts"] = {"readSeconds": [5, 5.5, "7", -1, None][n % 5]}


def _invalid_field(doc: Doc, n: int) -> None:
    route = _route(doc, n)
    choice = n % 5
    if choice == 0:
        route["mode"] = "bogus"
    elif choice == 1:
        route["surprise"] = 1
    elif choice == 2:
        route["alias"] = 7
    elif choice == 3:
        del route["source"]
    else:
        route["source"] = "team/x"


def _missing_backend(doc: Doc, n: int) -> None:
    _route(doc, n)["backend"] = "openai|https://nowhere.example|x"


def _key_mismatch(doc: Doc, n: int) -> None:
    route = _route(doc, n)
    route["alias"] = route["alias"] + "-other"


def _chat_on_responses(doc: Doc, n: int) -> None:
    route = _route(doc, n)
    route["mode"] = "chat"


def _fallback(doc: Doc, n: int) -> None:
    route = _route(doc, n)
    target = [route["alias"], "team/unknown", sorted(doc["routes"])[0]][n % 3]
    route.setdefault("settings", {})["fallbacks"] = [target]


def _backend_credentials(doc: Doc, n: int) -> None:
    backend = _backend(doc, n)
    if backend:
        backend["credentials"] = f"secret-{n}"


def _backend_mode(doc: Doc, n: int) -> None:
    backend = _backend(doc, n)
    if backend:
        backend["mode"] = "chat" if backend["mode"] == "responses" else "responses"


def _backend_removed(doc: Doc, n: int) -> None:
    if doc["backends"]:
        del doc["backends"][sorted(doc["backends"])[n % len(doc["backends"])]]


def _backend_key(doc: Doc, n: int) -> None:
    backend = _backend(doc, n)
    if backend:
        backend["model"] = backend["model"] + "x"


def _rejected_overlap(doc: Doc, n: int) -> None:
    route = _route(doc, n)
    doc.setdefault("rejected", []).append(
        {"alias": route["alias"], "source": dict(route["source"]), "reason": "Conflict", "message": "both"}
    )


def _rejected_changed(doc: Doc, n: int) -> None:
    rejected = doc.setdefault("rejected", [])
    if rejected:
        rejected[0]["message"] = f"message {n}"
    else:
        rejected.append(
            {"alias": f"team/gone{n}", "source": {"namespace": "x", "name": "y"}, "reason": "R", "message": "M"}
        )


def _top_level(doc: Doc, n: int) -> None:
    choice = n % 5
    if choice == 0:
        doc["surprise"] = True
    elif choice == 1:
        doc["apiVersion"] = "aliasgate.io/v2"
    elif choice == 2:
        doc["routes"] = []
    elif choice == 3:
        doc.pop("rejected", None)
    else:
        doc["generation"] = -1


EDITS: list[Callable[[Doc, int], None]] = [
    _add_route,
    _remove_route,
    _remove_fallback_target,
    _rename_route,
    _source_generation,
    _override_type,
    _timeout,
    _missing_backend,
    _key_mismatch,
    _chat_on_responses,
    _fallback,
    _backend_credentials,
    _backend_mode,
    _backend_removed,
    _backend_key,
    _rejected_overlap,
    _rejected_changed,
]
"""Edits that keep the document's shape (so more edits can follow); some break an invariant."""

BREAKING: list[Callable[[Doc, int], None]] = [_invalid_field, _top_level]
"""Edits that make the document invalid; applied last."""


def encode(doc: Doc, style: int) -> bytes:
    """The same document as the publisher writes it, or in another (non-canonical) spelling."""
    if style == 0:
        return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
    if style == 1:
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2)  # insertion order, indented
    reordered = {key: doc[key] for key in reversed(list(doc))}
    if isinstance(reordered.get("routes"), dict):
        reordered["routes"] = {k: dict(reversed(list(v.items()))) for k, v in reversed(list(doc["routes"].items()))}
    return orjson.dumps(reordered)


class Reference:
    """Today's pipeline (whole-document validation, full check), with the holder's serving rules."""

    def __init__(self) -> None:
        self.current: rt.RoutingTable | None = None
        self.last_error: str | None = None

    def load(self, data: bytes) -> str:
        try:
            table = rt.RoutingTable.from_json(data)
        except (pydantic.ValidationError, ValueError) as exc:
            self.last_error = f"invalid routing table document: {_summarise(exc)}"
            return "rejected"
        verified = bool(table.sha256) and rt.document_content_hash(data) == table.sha256
        problems = table.problems(hash_verified=verified)
        if problems:
            self.last_error = "routing table breaks invariants: " + "; ".join(problems[:5])
            return "rejected"
        current = self.current
        if current is not None and current.sha256 == table.sha256 and current.generation == table.generation:
            self.last_error = None  # the served content delivered again: the last load went fine
            return "unchanged"
        if current is not None and table.generation < current.generation:
            self.last_error = f"generation {table.generation} is older than the served generation {current.generation}"
            return "rejected"
        self.current = table
        self.last_error = None
        return "accepted"


def exact(table: rt.RoutingTable | None) -> bytes:
    """Every field, with JSON types kept (1, 1.0 and true differ here, unlike under ``==``)."""
    assert table is not None
    return orjson.dumps(table.model_dump(mode="json", by_alias=True), option=orjson.OPT_SORT_KEYS)


STEPS = st.lists(
    st.tuples(
        st.lists(st.tuples(st.sampled_from(EDITS), st.integers(0, 50)), min_size=0, max_size=3),
        st.one_of(st.none(), st.tuples(st.sampled_from(BREAKING), st.integers(0, 50))),
        st.sampled_from(["rehash", "rehash", "rehash", "tamper", "empty"]),
        st.integers(-1, 2),  # generation step
        st.integers(0, 2),  # spelling
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(STEPS)
def test_every_outcome_matches_whole_document_validation(steps: list[Any]) -> None:
    holder = TableHolder(metrics=GatewayMetrics())
    reference = Reference()
    base = base_table().to_json()
    assert holder.load_bytes(base, origin="test") is True
    assert reference.load(base) == "accepted"
    doc = orjson.loads(base)
    for edits, breaking, hashing, generation_step, style in steps:
        candidate = copy.deepcopy(doc)
        for edit, n in edits:
            edit(candidate, n)
        candidate["generation"] = max(0, candidate["generation"] + generation_step)
        if breaking:
            breaking[0](candidate, breaking[1])
        if hashing == "rehash":
            rehash(candidate)
        elif hashing == "empty":
            candidate["sha256"] = ""
        data = encode(candidate, style)
        expected = reference.load(data)
        assert holder.load_bytes(data, origin="test") is (expected != "rejected")
        assert holder.last_result == expected
        assert holder.last_error == reference.last_error
        assert holder.current is not None
        assert exact(holder.current.table) == exact(reference.current)
        assert holder.current.table.sha256 == reference.current.sha256  # type: ignore[union-attr]
        assert holder.current.generation == reference.current.generation  # type: ignore[union-attr]
        served = holder.current
        assert served.aliases == tuple(sorted(served.table.routes))
        assert list(served.targets) == list(served.table.routes)
        for alias, route in served.table.routes.items():
            target = served.targets[alias]
            assert target.route is route
            assert target.backend is served.table.backends[route.backend]
            assert target.client_timeout.total == route.settings.timeouts.read_seconds
        if expected == "accepted":
            doc = candidate


def test_the_assembled_table_reuses_objects_and_only_validates_what_changed() -> None:
    decoder = TableDecoder()
    first = decoder.decode(base_table().to_json())
    assert first.delta is None
    assert first.hash_verified
    decoder.accepted(first)
    doc = orjson.loads(first.table.to_json())
    doc["routes"]["team/a03"]["source"]["generation"] = 2
    doc["generation"] = 2
    rehash(doc)
    second = decoder.decode(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS))
    assert second.hash_verified
    assert second.delta is not None
    assert second.delta.changed == ("team/a03",)
    assert second.delta.removed == ()
    assert second.delta.backends_same
    assert second.table.routes["team/a03"].source.generation == 2
    for alias, route in second.table.routes.items():
        assert (route is first.table.routes[alias]) is (alias != "team/a03")
    assert second.table.backends is first.table.backends
    assert second.table.rejected[0] is first.table.rejected[0]
    assert second.table == rt.RoutingTable.from_json(orjson.dumps(doc))
    assert hold_after(second.table, first.table, second.delta)


def test_a_rejected_document_leaves_the_decoder_comparing_with_the_last_accepted_one() -> None:
    decoder = TableDecoder()
    first = decoder.decode(base_table().to_json())
    decoder.accepted(first)
    doc = orjson.loads(first.table.to_json())
    doc["routes"]["team/a01"]["mode"] = "chat"
    doc["generation"] = 2
    rehash(doc)
    not_taken = decoder.decode(orjson.dumps(doc))  # valid JSON, but the caller does not accept it
    assert not_taken.delta is not None
    again = decoder.decode(first.table.to_json())
    assert again.delta is not None
    assert again.delta.changed == ()
    assert again.delta.base is first.table


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"k": value}
    return value


def _edited(data: bytes, value: bytes) -> bytes:
    """``data`` with ``team/a01``'s requestDefaults seed set to ``value`` (raw JSON), under generation 2,
    with the hash a publisher computes from orjson's reading of the result (so that it verifies)."""
    doc = orjson.loads(data)
    doc["routes"]["team/a01"].setdefault("settings", {})["requestDefaults"] = {"seed": "PLACEHOLDER"}
    doc["generation"] = 2
    doc["sha256"] = "HASH"
    text = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS).replace(b'"PLACEHOLDER"', value)
    read = orjson.loads(text)
    rehash(read)
    return text.replace(b'"HASH"', orjson.dumps(read["sha256"]))


def test_depth_limits_count_from_the_top_of_the_document_as_before() -> None:
    """The JSON parser refuses deep nesting; a changed route must be judged at its real depth."""
    base = base_table().to_json()
    for depth in (190, 196, 197, 198, 230):
        holder, reference = TableHolder(metrics=GatewayMetrics()), Reference()
        assert holder.load_bytes(base, origin="test") is True
        reference.load(base)
        data = _edited(base, orjson.dumps(_nested(depth)))
        expected = reference.load(data)
        assert holder.load_bytes(data, origin="test") is (expected != "rejected"), depth
        assert holder.last_error == reference.last_error
        assert exact(holder.current.table if holder.current else None) == exact(reference.current)
    assert expected == "rejected"  # the deepest one


def test_integers_wider_than_64_bits_are_kept_as_pydantic_reads_them() -> None:
    """orjson reads them as floats; pydantic as ints: the whole-document validator decides."""
    base = base_table().to_json()
    for literal in (b"123456789012345678901234567890", b"-9223372036854775809", b"18446744073709551615", b"1e+20"):
        holder, reference = TableHolder(metrics=GatewayMetrics()), Reference()
        assert holder.load_bytes(base, origin="test") is True
        reference.load(base)
        # The document's hash is what a publisher computes from orjson's reading, so it verifies.
        data = _edited(base, literal)
        expected = reference.load(data)
        assert holder.load_bytes(data, origin="test") is (expected != "rejected"), literal
        assert holder.last_result == expected
        assert holder.last_error == reference.last_error
        assert holder.current is not None
        assert reference.current is not None
        served = holder.current.table.routes["team/a01"].settings.request_defaults["seed"]
        wanted = reference.current.routes["team/a01"].settings.request_defaults["seed"]
        assert (type(served), served) == (type(wanted), wanted)


def test_a_wide_integer_under_a_hash_that_does_not_verify_is_refused_not_raised() -> None:
    """Recomputing the hash from the model cannot encode it: a rejection, where the load used to raise."""
    holder = TableHolder(metrics=GatewayMetrics())
    base = base_table().to_json()
    assert holder.load_bytes(base, origin="test") is True
    data = _edited(base, b"123456789012345678901234567890")
    wrong = data.replace(orjson.loads(data)["sha256"].encode(), b"0" * 64)
    assert holder.load_bytes(wrong, origin="test") is False
    assert holder.last_result == "rejected"
    assert holder.last_error is not None
    assert holder.last_error.startswith("routing table content cannot be hashed: ")
    assert holder.current is not None
    assert holder.current.generation == 1
