"""Any OpenAI-compatible server (vLLM, llama.cpp, Ollama, ...): Bearer only when a key is configured."""

from __future__ import annotations

from gateway.credentials.store import CredentialStore
from gateway.providers.openai import OpenAIProvider


def openai_compatible(credentials: CredentialStore) -> OpenAIProvider:
    """Same wire format as OpenAI; the key is optional because many local servers need none."""
    return OpenAIProvider(credentials=credentials, name="openai-compatible", key_required=False)
