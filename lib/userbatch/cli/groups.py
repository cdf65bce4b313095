"""``userbatch groups add|list``."""

from __future__ import annotations

import argparse

from userbatch.cli.common import AddCommand, open_installation
from userbatch.directory import groups
from userbatch.directory.auth import acting_operator
from userbatch.errors import EXIT_OK
from userbatch.i18n import _


def cmd_groups_add(args: argparse.Namespace) -> int:
    engine = open_installation()[1]
    operator = acting_operator(engine, args.as_login)
    for path in args.paths:  # a script may run it again: a group already there is no error
        try:
            print(groups.add_group(engine, path, scope_path=operator.scope_path).path)
        except groups.GroupExists as exc:
            print(_("{path} (exists already)", path=exc.path))
    return EXIT_OK


def cmd_groups_list(args: argparse.Namespace) -> int:
    engine = open_installation()[1]
    operator = acting_operator(engine, args.as_login)
    for group in groups.groups_in_scope(engine, operator.scope_path):
        if group.path:
            print(group.path)
    return EXIT_OK


def add_commands(command: AddCommand) -> None:
    """``groups`` and its subcommands, on the parser ``command`` adds to."""
    groups_parser = command("groups", None, _("create or list groups"))
    group_commands = groups_parser.add_subparsers(dest="groups_command", required=True)
    add = command("add", cmd_groups_add, _("create groups (and their parents)"), group_commands)
    add.add_argument("paths", nargs="+", metavar="PATH", help=_("a group path like Sales>>Tokyo"))
    command("list", cmd_groups_list, _("list group paths"), group_commands)
