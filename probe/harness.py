"""The scenario harness: play scenarios against the bundled mock Seller Central.

The only part of the probe that imports ``fixtures``: it starts the mock, puts
a broken network in front of it when the scenario says so, sets the seller's
browser up (device, profile on disk, history, cookies) and diagnoses with the
library API of ``probe.runner``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from playwright.async_api import BrowserContext

from fixtures.mock_site import MockHub, MockServer
from fixtures.mock_site.marketplaces import TEST_SUFFIX
from fixtures.mock_site.server import SiteAccess
from fixtures.network import UNRESOLVABLE_SUFFIX, BlackHoleServer, PlainHttpServer, ResettingServer, closed_port

from .browser import BrowserSession, ContextPool
from .diagnosis import Outcome, RetryPolicy, Target
from .errors import InfraError, UsageError
from .evidence import Recorder
from .flow import Credentials, DriverOptions
from .journeys import JourneyProblem, Sighting, World, run_step
from .mailbox import Inbox, SmsCodes
from .otp import OtpSource
from .profile import Profile, load_profile
from .redact import SECRETS
from .report import Result
from .runner import RunOptions, _diagnoser, _outcome_result, _recorded, _register_cookie_values
from .scenarios import CookieSpec, Scenario, SignInStep, StateCheck
from .state import CodeLedger

__all__ = ["MAIL_HOST", "check_state", "credentials_for", "plant_cookies", "play", "play_all"]

# The bundled mock's mail and SMS host: the seller's mailbox and phone.
MAIL_HOST = "mail"
# A server that never answers ends each sign-in only at the driver's navigation
# timeout (15 s by default, 4 tries): the harness waits 0.5 s per try instead (the
# mock answers within milliseconds), unless the run sets its own driver options.
BLACK_HOLE_NAVIGATION_TIMEOUT_MS = 500
# The mock's self-clearing challenges reload within a fraction of a second: the
# harness waits 2 s for one to clear (6 s by default), unless the run sets its own driver options.
MOCK_CHALLENGE_WAIT_MS = 2_000
# The mock fails and recovers on a count of requests, not on the clock: when the
# run keeps the default retry policy, the harness backs off a quarter as long.
MOCK_RETRY = RetryPolicy(deadline_s=30.0, backoff_s=0.05, backoff_max_s=0.5)
_DEFAULT_RETRY = RunOptions().retry


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


@dataclass
class Played:
    """A scenario played: the verdict's outcome, what each journey step saw, the site's state after."""

    outcome: Outcome
    sightings: list[Sighting] = field(default_factory=list)
    snapshot: dict[str, Any] | None = None


def _resolve(data: Any, path: str) -> tuple[bool, Any]:
    """The value at a dotted ``path``; keys may hold dots (an email), the longest key wins.

    Through a list, an index picks one item; a name picks that key of every item.
    """
    node, rest = data, path
    while rest:
        if isinstance(node, dict):
            keys = sorted((str(k) for k in node if rest == str(k) or rest.startswith(f"{k}.")), key=len, reverse=True)
            if not keys:
                return False, None
            node, rest = node[keys[0]], rest[len(keys[0]) + 1 :]
        elif isinstance(node, list):
            head, _, tail = rest.partition(".")
            if head.isdigit():
                if int(head) >= len(node):
                    return False, None
                node, rest = node[int(head)], tail
            else:
                picked = [_resolve(item, rest) for item in node]
                return True, [value for found, value in picked if found]
        else:
            return False, None
    return True, node


def _holds(item: Any, want: Any) -> bool:
    if isinstance(want, dict) and isinstance(item, dict):
        return all(key in item and _holds(item[key], value) for key, value in want.items())
    return bool(item == want)


def check_state(snapshot: dict[str, Any], check: StateCheck) -> tuple[bool, str]:
    """One ``expect.state`` check against the site's snapshot: (holds, what was found)."""
    found, value = _resolve(snapshot, check.path)
    if not found:
        return False, f"{check.path}: not in the site's state"
    if check.where is not None and isinstance(value, list):
        value = [item for item in value if _holds(item, check.where)]
    if "equals" in check.model_fields_set:
        return _holds(value, check.equals) and _holds(check.equals, value), f"{check.path} is {value!r}"
    if "contains" in check.model_fields_set:
        if isinstance(value, str) and isinstance(check.contains, str):
            ok = check.contains in value
        elif isinstance(value, dict) and isinstance(check.contains, dict):
            ok = _holds(value, check.contains)
        elif isinstance(value, list | dict):
            ok = any(_holds(item, check.contains) for item in value)
        else:
            ok = False
        return ok, f"{check.path} is {value!r}"
    size = len(value) if isinstance(value, list | dict | str) else None
    return size == check.count, f"{check.path} has {size if size is not None else 'no'} items"


