"""One OAuth refresher across gateway replicas: real gateways sharing one Secret on the API test server.

The token endpoint here rotates refresh tokens like a real OAuth server (each refresh token works
once; reuse is ``400 invalid_grant``), and the upstream (the simulator, behind a middleware that
records the real Authorization header) accepts only access tokens the token endpoint issued and
the test has not revoked.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import pathlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pytest_aiohttp import AiohttpClient, AiohttpServer

from aliasgate.runtime.logs import configure_logging
from aliasgate.simulator import create_simulator_app
from gateway.app import create_app
from gateway.credentials.refresh import LOCK_ANNOTATION
from gateway.credentials.secret_format import Tokens, parse_expiry, rfc3339
from gateway.keys import table_holder_key
from gateway.kube.client import KubeConnection
from gateway.kube.secrets import KubeCredentialStore
from gateway.kube.token_refresh import KubeTokenRefresher
from gateway.metrics import GatewayMetrics
from gateway.settings import GatewaySettings
from tests.gateway.conftest import RouteSpec, StaticTableSource, build_table
from tests.kubeapi import KubeApiServer

NS = "aliasgate-system"
SECRET = "chatgpt-pro"
ALIAS = "chatgpt/gpt-5.4"
ACCOUNT = "acct-replicas"
BODY = {"model": ALIAS, "messages": [{"role": "user", "content": "hi"}]}

pytestmark = pytest.mark.timeout(60)


def access(n: int) -> str:
    return f"oauth-access-secret-{n:03d}-abcdefgh"


def refresh(n: int) -> str:
    return f"oauth-refresh-secret-{n:03d}-ijklmnop"


@dataclass
class OAuth:
    """A rotating token endpoint and the upstream's view of which access tokens are good."""

    generation: int = 0
    hits: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    valid: set[str] = field(default_factory=lambda: {access(0)})
    seen: list[str] = field(default_factory=list)
    url: str = ""

    def app(self) -> web.Application:
        async def token(request: web.Request) -> web.Response:
            doc = await request.json()
            self.hits.append(doc)
            await asyncio.sleep(0.2)  # a real endpoint's latency: long enough for replicas to collide
            if doc.get("grant_type") != "refresh_token" or doc.get("refresh_token") != refresh(self.generation):
                self.refused += 1
                return web.json_response({"error": "invalid_grant", "error_description": "reused"}, status=400)
            self.generation += 1
            self.valid.add(access(self.generation))
            return web.json_response(
                {
                    "access_token": access(self.generation),
                    "refresh_token": refresh(self.generation),
                    "id_token": f"id-{self.generation}",
                    "expires_in": 3600,
                }
            )

        app = web.Application()
        app.router.add_post("/oauth/token", token)
        return app

    def upstream(self) -> web.Application:
        """The simulator, refusing (401) any access token that is not valid."""

        @web.middleware
        async def check(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> Any:
            bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
            self.seen.append(bearer)
            if bearer not in self.valid:
                return web.json_response({"detail": "Unauthorized"}, status=401)
            return await handler(request)

        sim = create_simulator_app()
        sim.middlewares.append(check)
        return sim


def secret_object(*, expires_in: float, lock: str | None = None, n: int = 0) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": SECRET, "namespace": NS}
    if lock is not None:
        metadata["annotations"] = {LOCK_ANNOTATION: lock}
    values = {
        "accessToken": access(n),
        "accountId": ACCOUNT,
        "refreshToken": refresh(n),
        "expiresAt": rfc3339(time.time() + expires_in),
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()},
    }


def secret_values(api: KubeApiServer) -> tuple[dict[str, str], dict[str, str]]:
    obj = api.get("v1", "secrets", SECRET, NS)
    assert obj is not None
    data = {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}
    return data, obj["metadata"].get("annotations") or {}


@dataclass
class Replica:
    client: TestClient[web.Request, web.Application]
    store: KubeCredentialStore
    metrics: GatewayMetrics

    def refreshes(self, result: str) -> float:
        return self.metrics.value("aliasgate_token_refreshes_total", {"secret": SECRET, "result": result})


