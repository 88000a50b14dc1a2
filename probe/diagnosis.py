"""One diagnosis of a sign-in, as a pipeline of stages:

attempts (whole sign-ins, transient failures retried) -> classification (the
cause among the findings on the last page) -> investigation (the mailbox) ->
experiments (remedies tried in the browser) -> hints (what the seller typed).
Each stage takes the previous stage's immutable ``Outcome`` and returns a new
one with a ``Step`` saying what it found; ``decided_by`` names the stage whose
finding stands.

A remedy is called verified only when the probe applied it and the very next
sign-in reached the home page.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import structlog
from playwright.async_api import BrowserContext, Page
from playwright.async_api import Error as PlaywrightError
from tenacity import AsyncRetrying, RetryCallState, retry_if_result, stop_after_attempt, stop_after_delay
from tenacity.wait import wait_random_exponential

from . import journeys, remedies
from .browser import BrowserSession
from .classify import Diagnosis, Evidence, classify
from .flow import Attempt, Credentials, DriverOptions, LoginDriver, Phase
from .hints import Hint, email_hints, password_hints
from .mailbox import Inbox, find_subject
from .outcomes import EXPERIMENTS as EXPERIMENT_NAMES
from .outcomes import Verdict, catalog
from .profile import Profile
from .redact import SECRETS
from .signals import PageSignals

log = structlog.get_logger("probe.diagnosis")

Sleep = Callable[[float], Awaitable[None]]
Capture = Callable[[Page, str], Awaitable[str | None]]


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


@dataclass(frozen=True)
class Step:
    """One line of how a verdict was reached: the stage, what it found, the verdict after it."""

    stage: str
    verdict: Verdict
    note: str

    def to_dict(self) -> dict[str, str]:
        return {"stage": self.stage, "verdict": self.verdict.value, "note": self.note}


@dataclass(frozen=True)
class Finding:
    """A failure the probe saw that is not the verdict's cause, with its own remedy."""

    verdict: Verdict
    rule: str
    detail: str
    remedy: str | None
    evidence: tuple[Evidence, ...] = ()
    detail_ja: str = ""

    @classmethod
    def of(cls, diagnosis: Diagnosis, remedy: str | None = None) -> Finding:
        default = diagnosis.remedy or catalog().info(diagnosis.verdict).remedy
        return cls(
            diagnosis.verdict,
            diagnosis.rule,
            diagnosis.detail,
            remedy or default,
            diagnosis.evidence,
            detail_ja=_ja(diagnosis),
        )

    def to_dict(self) -> dict[str, Any]:
        remedy = catalog().remedy(self.remedy) if self.remedy else None
        return {
            "verdict": self.verdict.value,
            "rule": self.rule,
            "detail": self.detail,
            "detail_ja": self.detail_ja,
            "remedy": self.remedy,
            "remedy_text": {"ja": remedy.ja, "en": remedy.en} if remedy else None,
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass(frozen=True)
class Attempts:
    """Stage 1: the whole sign-ins tried, transient failures retried, each classified."""

    history: tuple[Diagnosis, ...]
    attempt: Attempt

    @property
    def last(self) -> Diagnosis:
        return self.history[-1]


@dataclass(frozen=True)
class Outcome:
    """What a stage hands to the next: immutable; a stage returns a changed copy with a ``Step``."""

    verdict: Verdict
    rule: str
    detail: str
    evidence: tuple[Evidence, ...]
    remedy: str | None
    remedy_verified: bool
    # The classification the later stages work from (the one an experiment adopted, if any).
    diagnosis: Diagnosis
    trials: tuple[Trial, ...] = ()
    hints: tuple[Hint, ...] = ()
    attempts: int = 1
    transient: bool | None = None
    phases: tuple[Phase, ...] = ()
    final: PageSignals | None = None
    # The stage whose finding stands, and every step that led there.
    decided_by: str = "classification"
    trail: tuple[Step, ...] = ()
    secondary: tuple[Finding, ...] = ()
    # ``detail`` in Japanese, for the seller.
    detail_ja: str = ""
    # When only Amazon can help: a draft for its contact form (topic, store, email, message_ja, message_en).
    contact: dict[str, str] | None = None

    def step(self, stage: str, note: str, *, decides: bool = False, **changes: Any) -> Outcome:
        """A copy changed by ``stage``, which says why; ``decides``: its finding now stands."""
        changed = replace(self, **changes)
        return replace(
            changed,
            decided_by=stage if decides else self.decided_by,
            trail=(*self.trail, Step(stage, changed.verdict, note)),
        )


class Diagnoser:
    """One diagnosis as a pipeline of stages, each over the previous stage's result.

    attempts -> classification -> investigation -> experiments -> hints
    """

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
        allow_changes: bool = False,
    ) -> None:
        self.mailbox = mailbox
        # Experiments that change the account run only when the user allowed changes (rule 9).
        self.allow_changes = allow_changes
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
        if diagnosis.verdict is Verdict.OTP_REJECTED and creds.totp is not None:
            creds.totp.refused()
        self.phases += attempt.phases
        self.origins |= {_origin(d.url) for d in attempt.documents}
        self.log.info("attempt", label=label, verdict=str(diagnosis.verdict), rule=diagnosis.rule)
        if self.capture is not None:
            shot = await self.capture(page, label)
            if shot is not None:  # the file that holds it: an earlier one when the picture is the same
                self.log.info("screenshot", label=label, file=shot)
        if self._page is not None and context is self.context:
            await self._page.close()
        if context is self.context:
            self._page = page
        return attempt, diagnosis

    async def run(self) -> Outcome:
        attempts = await self.attempts()
        outcome = classification(attempts)
        outcome = await self.investigation(outcome)
        outcome = await self.experiments(outcome)
        if outcome.diagnosis.rule != attempts.last.rule:
            # An experiment uncovered another failure: it gets its own second look.
            outcome = await self.investigation(outcome)
        outcome = hinted(outcome, self.credentials)
        self.log.info("decided", verdict=str(outcome.verdict), decided_by=outcome.decided_by)
        return replace(outcome, phases=tuple(self.phases), contact=contact_for(outcome, self.credentials, self.profile))

    # -- stage 1: attempts ---------------------------------------------------------------

    async def attempts(self) -> Attempts:
        """Whole sign-ins, retried with backoff while the verdict may be transient."""
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
        attempt, _ = await retrying.wraps(one_try)()
        return Attempts(tuple(history), attempt)

    # -- stage 3: investigation ----------------------------------------------------------

    async def investigation(self, outcome: Outcome) -> Outcome:
        """A second look, at the seller's mailbox, that can change the verdict."""
        name = outcome.diagnosis.investigate
        if name is None or outcome.rule != outcome.diagnosis.rule:
            return outcome
        if self.mailbox is None:
            return outcome.step("investigation", f"{name}: no mailbox to read; the verdict stands")
        investigation = self.profile.mailbox.investigations[name]
        found = await find_subject(self.mailbox, self.context, investigation.subject_any)
        self.log.info("investigation", name=name, found=bool(found))
        if not found:
            return outcome.step("investigation", f"{name}: no such mail in the mailbox; the verdict stands")
        return outcome.step(
            "investigation",
            f"{name}: the mailbox holds {found!r}",
            decides=True,
            verdict=investigation.verdict,
            rule=name,
            detail=investigation.detail,
            detail_ja=investigation.detail_ja,
            remedy=catalog().info(investigation.verdict).remedy,
            evidence=(*outcome.evidence, Evidence(name, "mailbox", self.mailbox.url, None, found)),
        )

    # -- stage 4: experiments ------------------------------------------------------------

    async def experiments(self, outcome: Outcome) -> Outcome:
        """Remedies tried in the browser; the first that gets in, or lands on another failure, decides."""
        first = outcome.diagnosis
        if not first.experiments or first.verdict is Verdict.OK:
            return outcome
        skipped: list[str] = []
        for name in first.experiments:
            why_not = self._cannot_run(name)
            if why_not:
                skipped.append(f"{name} ({why_not})")
                continue
            started = time.perf_counter()
            attempt, result = await EXPERIMENTS[name](self)
            duration = int((time.perf_counter() - started) * 1000)
            url = attempt.final.url if attempt.final else ""
            self.phases.append(Phase("remedy", url, duration, name))
            fixed = result.verdict is Verdict.OK
            outcome = replace(outcome, trials=(*outcome.trials, Trial(name, fixed, result.verdict, result.rule)))
            self.log.info("phase", phase="remedy", remedy=name, fixed=fixed, duration_ms=duration)
            if _uncovers(result, first):
                return self._adopt(name, result, outcome, attempt)
            if fixed:
                proves = catalog().remedy(name).proves
                return outcome.step(
                    "experiments",
                    f"after {name} the sign-in reached home: the remedy is verified",
                    decides=True,
                    verdict=proves or first.verdict,
                    remedy=name,
                    remedy_verified=True,
                    detail=f"{first.detail} After {name} the sign-in reached home.",
                    detail_ja=f"{_ja(first)} {_tried_ja(name)}を試したところ、ログインできました。",
                    evidence=(*outcome.evidence, Evidence(f"remedy:{name}", "reached_home", url, None)),
                    final=attempt.final,
                )
        if not outcome.trials:
            return outcome.step("experiments", f"not run: {'; '.join(skipped)}; the remedy stays advice")
        tried = ", ".join(t.remedy for t in outcome.trials)
        tried_ja = "、".join(_tried_ja(t.remedy) for t in outcome.trials)
        changes: dict[str, Any] = {
            "detail": f"{first.detail} Tried {tried}: none let the sign-in through.",
            "detail_ja": f"{_ja(first)} {tried_ja}を試しましたが、どれでもログインできませんでした。",
        }
        if first.if_unfixed is not None:
            changes |= {"verdict": first.if_unfixed, "remedy": catalog().info(first.if_unfixed).remedy}
        return outcome.step(
            "experiments",
            f"tried {tried}: none got in" + (f", so {first.if_unfixed}" if first.if_unfixed else ""),
            decides=first.if_unfixed is not None,
            **changes,
        )

    def _adopt(self, name: str, found: Diagnosis, outcome: Outcome, attempt: Attempt) -> Outcome:
        """An experiment got past the first failure and met another known one: that is the cause.

        The first failure stays as a secondary finding, with the remedy that got past it.
        """
        first = outcome.diagnosis
        self.log.info("uncovered", remedy=name, verdict=str(found.verdict), rule=found.rule)
        secondary = (Finding.of(first, name), *(Finding.of(d) for d in found.secondary))
        return outcome.step(
            "experiments",
            f"after {name} the site showed another failure: {found.rule}",
            decides=True,
            verdict=found.verdict,
            rule=found.rule,
            detail=f"After {name}, the site showed: {found.detail} (First seen: {first.detail})",
            detail_ja=(
                f"{_tried_ja(name)}を試したところ、別の問題が表示されました: {_ja(found)}（最初の問題: {_ja(first)}）"
            ),
            remedy=found.remedy or catalog().info(found.verdict).remedy,
            remedy_verified=False,
            evidence=(*found.evidence, *outcome.evidence),
            final=attempt.final,
            diagnosis=found,
            secondary=secondary,
        )

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

    def _cannot_run(self, name: str) -> str | None:
        """Why an experiment must not or cannot run here; None when it may."""
        if name in CHANGES_ACCOUNT and not self.allow_changes:
            return "it changes the account: only with --allow-changes"
        if name == "reset_password" and self.credentials.mail is None:
            return "the reset code goes to the mailbox, which the probe cannot read"
        return None

    def _world(self) -> journeys.World:
        return journeys.World(
            self.profile,
            self.target.url_for,
            mail_origin=None,
            people={self.credentials.email: self.credentials},
            home_host=urlsplit(self.target.start_url).hostname or self.profile.home_host,
        )

    async def enable_two_step(self) -> tuple[Attempt, Diagnosis]:
        """Turn 2-step verification on with an authenticator the probe sets up, then sign in with it."""
        creds = replace(self.credentials)
        page = await self.context.new_page()
        try:
            walker = journeys.Walker(page, self.profile, self.driver)
            await journeys.walk_two_step(walker, self._world(), creds, method="app", start="enable")
            self.credentials = creds
        except (journeys.JourneyProblem, PlaywrightError) as exc:
            self.log.info("remedy_walk_failed", remedy="enable_two_step", problem=str(exc).splitlines()[0][:200])
        finally:
            await page.close()
        return await self._attempt(self.context, self.target.start_url, "remedy-enable_two_step", self.credentials)

    async def reset_password(self) -> tuple[Attempt, Diagnosis]:
        """Reset the password the site demands: the mailed code and a new strong one; then sign in with it."""
        creds = replace(self.credentials)
        page = self._page if self._page is not None and not self._page.is_closed() else await self.context.new_page()
        try:
            walker = journeys.Walker(page, self.profile, self.driver)
            if await walker.find("reset_request", "email") is None:
                await LoginDriver(page, self.profile, creds, self.driver, run=self.run_name).run(self.target.start_url)
            if await journeys.reset_password(walker, creds, journeys.strong_password()):
                self.credentials = creds
        except (journeys.JourneyProblem, PlaywrightError) as exc:
            self.log.info("remedy_walk_failed", remedy="reset_password", problem=str(exc).splitlines()[0][:200])
        return await self._attempt(self.context, self.target.start_url, "remedy-reset_password", self.credentials)

    async def wait_and_retry(self) -> tuple[Attempt, Diagnosis]:
        """Wait the longest backoff, then sign in once more (what a seller told to wait would do)."""
        await self.sleep(self.retry.backoff_max_s)
        return await self._attempt(self.context, self.target.start_url, "remedy-wait_and_retry")


