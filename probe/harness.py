"""The scenario harness: play scenarios against the bundled mock Seller Central.

The only part of the probe that imports ``fixtures``: it starts the mock, puts
a broken network in front of it when the scenario says so, sets the seller's
browser up (device, profile on disk, history, cookies) and diagnoses with the
library API of ``probe.runner``.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from playwright.async_api import BrowserContext

from fixtures.mock_site import MockServer
from fixtures.mock_site.marketplaces import TEST_SUFFIX
from fixtures.network import UNRESOLVABLE_SUFFIX, BlackHoleServer, PlainHttpServer, ResettingServer, closed_port

from .browser import BrowserSession
from .diagnosis import Outcome, Target
from .errors import InfraError, UsageError
from .evidence import Recorder
from .flow import Credentials, DriverOptions
from .mailbox import Inbox, SmsCodes
from .otp import OtpSource
from .profile import Profile, load_profile
from .redact import SECRETS
from .report import Result
from .runner import RunOptions, _diagnoser, _outcome_result, _recorded, _register_cookie_values
from .scenarios import CookieSpec, Scenario
from .state import CodeLedger

__all__ = ["MAIL_HOST", "credentials_for", "plant_cookies", "play", "play_all"]

# The bundled mock's mail and SMS host: the seller's mailbox and phone.
MAIL_HOST = "mail"
# A server that never answers ends each sign-in only at the driver's navigation
# timeout (15 s by default, 4 tries): the harness waits 3 s per try instead,
# unless the run sets its own driver options.
BLACK_HOLE_NAVIGATION_TIMEOUT_MS = 3_000


def credentials_for(scenario: Scenario, mail_origin: str, profile: Profile) -> tuple[Credentials, Inbox | None]:
    """What the seller types, their phone's texts and their mailbox, as the scenario describes them."""
    spec = scenario.credentials
    sms = None
    if spec.phone:
        sms = SmsCodes(Inbox(f"{mail_origin}/sms?to={quote(spec.phone)}"), profile.mailbox.otp_pattern)
    mailbox = Inbox(f"{mail_origin}/inbox?to={quote(spec.email)}") if spec.mailbox else None
    credentials = Credentials(
        email=spec.email,
        password=spec.password,
        # The bundled mock lives for one scenario: the codes it saw are forgotten with it.
        totp=OtpSource(spec.totp_secret, skew_s=spec.clock_skew_s, ledger=CodeLedger.in_memory())
        if spec.totp_secret
        else None,
        sms=sms,
        # The seller reads the codes that verify a new browser in the same mailbox.
        mail=SmsCodes(mailbox, profile.mailbox.otp_pattern) if mailbox else None,
        fixed_otp=spec.otp,
        remember_device=spec.remember_device,
    )
    return credentials, mailbox


async def plant_cookies(
    context: BrowserContext, cookies: Sequence[CookieSpec], target: Target, profile: Profile
) -> None:
    """Put the cookies a seller's browser already holds into the context."""
    if not cookies:
        return
    planted: list[Any] = []
    for c in cookies:
        host = target.url_for(c.domain.lstrip(".")).split("://", 1)[1].split(":")[0]
        if profile.is_session_cookie(c.name):
            SECRETS.add(c.value)
        planted.append(
            {
                "name": c.name,
                "value": c.value,
                "domain": ("." if c.domain.startswith(".") else "") + host,
                "path": c.path,
                "secure": c.secure,
                "httpOnly": c.http_only,
                "sameSite": "Lax",
            }
        )
    await context.add_cookies(planted)


def _result(scenario: Scenario, outcome: Outcome, started: float) -> Result:
    expect = scenario.expect
    if expect is None:  # no expectation: the verdict is the answer
        return _outcome_result(scenario.name, scenario.title, outcome, started, expected=None, match=True)
    match = (
        outcome.verdict == expect.verdict
        and (expect.remedy is None or expect.remedy == outcome.remedy)
        and (expect.remedy_verified is None or expect.remedy_verified == outcome.remedy_verified)
    )
    return _outcome_result(scenario.name, scenario.title, outcome, started, expected=expect.verdict.value, match=match)


