"""The ``userbatch`` command: a thin client of the same domain functions the app uses.

One module a command group (``files``, ``jobs``, ``groups``, ``tokens``, ``serve``, ``backup``);
this one builds the parser and maps errors to exit codes: 0 success; 1 the request was refused
(the file has errors, rows failed, the thing is not there, not yours, or in a state that
refuses it); 2 bad usage or configuration. Each error class carries its own (``userbatch.errors``).

Everything it prints for a person, its help and argparse's own words too ("usage:", "options",
a mistake's message), is in the language of ``--lang`` or else of the environment's locale.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys
from typing import Any

from userbatch.cli.common import Handler
from userbatch.cli.parser_words import speak_ours
from userbatch.errors import EXIT_OK, EXIT_USAGE, UserbatchError
from userbatch.i18n import LANGUAGES, _, from_environment, speaking, supported

PROG = "userbatch"

# The module of each command. Only the module of the command asked for is imported (all of
# them for help or a mistake): ``serve`` and the worker it starts need no pandas, and
# importing every command's domain takes seconds.
COMMANDS = {
    "serve": "serve", "worker": "serve", "setup": "serve", "template": "files",
    "export": "files", "check": "files", "import": "files", "groups": "groups",
    "jobs": "jobs", "tokens": "tokens", "backup": "backup", "restore": "backup",
}  # fmt: skip
MODULES = tuple(dict.fromkeys(COMMANDS.values()))  # in the order of the help


def _pre_parsed(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    """The options before the command, and the rest; nothing for a mistake (the parser proper
    says what is wrong)."""
    options = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    options.add_argument("--as")
    options.add_argument("--lang")
    try:
        return options.parse_known_args(argv)
    except argparse.ArgumentError:
        return argparse.Namespace(lang=None), []


def _asked(argv: list[str] | None) -> str | None:
    """The command ``argv`` asks for, when it names one before anything else."""
    _known, rest = _pre_parsed(argv)
    return rest[0] if rest and rest[0] in COMMANDS else None


def _language_asked(argv: list[str] | None) -> str:
    """The language of ``--lang`` in ``argv`` if userbatch speaks it, else the environment's:
    the help is built in it, before ``argv`` is parsed for good."""
    return supported(_pre_parsed(argv)[0].lang) or from_environment()


def build_parser(command_asked: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command (of ``command_asked`` alone, when given); each sets
    ``handler`` to the function that runs it. Its help is in the current language."""
    parser = argparse.ArgumentParser(
        prog=PROG, description=_("Register and update user accounts in bulk from CSV files.")
    )
    parser.add_argument(
        "--as", dest="as_login", metavar="LOGIN",
        help=_("act as this operator (default: the first admin)"),
    )  # fmt: skip
    parser.add_argument(
        "--lang", choices=LANGUAGES, default=None,
        help=_("the language of messages (default: the environment's locale, else English)"),
    )  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, handler: Handler | None, help: str, parent: Any = commands
    ) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = parent.add_parser(name, help=help, description=help)
        sub.set_defaults(handler=handler)
        return sub

    modules = (COMMANDS[command_asked],) if command_asked else MODULES
    for name in modules:
        importlib.import_module(f"userbatch.cli.{name}").add_commands(command)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    speak_ours()
    with speaking(_language_asked(argv)):
        parser = build_parser(_asked(argv))
        try:
            args = parser.parse_args(argv)
        except SystemExit as exit_:
            return EXIT_USAGE if exit_.code else EXIT_OK
        try:
            code: int = args.handler(args)
        except UserbatchError as exc:
            print(f"{PROG}: {exc}", file=sys.stderr)
            return exc.exit_code
        except FileNotFoundError as exc:
            print(f"{PROG}: {_not_found(exc)}", file=sys.stderr)
            return EXIT_USAGE
    return code


def _not_found(exc: FileNotFoundError) -> str:
    if exc.errno == errno.ENOENT:
        return _("No such file or directory: {path}", path=exc.filename)
    return f"{exc.strerror}: {exc.filename}"
