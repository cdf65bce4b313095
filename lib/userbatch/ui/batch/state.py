"""Where the batch screen stands: no file, a file refused, a file checked, a batch stored.

``st.session_state[BATCH]`` holds one of ``Refused``, ``Checked`` or ``Stored`` (nothing:
no file yet), so the checked file and the edits in its grid survive a visit to another
screen. The screen draws the state it finds; each user action replaces it or updates it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from userbatch.check.state import CheckedSheet
from userbatch.errors import CsvFileError
from userbatch.ui import keys


@dataclass
class SourceFile:
    """The uploaded file and how to read it."""

    file_name: str
    data: bytes
    # One id per upload: pressing Execute again after a failed hand-over only queues the
    # batch stored the first time.
    batch_id: str
    encoding: str | None = None  # chosen by the operator; None: detected
    delimiter: str | None = None


@dataclass
class Refused:
    """A file that cannot be checked, with why."""

    source: SourceFile
    error: CsvFileError
    version: int = 0  # of the reading widgets, which start afresh after each re-read


@dataclass
class Checked:
    """A checked file, being fixed in the grid."""

    source: SourceFile
    result: CheckedSheet
    version: int = 0  # of the reading widgets and the grid, which start afresh
    changes: int = 0  # cells edited and rows deleted in the grid, which leaving discards
    # The grid drawn last: its widget key and the spreadsheet rows it showed, in order.
    grid_key: str = ""
    grid_rows: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Stored:
    """A batch stored and queued."""

    file_name: str
    rows: int
    batch_id: str


Screen = Refused | Checked | Stored


def current() -> Screen | None:
    """The screen's state; None before a file is uploaded."""
    state: Screen | None = st.session_state.get(keys.BATCH)
    return state


def put(state: Screen) -> None:
    st.session_state[keys.BATCH] = state


def reset() -> None:
    """Back to the start: drop the file and the screen's widgets."""
    for key in (keys.BATCH, keys.ONLY_ERRORS, keys.GRID_PAGE, keys.EXECUTING, keys.BATCH_FILE):
        st.session_state.pop(key, None)
