"""The routing-table contract (gateway/routing/table.py): JSON round trip, content hash, invariants."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import pydantic
import pytest

from gateway.routing import table as rt

KEY = rt.backend_key("openai", "https://api.openai.com/v1", "gpt-5")
CHATGPT = rt.backend_key("chatgpt", "https://chatgpt.com/backend-api/codex", "gpt-5.4")


def sound_table(generation: int = 3) -> rt.RoutingTable:
    backends = {
        KEY: rt.Backend(
            key=KEY,
            provider="openai",
            base_url="https://api.openai.com/v1",
            model="gpt-5",
            mode="chat",
            credentials="openai-key",
        ),
        CHATGPT: rt.Backend(
            key=CHATGPT,
            provider="chatgpt",
            base_url="https://chatgpt.com/backend-api/codex",
            model="gpt-5.4",
            mode="responses",
            credentials="chatgpt-pro",
        ),
    }
    routes = {
        "gpt-5": rt.Route(
            alias="gpt-5",
            backend=KEY,
            mode="chat",
            source=rt.SourceRef(namespace="team-a", name="gpt-5", uid="u1", generation=2),
            settings=rt.RouteSettings(fallbacks=("codex",), request_defaults={"temperature": 0.2}),
        ),
        "codex": rt.Route(
            alias="codex",
            backend=CHATGPT,
            mode="responses",
            source=rt.SourceRef(namespace="team-b", name="codex"),
        ),
    }
    rejected = (
        rt.RejectedAlias(
            alias="codex-chat",
            source=rt.SourceRef(namespace="team-b", name="codex-chat"),
            reason="UnsupportedMode",
            message="provider chatgpt serves only the responses mode",
        ),
    )
    return rt.RoutingTable.build(backends=backends, routes=routes, rejected=rejected, generation=generation)


def test_build_sorts_and_hashes_and_passes_check() -> None:
    table = sound_table().check()
    assert list(table.routes) == ["codex", "gpt-5"]
    assert list(table.backends) == sorted(table.backends)
    assert table.sha256 == table.content_hash()
    assert len(table.sha256) == 64


def test_json_round_trip_is_exact() -> None:
    table = sound_table()
    data = table.to_json()
    again = rt.RoutingTable.from_json(data)
    assert again == table
    assert again.to_json() == data
    assert b'"baseURL"' in data
    assert b'"apiVersion":"aliasgate.io/v1alpha1"' in data
    assert b'"requestDefaults":{"temperature":0.2}' in data
    assert rt.RoutingTable.from_json(data.decode()).check() == table


def test_hash_ignores_generation_and_insertion_order() -> None:
    one, other = sound_table(generation=1), sound_table(generation=99)
    assert one.sha256 == other.sha256
    assert one.with_generation(5).sha256 == one.sha256
    reordered = rt.RoutingTable.build(
        backends=dict(reversed(list(one.backends.items()))),
        routes=dict(reversed(list(one.routes.items()))),
        rejected=one.rejected,
        generation=1,
    )
    assert reordered.to_json() == one.to_json()


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["routes"]["gpt-5"]["settings"]["requestDefaults"].update(temperature=0.3),
        lambda d: d["backends"][KEY].update(credentials="other-key"),
        lambda d: d["routes"]["codex"]["source"].update(generation=7),
        lambda d: d["rejected"][0].update(message="changed"),
        lambda d: d["routes"]["gpt-5"]["settings"]["timeouts"].update(readSeconds=1.0),
    ],
)
def test_hash_changes_with_any_content(change: Any) -> None:
    table = sound_table()
    document = table.model_dump(mode="json", by_alias=True)
    change(document)
    changed = rt.RoutingTable.model_validate(document)
    assert changed.content_hash() != table.sha256
    assert "sha256 does not match the table content" in changed.problems()


def _broken(change: Any) -> rt.RoutingTable:
    document = sound_table().model_dump(mode="json", by_alias=True)
    change(document)
    unhashed = rt.RoutingTable.model_validate({**document, "sha256": ""})
    return unhashed.model_copy(update={"sha256": unhashed.content_hash()})


INVARIANTS = {
    "stored under a key that differs from its own": lambda d: d["backends"][KEY].update(key="other"),
    "key does not match provider|baseURL|model": lambda d: d["backends"].update(
        {"x": {**d["backends"][KEY], "key": "x"}}
    ),
    "provider chatgpt serves only the responses mode": lambda d: (
        d["backends"][CHATGPT].update(mode="chat"),
        d["routes"]["codex"].update(mode="chat"),
    ),
    "stored under a key that differs from its alias": lambda d: d["routes"]["gpt-5"].update(alias="other"),
    "points at missing backend": lambda d: d["routes"]["gpt-5"].update(backend="nowhere"),
    "is in chat mode on responses backend": lambda d: d["backends"][KEY].update(mode="responses"),
    "falls back to unknown alias": lambda d: d["routes"]["gpt-5"]["settings"].update(fallbacks=["ghost"]),
    "falls back to itself": lambda d: d["routes"]["gpt-5"]["settings"].update(fallbacks=["gpt-5"]),
    "is both routed and rejected": lambda d: d["rejected"].append(
        {"alias": "gpt-5", "source": {"namespace": "team-a", "name": "gpt-5"}, "reason": "X", "message": "x"}
    ),
}


@pytest.mark.parametrize("problem", sorted(INVARIANTS))
def test_check_catches_each_invariant_violation(problem: str) -> None:
    table = _broken(INVARIANTS[problem])
    with pytest.raises(rt.TableInvariantError) as caught:
        table.check()
    assert any(problem in found for found in caught.value.problems), caught.value.problems
    assert problem in str(caught.value)


def test_tampered_hash_is_refused() -> None:
    table = sound_table().model_copy(update={"sha256": "0" * 64})
    assert table.problems() == ["sha256 does not match the table content"]


@pytest.mark.parametrize(
    "document",
    [
        b"{",
        b'{"kind": "ConfigMap"}',
        b'{"apiVersion": "aliasgate.io/v2"}',
        b'{"generation": -1}',
        b'{"routes": {}, "surprise": 1}',
        b'{"backends": {"k": {"key": "k", "provider": "bedrock", "baseURL": "x", "model": "m", "mode": "chat"}}}',
    ],
)
def test_malformed_documents_fail_validation(document: bytes) -> None:
    with pytest.raises(pydantic.ValidationError):
        rt.RoutingTable.from_json(document)


def test_lookup_returns_route_and_backend() -> None:
    table = sound_table()
    found = table.lookup("codex")
    assert found is not None
    route, backend = found
    assert (route.mode, backend.provider) == ("responses", "chatgpt")
    assert table.lookup("codex-chat") is None


def test_defaults_are_what_the_contract_documents() -> None:
    settings = rt.RouteSettings()
    assert settings.timeouts == rt.TimeoutSettings(connect_seconds=10.0, read_seconds=600.0, idle_seconds=120.0)
    assert settings.retries.attempts == 2
    assert settings.health_check.enabled is True
    assert settings.fallbacks == ()


def test_wire_form_omits_defaults_but_keeps_the_top_level() -> None:
    table = sound_table()
    document = orjson.loads(table.to_json())
    assert "settings" not in document["routes"]["codex"]  # all defaults: nothing written
    assert document["routes"]["gpt-5"]["settings"] == {"fallbacks": ["codex"], "requestDefaults": {"temperature": 0.2}}
    assert document["routes"]["codex"]["source"] == {"namespace": "team-b", "name": "codex"}  # no uid/generation
    assert "apiVersion" not in document["backends"][KEY]  # None is the default
    empty = orjson.loads(rt.RoutingTable.build(backends={}, routes={}).to_json())
    assert set(empty) == {"apiVersion", "kind", "generation", "sha256", "backends", "routes", "rejected"}
    assert (empty["generation"], empty["backends"], empty["routes"], empty["rejected"]) == (0, {}, {}, [])
    parsed = rt.RoutingTable.from_json(table.to_json())
    assert parsed.routes["codex"].settings == rt.RouteSettings()  # parsing restores the defaults
    assert parsed.routes["gpt-5"].settings.timeouts.read_seconds == 600.0


def test_explicit_defaults_do_not_change_the_hash_or_the_bytes() -> None:
    table = sound_table()
    spelled_out = table.model_dump(mode="json", by_alias=True)  # every default written out
    again = rt.RoutingTable.model_validate(spelled_out)
    assert again == table
    assert again.content_hash() == table.sha256
    assert again.to_json() == table.to_json()


def test_document_hash_matches_the_model_hash_only_for_the_canonical_form() -> None:
    table = sound_table()
    assert rt.document_content_hash(table.to_json()) == table.sha256
    assert rt.document_content_hash(table.with_generation(9).to_json()) == table.sha256
    spelled_out = orjson.dumps(table.model_dump(mode="json", by_alias=True))
    assert rt.document_content_hash(spelled_out) != table.sha256
    assert rt.document_content_hash(b"[1, 2]") is None


def test_a_hash_in_the_older_spelled_out_form_is_still_accepted() -> None:
    table = sound_table()
    content = table.model_dump(mode="json", by_alias=True, exclude={"generation", "sha256"})
    legacy = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()
    assert legacy != table.sha256
    older = table.model_copy(update={"sha256": legacy})
    assert older.problems() == []
    assert older.check(hash_verified=True) is older


def test_equality_is_by_fields() -> None:
    assert rt.TimeoutSettings() == rt.TimeoutSettings(read_seconds=600)
    assert rt.TimeoutSettings() != rt.TimeoutSettings(read_seconds=1)
    assert hash(rt.TimeoutSettings()) == hash(rt.TimeoutSettings(read_seconds=600))
    assert rt.TimeoutSettings() != rt.RetrySettings()
    assert rt.TimeoutSettings() != "x"


def reference_wire(table: rt.RoutingTable, *, content_only: bool = False) -> bytes:
    """The wire form as the contract defines it: the whole model dumped with defaults omitted below the
    top level, then written by orjson with sorted keys (what ``to_json`` assembles piecewise)."""
    exclude = {"generation", "sha256"} if content_only else None
    document = table.model_dump(mode="json", by_alias=True, exclude_defaults=True, exclude=exclude)
    document.update(apiVersion=table.api_version, kind=table.kind)
    for member, empty in (("backends", {}), ("routes", {}), ("rejected", [])):
        document.setdefault(member, empty)
    if not content_only:
        document.update(generation=table.generation, sha256=table.sha256)
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


@pytest.mark.parametrize("generation", [0, 3, 10**12])
def test_piecewise_wire_form_equals_the_whole_document_dumped(generation: int) -> None:
    table = sound_table(generation)
    assert table.to_json() == reference_wire(table)
    assert table.sha256 == hashlib.sha256(reference_wire(table, content_only=True)).hexdigest()
    unicode = table.model_copy(update={"routes": {"é-ü": table.routes["codex"].model_copy(update={"alias": "é-ü"})}})
    assert unicode.to_json() == reference_wire(unicode)
    empty = rt.RoutingTable.build(backends={}, routes={})
    assert empty.to_json() == reference_wire(empty)


def test_a_copy_with_other_content_is_rendered_afresh() -> None:
    table = sound_table()
    before = table.to_json()
    fewer = table.model_copy(update={"routes": {"codex": table.routes["codex"]}})
    assert b'"gpt-5":' in before
    assert b'"gpt-5":' not in fewer.to_json()
    assert fewer.to_json() == reference_wire(fewer)
    assert table.with_generation(4).to_json() == reference_wire(table.with_generation(4))


def test_render_memo_renders_only_new_elements() -> None:
    table = sound_table()
    memo = rt.RenderMemo()
    first = rt.RoutingTable.build(backends=table.backends, routes=table.routes, rejected=table.rejected, memo=memo)
    assert memo.rendered == 5  # 2 backends, 2 routes, 1 rejected
    extra = table.routes["codex"].model_copy(update={"alias": "codex-2"})
    second = rt.RoutingTable.build(
        backends=table.backends, routes={**table.routes, "codex-2": extra}, rejected=table.rejected, memo=memo
    )
    assert memo.rendered == 6  # only the new route
    assert second.to_json() == reference_wire(second)
    assert first.sha256 == table.sha256
    assert second.sha256 != first.sha256
