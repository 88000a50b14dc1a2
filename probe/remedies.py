"""Cookie, cache and storage reset routines, and the remedy experiments built on them.

The resets do what a seller does in Chrome's "Delete browsing data", through
Playwright and the Chrome DevTools Protocol:
https://chromedevtools.github.io/devtools-protocol/tot/Network/#method-clearBrowserCookies
https://chromedevtools.github.io/devtools-protocol/tot/Network/#method-clearBrowserCache
https://chromedevtools.github.io/devtools-protocol/tot/Storage/#method-clearDataForOrigin
"""

from __future__ import annotations

from collections.abc import Iterable

import structlog
from playwright.async_api import BrowserContext, Page

log = structlog.get_logger("probe.remedies")

# Storage types for Storage.clearDataForOrigin.
CACHE_TYPES = "cache_storage,shader_cache"
ALL_TYPES = "all"


async def _cdp(context: BrowserContext, page: Page, calls: Iterable[tuple[str, dict[str, str]]]) -> None:
    session = await context.new_cdp_session(page)
    try:
        for method, params in calls:
            await session.send(method, params)
    finally:
        await session.detach()


async def clear_cookies(context: BrowserContext, page: Page) -> None:
    await context.clear_cookies()
    # Playwright's clear_cookies covers the context; the CDP call also drops
    # what the network stack holds for the profile.
    await _cdp(context, page, [("Network.clearBrowserCookies", {})])


async def clear_cache(context: BrowserContext, page: Page, origins: Iterable[str]) -> None:
    calls: list[tuple[str, dict[str, str]]] = [("Network.clearBrowserCache", {})]
    calls += [("Storage.clearDataForOrigin", {"origin": o, "storageTypes": CACHE_TYPES}) for o in origins]
    await _cdp(context, page, calls)


async def clear_site_data(context: BrowserContext, page: Page, origins: Iterable[str]) -> None:
    await _cdp(
        context, page, [("Storage.clearDataForOrigin", {"origin": o, "storageTypes": ALL_TYPES}) for o in origins]
    )


async def reset_browser(context: BrowserContext, page: Page, origins: Iterable[str]) -> None:
    """Everything at once: cookies, cache and every kind of site storage."""
    origins = list(origins)
    await clear_cookies(context, page)
    await clear_cache(context, page, origins)
    await clear_site_data(context, page, origins)
    log.info("reset", origins=len(origins))
