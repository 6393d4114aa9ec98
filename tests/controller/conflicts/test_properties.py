"""Properties of the conflict engine over generated alias sets (docs/conflict-rules.md).

The pools are small on purpose (few aliases, URLs that normalise to the same backend, few models) so
generated sets are full of shared backends, mode disagreements and name clashes.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from controller import conflicts, resources
from gateway.routing.table import RoutingTable
from tests.controller.modelaliases import raw_alias

ALIASES = ["a", "b", "c", "d"]
NAMESPACES = ["ns1", "ns2"]
NAMES = ["n1", "n2", "n3", "n4", "n5"]
TIMESTAMPS = [None, "2025-01-01T00:00:00Z", "2025-06-01T00:00:00Z"]
URLS: dict[str, list[str | None]] = {
    "chatgpt": [None, "https://chatgpt.com/backend-api/codex", "https://CHATGPT.com:443/backend-api/codex/"],
    "openai": [None, "https://api.openai.com/v1/", "https://API.openai.com:443/v1", "https://example.com/v1"],
    "openai-compatible": ["http://vllm:8000/v1", "http://VLLM:8000/v1/", "http://vllm/v1", "http://vllm:80/v1"],
    "azure-openai": ["https://x.openai.azure.com/openai", "https://X.openai.azure.com:443/openai/"],
}
MODELS = ["m1", "m1", "m2"]
PROVIDERS = ["chatgpt", "openai", "openai", "openai", "openai-compatible", "azure-openai"]
CREDENTIALS = [None, "k1", "k1", "k1", "k1", "k1", "k1", "k2"]
"""Mostly one Secret, so credential disagreements (BackendConflict) do not drown the mode rules."""


@st.composite
def raw_objects(draw: st.DrawFn, *, dense: bool = False) -> dict[str, Any]:
    """One ModelAlias; ``dense`` keeps to two OpenAI backends so mode conflicts are the norm."""
    provider = "openai" if dense else draw(st.sampled_from(PROVIDERS))
    backend: dict[str, Any] = {"provider": provider, "model": draw(st.sampled_from(["m1", "m2"] if dense else MODELS))}
    url = draw(st.sampled_from(URLS[provider][:3] if dense else URLS[provider]))
    if url is not None:
        backend["baseURL"] = url
    credentials = draw(st.sampled_from(CREDENTIALS))
    if credentials is not None and not dense:
        backend["credentials"] = credentials
    if not dense and draw(st.integers(0, 19)) == 0:
        backend["apiVersion"] = "2025-01-01"
    spec: dict[str, Any] = {"backend": backend}
    alias = draw(st.sampled_from([None, *ALIASES]))
    if alias is not None:
        spec["alias"] = alias
    mode = draw(st.sampled_from([None, "chat", "responses"]))
    if mode is not None:
        spec["mode"] = mode
    fallbacks = draw(st.lists(st.sampled_from([a for a in ALIASES if a != alias]), max_size=2, unique=True))
    if fallbacks:
        spec["fallbacks"] = fallbacks
    return raw_alias(
        draw(st.sampled_from(NAMES)),
        spec,
        namespace=draw(st.sampled_from(NAMESPACES)),
        created=draw(st.sampled_from(TIMESTAMPS)),
        generation=draw(st.integers(1, 3)),
    )


@st.composite
def invalid_objects(draw: st.DrawFn) -> conflicts.InvalidAlias:
    return conflicts.InvalidAlias(
        namespace=draw(st.sampled_from(NAMESPACES)),
        name=draw(st.sampled_from(NAMES)),
        field="spec.backend.provider",
        message="unknown provider",
        generation=draw(st.integers(1, 3)),
        alias=draw(st.sampled_from([None, *ALIASES])),
    )


objects_strategy = st.builds(
    lambda valid, invalid: valid + invalid,
    st.one_of(
        st.lists(raw_objects().map(resources.parse_object), max_size=12),
        st.lists(raw_objects(dense=True).map(resources.parse_object), min_size=2, max_size=10),
    ),
    st.lists(invalid_objects(), max_size=1),
).flatmap(st.permutations)
credentials_strategy = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "k1": st.just(conflicts.CredentialInfo()),
            "k2": st.sampled_from([conflicts.CredentialInfo(frozenset({"ns1"})), conflicts.CredentialInfo()]),
        },
    ),
)
AliasSet = list[resources.ModelAlias | conflicts.InvalidAlias]


@given(objects=objects_strategy, credentials=credentials_strategy, data=st.data())
def test_any_permutation_and_duplication_gives_the_same_resolution(
    objects: AliasSet, credentials: dict[str, conflicts.CredentialInfo] | None, data: st.DataObject
) -> None:
    reference = conflicts.resolve(objects, credentials=credentials)
    shuffled = data.draw(st.permutations(objects))
    duplicated = data.draw(st.lists(st.sampled_from(objects), max_size=6)) if objects else []
    again = conflicts.resolve(shuffled + duplicated, credentials=credentials)
    assert again == reference
    assert again.table.to_json() == reference.table.to_json()


@given(objects=objects_strategy, credentials=credentials_strategy)
def test_resolving_twice_is_stable(objects: AliasSet, credentials: dict[str, conflicts.CredentialInfo] | None) -> None:
    assert conflicts.resolve(objects, credentials=credentials) == conflicts.resolve(objects, credentials=credentials)


@given(objects=objects_strategy, credentials=credentials_strategy)
def test_table_is_sound_and_matches_the_verdicts(
    objects: AliasSet, credentials: dict[str, conflicts.CredentialInfo] | None
) -> None:
    resolution = conflicts.resolve(objects, credentials=credentials)
    table = resolution.table.check()
    assert RoutingTable.from_json(table.to_json()) == table

    routed = {f"{r.source.namespace}/{r.source.name}": alias for alias, r in table.routes.items()}
    rejected = {f"{r.source.namespace}/{r.source.name}" for r in table.rejected}
    for ref, verdict in resolution.verdicts.items():
        if verdict.accepted:
            assert routed.get(ref) == verdict.alias
            route = table.routes[verdict.alias or ""]
            assert route.mode == verdict.resolved_mode == table.backends[route.backend].mode
            assert route.backend == verdict.backend_key
            assert ref not in rejected
        else:
            assert ref not in routed, f"rejected {ref} is routed"
            assert ref in rejected
            assert verdict.resolved_mode is None
    accepted_aliases = [v.alias for v in resolution.verdicts.values() if v.accepted]
    assert len(accepted_aliases) == len(set(accepted_aliases)) == len(table.routes)
    # Identity (namespace/name) is the dedup key: one verdict per distinct object.
    assert set(resolution.verdicts) == {_ident(o) for o in objects}


def _ident(obj: resources.ModelAlias | conflicts.InvalidAlias) -> str:
    if isinstance(obj, resources.ModelAlias):
        return obj.ref
    return f"{obj.namespace}/{obj.name}"


def _declared_modes(objects: AliasSet) -> dict[str, str | None]:
    """Independent dedup oracle: the declared mode of the highest generation of each object.

    Same-generation duplicates with different content are left out (the engine breaks those ties).
    """
    best: dict[str, int] = {}
    for obj in objects:
        gen = (obj.metadata.generation if isinstance(obj, resources.ModelAlias) else obj.generation) or 0
        best[_ident(obj)] = max(best.get(_ident(obj), -1), gen)
    modes: dict[str, set[str | None]] = {}
    for obj in objects:
        gen = (obj.metadata.generation if isinstance(obj, resources.ModelAlias) else obj.generation) or 0
        if gen == best[_ident(obj)] and isinstance(obj, resources.ModelAlias):
            modes.setdefault(_ident(obj), set()).add(obj.spec.mode)
    return {ref: next(iter(found)) for ref, found in modes.items() if len(found) == 1}


def _precedence(objects: AliasSet) -> dict[str, tuple[bool, str, str, str]]:
    """Independent oracle of rule 4's order (oldest timestamp, missing = youngest, then namespace/name)."""
    best: dict[str, int] = {}
    for obj in objects:
        if isinstance(obj, resources.ModelAlias):
            best[obj.ref] = max(best.get(obj.ref, -1), obj.metadata.generation or 0)
    keys: dict[str, set[tuple[bool, str, str, str]]] = {}
    for obj in objects:
        if isinstance(obj, resources.ModelAlias) and (obj.metadata.generation or 0) == best[obj.ref]:
            ts = obj.metadata.creation_timestamp
            keys.setdefault(obj.ref, set()).add((ts is None, ts or "", obj.metadata.namespace, obj.metadata.name))
    return {ref: next(iter(found)) for ref, found in keys.items() if len(found) == 1}


