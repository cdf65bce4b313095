"""Where the batch screen stands: no file, a file refused, a draft being fixed, a batch stored.

A checked file is the operator's draft (``userbatch.batches.drafts``): saved on the server as
it changes, so a reload, another tab or a restarted server shows it as it was left. The app
server keeps the checks of the ``drafts_in_memory`` drafts used last (``Drafts``, shared by
the operator's tabs) and restores the others from the database when their operator returns.
A refused file and a stored batch belong to the tab (``st.session_state[BATCH]``). Each tab
keeps its own ``GridPage``: the rows its grid shows and the edits it has taken from it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import streamlit as st

from userbatch.batches.drafts import DraftFile, History, Restored, draft_version, restore_draft
from userbatch.check import progress
from userbatch.check.progress import Step
from userbatch.check.slots import BUSY, server_slots
from userbatch.check.state import CheckedSheet
from userbatch.directory.auth import OperatorInfo
from userbatch.errors import CsvFileError
from userbatch.i18n import Text, Words, _
from userbatch.ui import keys
from userbatch.ui.context import AppContext


@dataclass
class Refused:
    """A file that cannot be checked, with why."""

    source: DraftFile
    error: CsvFileError
    version: int = 0  # of the reading widgets, which start afresh after each re-read


@dataclass
class Checked:
    """The operator's draft: a checked file, being fixed in the grid (shared by their tabs)."""

    draft_id: int
    source: DraftFile
    result: CheckedSheet
    edits: int = 0  # saved in the database; a copy with fewer is stale
    changes: int = 0  # cells edited and rows deleted in the grid, which leaving discards
    page: int = 1
    only_errors: bool = False
    version: int = 0  # of the reading widgets, which start afresh after each re-read
    # Said once on the screen: the draft was restored against a database that changed.
    notice: Words | None = None
    history: History = field(default_factory=History)  # undo and redo, saved with the edits
    # Held while a tab draws the draft or changes it: the operator's tabs take turns.
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @classmethod
    def restored(cls, draft: Restored) -> Checked:
        notice = (
            Text("The users, groups or settings changed since this draft was saved: it was "
                 "checked again, and some rows' results differ from when you left it.")
            if draft.changed_meanwhile
            else None
        )  # fmt: skip
        return cls(
            draft.draft_id, draft.source, draft.result, edits=draft.edits, changes=draft.changes,
            page=draft.page, only_errors=draft.only_errors, notice=notice, history=draft.history,
        )  # fmt: skip


@dataclass(frozen=True)
class Stored:
    """A batch stored and queued."""

    file_name: str
    rows: int
    batch_id: str


Screen = Refused | Checked | Stored


@dataclass
class GridPage:
    """One tab's grid: the rows it shows (fixed while the page and the filter stay, so that
    an edit sent while the page reruns lands on the row it was made on).

    The browser sends every action as an event of one log, numbered per grid it drew
    (``sheet.js``); the last one taken is kept apart, under ``keys.GRID_TAKEN``, so that a
    grid drawn anew never takes an event twice."""

    rows: list[int]
    page: int
    only_errors: bool
    ticks: int = 0  # the ticks of the Delete column are cleared when this changes


class Drafts:
    """The checks of the drafts used last, by operator id (least recently used go first)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._open: OrderedDict[int, Checked] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self, app: AppContext, operator: OperatorInfo, report: progress.Report = progress.quiet
    ) -> Checked | None:
        """The operator's draft: the copy in memory while it is current, else restored (in
        one of the server's slots for checks, each step told to ``report``).

        Raises ``CsvFileError`` when a restored draft's file can no longer be read (the
        draft is then discarded).
        """
        version = draft_version(app.engine, operator.id)
        found = self._current(operator.id, version)
        if found is not None or version is None:
            return found
        settings = app.settings
        slots = server_slots(settings.checks_at_once, settings.checks_per_operator)

        def waiting(why: Words) -> None:
            report(Step(progress.WAITING, 0.0, why))

        with slots.slot(operator.id, wait_seconds=settings.check_wait_seconds, waiting=waiting):
            restored = restore_draft(app.engine, settings, operator, report)
        if restored is None:
            return None
        checked = Checked.restored(restored)
        self.put(operator.id, checked)
        return checked

    def stale(self, app: AppContext, operator: OperatorInfo) -> bool:
        """Whether the operator has a draft whose copy in memory is missing or behind (one
        that ``get`` restores)."""
        version = draft_version(app.engine, operator.id)
        return version is not None and self._current(operator.id, version) is None

    def _current(self, operator_id: int, version: tuple[int, int] | None) -> Checked | None:
        """The copy in memory of the draft at ``version``, if it is there."""
        with self._lock:
            found = self._open.get(operator_id)
            if version is None:
                self._open.pop(operator_id, None)
                return None
            if found is not None and (found.draft_id, found.edits) == version:
                self._open.move_to_end(operator_id)
                return found
            return None

    def put(self, operator_id: int, checked: Checked) -> None:
        with self._lock:
            self._open[operator_id] = checked
            self._open.move_to_end(operator_id)
            while len(self._open) > self.capacity:
                self._open.popitem(last=False)

    def drop(self, operator_id: int) -> None:
        with self._lock:
            self._open.pop(operator_id, None)

    def __len__(self) -> int:
        return len(self._open)


@st.cache_resource
def drafts(capacity: int) -> Drafts:
    """The server's drafts in memory (one per process)."""
    return Drafts(capacity)


def current(app: AppContext, operator: OperatorInfo) -> Screen | None:
    """The screen's state; None before a file is uploaded."""
    state: Screen | None = st.session_state.get(keys.BATCH)
    if state is not None:
        return state
    try:
        return drafts(app.settings.drafts_in_memory).get(app, operator)
    except CsvFileError as error:
        unavailable(error)
        return None


def unavailable(error: CsvFileError) -> None:
    """Say why the operator's draft cannot be shown: no slot for its check came free (the
    draft is kept, and the page stops with "Try again"), or its file can no longer be read
    (the draft was discarded)."""
    if error.code == BUSY:
        st.warning(_("Your draft is kept, but it cannot be opened yet. {why}", why=error))
        st.button(_("Try again"), type="primary", key=keys.DRAFT_TRY_AGAIN)
        st.stop()
    st.warning(_("Your draft could not be read again and was discarded: {why}", why=error))


def put(state: Refused | Stored) -> None:
    st.session_state[keys.BATCH] = state


def reset() -> None:
    """Back to the start in this tab: drop a refused file or a stored batch and the screen's
    widgets (a draft is ended by ``userbatch.ui.batch.grid``)."""
    for key in (
        keys.BATCH, keys.ONLY_ERRORS, keys.GRID_PAGE, keys.EXECUTING, keys.BATCH_FILE,
        keys.GRID_SHOWN, keys.DRAFT_SHOWN, keys.GRID_TAKEN, keys.GRID_FOCUS,
    ):  # fmt: skip
        st.session_state.pop(key, None)
