"""Run the test API server as a process: ``python -m tests.kubeapi --port 6443 --kubeconfig PATH``."""

from __future__ import annotations

import argparse
import asyncio
import pathlib
import signal

from tests.kubeapi.fixtures import modelalias_crd_path
from tests.kubeapi.server import KubeApiServer


async def _serve(args: argparse.Namespace) -> None:
    api = KubeApiServer(
        host=args.host,
        port=args.port,
        require_auth=args.require_auth,
        history_size=args.history_size,
        bookmark_interval=args.bookmark_interval,
    )
    await api.start()
    for crd in args.crd or [str(modelalias_crd_path())]:
        api.install_crd(crd)
    if args.kubeconfig:
        api.write_kubeconfig(args.kubeconfig)
    print(f"kubeapi listening on {api.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await api.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.kubeapi", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on start)")
    parser.add_argument("--kubeconfig", type=pathlib.Path, help="write a kubeconfig for this server here")
    parser.add_argument("--crd", action="append", help="CRD YAML to install (repeatable; default: ModelAlias)")
    parser.add_argument("--require-auth", action="store_true", help="answer 401 without the kubeconfig's token")
    parser.add_argument("--history-size", type=int, default=1000, help="watch events kept per resource")
    parser.add_argument("--bookmark-interval", type=float, default=60.0, help="seconds between BOOKMARK events")
    asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()
