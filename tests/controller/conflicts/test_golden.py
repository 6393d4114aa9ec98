"""Golden conflict scenarios (``golden/*.yaml``, format in ``golden/README.md``) and the samples' verdicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from controller import conflicts, resources
from tests.controller.modelaliases import GOLDEN_DIR, expand, load_yaml, raw_alias, sample_objects

SCENARIOS = sorted(GOLDEN_DIR.glob("*.yaml"))


def _credentials(spec: dict[str, Any] | None) -> dict[str, conflicts.CredentialInfo] | None:
    if spec is None:
        return None
    found: dict[str, conflicts.CredentialInfo] = {}
    for name, info in spec.items():
        allowed = (info or {}).get("allowedNamespaces")
        found[name] = conflicts.CredentialInfo(None if allowed is None else frozenset(allowed))
    return found


def _check_verdict(ref: str, verdict: conflicts.Verdict, expected: dict[str, Any]) -> None:
    fields = {
        "accepted": verdict.accepted,
        "reason": verdict.reason,
        "mode": verdict.resolved_mode,
        "backend": verdict.backend_key,
        "refs": verdict.refs_resolved,
        "refsReason": verdict.refs_reason,
    }
    for name, want in expected.items():
        if name == "message":
            for fragment in want:
                assert fragment in verdict.message, f"{ref}: {fragment!r} not in message {verdict.message!r}"
        elif name == "refsMessage":
            for fragment in want:
                assert fragment in verdict.refs_message, f"{ref}: {fragment!r} not in {verdict.refs_message!r}"
        else:
            assert fields[name] == want, f"{ref}: {name} is {fields[name]!r}, expected {want!r}"


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_golden_scenario(path: Path) -> None:
    scenario = load_yaml(path)
    objects = [conflicts.parse_or_invalid(expand(entry)) for entry in scenario["objects"]]
    credentials = _credentials(scenario.get("credentials"))
    resolution = conflicts.resolve(objects, credentials=credentials, generation=7)
    expected = scenario["expected"]

    assert set(resolution.verdicts) == set(expected["verdicts"])
    for ref, want in expected["verdicts"].items():
        _check_verdict(ref, resolution.verdicts[ref], want)

    table = resolution.table.check()
    assert table.generation == 7
    routes = {
        alias: {
            "backend": route.backend,
            "mode": route.mode,
            "source": f"{route.source.namespace}/{route.source.name}",
            **({"fallbacks": list(route.settings.fallbacks)} if route.settings.fallbacks else {}),
        }
        for alias, route in table.routes.items()
    }
    assert routes == expected["routes"]
    backends = {key: {"mode": b.mode, "credentials": b.credentials} for key, b in table.backends.items()}
    assert backends == expected["backends"]
    rejected = {f"{r.source.namespace}/{r.source.name}" for r in table.rejected}
    assert rejected == {ref for ref, v in resolution.verdicts.items() if not v.accepted}
    assert resolution.credentials_checked is (credentials is not None)

    again = conflicts.resolve(list(reversed(objects)) + objects[:2], credentials=credentials, generation=7)
    assert again == resolution


SAMPLE_VERDICTS = {
    "aliasgate-demo/gpt-4-1-mini": (True, "Accepted", "chat"),
    "aliasgate-demo/qwen3-coder": (True, "Accepted", "chat"),
    "aliasgate-demo/gpt-5-4": (True, "Accepted", "responses"),
    "aliasgate-demo/gpt-5-4-chat": (False, "UnsupportedMode", None),
    "aliasgate-demo/gpt-5": (True, "Accepted", "responses"),
    "aliasgate-demo/gpt-5-chat": (False, "ModeDowngradeRejected", None),
    "aliasgate-demo/gpt-5-team": (True, "Accepted", "responses"),
}


def test_samples_give_the_documented_verdicts() -> None:
    resolution = conflicts.resolve(sample_objects())
    got = {ref: (v.accepted, v.reason, v.resolved_mode) for ref, v in resolution.verdicts.items()}
    assert got == SAMPLE_VERDICTS
    table = resolution.table.check()
    assert table.lookup("gpt-5.4-chat") is None
    found = table.lookup("chatgpt/gpt-5.4")
    assert found is not None
    assert found[1].mode == "responses"
    assert "'gpt-5' (aliasgate-demo/gpt-5)" in resolution.verdicts["aliasgate-demo/gpt-5-chat"].message
    qwen = table.routes["local/qwen3-coder"]
    assert qwen.settings.fallbacks == ("gpt-4.1-mini",)
    assert qwen.settings.request_overrides == {"max_tokens": 4096}
    assert qwen.settings.health_check.enabled is False


def test_samples_with_their_credentials_resolve_every_reference() -> None:
    credentials = {"openai-key": conflicts.CredentialInfo(), "chatgpt-pro": conflicts.CredentialInfo()}
    resolution = conflicts.resolve(sample_objects(), credentials=credentials)
    for verdict in resolution.verdicts.values():
        assert verdict.refs_resolved is True, verdict


def test_the_memo_reuses_unchanged_routes_and_rebuilds_the_ones_whose_mode_flipped() -> None:
    chat = resources.parse_object(
        raw_alias("chatty", {"backend": {"provider": "openai", "model": "m"}}, created="2025-01-01T00:00:00Z")
    )
    other = resources.parse_object(raw_alias("other", {"backend": {"provider": "openai", "model": "n"}}))
    memo = conflicts.ResolveMemo()
    first = conflicts.resolve([chat, other], memo=memo)
    assert first.table.routes["chatty"].mode == "chat"
    assert memo.reused == 0
    responses = resources.parse_object(
        raw_alias("pinned", {"backend": {"provider": "openai", "model": "m"}, "mode": "responses"})
    )
    second = conflicts.resolve([chat, other, responses], memo=memo)
    assert memo.reused == 1  # "other": same instance, same mode, same references
    assert second.table.routes["other"] is first.table.routes["other"]
    assert second.table.routes["chatty"].mode == "responses"  # inherits the backend's new mode: rebuilt
    assert second.verdicts["team-a/chatty"].resolved_mode == "responses"
    assert second == conflicts.resolve([chat, other, responses])