@dataclass
class Cluster:
    api: KubeApiServer
    oauth: OAuth
    connection: KubeConnection
    upstream_url: str
    aiohttp_client: AiohttpClient

    async def replica(self) -> Replica:
        """A gateway (its own app, store, metrics) reading the Secret through the API, serving at once."""
        store = KubeCredentialStore(connection=self.connection, namespace=NS, names=[SECRET])
        metrics = GatewayMetrics()
        table = build_table(
            self.upstream_url,
            [RouteSpec(ALIAS, provider="chatgpt", prefix="/backend-api/codex", mode="responses", credentials=SECRET)],
        )
        app = create_app(
            GatewaySettings(chatgpt_token_url=self.oauth.url, chatgpt_client_id="client-x"),
            table_source=StaticTableSource(table),
            credentials=store,
            token_refresher=KubeTokenRefresher(store=store),
            metrics=metrics,
            probing=False,
        )
        client = await self.aiohttp_client(app)
        async with asyncio.timeout(5):
            while store.get(SECRET) is None or not app[table_holder_key].loaded:
                await asyncio.sleep(0.01)
        return Replica(client, store, metrics)


@pytest.fixture
async def api() -> AsyncIterator[KubeApiServer]:
    async with KubeApiServer(bookmark_interval=0.5) as server:
        server.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        yield server


@pytest.fixture
async def cluster(
    api: KubeApiServer, tmp_path: pathlib.Path, aiohttp_server: AiohttpServer, aiohttp_client: AiohttpClient
) -> Cluster:
    oauth = OAuth()
    token_server: TestServer = await aiohttp_server(oauth.app())
    oauth.url = str(token_server.make_url("/oauth/token"))
    upstream: TestServer = await aiohttp_server(oauth.upstream())
    connection = KubeConnection.from_kubeconfig(api.write_kubeconfig(tmp_path / "kubeconfig", user="gateway"))
    return Cluster(api, oauth, connection, str(upstream.make_url("")).rstrip("/"), aiohttp_client)


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The gateway's production JSON logs, as parsed lines (the raw text is checked for tokens too)."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging(level="debug", json=True, cache=False)
    raw: list[str] = []

    def lines() -> list[dict[str, Any]]:
        raw.append(capsys.readouterr().out)
        return [orjson.loads(line) for line in "".join(raw).splitlines() if line.startswith("{")]

    yield lines
    text = "".join(raw) + capsys.readouterr().out
    for n in range(10):
        assert access(n) not in text
        assert refresh(n) not in text
    root.handlers[:], level = saved
    root.setLevel(level)
    structlog.reset_defaults()


async def ask(replica: Replica, count: int = 1) -> list[int]:
    responses = await asyncio.gather(*[replica.client.post("/v1/chat/completions", json=BODY) for _ in range(count)])
    return [r.status for r in responses]


async def test_two_replicas_refresh_an_expiring_token_once_and_share_it(
    cluster: Cluster, json_logs: Callable[[], list[dict[str, Any]]]
) -> None:
    cluster.api.create(secret_object(expires_in=30))  # inside the 300 s refresh margin: due now
    a, b = await cluster.replica(), await cluster.replica()
    statuses = await asyncio.gather(ask(a, 3), ask(b, 3))
    assert list(statuses) == [[200] * 3, [200] * 3]
    assert len(cluster.oauth.hits) == 1, "exactly one call to the token endpoint"
    assert cluster.oauth.refused == 0
    assert cluster.oauth.seen == [access(1)] * 6, "both replicas sent the new access token upstream"
    assert sorted(r.refreshes("refreshed") for r in (a, b)) == [0, 1]
    assert sorted(r.refreshes("adopted") for r in (a, b)) == [0, 1]
    data, annotations = secret_values(cluster.api)
    assert data["accessToken"] == access(1)
    assert data["refreshToken"] == refresh(1)
    assert data["accountId"] == ACCOUNT
    assert (parse_expiry(data["expiresAt"]) or 0) > time.time() + 3000, "expiresAt follows the new token"
    assert LOCK_ANNOTATION not in annotations

    later = await cluster.replica()  # a pod started afterwards reads the refreshed Secret
    assert await ask(later, 2) == [200, 200]
    assert len(cluster.oauth.hits) == 1
    assert cluster.oauth.seen[-2:] == [access(1)] * 2
    assert later.metrics.value("aliasgate_token_refreshes_total", {"secret": SECRET, "result": "refreshed"}) == 0
    events = [line["event"] for line in json_logs()]
    assert "token_refreshed" in events
    assert "token_adopted" in events


