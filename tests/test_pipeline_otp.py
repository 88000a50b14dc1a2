"""Codes are never reused: the steps already submitted are kept per account, in the state folder."""

from __future__ import annotations

import json
from pathlib import Path

import pyotp
import pytest

from probe.flow import Credentials
from probe.otp import REFUSAL_PAUSE_S, OtpSource
from probe.state import CodeLedger, account_key, state_dir

from .conftest import EMAIL, TOTP_SECRET, FakeClock, run_async

SITE = "https://sellercentral.amazon.co.jp"


@pytest.fixture(autouse=True)
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    return tmp_path


def source(clock: FakeClock, ledger: CodeLedger | None = None) -> OtpSource:
    otp = OtpSource(TOTP_SECRET, clock=clock, sleep=clock.sleep, ledger=ledger)
    return Credentials(EMAIL, "pw", totp=otp).totp or otp


def test_the_state_folder_is_private_and_under_xdg_state_home(state_home: Path) -> None:
    folder = state_dir()
    assert folder == state_home / "probe"
    assert folder.stat().st_mode & 0o777 == 0o700


def test_a_second_run_takes_the_next_code_and_a_third_waits_for_the_clock(state_home: Path) -> None:
    clock = FakeClock(1_800_000_015.0)
    start = clock.now
    runs = [run_async(source(clock).next_code(SITE)) for _ in range(3)]  # three processes, one after another
    totp = pyotp.TOTP(TOTP_SECRET)
    assert runs == [totp.at(start), totp.at(start + 30), totp.at(start + 60)]
    assert sum(clock.slept) == pytest.approx(1_800_000_030.0 - start)
    kept = (state_home / "probe" / "otp-steps.json").read_text(encoding="utf-8")
    assert EMAIL not in kept
    assert list(json.loads(kept)) == [account_key(EMAIL, SITE)]


def test_another_site_has_its_own_codes() -> None:
    clock = FakeClock(1_800_000_015.0)
    first = run_async(source(clock).next_code(SITE))
    other = run_async(source(clock).next_code("http://localhost:8123"))
    assert first == other
    assert clock.slept == []


def test_no_second_code_sooner_than_a_second_after_a_refusal() -> None:
    clock = FakeClock(1_800_000_015.0)
    otp = source(clock, CodeLedger.in_memory())
    run_async(otp.next_code(SITE))
    otp.refused()
    clock.now += 0.25
    run_async(otp.fresh().next_code(SITE))
    assert clock.slept[0] == pytest.approx(REFUSAL_PAUSE_S - 0.25)


def test_a_source_without_an_account_keeps_nothing(state_home: Path) -> None:
    clock = FakeClock(1_800_000_015.0)
    run_async(OtpSource(TOTP_SECRET, clock=clock, sleep=clock.sleep).next_code(SITE))
    assert not (state_home / "probe" / "otp-steps.json").exists()
