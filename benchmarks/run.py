"""Performance harness: ratios measured within one run, never asserted in tests.

    .venv/bin/python benchmarks/run.py [--repeat N] [--skip-suite] [--fleet-accounts N]

Writes ``benchmarks/results/latest.json`` (``--out``) and prints a summary.

1. The ``ok`` sign-in: the probe (``play``: mock start, sign-in, verdict; and
   once more recording its evidence as ``--out`` does) against a lean
   hand-written Playwright script of the kind a good engineer writes
   (locators, auto-waiting, a wait on each navigation, no ``networkidle``, no
   sleeps), each also starting and stopping its own mock. Same browser,
   alternating, so machine noise hits both alike; medians.
2. The suite: ``run --all`` through the library with one and with two workers
   (``suite_s`` is the two-worker wall time).
3. The fleet: ``--fleet-accounts`` generated mock accounts (all able to sign
   in) on one mock, checked as ``probe fleet`` checks them.

``suite_in_logins`` and ``fleet_vs_lean`` divide by the lean sign-in timed just
before and just after their own measurement (``suite_lean_script_s``,
``fleet_lean_script_s``): this machine's speed drifts over minutes.

``peak_rss_mb`` is the largest resident memory of this process and every
process under it (Playwright's driver, Chromium), summed, sampled through the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import pyotp
from playwright.async_api import expect

from fixtures.mock_site import MockServer, SiteConfig
from probe import log
from probe.browser import BrowserSession
from probe.fleet import FleetOptions, check_fleet, generate_fleet, load_fleet
from probe.harness import play, play_all
from probe.runner import RunOptions
from probe.scenarios import all_scenarios, load_scenario

ROOT = Path(__file__).resolve().parent
T = TypeVar("T")


# -- the lean script


async def lean_sign_in(session: BrowserSession, url: str, email: str, password: str, secret: str) -> None:
    """What a good engineer writes: locators that auto-wait, and a wait on each navigation."""
    async with session.context() as context:
        page = await context.new_page()
        await page.goto(url)
        await page.locator("input#ap_email").fill(email)
        async with page.expect_navigation():
            await page.locator("input#continue").click()
        await page.locator("input#ap_password").fill(password)
        async with page.expect_navigation():
            await page.locator("input#signInSubmit").click()
        await page.locator("input#auth-mfa-otpcode").fill(pyotp.TOTP(secret).now())
        async with page.expect_navigation():
            await page.locator("input#auth-signin-button").click()
        await page.get_by_role("button", name="アカウントを選択").click()
        await page.wait_for_url("**/home**")
        await expect(page.locator('meta[name="anti-csrftoken-a2z"]')).to_have_count(1)


async def lean_with_mock(session: BrowserSession, site: SiteConfig, email: str, password: str, secret: str) -> float:
    """The lean script's sign-in, timed with its own mock's start and stop (as the probe's ``play`` is)."""
    started = time.perf_counter()
    mock = MockServer(site)
    await asyncio.to_thread(mock.start)
    try:
        await lean_sign_in(session, mock.url(), email, password, secret)
    finally:
        await asyncio.to_thread(mock.stop)
    return time.perf_counter() - started


async def lean_median(times: int) -> float:
    """The lean script's median sign-in now: a baseline taken beside a longer measurement."""
    scenario = load_scenario("ok")
    creds = scenario.credentials
    assert creds.totp_secret
    async with BrowserSession() as session:
        runs = [
            await lean_with_mock(session, scenario.site, creds.email, creds.password, creds.totp_secret)
            for _ in range(times + 1)  # the first one warms the browser up
        ]
    return statistics.median(runs[1:])


async def beside_lean(measure: Callable[[], Coroutine[Any, Any, T]], times: int = 3) -> tuple[T, float]:
    """``measure`` with the lean script's sign-in timed just before and just after it.

    The machine's speed drifts over minutes (a shared host); a ratio of two
    figures taken minutes apart would carry that drift.
    """
    before = await lean_median(times)
    result = await measure()
    after = await lean_median(times)
    return result, (before + after) / 2


async def sign_in(repeat: int) -> dict[str, Any]:
    scenario = load_scenario("ok")
    creds = scenario.credentials
    assert creds.totp_secret
    probe_times, lean_times, evidence_times = [], [], []
    async with BrowserSession() as session:
        version = session.browser.version if session.browser else ""
        # Warm-up, untimed: both paths once (imports, the profile, the browser's first contexts).
        await lean_with_mock(session, scenario.site, creds.email, creds.password, creds.totp_secret)
        assert (await play(scenario, session, RunOptions())).verdict == "ok"
        with tempfile.TemporaryDirectory(prefix="probe-bench-out-") as scratch:

            async def probe() -> None:
                started = time.perf_counter()
                result = await play(scenario, session, RunOptions())
                probe_times.append(time.perf_counter() - started)
                assert result.verdict == "ok", result.detail

            async def lean() -> None:
                lean_times.append(
                    await lean_with_mock(session, scenario.site, creds.email, creds.password, creds.totp_secret)
                )

            async def evidence() -> None:
                # The same diagnosis recording its evidence (`--out`): trace, HAR, screenshots, log.
                started = time.perf_counter()
                result = await play(scenario, session, RunOptions(out=Path(scratch) / f"run-{len(evidence_times)}"))
                evidence_times.append(time.perf_counter() - started)
                assert result.verdict == "ok", result.detail
                assert result.artifacts, "no artifacts written"

            kinds = [probe, lean, evidence]
            for run in range(repeat):
                # Each kind takes each place in the round in turn: what one leaves behind
                # (a context closing, files being written) slows whichever comes next.
                for kind in kinds[run % 3 :] + kinds[: run % 3]:
                    await kind()
    return {
        "probe_s": statistics.median(probe_times),
        "lean_script_s": statistics.median(lean_times),
        "probe_with_evidence_s": statistics.median(evidence_times),
        "probe_runs_s": [round(t, 3) for t in probe_times],
        "lean_runs_s": [round(t, 3) for t in lean_times],
        "probe_with_evidence_runs_s": [round(t, 3) for t in evidence_times],
        "chromium": version,
    }


# -- the suite


async def suite(workers: int) -> tuple[float, int, int]:
    scenarios = all_scenarios()
    async with BrowserSession() as session:
        started = time.perf_counter()
        results = await play_all(scenarios, session, RunOptions(workers=workers))
        wall = time.perf_counter() - started
    return wall, len(scenarios), sum(not r.match for r in results)


# -- the fleet


async def fleet(accounts: int, workers: int) -> dict[str, Any]:
    generated = generate_fleet(accounts, mix=("ok",), seed=f"bench-{time.time_ns()}")
    with tempfile.TemporaryDirectory(prefix="probe-bench-") as scratch:
        started = time.perf_counter()
        mock = MockServer(SiteConfig.model_validate(generated.site))
        await asyncio.to_thread(mock.start)
        try:
            path = generated.write(Path(scratch) / "fleet.yaml", mock.url())
            loaded = load_fleet(path)
            async with BrowserSession(skip_media=True) as session:
                results = await check_fleet(
                    loaded, session, generated.env, FleetOptions(workers=workers, per_marketplace=workers)
                )
        finally:
            wall = time.perf_counter() - started
            await asyncio.to_thread(mock.stop)
    return {
        "fleet_accounts": accounts,
        "fleet_workers": workers,
        "fleet_wall_s": wall,
        "fleet_accounts_per_s": accounts / wall,
        "fleet_not_ok": sum(not r.ok for r in results),
    }


# -- memory and the machine


class PeakRss:
    """The largest summed resident memory of this process tree, sampled in a thread."""

    def __init__(self, every_s: float = 0.25) -> None:
        self.every_s = every_s
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss", daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self.peak_kb = max(self.peak_kb, tree_rss_kb(os.getpid()))
            if self._stop.wait(self.every_s):
                return

    @property
    def peak_mb(self) -> float:
        return round(self.peak_kb / 1024, 1)


def tree_rss_kb(root: int) -> int:
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            text = Path(entry.path, "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        pid = int(entry.name)
        children.setdefault(int(fields.get("PPid", "0").strip() or 0), []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total


def machine() -> dict[str, Any]:
    model = ""
    memory_gb = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cpu": model or platform.processor(),
        "cpu_count": os.cpu_count(),
        "memory_gb": memory_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "playwright": metadata.version("playwright"),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def timed_run(label: str, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    print(f"... {label}", file=sys.stderr, flush=True)
    return asyncio.run(make())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=9, help="sign-ins of each kind (default 9)")
    parser.add_argument("--skip-suite", action="store_true", help="skip the (slow) run --all timings")
    parser.add_argument("--fleet-accounts", type=int, default=100)
    # As `probe fleet` checks by default (4 at a time); the mock's accounts are all on one
    # marketplace, so its per-marketplace limit is raised to match.
    parser.add_argument("--fleet-workers", type=int, default=4)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "latest.json")
    args = parser.parse_args()
    log.configure(0)
    # The probe's memory of one-time codes goes to a scratch folder, not the user's state.
    os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="probe-bench-state-")
    described = machine()
    started = time.perf_counter()
    with PeakRss() as rss:
        login = timed_run("sign-in: probe vs lean script", partial(sign_in, args.repeat))
        report: dict[str, Any] = {
            "lean_script_s": round(login["lean_script_s"], 3),
            "probe_s": round(login["probe_s"], 3),
            "ratio": round(login["probe_s"] / login["lean_script_s"], 3),
            # The median of each round's own probe / lean: the two ran seconds apart, so drift cancels.
            "ratio_paired": round(
                statistics.median(p / q for p, q in zip(login["probe_runs_s"], login["lean_runs_s"], strict=True)), 3
            ),
            "probe_with_evidence_s": round(login["probe_with_evidence_s"], 3),
            "ratio_with_evidence": round(login["probe_with_evidence_s"] / login["lean_script_s"], 3),
            "repeat": args.repeat,
            "probe_runs_s": login["probe_runs_s"],
            "lean_runs_s": login["lean_runs_s"],
            "probe_with_evidence_runs_s": login["probe_with_evidence_runs_s"],
        }
        if not args.skip_suite:
            scaling: dict[int, float] = {}
            for workers in (1, 2):
                (wall, count, mismatched), lean_beside = timed_run(
                    f"run --all --workers {workers}", partial(beside_lean, partial(suite, workers))
                )
                scaling[workers] = round(wall, 2)
                report["scenarios"] = count
                report[f"suite_mismatches_workers_{workers}"] = mismatched
            report["suite_s"] = scaling[2]
            # Against the lean sign-in timed just before and after the two-worker run.
            report["suite_lean_script_s"] = round(lean_beside, 3)
            report["suite_in_logins"] = round(scaling[2] / lean_beside, 2)
            report["workers_scaling"] = scaling
        else:
            report["scenarios"] = len(all_scenarios())
        fleet_report, fleet_lean = timed_run(
            f"fleet of {args.fleet_accounts}",
            partial(beside_lean, partial(fleet, args.fleet_accounts, args.fleet_workers)),
        )
        report["fleet_accounts_per_s"] = round(fleet_report["fleet_accounts_per_s"], 3)
        # Against the lean sign-in timed just before and after the fleet.
        report["fleet_lean_script_s"] = round(fleet_lean, 3)
        report["fleet_vs_lean"] = round(fleet_report["fleet_accounts_per_s"] * fleet_lean, 3)
        report.update({k: round(v, 2) if isinstance(v, float) else v for k, v in fleet_report.items()})
    report["cpu_count"] = os.cpu_count()
    report["peak_rss_mb"] = rss.peak_mb
    report["bench_wall_s"] = round(time.perf_counter() - started, 1)
    report["machine"] = {**described, "chromium": login["chromium"]}
    report["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    print(
        f"ok sign-in, median of {args.repeat}: probe {report['probe_s']:.2f} s,"
        f" lean script {report['lean_script_s']:.2f} s (both with their mock's start and stop):"
        f" ratio {report['ratio']:.2f} (paired by round {report['ratio_paired']:.2f});"
        f" recording evidence (--out) {report['probe_with_evidence_s']:.2f} s:"
        f" ratio {report['ratio_with_evidence']:.2f}"
    )
    if "suite_s" in report:
        print(
            f"run --all ({report['scenarios']} scenarios): 1 worker {report['workers_scaling'][1]:.1f} s,"
            f" 2 workers {report['suite_s']:.1f} s = {report['suite_in_logins']:.1f} lean sign-ins"
        )
    print(
        f"fleet: {args.fleet_accounts} accounts in {fleet_report['fleet_wall_s']:.1f} s"
        f" = {report['fleet_accounts_per_s']:.2f} accounts/s, {report['fleet_vs_lean']:.2f}x the lean script's rate"
    )
    print(f"peak RSS {report['peak_rss_mb']} MB on {described['cpu_count']} CPUs; written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
