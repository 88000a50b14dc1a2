"""Performance harness: ratios measured within one run, never asserted in tests.

    .venv/bin/python benchmarks/run.py [--repeat N]

1. One sign-in of the `ok` scenario by the probe, against the same sign-in by
   a hand-written Playwright script in the style people write first (wait for
   "networkidle" after every click). Both use the same browser and the same
   mock, alternating, so machine noise hits both alike.
2. `probe run --all` with one worker against two workers.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import pyotp

from fixtures.mock_site import MockServer
from probe import log
from probe.browser import BrowserSession
from probe.runner import RunOptions, play, play_all
from probe.scenarios import all_scenarios, load_scenario


async def hand_written(session: BrowserSession, url: str, email: str, password: str, secret: str) -> float:
    """The usual first script: click, then wait for the network to go quiet."""
    started = time.perf_counter()
    async with session.context() as context:
        page = await context.new_page()
        await page.goto(url)
        await page.fill("#ap_email", email)
        await page.click("#continue")
        await page.wait_for_load_state("networkidle")
        await page.fill("#ap_password", password)
        await page.click("#signInSubmit")
        await page.wait_for_load_state("networkidle")
        await page.fill("#auth-mfa-otpcode", pyotp.TOTP(secret).now())
        await page.click("#auth-signin-button")
        await page.wait_for_load_state("networkidle")
        await page.get_by_role("button", name="アカウントを選択").click()
        await page.wait_for_load_state("networkidle")
        assert await page.locator('meta[name="anti-csrftoken-a2z"]').count() == 1
    return time.perf_counter() - started


async def sign_in_ratio(repeat: int) -> tuple[float, float]:
    scenario = load_scenario("ok")
    creds = scenario.credentials
    assert creds.totp_secret
    probe_times, script_times = [], []
    async with BrowserSession() as session:
        for _ in range(repeat):
            started = time.perf_counter()
            result = await play(scenario, session, RunOptions())
            assert result.verdict == "ok", result.detail
            probe_times.append(time.perf_counter() - started)
            # A fresh mock for the script too: a code works once per site.
            mock = MockServer(scenario.site)
            await asyncio.to_thread(mock.start)
            try:
                script_times.append(
                    await hand_written(session, mock.url(), creds.email, creds.password, creds.totp_secret)
                )
            finally:
                await asyncio.to_thread(mock.stop)
    return statistics.median(probe_times), statistics.median(script_times)


async def workers_ratio() -> tuple[float, float]:
    scenarios = all_scenarios()
    times = []
    async with BrowserSession() as session:
        for workers in (1, 2):
            started = time.perf_counter()
            results = await play_all(scenarios, session, RunOptions(workers=workers))
            assert all(r.match for r in results)
            times.append(time.perf_counter() - started)
    return times[0], times[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-all", action="store_true", help="skip the (slow) --all comparison")
    args = parser.parse_args()
    log.configure(0)
    probe_s, script_s = asyncio.run(sign_in_ratio(args.repeat))
    print(f"sign-in, median of {args.repeat}: probe {probe_s:.2f} s (incl. mock start), hand-written {script_s:.2f} s")
    print(f"  ratio probe / hand-written: {probe_s / script_s:.2f}")
    if not args.skip_all:
        one, two = asyncio.run(workers_ratio())
        print(f"run --all: 1 worker {one:.1f} s, 2 workers {two:.1f} s, speed-up {one / two:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
