"""Every AppKey and RequestKey of the gateway: the only names of shared state (no module globals)."""

from __future__ import annotations

import random
from collections.abc import Callable

from aiohttp import web

from gateway.client_keys import ApiKeyFile
from gateway.context import RequestContext
from gateway.credentials.store import CredentialStore
from gateway.draining import Draining
from gateway.limits import BodyBudget
from gateway.metrics import GatewayMetrics
from gateway.probing import HealthTracker, Prober
from gateway.providers import Providers
from gateway.routing.loading import TableHolder
from gateway.routing.source import TableSource
from gateway.settings import GatewaySettings
from gateway.upstream.client import UpstreamClient

__all__ = [
    "admin_app_key",
    "api_keys_key",
    "body_budget_key",
    "clock_key",
    "context_key",
    "credentials_key",
    "draining_key",
    "health_key",
    "ids_key",
    "metrics_key",
    "prober_key",
    "providers_key",
    "rng_key",
    "settings_key",
    "table_holder_key",
    "table_source_key",
    "upstream_key",
]


settings_key = web.AppKey("settings", GatewaySettings)
table_holder_key = web.AppKey("table_holder", TableHolder)
table_source_key = web.AppKey("table_source", TableSource)
credentials_key = web.AppKey("credentials", CredentialStore)
metrics_key = web.AppKey("metrics", GatewayMetrics)
providers_key = web.AppKey("providers", Providers)
upstream_key = web.AppKey("upstream", UpstreamClient)
api_keys_key = web.AppKey("api_keys", ApiKeyFile)
health_key = web.AppKey("health", HealthTracker)
prober_key = web.AppKey("prober", Prober)
clock_key: web.AppKey[Callable[[], float]] = web.AppKey("clock")
ids_key: web.AppKey[Callable[[], str]] = web.AppKey("ids")
rng_key = web.AppKey("rng", random.Random)
draining_key = web.AppKey("draining", Draining)
admin_app_key = web.AppKey("admin_app", web.Application)
body_budget_key = web.AppKey("body_budget", BodyBudget)
context_key = web.RequestKey("context", RequestContext)
