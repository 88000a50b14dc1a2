"""``--connect``: sign-ins in a remote browser, a real Playwright browser server started here on loopback.

``python -m playwright run-server`` launches its own headless shell; where
Playwright's browser download is impossible, a browsers folder whose headless
shell is the system Chromium stands in for it.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import playwright
import pytest

from fixtures.mock_site import MockServer, SiteConfig
from probe.browser import BrowserSession, find_chromium, shown_endpoint
from probe.errors import InfraError, UsageError
from probe.fleet import generate_fleet
from probe.runner import RunOptions, diagnose_url

from .conftest import EMAIL, PASSWORD, TOTP_SECRET, run_async, run_cli, site_config
from .media_site import MEDIA_PATHS, NEEDED_PATHS, media_site

STARTUP_S = 60


@dataclass
class Started:
    process: subprocess.Popen[str]
    lines: queue.Queue[str | None]
    pump: threading.Thread

    def wait_for(self, pattern: str, timeout: float = STARTUP_S) -> re.Match[str]:
        """The first output line matching ``pattern``, waiting on the process's output (no fixed sleep)."""
        seen: list[str] = []
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r} within {timeout} s; saw {seen}") from None
            if line is None:
                raise AssertionError(f"the process ended ({self.process.wait()}) before {pattern!r}; saw {seen}")
            seen.append(line)
            found = re.search(pattern, line)
            if found:
                return found

    def stop(self) -> int:
        """SIGTERM to the whole process group: `python -m playwright run-server` runs a node child that
        holds the output pipe, and would outlive its parent (and keep the pipe's reader waiting)."""
        group = self.process.pid  # the leader of its own session (start_new_session)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        # Whatever of the group outlives its leader (node may shrug off SIGTERM) is killed outright.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        self.pump.join(timeout=30)  # the output read to its end, once every writer is gone
        if self.process.stdout is not None and not self.pump.is_alive():
            self.process.stdout.close()
        return code


def start(argv: list[str], env: dict[str, str] | None = None) -> Started:
    """A process whose output lines (stdout and stderr together) arrive in a queue."""
    process = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=Path(__file__).resolve().parent.parent,
        start_new_session=True,  # its own process group, stopped as one
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return Started(process, lines, thread)


def headless_shell_folder(root: Path) -> Path:
    """A PLAYWRIGHT_BROWSERS_PATH whose chromium headless shell is the Chromium the probe would use."""
    browsers = json.loads(
        (Path(playwright.__file__).parent / "driver" / "package" / "browsers.json").read_text(encoding="utf-8")
    )
    revision = next(b["revision"] for b in browsers["browsers"] if b["name"] == "chromium-headless-shell")
    shell = root / f"chromium_headless_shell-{revision}"
    binary = shell / "chrome-headless-shell-linux64" / "chrome-headless-shell"
    binary.parent.mkdir(parents=True)
    choice = find_chromium(os.environ, None)
    chromium = choice.headless_shell or choice.executable
    if chromium is None:  # pragma: no cover - find_chromium without a managed browser always names one
        pytest.skip("no Chromium for the browser server")
    binary.symlink_to(chromium)
    (shell / "INSTALLATION_COMPLETE").touch()
    return root


@pytest.fixture(scope="module")
def browser_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Playwright browser server on loopback; yields its ws:// endpoint."""
    folder = headless_shell_folder(tmp_path_factory.mktemp("browsers"))
    server = start(
        [sys.executable, "-m", "playwright", "run-server", "--port", "0", "--host", "127.0.0.1"],
        env={"PLAYWRIGHT_BROWSERS_PATH": str(folder)},
    )
    try:
        endpoint = server.wait_for(r"Listening on (ws://\S+)").group(1)
        yield endpoint
    finally:
        server.stop()


@pytest.fixture
def ok_site() -> Iterator[MockServer]:
    with MockServer(site_config()) as server:
        yield server


def test_diagnose_in_a_remote_browser(browser_server: str, ok_site: MockServer) -> None:
    from probe.flow import Credentials
    from probe.otp import OtpSource
    from probe.state import CodeLedger

    async def diagnose() -> tuple[str, str]:
        credentials = Credentials(EMAIL, PASSWORD, OtpSource(TOTP_SECRET, ledger=CodeLedger.in_memory()))
        async with BrowserSession(connect=browser_server) as session:
            assert session.remote
            assert session.choice is not None
            assert session.choice.source == "remote"
            result = await diagnose_url(ok_site.url(), credentials, session, RunOptions())
            return result.verdict, result.detail

    verdict, detail = run_async(diagnose())
    assert verdict == "ok", detail