async def test_a_401_on_one_replica_refreshes_once_and_the_other_follows(
    cluster: Cluster, json_logs: Callable[[], list[dict[str, Any]]]
) -> None:
    cluster.api.create(secret_object(expires_in=3600))
    a, b = await cluster.replica(), await cluster.replica()
    assert await ask(a) == [200]
    assert await ask(b) == [200]
    cluster.oauth.valid.discard(access(0))  # revoked upstream: both replicas now hold a refused token
    statuses = await asyncio.gather(ask(a, 2), ask(b, 2))
    assert list(statuses) == [[200, 200], [200, 200]]
    assert len(cluster.oauth.hits) == 1
    assert cluster.oauth.refused == 0
    assert cluster.oauth.seen[-4:].count(access(1)) == 4, "every retried request went out with the new token"
    assert a.refreshes("refreshed") + b.refreshes("refreshed") == 1
    data, annotations = secret_values(cluster.api)
    assert (data["accessToken"], data["refreshToken"]) == (access(1), refresh(1))
    assert LOCK_ANNOTATION not in annotations
    assert await ask(b) == [200]
    assert cluster.oauth.seen[-1] == access(1)
    assert len(cluster.oauth.hits) == 1
    assert not [line for line in json_logs() if line["level"] == "error"]


async def test_a_holder_that_died_mid_refresh_does_not_block_the_others(
    cluster: Cluster, json_logs: Callable[[], list[dict[str, Any]]]
) -> None:
    dead_until = time.time() + 2.0  # the dead pod's claim runs out in 2 s
    cluster.api.create(secret_object(expires_in=30, lock=f"gateway-dead-7c9f/{rfc3339(dead_until)}"))
    a = await cluster.replica()
    started = time.monotonic()
    assert await ask(a) == [200]
    assert time.monotonic() - started < 8, "waited for the dead holder's claim, not forever"
    assert time.time() >= dead_until - 1.0, "a live claim (even a dead holder's) is respected until it runs out"
    assert len(cluster.oauth.hits) == 1
    assert cluster.oauth.seen == [access(1)]
    assert a.refreshes("refreshed") == 1
    data, annotations = secret_values(cluster.api)
    assert data["accessToken"] == access(1)
    assert LOCK_ANNOTATION not in annotations
    assert "token_refresh_lock_taken_over" in [line["event"] for line in json_logs()]


async def test_an_expired_lock_is_taken_over_at_once(cluster: Cluster) -> None:
    cluster.api.create(secret_object(expires_in=30, lock=f"gateway-gone-1a2b/{rfc3339(time.time() - 60)}"))
    a = await cluster.replica()
    started = time.monotonic()
    assert await ask(a) == [200]
    assert time.monotonic() - started < 2
    assert a.refreshes("refreshed") == 1
    assert LOCK_ANNOTATION not in secret_values(cluster.api)[1]


