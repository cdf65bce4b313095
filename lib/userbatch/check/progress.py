"""How far a whole check has got, for a page that shows it as it runs: the step it is at and
the share of the check done. A step is data; the page puts it into words."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from userbatch.i18n import Words

# The steps of a check, in order (``WAITING`` and ``SAVING`` are the page's own, before and
# after the check: a free slot, then the draft written).
WAITING, READING, CELLS, DIRECTORY, JUDGING, SAVING = (
    "waiting", "reading", "cells", "directory", "judging", "saving"
)  # fmt: skip


@dataclass(frozen=True)
class Step:
    """The check is at ``stage``, with ``done`` (0 to 1) of it behind it; ``detail`` is the
    column being checked (``CELLS``) or why it waits (``WAITING``)."""

    stage: str
    done: float
    detail: Words = ""


Report = Callable[[Step], None]


def quiet(step: Step) -> None:
    """Report nothing (a check nobody watches)."""


# Where each step starts, as a share of a whole check (measured on a 100k-row file against
# 100k users: reading 25%, the cells' rules 10%, finding the users 50%, judging 15%).
STARTS = {READING: 0.0, CELLS: 0.25, DIRECTORY: 0.35, JUDGING: 0.85, SAVING: 0.97}


def cells_step(column: int, columns: int, label: str) -> Step:
    """The step of checking the cells of column ``column`` (from 0) of ``columns``."""
    share = (STARTS[DIRECTORY] - STARTS[CELLS]) * column / max(columns, 1)
    return Step(CELLS, STARTS[CELLS] + share, label)


def at(stage: str) -> Step:
    """The start of ``stage``."""
    return Step(stage, STARTS[stage])
