"""Finding a Chromium: PROBE_CHROMIUM, then Playwright's, then the system's; else one clear line."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from probe.browser import HOW_TO_GET_ONE, find_chromium
from probe.errors import InfraError


def executable(path: Path) -> Path:
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_probe_chromium_wins(tmp_path: Path) -> None:
    mine = executable(tmp_path / "my-chromium")
    managed = executable(tmp_path / "managed")
    choice = find_chromium({"PROBE_CHROMIUM": str(mine), "PATH": ""}, str(managed))
    assert (choice.executable, choice.source) == (str(mine), "PROBE_CHROMIUM")


def test_a_missing_probe_chromium_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    with pytest.raises(InfraError, match=r"PROBE_CHROMIUM=.* is not an executable file"):
        find_chromium({"PROBE_CHROMIUM": str(tmp_path / "nope"), "PATH": ""}, None)


def test_playwright_managed_before_system(tmp_path: Path) -> None:
    managed = executable(tmp_path / "chrome")
    executable(tmp_path / "chromium")
    choice = find_chromium({"PATH": str(tmp_path)}, str(managed))
    assert (choice.executable, choice.source) == (None, "playwright")


def test_system_chromium_on_path(tmp_path: Path) -> None:
    system = executable(tmp_path / "chromium")
    choice = find_chromium({"PATH": str(tmp_path)}, str(tmp_path / "not-downloaded"))
    assert (choice.executable, choice.source) == (str(system), "system")


def test_none_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(InfraError) as info:
        find_chromium({"PATH": str(tmp_path)}, None)
    assert str(info.value) == HOW_TO_GET_ONE
    assert "apt-get install chromium" in HOW_TO_GET_ONE
