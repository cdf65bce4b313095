"""The ``userbatch`` command: a thin client of the same domain functions the app uses.

Exit codes: 0 success; 1 the file has errors (or rows failed when applied); 2 bad usage or
configuration.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from sqlalchemy import Engine, select

from userbatch.admin.users import export_users
from userbatch.batches.history import batch_for, get_batch, job_document
from userbatch.batches.store import Invitation, store_batch
from userbatch.check.checker import CheckResult, check_file
from userbatch.db import open_database, session
from userbatch.directory import auth, groups
from userbatch.directory.fields import load_columns
from userbatch.errors import CsvFileError, UserbatchError
from userbatch.files.decode import DELIMITERS, ENCODINGS
from userbatch.files.download import write_table
from userbatch.mail.templates import default_template
from userbatch.models import Batch, EmailTemplate, Operator
from userbatch.settings import Settings, get_settings
from userbatch.worker.maintenance import run_worker, sync_batch_states
from userbatch.worker.runtime import Runtime, spawn, stop_process
from userbatch.worker.submit import cancel_batch, enqueue_batch, retry_batch

EXIT_OK, EXIT_FILE_ERRORS, EXIT_USAGE = 0, 1, 2
# app.py sits at the top of the checkout, beside lib/ (the package is installed editable).
APP_FILE = Path(__file__).resolve().parents[3] / "app.py"
FINAL_STATES = ("finished", "failed", "canceled")
# How often ``serve`` looks whether the embedded Redis server and the worker still run.
KEEP_ALIVE_SECONDS = 1


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _open() -> tuple[Settings, Engine]:
    settings = get_settings()
    return settings, open_database(settings)


def _operator(engine: Engine, login: str | None) -> auth.OperatorInfo:
    """The operator the command acts as: ``--as LOGIN``, or the first admin."""
    if auth.needs_setup(engine):
        raise UserbatchError(
            "set-up is not done: open the app once, or run 'userbatch setup --organisation "
            "NAME --admin LOGIN'"
        )
    with session(engine) as db:
        query = select(Operator.id).where(Operator.disabled.is_(False))
        query = (
            query.where(Operator.login == login)
            if login
            else query.where(Operator.role == "admin").order_by(Operator.id)
        )
        operator_id = db.scalars(query).first()
    operator = auth.get_operator(engine, operator_id) if operator_id else None
    if operator is None:
        raise UserbatchError(f"there is no active operator '{login}'")
    return operator


def _write(data: bytes, output: str | None) -> None:
    if output:
        Path(output).write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


def cmd_setup(args: argparse.Namespace) -> int:
    settings, engine = _open()
    password = os.environ.get("USERBATCH_ADMIN_PASSWORD") or (
        getpass.getpass("Password for the first admin: ")
        if sys.stdin.isatty()
        else sys.stdin.readline().rstrip("\n")
    )
    auth.initialize(
        engine, organisation=args.organisation, login=args.admin, password=password,
        min_password_length=settings.password_min_length,
    )  # fmt: skip
    print(f"Organisation '{args.organisation}' set up; admin '{args.admin}' created.")
    return EXIT_OK


def cmd_template(args: argparse.Namespace) -> int:
    _, engine = _open()
    header = [column.label for column in load_columns(engine)]
    _write(write_table(header, [], encoding=args.encoding), args.output)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    _, engine = _open()
    operator = _operator(engine, args.as_login)
    group = groups.normalize_path(args.group) if args.group is not None else None
    data = export_users(
        engine, load_columns(engine), scope_path=operator.scope_path, group_path=group,
        encoding=args.encoding,
    )  # fmt: skip
    _write(data, args.output)
    return EXIT_OK


def _check(
    engine: Engine, settings: Settings, args: argparse.Namespace, operator: auth.OperatorInfo
) -> CheckResult:
    working = groups.find_group(engine, args.group or operator.scope_path)
    if not groups.in_scope(working.path, operator.scope_path):
        raise UserbatchError(f"the group '{working.path}' is outside your groups")
    path = Path(args.file)
    return check_file(
        engine, settings, path.read_bytes(), file_name=path.name, working_group=working,
        scope_path=operator.scope_path, encoding=args.encoding,
    )  # fmt: skip


def _file_error_document(name: str, error: CsvFileError) -> dict[str, Any]:
    return {
        "file": {"name": name, "encoding": None, "delimiter": None, "rows": 0},
        "file_errors": [{"code": code, "message": message} for code, message in error.problems],
        "notices": [],
        "counts": {"new": 0, "update": 0, "unchanged": 0, "error": 0},
        "rows": [],
    }


def _print_check(result: CheckResult) -> None:
    sheet = result.sheet
    how = ENCODINGS.get(sheet.encoding, sheet.encoding)
    if sheet.delimiter:
        how += f", {DELIMITERS[sheet.delimiter]}-separated"
    print(f"{sheet.file_name}: {sheet.rows} rows ({how})")
    for notice in sheet.notices:
        print(f"Notice: {notice}")
    counts = result.counts
    print(
        f"New {counts['new']} · Update {counts['update']} · Unchanged {counts['unchanged']} · "
        f"Error {counts['error']}"
    )
    for row in result.ordered():
        for issue in row.issues:
            where = f", {issue.column}" if issue.column else ""
            level = " (warning)" if issue.level == "warning" else ""
            print(f"Row {row.row}{where}{level}: {issue.message}")
        for label, (old, new) in row.changes.items():
            print(f"Row {row.row} update, {label}: '{old}' → '{new}'")


def _checked(
    args: argparse.Namespace,
) -> tuple[Settings, Engine, auth.OperatorInfo, CheckResult | None, int]:
    settings, engine = _open()
    operator = _operator(engine, args.as_login)
    try:
        result = _check(engine, settings, args, operator)
    except CsvFileError as error:
        if args.json:
            print(json.dumps(_file_error_document(Path(args.file).name, error), ensure_ascii=False))
        else:
            for code, message in error.problems:
                print(f"{Path(args.file).name}: {message} [{code}]")
        return settings, engine, operator, None, EXIT_FILE_ERRORS
    return settings, engine, operator, result, EXIT_FILE_ERRORS if result.has_errors else EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    _, _, _, result, code = _checked(args)
    if result is not None:
        if args.json:
            print(json.dumps(result.to_document(), ensure_ascii=False))
        else:
            _print_check(result)
    return code


def _invitation(engine: Engine, args: argparse.Namespace) -> Invitation | None:
    if not args.invite:
        return None
    if args.template:
        with session(engine) as db:
            template = db.scalars(
                select(EmailTemplate).where(EmailTemplate.name == args.template)
            ).one_or_none()
        if template is None:
            raise UserbatchError(f"there is no e-mail template named '{args.template}'")
    else:
        template = default_template(engine)
    send_at = dt.datetime.now(dt.UTC)
    if args.send_at:
        try:
            send_at = dt.datetime.fromisoformat(args.send_at)
        except ValueError:
            raise UserbatchError(f"--send-at: '{args.send_at}' is no ISO 8601 time") from None
        if send_at.tzinfo is None:
            send_at = send_at.astimezone()  # this machine's time zone
    return Invitation(template.id, template.subject, template.body, send_at)


def _wait(engine: Engine, batch_id: str, *, quiet: bool) -> Batch:
    last = -1
    while True:
        batch = get_batch(engine, batch_id)
        if batch.done != last and not quiet:
            print(f"  {batch.done}/{batch.total} rows", file=sys.stderr)
            last = batch.done
        if batch.state in FINAL_STATES:
            return batch
        time.sleep(0.5)


def cmd_import(args: argparse.Namespace) -> int:
    settings, engine, operator, result, code = _checked(args)
    if result is None:
        return code
    if code != EXIT_OK:
        if args.json:
            print(json.dumps(result.to_document(), ensure_ascii=False))
        else:
            _print_check(result)
        return code
    invitation = _invitation(engine, args)
    working = groups.find_group(engine, args.group or operator.scope_path)
    batch_id = store_batch(
        engine, settings, result, operator=operator, working_group=working, invitation=invitation
    )
    with Runtime(settings, worker=args.wait):
        enqueue_batch(engine, settings, batch_id)
        batch = (
            _wait(engine, batch_id, quiet=args.json) if args.wait else get_batch(engine, batch_id)
        )
    document = result.to_document() | {"job": job_document(engine, batch_id)}
    if args.json:
        print(json.dumps(document, ensure_ascii=False))
    else:
        _print_check(result)
        job = document["job"]
        counts = job["counts"]
        print(
            f"Batch {batch_id}: {job['state']}; created {counts['created']}, updated "
            f"{counts['updated']}, unchanged {counts['unchanged']}, failed {counts['failed']}"
        )
    if args.wait and (batch.state != "finished" or batch.failed):
        return EXIT_FILE_ERRORS
    return EXIT_OK


def cmd_groups_add(args: argparse.Namespace) -> int:
    _, engine = _open()
    operator = _operator(engine, args.as_login)
    for path in args.paths:  # a script may run it again: a group already there is no error
        try:
            print(groups.add_group(engine, path, scope_path=operator.scope_path).path)
        except groups.GroupExists as exc:
            print(f"{exc.path} (exists already)")
    return EXIT_OK


def cmd_groups_list(args: argparse.Namespace) -> int:
    _, engine = _open()
    operator = _operator(engine, args.as_login)
    for group in groups.groups_in_scope(engine, operator.scope_path):
        if group.path:
            print(group.path)
    return EXIT_OK


def _print_job(document: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(document))
        return
    progress, counts = document["progress"], document["counts"]
    print(f"{document['id']}: {document['state']}, {progress['done']}/{progress['total']} rows")
    print(", ".join(f"{name} {value}" for name, value in counts.items()))


def cmd_jobs_show(args: argparse.Namespace) -> int:
    settings, engine = _open()
    batch_for(engine, _operator(engine, args.as_login), args.id)
    with Runtime(settings, worker=False):
        sync_batch_states(engine, settings)
    _print_job(job_document(engine, args.id), as_json=args.json)
    return EXIT_OK


def cmd_jobs_retry(args: argparse.Namespace) -> int:
    settings, engine = _open()
    with Runtime(settings, worker=args.wait):
        retry_batch(engine, settings, _operator(engine, args.as_login), args.id)
        batch = _wait(engine, args.id, quiet=args.json) if args.wait else get_batch(engine, args.id)
    _print_job(job_document(engine, args.id), as_json=args.json)
    return (
        EXIT_FILE_ERRORS if args.wait and (batch.state != "finished" or batch.failed) else EXIT_OK
    )


def cmd_jobs_cancel(args: argparse.Namespace) -> int:
    settings, engine = _open()
    with Runtime(settings, worker=False):
        cancel_batch(engine, settings, _operator(engine, args.as_login), args.id)
    _print_job(job_document(engine, args.id), as_json=args.json)
    return EXIT_OK


def cmd_jobs_list(args: argparse.Namespace) -> int:
    _, engine = _open()
    operator = _operator(engine, args.as_login)
    with session(engine) as db:
        query = select(Batch.id).order_by(Batch.submitted_at.desc())
        if not operator.is_admin:
            query = query.where(Batch.operator_id == operator.id)
        ids = list(db.scalars(query))
    documents = [job_document(engine, batch_id) for batch_id in ids]
    if args.json:
        print(json.dumps(documents))
    else:
        for document in documents:
            progress = document["progress"]
            print(
                f"{document['id']}  {document['state']:<9} {progress['done']}/{progress['total']}"
            )
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the app, with the embedded Redis server and a worker when REDIS_URL is unset."""
    if not APP_FILE.exists():
        raise UserbatchError(f"cannot find the app at {APP_FILE}; run from a userbatch checkout")
    settings = _served(_open()[0], args.address, args.port)
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
            while app.poll() is None:
                for role in runtime.keep_alive():
                    print(f"userbatch: the {role} had stopped and was started again")
                time.sleep(KEEP_ALIVE_SECONDS)
            return app.returncode
        except KeyboardInterrupt:
            return EXIT_OK
        finally:
            stop_process(app, timeout=15)