async def play(
    scenario: Scenario, session: BrowserSession, options: RunOptions, profile: Profile | None = None
) -> Result:
    profile = profile or load_profile()
    if profile.marketplace_of(scenario.start) is None:
        raise UsageError(f"scenario {scenario.name}: start host {scenario.start!r} is not a Seller Central host")
    started = time.perf_counter()

    if scenario.network == "timeout" and options.driver is None:
        options = replace(options, driver=DriverOptions(navigation_timeout_ms=BLACK_HOLE_NAVIGATION_TIMEOUT_MS))

    async def run(recorder: Recorder) -> Result:
        return _result(scenario, await _play(scenario, session, options, profile, recorder), started)

    return await _recorded(scenario.name, options, profile, run)


@asynccontextmanager
async def _running_mock(scenario: Scenario) -> AsyncIterator[MockServer]:
    mock = MockServer(scenario.site)
    try:
        await asyncio.to_thread(mock.start)
    except (OSError, RuntimeError) as exc:
        raise InfraError(f"the mock site did not start: {exc}") from exc
    try:
        yield mock
    finally:
        await asyncio.to_thread(mock.stop)


@contextmanager
def _start_origin(scenario: Scenario, mock: MockServer) -> Iterator[str]:
    """Where the browser starts: the mock, or a broken network in front of it."""
    if scenario.network == "refused":
        yield f"http://{scenario.start}{TEST_SUFFIX}:{closed_port()}"
    elif scenario.network == "reset":
        with ResettingServer() as server:
            yield f"http://{scenario.start}{TEST_SUFFIX}:{server.port}"
    elif scenario.network == "dns_failure":
        yield f"http://{scenario.start}{UNRESOLVABLE_SUFFIX}:{mock.port}"
    elif scenario.network == "timeout":
        with BlackHoleServer() as server:
            yield f"http://{scenario.start}{TEST_SUFFIX}:{server.port}"
    elif scenario.network == "tls_failure":
        with PlainHttpServer() as server:
            yield f"https://{scenario.start}{TEST_SUFFIX}:{server.port}"
    else:
        yield mock.origin(scenario.start)


@asynccontextmanager
async def _seller_browser(
    scenario: Scenario, session: BrowserSession, mock: MockServer, recorder: Recorder
) -> AsyncIterator[BrowserContext]:
    """The seller's browser as the scenario describes it: device, profile on disk, history."""
    device = scenario.browser.device
    block_cookies = scenario.browser.block_cookies
    if not (scenario.browser.persistent or block_cookies):
        async with session.context(device, **recorder.context_options()) as context, recorder.tracing(context):
            yield context
        return
    with tempfile.TemporaryDirectory(prefix="probe-profile-") as profile_dir:
        for visit in scenario.browser.history:
            mock.configure(scenario.site_at(visit))
            async with session.persistent_context(Path(profile_dir), device) as context:
                page = context.pages[0] if context.pages else await context.new_page()
                await page.goto(mock.origin(visit.host) + visit.path)
        mock.configure(scenario.site)
        async with (
            session.persistent_context(
                Path(profile_dir), device, block_cookies=block_cookies, **recorder.context_options()
            ) as context,
            recorder.tracing(context),
        ):
            yield context


async def _play(
    scenario: Scenario, session: BrowserSession, options: RunOptions, profile: Profile, recorder: Recorder
) -> Outcome:
    async with _running_mock(scenario) as mock:
        with _start_origin(scenario, mock) as origin:
            target = Target(origin + scenario.start_path, profile)
            credentials, mailbox = credentials_for(scenario, mock.origin(MAIL_HOST), profile)
            async with _seller_browser(scenario, session, mock, recorder) as context:
                await plant_cookies(context, scenario.browser.cookies, target, profile)
                diagnoser = _diagnoser(
                    session,
                    context,
                    target,
                    credentials,
                    options,
                    recorder,
                    name=scenario.name,
                    device=scenario.browser.device,
                    mailbox=mailbox,
                )
                outcome = await diagnoser.run()
                await _register_cookie_values(context, profile)
                return outcome


async def play_all(scenarios: Sequence[Scenario], session: BrowserSession, options: RunOptions) -> list[Result]:
    """Every scenario, ``options.workers`` at a time, each with its own mock."""
    gate = asyncio.Semaphore(max(1, options.workers))

    async def one(scenario: Scenario) -> Result:
        async with gate:
            if options.on_start is not None:
                options.on_start(scenario)
            result = await play(scenario, session, options)
            if options.on_done is not None:
                options.on_done(result)
            return result

    return list(await asyncio.gather(*(one(s) for s in scenarios)))
