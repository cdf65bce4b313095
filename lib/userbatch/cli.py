"""The ``userbatch`` command: a thin client of the same domain functions the app uses.

Exit codes: 0 success; 1 the file has errors; 2 bad usage or configuration.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType

from userbatch.db import open_database
from userbatch.errors import UserbatchError
from userbatch.jobs import run_worker
from userbatch.runtime import Runtime, spawn, stop_process
from userbatch.settings import get_settings

EXIT_OK, EXIT_FILE_ERRORS, EXIT_USAGE = 0, 1, 2
# app.py sits at the top of the checkout, beside lib/ (the package is installed editable).
APP_FILE = Path(__file__).resolve().parents[2] / "app.py"


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the app, with the embedded Redis server and a worker when REDIS_URL is unset."""
    if not APP_FILE.exists():
        raise UserbatchError(f"cannot find the app at {APP_FILE}; run from a userbatch checkout")
    settings = get_settings()
    open_database(settings)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    with Runtime(settings) as runtime:
        command = [
            sys.executable, "-m", "streamlit", "run", str(APP_FILE),
            "--server.port", str(args.port), "--server.address", args.address,
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
        ]  # fmt: skip
        app = spawn(command, settings=settings, cwd=APP_FILE.parent)
        runtime.record("app", app.pid)
        print(f"userbatch: serving on http://{args.address}:{args.port} (Ctrl-C stops it)")
        try:
            return app.wait()
        except KeyboardInterrupt:
            return 0
        finally:
            stop_process(app, timeout=15)


def cmd_worker(args: argparse.Namespace) -> int:
    """Run an RQ worker with the scheduler."""
    run_worker(get_settings(), burst=args.burst)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="userbatch", description="Register and update user accounts in bulk from CSV files."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve the app (and what it needs) on localhost")
    serve.add_argument("--port", type=int, default=8501, help="HTTP port (default 8501)")
    serve.add_argument("--address", default="localhost", help="address to listen on")
    serve.set_defaults(handler=cmd_serve)

    worker = commands.add_parser("worker", help="run an RQ worker with the scheduler")
    worker.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    worker.set_defaults(handler=cmd_worker)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except UserbatchError as exc:
        print(f"userbatch: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return code
