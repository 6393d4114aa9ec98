"""Single rules of the conflict engine that golden scenarios do not spell out one by one."""

from __future__ import annotations

import gc

import pytest

from controller import conflicts, resources
from gateway.routing.table import RouteSettings
from tests.controller.modelaliases import model_alias, raw_alias

OPENAI = {"provider": "openai", "model": "gpt-5"}


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("https://api.openai.com/v1", "https://api.openai.com/v1"),
        ("HTTPS://API.OpenAI.com/v1", "https://api.openai.com/v1"),
        ("https://api.openai.com/v1/", "https://api.openai.com/v1"),
        ("https://api.openai.com/v1///", "https://api.openai.com/v1"),
        ("https://api.openai.com:443/v1", "https://api.openai.com/v1"),
        ("http://vllm:80/v1", "http://vllm/v1"),
        ("http://vllm:443/v1", "http://vllm:443/v1"),
        ("https://vllm:80/v1", "https://vllm:80/v1"),
        ("http://vllm:8000", "http://vllm:8000"),
        ("http://vllm:8000/", "http://vllm:8000"),
        ("  https://example.com/V1  ", "https://example.com/V1"),
        ("http://[::1]:8000/v1", "http://[::1]:8000/v1"),
        ("http://[FE80::1]:80/v1", "http://[fe80::1]/v1"),
    ],
)
def test_base_urls_normalise_to_one_backend_key(url: str, normalised: str) -> None:
    assert resources.normalize_base_url(url) == normalised


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("ftp://user:pw@example.com", "must be an http(s) URL, got scheme 'ftp'"),
        ("user:pw@example.com/v1", "must be an http(s) URL"),
        ("https://user:pw@example.com", "must not carry credentials"),
        ("https://example.com/v1?api-version=1&key=pw", "must not have a query string"),
        ("https://example.com/v1#pw", "fragment"),
        ("https://example.com:99999/pw", "invalid URL"),
        ("https:///v1/pw", "has no host"),
    ],
)
def test_unusable_base_urls_are_refused_without_echoing_secrets(url: str, fragment: str) -> None:
    with pytest.raises(resources.InvalidObjectError) as caught:
        resources.normalize_base_url(url)
    assert fragment in caught.value.message
    assert caught.value.field == "spec.backend.baseURL"
    assert "pw" not in caught.value.message


def test_aliases_with_equivalent_urls_share_one_backend() -> None:
    objects = [
        model_alias("a", {"backend": {**OPENAI, "baseURL": "https://API.openai.com:443/v1/"}, "mode": "responses"}),
        model_alias("b", {"backend": OPENAI}),
    ]
    resolution = conflicts.resolve(objects)
    assert list(resolution.table.backends) == ["openai|https://api.openai.com/v1|gpt-5"]
    assert resolution.verdicts["team-a/b"].resolved_mode == "responses"


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        (None, None),
        ("*", None),
        ("team-a,*", None),
        ("", frozenset()),
        (" , ", frozenset()),
        ("team-a", frozenset({"team-a"})),
        (" team-a , team-b,", frozenset({"team-a", "team-b"})),
    ],
)
def test_allowed_namespaces_annotation(value: str | None, allowed: frozenset[str] | None) -> None:
    assert conflicts.CredentialInfo.from_annotation(value).allowed_namespaces == allowed


def test_parse_or_invalid_keeps_what_is_readable() -> None:
    raw = raw_alias("broken", {"alias": "x", "backend": {"provider": "nope", "model": "m"}}, generation=5)
    raw["metadata"].update(uid="u-1", creationTimestamp="2026-01-01T00:00:00Z")
    invalid = conflicts.parse_or_invalid(raw)
    assert isinstance(invalid, conflicts.InvalidAlias)
    assert (invalid.namespace, invalid.name, invalid.uid, invalid.generation) == ("team-a", "broken", "u-1", 5)
    assert invalid.field == "spec.backend.provider"
    assert invalid.alias == "x"
    assert isinstance(conflicts.parse_or_invalid(raw_alias("ok", {"backend": OPENAI})), resources.ModelAlias)
    junk = conflicts.parse_or_invalid({"metadata": "nope", "spec": 3})
    assert isinstance(junk, conflicts.InvalidAlias)
    assert (junk.namespace, junk.name, junk.alias) == ("default", "", None)


