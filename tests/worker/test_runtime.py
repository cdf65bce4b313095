"""The zero-set-up runtime and the worker, with real processes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from rq.job import JobStatus

from tests.helpers import child_pids, free_port, serve_until_healthy, settings_env, wait_until
from userbatch.db import head_revision, open_database
from userbatch.settings import Settings
from userbatch.worker.connection import QUEUE_NAME, get_queue
from userbatch.worker.runtime import Runtime, pid_alive


def _gone(pids: dict[str, int]) -> bool:
    return not any(pid_alive(pid) for pid in pids.values())


def _finished(job_status: Callable[[], JobStatus | None]) -> bool:
    return job_status() in (JobStatus.FINISHED, JobStatus.FAILED)


@pytest.fixture
def embedded(make_settings: Callable[..., Settings]) -> Settings:
    """The zero-set-up default: no REDIS_URL, a data folder of the test's own."""
    settings = make_settings(redis_url=None)
    open_database(settings)
    return settings


def test_starts_redis_and_a_worker_and_stops_them(embedded: Settings) -> None:
    runtime = Runtime(embedded)
    runtime.start()
    pids = runtime.pids()
    try:
        assert set(pids) == {"redis", "worker"}
        assert all(pid_alive(pid) for pid in pids.values())
        assert Redis(unix_socket_path=str(embedded.redis_socket)).ping()
        state = json.loads((embedded.data_dir / "runtime.json").read_text())
        assert state == {"owner": os.getpid(), **pids}
    finally:
        runtime.stop()
    assert _gone(pids)
    assert not (embedded.data_dir / "runtime.json").exists()


def test_a_job_makes_the_round_trip_through_the_worker_process(embedded: Settings) -> None:
    with Runtime(embedded) as runtime:
        job = get_queue(embedded).enqueue("userbatch.worker.jobs.worker_report")
        wait_until(lambda: _finished(job.get_status), timeout=30, what="the job")
        status, report = job.get_status(), job.return_value()
        worker_pid = runtime.pids()["worker"]
    assert status == JobStatus.FINISHED
    assert report["database_revision"] == head_revision()
    # The worker runs each job in a work horse it forks: neither this process nor the worker.
    assert report["pid"] not in (os.getpid(), worker_pid)


@pytest.mark.slow
def test_what_stops_is_started_again(embedded: Settings) -> None:
    with Runtime(embedded) as runtime:
        assert runtime.keep_alive() == []
        old = runtime.pids()
        os.kill(old["redis"], signal.SIGKILL)
        os.killpg(old["worker"], signal.SIGKILL)
        # Until both have ended as the runtime sees its children end (a killed process with
        # threads may look dead in /proc a moment before its parent can reap it).
        processes = [runtime.redis_process, runtime.worker_process]
        wait_until(lambda: all(p is not None and p.poll() is not None for p in processes),
                   timeout=30, what="both to die")  # fmt: skip
        assert sorted(runtime.keep_alive()) == ["redis", "worker"]
        new = runtime.pids()
        assert all(new[role] != old[role] and pid_alive(new[role]) for role in old)
        assert (
            json.loads((embedded.data_dir / "runtime.json").read_text())["worker"] == new["worker"]
        )
        job = get_queue(embedded).enqueue("userbatch.worker.jobs.worker_report")
        wait_until(lambda: _finished(job.get_status), timeout=30, what="the job")
        assert job.return_value()["database_revision"] == head_revision()


def test_a_second_start_joins_the_running_runtime(embedded: Settings) -> None:
    with Runtime(embedded) as first:
        second = Runtime(embedded)
        second.start()
        assert second.pids() == {}
        second.stop()
        assert all(pid_alive(pid) for pid in first.pids().values())
        assert Redis(unix_socket_path=str(embedded.redis_socket)).ping()


def _in_append_only_file(settings: Settings, text: str) -> bool:
    """Whether the embedded server's append-only file has ``text`` (it writes it within a
    second of each change)."""
    files = (settings.data_dir / "redis").rglob("*.aof")
    return any(text.encode() in path.read_bytes() for path in files)


def test_jobs_survive_a_restart_of_the_embedded_server(embedded: Settings) -> None:
    with Runtime(embedded, worker=False):
        job = get_queue(embedded).enqueue("userbatch.worker.jobs.worker_report")
        wait_until(
            lambda: _in_append_only_file(embedded, job.id), timeout=30,
            what="the job in the append-only file",
        )  # fmt: skip
    with Runtime(embedded, worker=False):
        assert (
            job.id
            in Queue(QUEUE_NAME, connection=Redis.from_url(embedded.effective_redis_url)).job_ids
        )


