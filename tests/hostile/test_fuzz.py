"""Fuzzing the reader and the check: over a few thousand files, no input makes them raise
anything but a file-level error, and every row of what they read ends with a status."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import add_people, make_world
from userbatch.check.run import check_sheet
from userbatch.check.state import CheckOptions
from userbatch.errors import CsvFileError
from userbatch.files.reader import read_sheet
from userbatch.settings import Settings

# A fixed number of files, not a fixed time, so that a machine of any speed tries as many:
# one run of this many takes ~40 s on a 2-core machine.
EXAMPLES = 5000
LABELS = ["Login ID", "Name", "Email", "Password", "Status", "Expiration date", "Belong to",
          "ログインID", "名前", "Nmae", ""]  # fmt: skip
CELLS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["abcde", "sato0002", "a@b.jp", "Sales", "Sales>>Tokyo", "有効", "2025-02-30",
                     "'=1+1", "ｓａｔｏ０００２", "x||y", "Sales>>>>", "\u3000", "😀", "\u202e"]),
)  # fmt: skip


@st.composite
def files(draw: st.DrawFn) -> bytes:
    """CSV-like files: a header of known and odd labels, rows of odd cells, any delimiter,
    quotes and line ends, in any of the encodings a file arrives in — or plain bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=400))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    newline = draw(st.sampled_from(["\r\n", "\n", "\r", ""]))
    quote = draw(st.sampled_from(["", '"', '"' * 2]))
    header = draw(st.lists(st.sampled_from(LABELS), min_size=1, max_size=6))
    rows = draw(st.lists(st.lists(CELLS, max_size=8), max_size=12))
    lines = [delimiter.join(quote + cell + quote for cell in row) for row in [header, *rows]]
    text = (newline or "\n").join(lines) + newline
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp932", "utf-16"]))
    return text.encode(encoding, errors="replace")


def test_fuzzing_finds_no_crash(make_settings: Callable[..., Settings]) -> None:
    world = add_people(make_world(make_settings("sqlite")))
    columns = world.columns()
    options = CheckOptions(columns=columns, working_group=world.groups[""])

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(files())
    def one(data: bytes) -> None:
        try:
            sheet = read_sheet(data, file_name="x.csv", columns=columns, max_bytes=2**20,
                               max_rows=1000, workbook_mb=512)  # fmt: skip
        except CsvFileError as exc:
            assert exc.problems and all(code and str(message) for code, message in exc.problems)
            return
        result = check_sheet(world.engine, sheet, options)
        assert sum(result.counts.values()) == sheet.rows
        for row in result.ordered():
            assert row.status in ("new", "update", "unchanged", "error")
            assert all(issue.row == row.row and str(issue.message) for issue in row.issues)

    one()
