"""Artifacts of a run: screenshots, a trace, a HAR, the run's log and result.json, safe to share.

Everything is written into a hidden folder first and moved into place only
when complete and scanned: a run that fails halfway, or an artifact that
turns out to hold a secret, leaves nothing half-written behind.

What is kept is the user's alone: files mode 0600 in folders mode 0700,
whatever the umask. A screenshot identical to one already taken in the run
(same bytes) is not kept twice.
"""

from __future__ import annotations

import hashlib
import json
import os
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

FILE_MODE = 0o600
DIR_MODE = 0o700


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) for artifacts; what this creates is mode 0700.

    Folders that already exist are left as they are: they are the user's.
    """
    missing = [p for p in [path, *path.parents] if not p.exists()]
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    for created in missing:
        os.chmod(created, DIR_MODE)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a file that only its owner can read (mode 0600 from the start)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, FILE_MODE)


def make_private(root: Path) -> None:
    """Every file under ``root`` mode 0600, every folder (``root`` included) mode 0700."""
    for folder, dirs, files in os.walk(root):
        os.chmod(folder, DIR_MODE)
        for name in dirs:
            os.chmod(Path(folder) / name, DIR_MODE)
        for name in files:
            os.chmod(Path(folder) / name, FILE_MODE)


class Recorder:
    def __init__(self, directory: Path | None, profile: Profile) -> None:
        self.directory = directory
        self.profile = profile
        self.screenshots: list[str] = []
        self._digests: dict[str, str] = {}  # SHA-256 of a kept screenshot -> its file name
        self._work: Path | None = None
        if directory is not None:
            self._work = directory.parent / f".{directory.name}.partial"
            shutil.rmtree(self._work, ignore_errors=True)
            make_private_dir(directory.parent)
            self._work.mkdir(mode=DIR_MODE)
            os.chmod(self._work, DIR_MODE)

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

    async def capture(self, page: Page, label: str) -> str | None:
        """A full-page screenshot with every secret-bearing field masked.

        Returns the file name that holds it: the earlier one when the same
        picture was already taken in this run (then nothing new is written),
        None when nothing was taken.
        """
        if self._work is None:
            return None
        controls = self.profile.controls
        masks = [page.locator(sel) for sel in (controls.password, controls.otp)]
        try:
            data = await page.screenshot(full_page=True, mask=masks, mask_color="#4a4a4a", animations="disabled")
        except PlaywrightError:
            return None  # a page that crashed or closed has nothing to show
        digest = hashlib.sha256(data).hexdigest()
        if digest in self._digests:
            return self._digests[digest]
        name = f"{len(self.screenshots) + 1:02d}-{label}.png"
        write_private(self._work / name, data)
        self._digests[digest] = name
        self.screenshots.append(name)
        return name

    def write_json(self, name: str, data: Any) -> None:
        if self._work is None:
            return
        text = json.dumps(SECRETS.redact_obj(data), ensure_ascii=False, indent=2)
        write_private(self._work / name, (text + "\n").encode("utf-8"))

    def write_log(self, events: list[dict[str, Any]]) -> None:
        if self._work is None:
            return
        lines = [json.dumps(SECRETS.redact_obj(e), ensure_ascii=False, default=str) for e in events]
        write_private(self._work / "log.jsonl", ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8"))

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
        make_private(self._work)
        shutil.rmtree(self.directory, ignore_errors=True)
        self._work.rename(self.directory)
        return self.directory

    def discard(self) -> None:
        if self._work is not None:
            shutil.rmtree(self._work, ignore_errors=True)
