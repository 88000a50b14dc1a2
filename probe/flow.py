"""The login driver: email -> password -> 2-step verification -> account picker -> home.

The driver acts like a careful seller: it fills what a page asks for, submits
once, and stops as soon as the site shows something it did not ask for, so a
rejected password is never typed twice. It records what the browser showed;
the classifier decides what it means.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import structlog
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Locator, Page, Request, Response
from playwright.async_api import TimeoutError as PlaywrightTimeout

from .classify import page_kind
from .otp import OtpSource
from .profile import Profile
from .redact import SECRETS
from .signals import Event, PageSignals, read_page

log = structlog.get_logger("probe.flow")

# Navigation failures that are not the network's fault.
_BENIGN_FAILURES = ("net::ERR_ABORTED",)
AUTH_PATH_PREFIX = "/ap/"


@dataclass
class Credentials:
    email: str
    password: str
    otp: OtpSource | None = None
    fixed_otp: str | None = None  # typed as given: a code the seller copied wrong
    remember_device: bool = False

    def __post_init__(self) -> None:
        SECRETS.add(self.password, self.fixed_otp)

    async def otp_code(self) -> str | None:
        if self.fixed_otp is not None:
            return self.fixed_otp
        return await self.otp.next_code() if self.otp else None


@dataclass(frozen=True)
class Phase:
    name: str
    url: str
    duration_ms: int
    remedy: str | None = None


@dataclass(frozen=True)
class Document:
    """One main-frame document response, redirects included."""

    method: str
    url: str
    status: int


@dataclass
class Attempt:
    pages: list[PageSignals] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)

    @property
    def final(self) -> PageSignals | None:
        return self.pages[-1] if self.pages else None


@dataclass
class DriverOptions:
    navigation_timeout_ms: int = 15_000
    max_steps: int = 12


class LoginDriver:
    def __init__(
        self,
        page: Page,
        profile: Profile,
        credentials: Credentials,
        options: DriverOptions | None = None,
        *,
        run: str = "",
    ) -> None:
        self.log = log.bind(run=run) if run else log
        self.page = page
        self.profile = profile
        self.credentials = credentials
        self.options = options or DriverOptions()
        self.attempt = Attempt()
        self._submitted: set[str] = set()
        self._signed_in = False  # the site accepted the credentials and left /ap/
        page.on("response", self._on_response)
        page.on("requestfailed", self._on_request_failed)
        page.on("pageerror", self._on_page_error)

    # -- what the browser reports ------------------------------------------------

    def _on_response(self, response: Response) -> None:
        request = response.request
        if request.is_navigation_request() and request.frame == self.page.main_frame:
            self.attempt.documents.append(Document(request.method, response.url, response.status))

    def _on_request_failed(self, request: Request) -> None:
        failure = request.failure or ""
        if request.is_navigation_request() and not failure.startswith(_BENIGN_FAILURES):
            self._event("network_error", request.url, failure)

    def _on_page_error(self, error: Exception) -> None:
        self._event("script_error", self.page.url, str(error).splitlines()[0][:200])

    def _event(self, name: str, url: str, detail: str = "") -> None:
        self.attempt.events.append(Event(name, url, SECRETS.redact(detail)))
        self.log.info("event", event_name=name, url=url, detail=detail)

    # -- the walk ----------------------------------------------------------------

    async def run(self, start_url: str) -> Attempt:
        steps: dict[str, Callable[[], Awaitable[bool]]] = {
            "email": self._email,
            "password": self._password,
            "mfa": self._mfa,
            "picker": self._picker,
        }
        if not await self._timed("navigate", self._navigate(start_url)):
            return self.attempt
        for _ in range(self.options.max_steps):
            signals = await self._read()
            kind = page_kind(signals, self.profile)
            if kind == "home":
                self._phase("home", 0)
                break
            if kind in ("email", "password") and self._signed_in:
                self._event("signin_loop", signals.url, self._chain_since_sign_in())
                break
            if kind is None or kind in self._submitted:
                break  # a page the driver does not know, or the site refused what was sent
            self._submitted.add(kind)
            mark = len(self.attempt.documents)
            if not await self._timed(_PHASE_NAMES[kind], steps[kind]()):
                await self._read()
                break
            if kind in ("password", "mfa") and self._left_sign_in_since(mark):
                self._signed_in = True
        return self.attempt

    async def _read(self) -> PageSignals:
        status = self.attempt.documents[-1].status if self.attempt.documents else None
        signals = await read_page(self.page, self.profile, status)
        self.attempt.pages.append(signals)
        return signals

    async def _navigate(self, url: str) -> bool:
        try:
            await self.page.goto(url, timeout=self.options.navigation_timeout_ms)
        except PlaywrightTimeout:
            self._event("network_error", url, "timeout")
            return False
        except PlaywrightError as exc:
            if not any(e.name == "network_error" for e in self.attempt.events):
                self._event("network_error", url, _first_line(exc))
            return False
        return True

    async def _submit(self, control: Locator) -> bool:
        try:
            async with self.page.expect_navigation(timeout=self.options.navigation_timeout_ms):
                await control.click()
        except PlaywrightTimeout:
            self._event("submit_no_effect", self.page.url, "the page did not change after submitting")
            return False
        except PlaywrightError as exc:
            if not any(e.name == "network_error" for e in self.attempt.events):
                self._event("network_error", self.page.url, _first_line(exc))
            return False
        return True

    async def _email(self) -> bool:
        controls = self.profile.controls
        await self.page.locator(controls.email).fill(self.credentials.email)
        return await self._submit(self.page.locator(controls.email_submit))

    async def _password(self) -> bool:
        controls = self.profile.controls
        await self.page.locator(controls.password).fill(self.credentials.password)
        return await self._submit(self.page.locator(controls.password_submit))

    async def _mfa(self) -> bool:
        controls = self.profile.controls
        code = await self.credentials.otp_code()
        if code is None:
            self._event("otp_unavailable", self.page.url, "no authenticator seed or code for this account")
            return False
        await self.page.locator(controls.otp).fill(code)
        if self.credentials.remember_device:
            await self.page.locator(controls.otp_remember).check()
        return await self._submit(self.page.locator(controls.otp_submit))

    async def _picker(self) -> bool:
        controls = self.profile.controls
        rows = self.page.locator("label").filter(has=self.page.locator(controls.picker_choice))
        preferred = rows.filter(has_text=re.compile("|".join(map(re.escape, controls.picker_prefer))))
        row = preferred.first if await preferred.count() else rows.first
        await row.locator(controls.picker_choice).check()
        button = self.page.get_by_role("button", name=re.compile("|".join(map(re.escape, controls.picker_submit))))
        return await self._submit(button)

    # -- bookkeeping ---------------------------------------------------------------

    def _left_sign_in_since(self, mark: int) -> bool:
        """Did a redirect after the submit pass through a page outside /ap/?"""
        return any(not urlsplit(d.url).path.startswith(AUTH_PATH_PREFIX) for d in self.attempt.documents[mark:])

    def _chain_since_sign_in(self) -> str:
        chain = self.attempt.documents[-4:]
        return " -> ".join(f"{d.method} {urlsplit(d.url).path} {d.status}" for d in chain)

    async def _timed(self, name: str, step: Awaitable[bool]) -> bool:
        started = time.perf_counter()
        ok = await step
        self._phase(name, int((time.perf_counter() - started) * 1000))
        return ok

    def _phase(self, name: str, duration_ms: int) -> None:
        url = self.page.url
        self.attempt.phases.append(Phase(name, url, duration_ms))
        self.log.info("phase", phase=name, duration_ms=duration_ms, url=url)


_PHASE_NAMES = {"email": "email", "password": "password", "mfa": "2sv", "picker": "picker"}


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    match = re.search(r"net::ERR_[A-Z_]+", text)
    return match.group(0) if match else text.splitlines()[0][:200]
