"""Finding and launching Chromium, and making browser contexts.

Order of preference: ``PROBE_CHROMIUM``, a Playwright-managed Chromium, then a
system Chromium. Playwright's own download is not possible everywhere
(offline machines, locked-down CI), so the system browser is a first-class
choice, launched with flags that keep it quiet on a closed network.

Headless sign-ins run, as Playwright's own headless default does, on the
headless shell where there is one (Playwright's ``chromium_headless_shell``,
Debian's ``chromium-headless-shell``): the same engine without the desktop
browser's user interface, about half the CPU per sign-in. A profile on disk
(a seller's own browser, with its settings) and a headed run use the full
browser, which reads the profile's preferences as a seller's Chrome does.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from playwright.async_api import Browser, BrowserContext, Page, Playwright, Request, Route, async_playwright
from playwright.async_api import Error as PlaywrightError

from .errors import InfraError, UsageError
from .remedies import clear_site_data, reset_hosts

QUIET_ARGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-default-apps",
)
SYSTEM_CHROMIUMS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SYSTEM_HEADLESS_SHELLS = ("chromium-headless-shell", "chrome-headless-shell")
HOW_TO_GET_ONE = (
    "no Chromium found: run `make setup`, or `python -m playwright install chromium`, "
    "or `apt-get install chromium` (Debian), or set PROBE_CHROMIUM to a Chromium binary"
)

# Device profiles the probe can sign in with. The phone entries are names of
# Playwright's device descriptors.
DEVICES = {"desktop": None, "iphone": "iPhone 13", "android": "Pixel 7"}
CONTEXT_DEFAULTS: dict[str, Any] = {"locale": "ja-JP", "timezone_id": "Asia/Tokyo"}


@dataclass(frozen=True)
class ChromiumChoice:
    executable: str | None  # None: Playwright's own browser
    source: str  # "PROBE_CHROMIUM", "playwright", "system" or "remote"
    # The system's headless shell, for headless contexts without a profile on disk
    # (Playwright's own browser picks its own headless shell by itself).
    headless_shell: str | None = None


def find_chromium(env: Mapping[str, str], managed: str | None) -> ChromiumChoice:
    """Pick a Chromium; ``managed`` is Playwright's own executable path."""
    explicit = env.get("PROBE_CHROMIUM")
    if explicit:
        if not (Path(explicit).is_file() and os.access(explicit, os.X_OK)):
            raise InfraError(f"PROBE_CHROMIUM={explicit} is not an executable file")
        return ChromiumChoice(explicit, "PROBE_CHROMIUM")
    if managed and Path(managed).is_file():
        return ChromiumChoice(None, "playwright")
    path = env.get("PATH", os.defpath)
    for name in SYSTEM_CHROMIUMS:
        found = shutil.which(name, path=path)
        if found:
            return ChromiumChoice(found, "system", _system_headless_shell(path))
    raise InfraError(HOW_TO_GET_ONE)


def _system_headless_shell(path: str) -> str | None:
    for name in SYSTEM_HEADLESS_SHELLS:
        found = shutil.which(name, path=path)
        if found:
            return found
    return None


# How long connecting to a remote browser server may take (the WebSocket handshake and the browser's start).
CONNECT_TIMEOUT_MS = 30_000
NO_PROFILE_REMOTELY = (
    "a remote browser (--connect) cannot use a browser profile on disk; run this case with a local browser"
)


