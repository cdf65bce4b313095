"""Slots for checks: at most so many files are read and checked at once in a process, and so
many of them one operator's, so that a crowd of uploads waits instead of exhausting memory.
The screens and the HTTP API of one server process share its slots (``server_slots``)."""

from __future__ import annotations

import functools
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from userbatch.errors import CsvFileError, FileLimitExceeded
from userbatch.i18n import Text, Words

BUSY = "busy"  # the code of the file error when no slot came free in time


class CheckSlots:
    """``total`` slots in all, ``per_operator`` of them for one operator at a time."""

    def __init__(self, total: int, per_operator: int) -> None:
        self.total, self.per_operator = total, per_operator
        self._running: Counter[int] = Counter()
        self._changed = threading.Condition()

    @contextmanager
    def slot(
        self, operator_id: int, *, wait_seconds: float, waiting: Callable[[Words], None]
    ) -> Iterator[None]:
        """Hold a slot for ``operator_id`` for the span of the ``with`` block. When none is
        free, ``waiting`` is called once with a sentence saying why, and the slot is waited
        for at most ``wait_seconds``.

        Raises ``FileLimitExceeded`` (code ``busy``) when no slot came free in time.
        """
        deadline = time.monotonic() + wait_seconds
        with self._changed:
            told = False
            while (why := self._busy(operator_id)) is not None:
                if not told:  # a quick call (a page element's text), made once
                    waiting(why)
                    told = True
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._refusal(wait_seconds)
                self._changed.wait(left)
            self._running[operator_id] += 1
        try:
            yield
        finally:
            with self._changed:
                self._running[operator_id] -= 1
                if not self._running[operator_id]:
                    del self._running[operator_id]
                self._changed.notify_all()

    def running(self) -> int:
        """How many checks hold a slot now."""
        with self._changed:
            return sum(self._running.values())

    def _busy(self, operator_id: int) -> Words | None:
        """Why ``operator_id`` must wait for a slot now, or None when one is free."""
        if self._running[operator_id] >= self.per_operator:
            return Text(
                "Waiting for a free slot: {count} of your uploads are being checked (at most "
                "{most} at once). This one starts as soon as one of them ends.",
                count=self._running[operator_id], most=self.per_operator,
            )  # fmt: skip
        if sum(self._running.values()) >= self.total:
            return Text(
                "Waiting for a free slot: the server is checking {count} uploads, the most it "
                "checks at once. Yours starts as soon as one of them ends.", count=self.total,
            )  # fmt: skip
        return None

    def _refusal(self, wait_seconds: float) -> CsvFileError:
        return FileLimitExceeded.one(
            BUSY,
            Text(
                "No slot to check the file came free within {seconds:.0f} seconds: the "
                "server is busy with other uploads. Upload it again in a few minutes.",
                seconds=wait_seconds,
            ),
        )


@functools.cache
def server_slots(total: int, per_operator: int) -> CheckSlots:
    """The process's slots for checks (one set per process and limits)."""
    return CheckSlots(total, per_operator)
