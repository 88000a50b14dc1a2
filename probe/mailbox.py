"""The seller's mailbox and phone, read the way a person reads them: open the
page, read the newest messages first. Nothing but visible text is used.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

from playwright.async_api import BrowserContext

from .redact import SECRETS


@dataclass
class Inbox:
    """A page listing messages, newest first (a webmail inbox, or a phone's texts)."""

    url: str
    polls: int = 4
    poll_interval_s: float = 0.5

    async def read(self, context: BrowserContext) -> str:
        page = await context.new_page()
        try:
            await page.goto(self.url)
            return await page.locator("body").inner_text()
        finally:
            await page.close()


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
        """The newest code not typed before; the phone is checked a few times, like a person would."""
        for poll in range(self.inbox.polls):
            if poll:
                # Polling an inbox page: nothing in the browser to wait on.
                await asyncio.sleep(self.inbox.poll_interval_s)
            text = _spoken_as_written(await self.inbox.read(context))
            codes = re.findall(self.pattern, text)
            # Only the newest message counts: an older code was replaced by it.
            if codes and codes[0] not in self.used:
                code = str(codes[0])
                self.used.add(code)
                SECRETS.add(code)
                return code
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