class BrowserSession:
    """One Playwright and one Chromium, shared by every sign-in of a run.

    ``connect``: the WebSocket endpoint of a Playwright browser server (``playwright
    run-server``, ``BrowserType.launch_server`` or a grid that speaks its protocol);
    the sign-ins then run in that browser, on whatever machine serves it.
    """

    def __init__(
        self,
        *,
        headed: bool = False,
        env: Mapping[str, str] | None = None,
        connect: str | None = None,
        skip_media: bool = False,
    ) -> None:
        """``skip_media``: images, fonts and media are not fetched (no verdict needs them; fleet checks).

        A browser the probe launches is told so by Chromium's own switches. A
        remote one gets a route that aborts them, which costs more: any route
        makes Playwright pause every request and turn the HTTP cache off, so each
        page fetches its scripts and styles again.
        """
        self.headed = headed
        self.env = os.environ if env is None else env
        self.connect = connect
        self.skip_media = skip_media
        self._pw_cm: Any = None
        self.playwright: Playwright | None = None
        self.browser: Browser | None = None
        self.choice: ChromiumChoice | None = None

    async def __aenter__(self) -> BrowserSession:
        self._pw_cm = async_playwright()
        self.playwright = await self._pw_cm.__aenter__()
        try:
            if self.connect:
                self.choice = ChromiumChoice(None, "remote")
                self.browser = await self._connect(self.playwright, self.connect)
            else:
                self.choice = find_chromium(self.env, self.playwright.chromium.executable_path)
                self.browser = await self.playwright.chromium.launch(**self.launch_args())
        except Exception as exc:
            await self._pw_cm.__aexit__(None, None, None)
            if isinstance(exc, InfraError):
                raise
            raise InfraError(f"Chromium did not start: {_first_line(exc)}") from exc
        return self

    @staticmethod
    async def _connect(playwright: Playwright, endpoint: str) -> Browser:
        try:
            return await playwright.chromium.connect(endpoint, timeout=CONNECT_TIMEOUT_MS)
        except Exception as exc:
            shown = shown_endpoint(endpoint)
            raise InfraError(f"cannot use the browser server at {shown}: {_first_line(exc)}") from exc

    @property
    def remote(self) -> bool:
        return bool(self.connect)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.browser is not None:
            await self.browser.close()
        await self._pw_cm.__aexit__(exc_type, exc, tb)

    def launch_args(self, *, profile_on_disk: bool = False) -> dict[str, Any]:
        """Launch options: the headless shell for headless contexts, the full browser for a profile on disk."""
        assert self.choice is not None
        assert self.playwright is not None
        args: dict[str, Any] = {"headless": not self.headed, "args": list(QUIET_ARGS)}
        if self.skip_media:
            args["args"] += SKIP_MEDIA_ARGS
        executable = self.choice.executable
        if profile_on_disk and executable is None:
            # Playwright's headless default is its headless shell; a profile's settings need the full browser.
            managed = self.playwright.chromium.executable_path
            executable = managed if managed and Path(managed).is_file() else None
        elif not (profile_on_disk or self.headed) and self.choice.headless_shell:
            executable = self.choice.headless_shell
        if executable:
            args["executable_path"] = executable
        return args

    def context_args(self, device: str = "desktop") -> dict[str, Any]:
        assert self.playwright is not None
        assert self.browser is not None
        descriptor = DEVICES[device]
        options: dict[str, Any] = dict(CONTEXT_DEFAULTS)
        if descriptor is None:
            options["viewport"] = {"width": 1280, "height": 860}
            # Headless Chromium says "HeadlessChrome" in its user agent; a
            # seller's browser does not, and sites may treat the two apart.
            options["user_agent"] = _desktop_user_agent(self.browser.version)
        else:
            options.update(self.playwright.devices[descriptor])
        return options

    @asynccontextmanager
    async def persistent_context(
        self, user_data_dir: Path, device: str = "desktop", *, block_cookies: bool = False, **extra: Any
    ) -> AsyncIterator[BrowserContext]:
        """A browser with its profile on disk: cookies and cache survive a restart, as a seller's do.

        ``block_cookies`` sets the profile's own content setting, as a seller who
        blocked cookies in Chrome's settings has it: the browser then neither
        stores nor sends any cookie.
        """
        assert self.playwright is not None
        if self.remote:
            raise UsageError(NO_PROFILE_REMOTELY)
        if block_cookies:
            block_cookies_in(user_data_dir)
        options = {k: v for k, v in self.context_args(device).items() if k not in _NOT_FOR_PERSISTENT}
        context = await self.playwright.chromium.launch_persistent_context(
            str(user_data_dir), **self.launch_args(profile_on_disk=True), **options, **extra
        )
        try:
            yield context
        finally:
            await context.close()

    @asynccontextmanager
    async def context(self, device: str = "desktop", **extra: Any) -> AsyncIterator[BrowserContext]:
        """A fresh context; ``extra`` are more ``new_context`` options (such as HAR recording)."""
        context = await self.new_context(device, **extra)
        try:
            yield context
        finally:
            await context.close()

    async def new_context(self, device: str = "desktop", **extra: Any) -> BrowserContext:
        """A fresh context the caller closes."""
        assert self.browser is not None
        context = await self.browser.new_context(**self.context_args(device), **extra)
        try:
            if self.skip_media and self.remote:
                # A remote browser takes no launch switches: route, at the cost of its HTTP cache.
                await context.route(MEDIA, _skip)
        except BaseException:
            await context.close()
            raise
        return context