def _checks(scenario: Scenario, played: Played) -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = []
    for seen in played.sightings:
        if not seen.ok:
            checks.append({"check": f"step {seen.step} ({seen.do})", "ok": False, "detail": seen.note})
    expect = scenario.expect
    if expect is None:
        return checks
    by_step = {seen.step: seen for seen in played.sightings}
    for want in expect.steps:
        sighting = by_step.get(want.step)
        # What the step saw (headings, alerts), and what it reports (a sign-in's verdict, whether a code was asked).
        texts = " / ".join([*sighting.saw, sighting.note]) if sighting else ""
        missing = [text for text in want.saw if text not in texts]
        detail = f"saw: {texts or '(nothing)'}" + (f"; missing: {', '.join(missing)}" if missing else "")
        checks.append({"check": f"step {want.step} saw", "ok": not missing, "detail": SECRETS.redact(detail)})
    for fact in expect.state:
        ok, detail = check_state(played.snapshot or {}, fact)
        checks.append({"check": f"state {fact.path}", "ok": ok, "detail": SECRETS.redact(detail)})
    return checks


def _result(scenario: Scenario, played: Played | Outcome, started: float) -> Result:
    if isinstance(played, Outcome):
        played = Played(played)
    outcome = played.outcome
    journey = [seen.to_dict() for seen in played.sightings]
    checks = _checks(scenario, played)
    expect = scenario.expect
    if expect is None:  # no expectation: the verdict is the answer
        return _outcome_result(
            scenario.name, scenario.title, outcome, started, expected=None, match=True, journey=journey, checks=checks
        )
    match = (
        outcome.verdict == expect.verdict
        and (expect.remedy is None or expect.remedy == outcome.remedy)
        and (expect.remedy_verified is None or expect.remedy_verified == outcome.remedy_verified)
        and all(check["ok"] for check in checks)
    )
    return _outcome_result(
        scenario.name,
        scenario.title,
        outcome,
        started,
        expected=expect.verdict.value,
        match=match,
        journey=journey,
        checks=checks,
    )


def _paced(scenario: Scenario, options: RunOptions) -> RunOptions:
    """The run's options, with the waits the caller left at their defaults set for the bundled mock."""
    if options.retry == _DEFAULT_RETRY:
        options = replace(options, retry=MOCK_RETRY)
    if options.driver is None:
        driver = DriverOptions(challenge_wait_ms=MOCK_CHALLENGE_WAIT_MS)
        if scenario.network == "timeout":
            driver = replace(driver, navigation_timeout_ms=BLACK_HOLE_NAVIGATION_TIMEOUT_MS)
        options = replace(options, driver=driver)
    return options