def _served(settings: Settings, address: str, port: int) -> Settings:
    """The settings of the app and worker ``serve`` starts: unless USERBATCH_BASE_URL says
    otherwise, the links in invitations point at the port served, so that they work."""
    if "base_url" in settings.model_fields_set:
        return settings
    everywhere = address in ("0.0.0.0", "::", "")
    host = "localhost" if everywhere or address == "127.0.0.1" else address
    if everywhere:
        print(
            f"userbatch: invitation links start with http://{host}:{port}; set "
            "USERBATCH_BASE_URL to the address users reach the app at"
        )
    return settings.model_copy(update={"base_url": f"http://{host}:{port}"})


def cmd_worker(args: argparse.Namespace) -> int:
    """Run an RQ worker with the scheduler."""
    run_worker(get_settings(), burst=args.burst)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="userbatch", description="Register and update user accounts in bulk from CSV files."
    )
    parser.add_argument(
        "--as", dest="as_login", metavar="LOGIN",
        help="act as this operator (default: the first admin)",
    )  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, handler: Any, help: str, parent: Any = commands
    ) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = parent.add_parser(name, help=help, description=help)
        sub.set_defaults(handler=handler)
        return sub

    serve = command("serve", cmd_serve, "serve the app (and what it needs) on localhost")
    serve.add_argument("--port", type=int, default=8501, help="HTTP port (default 8501)")
    serve.add_argument("--address", default="localhost", help="address to listen on")

    worker = command("worker", cmd_worker, "run an RQ worker with the scheduler")
    worker.add_argument("--burst", action="store_true", help="stop when the queue is empty")

    setup = command("setup", cmd_setup, "first-run set-up: name the organisation, create the admin")
    setup.add_argument("--organisation", required=True)
    setup.add_argument("--admin", required=True, help="login of the first admin (password: "
                       "USERBATCH_ADMIN_PASSWORD, or asked)")  # fmt: skip

    template = command("template", cmd_template, "the header row for the current input fields")
    template.add_argument("-o", "--output", help="file to write (default: standard output)")
    template.add_argument("--encoding", choices=["utf-8-sig", "cp932"], default="utf-8-sig")

    export = command("export", cmd_export, "all users in your scope, in the upload format")
    export.add_argument("-o", "--output", help="file to write (default: standard output)")
    export.add_argument("--group", help="only this group and below (a path like Sales>>Tokyo)")
    export.add_argument("--encoding", choices=["utf-8-sig", "cp932"], default="utf-8-sig")

    for name, handler, help in (
        ("check", cmd_check, "check a file; writes nothing"),
        ("import", cmd_import, "check a file and, if it has no error, run it as a batch"),
    ):
        sub = command(name, handler, help)
        sub.add_argument("file")
        sub.add_argument("--group", help="working group for blank 'Belong to' (default: yours)")
        sub.add_argument("--encoding", choices=list(ENCODINGS), help="override detection")
        sub.add_argument("--json", action="store_true", help="print one JSON document")
        if name == "import":
            sub.add_argument("--invite", action="store_true", help="invite new users by e-mail")
            sub.add_argument("--template", help="e-mail template name (default: Invitation)")
            sub.add_argument("--send-at", help="when to send, ISO 8601 (default: now)")
            sub.add_argument("--wait", action="store_true", help="wait until the job ends")

    groups_parser = command("groups", None, "create or list groups")
    group_commands = groups_parser.add_subparsers(dest="groups_command", required=True)
    add = command("add", cmd_groups_add, "create groups (and their parents)", group_commands)
    add.add_argument("paths", nargs="+", metavar="PATH")
    command("list", cmd_groups_list, "list group paths", group_commands)

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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code else EXIT_OK
    try:
        code: int = args.handler(args)
    except CsvFileError as exc:
        print(f"userbatch: {exc}", file=sys.stderr)
        return EXIT_FILE_ERRORS
    except UserbatchError as exc:
        print(f"userbatch: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except FileNotFoundError as exc:
        print(f"userbatch: {exc.strerror}: {exc.filename}", file=sys.stderr)
        return EXIT_USAGE
    return code
