"""One diagnosis of a sign-in: attempt, classify, retry what is transient, and run
remedy experiments when the browser itself may be at fault.

A remedy is called verified only when the probe applied it and the very next
sign-in reached the home page.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import structlog
from playwright.async_api import BrowserContext, Page
from tenacity import AsyncRetrying, RetryCallState, retry_if_result, stop_after_attempt, stop_after_delay
from tenacity.wait import wait_random_exponential

from . import remedies
from .browser import BrowserSession
from .classify import Diagnosis, Evidence, classify
from .flow import Attempt, Credentials, DriverOptions, LoginDriver, Phase
from .hints import Hint, email_hints, password_hints
from .mailbox import Inbox, find_subject
from .outcomes import Verdict, catalog
from .profile import Profile
from .signals import PageSignals

log = structlog.get_logger("probe.diagnosis")

Sleep = Callable[[float], Awaitable[None]]
Capture = Callable[[Page, str], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    """Retry a whole sign-in, only for verdicts marked ``retry`` (5xx, network)."""

    attempts: int = 4
    deadline_s: float = 60.0
    backoff_s: float = 0.5
    backoff_max_s: float = 8.0


@dataclass(frozen=True)
class Target:
    """Where the sign-in starts; other hosts are reached the same way (scheme, port, test suffix)."""

    start_url: str
    profile: Profile

    def url_for(self, host: str, path: str = "/") -> str:
        parts = urlsplit(self.start_url)
        observed = parts.hostname or ""
        suffix = observed[len(self.profile.canonical_host(observed)) :]
        netloc = host + suffix + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, path, "", ""))

    @property
    def home_url(self) -> str:
        return self.url_for(self.profile.home_host, self.profile.start_path)


@dataclass(frozen=True)
class Trial:
    remedy: str
    fixed: bool
    verdict: Verdict
    rule: str


@dataclass
class Outcome:
    verdict: Verdict
    rule: str
    detail: str
    evidence: list[Evidence]
    remedy: str | None
    remedy_verified: bool
    trials: list[Trial] = field(default_factory=list)
    hints: list[Hint] = field(default_factory=list)
    attempts: int = 1
    transient: bool | None = None
    phases: list[Phase] = field(default_factory=list)
    final: PageSignals | None = None


class Diagnoser:
    def __init__(
        self,
        session: BrowserSession,
        context: BrowserContext,
        target: Target,
        credentials: Credentials,
        profile: Profile,
        *,
        device: str = "desktop",
        driver: DriverOptions | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        capture: Capture | None = None,
        mailbox: Inbox | None = None,
        run: str = "",
    ) -> None:
        self.mailbox = mailbox
        self.run_name = run
        self.log = log.bind(run=run) if run else log
        self.session = session
        self.context = context
        self.target = target
        self.credentials = credentials
        self.profile = profile
        self.device = device
        self.driver = driver or DriverOptions()
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.capture = capture
        self.phases: list[Phase] = []
        self.origins: set[str] = set()
        self._page: Page | None = None

    async def _attempt(
        self, context: BrowserContext, url: str, label: str, credentials: Credentials | None = None
    ) -> tuple[Attempt, Diagnosis]:
        page = await context.new_page()
        creds = credentials or self.credentials
        attempt = await LoginDriver(page, self.profile, creds, self.driver, run=self.run_name).run(url)
        diagnosis = classify(attempt.final, attempt.events, self.profile)
        self.phases += attempt.phases
        self.origins |= {_origin(d.url) for d in attempt.documents}
        self.log.info("attempt", label=label, verdict=str(diagnosis.verdict), rule=diagnosis.rule)
        if self.capture is not None:
            await self.capture(page, label)
        if self._page is not None and context is self.context:
            await self._page.close()
        if context is self.context:
            self._page = page
        return attempt, diagnosis

    async def run(self) -> Outcome:
        history: list[Diagnosis] = []

        async def one_try() -> tuple[Attempt, Diagnosis]:
            result = await self._attempt(self.context, self.target.start_url, f"attempt-{len(history) + 1}")
            history.append(result[1])
            return result

        def retryable(result: tuple[Attempt, Diagnosis]) -> bool:
            return catalog().info(result[1].verdict).retry

        def give_up(state: RetryCallState) -> tuple[Attempt, Diagnosis]:
            assert state.outcome is not None
            result: tuple[Attempt, Diagnosis] = state.outcome.result()
            return result

        policy = self.retry
        retrying = AsyncRetrying(
            stop=stop_after_attempt(policy.attempts) | stop_after_delay(policy.deadline_s),
            wait=wait_random_exponential(multiplier=policy.backoff_s, max=policy.backoff_max_s),
            retry=retry_if_result(retryable),
            retry_error_callback=give_up,
            sleep=self.sleep,
            before_sleep=lambda state: self.log.info("retry", attempt=state.attempt_number),
        )
        attempt, diagnosis = await retrying.wraps(one_try)()
        outcome = self._from_retries(history, attempt, diagnosis)
        if diagnosis.investigate:
            await self._investigate(diagnosis.investigate, outcome)
        if outcome.verdict is Verdict.CREDENTIALS_INVALID:
            outcome.hints = self._hints(diagnosis)
        if diagnosis.experiments and diagnosis.verdict is not Verdict.OK:
            await self._experiments(diagnosis, outcome)
        return outcome

    def _hints(self, diagnosis: Diagnosis) -> list[Hint]:
        if diagnosis.rule in EMAIL_RULES:
            return email_hints(self.credentials.email)
        return password_hints(self.credentials.password)

    async def _investigate(self, name: str, outcome: Outcome) -> None:
        """A second look, at the seller's mailbox, that can change the verdict."""
        if self.mailbox is None:
            return
        investigation = self.profile.mailbox.investigations[name]
        found = await find_subject(self.mailbox, self.context, investigation.subject_any)
        self.log.info("investigation", name=name, found=bool(found))
        if found:
            outcome.verdict, outcome.rule = investigation.verdict, name
            outcome.detail = investigation.detail
            outcome.remedy = catalog().info(investigation.verdict).remedy
            outcome.evidence.append(Evidence(name, "mailbox", self.mailbox.url, None, found))

    def _from_retries(self, history: list[Diagnosis], attempt: Attempt, last: Diagnosis) -> Outcome:
        first = history[0]
        n = len(history)
        if last.verdict is Verdict.OK and first.verdict is not Verdict.OK:
            detail = f"Transient: {n - 1} attempt(s) failed ({first.detail}), attempt {n} reached home."
            return Outcome(
                first.verdict,
                first.rule,
                detail,
                list(first.evidence),
                "wait_and_retry",
                True,
                attempts=n,
                transient=True,
                phases=self.phases,
                final=attempt.final,
            )
        remedy = last.remedy or catalog().info(last.verdict).remedy
        transient = False if catalog().info(last.verdict).retry else None
        persistent = transient is False and n > 1
        detail = last.detail + (f" Persistent: still failing after {n} attempts." if persistent else "")
        return Outcome(
            last.verdict,
            last.rule,
            detail,
            list(last.evidence),
            remedy,
            False,
            attempts=n,
            transient=transient,
            phases=self.phases,
            final=attempt.final,
        )

    async def _experiments(self, diagnosis: Diagnosis, outcome: Outcome) -> None:
        for name in diagnosis.experiments:
            started = time.perf_counter()
            attempt, result = await EXPERIMENTS[name](self)
            duration = int((time.perf_counter() - started) * 1000)
            self.phases.append(Phase("remedy", attempt.final.url if attempt.final else "", duration, name))
            fixed = result.verdict is Verdict.OK
            outcome.trials.append(Trial(name, fixed, result.verdict, result.rule))
            self.log.info("phase", phase="remedy", remedy=name, fixed=fixed, duration_ms=duration)
            if _uncovers(result, diagnosis):
                self._adopt(name, result, diagnosis, outcome, attempt)
                return
            if fixed:
                proves = catalog().remedy(name).proves
                outcome.verdict = proves or diagnosis.verdict
                outcome.remedy, outcome.remedy_verified = name, True
                outcome.detail = f"{diagnosis.detail} After {name} the sign-in reached home."
                outcome.evidence.append(
                    Evidence(f"remedy:{name}", "reached_home", attempt.final.url if attempt.final else "", None)
                )
                outcome.final = attempt.final
                return
        tried = ", ".join(t.remedy for t in outcome.trials)
        outcome.detail = f"{diagnosis.detail} Tried {tried}: none let the sign-in through."
        if diagnosis.if_unfixed is not None:
            outcome.verdict = diagnosis.if_unfixed
            outcome.remedy = catalog().info(diagnosis.if_unfixed).remedy

    def _adopt(self, name: str, found: Diagnosis, first: Diagnosis, outcome: Outcome, attempt: Attempt) -> None:
        """An experiment got past the first failure and met another known one: that is the cause."""
        self.log.info("uncovered", remedy=name, verdict=str(found.verdict), rule=found.rule)
        outcome.verdict, outcome.rule = found.verdict, found.rule
        outcome.detail = f"{found.detail} (Found after {name}; first seen: {first.detail})"
        outcome.remedy = found.remedy or catalog().info(found.verdict).remedy
        outcome.remedy_verified = False
        outcome.evidence = [*found.evidence, *outcome.evidence]
        outcome.final = attempt.final

    # -- experiments -------------------------------------------------------------------

    async def _page_for_reset(self) -> Page:
        return self._page if self._page is not None else await self.context.new_page()

    async def reset_cookies(self) -> tuple[Attempt, Diagnosis]:
        await remedies.clear_cookies(self.context, await self._page_for_reset())
        return await self._attempt(self.context, self.target.start_url, "remedy-reset_cookies")

    async def reset_cache(self) -> tuple[Attempt, Diagnosis]:
        await remedies.clear_cache(self.context, await self._page_for_reset(), sorted(self.origins))
        return await self._attempt(self.context, self.target.start_url, "remedy-reset_cache")

    async def reset_storage(self) -> tuple[Attempt, Diagnosis]:
        await remedies.clear_site_data(self.context, await self._page_for_reset(), sorted(self.origins))
        return await self._attempt(self.context, self.target.start_url, "remedy-reset_storage")

    async def other_device(self) -> tuple[Attempt, Diagnosis]:
        other = "iphone" if self.device == "desktop" else "desktop"
        async with self.session.context(other) as context:
            return await self._attempt(context, self.target.start_url, f"remedy-other_device-{other}")

    async def use_jp_host(self) -> tuple[Attempt, Diagnosis]:
        return await self._attempt(self.context, self.target.home_url, "remedy-use_jp_host")

    async def fresh_code(self) -> tuple[Attempt, Diagnosis]:
        creds = self.credentials.with_fresh_codes()
        return await self._attempt(self.context, self.target.start_url, "remedy-fresh_code", creds)

    async def other_otp_method(self) -> tuple[Attempt, Diagnosis]:
        creds = self.credentials.preferring_app()
        return await self._attempt(self.context, self.target.start_url, "remedy-other_otp_method", creds)


EXPERIMENTS: dict[str, Callable[[Diagnoser], Awaitable[tuple[Attempt, Diagnosis]]]] = {
    "reset_cookies": Diagnoser.reset_cookies,
    "reset_cache": Diagnoser.reset_cache,
    "reset_storage": Diagnoser.reset_storage,
    "other_device": Diagnoser.other_device,
    "use_jp_host": Diagnoser.use_jp_host,
    "fresh_code": Diagnoser.fresh_code,
    "other_otp_method": Diagnoser.other_otp_method,
}


# Rules that say the site found no account for the email: hints look at the email, not the password.
EMAIL_RULES = frozenset({"email_unknown", "email_unknown_intent"})


def _uncovers(found: Diagnosis, first: Diagnosis) -> bool:
    """Did an experiment end on another known failure than the one it set out to fix?

    Not success, not a page no rule explains, not a transient fault (which
    says nothing about the seller's case), and not the same rule again.
    """
    if found.verdict in (Verdict.OK, Verdict.UNRECOGNIZED) or catalog().info(found.verdict).retry:
        return False
    return found.rule != first.rule


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
