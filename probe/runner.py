"""Play scenarios: start the bundled mock, set the seller's browser up, diagnose."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import structlog
from playwright.async_api import BrowserContext

from fixtures.mock_site import MockServer

from .browser import BrowserSession
from .diagnosis import Diagnoser, Outcome, RetryPolicy, Sleep, Target
from .errors import InfraError, UsageError
from .evidence import Recorder
from .flow import Credentials, DriverOptions
from .log import run_events
from .otp import OtpSource
from .profile import Profile, load_profile
from .redact import SECRETS
from .report import Result
from .scenarios import CookieSpec, Scenario

log = structlog.get_logger("probe.runner")


@dataclass
class RunOptions:
    out: Path | None = None
    workers: int = 1
    driver: DriverOptions | None = None
    # The mock answers in milliseconds; a short backoff keeps scenario runs fast.
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(deadline_s=30.0, backoff_s=0.2, backoff_max_s=2.0))
    sleep: Sleep = asyncio.sleep


def credentials_for(scenario: Scenario) -> Credentials:
    spec = scenario.credentials
    return Credentials(
        email=spec.email,
        password=spec.password,
        otp=OtpSource(spec.totp_secret) if spec.totp_secret else None,
        fixed_otp=spec.otp,
        remember_device=spec.remember_device,
    )


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
    match = (
        outcome.verdict == expect.verdict
        and (expect.remedy is None or expect.remedy == outcome.remedy)
        and (expect.remedy_verified is None or expect.remedy_verified == outcome.remedy_verified)
    )
    return Result(
        scenario=scenario.name,
        title=scenario.title,
        verdict=outcome.verdict.value,
        detail=outcome.detail,
        expected=expect.verdict.value,
        match=match,
        remedy=outcome.remedy,
        remedy_verified=outcome.remedy_verified,
        remedies_tried=[{**asdict(t), "verdict": t.verdict.value} for t in outcome.trials],
        evidence=[e.to_dict() for e in outcome.evidence],
        attempts=outcome.attempts,
        transient=outcome.transient,
        duration_s=round(time.perf_counter() - started, 2),
        phases=[asdict(p) for p in outcome.phases],
    )


async def play(
    scenario: Scenario, session: BrowserSession, options: RunOptions, profile: Profile | None = None
) -> Result:
    profile = profile or load_profile()
    if profile.marketplace_of(scenario.start) is None:
        raise UsageError(f"scenario {scenario.name}: start host {scenario.start!r} is not a Seller Central host")
    started = time.perf_counter()
    recorder = Recorder(options.out / scenario.name if options.out else None, profile)
    try:
        with run_events(scenario.name) as events:
            outcome = await _play(scenario, session, options, profile, recorder)
            result = _result(scenario, outcome, started)
            log.bind(run=scenario.name).info("verdict", verdict=result.verdict, match=result.match)
        recorder.write_log(events)
        recorder.write_json("result.json", result.to_dict())
        directory = recorder.finish()
        result.artifacts = str(directory) if directory else None
        return result
    finally:
        recorder.discard()


async def _play(
    scenario: Scenario, session: BrowserSession, options: RunOptions, profile: Profile, recorder: Recorder
) -> Outcome:
    mock = MockServer(scenario.site)
    try:
        await asyncio.to_thread(mock.start)
    except (OSError, RuntimeError) as exc:
        raise InfraError(f"the mock site did not start: {exc}") from exc
    try:
        target = Target(mock.origin(scenario.start) + profile.start_path, profile)
        async with session.context(scenario.browser.device) as context:
            await plant_cookies(context, scenario.browser.cookies, target, profile)
            diagnoser = Diagnoser(
                session,
                context,
                target,
                credentials_for(scenario),
                profile,
                device=scenario.browser.device,
                driver=options.driver,
                retry=options.retry,
                sleep=options.sleep,
                capture=recorder.capture if recorder.enabled else None,
                run=scenario.name,
            )
            outcome = await diagnoser.run()
            await _register_cookie_values(context, profile)
            return outcome
    finally:
        await asyncio.to_thread(mock.stop)


async def play_all(scenarios: Sequence[Scenario], session: BrowserSession, options: RunOptions) -> list[Result]:
    """Every scenario, ``options.workers`` at a time, each with its own mock."""
    gate = asyncio.Semaphore(max(1, options.workers))

    async def one(scenario: Scenario) -> Result:
        async with gate:
            return await play(scenario, session, options)

    return list(await asyncio.gather(*(one(s) for s in scenarios)))