async def play(
    scenario: Scenario,
    session: BrowserSession,
    options: RunOptions,
    profile: Profile | None = None,
    *,
    hub: MockHub | None = None,
    pool: ContextPool | None = None,
) -> Result:
    """One scenario against the bundled mock: on a site leased from ``hub``, or on a mock of its own.

    A hub serves as many scenarios at once as it has slots; play no more at once.
    """
    profile = profile or load_profile()
    if profile.marketplace_of(scenario.start) is None:
        raise UsageError(f"scenario {scenario.name}: start host {scenario.start!r} is not a Seller Central host")
    started = time.perf_counter()
    options = _paced(scenario, options)

    async def run(recorder: Recorder) -> Result:
        played = await _play(scenario, session, options, profile, recorder, hub, pool)
        return _result(scenario, played, started)

    return await _recorded(scenario.name, options, profile, run)


@asynccontextmanager
async def _running_mock(
    scenario: Scenario, admin_token: str | None = None, hub: MockHub | None = None
) -> AsyncIterator[SiteAccess]:
    """The scenario's site: leased from the hub, or a mock server of its own."""
    if hub is not None:
        async with _leased(hub, scenario, admin_token) as site:
            yield site
        return
    mock = MockServer(scenario.site, admin_token=admin_token)
    try:
        await asyncio.to_thread(mock.start)
    except (OSError, RuntimeError) as exc:
        raise InfraError(f"the mock site did not start: {exc}") from exc
    try:
        yield mock
    finally:
        await asyncio.to_thread(mock.stop)


@asynccontextmanager
async def _leased(hub: MockHub, scenario: Scenario, admin_token: str | None) -> AsyncIterator[SiteAccess]:
    """A site of the hub's for the scenario, built off the event loop (hashing its passwords takes a while)."""
    lease = hub.lease(scenario.site, admin_token=admin_token)
    entering = asyncio.ensure_future(asyncio.to_thread(lease.__enter__))
    try:
        site = await asyncio.shield(entering)
    except asyncio.CancelledError:
        # The thread takes the slot all the same: it goes back once taken.
        entering.add_done_callback(
            lambda done: done.cancelled() or done.exception() or lease.__exit__(None, None, None)
        )
        raise
    except (OSError, RuntimeError) as exc:
        raise InfraError(f"the mock site did not start: {exc}") from exc
    try:
        yield site
    finally:
        lease.__exit__(None, None, None)


@contextmanager
def _start_origin(scenario: Scenario, mock: SiteAccess) -> Iterator[str]:
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
    scenario: Scenario,
    session: BrowserSession,
    mock: SiteAccess,
    recorder: Recorder,
    pool: ContextPool | None = None,
) -> AsyncIterator[BrowserContext]:
    """The seller's browser as the scenario describes it: device, profile on disk, history.

    A plain browser comes from ``pool`` when there is one and nothing is recorded (a trace
    and a HAR cover their whole context): wiped and checked clean after the scenario before.
    """
    device = scenario.browser.device
    block_cookies = scenario.browser.block_cookies
    if pool is not None and not (scenario.browser.persistent or block_cookies or recorder.enabled):
        async with pool.context(device) as context:
            yield context
        return
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
    scenario: Scenario,
    session: BrowserSession,
    options: RunOptions,
    profile: Profile,
    recorder: Recorder,
    hub: MockHub | None = None,
    pool: ContextPool | None = None,
) -> Played:
    # The bundled mock's admin API, for the harness's own steps (the clock): never the probe's.
    admin_token = secrets.token_urlsafe(24) if scenario.journey else None
    SECRETS.add(admin_token)
    # Changes to the account (2-step set-up, a new password) are the point on the bundled mock.
    options = replace(options, allow_changes=True)
    async with _running_mock(scenario, admin_token, hub) as mock:
        with _start_origin(scenario, mock) as origin:
            target = Target(origin + scenario.start_path, profile)
            credentials, mailbox = credentials_for(scenario, mock.origin(MAIL_HOST), profile)
            async with _seller_browser(scenario, session, mock, recorder, pool) as context:
                await plant_cookies(context, scenario.browser.cookies, target, profile)
                if scenario.journey:
                    played = await _journey(
                        scenario,
                        session,
                        options,
                        profile,
                        recorder,
                        context,
                        target,
                        credentials,
                        mailbox,
                        mock,
                        admin_token or "",
                    )
                else:
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
                    played = Played(await diagnoser.run())
                await _register_cookie_values(context, profile)
                if scenario.expect is not None and scenario.expect.state:
                    played.snapshot = mock.snapshot()
                return played


