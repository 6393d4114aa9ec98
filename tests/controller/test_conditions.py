"""Status conditions from verdicts: Kubernetes shape, transitions only on flips, the status document."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import jsonschema

from controller import conditions, conflicts
from controller.resources import ModelAliasStatus
from tests.controller.modelaliases import crd_schema, openapi_to_json_schema

T0 = datetime(2026, 11, 26, 8, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)


REFS_REASONS: dict[bool | None, conflicts.Reason] = {
    True: "ResolvedRefs",
    False: "FallbackNotFound",
    None: "CredentialsNotChecked",
}


def verdict(*, accepted: bool = True, refs: bool | None = True, generation: int | None = 3) -> conflicts.Verdict:
    return conflicts.Verdict(
        namespace="team-a",
        name="gpt-5",
        uid="uid-1",
        generation=generation,
        alias="gpt-5",
        accepted=accepted,
        reason="Accepted" if accepted else "ModeDowngradeRejected",
        message="serves alias" if accepted else "backend is in Responses mode",
        backend_key="openai|https://api.openai.com/v1|gpt-5",
        resolved_mode="responses" if accepted else None,
        refs_resolved=refs,
        refs_reason=REFS_REASONS[refs],
        refs_message="refs",
    )


def by_type(status: dict[str, object]) -> dict[str, dict[str, object]]:
    found = status["conditions"]
    assert isinstance(found, list)
    return {c["type"]: c for c in found}


def test_accepted_alias_gets_three_true_conditions_with_generation_and_time() -> None:
    status = conditions.build_status(verdict(), None, T0, programmed=True)
    assert status["observedGeneration"] == 3
    assert status["resolvedMode"] == "responses"
    assert status["backendKey"] == "openai|https://api.openai.com/v1|gpt-5"
    got = by_type(status)
    assert list(got) == ["Accepted", "ResolvedRefs", "Programmed"]
    assert got["Accepted"] == {
        "type": "Accepted",
        "status": "True",
        "reason": "Accepted",
        "message": "serves alias",
        "observedGeneration": 3,
        "lastTransitionTime": "2026-11-26T08:00:00Z",
    }
    assert got["ResolvedRefs"]["status"] == "True"
    assert got["Programmed"]["status"] == "True"
    assert got["Programmed"]["reason"] == "Programmed"


def test_rejected_alias_is_false_and_never_programmed() -> None:
    status = conditions.build_status(verdict(accepted=False, refs=False), None, T0, programmed=True)
    got = by_type(status)
    assert got["Accepted"]["status"] == "False"
    assert got["Accepted"]["reason"] == "ModeDowngradeRejected"
    assert got["ResolvedRefs"]["status"] == "False"
    assert got["ResolvedRefs"]["reason"] == "FallbackNotFound"
    assert got["Programmed"]["status"] == "False"
    assert got["Programmed"]["reason"] == "NotAccepted"
    assert status["resolvedMode"] is None


def test_unchecked_credentials_and_missing_reports_are_unknown() -> None:
    got = by_type(conditions.build_status(verdict(refs=None), None, T0, programmed=None))
    assert got["ResolvedRefs"]["status"] == "Unknown"
    assert got["ResolvedRefs"]["reason"] == "CredentialsNotChecked"
    assert got["Programmed"]["status"] == "Unknown"
    assert got["Programmed"]["reason"] == "NoGatewayReports"
    pending = by_type(conditions.build_status(verdict(), None, T0, programmed=False))["Programmed"]
    assert (pending["status"], pending["reason"]) == ("False", "Pending")


def test_transition_time_moves_only_when_status_flips() -> None:
    first = conditions.build_status(verdict(), None, T0, programmed=False)
    same = conditions.build_status(verdict(generation=4), first, T1, programmed=False)
    assert same["conditions"][0]["lastTransitionTime"] == "2026-11-26T08:00:00Z"
    assert same["conditions"][0]["observedGeneration"] == 4
    flipped = conditions.build_status(verdict(), same, T1, programmed=True)
    got = by_type(flipped)
    assert got["Programmed"]["lastTransitionTime"] == "2026-11-26T08:05:00Z"
    assert got["Accepted"]["lastTransitionTime"] == "2026-11-26T08:00:00Z"
    rejected = by_type(conditions.build_status(verdict(accepted=False), flipped, T1 + timedelta(seconds=1), True))
    assert rejected["Accepted"]["lastTransitionTime"] == "2026-11-26T08:05:01Z"


def test_rebuilding_with_the_same_outcome_is_identical() -> None:
    first = conditions.build_status(verdict(), None, T0, programmed=True)
    assert conditions.build_status(verdict(), first, T1, programmed=True) == first


def test_conditions_of_other_owners_are_kept_after_ours() -> None:
    foreign = {"type": "Audited", "status": "True", "reason": "Ok", "message": "", "lastTransitionTime": "x"}
    previous = {"conditions": [foreign, {"type": "Accepted", "status": "True"}]}
    status = conditions.build_status(verdict(), previous, T0, programmed=True)
    assert [c["type"] for c in status["conditions"]] == ["Accepted", "ResolvedRefs", "Programmed", "Audited"]


def test_malformed_previous_status_is_ignored() -> None:
    status = conditions.build_status(verdict(), {"conditions": "nope"}, T0, programmed=True)
    assert len(status["conditions"]) == 3
    status = conditions.build_status(verdict(), {"conditions": [1, None, {"type": "Accepted"}]}, T0, True)
    assert by_type(status)["Accepted"]["lastTransitionTime"] == "2026-11-26T08:00:00Z"


def test_missing_generation_omits_observed_generation() -> None:
    status = conditions.build_status(verdict(generation=None), None, T0, programmed=None)
    assert "observedGeneration" not in status
    assert all("observedGeneration" not in c for c in status["conditions"])


def test_times_are_utc_with_second_precision() -> None:
    plus_two = datetime(2026, 1, 1, 12, 30, 15, 999999, tzinfo=timezone(timedelta(hours=2)))
    assert conditions.format_time(plus_two) == "2026-01-01T10:30:15Z"
    assert conditions.format_time(datetime(2026, 1, 1, 0, 0, 0)) == "2026-01-01T00:00:00Z"


def test_long_messages_are_capped_to_the_api_limit() -> None:
    long = dataclasses.replace(verdict(), message="x" * 40000)
    condition = conditions.accepted_condition(long, None, T0)
    assert len(condition["message"]) == conditions.MAX_MESSAGE_LENGTH
    assert condition["message"].endswith("...")


def test_status_validates_against_the_model_and_the_crd_schema() -> None:
    validator = jsonschema.Draft4Validator(openapi_to_json_schema(crd_schema()["properties"]["status"]))
    for accepted in (True, False):
        for programmed in (True, False, None):
            status = conditions.build_status(verdict(accepted=accepted), None, T0, programmed)
            ModelAliasStatus.model_validate(status)
            validator.validate(status)
