"""The login driver: email -> password -> 2-step verification -> account picker -> home.

The driver acts like a careful seller: it fills what a page asks for, submits
once, and stops as soon as the site shows something it did not ask for, so a
rejected password is never typed twice. It records what the browser showed;
the classifier decides what it means.
"""

from __future__ import annotations

import asyncio
import re
import time
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

import structlog
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Locator, Page, Request, Response
from playwright.async_api import TimeoutError as PlaywrightTimeout

from .classify import page_kind
from .mailbox import SmsCodes
from .otp import OtpSource
from .profile import PageKind, Profile
from .redact import SECRETS
from .signals import Event, PageSignals, read_page

log = structlog.get_logger("probe.flow")

# Navigation failures that are not the network's fault.
_BENIGN_FAILURES = ("net::ERR_ABORTED",)
AUTH_PATH_PREFIX = "/ap/"


@dataclass
class Credentials:
    """What the seller types, and where their codes come from."""

    email: str
    password: str
    totp: OtpSource | None = None  # the authenticator app
    sms: SmsCodes | None = None  # the phone's text messages
    fixed_otp: str | None = None  # typed as given: a code the seller copied wrong
    remember_device: bool = False
    prefer_app: bool = False  # ask for the authenticator app when the site offers a text message

    def __post_init__(self) -> None:
        # Also the forms a slip hides: the password without the stray space, in half-width.
        SECRETS.add(self.password, self.password.strip(), unicodedata.normalize("NFKC", self.password), self.fixed_otp)

    def with_fresh_codes(self) -> Credentials:
        """The same seller typing the newest code from a correctly set clock."""
        return replace(self, fixed_otp=None, totp=self.totp.fresh() if self.totp else None)

    def preferring_app(self) -> Credentials:
        return replace(self, prefer_app=True)


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
    # How long a submit may still navigate after the page threw a script error.
    script_error_grace_ms: int = 1_500
    max_steps: int = 14