@given(objects=objects_strategy, credentials=credentials_strategy)
def test_mode_rules_hold_in_every_outcome(
    objects: AliasSet, credentials: dict[str, conflicts.CredentialInfo] | None
) -> None:
    resolution = conflicts.resolve(objects, credentials=credentials)
    table = resolution.table
    declared = _declared_modes(objects)
    precedence = _precedence(objects)
    for ref, verdict in resolution.verdicts.items():
        mode = declared.get(ref)
        if verdict.accepted:
            # A declared mode is honoured exactly; chatgpt never serves chat.
            if mode is not None:
                assert verdict.resolved_mode == mode
            if verdict.backend_key and verdict.backend_key.startswith("chatgpt|"):
                assert verdict.resolved_mode == "responses"
        elif verdict.reason == "ModeDowngradeRejected":
            # The backend really is held in Responses mode by an accepted alias named in the message.
            assert verdict.backend_key is not None
            assert declared.get(ref, "chat") == "chat"
            assert table.backends[verdict.backend_key].mode == "responses"
            holders = [r for r in table.routes.values() if r.backend == verdict.backend_key and r.mode == "responses"]
            assert any(f"({h.source.namespace}/{h.source.name})" in verdict.message for h in holders)
        elif verdict.reason == "AliasInUse":
            route = table.routes[verdict.alias or ""]
            winner = f"{route.source.namespace}/{route.source.name}"
            assert winner in verdict.message
            if ref in precedence and winner in precedence:
                assert precedence[winner] < precedence[ref], f"{ref} lost {verdict.alias!r} to younger {winner}"
        elif verdict.reason == "UnsupportedMode":
            assert (verdict.backend_key or "").startswith("chatgpt|")
    # Every route serves in its backend's mode, and only accepted aliases hold a backend in Responses
    # mode: a non-chatgpt Responses backend has an accepted route whose object declared responses.
    for route in table.routes.values():
        assert route.mode == table.backends[route.backend].mode
    for key, backend in table.backends.items():
        if backend.mode == "responses" and backend.provider != "chatgpt":
            holders = [
                r
                for r in table.routes.values()
                if r.backend == key
                and declared.get(f"{r.source.namespace}/{r.source.name}", "responses") == "responses"
            ]
            assert holders, f"backend {key} is in responses mode but no accepted alias declares it"


