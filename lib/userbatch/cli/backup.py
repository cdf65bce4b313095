"""``userbatch backup`` and ``restore``: a SQLite installation to one file and back."""

from __future__ import annotations

import argparse
from pathlib import Path

from userbatch.admin.backup import back_up, restore
from userbatch.cli.common import AddCommand
from userbatch.errors import EXIT_OK
from userbatch.settings import get_settings


def cmd_backup(args: argparse.Namespace) -> int:
    taken = back_up(get_settings(), Path(args.file))
    print(
        f"Backed up {taken.users:,} users and {taken.batches:,} batches to {taken.path} "
        f"({taken.taken_at}). The backup holds the secret key: keep it as safe as the data "
        "folder."
    )
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    settings = get_settings()
    restored = restore(settings, Path(args.file))
    print(
        f"Restored {restored.users:,} users and {restored.batches:,} batches, as they were at "
        f"{restored.taken_at}, into {settings.data_dir}."
    )
    if restored.running:
        print(
            f"{restored.running:,} batch(es) were running: their jobs are not in this Redis. "
            "A worker marks them failed within a minute; Retry then applies the rows not "
            "yet applied."
        )
    return EXIT_OK


def add_commands(command: AddCommand) -> None:
    """``backup`` and ``restore``, on the parser ``command`` adds to."""
    backup = command(
        "backup", cmd_backup, "copy the SQLite installation to one file, while it runs"
    )
    backup.add_argument("file", metavar="FILE", help="the backup to write (must not exist)")
    restore_ = command("restore", cmd_restore, "restore a backup into an empty data folder")
    restore_.add_argument("file", metavar="FILE", help="a file written by 'userbatch backup'")
