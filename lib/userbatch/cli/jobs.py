"""``userbatch jobs list|show|retry|cancel``: the Background processing page's actions."""

from __future__ import annotations

import argparse
import json

from userbatch.batches.history import batch_for, get_batch, job_document, list_batches
from userbatch.cli.common import (
    AddCommand,
    ended_well,
    open_installation,
    print_job,
    wait_for_batch,
)
from userbatch.directory.auth import acting_operator
from userbatch.errors import EXIT_OK, EXIT_REFUSED
from userbatch.worker.maintenance import sync_batch_states
from userbatch.worker.runtime import Runtime
from userbatch.worker.submit import cancel_batch, retry_batch


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
