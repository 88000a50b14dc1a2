"""Shared fixtures: the browser pytest-playwright launches, the mock, helpers.

pytest-playwright runs Playwright's sync API on this thread's event loop, so
tests that call the probe's async library run it on a worker thread.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import zipfile
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Playwright

from fixtures.mock_site import MockServer, SiteConfig
from probe.browser import QUIET_ARGS, find_chromium
from probe.profile import Profile, load_profile
from probe.redact import forget_process_secrets
from probe.signals import PageSignals

ROOT = Path(__file__).resolve().parent.parent
PAGES = Path(__file__).resolve().parent / "pages"
TOTP_SECRET = "LT2AVT453DHX3TOM25FZWVVJ2XA23RYQ"
PASSWORD = "Sakura-Zakka-2024!"
EMAIL = "sakura.zakka@example.jp"

T = TypeVar("T")


def site_config(**account: Any) -> SiteConfig:
    base = {
        "email": EMAIL,
        "password": PASSWORD,
        "two_step": "totp",
        "totp_secret": TOTP_SECRET,
        "merchants": [{"name": "さくら雑貨店", "marketplaces": ["jp"]}],
    }
    return SiteConfig.model_validate({"accounts": [{**base, **account}]})


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on its own thread and event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="session", autouse=True)
def _own_state_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The probe's state folder (one-time code steps) in a temporary place, for every test and subprocess."""
    before = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("state"))
    yield
    if before is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = before


@pytest.fixture(scope="module", autouse=True)
def _secrets_of_this_module_only() -> Iterator[None]:
    """Secrets registered outside a run stay with the test module that registered them.

    Otherwise one module's one-time codes and passwords would be masked in (and
    flagged as leaks by) the artifacts of every module after it.
    """
    yield
    forget_process_secrets()


@pytest.fixture(scope="session")
def profile() -> Profile:
    return load_profile()


@pytest.fixture(scope="session")
def browser_type_launch_args(playwright: Playwright) -> dict[str, Any]:
    """Launch the Chromium the probe itself would pick, with its quiet flags."""
    choice = find_chromium(os.environ, playwright.chromium.executable_path)
    args: dict[str, Any] = {"args": list(QUIET_ARGS)}
    if choice.executable:
        args["executable_path"] = choice.executable
    return args


@pytest.fixture(scope="session")
def browser_context_args() -> dict[str, Any]:
    return {"locale": "ja-JP", "timezone_id": "Asia/Tokyo", "viewport": {"width": 1280, "height": 860}}


@pytest.fixture(scope="session")
def _mock_session() -> Iterator[MockServer]:
    with MockServer(site_config()) as server:
        yield server


@pytest.fixture
def mock(_mock_session: MockServer) -> MockServer:
    """The mock with fresh state (accounts, sessions, counters) for each test."""
    _mock_session.configure(site_config())
    return _mock_session


def readable(path: Path) -> str:
    """A file's text as a secret scanner must see it: a zip (a trace) member by member."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return "\n".join(archive.read(n).decode("utf-8", errors="replace") for n in archive.namelist())
    return path.read_bytes().decode("utf-8", errors="replace")


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """The installed ``probe`` command, end to end, in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "probe", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        check=False,
    )


class FakeClock:
    """A clock and a sleep that only move when the code under test sleeps."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def sign_in_signals(**overrides: object) -> PageSignals:
    """What the probe read off a Japanese email page; ``overrides`` change any field."""
    base: dict[str, object] = {
        "url": "http://sellercentral.amazon.co.jp.localhost/ap/signin",
        "host": "sellercentral.amazon.co.jp",
        "path": "/ap/signin",
        "status": 200,
        "title": "Amazonログイン",
        "ids": frozenset({"ap_email", "continue"}),
        "regions": {},
    }
    return PageSignals(**{**base, **overrides})  # type: ignore[arg-type]
