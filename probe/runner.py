"""Play scenarios: start the bundled mock, set the seller's browser up, diagnose."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import structlog
from playwright.async_api import BrowserContext
from playwright.async_api import Error as PlaywrightError

from fixtures.mock_site import MockServer
from fixtures.mock_site.marketplaces import TEST_SUFFIX
from fixtures.network import UNRESOLVABLE_SUFFIX, ResettingServer, closed_port

from .browser import BrowserSession
from .diagnosis import Diagnoser, Outcome, RetryPolicy, Sleep, Target
from .errors import InfraError, UsageError
from .evidence import Recorder
from .flow import Credentials, DriverOptions
from .log import run_events
from .mailbox import Inbox, SmsCodes
from .otp import OtpSource
from .outcomes import Verdict
from .profile import Profile, load_profile
from .redact import SECRETS
from .remedies import prune_http_cache, reset_hosts
from .report import Result
from .scenarios import CookieSpec, Scenario
from .state import CodeLedger

log = structlog.get_logger("probe.runner")

# The bundled mock's mail and SMS host: the seller's mailbox and phone.
MAIL_HOST = "mail"


@dataclass
class RunOptions:
    out: Path | None = None
    workers: int = 1
    driver: DriverOptions | None = None
    # The mock answers in milliseconds; a short backoff keeps scenario runs fast.
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(deadline_s=30.0, backoff_s=0.2, backoff_max_s=2.0))
    sleep: Sleep = asyncio.sleep
    # Told as each scenario of `play_all` starts and finishes (progress, partial results).
    on_start: Callable[[Scenario], None] | None = None
    on_done: Callable[[Result], None] | None = None


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


async def _register_cookie_values(context: BrowserContext, profile: Profile) -> None:
    for cookie in await context.cookies():
        if profile.is_session_cookie(cookie.get("name", "")):
            SECRETS.add(cookie.get("value"))


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


def _outcome_result(
    name: str, title: str, outcome: Outcome, started: float, *, expected: str | None, match: bool
) -> Result:
    return Result(
        scenario=name,
        title=title,
        verdict=outcome.verdict.value,
        detail=outcome.detail,
        expected=expected,
        match=match,
        remedy=outcome.remedy,
        remedy_verified=outcome.remedy_verified,
        remedies_tried=[{**asdict(t), "verdict": t.verdict.value} for t in outcome.trials],
        hints=[asdict(h) for h in outcome.hints],
        evidence=[e.to_dict() for e in outcome.evidence],
        attempts=outcome.attempts,
        transient=outcome.transient,
        duration_s=round(time.perf_counter() - started, 2),
        phases=[asdict(p) for p in outcome.phases],
        rule=outcome.rule,
        decided_by=outcome.decided_by,
        trail=[step.to_dict() for step in outcome.trail],
        secondary=[finding.to_dict() for finding in outcome.secondary],
    )


async def play(
    scenario: Scenario, session: BrowserSession, options: RunOptions, profile: Profile | None = None
) -> Result:
    profile = profile or load_profile()
    if profile.marketplace_of(scenario.start) is None:
        raise UsageError(f"scenario {scenario.name}: start host {scenario.start!r} is not a Seller Central host")
    started = time.perf_counter()

    async def run(recorder: Recorder) -> Result:
        return _result(scenario, await _play(scenario, session, options, profile, recorder), started)

    return await _recorded(scenario.name, options, profile, run)


async def _recorded(
    name: str, options: RunOptions, profile: Profile, run: Callable[[Recorder], Awaitable[Result]]
) -> Result:
    """Run with the artifacts of ``--out``: the run's log, result.json, screenshots; all or nothing."""
    recorder = Recorder(options.out / name if options.out else None, profile)
    try:
        with run_events(name) as events:
            try:
                result = await run(recorder)
            except PlaywrightError as exc:
                # The browser or the driver itself broke (Chromium killed, a context
                # closed under the probe): the probe's failure, never the seller's.
                raise InfraError(f"{name}: the browser or its driver failed: {_first_line(exc)}") from exc
            log.bind(run=name).info("verdict", verdict=result.verdict, match=result.match)
        recorder.write_log(events)
        recorder.write_json("result.json", result.to_dict())
        directory = recorder.finish()
        result.artifacts = str(directory) if directory else None
        return result
    finally:
        recorder.discard()


def _diagnoser(
    session: BrowserSession,
    context: BrowserContext,
    target: Target,
    credentials: Credentials,
    options: RunOptions,
    recorder: Recorder,
    *,
    name: str,
    device: str,
    mailbox: Inbox | None = None,
) -> Diagnoser:
    return Diagnoser(
        session,
        context,
        target,
        credentials,
        target.profile,
        device=device,
        driver=options.driver,
        retry=options.retry,
        sleep=options.sleep,
        capture=recorder.capture if recorder.enabled else None,
        mailbox=mailbox,
        run=name,
    )


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


async def diagnose_url(
    url: str, credentials: Credentials, session: BrowserSession, options: RunOptions, *, device: str = "desktop"
) -> Result:
    """A live sign-in on any target (the real site, a staging copy, `probe mock`)."""
    profile = load_profile()
    started = time.perf_counter()
    name = "diagnose"

    async def run(recorder: Recorder) -> Result:
        async with session.context(device, **recorder.context_options()) as context, recorder.tracing(context):
            target = Target(url, profile)
            outcome = await _diagnoser(
                session, context, target, credentials, options, recorder, name=name, device=device
            ).run()
            await _register_cookie_values(context, profile)
        return _outcome_result(name, url, outcome, started, expected=None, match=outcome.verdict is Verdict.OK)

    return await _recorded(name, options, profile, run)


async def reset_profile(
    user_data_dir: Path, hosts: Sequence[str], session: BrowserSession, *, all_sites: bool = False
) -> int:
    """Delete the cookies, cache storage and site data of ``hosts`` in a browser profile on disk.

    Returns how many cookies were deleted; other sites' data is kept unless ``all_sites``.
    """
    try:
        async with session.persistent_context(user_data_dir) as context:
            page = context.pages[0] if context.pages else await context.new_page()
            cookies = await reset_hosts(context, page, hosts, all_sites=all_sites)
    except PlaywrightError as exc:
        raise InfraError(f"the browser could not open the profile {user_data_dir}: {_first_line(exc)}") from exc
    if not all_sites:  # the HTTP cache has no per-site clearing over CDP: done on disk, the browser closed
        prune_http_cache(user_data_dir, [(urlsplit(h).hostname or h) if "://" in h else h for h in hosts])
    return cookies


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return SECRETS.redact(lines[0][:200]) if lines else type(exc).__name__
