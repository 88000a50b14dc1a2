"""The library, called directly: retries with a fake sleep, a changed world, the reset routine."""

from __future__ import annotations

from pathlib import Path

from probe.browser import BrowserSession
from probe.harness import play
from probe.outcomes import Verdict
from probe.report import Result
from probe.runner import RunOptions, reset_profile
from probe.scenarios import Scenario, load_scenario

from .conftest import run_async, run_cli


def play_with(scenario: Scenario, options: RunOptions) -> Result:
    async def go() -> Result:
        async with BrowserSession() as session:
            return await play(scenario, session, options)

    return run_async(go())


def test_transient_errors_back_off_through_the_injected_sleep() -> None:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    result = play_with(load_scenario("system_error_transient"), RunOptions(sleep=fake_sleep))
    assert result.verdict == "system_error"
    assert result.transient is True
    assert result.attempts == 3
    assert len(slept) == 2
    assert all(0 <= s <= 2.0 for s in slept)


def test_the_same_world_with_another_fault_gets_another_verdict() -> None:
    scenario = load_scenario("ok")
    locked = scenario.model_copy(
        update={
            "site": scenario.site.model_copy(
                update={"accounts": [scenario.site.accounts[0].model_copy(update={"status": "locked"})]}
            )
        }
    )
    result = play_with(locked, RunOptions())
    assert result.verdict == Verdict.ACCOUNT_TAKEOVER_SUSPECTED.value
    assert result.match is False
    assert result.expected == "ok"


def test_reset_clears_a_profile_on_disk(tmp_path: Path) -> None:
    async def seed_and_check() -> tuple[int, int]:
        async with BrowserSession() as session:
            async with session.persistent_context(tmp_path) as context:
                await context.add_cookies(
                    [{"name": "session-id", "value": "355-0000000-0000000", "domain": ".amazon.co.jp", "path": "/"}]
                )
                before = len(await context.cookies())
            await reset_profile(tmp_path, ["https://sellercentral.amazon.co.jp"], session)
            async with session.persistent_context(tmp_path) as context:
                after = len(await context.cookies())
        return before, after

    assert run_async(seed_and_check()) == (1, 0)


def test_reset_command_needs_an_existing_profile(tmp_path: Path) -> None:
    done = run_cli("reset", "--profile", str(tmp_path / "missing"))
    assert done.returncode == 2
    assert "no browser profile folder" in done.stderr
    done = run_cli("reset", "--profile", str(tmp_path))
    assert done.returncode == 2
    assert "is not a Chromium profile" in done.stderr
    (tmp_path / "Local State").write_text("{}")
    done = run_cli("reset", "--profile", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "cleared cookies (0), cache and site data" in done.stdout