class _SubmitBroken(Exception):
    """The page threw instead of submitting."""


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
        self._done: set[str] = set()  # page kinds already acted on
        self._signed_in = False  # the site accepted the credentials and left /ap/
        self._asked_other_method = False
        self._script_error = asyncio.Event()
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
        self._script_error.set()
        self._event("script_error", self.page.url, str(error).splitlines()[0][:200])

    def _event(self, name: str, url: str, detail: str = "") -> None:
        if any(e.name == name and e.url == url and e.detail == detail for e in self.attempt.events):
            return
        self.attempt.events.append(Event(name, url, SECRETS.redact(detail)))
        self.log.info("event", event_name=name, url=url, detail=detail)

    # -- the walk ----------------------------------------------------------------

    async def run(self, start_url: str) -> Attempt:
        actions: dict[str, Callable[[PageKind, PageSignals], Awaitable[bool]]] = {
            "enter_email": self._email,
            "enter_password": self._password,
            "enter_otp": self._otp,
            "choose_otp_method": self._otp_method,
            "pick_account": self._picker,
            "skip": self._skip,
        }
        if not await self._timed("navigate", self._navigate(start_url)):
            return self.attempt
        for _ in range(self.options.max_steps):
            signals = await self._read()
            kind = page_kind(signals, self.profile)
            if kind is None or kind.action == "stop":
                break  # a page the driver does not know or must not touch: the classifier's turn
            if kind.action == "done":
                self._phase("home", 0)
                break
            if kind.action in ("enter_email", "enter_password") and self._signed_in:
                self._event("signin_loop", signals.url, self._chain_since_sign_in())
                break
            if kind.kind in self._done:
                break  # the site showed the same step again: it refused what was sent
            self._done.add(kind.kind)
            mark = len(self.attempt.documents)
            if not await self._timed(_PHASE_NAMES.get(kind.action, kind.kind), actions[kind.action](kind, signals)):
                await self._read()
                break
            if kind.action in ("enter_password", "enter_otp", "skip") and self._left_sign_in_since(mark):
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
        """Click and wait for the next page; a page that throws instead gives up early."""
        self._script_error.clear()
        try:
            async with self.page.expect_navigation(timeout=self.options.navigation_timeout_ms) as navigation:
                await control.click()
                await self._navigation_unless_broken(navigation.value)
        except _SubmitBroken:
            self._event("submit_no_effect", self.page.url, "a script error, and the page did not change")
            return False
        except PlaywrightTimeout:
            self._event("submit_no_effect", self.page.url, "the page did not change after submitting")
            return False
        except PlaywrightError as exc:
            if not any(e.name == "network_error" for e in self.attempt.events):
                self._event("network_error", self.page.url, _first_line(exc))
            return False
        return True

    async def _navigation_unless_broken(self, navigation: Awaitable[object]) -> None:
        nav = asyncio.ensure_future(navigation)
        broken = asyncio.ensure_future(self._script_error.wait())
        try:
            await asyncio.wait({nav, broken}, return_when=asyncio.FIRST_COMPLETED)
            if not nav.done():
                await asyncio.wait({nav}, timeout=self.options.script_error_grace_ms / 1000)
            if not nav.done():
                raise _SubmitBroken
            nav.result()
        finally:
            for task in (nav, broken):
                if not task.done():
                    task.cancel()
            await asyncio.gather(nav, broken, return_exceptions=True)

    async def _email(self, _: PageKind, __: PageSignals) -> bool:
        controls = self.profile.controls
        await self.page.locator(controls.email).fill(self.credentials.email)
        return await self._submit(self.page.locator(controls.email_submit))

    async def _password(self, _: PageKind, __: PageSignals) -> bool:
        controls = self.profile.controls
        await self.page.locator(controls.password).fill(self.credentials.password)
        return await self._submit(self.page.locator(controls.password_submit))

    def _asks_for_sms(self, signals: PageSignals) -> bool:
        prompt = signals.text("mfa_prompt")
        return any(p in prompt for p in self.profile.controls.otp_sms_prompt)

    async def _otp(self, kind: PageKind, signals: PageSignals) -> bool:
        controls = self.profile.controls
        creds = self.credentials
        by_sms = self._asks_for_sms(signals)
        if by_sms and creds.prefer_app and not self._asked_other_method:
            # "Didn't receive the OTP?": the code page comes back with the other method.
            self._asked_other_method = True
            self._done.discard(kind.kind)
            return await self._submit(self.page.locator(controls.otp_new_link))
        code = await self._code(by_sms)
        if code is None:
            reason = "no text message with a new code arrived" if by_sms else "no authenticator seed or code"
            self._event("otp_not_received", self.page.url, reason)
            return False
        await self.page.locator(controls.otp).fill(code)
        if creds.remember_device:
            await self.page.locator(controls.otp_remember).check()
        return await self._submit(self.page.locator(controls.otp_submit))

    async def _code(self, by_sms: bool) -> str | None:
        creds = self.credentials
        if creds.fixed_otp is not None:
            return creds.fixed_otp
        if by_sms:
            return await creds.sms.next_code(self.page.context) if creds.sms else None
        return await creds.totp.next_code() if creds.totp else None

    async def _otp_method(self, _: PageKind, __: PageSignals) -> bool:
        controls = self.profile.controls
        order = ("app", "sms", "voice") if self.credentials.prefer_app else ("sms", "voice", "app")
        rows = self.page.locator("label").filter(has=self.page.locator(controls.otp_method_choice))
        for method in order:
            pattern = re.compile("|".join(map(re.escape, controls.otp_method_labels.get(method, ()))))
            row = rows.filter(has_text=pattern)
            if await row.count():
                await row.first.locator(controls.otp_method_choice).check()
                return await self._submit(self.page.locator(controls.otp_method_submit))
        return False

    async def _picker(self, _: PageKind, __: PageSignals) -> bool:
        controls = self.profile.controls
        rows = self.page.locator("label").filter(has=self.page.locator(controls.picker_choice))
        preferred = rows.filter(has_text=re.compile("|".join(map(re.escape, controls.picker_prefer))))
        row = preferred.first if await preferred.count() else rows.first
        await row.locator(controls.picker_choice).check()
        button = self.page.get_by_role("button", name=re.compile("|".join(map(re.escape, controls.picker_submit))))
        return await self._submit(button)

    async def _skip(self, _: PageKind, __: PageSignals) -> bool:
        for selector in self.profile.controls.skip:
            link = self.page.locator(selector)
            if await link.count():
                return await self._submit(link.first)
        return False

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


_PHASE_NAMES = {
    "enter_email": "email",
    "enter_password": "password",
    "enter_otp": "2sv",
    "choose_otp_method": "2sv",
    "pick_account": "picker",
    "skip": "interruption",
}


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    match = re.search(r"net::ERR_[A-Z_]+", text)
    return match.group(0) if match else text.splitlines()[0][:200]