def _shared(objects: AliasSet, pool: dict[str, resources.ModelAlias | conflicts.InvalidAlias]) -> AliasSet:
    """Equal objects as one instance across resolutions, the way ``ParsedAliases`` hands them back."""
    shared: AliasSet = []
    for obj in objects:
        key = obj.model_dump_json() if isinstance(obj, resources.ModelAlias) else repr(obj)
        shared.append(pool.setdefault(key, obj))
    return shared


@given(states=st.lists(st.tuples(objects_strategy, credentials_strategy), min_size=2, max_size=4))
def test_a_memo_carried_across_resolutions_never_changes_the_result(
    states: list[tuple[AliasSet, dict[str, conflicts.CredentialInfo] | None]],
) -> None:
    memo = conflicts.ResolveMemo()
    pool: dict[str, resources.ModelAlias | conflicts.InvalidAlias] = {}
    for objects, credentials in states:
        objects = _shared(objects, pool)
        remembered = conflicts.resolve(objects, credentials=credentials, memo=memo)
        fresh = conflicts.resolve(objects, credentials=credentials)
        assert remembered == fresh
        assert remembered.table.to_json() == fresh.table.to_json()
        assert remembered.table.sha256 == fresh.table.sha256 == fresh.table.content_hash()
        # Resolving the same set again reuses every accepted route (and gives the same answer).
        again = conflicts.resolve(objects, credentials=credentials, memo=memo)
        assert again == fresh
        assert memo.reused == len(again.table.routes)
        assert all(again.table.routes[alias] is route for alias, route in remembered.table.routes.items())