def test_invalid_object_is_listed_as_rejected_under_its_alias() -> None:
    raw = raw_alias("broken", {"alias": "x", "backend": {"provider": "nope", "model": "m"}})
    resolution = conflicts.resolve([conflicts.parse_or_invalid(raw)])
    [rejected] = resolution.table.rejected
    assert (rejected.alias, rejected.reason) == ("x", "InvalidSpec")
    assert rejected.message.startswith("spec.backend.provider: ")


def test_route_settings_come_from_the_spec_over_the_table_defaults() -> None:
    spec = {
        "backend": OPENAI,
        "timeouts": {"readSeconds": 5},
        "retries": {"backoffSeconds": 10},
        "healthCheck": {"intervalSeconds": 30},
        "requestDefaults": {"reasoning_effort": "high"},
        "requestOverrides": {"store": False},
    }
    resolution = conflicts.resolve([model_alias("tuned", spec), model_alias("plain", {"backend": OPENAI})])
    tuned = resolution.table.routes["tuned"].settings
    assert tuned.timeouts.read_seconds == 5
    assert tuned.timeouts.connect_seconds == 5  # never longer than the whole request
    assert tuned.timeouts.idle_seconds == 120
    assert tuned.retries.attempts == 2
    assert tuned.retries.backoff_seconds == 10
    assert tuned.retries.backoff_max_seconds == 10
    assert tuned.health_check.interval_seconds == 30
    assert tuned.health_check.timeout_seconds == 30  # never longer than the interval
    assert tuned.health_check.enabled is True
    assert tuned.request_defaults == {"reasoning_effort": "high"}
    assert tuned.request_overrides == {"store": False}
    assert resolution.table.routes["plain"].settings == RouteSettings()


def test_same_generation_duplicates_break_ties_by_content_not_order() -> None:
    one = model_alias("x", {"backend": OPENAI, "mode": "chat"}, generation=2)
    two = model_alias("x", {"backend": OPENAI, "mode": "responses"}, generation=2)
    first = conflicts.resolve([one, two])
    assert conflicts.resolve([two, one]) == first
    assert conflicts.resolve([two, one, two]) == first
    newer = model_alias("x", {"backend": OPENAI, "mode": "chat"}, generation=3)
    assert conflicts.resolve([newer, two, one]).verdicts["team-a/x"].resolved_mode == "chat"
    invalid = conflicts.InvalidAlias(namespace="team-a", name="x", field="f", message="m", generation=2)
    assert conflicts.resolve([one, invalid]) == conflicts.resolve([invalid, one])


def test_downgrade_message_names_at_most_five_holders() -> None:
    objects = [model_alias(f"holder-{i}", {"backend": OPENAI, "mode": "responses"}) for i in range(7)]
    objects.append(model_alias("chat", {"backend": OPENAI, "mode": "chat"}))
    message = conflicts.resolve(objects).verdicts["team-a/chat"].message
    assert "'holder-0' (team-a/holder-0)" in message
    assert "'holder-4' (team-a/holder-4)" in message
    assert "holder-5" not in message
    assert "and 2 more" in message


def test_empty_input_gives_an_empty_sound_table() -> None:
    resolution = conflicts.resolve([], generation=4)
    assert resolution.table.check().routes == {}
    assert resolution.verdicts == {}
    assert resolution.table.generation == 4


def test_verdicts_and_messages_never_carry_credentials_values() -> None:
    spec = {"backend": {**OPENAI, "baseURL": "https://sk-live:secret@example.com/v1"}}
    verdict = conflicts.resolve([model_alias("leaky", spec)]).verdicts["team-a/leaky"]
    assert verdict.reason == "InvalidSpec"
    assert "secret" not in verdict.message


def test_resolving_leaves_the_cycle_collector_as_it_found_it() -> None:
    assert gc.isenabled()
    conflicts.resolve([model_alias("a", {"backend": OPENAI})])
    assert gc.isenabled()
    with pytest.raises(TypeError):
        conflicts.resolve(None)  # type: ignore[arg-type]
    assert gc.isenabled()
    gc.disable()
    try:
        conflicts.resolve([model_alias("a", {"backend": OPENAI})])
        assert not gc.isenabled()
    finally:
        gc.enable()
