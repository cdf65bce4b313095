"""Checks in the background: a thread of the server reads and checks an upload (or a draft
being restored) while the page shows a progress bar, so that the page answers meanwhile and
a reload, a click or another tab of the operator's does not start the check again or lose it.

One check of an operator's runs at a time (``Checkings``, one per server process, shared
by the operator's tabs); a file uploaded meanwhile is not checked: the page follows the
running check. The check takes a slot (``CheckSlots``) in its thread, so that a crowd of
uploads waits there and the bar says so. When it ends, a checked file has become the
operator's draft (saved, and in ``Drafts``); the next of the operator's tabs to draw the
screen takes the outcome: a refused upload becomes that tab's screen, a draft that cannot be
restored is said there.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import streamlit as st

from userbatch.batches.drafts import DraftFile, save_draft
from userbatch.check import progress
from userbatch.check.progress import Step
from userbatch.check.run import check_file
from userbatch.check.slots import CheckSlots, server_slots
from userbatch.check.state import BLANK_KEEP
from userbatch.directory.auth import OperatorInfo
from userbatch.directory.groups import GroupInfo
from userbatch.errors import CsvFileError
from userbatch.i18n import Words, _
from userbatch.ui import keys
from userbatch.ui.batch.state import (
    Checked,
    Drafts,
    Refused,
    drafts,
    put,
    reset,
    unavailable,
)
from userbatch.ui.context import AppContext
from userbatch.ui.text import inert


@dataclass
class Checking:
    """An upload (``source``; None for the operator's draft being restored) being checked
    for an operator: the step it is at, then its outcome (why the file was refused, or None
    once the checked file is the operator's draft)."""

    source: DraftFile | None
    version: int = 0  # of the reading widgets, which start afresh after each re-read
    step: Step = field(default_factory=lambda: Step(progress.READING, 0.0))
    refused: CsvFileError | None = None
    error: BaseException | None = None  # a fault of the check, raised in the page
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    def report(self, step: Step) -> None:
        self.step = step  # one reference, read by the page's thread as a whole


class Checkings:
    """The checks running or ended and not yet taken, by operator id (one a process)."""

    def __init__(self) -> None:
        self._open: dict[int, Checking] = {}
        self._lock = threading.Lock()

    def begin(
        self,
        app: AppContext,
        operator: OperatorInfo,
        working: GroupInfo,
        source: DraftFile,
        version: int = 0,
        *,
        blank: str = BLANK_KEEP,
        complete: bool = False,
    ) -> Checking:
        """Start checking ``source`` for ``operator`` in a thread of its own (with what blank
        cells do and whether it is a complete list): it becomes the operator's draft, in place
        of any other, or a refused file. Returns the operator's check, the one already running
        if there is one (this file is then not checked). The page shows it from its next run
        on (``follow``)."""
        settings = app.settings
        work = _Upload(
            app, operator, drafts(settings.drafts_in_memory), working, blank, complete,
            server_slots(settings.checks_at_once, settings.checks_per_operator),
        )  # fmt: skip
        return self._start(operator.id, Checking(source, version), work)

    def restore(self, app: AppContext, operator: OperatorInfo) -> Checking:
        """Start restoring the operator's draft in a thread of its own (``Drafts.get``);
        returns the operator's check, the one already running if there is one."""
        return self._start(
            operator.id,
            Checking(None),
            _Restore(app, operator, drafts(app.settings.drafts_in_memory)),
        )

    def _start(self, operator_id: int, checking: Checking, work: _Work) -> Checking:
        with self._lock:
            running = self._open.get(operator_id)
            if running is not None and not running.done.is_set():
                return running
            self._open[operator_id] = checking
        thread = threading.Thread(
            target=work.run, args=(checking,), name="userbatch-check", daemon=True
        )
        thread.start()
        return checking

    def pending(self, operator_id: int) -> Checking | None:
        """The operator's check that no tab has taken yet."""
        with self._lock:
            return self._open.get(operator_id)

    def take(self, operator_id: int, checking: Checking) -> CsvFileError | None:
        """The outcome of ``checking``, which has ended, taken by the tab that calls this.

        Raises the fault that ended the check, if one did."""
        with self._lock:
            if self._open.get(operator_id) is checking:
                del self._open[operator_id]
        if checking.error is not None:
            raise checking.error
        return checking.refused


@dataclass
class _Work:
    """What a check's thread does (``check``), its outcome kept in the ``Checking``."""

    app: AppContext
    operator: OperatorInfo
    opened: Drafts

    def run(self, checking: Checking) -> None:
        try:
            self.check(checking)
        except CsvFileError as error:
            checking.refused = error
        except Exception as error:  # shown by the page that takes the outcome
            checking.error = error
        finally:
            checking.done.set()

    def check(self, checking: Checking) -> None:
        raise NotImplementedError


class _Restore(_Work):
    """Restore the operator's draft (``Drafts.get``, which waits for a slot)."""

    def check(self, checking: Checking) -> None:
        self.opened.get(self.app, self.operator, checking.report)


@dataclass
class _Upload(_Work):
    """Wait for a slot, check the upload, make it the operator's draft."""

    working: GroupInfo
    blank: str
    complete: bool
    slots: CheckSlots

    def check(self, checking: Checking) -> None:
        app, source = self.app, checking.source
        assert source is not None

        def waiting(why: Words) -> None:
            checking.report(Step(progress.WAITING, 0.0, why))

        with self.slots.slot(
            self.operator.id, wait_seconds=app.settings.check_wait_seconds, waiting=waiting
        ):
            result = check_file(
                app.engine, app.settings, source.data, file_name=source.file_name,
                working_group=self.working, scope_path=self.operator.scope_path,
                encoding=source.encoding, delimiter=source.delimiter, blank=self.blank,
                complete=self.complete, report=checking.report,
            )  # fmt: skip
        checking.report(progress.at(progress.SAVING))
        draft_id = save_draft(app.engine, app.settings, self.operator, source, result)
        checked = Checked(draft_id, source, result, version=checking.version)
        self.opened.put(self.operator.id, checked)


@st.cache_resource
def checkings() -> Checkings:
    """The server's checks (one registry per process)."""
    return Checkings()


def follow(app: AppContext, operator: OperatorInfo) -> None:
    """While one of the operator's files is being checked — an upload, or their draft, which
    this starts restoring when the server has no copy of it as it is now (and the tab shows
    no file of its own): a progress bar until it ends, then its outcome taken into this tab
    (the draft, the refused upload, or why the draft cannot be shown)."""
    registry = checkings()
    checking = registry.pending(operator.id)
    if checking is None:
        if keys.BATCH in st.session_state or not drafts(app.settings.drafts_in_memory).stale(
            app, operator
        ):
            return
        checking = registry.restore(app, operator)
    name = inert(checking.source.file_name) if checking.source else None
    bar = st.progress(checking.step.done, text=describe(checking.step, name))
    while not checking.done.wait(0.25):
        bar.progress(checking.step.done, text=describe(checking.step, name))
    bar.empty()
    refused = registry.take(operator.id, checking)
    if checking.source is None:
        if refused is not None:
            unavailable(refused)
        return
    reset()
    if refused is not None:
        put(Refused(checking.source, refused, version=checking.version))


def describe(step: Step, file_name: str | None) -> str:
    """The progress bar's words for ``step`` of checking the file ``file_name`` (None: the
    operator's draft)."""
    match step.stage:
        case progress.WAITING:
            return str(step.detail)
        case progress.READING:
            return (
                _("Reading **{name}**…", name=file_name) if file_name else _("Opening your draft…")
            )
        case progress.CELLS:
            return _("Checking the cells of **{column}**…", column=inert(step.detail))
        case progress.DIRECTORY:
            return _("Finding the file's users among the existing ones…")
        case progress.JUDGING:
            return _("Comparing every row with its user…")
        case _:
            return _("Saving the draft…")
