"""``aliasgate check`` end to end: the real console script on the samples and on broken inputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aliasgate import cli
from tests.controller.modelaliases import SAMPLES_DIR

SCRIPT = [sys.executable, "-m", "aliasgate"]
"""The command as a user runs it; ``python -m aliasgate`` is the console script's body (see test_entry_points)."""
BASIC = SAMPLES_DIR / "aliasgate_v1alpha1_modelalias.yaml"
COMPATIBLE = SAMPLES_DIR / "aliasgate_v1alpha1_modelalias_openai_compatible.yaml"

ALIAS = """\
apiVersion: aliasgate.io/v1alpha1
kind: ModelAlias
metadata: {name: x, namespace: team-a}
spec:
  backend: {provider: openai, model: gpt-5}
"""


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SCRIPT, "check", *args], capture_output=True, text=True, timeout=60, check=False)


def run_inline(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["check", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_console_script_on_the_samples_reports_every_object_and_exits_1() -> None:
    result = run_script("--manifests", str(SAMPLES_DIR))
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    header = lines[0]
    assert header.split() == ["NAMESPACE/NAME", "ALIAS", "BACKEND", "MODE", "ACCEPTED", "REFS", "REASON", "MESSAGE"]
    rows = lines[1:8]
    assert [row.split()[0] for row in rows] == sorted(row.split()[0] for row in rows)
    # Aligned: every column starts at the header's offset on every row.
    for column in ("ALIAS", "BACKEND", "MODE", "ACCEPTED", "REASON", "MESSAGE"):
        offset = header.index(column)
        assert all(row[offset - 2 : offset] == "  " and row[offset] != " " for row in rows), column
    by_name = {row.split()[0]: row for row in rows}
    assert "UnsupportedMode" in by_name["aliasgate-demo/gpt-5-4-chat"]
    assert "ModeDowngradeRejected" in by_name["aliasgate-demo/gpt-5-chat"]
    assert "'gpt-5' (aliasgate-demo/gpt-5)" in by_name["aliasgate-demo/gpt-5-chat"]
    assert by_name["aliasgate-demo/gpt-5-team"].split()[3:5] == ["responses", "True"]
    assert "7 objects: 5 accepted, 2 rejected (4 files, 0 documents of other kinds skipped)" in result.stdout
    assert "credentials were not checked" in result.stdout


def test_json_output_carries_verdicts_and_sources(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_inline(capsys, "--manifests", str(SAMPLES_DIR), "--output", "json")
    assert (code, err) == (1, "")
    document = json.loads(out)
    assert document["credentialsChecked"] is False
    assert document["summary"] == {
        "objects": 7,
        "accepted": 5,
        "rejected": 2,
        "files": 4,
        "skippedDocuments": 0,
        "errors": 0,
    }
    assert (document["errors"], document["notes"]) == ([], [])
    chat = next(o for o in document["objects"] if o["name"] == "gpt-5-4-chat")
    assert chat["accepted"] is False
    assert chat["reason"] == "UnsupportedMode"
    assert chat["resolvedRefs"] is None
    assert chat["source"].endswith("aliasgate_v1alpha1_modelalias_chatgpt.yaml: document 1")
    assert document["table"]["routes"] == 5
    assert len(document["table"]["sha256"]) == 64


def test_all_accepted_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_inline(capsys, "--manifests", str(BASIC), str(COMPATIBLE))
    assert code == 0
    assert "2 objects: 2 accepted, 0 rejected" in out


def test_secrets_dir_checks_credentials(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "openai-key").mkdir()
    (tmp_path / "openai-key" / "apiKey").write_text("sk-never-printed")
    code, out, _ = run_inline(
        capsys, "--manifests", str(SAMPLES_DIR), "--secrets-dir", str(tmp_path), "--output", "json"
    )
    document = json.loads(out)
    assert code == 1
    assert document["credentialsChecked"] is True
    reasons = {o["name"]: (o["reason"], o["resolvedRefs"]) for o in document["objects"]}
    assert reasons["gpt-5-4"] == ("CredentialsNotFound", False)
    assert reasons["gpt-5"] == ("Accepted", True)
    assert reasons["qwen3-coder"] == ("Accepted", True)
    assert "sk-never-printed" not in out
    code, out, _ = run_inline(capsys, "--manifests", str(BASIC), "--secrets-dir", str(tmp_path))
    assert code == 0
    assert "credentials were not checked" not in out


def test_a_missing_fallback_is_shown_but_does_not_reject(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_inline(capsys, "--manifests", str(COMPATIBLE))
    assert code == 0
    [row] = [line for line in out.splitlines() if line.startswith("aliasgate-demo/qwen3-coder")]
    assert "False" in row.split()
    assert "FallbackNotFound" in row
    assert "'gpt-4.1-mini'" in row


def test_invalid_url_is_rejected_as_invalid_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "url.yaml"
    path.write_text(ALIAS.replace("model: gpt-5", "model: gpt-5, baseURL: 'https://user:pw@example.com/v1'"))
    code, out, _ = run_inline(capsys, "--manifests", str(path))
    assert code == 1
    assert "InvalidSpec" in out
    assert "spec.backend.baseURL: must not carry credentials" in out
    assert "user:pw" not in out


BROKEN = {
    "malformed-yaml": (ALIAS + "---\nspec: [oops\n", "document 1: malformed YAML at line"),
    "wrong-kind": (ALIAS.replace("kind: ModelAlias", "kind: ModelAliass"), "document 0: kind: expected apiVersion"),
    "half-an-object": ("kind: ModelAlias\nmetadata: {name: x}\n", "document 0: apiVersion: is missing"),
    "missing-field": (ALIAS.replace(", model: gpt-5", ""), "document 0: spec.backend.model: Field required"),
    "unknown-provider": (ALIAS.replace("openai", "anthropic"), "document 0: spec.backend.provider: Input should be"),
    "bad-number": (ALIAS + "  retries: {attempts: many}\n", "document 0: spec.retries.attempts: Input should be"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_input_exits_2_naming_file_document_and_field(tmp_path: Path, case: str) -> None:
    text, expected = BROKEN[case]
    good = tmp_path / "a-good.yaml"
    good.write_text(ALIAS.replace("name: x", "name: good"))
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    result = run_script("--manifests", str(tmp_path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"aliasgate check: error: {path}: ")
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_missing_path_and_empty_folder_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_inline(capsys, "--manifests", str(tmp_path / "nope"))
    assert (code, out) == (2, "")
    assert "no such file or folder" in err
    code, out, err = run_inline(capsys, "--manifests", str(tmp_path))
    assert (code, out) == (2, "")
    assert "no ModelAlias objects found" in err
    code, out, err = run_inline(capsys, "--manifests", str(BASIC), "--secrets-dir", str(tmp_path / "nope"))
    assert (code, out) == (2, "")
    assert "secrets folder does not exist" in err


def test_the_whole_deploy_folder_can_be_checked_its_kustomize_patch_skipped_with_a_note() -> None:
    deploy = SAMPLES_DIR.parent
    result = run_script("--manifests", str(deploy))
    assert result.returncode == 1, result.stderr  # the samples include rejected aliases on purpose
    assert result.stderr.splitlines() == [
        f"aliasgate check: note: {deploy}/components/webhook/controller_patch.yaml: document 0: skipped: "
        "a list, not a Kubernetes object (a kustomize JSON 6902 patch, for instance)"
    ]
    assert "7 objects: 5 accepted, 2 rejected" in result.stdout
    result = run_script("--manifests", str(deploy), "--output", "json")
    document = json.loads(result.stdout)
    assert result.stderr == ""
    assert document["errors"] == []
    assert len(document["notes"]) == 1
    assert "controller_patch.yaml: document 0: skipped" in document["notes"][0]


def broken_folder(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "a-good.yaml").write_text(ALIAS.replace("name: x", "name: good"))
    first = tmp_path / "b-bad.yaml"
    first.write_text(ALIAS.replace("openai", "anthropic"))
    second = tmp_path / "c-bad.yaml"
    second.write_text(ALIAS.replace("name: x", "name: y") + "  mode: fast\n---\nspec: [oops\n")
    return first, second


def test_every_bad_file_is_reported_not_only_the_first(tmp_path: Path) -> None:
    first, second = broken_folder(tmp_path)
    result = run_script("--manifests", str(tmp_path))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert [line.split(": ")[2:4] for line in lines] == [
        [str(first), "document 0"],
        [str(second), "document 0"],
        [str(second), "document 1"],
    ]
    assert all(line.startswith("aliasgate check: error: ") for line in lines)
    assert "spec.backend.provider" in lines[0]
    assert "spec.mode" in lines[1]
    assert "malformed YAML" in lines[2]


def test_json_output_carries_input_errors_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = broken_folder(tmp_path)
    missing = tmp_path / "nowhere"
    code, out, err = run_inline(
        capsys, "--manifests", str(tmp_path), str(missing), "--output", "json", "--secrets-dir", str(missing)
    )
    assert code == 2
    document = json.loads(out)
    errors = document["errors"]
    assert [(e["path"], e["document"], e["field"]) for e in errors] == [
        (str(missing), None, None),
        (str(first), 0, "spec.backend.provider"),
        (str(second), 0, "spec.mode"),
        (str(second), 1, None),
        (str(missing), None, None),
    ]
    assert "no such file or folder" in errors[0]["message"]
    assert "secrets folder does not exist" in errors[-1]["message"]
    assert all(e["text"].startswith(e["path"]) for e in errors)
    assert (document["objects"], document["table"], document["summary"]["errors"]) == ([], None, 5)
    assert err.splitlines() == [f"aliasgate check: error: {e['text']}" for e in errors]

    code, out, err = run_inline(capsys, "--manifests", str(tmp_path / "empty"), "--output", "json")
    assert code == 2
    assert json.loads(out)["errors"][0]["message"].endswith("no such file or folder")
    (tmp_path / "empty").mkdir()
    code, out, err = run_inline(capsys, "--manifests", str(tmp_path / "empty"), "--output", "json")
    assert code == 2
    assert "no ModelAlias objects found" in json.loads(out)["errors"][0]["message"]
