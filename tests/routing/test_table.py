"""The routing-table contract (gateway/routing/table.py): JSON round trip, content hash, invariants."""

from __future__ import annotations

from typing import Any

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
