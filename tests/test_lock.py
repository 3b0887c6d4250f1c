"""requirements.lock is the one install path (./scripts/setup installs it with --no-deps): every
direct dependency in pyproject.toml, the dev extra included, must be pinned there, or a clean
machine (CI) lacks it while a developer's older venv still has it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pinned() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"requirements.lock: {line!r} is not pinned with =="
            pins[_canonical(name)] = version
    return pins


def _direct() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        names.extend(extra)
    return [_canonical(re.split(r"[\[<>=!~; ]", name, maxsplit=1)[0]) for name in names]


def test_every_direct_dependency_is_pinned_in_the_lock() -> None:
    pins = _pinned()
    missing = sorted(name for name in _direct() if name not in pins)
    assert not missing, f"pin these in requirements.lock (pip install --no-deps NAME==VERSION): {missing}"


def test_the_lock_names_each_package_once() -> None:
    names = [_canonical(line.partition("==")[0]) for line in (ROOT / "requirements.lock").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})
