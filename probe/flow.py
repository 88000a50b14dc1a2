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
from typing import Any
from urllib.parse import urlsplit

import structlog
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Frame, Locator, Page, Request, Response
from playwright.async_api import TimeoutError as PlaywrightTimeout

from .classify import page_kind
from .errors import InfraError
from .mailbox import InboxCodes
from .otp import OtpSource
from .profile import FormControls, PageKind, Profile
from .redact import SECRETS
from .signals import Event, PageReader, PageSignals, Query

log = structlog.get_logger("probe.flow")

# Navigation failures that are not the network's fault.
_BENIGN_FAILURES = ("net::ERR_ABORTED",)
# Paths of the sign-in itself (the classic and the unified one).
AUTH_PATH_PREFIXES = ("/ap/", "/ax/")
# A read the page's navigation cut short, in Playwright's words or the DevTools protocol's.
_NAVIGATED_AWAY = (
    "context was destroyed",
    "navigat",
    "Cannot find default execution context",
    "Cannot find context with specified id",
)
# The browser's own network errors; every other Playwright error is the probe's.
_NETWORK_ERROR = re.compile(r"net::ERR_[A-Z0-9_]+")
# A page that went away under the probe's hands: the browser or the page crashed or closed.
_GONE = ("has been closed", "Target crashed", "page crashed", "Browser closed", "Connection closed")


@dataclass
class Credentials:
    """What the seller types, and where their codes come from."""

    email: str
    password: str
    totp: OtpSource | None = None  # the authenticator app
    sms: InboxCodes | None = None  # the phone's text messages (and voice calls)
    mail: InboxCodes | None = None  # the mailbox, for codes that verify a new browser
    fixed_otp: str | None = None  # typed as given: a code the seller copied wrong
    remember_device: bool = False
    prefer_app: bool = False  # ask for the authenticator app when the site offers a text message

    def __post_init__(self) -> None:
        # Also the forms a slip hides: the password without the stray space, in half-width.
        SECRETS.add(self.password, self.password.strip(), unicodedata.normalize("NFKC", self.password), self.fixed_otp)
        if self.totp is not None:
            # Codes already submitted for this account are remembered by it (never typed twice).
            self.totp.account = self.email

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
    # How long a field or button may take to become usable (visible, enabled, steady).
    action_timeout_ms: int = 5_000
    # Kept for callers that set it; unused: after a script error the driver waits for the page to go
    # quiet (no request in flight, its task queue run) instead of a fixed grace.
    script_error_grace_ms: int = 1_500
    # How long a challenge page may take to clear itself (its script reloads the page), and how often.
    challenge_wait_ms: int = 6_000
    max_challenge_waits: int = 3
    max_steps: int = 14


class DriverFailure(InfraError):
    """The browser or the driver itself failed: the probe's fault, never the seller's."""


class ControlProblem(Exception):
    """A control the driver needs is missing, ambiguous or unusable on a page it knows."""

    def __init__(self, event: str, detail: str) -> None:
        super().__init__(detail)
        self.event = event
        self.detail = detail


class _SubmitBroken(Exception):
    """The page threw instead of submitting."""


