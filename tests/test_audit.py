"""No known vulnerability in the dependencies installed: each is looked up in the package
registry's JSON API, whose ``vulnerabilities`` (from the OSV database) describe the newest
release. A dependency older than its newest release cannot be judged that way; the test names
those it could not judge, and ``docs/security.md`` says why each is held back."""

from __future__ import annotations

import importlib.metadata
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from pip_audit._dependency_source.interface import PYPI_URL

# The registry's JSON API, beside its simple index (pip-audit's own constant).
JSON_API = PYPI_URL.removesuffix("simple/") + "pypi/{name}/json"
# A vulnerability found that does not apply here: its id -> why (docs/security.md).
DOES_NOT_APPLY: dict[str, str] = {}
# Dependencies held below their newest release on purpose (docs/security.md).
HELD_BACK = {"redis", "rq"}
# A release younger than this may not have reached the index the installer reads.
JUST_RELEASED = timedelta(days=7)


def _installed() -> dict[str, str]:
    found = {
        canonicalize_name(dist.metadata["Name"]): dist.version
        for dist in importlib.metadata.distributions()
        if dist.metadata["Name"]
    }
    found.pop("userbatch", None)
    return found


@dataclass(frozen=True)
class _Newest:
    """What the registry says of a project's newest release."""

    version: str
    vulnerabilities: list[dict[str, Any]]
    installable_here: bool  # its requires_python admits this interpreter
    age: timedelta  # since it was uploaded


def _newest(session: requests.Session, name: str) -> _Newest:
    response = session.get(JSON_API.format(name=name), timeout=60)
    response.raise_for_status()
    project = response.json()
    version = project["info"]["version"]
    files = project.get("releases", {}).get(version) or project.get("urls") or []
    python = ".".join(map(str, sys.version_info[:3]))
    requires = {file.get("requires_python") or "" for file in files} or {""}
    uploaded = [datetime.fromisoformat(file["upload_time_iso_8601"]) for file in files]
    return _Newest(
        version=version,
        vulnerabilities=project.get("vulnerabilities") or [],
        installable_here=any(python in SpecifierSet(spec) for spec in requires),
        age=datetime.now(UTC) - min(uploaded) if uploaded else timedelta.max,
    )


@pytest.mark.slow
def test_no_dependency_has_a_known_vulnerability() -> None:
    installed = _installed()
    with requests.Session() as session, ThreadPoolExecutor(8) as pool:
        try:
            looked_up = pool.map(lambda name: _newest(session, name), installed)
            newest = dict(zip(installed, looked_up, strict=True))
        except requests.RequestException as exc:
            pytest.fail(f"the registry's vulnerability data cannot be read: {exc}")
    found = [
        f"{name} {installed[name]}: {vulnerability['id']} (fixed in "
        f"{', '.join(map(str, vulnerability.get('fixed_in') or [])) or 'no release'})"
        for name, release in newest.items()
        if release.version == installed[name]
        for vulnerability in release.vulnerabilities
        if not vulnerability.get("withdrawn") and vulnerability["id"] not in DOES_NOT_APPLY
    ]
    assert not found, f"known vulnerabilities: {found}"
    behind = {
        name
        for name, release in newest.items()
        if release.version != installed[name]
        # Not a range to widen: the newest does not install on this Python, or it is so new
        # that the index the installer reads may not hold it yet.
        and release.installable_here
        and release.age > JUST_RELEASED
    }
    assert behind <= HELD_BACK, (
        f"{sorted(behind - HELD_BACK)} are older than their newest release, so their "
        "vulnerabilities cannot be looked up: widen their range in pyproject.toml, or hold them "
        "back in HELD_BACK with a reason in docs/security.md"
    )
    assert len(newest) > 50  # the whole environment was looked up, not a part
