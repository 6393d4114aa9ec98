"""kubectl v1.32 smoke tests: the real binary, in a subprocess, with a kubeconfig for the test server."""

from __future__ import annotations

import asyncio
import base64
import pathlib

import orjson
import pytest

from tests.kubeapi.fixtures import DEPLOY_CRD, TEST_CRD
from tests.kubeapi.server import KubeApiServer
from tests.kubeapi.support import Kubectl, alias

SAMPLE = pathlib.Path(__file__).with_name("testdata") / "modelalias_sample.yaml"


@pytest.fixture
def kubectl(kube_api: KubeApiServer, tmp_path: pathlib.Path) -> Kubectl:
    return Kubectl(kube_api, tmp_path)


async def test_apply_a_crd_from_a_file(tmp_path: pathlib.Path) -> None:
    async with KubeApiServer() as api:
        run = Kubectl(api, tmp_path)
        _, out, _ = await run("apply", "-f", str(TEST_CRD))
        assert out.strip() == "customresourcedefinition.apiextensions.k8s.io/modelaliases.aliasgate.io created"
        _, out, _ = await run("apply", "-f", str(TEST_CRD))
        assert "unchanged" in out
        changed = tmp_path / "crd.yaml"
        changed.write_text(TEST_CRD.read_text().replace("- name: Backend", "- name: BackendKey"))
        _, out, _ = await run("apply", "-f", str(changed))
        assert out.strip() == "customresourcedefinition.apiextensions.k8s.io/modelaliases.aliasgate.io configured"
        columns = [c["name"] for c in api.resource("aliasgate.io/v1alpha1", "modelaliases").printer_columns]
        assert columns[-1] == "BackendKey"
        _, out, _ = await run("get", "crd")
        assert "modelaliases.aliasgate.io" in out
        _, out, _ = await run("api-resources", "--api-group=aliasgate.io")
        assert "ma " in out
        assert "ModelAlias" in out
        assert api.resource("aliasgate.io/v1alpha1", "modelaliases").short_names == ("ma",)


async def test_apply_the_project_crd_directory(tmp_path: pathlib.Path) -> None:
    async with KubeApiServer() as api:
        run = Kubectl(api, tmp_path)
        _, out, _ = await run("apply", "-f", str(DEPLOY_CRD.parent))
        assert "modelaliases.aliasgate.io created" in out
        _, out, _ = await run("get", "ma", "-A")
        assert "No resources found" in out + _


async def test_apply_create_configure_unchanged(
    kubectl: Kubectl, kube_api: KubeApiServer, tmp_path: pathlib.Path
) -> None:
    _, out, _ = await kubectl("apply", "-f", str(SAMPLE))
    assert out.strip() == "modelalias.aliasgate.io/gpt-5-4 created"
    changed = tmp_path / "changed.yaml"
    changed.write_text(SAMPLE.read_text().replace("model: gpt-5.4", "model: gpt-5.5"))
    _, out, _ = await kubectl("apply", "-f", str(changed))
    assert out.strip() == "modelalias.aliasgate.io/gpt-5-4 configured"
    _, out, _ = await kubectl("apply", "-f", str(changed))
    assert out.strip() == "modelalias.aliasgate.io/gpt-5-4 unchanged"
    stored = kube_api.get("aliasgate.io/v1alpha1", "modelaliases", "gpt-5-4", "team-a")
    assert stored is not None
    assert stored["spec"]["backend"]["model"] == "gpt-5.5"
    assert stored["metadata"]["generation"] == 2


async def test_apply_refuses_unknown_fields_and_invalid_values(kubectl: Kubectl, tmp_path: pathlib.Path) -> None:
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(SAMPLE.read_text().replace("  mode: responses", "  mode: responses\n  colour: blue"))
    code, _, err = await kubectl("apply", "-f", str(unknown), check=False)
    assert code != 0
    assert 'unknown field "spec.colour"' in err
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text(SAMPLE.read_text().replace("provider: chatgpt", "provider: nobody"))
    code, _, err = await kubectl("apply", "-f", str(invalid), check=False)
    assert code != 0
    assert 'spec.backend.provider: Unsupported value: "nobody"' in err


async def test_server_side_apply(kubectl: Kubectl, kube_api: KubeApiServer) -> None:
    _, out, _ = await kubectl("apply", "--server-side", "-f", str(SAMPLE))
    assert out.strip() == "modelalias.aliasgate.io/gpt-5-4 serverside-applied"
    assert kube_api.get("aliasgate.io/v1alpha1", "modelaliases", "gpt-5-4", "team-a") is not None


async def test_get_shows_printer_columns(kubectl: Kubectl, kube_api: KubeApiServer) -> None:
    kube_api.create(
        {
            **alias("gpt-5-4", provider="chatgpt", alias="chatgpt/gpt-5.4"),
            "metadata": {"name": "gpt-5-4", "namespace": "team-a"},
        }
    )
    _, out, _ = await kubectl("get", "ma", "-A")
    header, row = out.strip().splitlines()
    assert header.split() == [
        "NAMESPACE",
        "NAME",
        "ALIAS",
        "PROVIDER",
        "MODEL",
        "MODE",
        "ACCEPTED",
        "PROGRAMMED",
        "AGE",
    ]
    assert row.split()[:5] == ["team-a", "gpt-5-4", "chatgpt/gpt-5.4", "chatgpt", "gpt-5.4"]
    kube_api.patch(
        "aliasgate.io/v1alpha1",
        "modelaliases",
        "gpt-5-4",
        {"status": {"backendKey": "chatgpt|x|gpt-5.4"}},
        namespace="team-a",
        subresource="status",
    )
    _, out, _ = await kubectl("get", "ma", "-A")
    assert "BACKEND" not in out
    _, out, _ = await kubectl("get", "ma", "-A", "-o", "wide")
    header, row = out.strip().splitlines()
    assert header.split()[-1] == "BACKEND"
    assert row.split()[-1] == "chatgpt|x|gpt-5.4"


