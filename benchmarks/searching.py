"""Manage users with 1M users: the first page, and searches, as the screen asks for them
(the groups of the picker, then one page of matching users and how many match in all)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from benchmarks import data, naive
from benchmarks.figures import Figure, Sizes, shown
from benchmarks.measure import median, peak_mb, run_step, timed
from userbatch.admin.users import search_users
from userbatch.directory.groups import groups_in_scope

# A family name (many users), a Japanese name, one user's e-mail, a number, no match at all.
SEARCHES = ["tanaka", "佐藤 花子", "hanako.ito", "0004242", "no-such-person"]
NAIVE_USERS = 50_000


def _screen(engine: Engine, text: str) -> int:
    groups_in_scope(engine, "")
    _, total = search_users(engine, scope_path="", text=text, page=1, page_size=50)
    return total


def users_step(database: str, repeats: int, naive_users: int) -> dict[str, Any]:
    """Step: the first page ``repeats`` times, then each search once; then the naive
    baseline over ``naive_users`` users."""
    engine = data.installation(data.reading(database)).engine
    _screen(engine, "warm-up")  # compiled statements, as on a running server
    first = [timed(lambda: _screen(engine, ""))[0] for _ in range(repeats)]
    searches = {text: timed(lambda text=text: _screen(engine, text)) for text in SEARCHES}
    return {
        "first_page_s": first,
        "search_s": {text: seconds for text, (seconds, _) in searches.items()},
        "matches": {text: total for text, (_, total) in searches.items()},
        "peak_mb": peak_mb(),
        "naive": naive.users(database, naive_users, SEARCHES[0]),
    }


def figures(sizes: Sizes) -> list[Figure]:
    """users_first_page_s, users_search_s."""
    database = str(data.seeded_sqlite(sizes.users))
    sample = min(NAIVE_USERS, sizes.users)
    found = run_step("users", database=database, repeats=max(3, sizes.repeats), naive_users=sample)
    baseline = found["naive"]
    scale = sizes.users / sample
    first = median(found["first_page_s"])
    naive_first = baseline["first_page_s"] * scale
    searches = list(found["search_s"].values())
    search = median(searches)
    naive_search = baseline["search_s"] * scale
    matches = ", ".join(f"'{text}' {total:,}" for text, total in found["matches"].items())
    return [
        Figure(
            "users_first_page_s", first, found["first_page_s"], peak_mb=found["peak_mb"],
            baseline=f"{shown(naive_first, 's')} (ORM, sorted in Python; {sample:,} × "
            f"{scale:,.0f})",
            vs_baseline=naive_first / first,
            note=f"{sizes.users:,} users; 50 a page, with the total count",
        ),
        Figure(
            "users_search_s", search, searches, peak_mb=found["peak_mb"],
            baseline=f"{shown(naive_search, 's')} (ORM, filtered in Python; {sample:,} × "
            f"{scale:,.0f})",
            vs_baseline=naive_search / search,
            note=f"median of {len(searches)} searches; matches: {matches}",
        ),
    ]  # fmt: skip