def _people(scenario: Scenario, seller: Credentials, mail_origin: str, profile: Profile) -> dict[str, Credentials]:
    """Every account of the site as its holder knows it; the scenario's seller as the scenario says."""
    people: dict[str, Credentials] = {}
    pattern = profile.mailbox.otp_pattern
    for account in scenario.site.accounts:
        inbox = Inbox(f"{mail_origin}/inbox?to={quote(account.email)}")
        people[account.email.lower()] = Credentials(
            email=account.email,
            password=account.password,
            totp=OtpSource(account.totp_secret, ledger=CodeLedger.in_memory()) if account.totp_secret else None,
            sms=SmsCodes(Inbox(f"{mail_origin}/sms?to={quote(account.phone_last_digits)}"), pattern),
            mail=SmsCodes(inbox, profile.mailbox.otp_pattern),
        )
    people[seller.email.lower()] = seller
    return people


async def _move_clock(mock: SiteAccess, token: str, days: int) -> str:
    """The bundled mock's clock, moved through its admin API (a test-harness step)."""
    url = f"http://127.0.0.1:{mock.port}/__mock__/clock"
    request = urllib.request.Request(
        url,
        data=json.dumps({"add_days": days}).encode(),
        method="PUT",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )

    def send() -> str:
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(response.read(2000).decode("utf-8", "replace"))

    try:
        return await asyncio.to_thread(send)
    except OSError as exc:
        raise JourneyProblem(f"the mock's clock did not move: {exc}") from exc


async def _journey(
    scenario: Scenario,
    session: BrowserSession,
    options: RunOptions,
    profile: Profile,
    recorder: Recorder,
    context: BrowserContext,
    target: Target,
    seller: Credentials,
    mailbox: Inbox | None,
    mock: SiteAccess,
    admin_token: str,
) -> Played:
    """The scenario's journey, step by step; the last sign-in's outcome is the verdict."""
    mail_origin = mock.origin(MAIL_HOST)
    world = World(
        profile,
        target.url_for,
        mail_origin=mail_origin,
        people=_people(scenario, seller, mail_origin, profile),
        home_host=scenario.start,
    )
    driver = options.driver or DriverOptions()
    outcome: Outcome | None = None
    sightings: list[Sighting] = []
    steps: list[Any] = list(scenario.journey)
    if not any(step.do == "sign_in" for step in steps):
        steps.append(SignInStep(do="sign_in"))  # the verdict needs a sign-in: the seller's, at the end
    for number, step in enumerate(steps, 1):
        creds = world.person(step.account) if step.account else seller
        async with AsyncExitStack() as stack:
            ctx = context
            if step.fresh_browser:
                ctx = await stack.enter_async_context(session.context(scenario.browser.device))
            if step.do == "sign_in":
                outcome, seen = await _sign_in(
                    step, number, scenario, session, options, recorder, ctx, target, creds, mailbox, world
                )
            elif step.do == "move_clock":
                try:
                    await _move_clock(mock, admin_token, step.days)
                    seen = Sighting(number, step.do, "", None, [f"clock moved by {step.days} days"])
                except JourneyProblem as exc:
                    seen = Sighting(number, step.do, "", None, [], False, str(exc))
            else:
                seen = await run_step(ctx, world, creds, step, number, driver)
        sightings.append(seen)
    assert outcome is not None
    return Played(outcome, sightings)


