"""Loading ModelAlias manifests and the secrets folder: what counts, and errors that point at the spot."""

from __future__ import annotations

from pathlib import Path

import pytest

from aliasgate.cli import manifests
from controller import conflicts
from tests.controller.modelaliases import SAMPLES_DIR

ALIAS = """\
apiVersion: aliasgate.io/v1alpha1
kind: ModelAlias
metadata: {{name: {name}, namespace: team-a}}
spec:
  backend: {{provider: openai, model: gpt-5}}
"""

SECRET = """\
apiVersion: v1
kind: Secret
metadata: {name: openai-key}
stringData: {apiKey: sk-not-real}
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_samples_folder_loads_every_object_in_file_order() -> None:
    loaded = manifests.load_manifests([SAMPLES_DIR])
    assert [Path(f).name for f in loaded.files] == sorted(p.name for p in SAMPLES_DIR.glob("*.yaml"))
    assert len(loaded.objects) == 7
    assert loaded.skipped == 0
    conflict = [o for o in loaded.objects if o.path.endswith("_conflict.yaml")]
    assert [(o.obj.metadata.name, o.document) for o in conflict] == [("gpt-5", 0), ("gpt-5-chat", 1), ("gpt-5-team", 2)]


def test_folders_are_searched_recursively_sorted_and_hidden_files_skipped(tmp_path: Path) -> None:
    write(tmp_path / "b" / "two.yml", ALIAS.format(name="two"))
    write(tmp_path / "a.yaml", ALIAS.format(name="one"))
    write(
        tmp_path / "c" / "three.json",
        '{"apiVersion": "aliasgate.io/v1alpha1", "kind": "ModelAlias", '
        '"metadata": {"name": "three"}, "spec": {"backend": {"provider": "openai", "model": "m"}}}',
    )
    write(tmp_path / ".git" / "ignored.yaml", "not: [valid")
    write(tmp_path / "notes.txt", "not a manifest")
    loaded = manifests.load_manifests([tmp_path])
    assert [o.obj.metadata.name for o in loaded.objects] == ["one", "two", "three"]
    assert loaded.objects[2].obj.metadata.namespace == "default"


def test_other_kinds_are_skipped_and_lists_are_opened(tmp_path: Path) -> None:
    path = write(
        tmp_path / "mixed.yaml",
        "---\n# only a comment\n---\n"
        + SECRET
        + "---\n"
        + "apiVersion: v1\nkind: List\nitems:\n"
        + "  - "
        + ALIAS.format(name="in-list").replace("\n", "\n    ").rstrip()
        + "\n"
        + "  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: d}}\n",
    )
    loaded = manifests.load_manifests([path])
    assert [o.obj.metadata.name for o in loaded.objects] == ["in-list"]
    assert loaded.objects[0].location == f"{path}: document 2 item 0"
    assert loaded.skipped == 2


def test_same_file_given_twice_is_read_once(tmp_path: Path) -> None:
    path = write(tmp_path / "one.yaml", ALIAS.format(name="one"))
    assert len(manifests.load_manifests([path, tmp_path, str(path)]).objects) == 1


@pytest.mark.parametrize(
    ("text", "document", "field", "fragment"),
    [
        (ALIAS.format(name="ok") + "---\nkind: [unclosed\n", 1, "", "malformed YAML at line 8"),
        ("kind: ModelAlias\nmetadata: {name: x}\n", 0, "apiVersion", "not a Kubernetes object"),
        ("apiVersion: aliasgate.io/v1alpha1\nmetadata: {name: x}\n", 0, "kind", "not a Kubernetes object"),
        ("apiVersion: aliasgate.io/v1alpha1\nkind: ModelAliases\nmetadata: {name: x}\n", 0, "kind", "got apiVersion"),
        (
            "apiVersion: aliasgate.io/v1\nkind: ModelAlias\nmetadata: {name: x}\n",
            0,
            "apiVersion",
            "expected apiVersion",
        ),
        (ALIAS.format(name="x").replace("model: gpt-5", "model: ''"), 0, "spec.backend.model", "at least 1"),
        (ALIAS.format(name="x").replace("openai", "anthropic"), 0, "spec.backend.provider", "'chatgpt'"),
        (ALIAS.format(name="x").replace(", model: gpt-5", ""), 0, "spec.backend.model", "Field required"),
        (ALIAS.format(name="x") + "  mode: fast\n", 0, "spec.mode", "'responses' or 'chat'"),
        (ALIAS.format(name="x") + "  typo: 1\n", 0, "spec.typo", "Extra inputs"),
        (ALIAS.format(name="x") + "---\n" + ALIAS.format(name="x"), 1, "metadata.name", "already defined at"),
        (
            "apiVersion: v1\nkind: List\nitems: [{apiVersion: aliasgate.io/v1alpha1, kind: ModelAlias, "
            "metadata: {name: x}, spec: {}}]\n",
            0,
            "items.0.spec.backend",
            "Field required",
        ),
    ],
)
def test_errors_name_file_document_and_field(
    tmp_path: Path, text: str, document: int, field: str, fragment: str
) -> None:
    path = write(tmp_path / "bad.yaml", text)
    with pytest.raises(manifests.ManifestError) as caught:
        manifests.load_manifests([path])
    error = caught.value
    assert (error.path, error.document, error.field) == (str(path), document, field)
    assert fragment in error.message
    assert str(error).startswith(f"{path}: document {document}: ")


def test_documents_that_are_not_objects_are_skipped_with_a_note(tmp_path: Path) -> None:
    path = write(
        tmp_path / "odd.yaml",
        ALIAS.format(name="ok")
        + "---\n- {op: add, path: /spec/replicas, value: 2}\n"  # a kustomize JSON 6902 patch
        + "---\njust a string\n"
        + "---\nreplicaCount: 2\nimage: {tag: x}\n",  # Helm values
    )
    loaded = manifests.load_manifests([path])
    assert [o.obj.metadata.name for o in loaded.objects] == ["ok"]
    assert loaded.skipped == 3
    assert loaded.errors == ()
    assert [note.split(": skipped: ")[0] for note in loaded.notes] == [
        f"{path}: document {index}" for index in (1, 2, 3)
    ]
    assert "a list, not a Kubernetes object (a kustomize JSON 6902 patch" in loaded.notes[0]
    assert "a str, not a Kubernetes object" in loaded.notes[1]
    assert "neither apiVersion nor kind" in loaded.notes[2]


def test_the_deploy_folder_reads_with_its_kustomize_patch_skipped() -> None:
    deploy = SAMPLES_DIR.parent
    loaded = manifests.read_manifests([deploy])
    assert loaded.errors == ()
    assert len(loaded.objects) == len(manifests.load_manifests([SAMPLES_DIR]).objects)
    assert any("controller_patch.yaml: document 0: skipped: a list" in note for note in loaded.notes)
    assert loaded.skipped > 10  # the CRD, RBAC, Deployments, Services, the kustomizations, ...


def test_every_bad_file_and_document_is_reported(tmp_path: Path) -> None:
    first = write(tmp_path / "a.yaml", ALIAS.format(name="x").replace("openai", "anthropic"))
    second = write(
        tmp_path / "b.yaml",
        ALIAS.format(name="good") + "---\n" + ALIAS.format(name="y") + "  mode: fast\n---\nkind: [unclosed\n",
    )
    third = write(tmp_path / "c.json", '{"apiVersion": ')
    loaded = manifests.read_manifests([tmp_path, tmp_path / "nowhere"])
    assert [(e.path, e.document, e.field) for e in loaded.errors] == [
        (str(tmp_path / "nowhere"), None, ""),
        (str(first), 0, "spec.backend.provider"),
        (str(second), 1, "spec.mode"),
        (str(second), 2, ""),
        (str(third), 0, ""),
    ]
    assert [o.obj.metadata.name for o in loaded.objects] == ["good"]
    with pytest.raises(manifests.ManifestErrors) as caught:
        manifests.load_manifests([tmp_path])
    assert len(caught.value.errors) == 4
    assert str(caught.value).splitlines() == [str(e) for e in caught.value.errors]
    assert isinstance(caught.value, manifests.ManifestError)  # callers that catch one error catch them all


def test_malformed_json_and_missing_paths_are_errors(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.json", '{"apiVersion": ')
    with pytest.raises(manifests.ManifestError, match=r"bad.json: document 0: malformed JSON at line 1"):
        manifests.load_manifests([path])
    with pytest.raises(manifests.ManifestError, match="no such file or folder"):
        manifests.load_manifests([tmp_path / "nowhere"])


def test_secrets_dir_reads_names_and_allowed_namespaces_but_no_values(tmp_path: Path) -> None:
    write(tmp_path / "openai-key" / "apiKey", "sk-secret")
    write(tmp_path / "team-only" / "apiKey", "sk-secret")
    write(tmp_path / "team-only" / ".allowed-namespaces", " team-a, team-b ,\n")
    write(tmp_path / "everyone" / ".allowed-namespaces", "*")
    write(tmp_path / "no-one" / ".allowed-namespaces", "")
    write(tmp_path / "..data" / "apiKey", "volume plumbing")
    write(tmp_path / "stray-file", "not a secret folder")
    found = manifests.load_secrets_dir(tmp_path)
    assert found == {
        "everyone": conflicts.CredentialInfo(None),
        "no-one": conflicts.CredentialInfo(frozenset()),
        "openai-key": conflicts.CredentialInfo(None),
        "team-only": conflicts.CredentialInfo(frozenset({"team-a", "team-b"})),
    }
    assert found["team-only"].permits("team-b")
    assert not found["team-only"].permits("team-c")
    assert not found["no-one"].permits("team-a")
    assert "sk-secret" not in repr(found)


def test_missing_secrets_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(manifests.ManifestError, match="secrets folder does not exist"):
        manifests.load_secrets_dir(tmp_path / "nope")
