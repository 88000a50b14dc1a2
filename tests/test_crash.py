"""The probe's own failures are its own: a browser that dies mid-run is exit 3, never a verdict."""

from __future__ import annotations

import asyncio

import pytest

from probe.browser import BrowserSession
from probe.errors import InfraError
from probe.harness import play
from probe.runner import RunOptions
from probe.scenarios import load_scenario

from .conftest import run_async


def test_a_browser_closed_under_a_run_is_an_infrastructure_failure() -> None:
    async def go() -> None:
        async with BrowserSession() as session:
            assert session.browser is not None
            # device_desktop_broken takes several sign-ins: the browser goes away in the middle of them.
            run = asyncio.create_task(play(load_scenario("device_desktop_broken"), session, RunOptions()))
            browser = session.browser
            # Close it as soon as the run's first page has loaded something from the mock.
            for _ in range(600):
                if any(p.url.startswith("http") for c in browser.contexts for p in c.pages) or run.done():
                    break
                await asyncio.sleep(0.05)
            assert not run.done(), "the scenario ended before the browser could be closed under it"
            await browser.close()
            await run

    with pytest.raises(InfraError) as failure:
        run_async(go())
    message = str(failure.value)
    assert "\n" not in message
    assert "browser" in message
