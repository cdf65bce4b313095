"""A whole check tells how far it has got, step by step, for the page's progress bar."""

from __future__ import annotations

from tests.conftest import World
from userbatch.check.progress import CELLS, DIRECTORY, JUDGING, READING, Step
from userbatch.check.run import check_file


def test_a_check_reports_its_steps_in_order_and_its_share_done_rising(world: World) -> None:
    steps: list[Step] = []
    data = b"Login ID,Name,Email\r\ntanaka01,Tanaka,t@example.com\r\nab1,Sato,\r\n"
    result = check_file(
        world.engine, world.settings, data, file_name="users.csv",
        working_group=world.groups[""], scope_path="", report=steps.append,
    )  # fmt: skip
    assert result.counts == {"new": 1, "update": 0, "unchanged": 0, "error": 1}
    assert [(step.stage, step.detail) for step in steps] == [
        (READING, ""), (CELLS, "Login ID"), (CELLS, "Name"), (CELLS, "Email"),
        (DIRECTORY, ""), (JUDGING, ""),
    ]  # fmt: skip
    shares = [step.done for step in steps]
    assert shares == sorted(set(shares)) and shares[0] >= 0 and shares[-1] < 1
