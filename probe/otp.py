"""One-time passwords the way a seller's authenticator app makes them (RFC 6238)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pyotp

from .redact import SECRETS


class OtpSource:
    """Codes from a TOTP seed, never the same code twice.

    Sites accept each code once. When the current code is spent (a second
    sign-in within one 30-second step), the next step's code is used: sites
    allow one step of clock drift, so it is accepted now. Only when that one
    is spent too does this wait for the clock.
    """

    def __init__(
        self,
        secret: str,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        skew_s: float = 0.0,
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
        SECRETS.add(secret)

    def fresh(self) -> OtpSource:
        """The same seed on a correct clock, still never repeating a code already used."""
        source = OtpSource(self._secret, clock=self._true_clock, sleep=self._sleep)
        source._last = self._last
        return source

    def _step(self) -> int:
        return self._totp.timecode(datetime.fromtimestamp(self._clock(), tz=UTC))

    async def next_code(self) -> str:
        counter = max(self._step(), self._last + 1)
        while counter > self._step() + 1:
            wait = (counter - 1) * self._totp.interval - self._clock()
            await self._sleep(max(wait, 0.05))
        self._last = counter
        code = self._totp.generate_otp(counter)
        SECRETS.add(code)
        return code