EXPERIMENTS: dict[str, Callable[[Diagnoser], Awaitable[tuple[Attempt, Diagnosis]]]] = {
    "reset_cookies": Diagnoser.reset_cookies,
    "reset_cache": Diagnoser.reset_cache,
    "reset_storage": Diagnoser.reset_storage,
    "other_device": Diagnoser.other_device,
    "use_jp_host": Diagnoser.use_jp_host,
    "fresh_code": Diagnoser.fresh_code,
    "other_otp_method": Diagnoser.other_otp_method,
    "wait_and_retry": Diagnoser.wait_and_retry,
    "enable_two_step": Diagnoser.enable_two_step,
    "reset_password": Diagnoser.reset_password,
}
# Experiments that change the account itself, not only the browser.
CHANGES_ACCOUNT = frozenset({"enable_two_step", "reset_password"})
# The one registry of remedies (probe/outcomes.py) names exactly these experiments.
if set(EXPERIMENTS) != set(EXPERIMENT_NAMES):
    raise RuntimeError(f"experiments differ from the registry: {sorted(set(EXPERIMENTS) ^ set(EXPERIMENT_NAMES))}")


# What each experiment did, in Japanese, for the composed ``detail_ja``.
EXPERIMENTS_JA: dict[str, str] = {
    "reset_cookies": "Cookieの削除",
    "reset_cache": "キャッシュの削除",
    "reset_storage": "サイトデータの削除",
    "other_device": "別の端末でのログイン",
    "use_jp_host": "日本のセラーセントラルでのログイン",
    "fresh_code": "新しいコードでの再入力",
    "other_otp_method": "別の方法で受け取ったコードの入力",
    "wait_and_retry": "時間をおいての再試行",
    "enable_two_step": "認証アプリでの2段階認証の有効化",
    "reset_password": "新しいパスワードへの再設定",
}
if set(EXPERIMENTS_JA) != set(EXPERIMENTS):
    raise RuntimeError(f"experiments without Japanese names: {sorted(set(EXPERIMENTS) ^ set(EXPERIMENTS_JA))}")


