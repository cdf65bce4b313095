"""``userbatch template``, ``export``, ``check`` and ``import``: files in and out."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

from sqlalchemy import Engine

from userbatch.admin.users import export_users
from userbatch.batches.history import get_batch, job_document
from userbatch.batches.store import Invitation, choose_invitation
from userbatch.check.report import file_error_document, place, to_document
from userbatch.check.run import check_file
from userbatch.check.state import BLANK_CLEAR, BLANK_KEEP, STATUS_NAMES, SUSPEND, CheckedSheet
from userbatch.cli.common import (
    COUNT_LABELS,
    AddCommand,
    ended_well,
    listed,
    open_installation,
    state_label,
    wait_for_batch,
    write_output,
)
from userbatch.directory import groups
from userbatch.directory.auth import OperatorInfo, acting_operator
from userbatch.directory.fields import load_columns
from userbatch.errors import (
    EXIT_OK,
    EXIT_REFUSED,
    CsvFileError,
    Invalid,
    Unconfirmed,
    UsageError,
)
from userbatch.files.decode import DELIMITERS, ENCODINGS
from userbatch.files.download import write_table
from userbatch.i18n import LANGUAGES, Sentences, Text, _, ngettext
from userbatch.settings import Settings
from userbatch.worker.runtime import Runtime
from userbatch.worker.submit import submit_batch


def cmd_template(args: argparse.Namespace) -> int:
    _, engine = open_installation()
    header = [column.label for column in load_columns(engine)]
    write_output(write_table(header, [], encoding=args.encoding), args.output)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    _, engine = open_installation()
    operator = acting_operator(engine, args.as_login)
    group = groups.normalize_path(args.group) if args.group is not None else None
    data = export_users(
        engine, load_columns(engine), scope_path=operator.scope_path, group_path=group,
        encoding=args.encoding,
    )  # fmt: skip
    write_output(data, args.output)
    return EXIT_OK


def _check(
    engine: Engine, settings: Settings, args: argparse.Namespace, operator: OperatorInfo
) -> CheckedSheet:
    working = groups.working_group(engine, args.group, operator.scope_path)
    path = Path(args.file)
    return check_file(
        engine, settings, path.read_bytes(), file_name=path.name, working_group=working,
        scope_path=operator.scope_path, encoding=args.encoding, blank=args.blank,
        complete=args.complete,
    )  # fmt: skip


def _print_check(result: CheckedSheet) -> None:
    sheet = result.sheet
    how = _(ENCODINGS.get(sheet.encoding, sheet.encoding))
    if sheet.delimiter:
        how = _("{encoding}, {delimiter}-separated", encoding=how,
                delimiter=_(DELIMITERS[sheet.delimiter]))  # fmt: skip
    print(ngettext("{name}: {n:,} row ({how})", "{name}: {n:,} rows ({how})", sheet.rows,
                   name=sheet.file_name, how=how))  # fmt: skip
    for notice in sheet.notices:
        print(_("Notice: {notice}", notice=notice))
    counts = result.counts
    shown = [(_(STATUS_NAMES[status]), counts[status]) for status in STATUS_NAMES]
    if SUSPEND in counts:
        shown.append((_("Suspend"), counts[SUSPEND]))
    print(" · ".join(f"{name} {count:,}" for name, count in shown))
    for row in result.ordered():
        for issue in row.issues:
            where = place(row.row, issue.column)
            level = _(" (warning)") if issue.level == "warning" else ""
            print(f"{where}{level}: {issue.message}")
        for label, (old, new) in row.changes.items():
            print(_("Row {row} update, {label}: '{old}' → '{new}'", row=row.row, label=label,
                    old=old, new=new))  # fmt: skip
    for missing in result.suspended():
        print(_("Suspend {key}: not in the file", key=missing["key"]))


def _checked(
    args: argparse.Namespace,
) -> tuple[Settings, Engine, OperatorInfo, CheckedSheet | None, int]:
    settings, engine = open_installation()
    operator = acting_operator(engine, args.as_login)
    try:
        result = _check(engine, settings, args, operator)
    except CsvFileError as error:
        if args.json:
            print(json.dumps(file_error_document(Path(args.file).name, error), ensure_ascii=False))
        else:
            for code, message in error.problems:
                print(f"{Path(args.file).name}: {message} [{code}]")
        return settings, engine, operator, None, EXIT_REFUSED
    return settings, engine, operator, result, EXIT_REFUSED if result.has_errors else EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    _, _, _, result, code = _checked(args)
    if result is not None:
        if args.json:
            print(json.dumps(to_document(result), ensure_ascii=False))
        else:
            _print_check(result)
    return code


def _invitation(engine: Engine, args: argparse.Namespace) -> Invitation | None:
    if not args.invite:
        return None
    send_at = None
    if args.send_at:
        try:
            send_at = dt.datetime.fromisoformat(args.send_at)
        except ValueError:
            raise UsageError(
                Text("--send-at: '{value}' is no ISO 8601 time", value=args.send_at)
            ) from None
    try:
        return choose_invitation(
            engine, template=args.template, template_language=args.template_language,
            send_at=send_at,
        )  # fmt: skip
    except Invalid as exc:
        raise UsageError(Text("--template-language: {reason}", reason=exc)) from None


def cmd_import(args: argparse.Namespace) -> int:
    settings, engine, operator, result, code = _checked(args)
    if result is None:
        return code
    if code != EXIT_OK:
        if args.json:
            print(json.dumps(to_document(result), ensure_ascii=False))
        else:
            _print_check(result)
        return code
    invitation = _invitation(engine, args)
    working = groups.working_group(engine, args.group, operator.scope_path)
    with Runtime(settings, worker=args.wait):
        try:
            batch_id = submit_batch(
                engine, settings, result, operator=operator, working_group=working,
                invitation=invitation, confirmed=args.confirm,
            )  # fmt: skip
        except Unconfirmed as refused:
            raise Unconfirmed(Sentences(
                refused.params["sentence"],
                Text("Run again with --confirm {affected} to go ahead.",
                     affected=refused.params["affected"]),
            )) from None  # fmt: skip
        batch = (
            wait_for_batch(engine, batch_id, quiet=args.json)
            if args.wait
            else get_batch(engine, batch_id)
        )
    document = to_document(result) | {"job": job_document(engine, batch_id)}
    if args.json:
        print(json.dumps(document, ensure_ascii=False))
    else:
        _print_check(result)
        job = document["job"]
        counts = [_(COUNT_LABELS[name], count=job["counts"][name])
                  for name in ("created", "updated", "unchanged", "failed")]  # fmt: skip
        print(_("Batch {id}: {state}; {counts}", id=batch_id, state=state_label(job["state"]),
                counts=listed(counts)))  # fmt: skip
    return EXIT_REFUSED if args.wait and not ended_well(batch) else EXIT_OK


def add_commands(command: AddCommand) -> None:
    """The file commands, on the parser ``command`` adds to."""
    template = command("template", cmd_template, _("the header row for the current input fields"))
    template.add_argument("-o", "--output", help=_("file to write (default: standard output)"))
    template.add_argument("--encoding", choices=["utf-8-sig", "cp932"], default="utf-8-sig",
                          help=_("the file's encoding (default: UTF-8 with BOM)"))  # fmt: skip

    export = command("export", cmd_export, _("all users in your scope, in the upload format"))
    export.add_argument("-o", "--output", help=_("file to write (default: standard output)"))
    export.add_argument("--group", help=_("only this group and below (a path like Sales>>Tokyo)"))
    export.add_argument("--encoding", choices=["utf-8-sig", "cp932"], default="utf-8-sig",
                        help=_("the file's encoding (default: UTF-8 with BOM)"))  # fmt: skip

    for name, handler, help in (
        ("check", cmd_check, _("check a file; writes nothing")),
        ("import", cmd_import, _("check a file and, if it has no error, run it as a batch")),
    ):
        sub = command(name, handler, help)
        sub.add_argument("file", help=_("the CSV file or Excel workbook (.xlsx)"))
        sub.add_argument("--group", help=_("working group for blank 'Belong to' (default: yours)"))
        sub.add_argument("--encoding", choices=list(ENCODINGS), help=_("override detection"))
        sub.add_argument("--json", action="store_true", help=_("print one JSON document"))
        sub.add_argument(
            "--blank", choices=[BLANK_KEEP, BLANK_CLEAR], default=BLANK_KEEP,
            help=_("what a blank cell does to an existing user's value (default: keep it)"),
        )  # fmt: skip
        sub.add_argument(
            "--complete", action="store_true",
            help=_("the file lists every user of the working group: suspend the others"),
        )  # fmt: skip
        if name == "import":
            sub.add_argument(
                "--confirm", type=int, metavar="N",
                help=_("the number of users a mass change affects, to let it run"),
            )  # fmt: skip
            sub.add_argument("--invite", action="store_true", help=_("invite new users by e-mail"))
            sub.add_argument("--template", help=_("e-mail template name (default: Invitation)"))
            sub.add_argument(
                "--template-language", choices=list(LANGUAGES),
                help=_("the template's version to send (default: the command's language)"),
            )  # fmt: skip
            sub.add_argument("--send-at", help=_("when to send, ISO 8601 (default: now)"))
            sub.add_argument("--wait", action="store_true", help=_("wait until the job ends"))
