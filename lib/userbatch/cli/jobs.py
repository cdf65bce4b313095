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
    listed,
    open_installation,
    print_job,
    state_label,
    wait_for_batch,
)
from userbatch.directory.auth import acting_operator
from userbatch.errors import EXIT_OK, EXIT_REFUSED, Conflict
from userbatch.i18n import N_, _
from userbatch.worker.maintenance import sync_batch_states
from userbatch.worker.runtime import Runtime
from userbatch.worker.submit import cancel_batch, retry_batch, undo_batch

# What an undo does with a row, as printed (the action itself is a value: ``--json``).
ACTION_LABELS = {
    "delete": N_("delete"), "suspend": N_("suspend"), "restore": N_("restore"),
    "keep": N_("keep"),
}  # fmt: skip
ACTION_COUNTS = {
    "delete": N_("{count} delete"), "suspend": N_("{count} suspend"),
    "restore": N_("{count} restore"), "keep": N_("{count} keep"),
}  # fmt: skip


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
    print(_(
        "Undo of {name}: {counts}; {invitations} invitation(s) not sent yet would be canceled.",
        name=document["file_name"],
        counts=listed([_(ACTION_COUNTS[action], count=counts[action]) for action in ACTIONS]),
        invitations=counts["invitations_canceled"],
    ))  # fmt: skip
    for row in document["rows"]:
        kept = [field for field in row.get("fields", []) if field["undo"] == "keep"]
        if kept or row["action"] == "suspend":
            action = row["action"]
            print("  " + _("row {row} {key}: {action}. {message}", row=row["row"],
                           key=row["key"], action=_(ACTION_LABELS.get(action, action)),
                           message=row["message"]))  # fmt: skip
        for field in kept:
            print("    " + _("{field}: before {before}, the batch's {batch}, now {now}",
                             field=field["field"], before=repr(field["before"]),
                             batch=repr(field["batch"]), now=repr(field["now"])))  # fmt: skip


def cmd_jobs_list(args: argparse.Namespace) -> int:
    engine = open_installation()[1]
    operator = acting_operator(engine, args.as_login)
    documents = [
        job_document(engine, batch.id) for batch in list_batches(engine, operator, limit=None)
    ]
    if args.json:
        print(json.dumps(documents))
    else:
        for document in documents:
            progress, state = document["progress"], state_label(document["state"])
            print(f"{document['id']}  {state:<9} {progress['done']}/{progress['total']}")
    return EXIT_OK


def add_commands(command: AddCommand) -> None:
    """``jobs`` and its subcommands, on the parser ``command`` adds to."""
    jobs_parser = command("jobs", None, _("background jobs (batches)"))
    job_commands = jobs_parser.add_subparsers(dest="jobs_command", required=True)
    listing = command("list", cmd_jobs_list, _("every batch, newest first"), job_commands)
    listing.add_argument("--json", action="store_true", help=_("print one JSON document"))
    for name, handler, help in (
        ("show", cmd_jobs_show, _("one batch's job document")),
        ("retry", cmd_jobs_retry, _("run a failed batch again; it continues where it stopped")),
        ("cancel", cmd_jobs_cancel, _("cancel a batch that waits in the queue")),
    ):
        sub = command(name, handler, help, job_commands)
        sub.add_argument("id", help=_("the batch's id"))
        sub.add_argument("--json", action="store_true", help=_("print one JSON document"))
        if name == "retry":
            sub.add_argument("--wait", action="store_true", help=_("wait until the job ends"))
    undo = command(
        "undo", cmd_jobs_undo, _("undo an ended batch: delete its new users, restore what it "
                                 "changed (values changed since are kept)"), job_commands,
    )  # fmt: skip
    undo.add_argument("id", help=_("the batch's id"))
    undo.add_argument("--json", action="store_true", help=_("print one JSON document"))
    undo.add_argument(
        "--dry-run", action="store_true", help=_("print what the undo would do; change nothing")
    )
    undo.add_argument("--wait", action="store_true", help=_("wait until the undo ends"))
