"""``userbatch backup`` and ``restore``: a SQLite installation to one file and back."""

from __future__ import annotations

import argparse
from pathlib import Path

from userbatch.admin.backup import back_up, restore
from userbatch.cli.common import AddCommand
from userbatch.errors import EXIT_OK
from userbatch.i18n import _
from userbatch.settings import get_settings


def cmd_backup(args: argparse.Namespace) -> int:
    taken = back_up(get_settings(), Path(args.file))
    print(_(
        "Backed up {users:,} users and {batches:,} batches to {path} ({taken_at}). The backup "
        "holds the secret key: keep it as safe as the data folder.",
        users=taken.users, batches=taken.batches, path=taken.path, taken_at=taken.taken_at,
    ))  # fmt: skip
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    settings = get_settings()
    restored = restore(settings, Path(args.file))
    print(_(
        "Restored {users:,} users and {batches:,} batches, as they were at {taken_at}, into "
        "{folder}.", users=restored.users, batches=restored.batches,
        taken_at=restored.taken_at, folder=settings.data_dir,
    ))  # fmt: skip
    if restored.running:
        print(_(
            "{count:,} batch(es) were running: their jobs are not in this Redis. A worker "
            "marks them failed within a minute; Retry then applies the rows not yet applied.",
            count=restored.running,
        ))  # fmt: skip
    return EXIT_OK


def add_commands(command: AddCommand) -> None:
    """``backup`` and ``restore``, on the parser ``command`` adds to."""
    backup = command(
        "backup", cmd_backup, _("copy the SQLite installation to one file, while it runs")
    )
    backup.add_argument("file", metavar="FILE", help=_("the backup to write (must not exist)"))
    restore_ = command("restore", cmd_restore, _("restore a backup into an empty data folder"))
    restore_.add_argument("file", metavar="FILE", help=_("a file written by 'userbatch backup'"))
