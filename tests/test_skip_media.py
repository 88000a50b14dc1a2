"""Fleet checks skip images and web fonts (no verdict needs them) without losing the browser's HTTP cache."""

from __future__ import annotations

import pytest

from probe.browser import BrowserSession

from .conftest import run_async
from .media_site import MEDIA_PATHS, NEEDED_PATHS, media_site


async def visit_twice(session: BrowserSession, url: str) -> None:
    async with session.context() as context:
        page = await context.new_page()
        for _ in range(2):
            await page.goto(url)
            await page.wait_for_load_state("load")
            assert await page.locator("h1").inner_text() == "Sign-In"


@pytest.mark.parametrize("skip", [False, True])
def test_a_launched_browser_skips_media_and_keeps_its_cache(skip: bool) -> None:
    with media_site() as (url, asked):

        async def run() -> None:
            async with BrowserSession(skip_media=skip) as session:
                await visit_twice(session, url)

        run_async(run())
    fetched = set(asked)
    assert fetched >= NEEDED_PATHS
    if skip:
        assert not fetched & MEDIA_PATHS, asked
    else:
        assert fetched >= MEDIA_PATHS
    # The second visit took the stylesheet and the script from the cache: nothing intercepts requests.
    assert asked.count("/style.css") == 1, asked
    assert asked.count("/app.js") == 1, asked
