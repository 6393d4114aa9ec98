"""Providers by name, built once per app and shared by the upstream client and the prober."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from gateway.credentials.refresh import LocalTokenRefresher, TokenRefresher
from gateway.credentials.store import CredentialStore
from gateway.metrics import GatewayMetrics
from gateway.providers.azure_openai import AzureOpenAIProvider
from gateway.providers.base import Provider
from gateway.providers.chatgpt import ChatGPTProvider
from gateway.providers.openai import OpenAIProvider
from gateway.providers.openai_compatible import openai_compatible


@dataclass(slots=True)
class Providers:
    """One provider object per provider kind."""

    by_name: dict[str, Provider]

    @classmethod
    def build(
        cls,
        *,
        credentials: CredentialStore,
        session: Callable[[], aiohttp.ClientSession],
        chatgpt_token_url: str,
        chatgpt_client_id: str,
        chatgpt_refresh_margin_seconds: float,
        metrics: GatewayMetrics | None = None,
        token_refresher: TokenRefresher | None = None,
    ) -> Providers:
        """``token_refresher``: who refreshes OAuth tokens (default: locally, in memory)."""
        chatgpt = ChatGPTProvider(
            refresher=token_refresher if token_refresher is not None else LocalTokenRefresher(),
            credentials=credentials,
            session=session,
            token_url=chatgpt_token_url,
            client_id=chatgpt_client_id,
            refresh_margin_seconds=chatgpt_refresh_margin_seconds,
            metrics=metrics,
        )
        return cls(
            by_name={
                "chatgpt": chatgpt,
                "openai": OpenAIProvider(credentials=credentials),
                "azure-openai": AzureOpenAIProvider(credentials=credentials),
                "openai-compatible": openai_compatible(credentials),
            }
        )

    def get(self, provider: str) -> Provider:
        return self.by_name[provider]