def _tried_ja(name: str) -> str:
    """An experiment in Japanese, its code name kept for support staff: Cookieの削除（reset_cookies）."""
    return f"{EXPERIMENTS_JA.get(name, name)}（{name}）"


def _ja(diagnosis: Diagnosis) -> str:
    """A finding's Japanese detail; the English one when it has none."""
    return diagnosis.detail_ja or diagnosis.detail


# Rules that say the site found no account for the email: hints look at the email, not the password.
EMAIL_RULES = frozenset({"email_unknown", "email_unknown_intent"})


# -- stage 2: classification (pure) ----------------------------------------------------


def classification(attempts: Attempts) -> Outcome:
    """The verdict of the sign-ins: the last one's, or a transient failure a retry got past."""
    history, last, first = attempts.history, attempts.last, attempts.history[0]
    n = len(history)
    final = attempts.attempt.final
    tried = "; ".join(f"{i + 1}: {d.verdict} ({d.rule})" for i, d in enumerate(history))
    steps = (Step("attempts", last.verdict, f"{n} sign-in(s): {tried}"),)
    if last.verdict is Verdict.OK and first.verdict is not Verdict.OK:
        return Outcome(
            first.verdict,
            first.rule,
            f"Transient: {n - 1} attempt(s) failed ({first.detail}), attempt {n} reached home.",
            first.evidence,
            "wait_and_retry",
            True,
            first,
            detail_ja=f"一時的な障害: {n - 1}回失敗しました（{_ja(first)}）が、{n}回目でログインできました。",
            attempts=n,
            transient=True,
            final=final,
            decided_by="attempts",
            trail=(*steps, Step("attempts", first.verdict, "a retry reached home: the failure was transient")),
        )
    remedy = last.remedy or catalog().info(last.verdict).remedy
    transient = False if catalog().info(last.verdict).retry else None
    persistent = transient is False and n > 1
    detail = last.detail + (f" Persistent: still failing after {n} attempts." if persistent else "")
    detail_ja = _ja(last) + (f" 継続的な障害: {n}回試しても失敗しました。" if persistent else "")
    note = f"rule {last.rule} decides"
    if len(last.matched) > 1:
        note += f" (matched: {', '.join(last.matched)})"
    if last.why:
        note += f"; {last.why}"
    return Outcome(
        last.verdict,
        last.rule,
        detail,
        last.evidence,
        remedy,
        False,
        last,
        detail_ja=detail_ja,
        attempts=n,
        transient=transient,
        final=final,
        trail=(*steps, Step("classification", last.verdict, note)),
        secondary=tuple(Finding.of(d) for d in last.secondary),
    )


