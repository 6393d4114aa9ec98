"""Model calls go through the gateway's own connection pool; an aiohttp connector given to the app carries
them instead. Both paths answer the same, stream and not, and leave no connection busy."""

from __future__ import annotations

import aiohttp
import pytest

from gateway.keys import upstream_key
from tests.gateway.conftest import GatewayFactory


@pytest.mark.parametrize("through", ["pool", "aiohttp connector"])
@pytest.mark.parametrize("alias", ["team/chat", "chatgpt/gpt-5.4"])
async def test_both_upstream_paths_answer_alike(make_gateway: GatewayFactory, through: str, alias: str) -> None:
    if through == "pool":
        gateway = await make_gateway()
    else:
        gateway = await make_gateway(connector=lambda: aiohttp.TCPConnector(limit=8))
    assert (gateway.app[upstream_key].pool is None) == (through != "pool")
    async with gateway.sdk() as sdk:
        completion = await sdk.chat.completions.create(model=alias, messages=[{"role": "user", "content": "hello"}])
        stream = await sdk.chat.completions.create(
            model=alias, messages=[{"role": "user", "content": "again"}], stream=True
        )
        text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices])
    assert completion.choices[0].message.content == "You said: hello"
    assert text == "You said: again"
    assert gateway.upstream_connections() == 0
    pool = gateway.app[upstream_key].pool
    if pool is not None:
        assert pool.idle_connections >= 1  # kept alive for the next request
