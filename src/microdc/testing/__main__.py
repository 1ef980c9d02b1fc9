"""``python -m microdc.testing``: run the fake MicroDC until SIGINT or SIGTERM.

Prints the base URL on one line once it listens, e.g. ``http://127.0.0.1:8000``.
"""

from __future__ import annotations

import sys
import signal
import asyncio
import argparse
import contextlib
from typing import List, Optional

from . import FakeMicroDC


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m microdc.testing", description="Run a fake MicroDC server.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on; 0 picks a free one (default 8000)")
    parser.add_argument("--api-key", default="test", help="the API key clients must send (default 'test')")
    parser.add_argument("--job-duration", type=float, default=1.0, help="seconds each job takes (default 1)")
    parser.add_argument("--seed", type=int, default=None, help="seed for ids and faults")
    return parser


async def _run(args: argparse.Namespace) -> None:
    fake = FakeMicroDC(api_key=args.api_key, job_duration=args.job_duration, seed=args.seed)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C raises KeyboardInterrupt instead
            loop.add_signal_handler(signum, stop.set)
    async with fake.serve(host=args.host, port=args.port) as base_url:
        print(base_url, flush=True)
        await stop.wait()


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
