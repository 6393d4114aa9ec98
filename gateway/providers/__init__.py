"""Upstream providers: where a backend's requests go and how they are authenticated.

One module per provider. A provider turns a table :class:`~gateway.routing.table.Backend` into an
:class:`UpstreamCall` (URL, query, headers with credentials). Only :mod:`gateway.upstream` calls
providers, so credential values never pass through handler code.
"""

from __future__ import annotations

from gateway.providers.base import CredentialsUnavailableError, Provider, UpstreamCall
from gateway.providers.registry import Providers

__all__ = ["CredentialsUnavailableError", "Provider", "Providers", "UpstreamCall"]
