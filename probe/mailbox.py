"""The seller's mailbox and phone, read the way a person reads them: open the
page, read the newest messages first. Nothing but visible text is used.

Waiting for a message is done the way a webmail offers it: the page's
"newer messages" link (``a[rel=next]``) with ``wait=S`` is held open until a
message arrives or S seconds pass. An inbox without that link is read once.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from playwright.async_api import BrowserContext, Page

from .redact import SECRETS

# One mail tab per browser, kept open between reads as a person keeps their webmail open:
# a page opened afresh for every look costs a renderer's start each time.
# Forgotten when the browser closes.
_MAIL_TABS: dict[BrowserContext, tuple[Page, asyncio.Lock]] = {}


def _forget_mail_tab(context: BrowserContext) -> None:
    _MAIL_TABS.pop(context, None)


@asynccontextmanager
async def mail_tab(context: BrowserContext) -> AsyncIterator[Page]:
    """The browser's mail tab, opened on first use (again if something closed it), one reader at a time."""
    kept = _MAIL_TABS.get(context)
    if kept is None or kept[0].is_closed():
        if kept is None:
            context.once("close", _forget_mail_tab)
        kept = (await context.new_page(), asyncio.Lock())
        _MAIL_TABS[context] = kept
    page, lock = kept
    async with lock:
        yield page


@dataclass
class Inbox:
    """A page listing messages, newest first (a webmail inbox, or a phone's texts)."""

    url: str
    # How long a code may take to arrive once the site sent it (the mock sends before its page shows).
    wait_s: float = 1.5

    async def read(self, context: BrowserContext) -> str:
        async with mail_tab(context) as page:
            await page.goto(self.url)
            return await page.locator("body").inner_text()

    async def wait_newer(self, page: Page, seconds: float) -> bool:
        """Follow the page's "newer messages" link as a long-poll of ``seconds``; False without one."""
        link = page.locator('a[rel="next"]')
        if await link.count() != 1:
            return False
        href = await link.get_attribute("href")
        if not href:
            return False
        parts = urlsplit(urljoin(page.url, href))
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "wait"]
        query.append(("wait", f"{seconds:.2f}"))
        await page.goto(urlunsplit(parts._replace(query=urlencode(query))), timeout=(seconds + 10) * 1000)
        return True


# A code read out by a voice call and transcribed digit by digit: "1、2、3、4、5、6".
_SPOKEN_DIGITS = re.compile(r"(?<!\d)\d(?:\s*[、,，]\s*\d){5,7}(?!\d)")


def _spoken_as_written(text: str) -> str:
    return _SPOKEN_DIGITS.sub(lambda m: re.sub(r"\D", "", m.group(0)), text)


@dataclass
class InboxCodes:
    """One-time passwords arriving in an inbox: text messages, voice calls' transcripts, or mail."""

    inbox: Inbox
    pattern: str
    used: set[str] = field(default_factory=set)

    async def next_code(self, context: BrowserContext) -> str | None:
        """The newest code not typed before, waiting up to ``inbox.wait_s`` for one to arrive."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.inbox.wait_s
        async with mail_tab(context) as page:
            await page.goto(self.inbox.url)
            while True:
                text = _spoken_as_written(await page.locator("body").inner_text())
                codes = re.findall(self.pattern, text)
                # Only the newest message counts: an older code was replaced by it.
                if codes and codes[0] not in self.used:
                    code = str(codes[0])
                    self.used.add(code)
                    SECRETS.add(code)
                    return code
                remaining = deadline - loop.time()
                if remaining <= 0 or not await self.inbox.wait_newer(page, remaining):
                    return None


# The name the runner and older callers use for the phone's messages.
SmsCodes = InboxCodes


async def find_subject(inbox: Inbox, context: BrowserContext, patterns: tuple[str, ...]) -> str | None:
    """The first line of the mailbox page that contains one of ``patterns``."""
    text = await inbox.read(context)
    for line in text.splitlines():
        if any(p.casefold() in line.casefold() for p in patterns):
            return line.strip()[:200]
    return None