def test_run_and_diagnose_with_connect(browser_server: str, ok_site: MockServer) -> None:
    done = run_cli("run", "--scenario", "ok", "--connect", browser_server, "--json", timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["verdict"] == "ok"

    credentials = {"PROBE_EMAIL": EMAIL, "PROBE_PASSWORD": PASSWORD, "PROBE_TOTP_SECRET": TOTP_SECRET}
    done = run_cli("diagnose", "--url", ok_site.url(), "--connect", browser_server, "--json", env=credentials)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["verdict"] == "ok"
    assert PASSWORD not in done.stdout + done.stderr


def test_a_fleet_on_a_remote_browser(browser_server: str, tmp_path: Path) -> None:
    generated = generate_fleet(3, mix=("ok", "wrong_password", "suspended"), seed="remote")
    with MockServer(SiteConfig.model_validate(generated.site)) as server:
        path = generated.write(tmp_path / "fleet.yaml", server.url())
        done = run_cli("fleet", str(path), "--connect", browser_server, "--json-lines", env=generated.env, timeout=300)
    assert done.returncode == 1, done.stderr
    got = {line["account"]: line["verdict"] for line in map(json.loads, done.stdout.splitlines())}
    assert got == generated.expected


def test_a_scenario_with_a_profile_on_disk_is_refused(browser_server: str) -> None:
    done = run_cli("run", "--scenario", "cookies_blocked", "--connect", browser_server, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "probe: error: scenario cookies_blocked: a remote browser (--connect) cannot use a browser profile on disk;"
        " run this case with a local browser"
    )


def test_the_library_refuses_a_profile_on_disk_remotely(browser_server: str, tmp_path: Path) -> None:
    async def persistent() -> None:
        async with BrowserSession(connect=browser_server) as session, session.persistent_context(tmp_path):
            pass  # pragma: no cover - refused before

    with pytest.raises(UsageError, match="cannot use a browser profile on disk"):
        run_async(persistent())


def test_no_browser_server_there_is_exit_3_in_one_line() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nobody listens there
    endpoint = f"ws://127.0.0.1:{port}/?token=grid-secret-token"
    done = run_cli(
        "diagnose",
        "--url",
        "http://sellercentral.amazon.co.jp.localhost:1/",
        "--connect",
        endpoint,
        env={"PROBE_EMAIL": EMAIL, "PROBE_PASSWORD": PASSWORD},
        timeout=120,
    )
    assert done.returncode == 3
    assert done.stderr.count("\n") == 1
    assert f"cannot use the browser server at ws://127.0.0.1:{port}/" in done.stderr
    assert "grid-secret-token" not in done.stderr  # an access token in the address is never printed

    async def connect() -> None:
        async with BrowserSession(connect=endpoint):
            pass  # pragma: no cover - fails before

    with pytest.raises(InfraError, match="cannot use the browser server"):
        run_async(connect())


@pytest.mark.parametrize("bad", ["http://127.0.0.1:3000/", "ws://", "127.0.0.1:3000", "ws://h:99999/"])
def test_a_bad_endpoint_is_exit_2(bad: str) -> None:
    done = run_cli("diagnose", "--url", "http://x.localhost/", "--connect", bad, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("probe: error: argument --connect")
    assert done.stderr.count("\n") == 1


def test_shown_endpoint_hides_credentials() -> None:
    assert shown_endpoint("wss://user:pw@grid.example:443/chromium?token=abc") == "wss://grid.example:443/chromium"
    assert shown_endpoint("ws://127.0.0.1:3000/") == "ws://127.0.0.1:3000/"


def test_a_usage_error_during_a_run_is_exit_2_in_one_line(browser_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A scenario that needs a profile on disk reaches the remote browser (the up-front check let it through):
    the harness's UsageError is bad input, one line and exit 2, not the probe's own failure (exit 3)."""
    import io
    from concurrent.futures import ThreadPoolExecutor

    from probe import cli

    monkeypatch.setattr(cli, "_shard_and_remote", lambda args, env, scenarios, many: (scenarios, many))
    out, err = io.StringIO(), io.StringIO()
    environment = cli.Environment(stdout=out, stderr=err, env=dict(os.environ))
    with ThreadPoolExecutor(max_workers=1) as thread:  # asyncio.run on a thread of its own
        code = thread.submit(
            cli.main, ["run", "--scenario", "cookies_blocked", "--connect", browser_server], environment
        )
        code_value = code.result()
    assert code_value == 2, err.getvalue()
    assert err.getvalue() == (
        "probe: error: a remote browser (--connect) cannot use a browser profile on disk;"
        " run this case with a local browser\n"
    )
    assert out.getvalue() == ""


def test_a_remote_browser_skips_media_by_routing(browser_server: str) -> None:
    """No launch switches reach a remote browser: its images and fonts are aborted by a route instead."""
    with media_site() as (url, asked):

        async def run() -> None:
            async with (
                BrowserSession(connect=browser_server, skip_media=True) as session,
                session.context() as context,
            ):
                page = await context.new_page()
                await page.goto(url)
                assert await page.locator("h1").inner_text() == "Sign-In"

        run_async(run())
    assert set(asked) >= NEEDED_PATHS
    assert not set(asked) & MEDIA_PATHS, asked
