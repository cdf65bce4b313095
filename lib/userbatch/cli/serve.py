"""``userbatch serve``, ``worker`` and ``setup``: running an installation.

``serve`` supervises the app, and (without REDIS_URL) the embedded Redis server and a worker,
starting again whichever stops.
"""

from __future__ import annotations

import argparse
import getpass
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from userbatch.cli.common import AddCommand, open_installation
from userbatch.directory import auth
from userbatch.errors import EXIT_OK, ConfigError
from userbatch.i18n import N_, Text, _
from userbatch.settings import Settings, get_settings
from userbatch.worker.runtime import Runtime, spawn, stop_process

# server.py (Streamlit's ASGI app around the screens of app.py, with the sign-in cookie's
# route) sits at the top of the checkout, beside lib/ (the package is installed editable).
SERVER_FILE = Path(__file__).resolve().parents[3] / "server.py"
# How often ``serve`` looks whether the embedded Redis server and the worker still run.
KEEP_ALIVE_SECONDS = 1
# What ``Runtime.keep_alive`` may start again, as a person reads it.
ROLES = {"redis": N_("embedded Redis server"), "worker": N_("worker")}


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def cmd_setup(args: argparse.Namespace) -> int:
    settings, engine = open_installation()
    password = os.environ.get("USERBATCH_ADMIN_PASSWORD") or (
        getpass.getpass(_("Password for the first admin: "))
        if sys.stdin.isatty()
        else sys.stdin.readline().rstrip("\n")
    )
    auth.initialize(
        engine, organisation=args.organisation, login=args.admin, password=password,
        min_password_length=settings.password_min_length,
    )  # fmt: skip
    print(_("Organisation '{organisation}' set up; admin '{admin}' created.",
            organisation=args.organisation, admin=args.admin))  # fmt: skip
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the app, with the embedded Redis server and a worker when REDIS_URL is unset."""
    if not SERVER_FILE.exists():
        raise ConfigError(
            Text("cannot find the app at {path}; run from a userbatch checkout", path=SERVER_FILE)
        )
    settings = _served(open_installation()[0], args.address, args.port)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    runtime = Runtime(settings)
    runtime.start(wait_for_worker=False)  # the worker and the app start side by side
    try:
        command = [
            sys.executable, "-m", "streamlit", "run", str(SERVER_FILE),
            "--server.port", str(args.port), "--server.address", args.address,
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
        ]  # fmt: skip
        app = spawn(command, settings=settings, cwd=SERVER_FILE.parent)
        runtime.record("app", app.pid)
        try:
            runtime.worker_ready(timeout=60)  # it imports beside the app
            address = f"http://{args.address}:{args.port}"
            print(_("userbatch: serving on {address} (Ctrl-C stops it)", address=address))
            while app.poll() is None:
                for role in runtime.keep_alive():
                    print(_("userbatch: the {role} had stopped and was started again",
                            role=_(ROLES.get(role, role))))  # fmt: skip
                time.sleep(KEEP_ALIVE_SECONDS)
            return app.returncode
        except KeyboardInterrupt:
            return EXIT_OK
        finally:
            # Stopping: a further Ctrl-C must not cut it short (under `uv run`, the terminal's
            # reaches this process twice: directly, and passed on by uv).
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            stop_process(app, timeout=15)
    finally:
        runtime.stop()


def _served(settings: Settings, address: str, port: int) -> Settings:
    """The settings of the app and worker ``serve`` starts: unless USERBATCH_BASE_URL says
    otherwise, the links in invitations point at the port served, so that they work."""
    if "base_url" in settings.model_fields_set:
        return settings
    everywhere = address in ("0.0.0.0", "::", "")
    host = "localhost" if everywhere or address == "127.0.0.1" else address
    base_url = f"http://{host}:{port}"
    if everywhere:
        print(_(
            "userbatch: invitation links start with {address}; set USERBATCH_BASE_URL to the "
            "address users reach the app at", address=base_url,
        ))  # fmt: skip
    return settings.model_copy(update={"base_url": base_url})


def cmd_worker(args: argparse.Namespace) -> int:
    """Run an RQ worker with the scheduler."""
    # Imported here: what the jobs need (pandas, the check) is no part of ``serve``'s start.
    from userbatch.worker.maintenance import run_worker

    run_worker(get_settings(), burst=args.burst)
    return EXIT_OK


def add_commands(command: AddCommand) -> None:
    """``serve``, ``worker`` and ``setup``, on the parser ``command`` adds to."""
    serve = command("serve", cmd_serve, _("serve the app (and what it needs) on localhost"))
    serve.add_argument("--port", type=int, default=8501, help=_("HTTP port (default 8501)"))
    serve.add_argument("--address", default="localhost", help=_("address to listen on"))

    worker = command("worker", cmd_worker, _("run an RQ worker with the scheduler"))
    worker.add_argument("--burst", action="store_true", help=_("stop when the queue is empty"))

    setup = command(
        "setup", cmd_setup, _("first-run set-up: name the organisation, create the admin")
    )
    setup.add_argument(
        "--organisation", required=True, help=_("the organisation's name (the root group)")
    )
    setup.add_argument("--admin", required=True, help=_("login of the first admin (password: "
                       "USERBATCH_ADMIN_PASSWORD, or asked)"))  # fmt: skip