async def test_get_json_patch_and_delete(kubectl: Kubectl, kube_api: KubeApiServer) -> None:
    await kubectl("apply", "-f", str(SAMPLE))
    _, out, _ = await kubectl("get", "ma", "gpt-5-4", "-n", "team-a", "-o", "json")
    obj = orjson.loads(out)
    assert obj["kind"] == "ModelAlias"
    assert obj["spec"]["alias"] == "chatgpt/gpt-5.4"
    _, out, _ = await kubectl(
        "patch", "ma", "gpt-5-4", "-n", "team-a", "--type=merge", "-p", '{"spec":{"alias":"renamed"}}'
    )
    assert out.strip() == "modelalias.aliasgate.io/gpt-5-4 patched"
    stored = kube_api.get("aliasgate.io/v1alpha1", "modelaliases", "gpt-5-4", "team-a")
    assert stored is not None
    assert stored["spec"]["alias"] == "renamed"
    code, _, err = await kubectl("patch", "ma", "gpt-5-4", "-n", "team-a", "-p", '{"spec":{"alias":"x"}}', check=False)
    assert code != 0
    assert "strategic-merge-patch" in err
    _, out, _ = await kubectl("delete", "ma", "gpt-5-4", "-n", "team-a")
    assert out.strip() == 'modelalias.aliasgate.io "gpt-5-4" deleted'
    assert kube_api.get("aliasgate.io/v1alpha1", "modelaliases", "gpt-5-4", "team-a") is None


async def test_get_configmaps(kubectl: Kubectl, kube_api: KubeApiServer) -> None:
    _, out, err = await kubectl("get", "configmaps", "-l", "app=none")
    assert "No resources found in default namespace." in out + err
    kube_api.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "aliasgate-routes", "namespace": "default"},
            "data": {"a": "1"},
        }
    )
    _, out, _ = await kubectl("get", "configmaps")
    header, row, root_ca = out.strip().splitlines()
    assert header.split() == ["NAME", "DATA", "AGE"]
    assert row.split()[:2] == ["aliasgate-routes", "1"]
    assert root_ca.split()[:2] == ["kube-root-ca.crt", "1"]  # in every namespace, as kube-controller-manager does
    _, out, _ = await kubectl("create", "configmap", "made", "--from-literal=k=v")  # a protobuf body
    assert out.strip() == "configmap/made created"
    made = kube_api.get("v1", "configmaps", "made", "default")
    assert made is not None
    assert made["data"] == {"k": "v"}


async def test_typed_create_commands(kubectl: Kubectl, kube_api: KubeApiServer) -> None:
    _, out, _ = await kubectl("create", "namespace", "aliasgate-system")
    assert out.strip() == "namespace/aliasgate-system created"
    _, out, _ = await kubectl(
        "create", "secret", "generic", "openai-key", "-n", "aliasgate-system", "--from-literal=apiKey=sk-test"
    )
    assert out.strip() == "secret/openai-key created"
    secret = kube_api.get("v1", "secrets", "openai-key", "aliasgate-system")
    assert secret is not None
    assert secret["type"] == "Opaque"
    assert base64.b64decode(secret["data"]["apiKey"]) == b"sk-test"
    _, out, _ = await kubectl("delete", "namespace", "aliasgate-system")
    assert kube_api.get("v1", "secrets", "openai-key", "aliasgate-system") is None


async def test_get_watch_receives_an_event(kubectl: Kubectl, kube_api: KubeApiServer) -> None:
    process = await kubectl.start("get", "ma", "-n", "team-a", "-w", "--request-timeout=10s")
    assert process.stdout is not None
    try:
        async with asyncio.timeout(10):
            while kube_api.watch_count() == 0:
                await asyncio.sleep(0.05)
            kube_api.create({**alias("watched"), "metadata": {"name": "watched", "namespace": "team-a"}})
            lines: list[str] = []
            while not any("watched" in line for line in lines):
                line = (await process.stdout.readline()).decode()
                assert line, "kubectl get -w ended without the event"
                lines.append(line)
    finally:
        process.terminate()
        await process.wait()
    assert lines[0].split()[:2] == ["NAME", "ALIAS"]
    assert lines[-1].split()[0] == "watched"


async def test_replace_uses_put(kubectl: Kubectl, kube_api: KubeApiServer, tmp_path: pathlib.Path) -> None:
    await kubectl("apply", "-f", str(SAMPLE))
    _, out, _ = await kubectl("get", "ma", "gpt-5-4", "-n", "team-a", "-o", "json")
    obj = orjson.loads(out)
    obj["spec"]["mode"] = "responses"
    obj["spec"]["alias"] = "replaced"
    path = tmp_path / "replace.json"
    path.write_bytes(orjson.dumps(obj))
    _, out, _ = await kubectl("replace", "-f", str(path))
    assert out.strip() == "modelalias.aliasgate.io/gpt-5-4 replaced"
    assert kube_api.requests.count(verb="update", resource="modelaliases", user_agent="kubectl/") == 1
