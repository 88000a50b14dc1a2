"""The library API: a live diagnosis of any sign-in page, the profile reset, their results.

Nothing here imports the bundled mock or its web stack (Starlette, uvicorn,
Jinja2): playing scenarios against the mock is ``probe.harness``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import structlog
from playwright.async_api import BrowserContext
from playwright.async_api import Error as PlaywrightError

from .browser import BrowserSession, ContextPool
from .diagnosis import Diagnoser, Outcome, RetryPolicy, Sleep, Target
from .errors import InfraError
from .evidence import Recorder
from .flow import Credentials, DriverOptions
from .log import run_events
from .mailbox import Inbox
from .outcomes import Verdict
from .profile import Profile, load_profile
from .redact import SECRETS, own_secrets
from .remedies import prune_http_cache, reset_hosts
from .report import Result

if TYPE_CHECKING:
    from .scenarios import Scenario

log = structlog.get_logger("probe.runner")

# Names that moved to the scenario harness, still importable from here (loaded on first use).
_HARNESS_NAMES = frozenset({"MAIL_HOST", "credentials_for", "plant_cookies", "play", "play_all"})


def __getattr__(name: str) -> Any:
    if name in _HARNESS_NAMES:
        from . import harness

        return getattr(harness, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    # Experiments that change the account (2-step set-up, a new password): only when the user asks
    # (`probe diagnose --allow-changes`); always on the bundled mock (`probe run`).
    allow_changes: bool = False


async def _register_cookie_values(context: BrowserContext, profile: Profile) -> None:
    for cookie in await context.cookies():
        if profile.is_session_cookie(cookie.get("name", "")):
            SECRETS.add(cookie.get("value"))


def _outcome_result(
    name: str,
    title: str,
    outcome: Outcome,
    started: float,
    *,
    expected: str | None,
    match: bool,
    journey: list[dict[str, Any]] | None = None,
    checks: list[dict[str, Any]] | None = None,
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
        detail_ja=outcome.detail_ja,
        journey=journey or [],
        checks=checks or [],
        contact=dict(outcome.contact) if outcome.contact else None,
    )


@own_secrets
async def _recorded(
    name: str, options: RunOptions, profile: Profile, run: Callable[[Recorder], Awaitable[Result]]
) -> Result:
    """Run with the artifacts of ``--out``: the run's log, result.json, screenshots; all or nothing.

    The run has its own secret registry: what it learns is masked in its artifacts and
    reports, and never shared with another run in the same process.
    """
    recorder = Recorder(options.out / name if options.out else None, profile)
    try:
        # The run's events are kept only for a log.jsonl to write: without ``--out``, an
        # event below the shown level is dropped at once.
        keeping: AbstractContextManager[list[dict[str, Any]]] = run_events(name) if options.out else nullcontext([])
        with keeping as events:
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
        allow_changes=options.allow_changes,
    )


async def diagnose_url(
    url: str,
    credentials: Credentials,
    session: BrowserSession,
    options: RunOptions,
    *,
    device: str = "desktop",
    name: str = "diagnose",
    pool: ContextPool | None = None,
) -> Result:
    """A live sign-in on any target (the real site, a staging copy, `probe mock`).

    ``name``: the run's name, in its log events and the folder of its ``--out`` artifacts
    (``OUT/NAME``; a fleet check passes the account's name). ``pool``: take the browser
    context from it (wiped between sign-ins) instead of opening one; ignored when the
    artifacts need a context of their own (``--out`` records the context's traffic).
    """
    profile = load_profile()
    started = time.perf_counter()

    def browser_context(recorder: Recorder) -> AbstractAsyncContextManager[BrowserContext]:
        if pool is not None and not recorder.enabled:
            return pool.context(device)
        return session.context(device, **recorder.context_options())

    async def run(recorder: Recorder) -> Result:
        async with browser_context(recorder) as context, recorder.tracing(context):
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
