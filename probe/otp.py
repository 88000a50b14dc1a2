"""One-time passwords the way a seller's authenticator app makes them (RFC 6238)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pyotp
import structlog

from .redact import SECRETS
from .state import CodeLedger, account_key

log = structlog.get_logger("probe.otp")

# No second code goes to the site sooner than this after it refused one.
REFUSAL_PAUSE_S = 1.0


class OtpWaitError(RuntimeError):
    """The clock did not reach the time step a fresh code needs."""


class OtpSource:
    """Codes from a TOTP seed, never the same code twice.

    Sites accept each code once. When the current code is spent (a second
    sign-in within one 30-second step), the next step's code is used: sites
    allow one step of clock drift, so it is accepted now. Only when that one
    is spent too does this wait for the clock.

    Once bound to an account (``account``), the steps already submitted are
    kept in a ``CodeLedger`` (by default in the state folder), so a second
    run of the probe does not type a code the first one used.
    """

    def __init__(
        self,
        secret: str,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        skew_s: float = 0.0,
        ledger: CodeLedger | None = None,
    ) -> None:
        """``skew_s``: how far the phone's clock is off (a wrong clock makes stale codes)."""
        self._secret = secret
        self._totp = pyotp.TOTP(secret)

        def skewed() -> float:
            return clock() + skew_s

        self._clock = skewed
        self._true_clock = clock
        self._sleep = sleep
        self.skew_s = skew_s
        self._last = -1
        self._ledger = ledger
        self.account: str | None = None
        self._refused_at: float | None = None
        SECRETS.add(secret)

    def fresh(self) -> OtpSource:
        """The same seed on a correct clock, still never repeating a code already used."""
        source = OtpSource(self._secret, clock=self._true_clock, sleep=self._sleep, ledger=self._ledger)
        source._last = self._last
        source.account = self.account
        source._refused_at = self._refused_at
        return source

    def refused(self) -> None:
        """The site refused the last code: the next one waits a moment."""
        self._refused_at = self._true_clock()

    def _step(self) -> int:
        return self._totp.timecode(datetime.fromtimestamp(self._clock(), tz=UTC))

    async def next_code(self, site: str = "") -> str:
        """A code not yet submitted to ``site`` (an origin) for this account."""
        if self._refused_at is not None:
            pause = self._refused_at + REFUSAL_PAUSE_S - self._true_clock()
            if pause > 0:
                log.info("otp_pause_after_refusal", wait_s=round(pause, 2))
                await self._sleep(pause)
        key = None
        if self.account is not None:
            if self._ledger is None:
                self._ledger = CodeLedger.default()
            key = account_key(self.account, site)
        used = self._ledger.last(key) if self._ledger is not None and key is not None else -1
        counter = max(self._step(), self._last + 1, used + 1)
        if counter > self._step() + 1:
            wait = (counter - 1) * self._totp.interval - self._clock()
            log.info("otp_wait_next_step", reason="the current codes were already used", wait_s=round(wait, 1))
        deadline = self._true_clock() + 3 * self._totp.interval
        while counter > self._step() + 1:
            if self._true_clock() > deadline:
                raise OtpWaitError("the clock did not reach the next one-time password step")
            wait = (counter - 1) * self._totp.interval - self._clock()
            await self._sleep(max(wait, 0.05))
        self._last = counter
        if self._ledger is not None and key is not None:
            self._ledger.record(key, counter)
        code = self._totp.generate_otp(counter)
        SECRETS.add(code)
        return code