@dataclass
class _Pooled:
    """A context of the pool, its page that is kept open, and the hosts its sign-ins reached."""

    context: BrowserContext
    device: str
    kept: Page
    origins: set[str] = field(default_factory=set)  # scheme://host[:port]
    uses: int = 0

    def saw(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https") and parts.hostname:
            self.origins.add(f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}")


class Unclean(Exception):
    """A context handed back to the pool still holds something of the last sign-in."""


class ContextPool:
    """Browser contexts reused across the sign-ins of one run, wiped between them.

    Opening a context is cheap; its first page (a renderer of its own) is not. A
    pooled context keeps one blank page open, which no sign-in uses and which never
    navigates, and each sign-in opens its own page in it, as in a fresh context.
    When a sign-in is done, every other page is closed and the context is wiped as
    Chrome's "Delete browsing data" for all time does it: every cookie, the HTTP
    cache, and every kind of site storage (local storage, IndexedDB, cache storage,
    service workers, file systems) of every origin a request of it went to; session
    storage went with the closed pages. Then the wipe is checked: a context with a
    cookie left, a page left, or storage still counted for one of those origins is
    closed, never reused, and so is a context whose sign-in raised.

    Only contexts of the same device profile are reused for one another, and at most
    ``size`` are kept idle (one per concurrent sign-in). A context with other options
    (HAR recording) is never pooled: ask the session for a fresh one.
    """

    def __init__(self, session: BrowserSession, size: int) -> None:
        self.session = session
        self.size = max(1, size)
        self._idle: dict[str, list[_Pooled]] = {}
        self.opened = 0  # contexts made, for tests and benchmarks
        self.reused = 0  # sign-ins that got a context an earlier one used
        self.discarded = 0  # contexts closed instead of reused (an unclean wipe, a failed sign-in)

    async def __aenter__(self) -> ContextPool:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def idle(self, device: str = "desktop") -> int:
        """How many wiped contexts of ``device`` wait to be reused."""
        return len(self._idle.get(device, ()))

    async def close(self) -> None:
        idle = [pooled for group in self._idle.values() for pooled in group]
        self._idle.clear()
        for pooled in idle:
            await _close_quietly(pooled.context)

    @asynccontextmanager
    async def context(self, device: str = "desktop") -> AsyncIterator[BrowserContext]:
        """A context for one sign-in: a wiped one of ``device`` when there is one, else a new one."""
        pooled = await self._take(device)
        if pooled.uses:
            self.reused += 1
        pooled.uses += 1
        try:
            yield pooled.context
        except BaseException:
            self.discarded += 1
            await _close_quietly(pooled.context)
            raise
        await self._give_back(pooled)

    async def _take(self, device: str) -> _Pooled:
        idle = self._idle.setdefault(device, [])
        return idle.pop() if idle else await self._open(device)

    async def _open(self, device: str) -> _Pooled:
        context = await self.session.new_context(device)
        try:
            kept = await context.new_page()
        except BaseException:
            await context.close()
            raise
        pooled = _Pooled(context, device, kept)
        context.on("request", pooled.saw)
        self.opened += 1
        return pooled

    async def _give_back(self, pooled: _Pooled) -> None:
        idle = self._idle.setdefault(pooled.device, [])
        try:
            await wipe(pooled.context, pooled.kept, pooled.origins)
        except BaseException as exc:  # unclean, the browser failing, or the run cancelled meanwhile
            self.discarded += 1
            await _close_quietly(pooled.context)
            if isinstance(exc, Unclean | PlaywrightError):
                return
            raise
        pooled.origins.clear()
        if len(idle) >= self.size:
            await _close_quietly(pooled.context)
            return
        idle.append(pooled)


async def wipe(context: BrowserContext, kept: Page, origins: set[str]) -> None:
    """Close every page but ``kept``; delete every cookie, the HTTP cache and the site data of ``origins``; check.

    ``origins`` are ``scheme://host[:port]``: site data is kept per origin, port
    included. Raises ``Unclean`` when a cookie, another page or stored data of one
    of ``origins`` is left.
    """
    if kept.is_closed() or kept.url != "about:blank":
        raise Unclean("the kept page was closed or navigated")
    for page in context.pages:
        if page is not kept:
            await page.close()
    hosts = sorted({urlsplit(origin).hostname or "" for origin in origins} - {""})
    # Every cookie and the HTTP cache; the site data of each host (on its default ports) and of each origin.
    await reset_hosts(context, kept, hosts, all_sites=True)
    await clear_site_data(context, kept, sorted(origins))
    left = await context.cookies()
    if left:
        raise Unclean(f"{len(left)} cookie(s) left")
    if [page for page in context.pages if page is not kept]:
        raise Unclean("a page opened during the wipe")
    stored = await stored_bytes(context, kept, origins)
    if stored:
        raise Unclean(f"{stored} byte(s) of site data left")


async def stored_bytes(context: BrowserContext, page: Page, origins: set[str]) -> int:
    """What the quota system still counts for ``origins`` (IndexedDB, cache storage, service workers, file systems)."""
    if not origins:
        return 0
    session = await context.new_cdp_session(page)
    try:
        total = 0
        for origin in sorted(origins):
            usage = await session.send("Storage.getUsageAndQuota", {"origin": origin})
            total += int(usage.get("usage", 0))
        return total
    finally:
        await session.detach()


async def _close_quietly(context: BrowserContext) -> None:
    with contextlib.suppress(PlaywrightError):  # the browser went away: nothing is left to close
        await context.close()


# Chromium's switches for the same: no images, no web fonts, no media playing by itself.
SKIP_MEDIA_ARGS = (
    "--blink-settings=imagesEnabled=false",
    "--disable-remote-fonts",
    "--autoplay-policy=user-gesture-required",
)

# Images, fonts and media, by their address (only these requests are routed; the rest go straight out).
MEDIA = re.compile(r"\.(?:png|jpe?g|gif|webp|avif|svg|ico|bmp|woff2?|ttf|otf|eot|mp4|webm|mp3|ogg|wav)(?:[?#]|$)", re.I)


async def _skip(route: Route) -> None:
    await route.abort("blockedbyclient")


# Device descriptor keys that describe the browser, not the context:
# ``launch_persistent_context`` refuses them.
_NOT_FOR_PERSISTENT = frozenset({"default_browser_type"})


def block_cookies_in(user_data_dir: Path) -> None:
    """Set "block all cookies" in a Chromium profile's preferences, before it starts."""
    prefs_path = user_data_dir / "Default" / "Preferences"
    prefs_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        prefs = json.loads(prefs_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        prefs = {}
    if not isinstance(prefs, dict):
        prefs = {}
    settings = prefs.setdefault("profile", {}).setdefault("default_content_setting_values", {})
    settings["cookies"] = 2  # CONTENT_SETTING_BLOCK
    prefs_path.write_text(json.dumps(prefs), encoding="utf-8")


def check_endpoint(value: str) -> str:
    """A browser server's address, as ``--connect`` takes it: ws:// or wss:// with a host."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise UsageError(f"--connect {shown_endpoint(value)!r}: {exc}") from None
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise UsageError(
            f"--connect needs a ws:// or wss:// address of a Playwright browser server, got {shown_endpoint(value)!r}"
        )
    return value


def shown_endpoint(value: str) -> str:
    """An endpoint fit to print: grids take an access token in the query or as user info, so neither is shown."""
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return value.split("?", 1)[0].rsplit("@", 1)[-1]
    netloc = f"[{host}]{port}" if ":" in host else f"{host}{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[0][:200] if lines else type(exc).__name__


def _desktop_user_agent(version: str) -> str:
    return (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
        f"(KHTML, like Gecko) Chrome/{version} Safari/537.36"
    )


def _report() -> int:
    """``python -m probe.browser``: say which Chromium the probe would use."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        managed = pw.chromium.executable_path
    try:
        choice = find_chromium(os.environ, managed)
    except InfraError as exc:
        print(f"probe: {exc}")
        return 3
    print(f"chromium: {choice.executable or managed} ({choice.source})")
    if choice.headless_shell:
        print(f"headless shell: {choice.headless_shell} (headless sign-ins without a profile on disk)")
    return 0


if __name__ == "__main__":
    raise SystemExit(_report())
