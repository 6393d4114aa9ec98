"""A real ``python -m controller`` process whose Kubernetes API echoes the credentials it receives (an
``Authorization`` header quoted in every error): the bearer token never reaches the controller's log."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import orjson
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from tests.support.ports import free_port

TOKEN = "kube-bearer-token-secret-0123456789"


async def test_kube_token_echoed_by_the_api_never_reaches_the_log(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    async def echo(request: web.Request) -> web.Response:
        await request.read()
        status = {"kind": "Status", "code": 500, "message": f"denied {request.headers.get('Authorization')}",
                  "details": {"token": TOKEN, "causes": [{"message": f"header {request.headers.get('Authorization')}"}]}}  # fmt: skip
        return web.json_response(status, status=500)

    api = web.Application()
    api.router.add_route("*", "/{tail:.*}", echo)
    server = await aiohttp_server(api)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: x\n"
        f'clusters: [{{name: c, cluster: {{server: "{str(server.make_url("")).rstrip("/")}"}}}}]\n'
        f"users: [{{name: u, user: {{token: {TOKEN}}}}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "controller", "--kubeconfig", str(kubeconfig), "--log-level", "debug",
        "--admin-listen", f"127.0.0.1:{free_port()}", "--identity", "ctl-secrecy",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    await asyncio.sleep(3)  # several watch and lease rounds fail, each logging the API's message
    process.terminate()
    out, err = await asyncio.wait_for(process.communicate(), 20)
    text = (out + err).decode()
    events = [orjson.loads(line) for line in err.splitlines() if line.strip()]
    failures = [e for e in events if e["event"] in ("watch_failed", "lease_round_failed")]
    assert failures, text[:2000]
    assert any("denied Bearer [redacted]" in str(e.get("error")) for e in failures)
    assert TOKEN not in text