class _ClickFailed(Exception):
    def __init__(self, error: PlaywrightError) -> None:
        super().__init__(str(error))
        self.error = error


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
        self._signed_in = False  # the site accepted the credentials and left the sign-in
        self._asked_other_method = False
        self._script_error = asyncio.Event()
        self._navigated = asyncio.Event()  # the main frame navigated since the last read
        self._navigation_requested = asyncio.Event()  # the main frame asked for a new document
        self._in_flight: set[Request] = set()  # the page's requests not yet answered or failed
        self._quiet = asyncio.Event()  # set while no request is in flight
        self._quiet.set()
        self._reader = PageReader(page, profile)
        # Every control the driver may look up, counted in the page as each page is read: a
        # control counted once there is used at once; any other count is Playwright's own.
        self._queries = _control_queries(profile)
        self._hints: dict[Query, int] = {}
        self._unverified: dict[str, tuple[str, FormControls]] = {}  # used on the page's count alone
        page.on("request", self._on_request)
        page.on("requestfinished", self._on_request_done)
        page.on("response", self._on_response)
        page.on("requestfailed", self._on_request_failed)
        page.on("pageerror", self._on_page_error)
        page.on("framenavigated", self._on_frame_navigated)

    # -- what the browser reports ------------------------------------------------

    def _on_response(self, response: Response) -> None:
        request = response.request
        if request.is_navigation_request() and request.frame == self.page.main_frame:
            self.attempt.documents.append(Document(request.method, response.url, response.status))

    def _on_request(self, request: Request) -> None:
        if request.is_navigation_request() and request.frame == self.page.main_frame:
            self._navigation_requested.set()
        self._in_flight.add(request)
        self._quiet.clear()

    def _on_request_done(self, request: Request) -> None:
        self._in_flight.discard(request)
        if not self._in_flight:
            self._quiet.set()

    def _on_request_failed(self, request: Request) -> None:
        self._on_request_done(request)
        failure = request.failure or ""
        if request.is_navigation_request() and not failure.startswith(_BENIGN_FAILURES):
            self._event("network_error", request.url, failure)

    def _on_page_error(self, error: Exception) -> None:
        self._script_error.set()
        self._event("script_error", self.page.url, str(error).splitlines()[0][:200])

    def _on_frame_navigated(self, frame: Frame) -> None:
        if frame == self.page.main_frame:
            self._navigated.set()

    def _event(self, name: str, url: str, detail: str = "") -> None:
        if any(e.name == name and e.url == url and e.detail == detail for e in self.attempt.events):
            return
        self.attempt.events.append(Event(name, url, SECRETS.redact(detail)))
        self.log.info("event", event_name=name, url=url, detail=detail)

    # -- the walk ----------------------------------------------------------------

    async def run(self, start_url: str) -> Attempt:
        self._reader.start()
        try:
            return await self._walk(start_url)
        finally:
            self._reader.close()

    async def _walk(self, start_url: str) -> Attempt:
        actions: dict[str, Callable[[PageKind, PageSignals], Awaitable[bool]]] = {
            "enter_email": self._email,
            "enter_password": self._password,
            "enter_otp": self._otp,
            "choose_otp_method": self._otp_method,
            "enter_verification_code": self._verification_code,
            "pick_account": self._picker,
            "skip": self._skip,
        }
        if not await self._timed("navigate", self._navigate(start_url)):
            return self.attempt
        waits = 0
        for _ in range(self.options.max_steps):
            signals = await self._read()
            kind = page_kind(signals, self.profile)
            if kind is None or kind.action == "stop":
                break  # a page the driver does not know or must not touch: the classifier's turn
            if kind.action == "done":
                self._phase("home", 0)
                break
            if kind.action == "wait":
                waits += 1
                if waits > self.options.max_challenge_waits or not await self._timed(
                    "challenge", self._wait_for_challenge()
                ):
                    break
                continue
            if kind.action in ("enter_email", "enter_password") and self._signed_in:
                self._event("signin_loop", signals.url, self._chain_since_sign_in())
                break
            if kind.kind in self._done:
                break  # the site showed the same step again: it refused what was sent
            self._done.add(kind.kind)
            mark = len(self.attempt.documents)
            try:
                done = await self._timed(_PHASE_NAMES.get(kind.action, kind.kind), actions[kind.action](kind, signals))
            except ControlProblem as problem:
                self._event(problem.event, self.page.url, f"{problem.detail} (page: {kind.kind})")
                done = False
            if not done:
                await self._read()
                break
            signs_in = ("enter_password", "enter_otp", "enter_verification_code", "skip")
            if kind.action in signs_in and self._left_sign_in_since(mark):
                self._signed_in = True
        return self.attempt

    async def _read(self) -> PageSignals:
        """Read the page; a page that navigates meanwhile (a challenge reloading) is read once it settled."""
        for _ in range(3):
            self._navigated.clear()
            self._hints.clear()
            self._unverified.clear()
            try:
                raw, counts = await self._reader.read(None, self._queries)
                self._hints = {query: n for query, n in zip(self._queries, counts, strict=False) if n >= 0}
                break
            except PlaywrightError as exc:
                if not any(marker in str(exc) for marker in _NAVIGATED_AWAY):
                    raise self._failure(exc) from exc
                await self._settle()
        else:
            raise DriverFailure(f"the page at {self.page.url} kept navigating while the probe read it")
        status = self.attempt.documents[-1].status if self.attempt.documents else None
        signals = replace(raw, status=status)
        self.attempt.pages.append(signals)
        return signals

    async def _settle(self) -> None:
        try:
            await self.page.wait_for_load_state("load", timeout=self.options.navigation_timeout_ms)
        except PlaywrightTimeout:
            pass  # read what there is
        except PlaywrightError as exc:
            raise self._failure(exc) from exc

    async def _wait_for_challenge(self) -> bool:
        """A challenge that clears itself navigates: wait for that, bounded, then let the walk read again."""
        try:
            await asyncio.wait_for(self._navigated.wait(), self.options.challenge_wait_ms / 1000)
        except TimeoutError:
            return False
        await self._settle()
        return True

    async def _navigate(self, url: str) -> bool:
        try:
            await self.page.goto(url, timeout=self.options.navigation_timeout_ms)
        except PlaywrightTimeout:
            self._event("network_error", url, "timeout")
            return False
        except PlaywrightError as exc:
            if "interrupted by another navigation" in str(exc):
                await self._settle()  # the page moved on by itself (a script, a challenge)
                return True
            if not _NETWORK_ERROR.search(str(exc)):
                raise self._failure(exc) from exc
            if not any(e.name == "network_error" for e in self.attempt.events):
                self._event("network_error", url, _first_line(exc))
            return False
        return True

    def _failure(self, exc: PlaywrightError) -> DriverFailure:
        return DriverFailure(f"the browser failed on {self.page.url}: {_first_line(exc)}")

    # -- controls --------------------------------------------------------------------

    async def _form(self, step: str, controls: FormControls, *, exact: bool = False) -> Locator:
        forms = self.page.locator(controls.form)
        if not exact and self._hints.get((controls.form, None)) == 1:
            return forms
        count = await forms.count()
        if count != 1:
            raise ControlProblem(
                "control_missing" if count == 0 else "control_ambiguous",
                f"{step} form ({controls.form}): {_found(count)}",
            )
        return forms

    async def _form_with(self, step: str, controls: FormControls, *names: str) -> tuple[Locator, list[Locator]]:
        """The form and its controls ``names``, counted at once (one round trip to the page, not one each).

        The problems come in the order the one-by-one lookups would raise them: the form first.
        """
        forms = self.page.locator(controls.form)
        form, *located = await _in_order(
            self._form(step, controls), *(self._control(step, forms, controls, name) for name in names)
        )
        return form, located

    async def _control(
        self, step: str, form: Locator, controls: FormControls, name: str, *, exact: bool = False
    ) -> Locator:
        found = await self._maybe_control(step, form, controls, name, exact=exact)
        if found is None:
            selector = _selector(controls, name) or "(not in the profile)"
            raise ControlProblem(
                "control_missing", f"{name} of the {step} form ({selector} in {controls.form}): {_found(0)}"
            )
        return found

    async def _maybe_control(
        self, step: str, form: Locator, controls: FormControls, name: str, *, exact: bool = False
    ) -> Locator | None:
        """The one visible element for a control inside its form, None if there is none.

        Where the page's own count found exactly one (and one form), that one is used
        at once; should it then fail, ``_recount`` asks Playwright before blaming it.
        """
        selector = _selector(controls, name)
        if selector is None:
            return None
        found = visible_control(form, controls, name)
        hinted = self._hints.get((controls.form, None)) == 1 and self._hints.get((controls.form, selector)) == 1
        if hinted and not exact:
            self._unverified[name] = (step, controls)
            return found
        count = await found.count()
        if count > 1:
            raise ControlProblem(
                "control_ambiguous", f"{name} of the {step} form ({selector} in {controls.form}): {_found(count)}"
            )
        return found if count == 1 else None

    async def _use(self, name: str, act: Awaitable[None]) -> None:
        """Type into or tick a control; a control that never becomes usable is the probe's problem."""
        try:
            await act
        except PlaywrightError as exc:
            await self._recount(name, exc)
            raise self._control_error(name, exc) from exc

    async def _recount(self, name: str, exc: PlaywrightError) -> None:
        """A control used on the page's count alone failed: Playwright's count says whether it is missing or twice."""
        looked_up = self._unverified.pop(name, None)
        if looked_up is None or any(marker in str(exc) for marker in _GONE):
            return
        step, controls = looked_up
        try:
            form = await self._form(step, controls, exact=True)
            await self._control(step, form, controls, name, exact=True)
        except PlaywrightError:
            return  # the page went away meanwhile: the first failure tells it

    def _control_error(self, name: str, exc: PlaywrightError) -> Exception:
        text = str(exc)
        if any(marker in text for marker in _GONE):
            return self._failure(exc)
        if "strict mode violation" in text:
            return ControlProblem("control_ambiguous", f"{name}: {_first_line(exc)}")
        return ControlProblem("control_unusable", f"{name}: {_first_line(exc)}")

    async def _submit(self, control: Locator, name: str = "submit") -> bool:
        """Click and wait for the next page; a page that throws instead gives up early."""
        self._script_error.clear()
        self._navigation_requested.clear()
        try:
            async with self.page.expect_navigation(timeout=self.options.navigation_timeout_ms) as navigation:
                try:
                    await control.click(timeout=self.options.action_timeout_ms)
                except PlaywrightError as exc:
                    raise _ClickFailed(exc) from exc
                await self._navigation_unless_broken(navigation.value)
        except _ClickFailed as failed:
            await self._recount(name, failed.error)
            raise self._control_error(name, failed.error) from failed.error
        except _SubmitBroken:
            self._event("submit_no_effect", self.page.url, "a script error, and the page did not change")
            return False
        except PlaywrightTimeout:
            self._event("submit_no_effect", self.page.url, "the page did not change after submitting")
            return False
        except PlaywrightError as exc:
            network = _NETWORK_ERROR.search(str(exc))
            if network is None or network.group(0) in _BENIGN_FAILURES:
                if any(marker in str(exc) for marker in _GONE):
                    raise self._failure(exc) from exc
                self._event("submit_no_effect", self.page.url, _first_line(exc))
                return False
            if not any(e.name == "network_error" for e in self.attempt.events):
                self._event("network_error", self.page.url, network.group(0))
            return False
        return True

    async def _navigation_unless_broken(self, navigation: Awaitable[object]) -> None:
        nav = asyncio.ensure_future(navigation)
        broken = asyncio.ensure_future(self._script_error.wait())
        try:
            await asyncio.wait({nav, broken}, return_when=asyncio.FIRST_COMPLETED)
            if not nav.done() and not await self._navigation_pending():
                raise _SubmitBroken
            await nav  # bounded by the navigation timeout
        finally:
            for task in (nav, broken):
                if not task.done():
                    task.cancel()
            await asyncio.gather(nav, broken, return_exceptions=True)

    async def _navigation_pending(self) -> bool:
        """After a script error: will the submit still navigate?

        A form submitted by the browser asks for its document in the same task as
        the click; a script may first finish a request of its own (a token, a
        fingerprint) and then submit. So: wait until the page has no request in
        flight and has run its queued tasks; a navigation asked for by then is
        pending, none means the submit did nothing. No fixed grace.
        """
        for _ in range(20):  # each round needs the page to start yet another request
            if self._navigation_requested.is_set():
                return True
            quiet = asyncio.ensure_future(self._quiet.wait())
            asked = asyncio.ensure_future(self._navigation_requested.wait())
            try:
                await asyncio.wait(
                    {quiet, asked},
                    timeout=self.options.navigation_timeout_ms / 1000,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                for task in (quiet, asked):
                    task.cancel()
                await asyncio.gather(quiet, asked, return_exceptions=True)
            if self._navigation_requested.is_set():
                return True
            if not self._quiet.is_set():
                return False  # a request hung for the whole navigation timeout: nothing will come of it
            try:
                # One turn of the page's task queue: what the click scheduled has run.
                await self.page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 0))")
            except PlaywrightError:
                return True  # the document went away under the probe: it is navigating
            if self._navigation_requested.is_set():
                return True
            if self._quiet.is_set():
                return False
        return False

    # -- the steps ---------------------------------------------------------------------

    async def _fill_and_submit(self, step: str, controls: FormControls, field: str, value: str) -> bool:
        _, (box, submit) = await self._form_with(step, controls, field, "submit")
        await self._use(field, box.fill(value, timeout=self.options.action_timeout_ms))
        return await self._submit(submit)

    async def _email(self, _: PageKind, __: PageSignals) -> bool:
        return await self._fill_and_submit("email", self.profile.controls.email_form, "email", self.credentials.email)

    async def _password(self, _: PageKind, __: PageSignals) -> bool:
        controls = self.profile.controls.password_form
        return await self._fill_and_submit("password", controls, "password", self.credentials.password)

    def _asks_for_sms(self, signals: PageSignals) -> bool:
        prompt = signals.text("mfa_prompt")
        return any(p in prompt for p in self.profile.controls.otp_sms_prompt)

    async def _otp(self, kind: PageKind, signals: PageSignals) -> bool:
        controls = self.profile.controls.otp_form
        creds = self.credentials
        form = await self._form("2-step", controls)
        by_sms = self._asks_for_sms(signals)
        if by_sms and creds.prefer_app and not self._asked_other_method:
            # "Didn't receive the OTP?": the code page comes back with the other method.
            self._asked_other_method = True
            self._done.discard(kind.kind)
            return await self._submit(await self._control("2-step", form, controls, "new_code"), "new_code")
        box, submit, remember = await _in_order(
            self._control("2-step", form, controls, "code"),
            self._control("2-step", form, controls, "submit"),
            # "Don't ask again on this browser" is optional: a page without it still takes the code.
            self._maybe_control("2-step", form, controls, "remember") if creds.remember_device else _none(),
        )
        if creds.remember_device and remember is None:
            self.log.info("no_remember_box", url=self.page.url)
        code = await self._code(by_sms)
        if code is None:
            if by_sms:
                self._event("otp_not_received", self.page.url, "no text message with a new code arrived")
            else:
                # The authenticator app's code: nothing was sent, the probe has no seed to make one.
                self._event("otp_no_seed", self.page.url, "no authenticator seed (PROBE_TOTP_SECRET) or code")
            return False
        await self._use("code", box.fill(code, timeout=self.options.action_timeout_ms))
        if remember is not None:
            await self._use("remember", remember.check(timeout=self.options.action_timeout_ms))
        return await self._submit(submit)

    async def _code(self, by_sms: bool) -> str | None:
        creds = self.credentials
        if creds.fixed_otp is not None:
            return creds.fixed_otp
        if by_sms:
            return await creds.sms.next_code(self.page.context) if creds.sms else None
        return await creds.totp.next_code(site=_origin_of(self.page.url)) if creds.totp else None

    async def _otp_method(self, _: PageKind, __: PageSignals) -> bool:
        controls = self.profile.controls.otp_method_form
        form = await self._form("otp method", controls)
        order = ("app", "sms", "voice") if self.credentials.prefer_app else ("sms", "voice", "app")
        for method in order:
            radio = await self._maybe_control("otp method", form, controls, method)
            if radio is not None:
                submit = await self._control("otp method", form, controls, "submit")
                await self._use(method, radio.check(timeout=self.options.action_timeout_ms))
                return await self._submit(submit)
        raise ControlProblem("control_missing", f"otp method form ({controls.form}): none of {', '.join(order)}")

    async def _verification_code(self, _: PageKind, signals: PageSignals) -> bool:
        """A code sent to verify a new browser: read it from the mailbox or the phone, like the seller would."""
        controls = self.profile.controls
        heading = signals.text("heading") or signals.text("cvf_prompt")
        by_sms = any(p.casefold() in heading.casefold() for p in controls.verification_sms_heading)
        where = "the phone's text messages" if by_sms else "the mailbox"
        source = self.credentials.sms if by_sms else self.credentials.mail
        box, submit = (await self._form_with("verification", controls.verification_form, "code", "submit"))[1]
        if source is None:
            self._event(
                "verification_code_unreadable", self.page.url, f"the code went to {where}; the probe cannot read it"
            )
            return False
        code = await source.next_code(self.page.context)
        if code is None:
            self._event("verification_code_unreadable", self.page.url, f"no new code arrived in {where}")
            return False
        await self._use("code", box.fill(code, timeout=self.options.action_timeout_ms))
        return await self._submit(submit)

    async def _picker(self, _: PageKind, __: PageSignals) -> bool:
        controls = self.profile.controls
        choice = controls.picker_form.fields["choice"]
        forms = self.page.locator(controls.picker_form.form)
        rows = forms.locator("label").filter(has=self.page.locator(choice), visible=True)
        preferred = rows.filter(has_text=_picker_pattern(self.profile))
        queries = _picker_queries(self.profile)
        if self._hints.get(queries[1], 0) >= 1:
            # The page counted a row of the preferred marketplace: tick it at once.
            _, submit = await _in_order(
                self._form("account picker", controls.picker_form),
                self._control("account picker", forms, controls.picker_form, "submit"),
            )
            if self._hints[queries[1]] == 1 and len(queries) > 2 and self._hints.get(queries[2]) == 1:
                # The one row of that marketplace shown is ticked already (the site's default):
                # what the form sends is that row.
                return await self._submit(submit)
            try:
                await preferred.first.locator(choice).check(timeout=self.options.action_timeout_ms)
            except PlaywrightError as exc:
                if any(marker in str(exc) for marker in _GONE):
                    raise self._failure(exc) from exc
                self.log.info("picker_recount", url=self.page.url)  # Playwright sees it otherwise: ask it
            else:
                return await self._submit(submit)

        async def some_row() -> None:
            if not await rows.count():
                raise ControlProblem(
                    "control_missing", f"choice of the account picker ({choice} in a label): {_found(0)}"
                )

        # All looked up at once; the problems come in the order one-by-one lookups would raise them.
        _, _, preferring, submit = await _in_order(
            self._form("account picker", controls.picker_form, exact=True),
            some_row(),
            preferred.count(),
            self._control("account picker", forms, controls.picker_form, "submit", exact=True),
        )
        row = preferred.first if preferring else rows.first
        await self._use("choice", row.locator(choice).check(timeout=self.options.action_timeout_ms))
        return await self._submit(submit)

    async def _skip(self, _: PageKind, __: PageSignals) -> bool:
        for selector in self.profile.controls.skip:
            links = self.page.locator(selector).filter(visible=True)
            count = await links.count()
            if count > 1:
                raise ControlProblem("control_ambiguous", f"skip link ({selector}): {_found(count)}")
            if count == 1:
                return await self._submit(links, "skip")
        raise ControlProblem("control_missing", f"skip link ({', '.join(self.profile.controls.skip)}): {_found(0)}")

    # -- bookkeeping ---------------------------------------------------------------

    def _left_sign_in_since(self, mark: int) -> bool:
        """Did a redirect after the submit pass through a page outside /ap/?"""
        return any(not urlsplit(d.url).path.startswith(AUTH_PATH_PREFIXES) for d in self.attempt.documents[mark:])

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
    "enter_verification_code": "verification",
    "pick_account": "picker",
    "skip": "interruption",
}


