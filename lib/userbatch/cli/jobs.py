"""``userbatch jobs list|show|retry|cancel|undo``: the Background processing page's actions."""

from __future__ import annotations

import argparse
import json
from typing import Any

from userbatch.batches.history import batch_for, get_batch, job_document, list_batches
from userbatch.batches.undo import why_not_undoable
from userbatch.batches.undo_plan import ACTIONS
from userbatch.batches.undo_preview import preview
from userbatch.cli.common import (
    AddCommand,
    ended_well,
    open_installation,
    print_job,
    wait_for_batch,
)
from userbatch.directory.auth import acting_operator
from userbatch.errors import EXIT_OK, EXIT_REFUSED, Conflict
from userbatch.worker.maintenance import sync_batch_states
from userbatch.worker.runtime import Runtime
from userbatch.worker.submit import cancel_batch, retry_batch, undo_batch


def cmd_jobs_show(args: argparse.Namespace) -> int:
    settings, engine = open_installation()
    batch_for(engine, acting_operator(engine, args.as_login), args.id)
    with Runtime(settings, worker=False):
        sync_batch_states(engine, settings)
    print_job(job_document(engine, args.id), as_json=args.json)
    return EXIT_OK


def cmd_jobs_retry(args: argparse.Namespace) -> int:
    settings, engine = open_installation()
    with Runtime(settings, worker=args.wait):
        retry_batch(engine, settings, acting_operator(engine, args.as_login), args.id)
        batch = (
            wait_for_batch(engine, args.id, quiet=args.json)
            if args.wait
            else get_batch(engine, args.id)
        )
    print_job(job_document(engine, args.id), as_json=args.json)
    return EXIT_REFUSED if args.wait and not ended_well(batch) else EXIT_OK


def cmd_jobs_cancel(args: argparse.Namespace) -> int:
    settings, engine = open_installation()
    with Runtime(settings, worker=False):
        cancel_batch(engine, settings, acting_operator(engine, args.as_login), args.id)
    print_job(job_document(engine, args.id), as_json=args.json)
    return EXIT_OK


def cmd_jobs_undo(args: argparse.Namespace) -> int:
    settings, engine = open_installation()
    operator = acting_operator(engine, args.as_login)
    batch = batch_for(engine, operator, args.id)
    if args.dry_run:
        reason = why_not_undoable(engine, batch)
        if reason:
            raise Conflict(reason)
        _print_preview(preview(engine, batch), as_json=args.json)
        return EXIT_OK
    with Runtime(settings, worker=args.wait):
        undo_id = undo_batch(engine, settings, operator, args.id)
        undo = wait_for_batch(engine, undo_id, quiet=args.json) if args.wait else None
    print_job(job_document(engine, undo_id), as_json=args.json)
    return EXIT_REFUSED if undo is not None and not ended_well(undo) else EXIT_OK


def _print_preview(document: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(document))
        return
    counts = document["counts"]
    print(
        f"Undo of {document['file_name']}: "
        + ", ".join(f"{counts[action]} {action}" for action in ACTIONS)
        + f"; {counts['invitations_canceled']} invitation(s) not sent yet would be canceled."
    )
    for row in document["rows"]:
        kept = [field for field in row.get("fields", []) if field["undo"] == "keep"]
        if kept or row["action"] == "suspend":
            print(f"  row {row['row']} {row['key']}: {row['action']}. {row['message']}")
        for field in kept:
            print(
                f"    {field['field']}: before {field['before']!r}, the batch's "
                f"{field['batch']!r}, now {field['now']!r}"
            )


def cmd_jobs_list(args: argparse.Namespace) -> int:
    _, engine = open_installation()
    operator = acting_operator(engine, args.as_login)
    documents = [
        job_document(engine, batch.id) for batch in list_batches(engine, operator, limit=None)
    ]
    if args.json:
        print(json.dumps(documents))
    else:
        for document in documents:
            progress = document["progress"]
            print(
                f"{document['id']}  {document['state']:<9} {progress['done']}/{progress['total']}"
            )
    return EXIT_OK


def add_commands(command: AddCommand) -> None:
    """``jobs`` and its subcommands, on the parser ``command`` adds to."""
    jobs_parser = command("jobs", None, "background jobs (batches)")
    job_commands = jobs_parser.add_subparsers(dest="jobs_command", required=True)
    listing = command("list", cmd_jobs_list, "every batch, newest first", job_commands)
    listing.add_argument("--json", action="store_true")
    for name, handler, help in (
        ("show", cmd_jobs_show, "one batch's job document"),
        ("retry", cmd_jobs_retry, "run a failed batch again; it continues where it stopped"),
        ("cancel", cmd_jobs_cancel, "cancel a batch that waits in the queue"),
    ):
        sub = command(name, handler, help, job_commands)
        sub.add_argument("id")
        sub.add_argument("--json", action="store_true")
        if name == "retry":
            sub.add_argument("--wait", action="store_true", help="wait until the job ends")
    undo = command(
        "undo", cmd_jobs_undo, "undo an ended batch: delete its new users, restore what it "
        "changed (values changed since are kept)", job_commands,
    )  # fmt: skip
    undo.add_argument("id")
    undo.add_argument("--json", action="store_true")
    undo.add_argument(
        "--dry-run", action="store_true", help="print what the undo would do; change nothing"
    )
    undo.add_argument("--wait", action="store_true", help="wait until the undo ends")
