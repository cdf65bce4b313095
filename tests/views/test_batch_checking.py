"""Checks in the background (lib/userbatch/ui/batch/checking.py): an upload is checked in a
thread of the server while its page shows how far it has got; every tab of the operator's
follows the same check and takes its outcome, and a file uploaded meanwhile starts none."""

from __future__ import annotations

import threading
from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, World
from tests.helpers import GENEROUS, held_slot, literal
from userbatch.batches.drafts import DraftFile
from userbatch.check.progress import WAITING
from userbatch.check.slots import server_slots
from userbatch.settings import Settings
from userbatch.ui import keys
from userbatch.ui.batch.checking import Checking, checkings
from userbatch.ui.batch.state import drafts
from userbatch.ui.context import AppContext

CLEAN = (
    b"Login ID,Name,Email,Belong to\r\n"
    b"tanaka01,Tanaka,tanaka@example.com,Sales>>Tokyo\r\n"
    b"yamada01,Yamada,,Support\r\n"
)


class _Followed(threading.Event):
    """The end of a check, telling when a page first waits for it."""

    def __init__(self) -> None:
        super().__init__()
        self.waited = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.waited.set()
        return super().wait(timeout)


def _begin(
    world: World, data: bytes, name: str = "users.csv", settings: Settings | None = None
) -> Checking:
    app = AppContext(settings or world.settings, world.engine)
    source = DraftFile(file_name=name, data=data, batch_id=f"b-{name}")
    return checkings().begin(app, world.admin, world.groups[""], source)


def _tab(world: World) -> AppTest:
    """A new tab of the admin's, signed in (not yet run)."""
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=GENEROUS)
    app.session_state[keys.SESSION_ID] = world.session_for()
    return app


def test_a_check_waiting_for_a_slot_says_so_and_a_second_upload_follows_it(
    world: World, use_env: Callable[[Settings], None]
) -> None:
    use_env(world.settings)
    slots = server_slots(world.settings.checks_at_once, world.settings.checks_per_operator)
    with held_slot(slots, world.admin.id), held_slot(slots, world.admin.id):
        checking = _begin(world, CLEAN)
        assert checking.step.stage == WAITING  # told at once, in the check's thread
        assert str(checking.step.detail).startswith("Waiting for a free slot: 2 of your uploads")
        assert _begin(world, b"Login ID\r\nother01\r\n", "other.csv") is checking
        assert checkings().pending(world.admin.id) is checking
        assert not checking.done.is_set()
    assert checking.done.wait(GENEROUS)
    assert checkings().take(world.admin.id, checking) is None  # the draft is the outcome
    assert checkings().pending(world.admin.id) is None
    draft = drafts(world.settings.drafts_in_memory).get(
        AppContext(world.settings, world.engine), world.admin
    )
    assert draft is not None and draft.source.file_name == "users.csv"
    assert draft.result.counts["new"] == 2


def test_a_tab_opened_while_a_check_runs_shows_it_and_then_its_draft(
    world: World, use_env: Callable[[Settings], None]
) -> None:
    """A reload (a new session) during a check follows it: no second check, no lost file."""
    one_at_a_time = world.settings.model_copy(update={"checks_at_once": 1})
    use_env(one_at_a_time)
    slots = server_slots(1, one_at_a_time.checks_per_operator)
    with held_slot(slots, world.manager("somebody", "Support").id) as release:
        checking = _begin(world, CLEAN, settings=one_at_a_time)
        checking.done = followed = _Followed()
        tab = _tab(world)
        ran = threading.Thread(target=tab.run)
        ran.start()
        assert followed.waited.wait(GENEROUS)  # the page is drawing the check's progress
        assert checkings().pending(world.admin.id) is checking
        release.set()
        ran.join(GENEROUS)
    assert not ran.is_alive()
    assert not tab.exception, tab.exception
    assert any(literal(block.value).startswith("**users.csv** · 2 rows") for block in tab.markdown)
    assert {metric.label: metric.value for metric in tab.metric}["New"] == "2"
    assert checkings().pending(world.admin.id) is None


def test_a_refused_file_becomes_the_screen_of_the_tab_that_takes_it(
    world: World, use_env: Callable[[Settings], None]
) -> None:
    use_env(world.settings)
    checking = _begin(world, b"Name\r\nTanaka\r\n", "no-keys.csv")
    assert checking.done.wait(GENEROUS)
    tab = _tab(world)
    tab.run()
    errors = [literal(element.value) for element in tab.error]
    assert errors[0].startswith("**no-keys.csv** cannot be checked"), errors
    assert checkings().pending(world.admin.id) is None
    tab.run()  # taken once: the tab keeps it
    assert [literal(element.value) for element in tab.error] == errors


def test_a_draft_the_server_lost_is_restored_in_the_background_or_kept_while_busy(
    world: World, use_env: Callable[[Settings], None]
) -> None:
    impatient = world.settings.model_copy(update={"check_wait_seconds": 0})
    use_env(impatient)
    checking = _begin(world, CLEAN)
    assert checking.done.wait(GENEROUS)
    checkings().take(world.admin.id, checking)
    drafts(world.settings.drafts_in_memory).drop(world.admin.id)  # a restarted server
    slots = server_slots(impatient.checks_at_once, impatient.checks_per_operator)
    tab = _tab(world)
    with held_slot(slots, world.admin.id), held_slot(slots, world.admin.id):
        tab.run()
    assert [literal(w.value) for w in tab.warning] == [
        "Your draft is kept, but it cannot be opened yet. No slot to check the file came free "
        "within 0 seconds: the server is busy with other uploads. Upload it again in a few "
        "minutes."
    ]
    assert not tab.metric  # the page stopped there
    tab.button(key=keys.DRAFT_TRY_AGAIN).click().run()
    assert not tab.warning
    assert any(literal(block.value).startswith("**users.csv** · 2 rows") for block in tab.markdown)
    assert checkings().pending(world.admin.id) is None
