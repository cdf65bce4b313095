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

from userbatch.db import open_database
from userbatch.models import Batch, BatchState
from userbatch.settings import Settings, get_settings

Handler = Callable[[argparse.Namespace], int]
AddCommand = Callable[..., argparse.ArgumentParser]


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


def wait_for_batch(engine: Engine, batch_id: str, *, quiet: bool) -> Batch:
    # Imported here: the history's pandas would slow every command's start, serve's too.
    from userbatch.batches.history import get_batch

    last = -1
    while True:
        batch = get_batch(engine, batch_id)
        if batch.done != last and not quiet:
            print(f"  {batch.done}/{batch.total} rows", file=sys.stderr)
            last = batch.done
        if BatchState(batch.state).is_final:
            return batch
        time.sleep(0.5)


def print_job(document: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(document))
        return
    progress, counts = document["progress"], document["counts"]
    print(f"{document['id']}: {document['state']}, {progress['done']}/{progress['total']} rows")
    print(", ".join(f"{name} {value}" for name, value in counts.items()))
