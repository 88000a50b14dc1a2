"""Artifacts of a run: screenshots, a trace, a HAR, the run's log and result.json, safe to share.

Everything is written into a hidden folder first and moved into place only
when complete and scanned: a run that fails halfway, or an artifact that
turns out to hold a secret, leaves nothing half-written behind.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, Page
from playwright.async_api import Error as PlaywrightError

from .errors import InfraError
from .profile import Profile
from .redact import SECRETS
from .sanitize import sanitize_har, sanitize_trace

HAR = "network.har"
TRACE = "trace.zip"


class Recorder:
    def __init__(self, directory: Path | None, profile: Profile) -> None:
        self.directory = directory
        self.profile = profile
        self.screenshots: list[str] = []
        self._work: Path | None = None
        if directory is not None:
            self._work = directory.parent / f".{directory.name}.partial"
            shutil.rmtree(self._work, ignore_errors=True)
            self._work.mkdir(parents=True)

    @property
    def enabled(self) -> bool:
        return self._work is not None

    def context_options(self) -> dict[str, Any]:
        """Options for the browser context whose traffic the HAR records."""
        if self._work is None:
            return {}
        return {"record_har_path": str(self._work / HAR), "record_har_content": "embed"}

    @asynccontextmanager
    async def tracing(self, context: BrowserContext) -> AsyncIterator[None]:
        """A Playwright trace of everything in ``context`` while the block runs.

        DOM snapshots but no screencast: a screencast frame could show a code
        in a visible field, and pixels cannot be scrubbed the way text can.
        """
        if self._work is None:
            yield
            return
        await context.tracing.start(snapshots=True, screenshots=False, sources=False)
        try:
            yield
        finally:
            await context.tracing.stop(path=self._work / TRACE)

    async def capture(self, page: Page, label: str) -> None:
        """A full-page screenshot with every secret-bearing field masked."""
        if self._work is None:
            return
        controls = self.profile.controls
        masks = [page.locator(sel) for sel in (controls.password, controls.otp)]
        name = f"{len(self.screenshots) + 1:02d}-{label}.png"
        try:
            await page.screenshot(
                path=self._work / name, full_page=True, mask=masks, mask_color="#4a4a4a", animations="disabled"
            )
        except PlaywrightError:
            return  # a page that crashed or closed has nothing to show
        self.screenshots.append(name)

    def write_json(self, name: str, data: Any) -> None:
        if self._work is None:
            return
        text = json.dumps(SECRETS.redact_obj(data), ensure_ascii=False, indent=2)
        (self._work / name).write_text(text + "\n", encoding="utf-8")

    def write_log(self, events: list[dict[str, Any]]) -> None:
        if self._work is None:
            return
        lines = [json.dumps(SECRETS.redact_obj(e), ensure_ascii=False, default=str) for e in events]
        (self._work / "log.jsonl").write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")

    def finish(self) -> Path | None:
        """Scan for secrets, then move the artifacts into place."""
        if self._work is None or self.directory is None:
            return None
        if (self._work / HAR).is_file():
            sanitize_har(self._work / HAR, self.profile.is_session_cookie, SECRETS)
        if (self._work / TRACE).is_file():
            sanitize_trace(self._work / TRACE, self.profile.is_session_cookie, SECRETS)
        leaking = SECRETS.leaks([self._work])
        if leaking:
            names = ", ".join(p.name for p in leaking)
            shutil.rmtree(self._work, ignore_errors=True)
            raise InfraError(f"a secret reached the artifacts ({names}); nothing was kept")
        shutil.rmtree(self.directory, ignore_errors=True)
        self._work.rename(self.directory)
        return self.directory

    def discard(self) -> None:
        if self._work is not None:
            shutil.rmtree(self._work, ignore_errors=True)
