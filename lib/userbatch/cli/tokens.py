"""``userbatch tokens create|list|revoke``: the acting operator's API tokens."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from userbatch.cli.common import AddCommand, open_installation
from userbatch.directory.auth import acting_operator
from userbatch.directory.tokens import (
    STATE_LABELS,
    TokenInfo,
    create_token,
    list_tokens,
    revoke_token,
)
from userbatch.errors import EXIT_OK
from userbatch.i18n import _
from userbatch.i18n.formats import iso, moment


def _document(info: TokenInfo) -> dict[str, Any]:
    return {
        "id": info.id, "name": info.name, "prefix": info.prefix, "state": info.state(),
        "created_at": iso(info.created_at), "expires_at": iso(info.expires_at),
        "last_used_at": iso(info.last_used_at), "revoked_at": iso(info.revoked_at),
    }  # fmt: skip


def cmd_tokens_create(args: argparse.Namespace) -> int:
    engine = open_installation()[1]
    operator = acting_operator(engine, args.as_login)
    new = create_token(engine, operator, args.name, expires_days=args.expires_days)
    if args.json:
        print(json.dumps({"id": new.info.id, "token": new.token} | _document(new.info)))
        return EXIT_OK
    print(new.token)
    print(_("Token {id} ('{name}') for {login}. It is shown this once: keep it now.",
            id=new.info.id, name=new.info.name, login=operator.login), file=sys.stderr)  # fmt: skip
    return EXIT_OK


def cmd_tokens_list(args: argparse.Namespace) -> int:
    engine = open_installation()[1]
    tokens = list_tokens(engine, acting_operator(engine, args.as_login))
    if args.json:
        print(json.dumps([_document(info) for info in tokens]))
        return EXIT_OK
    for info in tokens:
        expires = moment(info.expires_at) if info.expires_at else _("never")
        used = moment(info.last_used_at) if info.last_used_at else _("never")
        print(_("{id}  {prefix}…  {name}  {state}; expires {expires}; last used {used}",
                id=info.id, prefix=info.prefix, name=info.name,
                state=_(STATE_LABELS[info.state()]), expires=expires, used=used))  # fmt: skip
    return EXIT_OK


def cmd_tokens_revoke(args: argparse.Namespace) -> int:
    engine = open_installation()[1]
    info = revoke_token(engine, acting_operator(engine, args.as_login), args.id)
    print(_("Token {id} ('{name}') is revoked.", id=info.id, name=info.name))
    return EXIT_OK


def add_commands(command: AddCommand) -> None:
    """``tokens`` and its subcommands, on the parser ``command`` adds to."""
    parser = command("tokens", None, _("create, list or revoke your API tokens"))
    sub = parser.add_subparsers(dest="tokens_command", required=True)
    create = command("create", cmd_tokens_create, _("make a token (shown once)"), sub)
    create.add_argument("name", help=_("what the token is for, e.g. 'HR nightly export'"))
    create.add_argument(
        "--expires-days", type=int, metavar="N",
        help=_("the token stops working after N days (default: never)"),
    )  # fmt: skip
    create.add_argument(
        "--as", dest="as_login", metavar="LOGIN", default=argparse.SUPPRESS,
        help=_("the operator the token acts as (default: the one the command acts as)"),
    )  # fmt: skip
    create.add_argument("--json", action="store_true", help=_("print one JSON document"))
    listing = command("list", cmd_tokens_list, _("your tokens, newest first"), sub)
    listing.add_argument("--json", action="store_true", help=_("print one JSON document"))
    revoke = command("revoke", cmd_tokens_revoke, _("stop a token working"), sub)
    revoke.add_argument("id", type=int, help=_("the token's id (tokens list)"))