# The controls each action uses: (controls group, control, required). An optional
# control may be absent, but never match more than one element.
ACTION_CONTROLS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "enter_email": (("email_form", "email", True), ("email_form", "submit", True)),
    "enter_password": (("password_form", "password", True), ("password_form", "submit", True)),
    "enter_otp": (
        ("otp_form", "code", True),
        ("otp_form", "submit", True),
        ("otp_form", "remember", False),
        ("otp_form", "new_code", False),
    ),
    "choose_otp_method": (
        ("otp_method_form", "submit", True),
        ("otp_method_form", "sms", False),
        ("otp_method_form", "voice", False),
        ("otp_method_form", "app", False),
    ),
    "enter_verification_code": (("verification_form", "code", True), ("verification_form", "submit", True)),
    "pick_account": (("picker_form", "submit", True),),
}


def _picker_pattern(profile: Profile) -> re.Pattern[str]:
    """The account picker's rows of the preferred marketplace have this in their text."""
    return re.compile("|".join(map(re.escape, profile.controls.picker_prefer)))


def _picker_queries(profile: Profile) -> tuple[Query, ...]:
    """The account picker's rows as the page counts them: all shown, those of the preferred
    marketplace, and (for a choice given as one selector) those of it already ticked."""
    form = profile.controls.picker_form
    choice = form.fields["choice"]
    pattern = _picker_pattern(profile).pattern
    rows = f"label:has({choice})"
    queries: tuple[Query, ...] = ((form.form, rows), (form.form, rows, pattern))
    if "," not in choice:
        queries += ((form.form, f"label:has({choice}:checked)", pattern),)
    return queries


