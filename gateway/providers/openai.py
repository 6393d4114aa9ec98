"""api.openai.com: Bearer API key; Responses and Chat Completions under one base URL."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.credentials.store import CredentialStore
from gateway.providers.base import Endpoint, UpstreamCall, api_key, join_url
from gateway.routing.table import Backend

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_PATHS: dict[Endpoint, str] = {"chat": "chat/completions", "responses": "responses"}


@dataclass(slots=True)
class OpenAIProvider:
    credentials: CredentialStore
    name: str = "openai"
    forces_stream: bool = False
    key_required: bool = True

    async def prepare(self, backend: Backend, endpoint: Endpoint, *, request_id: str) -> UpstreamCall:
        key = api_key(self.credentials, backend, required=self.key_required)
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        base = backend.base_url or DEFAULT_BASE_URL
        return UpstreamCall(url=join_url(base, _PATHS[endpoint]), headers=headers)

    async def unauthorized(self, backend: Backend, call: UpstreamCall) -> bool:
        return False