# -- stage 5: hints (pure) -------------------------------------------------------------


def hinted(outcome: Outcome, credentials: Credentials) -> Outcome:
    """What may be wrong with what the seller typed, when the site refused it."""
    if outcome.verdict is not Verdict.CREDENTIALS_INVALID:
        return outcome
    email = outcome.rule in EMAIL_RULES
    hints = email_hints(credentials.email) if email else password_hints(credentials.password)
    codes = ", ".join(h.code for h in hints) or "none"
    return outcome.step("hints", f"{'email' if email else 'password'} hints: {codes}", hints=tuple(hints))


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


# -- contact: when only Amazon can help ----------------------------------------------------------

# Causes the seller cannot fix alone, and the contact form's topic for each.
CONTACT_TOPICS: dict[Verdict, str] = {
    Verdict.ACCOUNT_SUSPENDED: "closing",
    Verdict.ACCOUNT_TAKEOVER_SUSPECTED: "password_reset",
    Verdict.ACCESS_LOST_DORMANT: "password_reset",
    Verdict.OTP_REJECTED: "password_reset",  # a lost 2-step device: no code arrives by any method
}
LOST_DEVICE_RULES = frozenset({"otp_not_received"})


def contact_for(outcome: Outcome, credentials: Credentials, profile: Profile) -> dict[str, str] | None:
    """A draft for Amazon's contact form (no secrets): the cause, the store seen on the page, the email."""
    topic = CONTACT_TOPICS.get(outcome.verdict)
    if topic is None or outcome.remedy_verified:
        return None
    if outcome.verdict is Verdict.OTP_REJECTED and outcome.rule not in LOST_DEVICE_RULES:
        return None
    store = ""
    if outcome.final is not None:
        store = outcome.final.text("store").split("|")[0].strip()
    info = catalog().info(outcome.verdict)
    at = f"（店舗名: {store}）" if store else ""
    message_ja = (
        f"セラーセントラルにログインできません{at}。{info.summary_ja} "
        f"{outcome.detail_ja or info.summary_ja} 登録しているEメールアドレスは {credentials.email} です。"
        "アカウントの状況を確認し、再びログインできるようにする手続きを教えてください。"
    )
    named = f" (store: {store})" if store else ""
    message_en = (
        f"I cannot sign in to Seller Central{named}. {info.summary_en} {outcome.detail} "
        f"The account's email address is {credentials.email}. "
        "Please check the account and tell me how to regain access."
    )
    contact = {
        "topic": topic,
        "store": store,
        "email": credentials.email,
        "message_ja": message_ja[:2000],
        "message_en": message_en[:2000],
    }
    redacted: dict[str, str] = SECRETS.redact_obj(contact)
    return redacted
