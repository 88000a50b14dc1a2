"""One-time passwords: never the same code twice, within the site's drift window."""

from __future__ import annotations

import pyotp

from probe.otp import OtpSource

from .conftest import TOTP_SECRET, FakeClock, run_async


def codes(source: OtpSource, n: int) -> list[str]:
    async def take() -> list[str]:
        return [await source.next_code() for _ in range(n)]

    return run_async(take())


def test_first_code_is_the_current_one() -> None:
    clock = FakeClock(1_800_000_015.0)
    [code] = codes(OtpSource(TOTP_SECRET, clock=clock, sleep=clock.sleep), 1)
    assert code == pyotp.TOTP(TOTP_SECRET).at(clock.now)


def test_second_code_in_the_same_step_is_the_next_steps_without_waiting() -> None:
    clock = FakeClock(1_800_000_015.0)
    first, second = codes(OtpSource(TOTP_SECRET, clock=clock, sleep=clock.sleep), 2)
    assert second == pyotp.TOTP(TOTP_SECRET).at(clock.now + 30)
    assert first != second
    assert clock.slept == []


def test_third_code_waits_for_the_clock() -> None:
    clock = FakeClock(1_800_000_015.0)
    start = clock.now
    three = codes(OtpSource(TOTP_SECRET, clock=clock, sleep=clock.sleep), 3)
    assert len(set(three)) == 3
    assert sum(clock.slept) == 1_800_000_030.0 - start
    assert three[2] == pyotp.TOTP(TOTP_SECRET).at(start + 60)
