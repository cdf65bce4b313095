"""What the commands share: the installation they open, their output, waiting for a batch."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from userbatch.batches.history import state_name
from userbatch.db import open_database
from userbatch.i18n import JAPANESE, N_, _, language
from userbatch.models import Batch, BatchState
from userbatch.settings import Settings, get_settings

Handler = Callable[[argparse.Namespace], int]
AddCommand = Callable[..., argparse.ArgumentParser]

# A job's count of each outcome, as printed.
COUNT_LABELS = {
    "created": N_("created {count}"), "updated": N_("updated {count}"),
    "unchanged": N_("unchanged {count}"), "failed": N_("failed {count}"),
    "deleted": N_("deleted {count}"),
}  # fmt: skip


def open_installation() -> tuple[Settings, Engine]:
    """The settings from the environment and the database they name, migrated."""
    settings = get_settings()
    return settings, open_database(settings)


def ended_well(batch: Batch) -> bool:
    """A batch that finished with no failed row."""
    return batch.state == BatchState.FINISHED and not batch.failed


def write_output(data: bytes, output: str | None) -> None:
    """Write ``data`` to the file ``output``, or to standard output."""
    if output:
        Path(output).write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


def state_label(state: str) -> str:
    """The state of a batch as a person reads it (the state itself is a value: ``--json``)."""
    return str(state_name(state))


def listed(items: list[str]) -> str:
    """``items`` one after another, as the language separates them in a line."""
    return ("、" if language() == JAPANESE else ", ").join(items)


def wait_for_batch(engine: Engine, batch_id: str, *, quiet: bool) -> Batch:
    # Imported here: the history's pandas would slow every command's start, serve's too.
    from userbatch.batches.history import get_batch

    last = -1
    while True:
        batch = get_batch(engine, batch_id)
        if batch.done != last and not quiet:
            print("  " + _("{done}/{total} rows", done=batch.done, total=batch.total),
                  file=sys.stderr)  # fmt: skip
            last = batch.done
        if BatchState(batch.state).is_final:
            return batch
        time.sleep(0.5)


def print_job(document: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(document))
        return
    progress, counts = document["progress"], document["counts"]
    print(_("{id}: {state}, {done}/{total} rows", id=document["id"],
            state=state_label(document["state"]), done=progress["done"],
            total=progress["total"]))  # fmt: skip
    print(listed([
        _(COUNT_LABELS[name], count=value) if name in COUNT_LABELS else f"{name} {value}"
        for name, value in counts.items()
    ]))  # fmt: skip
