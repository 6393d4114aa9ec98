"""Azure OpenAI: ``api-key`` header, ``api-version`` query, deployment URLs.

``baseURL`` is the resource's ``https://<resource>.openai.azure.com/openai``; chat goes to
``{baseURL}/deployments/{model}/chat/completions`` (the backend's ``model`` is the deployment name)
and Responses to ``{baseURL}/responses`` with the deployment in the body's ``model``.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.credentials.store import CredentialStore
from gateway.providers.base import CredentialsUnavailableError, Endpoint, UpstreamCall, api_key, join_url
from gateway.routing.table import Backend

DEFAULT_API_VERSION = "2025-04-01-preview"


@dataclass(slots=True)
class AzureOpenAIProvider:
    credentials: CredentialStore
    name: str = "azure-openai"
    forces_stream: bool = False

    async def prepare(self, backend: Backend, endpoint: Endpoint, *, request_id: str) -> UpstreamCall:
        key = api_key(self.credentials, backend, required=True)
        if not backend.base_url:
            raise CredentialsUnavailableError(f"backend {backend.key!r} has no Azure resource URL")
        path = f"deployments/{backend.model}/chat/completions" if endpoint == "chat" else "responses"
        query = (("api-version", backend.api_version or DEFAULT_API_VERSION),)
        headers = {"Content-Type": "application/json", "api-key": key or ""}
        return UpstreamCall(url=join_url(backend.base_url, path, query), headers=headers)

    async def unauthorized(self, backend: Backend, call: UpstreamCall) -> bool:
        return False