async def _sign_in(
    step: SignInStep,
    number: int,
    scenario: Scenario,
    session: BrowserSession,
    options: RunOptions,
    recorder: Recorder,
    context: BrowserContext,
    target: Target,
    creds: Credentials,
    mailbox: Inbox | None,
    world: World,
) -> tuple[Outcome, Sighting]:
    start = Target(target.url_for(scenario.start, step.path or scenario.start_path), target.profile)
    typed = creds.preferring_app() if step.method == "app" else creds
    own_mailbox = mailbox if creds.email.lower() == scenario.credentials.email.lower() else None
    diagnoser = _diagnoser(
        session,
        context,
        start,
        typed,
        options,
        recorder,
        name=scenario.name,
        device=scenario.browser.device,
        mailbox=own_mailbox,
    )
    outcome = await diagnoser.run()
    asked = any(phase.name == "2sv" for phase in outcome.phases)
    # What the sign-in changed (a new authenticator, a new password) the person now knows.
    creds.password, creds.totp = diagnoser.credentials.password, diagnoser.credentials.totp
    world.contact = outcome.contact
    final = outcome.final
    saw = [*final.headings, *final.alerts] if final is not None else []
    seen = Sighting(
        number,
        "sign_in",
        final.url if final else "",
        final.status if final else None,
        list(dict.fromkeys(SECRETS.redact(t) for t in saw)),
        note=f"verdict {outcome.verdict.value}"
        + (" (remedy verified)" if outcome.remedy_verified else "")
        + ("; asked for a 2-step code" if asked else "; no 2-step code asked"),
    )
    return outcome, seen


# A run of more scenarios than this shares ports between them, one after another.
MAX_SITES = 256


def expected_work(scenario: Scenario) -> float:
    """A rough guess of a scenario's length, in sign-ins: only for the order in which a run starts them."""
    work = 1.0 + 1.5 * len(scenario.journey)
    work += sum(5 * getattr(fault, "delay_ms", 0) / 1000 for fault in scenario.site.faults)
    if scenario.browser.persistent or scenario.browser.block_cookies:
        work += 1 + len(scenario.browser.history)  # a browser of its own is launched for each
    return work


async def play_all(scenarios: Sequence[Scenario], session: BrowserSession, options: RunOptions) -> list[Result]:
    """Every scenario, ``options.workers`` at a time, each on a fresh site of one mock server for the run.

    Each scenario gets a port of its own (up to ``MAX_SITES``), so no URL of one
    scenario is ever a URL of another: a browser context can then pass from one
    scenario to the next, wiped and checked clean in between (`ContextPool`),
    with nothing cached under the same address. Runs that record evidence
    (``--out``) or share ports use a fresh context for each scenario.
    """
    workers = max(1, options.workers)
    gate = asyncio.Semaphore(workers)
    own_ports = len(scenarios) <= MAX_SITES
    hub = MockHub(max(workers, min(len(scenarios), MAX_SITES)))
    try:
        await asyncio.to_thread(hub.start)
    except (OSError, RuntimeError) as exc:
        raise InfraError(f"the mock site did not start: {exc}") from exc
    pool = ContextPool(session, workers) if own_ports and options.out is None else None

    async def one(scenario: Scenario) -> Result:
        async with gate:
            if options.on_start is not None:
                options.on_start(scenario)
            result = await play(scenario, session, options, hub=hub, pool=pool)
            if options.on_done is not None:
                options.on_done(result)
            return result

    # The long ones start first, so that none is left running alone at the end; results keep the given order.
    longest_first = sorted(range(len(scenarios)), key=lambda i: expected_work(scenarios[i]), reverse=True)
    tasks = {i: asyncio.ensure_future(one(scenarios[i])) for i in longest_first}
    try:
        return list(await asyncio.gather(*(tasks[i] for i in range(len(scenarios)))))
    finally:
        if pool is not None:
            await pool.close()
        await asyncio.to_thread(hub.stop)
