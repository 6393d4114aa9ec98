"""``python -m gateway`` wiring: which credential store and which token refresher a pod gets, injected together."""

from __future__ import annotations

import pathlib

import pytest

from gateway.__main__ import build_credentials
from gateway.app import create_app
from gateway.credentials.files import DirectoryCredentialStore
from gateway.credentials.refresh import LocalTokenRefresher
from gateway.keys import providers_key
from gateway.kube.secrets import KubeCredentialStore
from gateway.kube.token_refresh import KubeTokenRefresher
from gateway.providers.chatgpt import ChatGPTProvider
from gateway.settings import GatewaySettings
from tests.gateway.conftest import StaticTableSource, build_table
from tests.kubeapi import KubeApiServer


def test_mounted_secrets_are_refreshed_locally(tmp_path: pathlib.Path) -> None:
    store, refresher = build_credentials(GatewaySettings(namespace="ns", secrets_dir=tmp_path))
    assert isinstance(store, DirectoryCredentialStore)
    assert isinstance(refresher, LocalTokenRefresher)


def test_secrets_read_through_the_api_are_refreshed_through_the_same_secrets(
    kube_api: KubeApiServer, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(kube_api.write_kubeconfig(tmp_path / "kubeconfig")))
    store, refresher = build_credentials(GatewaySettings(namespace="team-a"))
    assert isinstance(store, KubeCredentialStore)
    assert isinstance(refresher, KubeTokenRefresher)
    assert refresher.store is store
    assert store.namespace == "team-a"


async def test_the_injected_refresher_is_the_one_the_chatgpt_provider_uses(tmp_path: pathlib.Path) -> None:
    store, _ = build_credentials(GatewaySettings(namespace="ns", secrets_dir=tmp_path))
    injected = LocalTokenRefresher()
    app = create_app(
        GatewaySettings(namespace="ns"),
        table_source=StaticTableSource(build_table("http://127.0.0.1:9", [])),
        credentials=store,
        token_refresher=injected,
        probing=False,
    )
    chatgpt = app[providers_key].get("chatgpt")
    assert isinstance(chatgpt, ChatGPTProvider)
    assert chatgpt.refresher is injected
    default = create_app(GatewaySettings(namespace="ns"), table_source=StaticTableSource(build_table("http://x", [])))
    default_chatgpt = default[providers_key].get("chatgpt")
    assert isinstance(default_chatgpt, ChatGPTProvider)
    assert isinstance(default_chatgpt.refresher, LocalTokenRefresher)