def test_with_redis_url_set_nothing_is_started(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    with Runtime(settings) as runtime:
        assert runtime.pids() == {}


def test_the_worker_command_runs_jobs_on_each_backend(
    settings: Settings, clean_redis: Redis
) -> None:
    open_database(settings)
    job = Queue(QUEUE_NAME, connection=clean_redis).enqueue("userbatch.worker.jobs.worker_report")
    subprocess.run(
        [sys.executable, "-m", "userbatch", "worker", "--burst"],
        env=settings_env(settings), check=True, timeout=120, capture_output=True,
    )  # fmt: skip
    assert job.get_status(refresh=True) == JobStatus.FINISHED
    assert job.return_value()["database_revision"] == head_revision()


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_serve_leaves_nothing_running_after_it_stops(embedded: Settings, stop: int) -> None:
    serve, pids = serve_until_healthy(embedded)
    serve.send_signal(stop)
    assert serve.wait(timeout=60) == 0
    wait_until(lambda: _gone(pids), timeout=10, what="every child to end")


@pytest.mark.slow
def test_ctrl_c_again_while_serve_stops_changes_nothing(embedded: Settings) -> None:
    # A terminal's Ctrl-C reaches serve twice under `uv run` (uv passes it on), and a person
    # may press it again: the stop goes on to its end, quietly.
    serve, pids = serve_until_healthy(embedded)
    signals = 0
    while serve.poll() is None:
        serve.send_signal(signal.SIGINT)
        signals += 1
        with contextlib.suppress(subprocess.TimeoutExpired):
            serve.wait(timeout=0.1)  # the rhythm of the presses, not a wait for anything
    assert serve.returncode == 0
    assert signals > 1
    assert "Traceback" not in (embedded.data_dir / "serve.log").read_text()
    wait_until(lambda: _gone(pids), timeout=10, what="every child to end")


def _environment(pid: int) -> dict[str, str]:
    pairs = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(pair.decode().partition("=")[::2] for pair in pairs if pair)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_invitation_links_point_at_the_port_served(embedded: Settings) -> None:
    port = free_port()
    serve, pids = serve_until_healthy(embedded, port, unset=("USERBATCH_BASE_URL",))
    try:
        for role in ("app", "worker"):  # the worker writes invitations, the app fresh links
            assert _environment(pids[role])["USERBATCH_BASE_URL"] == f"http://localhost:{port}"
    finally:
        serve.terminate()
        serve.wait(timeout=60)
    # A base URL that is set is kept.
    serve, pids = serve_until_healthy(embedded.model_copy(update={"base_url": "https://u.example"}))
    try:
        assert _environment(pids["worker"])["USERBATCH_BASE_URL"] == "https://u.example"
    finally:
        serve.terminate()
        serve.wait(timeout=60)


@pytest.mark.slow
def test_children_die_with_a_killed_serve(embedded: Settings) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("children follow a killed parent only on Linux (PR_SET_PDEATHSIG)")
    serve, pids = serve_until_healthy(embedded)
    serve.kill()
    serve.wait(timeout=10)
    wait_until(lambda: _gone(pids), timeout=30, what="the orphans to end")


def test_a_start_after_a_crash_replaces_the_leftover_server(
    embedded: Settings, tmp_path: Path
) -> None:
    # A server whose owner is gone: started by a process that exits without stopping it.
    leftover = Runtime(embedded, worker=False)
    leftover.start()
    leftover._write_state()
    state = json.loads((embedded.data_dir / "runtime.json").read_text())
    state["owner"] = 2**22 + 1  # no such process
    (embedded.data_dir / "runtime.json").write_text(json.dumps(state))
    old_pid = leftover.pids()["redis"]
    fresh = Runtime(embedded, worker=False)
    try:
        fresh.start()
        assert fresh.pids()["redis"] != old_pid
        old = leftover.redis_process
        assert old is not None
        wait_until(lambda: old.poll() is not None, timeout=10, what="the leftover to shut down")
    finally:
        fresh.stop()
        leftover.stop()


def test_a_killed_worker_leaves_no_scheduler_behind(settings: Settings) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("children follow a killed parent only on Linux (PR_SET_PDEATHSIG)")
    open_database(settings)
    worker = subprocess.Popen(
        [sys.executable, "-m", "userbatch", "worker"], env=settings_env(settings),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip

    try:
        wait_until(lambda: bool(child_pids(worker.pid)), timeout=60, what="the scheduler process")
        scheduler = child_pids(worker.pid)
    finally:
        worker.kill()
        worker.wait(timeout=10)
    wait_until(
        lambda: not any(pid_alive(pid) for pid in scheduler),
        timeout=20,
        what="the scheduler to end",
    )
