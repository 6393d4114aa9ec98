"""``python -m aliasgate.simulator``: serve the simulator standalone (benchmarks, the README, other processes).

``python -m gateway.simulator`` forwards here, so the documented command keeps working.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence

from aiohttp import web

from aliasgate.runtime import loops
from aliasgate.runtime.listen import parse_listen
from aliasgate.simulator.app import create_simulator_app
from aliasgate.simulator.config import SimulatorConfig

__all__ = ["build_parser", "main"]


def _listen(value: str) -> tuple[str, int]:
    try:
        return parse_listen(value, default_host="127.0.0.1")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m aliasgate.simulator",
        description="A local OpenAI Responses / Chat Completions upstream with the ChatGPT codex quirks.",
    )
    parser.add_argument("--listen", type=_listen, default=("127.0.0.1", 8787), metavar="HOST:PORT")
    parser.add_argument("--empty-output-rate", type=float, default=0.0, metavar="R")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--delta-count", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--no-auth", action="store_true", help="accept requests without credentials")
    parser.add_argument("--no-record", action="store_true", help="do not keep requests (long benchmarks)")
    parser.add_argument("--upstream-id", default="sim")
    parser.add_argument(
        "--event-loop", choices=loops.EVENT_LOOPS, default="auto", help="auto = uvloop when installed (as the gateway)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not 0.0 <= args.empty_output_rate <= 1.0:
        print("--empty-output-rate must be between 0 and 1", file=sys.stderr)
        return 2
    config = SimulatorConfig(
        empty_output_rate=args.empty_output_rate,
        seed=args.seed,
        delta_count=max(1, args.delta_count),
        latency_seconds=args.latency,
        require_auth=not args.no_auth,
        record_requests=not args.no_record,
        upstream_id=args.upstream_id,
    )
    host, port = args.listen
    print(f"simulator listening on http://{host}:{port} (codex quirks under any path containing /codex)", flush=True)
    factory = loops.loop_factory(args.event_loop)
    loop = factory() if factory is not None else None
    with contextlib.suppress(KeyboardInterrupt):
        web.run_app(create_simulator_app(config), host=host, port=port, print=None, access_log=None, loop=loop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