async def test_denied_write_back_keeps_the_token_in_memory_and_says_so_once(
    cluster: Cluster, json_logs: Callable[[], list[dict[str, Any]]]
) -> None:
    cluster.api.create(secret_object(expires_in=30))
    denied = cluster.api.faults.inject(status=403, times=None, method="PUT", resource="secrets")
    a = await cluster.replica()
    assert await ask(a, 2) == [200, 200]
    assert len(cluster.oauth.hits) == 1
    assert cluster.oauth.seen == [access(1)] * 2
    assert a.refreshes("writeback_failed") == 1
    cluster.oauth.valid.discard(access(1))  # a 401 now: the next refresh must use the in-memory refresh token
    assert await ask(a) == [200]
    assert len(cluster.oauth.hits) == 2
    assert cluster.oauth.refused == 0, "the consumed refresh token from the Secret was not reused"
    assert cluster.oauth.seen[-1] == access(2)
    assert a.refreshes("writeback_failed") == 2
    data, _ = secret_values(cluster.api)
    assert data["accessToken"] == access(0), "the Secret was never written"
    warnings = [line for line in json_logs() if line["event"] == "token_writeback_failed"]
    assert len(warnings) == 1
    assert warnings[0]["level"] == "warning"
    assert warnings[0]["reason"] == "HTTP 403"
    denied.times = 0
    metrics = a.metrics.render().decode()
    assert 'aliasgate_token_refreshes_total{result="writeback_failed",secret="chatgpt-pro"} 2.0' in metrics


async def test_a_codex_auth_json_secret_is_written_back_as_auth_json(cluster: Cluster) -> None:
    auth = {
        "OPENAI_API_KEY": None,
        "tokens": {"id_token": "id-0", "access_token": access(0), "refresh_token": refresh(0), "account_id": ACCOUNT},
        "last_refresh": "2026-01-01T00:00:00Z",
    }
    cluster.api.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": SECRET, "namespace": NS},
            "data": {"auth.json": base64.b64encode(orjson.dumps(auth)).decode()},
        }
    )
    a = await cluster.replica()
    cluster.oauth.valid.discard(access(0))
    assert await ask(a) == [200]
    assert a.refreshes("refreshed") == 1
    data, annotations = secret_values(cluster.api)
    assert set(data) == {"auth.json"}, "same format: no flat keys added"
    written = orjson.loads(data["auth.json"])
    assert written["tokens"] == {
        "id_token": "id-1",
        "access_token": access(1),
        "refresh_token": refresh(1),
        "account_id": ACCOUNT,
    }
    assert written["OPENAI_API_KEY"] is None
    assert written["last_refresh"] != "2026-01-01T00:00:00Z"
    assert LOCK_ANNOTATION not in annotations


async def test_a_replica_behind_the_secret_adopts_its_tokens_without_refreshing(cluster: Cluster) -> None:
    """A 401 on a replica whose watch has not caught up yet: the Secret already holds newer tokens."""
    cluster.api.create(secret_object(expires_in=3600, n=1))
    cluster.oauth.generation = 1
    store = KubeCredentialStore(connection=cluster.connection, namespace=NS, names=[SECRET])  # not running: no watch
    minted: list[str] = []

    async def mint(refresh_token: str) -> Tokens | None:
        minted.append(refresh_token)
        return None

    stale = Tokens(access_token=access(0), account_id=ACCOUNT, refresh_token=refresh(0), expires_at=time.time() + 60)
    outcome = await KubeTokenRefresher(store=store).refresh(SECRET, stale, mint, margin_seconds=300)
    assert outcome.result == "adopted"
    assert outcome.tokens is not None
    assert (outcome.tokens.access_token, outcome.tokens.refresh_token) == (access(1), refresh(1))
    assert minted == []
    assert cluster.api.requests.count(verb="update", resource="secrets") == 0


async def test_an_api_outage_during_a_refresh_keeps_serving_from_memory(
    cluster: Cluster, json_logs: Callable[[], list[dict[str, Any]]]
) -> None:
    cluster.api.create(secret_object(expires_in=30))
    a = await cluster.replica()
    async with cluster.api.down():
        assert await ask(a) == [200]
    assert len(cluster.oauth.hits) == 1
    assert cluster.oauth.seen == [access(1)]
    assert a.refreshes("writeback_failed") == 1
    reasons = [line["reason"] for line in json_logs() if line["event"] == "token_writeback_failed"]
    assert len(reasons) == 1
    assert reasons[0].startswith(("Client", "Server")), reasons  # the aiohttp error kind, no body
    assert await ask(a) == [200], "back up: the in-memory token keeps working"
    assert len(cluster.oauth.hits) == 1
