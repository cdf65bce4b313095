"""Profile the heaviest figures with pyinstrument and print their hot spots.

    uv run python benchmarks/profiling.py check   # the 1M-row check against 1M users
    uv run python benchmarks/profiling.py apply   # applying 100k new users, with invitations
    uv run python benchmarks/profiling.py update  # applying 100k updates, 10% of them changes
    uv run python benchmarks/profiling.py undo    # undoing the batch of 100k new users
    uv run python benchmarks/profiling.py apply --time   # the seconds alone, no profiler

``apply``, ``update`` and ``undo`` run the batch in this process: the lifecycle's start and finish
around the chunk by chunk code (``apply_chunk``) the worker's chunk jobs run, without RQ.
Each prints the share of the time spent in each function itself ("self") and in it and what
it calls ("total"), and writes pyinstrument's whole call tree to benchmarks/.cache/profile-NAME.txt.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from pyinstrument import Profiler

from benchmarks import data
from benchmarks.applying import stored_batch
from benchmarks.checking import check_upload
from benchmarks.figures import FULL
from userbatch.batches import lifecycle
from userbatch.batches.apply import apply_chunk, pending_chunks
from userbatch.batches.history import get_batch
from userbatch.batches.undo import store_undo
from userbatch.settings import Settings


def profile_check() -> Callable[[], Any]:
    settings = data.reading(str(data.seeded_sqlite(FULL.users)))
    place = data.installation(settings)
    file = data.cached_file(data.FileMix(FULL.big_rows, FULL.users)).read_bytes()
    return lambda: check_upload(settings, place, file)


def profile_apply(mix: data.FileMix, *, invite: bool) -> Callable[[], Any]:
    settings = data.sqlite_copy(FULL.users, Path(tempfile.mkdtemp(prefix="userbatch-profile-")))
    batch_id, _ = stored_batch(settings, data.cached_file(mix).read_bytes(), invite=invite)
    return lambda: _run_here(settings, batch_id)


def profile_undo(mix: data.FileMix) -> Callable[[], Any]:
    """Applies ``mix`` first (not profiled); profiles the undo, from storing it to its end."""
    settings = data.sqlite_copy(FULL.users, Path(tempfile.mkdtemp(prefix="userbatch-profile-")))
    batch_id, _ = stored_batch(settings, data.cached_file(mix).read_bytes(), invite=True)
    _run_here(settings, batch_id)
    place = data.installation(settings)

    def undo() -> None:
        batch = get_batch(place.engine, batch_id)
        _run_here(settings, store_undo(place.engine, place.admin, batch))

    return undo


def _run_here(settings: Settings, batch_id: str) -> None:
    """What the batch's jobs do, in this process."""
    engine = data.installation(settings).engine
    lifecycle.hand_over(engine, batch_id, "profiling")
    lifecycle.start(engine, batch_id)
    for numbers in pending_chunks(engine, batch_id):
        apply_chunk(engine, settings, batch_id, numbers)
    lifecycle.finish(engine, batch_id)


def hot_spots(root: Any, *, top: int) -> str:
    """The functions with the largest self and total time, in percent of the whole."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()

    def walk(frame: Any, above: frozenset[str]) -> None:
        if frame.is_synthetic:  # "[self]": already in its parent's total_self_time
            return
        name = f"{frame.function}  {frame.file_path_short}:{frame.line_no}"
        own[name] += frame.total_self_time
        if name not in above:  # a recursive call is counted once
            total[name] += frame.time
        for child in frame.children:
            walk(child, above | {name})

    walk(root, frozenset())
    whole = root.time
    lines = [f"{whole:.2f} s profiled", "self (where the time goes):"]
    lines += [f"  {seconds / whole:6.1%}  {name}" for name, seconds in own.most_common(top)]
    lines.append("total (with what it calls), functions of userbatch:")
    ours = [(name, s) for name, s in total.most_common() if "userbatch/" in name]
    lines += [f"  {seconds / whole:6.1%}  {name}" for name, seconds in ours[:top]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("figure", choices=["check", "apply", "update", "undo"])
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument(
        "--time", action="store_true", help="no profiler: print the seconds the action took"
    )
    args = parser.parse_args()
    # People no benchmark run registers.
    new_users = data.new_users_file(FULL.rows, FULL.users, new_base=data.NEW_USERS_BASE + 9_000_000)
    if args.figure == "check":
        action = profile_check()
    elif args.figure == "apply":
        action = profile_apply(new_users, invite=True)
    elif args.figure == "undo":
        action = profile_undo(new_users)
    else:
        action = profile_apply(data.updates_file(FULL.rows, FULL.users, offset=0), invite=False)
    if args.time:
        started = time.perf_counter()
        action()
        print(f"{args.figure}: {time.perf_counter() - started:.2f} s")
        return
    profiler = Profiler(interval=0.005)
    profiler.start()
    action()
    profiler.stop()
    tree = profiler.output_text(unicode=True, color=False)
    (data.CACHE / f"profile-{args.figure}.txt").write_text(tree)
    root = profiler.last_session.root_frame() if profiler.last_session else None
    print(hot_spots(root, top=args.top))


if __name__ == "__main__":
    main()
