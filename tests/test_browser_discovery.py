"""Finding a Chromium: PROBE_CHROMIUM, then Playwright's, then the system's; else one clear line."""

from __future__ import annotations

import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

from probe.browser import HOW_TO_GET_ONE, BrowserSession, ChromiumChoice, find_chromium
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


def test_the_system_headless_shell_is_found_beside_the_system_chromium(tmp_path: Path) -> None:
    system = executable(tmp_path / "chromium")
    shell = executable(tmp_path / "chromium-headless-shell")
    choice = find_chromium({"PATH": str(tmp_path)}, None)
    assert (choice.executable, choice.headless_shell) == (str(system), str(shell))
    executable(tmp_path / "elsewhere-only")
    assert find_chromium({"PATH": str(tmp_path / "nowhere") + ":" + str(tmp_path)}, None).headless_shell == str(shell)


def test_an_explicit_chromium_is_used_for_everything(tmp_path: Path) -> None:
    mine = executable(tmp_path / "my-chromium")
    executable(tmp_path / "chromium-headless-shell")
    choice = find_chromium({"PROBE_CHROMIUM": str(mine), "PATH": str(tmp_path)}, None)
    assert choice.headless_shell is None


def session_with(choice: ChromiumChoice, managed: str, *, headed: bool = False) -> BrowserSession:
    session = BrowserSession(headed=headed, env={})
    session.choice = choice
    session.playwright = SimpleNamespace(chromium=SimpleNamespace(executable_path=managed))  # type: ignore[assignment]
    return session


def test_headless_contexts_use_the_shell_a_profile_on_disk_and_a_headed_run_the_full_browser(tmp_path: Path) -> None:
    system = executable(tmp_path / "chromium")
    shell = executable(tmp_path / "chromium-headless-shell")
    choice = ChromiumChoice(str(system), "system", str(shell))
    headless = session_with(choice, "")
    assert headless.launch_args()["executable_path"] == str(shell)
    assert headless.launch_args(profile_on_disk=True)["executable_path"] == str(system)
    headed = session_with(choice, "", headed=True)
    assert headed.launch_args()["executable_path"] == str(system)
    assert headed.launch_args()["headless"] is False
    plain = session_with(ChromiumChoice(str(system), "system"), "")
    assert plain.launch_args()["executable_path"] == str(system)


def test_playwrights_own_browser_gives_a_profile_on_disk_its_full_chromium(tmp_path: Path) -> None:
    managed = executable(tmp_path / "chrome")
    session = session_with(ChromiumChoice(None, "playwright"), str(managed))
    assert "executable_path" not in session.launch_args()  # Playwright picks its headless shell itself
    assert session.launch_args(profile_on_disk=True)["executable_path"] == str(managed)
    missing = session_with(ChromiumChoice(None, "playwright"), str(tmp_path / "not-downloaded"))
    assert "executable_path" not in missing.launch_args(profile_on_disk=True)
