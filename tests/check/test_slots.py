"""Slots for checks: a crowd of uploads waits for a free slot, with a sentence saying why, or
is refused as busy; never more run at once than the settings allow."""

from __future__ import annotations

import threading

import pytest

from tests.helpers import GENEROUS, held_slot
from userbatch.check.slots import BUSY, CheckSlots
from userbatch.errors import FileLimitExceeded


def _refused(slots: CheckSlots, operator_id: int) -> tuple[str, list[str]]:
    told: list[str] = []
    with (
        pytest.raises(FileLimitExceeded) as refused,
        slots.slot(operator_id, wait_seconds=0, waiting=lambda why: told.append(str(why))),
    ):
        pass
    assert refused.value.code == BUSY
    return str(refused.value.problems[0][1]), told


def test_the_slots_in_all_are_shared_by_every_operator() -> None:
    slots = CheckSlots(total=2, per_operator=2)
    with held_slot(slots, 1), held_slot(slots, 2):
        assert slots.running() == 2
        message, told = _refused(slots, 3)
        assert told == [
            "Waiting for a free slot: the server is checking 2 uploads, the most it checks at "
            "once. Yours starts as soon as one of them ends."
        ]
        assert message.startswith("No slot to check the file came free within 0 seconds")
        assert "Upload it again in a few minutes." in message
    assert slots.running() == 0


def test_one_operator_has_at_most_their_share() -> None:
    slots = CheckSlots(total=4, per_operator=1)
    with held_slot(slots, 1):
        _, told = _refused(slots, 1)
        assert told == [
            "Waiting for a free slot: 1 of your uploads are being checked (at most 1 at once). "
            "This one starts as soon as one of them ends."
        ]
        with slots.slot(2, wait_seconds=0, waiting=told.append):  # another operator's: free
            assert slots.running() == 2
        assert len(told) == 1


def test_a_waiting_check_starts_when_a_slot_comes_free() -> None:
    slots = CheckSlots(total=1, per_operator=1)
    told, started = threading.Event(), threading.Event()

    def wait_for_one() -> None:
        with slots.slot(2, wait_seconds=GENEROUS, waiting=lambda _: told.set()):
            started.set()

    with held_slot(slots, 1) as release:
        waiter = threading.Thread(target=wait_for_one)
        waiter.start()
        assert told.wait(GENEROUS)
        assert not started.is_set()  # still waiting while the slot is held
        release.set()
        assert started.wait(GENEROUS)
        waiter.join(GENEROUS)
    assert slots.running() == 0


def test_a_failed_check_gives_its_slot_back() -> None:
    slots = CheckSlots(total=1, per_operator=1)
    with pytest.raises(RuntimeError), slots.slot(1, wait_seconds=0, waiting=lambda _: None):
        raise RuntimeError("the check failed")
    with slots.slot(1, wait_seconds=0, waiting=lambda _: None):
        assert slots.running() == 1