def _control_queries(profile: Profile) -> tuple[Query, ...]:
    """Each form the driver may look up, and each of its controls: what the page counts as it is read."""
    queries: dict[Query, None] = dict.fromkeys(_picker_queries(profile))
    for group, name, _ in (c for controls in ACTION_CONTROLS.values() for c in controls):
        controls: FormControls = getattr(profile.controls, group)
        queries[(controls.form, None)] = None
        selector = _selector(controls, name)
        if selector is not None:
            queries[(controls.form, selector)] = None
    return tuple(queries)


def _selector(controls: FormControls, name: str) -> str | None:
    return controls.submit if name == "submit" else controls.fields.get(name)


def visible_control(form: Locator, controls: FormControls, name: str) -> Locator:
    """A control inside its form, visible matches only: the lookup the driver makes."""
    selector = _selector(controls, name)
    if selector is None:
        raise KeyError(name)
    return form.locator(selector).filter(visible=True)


async def count_controls(page: Page, profile: Profile, action: str) -> dict[str, tuple[int, bool]]:
    """How many elements each control of ``action`` matches here, and whether it is required.

    ``"<group>"`` counts the forms, ``"<group>.<control>"`` the visible matches
    inside the form when there is exactly one. The driver acts only on 1.
    """
    counts: dict[str, tuple[int, bool]] = {}
    for group, name, required in ACTION_CONTROLS.get(action, ()):
        controls: FormControls = getattr(profile.controls, group)
        forms = page.locator(controls.form)
        count = await forms.count()
        counts[group] = (count, True)
        if count == 1:
            counts[f"{group}.{name}"] = (await visible_control(forms, controls, name).count(), required)
    return counts


def _found(count: int) -> str:
    return "no visible element" if count == 0 else f"{count} elements"


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    match = re.search(r"net::ERR_[A-Z_]+", text)
    return match.group(0) if match else text.splitlines()[0][:200]


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


async def _in_order(*steps: Awaitable[Any]) -> list[Any]:
    """Await ``steps`` at once (one round trip to the page, not one each); raise the first one's problem in order."""
    found = await asyncio.gather(*steps, return_exceptions=True)
    for item in found:
        if isinstance(item, BaseException):
            raise item
    return list(found)


async def _none() -> None:
    return None
