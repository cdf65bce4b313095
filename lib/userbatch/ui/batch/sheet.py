"""The browser's grid: a Streamlit component (``sheet.js``, ``sheet.css``) that draws one
page of the draft, marks each bad cell on the cell itself, and sends the operator's actions.

Its state has three parts: ``log``, every action not yet known to be taken, numbered
(``{"id": the grid's id, "events": [{"seq", "op", ...}]}``); ``ticked``, the rows ticked
in its Delete column; and ``selection``, the cells of a selection of more than one cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

import streamlit as st

_HERE = files("userbatch.ui.batch")
_COMPONENT = st.components.v2.component(
    "userbatch.sheet",
    js=_HERE.joinpath("sheet.js").read_text(encoding="utf-8"),
    css=_HERE.joinpath("sheet.css").read_text(encoding="utf-8"),
)


@dataclass(frozen=True)
class Sent:
    """What the browser's grid has sent: its id, its new events, ticks and selection."""

    grid_id: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    ticked: list[int] = field(default_factory=list)
    selection: list[tuple[int, str]] = field(default_factory=list)


def sent(key: str, taken: tuple[str, int]) -> Sent:
    """The state of the grid under ``key``, with only the events after ``taken`` (the id of
    the browser's grid and the number of the last event taken from it)."""
    value = st.session_state.get(key) or {}
    log = value.get("log") or {}
    grid_id = str(log.get("id", ""))
    last = taken[1] if taken[0] == grid_id else 0
    events = [
        event
        for event in log.get("events") or []
        if isinstance(event, dict) and isinstance(event.get("seq"), int) and event["seq"] > last
    ]
    return Sent(
        grid_id, sorted(events, key=lambda event: event["seq"]),
        [int(row) for row in value.get("ticked") or []],
        [(int(row), str(key)) for row, key in value.get("selection") or []],
    )  # fmt: skip


def draw(key: str, data: dict[str, Any]) -> None:
    _COMPONENT(
        data=data, key=key, default={"log": None, "ticked": [], "selection": []},
        on_log_change=_rerun, on_ticked_change=_rerun, on_selection_change=_rerun,
        width="stretch",
    )  # fmt: skip


def _rerun() -> None:
    """Nothing: the page's run reads the state."""
