"""Cookie, cache and storage reset routines, and the remedy experiments built on them.

The resets do what a seller does in Chrome's "Delete browsing data", through
Playwright and the Chrome DevTools Protocol:
https://chromedevtools.github.io/devtools-protocol/tot/Network/#method-clearBrowserCookies
https://chromedevtools.github.io/devtools-protocol/tot/Network/#method-clearBrowserCache
https://chromedevtools.github.io/devtools-protocol/tot/Storage/#method-clearDataForOrigin
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import structlog
from playwright.async_api import BrowserContext, Page

log = structlog.get_logger("probe.remedies")

# Storage types for Storage.clearDataForOrigin.
CACHE_TYPES = "cache_storage,shader_cache"
ALL_TYPES = "all"

# Amazon's own sign-in hosts, besides the Seller Central ones of the profile:
# Seller Central sends the seller to them (and their cookies' domains cover it).
SIGN_IN_HOSTS = ("www.amazon.co.jp", "www.amazon.com", "na.account.amazon.com", "apac.account.amazon.com")


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


def cookie_belongs_to(domain: str, hosts: Iterable[str]) -> bool:
    """Whether a cookie of ``domain`` is sent to one of ``hosts`` or set by a host under one of them."""
    domain = domain.lstrip(".").lower()
    if "." not in domain:  # "localhost": a cookie of one host, never of all the *.localhost stand-ins
        return domain in hosts
    return any(h == domain or h.endswith("." + domain) or domain.endswith("." + h) for h in hosts)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    if not parts.hostname or parts.scheme not in ("http", "https"):
        return ""
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1].lower()}"


def origins_of(hosts: Iterable[str]) -> list[str]:
    return [f"{scheme}://{host}" for host in hosts for scheme in ("https", "http")]


async def reset_hosts(context: BrowserContext, page: Page, hosts: Sequence[str], *, all_sites: bool = False) -> int:
    """Cookies, cache storage and site data of ``hosts`` (names or URLs) only.

    With ``all_sites``: every site's cookies, the whole HTTP cache, and the site
    data of every host that had a cookie.

    Returns how many cookies were deleted. Other sites' cookies are kept: they
    are never cleared wholesale unless ``all_sites`` says so.
    """
    # Site data is kept per origin, port included: a URL's own origin is cleared as well as its host's default ones.
    exact = {_origin(h) for h in hosts if "://" in h} - {""}
    hosts = [(urlsplit(h).hostname or h) if "://" in h else h.lower() for h in hosts]
    cookies = await context.cookies()
    if all_sites:
        doomed = cookies
        hosts = sorted({*hosts, *(c.get("domain", "").lstrip(".") for c in cookies)} - {""})
        await clear_cookies(context, page)
        await _cdp(context, page, [("Network.clearBrowserCache", {})])
    else:
        doomed = [c for c in cookies if cookie_belongs_to(c.get("domain", ""), hosts)]
        for cookie in doomed:
            await context.clear_cookies(name=cookie.get("name"), domain=cookie.get("domain"), path=cookie.get("path"))
    await _cdp(
        context,
        page,
        [
            ("Storage.clearDataForOrigin", {"origin": o, "storageTypes": ALL_TYPES})
            for o in sorted({*origins_of(hosts), *exact})
        ],
    )
    log.info("reset", hosts=len(hosts), cookies=len(doomed), all_sites=all_sites)
    return len(doomed)


# Chromium's disk cache ("simple" backend, Linux and Android): one file per entry,
# named after the key's hash, starting with a header and then the key, which
# ends with the resource's URL ("1/0/_dk_<top-frame site> <frame site> <url>").
# https://chromium.googlesource.com/chromium/src/+/main/net/disk_cache/simple/simple_entry_format.h
_SIMPLE_MAGIC = 0xFCFB6D1BA7725C30
_SIMPLE_HEADER = struct.Struct("<QIII4x")


def _cache_key(entry: Path) -> str | None:
    try:
        with entry.open("rb") as handle:
            header = handle.read(_SIMPLE_HEADER.size)
            if len(header) < _SIMPLE_HEADER.size:
                return None
            magic, _version, key_length, _hash = _SIMPLE_HEADER.unpack(header)
            if magic != _SIMPLE_MAGIC or key_length > 1 << 20:
                return None
            return handle.read(key_length).decode("utf-8", "replace")
    except OSError:
        return None


def _key_hosts(key: str) -> list[str]:
    """The hosts a cache key names: the resource's, and its partition's top-frame and frame sites."""
    hosts = []
    for part in key.split(" "):
        part = part.split("_dk_", 1)[-1]
        if "://" in part:
            with contextlib.suppress(ValueError):
                hosts.append(urlsplit(part).hostname or "")
    return [h for h in hosts if h]


def prune_http_cache(user_data_dir: Path, hosts: Sequence[str]) -> int:
    """Delete, in a closed profile, the HTTP cache entries of ``hosts`` (and those cached while on their site).

    Chromium offers no per-site way to clear its HTTP cache over CDP. Other
    sites' entries stay; the cache index is dropped so that Chromium rebuilds
    it from the entries left. Returns how many entries were deleted.
    """
    folder = user_data_dir / "Default" / "Cache" / "Cache_Data"
    if not folder.is_dir():
        return 0
    deleted = 0
    for entry in sorted(folder.glob("*_0")):
        key = _cache_key(entry)
        if key is None or not any(cookie_belongs_to(h, hosts) for h in _key_hosts(key)):
            continue
        stem = entry.name[: -len("_0")]
        for suffix in ("_0", "_1", "_s"):
            (folder / f"{stem}{suffix}").unlink(missing_ok=True)
        deleted += 1
    if deleted:
        (folder / "index-dir" / "the-real-index").unlink(missing_ok=True)
    return deleted
