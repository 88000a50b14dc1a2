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
    ) -> None:
        self._totp = pyotp.TOTP(secret)
        self._clock = clock
        self._sleep = sleep
        self._last = -1
        SECRETS.add(secret)

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
