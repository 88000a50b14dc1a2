"""A pytest plugin: pytest-playwright tests that start signed in to Seller Central.

Loaded through the ``pytest11`` entry point once the package is installed. It
adds three fixtures on top of pytest-playwright's sync fixture chain
(``browser``, ``browser_context_args``, ``context``, ``page``: override them as
usual):

- ``probe_mock``: the bundled mock Seller Central, one server per scenario for
  the whole session, with fresh state for each test. The scenario comes from
  ``@pytest.mark.probe_scenario("cookies")`` or from an indirect parameter
  (``@pytest.mark.parametrize("probe_mock", ["ok", "cookies"], indirect=True)``);
  ``ok`` without either.
- ``probe_diagnosis``: the probe's ``Result`` of the sign-in (verdict, evidence,
  remedy), whatever the verdict.
- ``seller_central_page``: pytest-playwright's ``page``, signed in, the account
  picked, on the Seller Central home page. A sign-in that does not reach home
  fails the test in set-up with the verdict, its evidence and the remedy in
  Japanese and English.

How the sign-in reaches the test's page
---------------------------------------
The probe's driver and diagnosis are asynchronous Playwright code, and
pytest-playwright drives Playwright's sync API on the main thread, whose event
loop cannot run them. The plugin still launches no browser of its own: it
binds the Chromium pytest-playwright launched (``Browser.bind``: a Unix socket
in a per-user folder, never a TCP port), and the probe's diagnosis runs on a
worker thread with its own event loop and its own Playwright client connected
to that same browser. It signs in inside a fresh context there, as
``probe diagnose`` does (retries, experiments, artifacts scrubbed of secrets).
One Playwright client cannot reach the contexts of another, so when the
sign-in reaches home its signed-in state (cookies and local storage, what
``storage_state`` holds) is loaded into the test's own ``context``; the test's
``page`` then opens the home page the probe reached and is checked against the
probe's knowledge of that page. A failed sign-in never touches the test's page.

The sign-in runs in Chromium only (other ``--browser`` runs are skipped), and
scenarios that need a browser profile on disk (``browser.persistent``,
``block_cookies``) are for ``probe run``, not for this plugin.

Artifacts
---------
The probe's screenshots, trace, HAR, log and result.json go to
``<--output>/<test>/probe/``: kept when the test fails (``--probe-artifacts
retain-on-failure``, the default), always (``on``) or never recorded (``off``).

Which target
------------
A test with the ``probe_scenario`` marker, an indirect ``probe_mock`` parameter
or the ``probe_mock`` fixture signs in to the bundled mock with the scenario's
credentials. Any other test signs in to ``--probe-target`` when it is set
(credentials from ``PROBE_EMAIL``, ``PROBE_PASSWORD`` and ``PROBE_TOTP_SECRET``,
as ``probe diagnose`` reads them, or from ``--probe-credentials FILE``), else
to the mock's ``ok`` scenario.
"""

from __future__ import annotations

import asyncio
import binascii
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Coroutine, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeVar, cast
from urllib.parse import urlsplit

import pyotp
import pytest
import structlog
import yaml
from playwright.async_api import BrowserContext, async_playwright
from playwright.async_api import Error as PlaywrightError
from playwright.sync_api import Browser, Page

from .browser import DEVICES, QUIET_ARGS, BrowserSession, ChromiumChoice, find_chromium
from .diagnosis import Outcome, RetryPolicy, Target
from .errors import InfraError, ProbeError, UsageError
from .evidence import Recorder
from .flow import Credentials, DriverOptions
from .otp import OtpSource
from .outcomes import Verdict
from .profile import Profile, load_profile
from .redact import SECRETS, Redactor
from .report import Result
from .runner import RunOptions, _diagnoser, _first_line, _outcome_result, _recorded, _register_cookie_values

T = TypeVar("T")

MARKER = "probe_scenario"
DEFAULT_SCENARIO = "ok"
ARTIFACT_MODES = ("on", "off", "retain-on-failure")
ENV_NAMES = ("PROBE_EMAIL", "PROBE_PASSWORD", "PROBE_TOTP_SECRET")
# Keys a credentials file may use, each for one of ENV_NAMES.
_FILE_KEYS = {
    "probe_email": "PROBE_EMAIL",
    "email": "PROBE_EMAIL",
    "probe_password": "PROBE_PASSWORD",
    "password": "PROBE_PASSWORD",
    "probe_totp_secret": "PROBE_TOTP_SECRET",
    "totp_secret": "PROBE_TOTP_SECRET",
}
# The per-test folder under pytest-playwright's --output that holds the probe's artifacts.
ARTIFACTS_FOLDER = "probe"
RUN_NAME = "sign-in"
BIND_TITLE = "probe-pytest"
_DOTENV_LINE = re.compile(r"(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=")

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


# -- options ------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("probe", "Seller Central sign-in (probe)")
    settings = (
        ("target", "URL", "Seller Central to sign in to (default: the bundled mock)"),
        ("device", "NAME", f"device the probe signs in with: {', '.join(DEVICES)} (default: desktop)"),
        ("marketplace", "CODE", "marketplace whose Seller Central host the sign-in starts on (default: jp)"),
        ("credentials", "FILE", "YAML or KEY=VALUE file with PROBE_EMAIL, PROBE_PASSWORD, PROBE_TOTP_SECRET"),
        ("artifacts", "MODE", "keep the probe's artifacts: on, off, retain-on-failure (default)"),
    )
    for name, metavar, text in settings:
        group.addoption(f"--probe-{name}", dest=f"probe_{name}", metavar=metavar, default=None, help=text)
        parser.addini(f"probe_{name}", f"{text}; --probe-{name} wins", default="")


@dataclass(frozen=True)
class Settings:
    target: str | None
    device: str | None
    marketplace: str | None
    credentials: Path | None
    artifacts: str


def _setting(config: pytest.Config, name: str) -> tuple[str | None, str]:
    """A setting's value and how to name it in an error: the command line's option, else the ini key."""
    value = config.getoption(f"probe_{name}")
    if value is not None:
        return str(value), f"--probe-{name}"
    return str(config.getini(f"probe_{name}")).strip() or None, f"ini probe_{name}"


def settings_of(config: pytest.Config) -> Settings:
    """The plugin's options, the command line before the ini file; a bad value is a usage error."""
    target, source = _setting(config, "target")
    if target is not None:
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise pytest.UsageError(f"{source} needs an http(s) URL with a host, got {target!r}")
    device, source = _setting(config, "device")
    if device is not None and device not in DEVICES:
        raise pytest.UsageError(f"{source} {device!r}: choose one of {', '.join(DEVICES)}")
    marketplace, source = _setting(config, "marketplace")
    if marketplace is not None:
        codes = marketplace_hosts(load_profile())
        if marketplace not in codes:
            raise pytest.UsageError(f"{source} {marketplace!r}: choose one of {', '.join(codes)}")
    artifacts, source = _setting(config, "artifacts")
    if artifacts is not None and artifacts not in ARTIFACT_MODES:
        raise pytest.UsageError(f"{source} {artifacts!r}: choose one of {', '.join(ARTIFACT_MODES)}")
    credentials, _ = _setting(config, "credentials")
    path = None
    if credentials is not None:
        path = Path(credentials).expanduser()
        if not path.is_absolute():
            path = config.invocation_params.dir / path
    return Settings(target, device, marketplace, path, artifacts or "retain-on-failure")


def marketplace_hosts(profile: Profile) -> dict[str, str]:
    """Each marketplace code and the first Seller Central host the profile names for it."""
    hosts: dict[str, str] = {}
    for host, code in profile.marketplace_hosts.items():
        hosts.setdefault(code, host)
    return hosts


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(name): sign in to the bundled mock Seller Central playing this scenario (a name or a YAML path)",
    )
    settings_of(config)  # a bad option fails the run before any test


# -- credentials ----------------------------------------------------------------------------


def read_credentials_file(path: Path) -> dict[str, str]:
    """``PROBE_*`` values from a YAML mapping or a ``KEY=VALUE`` (dotenv) file.

    Errors name the file and the key, never a value.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--probe-credentials {path}: cannot read it ({type(exc).__name__})") from None
    lines = [line.strip() for line in text.splitlines()]
    dotenv = any(_DOTENV_LINE.match(line) for line in lines)
    pairs: list[tuple[str, Any]] = []
    if not dotenv:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            data = None  # the parser's message would quote the file: a password, perhaps
        if not isinstance(data, dict):
            raise UsageError(f"--probe-credentials {path}: neither a YAML mapping nor KEY=VALUE lines")
        pairs = [(str(k), v) for k, v in data.items()]
    for number, line in enumerate(lines, 1):
        if not dotenv or not line or line.startswith("#"):
            continue
        match = _DOTENV_LINE.match(line)
        if match is None:
            raise UsageError(f"--probe-credentials {path}: line {number} is not KEY=VALUE")
        value = line[match.end() :].strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        pairs.append((match.group("key"), value))
    values: dict[str, str] = {}
    for key, value in pairs:
        name = _FILE_KEYS.get(key.lower())
        if name is None:
            raise UsageError(f"--probe-credentials {path}: unknown key {key!r} (use {', '.join(ENV_NAMES)})")
        if value is not None:
            values[name] = str(value)
    return values


def credentials_from(values: dict[str, str], source: str) -> Credentials:
    """Credentials for a live target, from ``PROBE_*`` values; their secrets are registered at once."""
    missing = [k for k in ENV_NAMES[:2] if not values.get(k)]
    if missing:
        raise UsageError(f"set {' and '.join(missing)} ({source}) to sign in to --probe-target")
    secret = values.get("PROBE_TOTP_SECRET", "").replace(" ", "").upper()
    SECRETS.add(values["PROBE_PASSWORD"], secret)
    if secret:
        try:
            pyotp.TOTP(secret).now()
        except (ValueError, binascii.Error):
            raise UsageError("PROBE_TOTP_SECRET is not a base32 TOTP secret of 112 bits or more") from None
    return Credentials(
        email=values["PROBE_EMAIL"],
        password=values["PROBE_PASSWORD"],
        totp=OtpSource(secret) if secret else None,
    )


# -- the browser -------------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Any:
    """Point pytest-playwright at the Chromium the probe would pick when Playwright's own is missing.

    Whoever defines ``browser_type_launch_args`` (pytest-playwright, a conftest),
    an ``executable_path`` or ``channel`` it sets is kept.
    """
    value = yield
    if fixturedef.argname == "browser_type_launch_args" and isinstance(value, dict):
        _default_chromium(value, request)
    return value


def _default_chromium(launch_args: dict[str, Any], request: pytest.FixtureRequest) -> None:
    browsers = request.config.getoption("--browser", default=None) or ["chromium"]
    if set(browsers) != {"chromium"} or "executable_path" in launch_args or "channel" in launch_args:
        return
    if request.getfixturevalue("connect_options"):
        return  # a remote browser: not ours to choose
    playwright = request.getfixturevalue("playwright")
    try:
        choice: ChromiumChoice = find_chromium(os.environ, playwright.chromium.executable_path)
    except InfraError:
        return  # Playwright says how to get a browser
    if choice.executable is None:
        return
    headless = launch_args.get("headless", True)
    launch_args["executable_path"] = choice.headless_shell if headless and choice.headless_shell else choice.executable
    args = list(launch_args.get("args") or [])
    launch_args["args"] = args + [flag for flag in QUIET_ARGS if flag not in args]


@pytest.fixture(scope="session")
def _probe_browser_endpoint(browser: Browser) -> Iterator[str]:
    """pytest-playwright's browser, opened to the probe's own Playwright client."""
    if not callable(getattr(browser, "bind", None)):
        pytest.fail("probe: the Seller Central sign-in needs playwright>=1.59 (Browser.bind)", pytrace=False)
    endpoint = str(browser.bind(BIND_TITLE)["endpoint"])
    yield endpoint
    if browser.is_connected():
        browser.unbind()


class _ConnectedSession(BrowserSession):
    """The probe's browser session over a browser someone else launched."""

    def __init__(self, playwright: Any, browser: Any) -> None:
        super().__init__()
        self.playwright = playwright
        self.browser = browser
        self.choice = ChromiumChoice(None, "pytest-playwright")

    async def __aenter__(self) -> _ConnectedSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def launch_args(self, *, profile_on_disk: bool = False) -> dict[str, Any]:
        raise UsageError("the pytest plugin signs in inside pytest-playwright's browser; it launches none")


def _on_worker_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on its own thread and event loop (pytest-playwright holds this thread's loop)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="probe-sign-in") as pool:
        return pool.submit(asyncio.run, coro).result()


# -- the mock -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MockAccount:
    """An account the mock knows; only the email shows in its repr."""

    email: str
    password: str = field(repr=False)
    totp_secret: str | None = field(default=None, repr=False)
    marketplace: str = "jp"
    status: str = "active"


@dataclass(frozen=True, repr=False)
class ProbeMock:
    """The bundled mock Seller Central playing one scenario."""

    scenario: str  # the scenario's name
    title: str
    expected: str | None  # the verdict the scenario expects, if it says
    base_url: str  # the origin of the host the sign-in starts on
    accounts: tuple[MockAccount, ...]
    server: Any = field(compare=False)  # fixtures.mock_site.MockServer
    spec: Any = field(compare=False)  # probe.scenarios.Scenario (holds the passwords: never shown)

    def origin(self, host: str) -> str:
        """``sellercentral.amazon.com`` -> the mock's origin answering for it."""
        return str(self.server.origin(host))

    def url(self, path: str = "/", host: str | None = None) -> str:
        return (self.origin(host) if host else self.base_url) + path

    def __repr__(self) -> str:
        emails = ", ".join(a.email for a in self.accounts)
        return f"ProbeMock(scenario={self.scenario!r}, base_url={self.base_url!r}, accounts=[{emails}])"


class _Mocks:
    """One running mock per scenario, for the whole session."""

    def __init__(self) -> None:
        self._running: dict[str, tuple[Any, Any]] = {}

    def get(self, name_or_path: str, rootdir: Path, start_host: str | None = None) -> ProbeMock:
        """The scenario's mock, started once; ``start_host`` replaces the host its sign-in starts on."""
        from fixtures.mock_site import MockServer

        from .scenarios import load_scenario, resolve

        candidate = Path(name_or_path)
        if candidate.suffix in (".yaml", ".yml") and not candidate.is_absolute():
            candidate = rootdir / candidate
            name_or_path = str(candidate) if candidate.is_file() else name_or_path
        try:
            key = str(resolve(name_or_path))
            if key not in self._running:
                scenario = load_scenario(name_or_path)
                _check_playable(scenario)
                server = MockServer(scenario.site)
                try:
                    server.start()
                except (OSError, RuntimeError) as exc:
                    raise InfraError(f"the mock site did not start: {exc}") from exc
                self._running[key] = (server, scenario)
        except ProbeError as exc:
            pytest.fail(f"probe: {exc}", pytrace=False)
        server, scenario = self._running[key]
        server.configure(scenario.site)  # fresh state: sessions, counters, codes used
        if start_host is not None:
            scenario = scenario.model_copy(update={"start": start_host})
        accounts = tuple(
            MockAccount(a.email, a.password, a.totp_secret, a.marketplace, a.status) for a in scenario.site.accounts
        )
        return ProbeMock(
            scenario=scenario.name,
            title=scenario.title,
            expected=scenario.expect.verdict.value if scenario.expect else None,
            base_url=server.origin(scenario.start),
            accounts=accounts,
            server=server,
            spec=scenario,
        )

    def close(self) -> None:
        for server, _ in self._running.values():
            server.stop()
        self._running.clear()


def _check_playable(scenario: Any) -> None:
    if scenario.browser.persistent or scenario.browser.block_cookies:
        raise UsageError(
            f"scenario {scenario.name} needs the seller's browser profile on disk, which pytest-playwright's "
            f"browser does not have: play it with `probe run --scenario {scenario.name}`"
        )


@pytest.fixture(scope="session")
def _probe_mocks() -> Iterator[_Mocks]:
    mocks = _Mocks()
    yield mocks
    mocks.close()


def _scenario_asked(request: pytest.FixtureRequest) -> str | None:
    """The scenario a test names: an indirect ``probe_mock`` parameter, else the closest marker."""
    param = getattr(request, "param", None)
    if param is not None:
        return str(param)
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and "probe_mock" in callspec.params:
        return str(callspec.params["probe_mock"])
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        return None
    if len(marker.args) != 1 or not isinstance(marker.args[0], str):
        pytest.fail(f'@pytest.mark.{MARKER} takes one scenario name, as {MARKER}("cookies")', pytrace=False)
    return str(marker.args[0])


@pytest.fixture
def probe_mock(request: pytest.FixtureRequest, _probe_mocks: _Mocks) -> ProbeMock:
    """The bundled mock Seller Central playing the test's scenario (``ok`` unless one is named)."""
    marketplace = settings_of(request.config).marketplace
    start_host = marketplace_hosts(load_profile())[marketplace] if marketplace else None
    return _probe_mocks.get(_scenario_asked(request) or DEFAULT_SCENARIO, request.config.rootpath, start_host)


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Let ``parametrize("probe_mock", ..., indirect=True)`` reach tests that use only ``seller_central_page``."""
    if "probe_mock" in metafunc.fixturenames:
        return
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0] if marker.args else marker.kwargs.get("argnames", "")
        listed = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        if "probe_mock" in listed:
            metafunc.fixturenames.append("probe_mock")
            return


# -- the sign-in ------------------------------------------------------------------------------------


@dataclass
class SignIn:
    """What the probe's sign-in left: its result and, when it reached home, the signed-in state."""

    result: Result
    home_url: str | None = None
    storage_state: dict[str, Any] | None = field(default=None, repr=False)
    artifacts: Path | None = None  # where the probe wrote them (a temporary folder until kept)
    keep_at: str | None = None  # where they are kept should the test fail
    redactor: Redactor = field(default_factory=Redactor, repr=False)


@dataclass(frozen=True)
class _Plan:
    device: str
    mock: ProbeMock | None = None
    url: str | None = None
    values: dict[str, str] = field(default_factory=dict, repr=False)  # PROBE_* for a live target
    source: str = "the environment"


async def _signed_in(context: BrowserContext) -> tuple[str | None, dict[str, Any]]:
    pages = context.pages
    url = pages[-1].url if pages else None
    state: dict[str, Any] = dict(await context.storage_state())
    return url, state


async def _sign_in(endpoint: str, plan: _Plan, out: Path | None) -> SignIn:
    profile = load_profile()
    found: dict[str, Any] = {}
    redactor = Redactor()

    async with async_playwright() as playwright:
        browser = await playwright.chromium.connect(endpoint)
        session = _ConnectedSession(playwright, browser)
        try:
            if plan.mock is None:
                options = RunOptions(out=out, retry=RetryPolicy())
                run = _live_run(session, plan, profile, options, found, redactor)
            else:
                options = RunOptions(out=out)
                run = _mock_run(session, plan, plan.mock, profile, options, found, redactor)
            result = await _recorded(RUN_NAME, options, profile, run)
        finally:
            await browser.close()
    return SignIn(
        result=result,
        home_url=found.get("url"),
        storage_state=found.get("state"),
        artifacts=Path(result.artifacts) if result.artifacts else None,
        redactor=redactor,
    )


def _live_run(
    session: BrowserSession,
    plan: _Plan,
    profile: Profile,
    options: RunOptions,
    found: dict[str, Any],
    redactor: Redactor,
) -> Any:
    async def run(recorder: Recorder) -> Result:
        started = time.perf_counter()
        assert plan.url is not None
        credentials = credentials_from(plan.values, plan.source)
        redactor.add(credentials.password, plan.values.get("PROBE_TOTP_SECRET"))
        async with session.context(plan.device, **recorder.context_options()) as context, recorder.tracing(context):
            outcome = await _diagnoser(
                session,
                context,
                Target(plan.url, profile),
                credentials,
                options,
                recorder,
                name=RUN_NAME,
                device=plan.device,
            ).run()
            await _keep_state(context, outcome, profile, found)
        ok = outcome.verdict is Verdict.OK
        return _outcome_result(RUN_NAME, plan.url, outcome, started, expected=None, match=ok)

    return run


def _mock_run(
    session: BrowserSession,
    plan: _Plan,
    mock: ProbeMock,
    profile: Profile,
    options: RunOptions,
    found: dict[str, Any],
    redactor: Redactor,
) -> Any:
    from .harness import MAIL_HOST, _result, _start_origin, credentials_for, plant_cookies

    scenario = mock.spec
    scenario = scenario.model_copy(update={"browser": scenario.browser.model_copy(update={"device": plan.device})})
    if scenario.network == "timeout":  # as `probe run`: a black hole answers at the driver's timeout
        options.driver = DriverOptions(navigation_timeout_ms=3_000)

    async def run(recorder: Recorder) -> Result:
        started = time.perf_counter()
        with _start_origin(scenario, mock.server) as origin:
            target = Target(origin + scenario.start_path, profile)
            credentials, mailbox = credentials_for(scenario, mock.server.origin(MAIL_HOST), profile)
            redactor.add(scenario.credentials.password, scenario.credentials.totp_secret, scenario.credentials.otp)
            redactor.add(*(a.password for a in mock.accounts), *(a.totp_secret for a in mock.accounts))
            async with (
                session.context(plan.device, **recorder.context_options()) as context,
                recorder.tracing(context),
            ):
                await plant_cookies(context, scenario.browser.cookies, target, profile)
                outcome = await _diagnoser(
                    session,
                    context,
                    target,
                    credentials,
                    options,
                    recorder,
                    name=RUN_NAME,
                    device=plan.device,
                    mailbox=mailbox,
                ).run()
                await _keep_state(context, outcome, profile, found)
        return _result(scenario, outcome, started)

    return run


async def _keep_state(context: BrowserContext, outcome: Outcome, profile: Profile, found: dict[str, Any]) -> None:
    await _register_cookie_values(context, profile)
    if outcome.verdict is Verdict.OK:
        found["url"], found["state"] = await _signed_in(context)


def _plan(request: pytest.FixtureRequest, settings: Settings) -> _Plan:
    uses_mock = settings.target is None or "probe_mock" in request.fixturenames or _scenario_asked(request) is not None
    profile = load_profile()
    if uses_mock:
        mock: ProbeMock = request.getfixturevalue("probe_mock")
        return _Plan(device=settings.device or mock.spec.browser.device, mock=mock)
    assert settings.target is not None
    if settings.marketplace is not None:
        host = urlsplit(settings.target).hostname or ""
        code = profile.marketplace_of(host)
        if code is not None and code != settings.marketplace:
            raise UsageError(
                f"--probe-target {host} is Seller Central {code}, not --probe-marketplace {settings.marketplace}"
            )
    if settings.credentials is not None:
        values, source = read_credentials_file(settings.credentials), f"in {settings.credentials}"
    else:
        values, source = {k: os.environ.get(k, "") for k in ENV_NAMES}, "in the environment"
    return _Plan(device=settings.device or "desktop", url=settings.target, values=values, source=source)


def _configure_logging() -> None:
    """The probe's own log chain (redacted, kept for log.jsonl), warnings on stderr, unless set up already.

    structlog's unconfigured default would print every event unredacted to stdout,
    which pytest shows in a failed test's report; a chain the tests' own code set
    up is left alone.
    """
    if structlog.is_configured():
        return
    from .log import configure

    configure(0, json_lines=True, stream=cast(TextIO, _CurrentStderr()))


class _CurrentStderr:
    """Whatever ``sys.stderr`` is at the time of writing (pytest swaps it to capture output)."""

    def write(self, text: str) -> int:
        stream: TextIO = sys.stderr
        return stream.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return False


@pytest.fixture
def _probe_sign_in(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, output_path: str, browser_name: str
) -> Iterator[SignIn]:
    """One sign-in by the probe for this test, and its artifacts kept as ``--probe-artifacts`` says."""
    settings = settings_of(request.config)
    if browser_name != "chromium":
        pytest.skip("the Seller Central sign-in runs in Chromium only")
    endpoint: str = request.getfixturevalue("_probe_browser_endpoint")
    _configure_logging()
    out = None if settings.artifacts == "off" else tmp_path_factory.mktemp("probe-artifacts")
    try:
        plan = _plan(request, settings)
        signed = _on_worker_thread(_sign_in(endpoint, plan, out))
    except ProbeError as exc:
        pytest.fail(f"probe: {exc}", pytrace=False)
    except PlaywrightError as exc:  # the connection to pytest-playwright's browser broke
        pytest.fail(f"probe: the browser or its driver failed: {_first_line(exc)}", pytrace=False)
    request.node.user_properties.append(("probe_verdict", signed.result.verdict))
    if signed.artifacts is not None:
        signed.keep_at = _for_report(request.config, Path(output_path) / ARTIFACTS_FOLDER)
    try:
        yield signed
    finally:
        _settle_artifacts(request, settings, signed, Path(output_path))
        if out is not None:
            shutil.rmtree(out, ignore_errors=True)


def _test_failed(item: pytest.Item) -> bool:
    reports = item.stash.get(_REPORTS, {})
    return any(r.failed for r in reports.values())


def _settle_artifacts(request: pytest.FixtureRequest, settings: Settings, signed: SignIn, output: Path) -> None:
    if signed.artifacts is None or not signed.artifacts.is_dir():
        return
    if settings.artifacts == "on" or _test_failed(request.node):
        kept = output / ARTIFACTS_FOLDER
        shutil.rmtree(kept, ignore_errors=True)
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(signed.artifacts, kept)
        request.node.user_properties.append(("probe_artifacts", _for_report(request.config, kept)))
    signed.artifacts = None


def _for_report(config: pytest.Config, path: Path) -> str:
    try:
        return str(path.relative_to(config.invocation_params.dir))
    except ValueError:
        return str(path)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture
def probe_diagnosis(_probe_sign_in: SignIn) -> Result:
    """The probe's result of this test's sign-in: ``verdict``, ``evidence``, ``remedy``, ``remedy_text``..."""
    return _probe_sign_in.result


@pytest.fixture
def seller_central_page(page: Page, _probe_sign_in: SignIn) -> Page:
    """pytest-playwright's ``page``, signed in to Seller Central, on the home page."""
    signed = _probe_sign_in
    result = signed.result
    if result.verdict != Verdict.OK.value or signed.storage_state is None or signed.home_url is None:
        pytest.fail(failure_report(signed), pytrace=False)
    state = signed.storage_state
    page.context.add_cookies(state.get("cookies", []))
    origins = [o for o in state.get("origins", []) if o.get("localStorage")]
    if origins:
        page.context.add_init_script(script=_LOCAL_STORAGE_SCRIPT.replace("ORIGINS", _json(origins)))
    page.goto(signed.home_url)
    if not _on_home(page, load_profile()):
        pytest.fail(
            signed.redactor.redact(
                "probe: the probe signed in, but the test's browser context did not get there with its "
                f"cookies: it shows {_short_url(page.url)}"
            ),
            pytrace=False,
        )
    return page


_LOCAL_STORAGE_SCRIPT = """
(() => {
  const origin = ORIGINS.find((o) => o.origin === location.origin);
  if (!origin) return;
  for (const {name, value} of origin.localStorage) {
    if (localStorage.getItem(name) === null) localStorage.setItem(name, value);
  }
})();
"""


def _json(value: Any) -> str:
    return json.dumps(value)


def _on_home(page: Page, profile: Profile) -> bool:
    """The profile's home page signs (meta names, path, element ids), read off the test's page."""
    home = [kind for kind in profile.pages if kind.kind == "home"]
    if not home:
        return True
    for signal in home[0].all:
        if signal.meta is not None and page.locator(f'meta[name="{signal.meta}"]').count() == 0:
            return False
        if signal.path is not None and not re.search(signal.path, urlsplit(page.url).path):
            return False
        if signal.id is not None and not page.locator(f'[id="{signal.id}"]').first.is_visible():
            return False
    return True


def _short_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}" + ("?..." if parts.query else "")


def failure_report(signed: SignIn) -> str:
    """The short report of a failed sign-in: verdict, evidence, remedy (ja, en), where the artifacts go."""
    result = signed.result
    lines = [f"Seller Central sign-in failed: {result.verdict}" + (f" (rule {result.rule})" if result.rule else "")]
    if result.detail:
        lines.append(f"  detail    {result.detail}")
    if result.detail_ja:
        lines.append(f"  詳細      {result.detail_ja}")
    for i, ev in enumerate(result.evidence[:3]):
        head = "  evidence  " if i == 0 else "            "
        status = f" [{ev['status']}]" if ev.get("status") else ""
        text = f'  "{ev["text"]}"' if ev.get("text") else ""
        lines.append(
            f"{head}{ev.get('rule', '')}: {ev.get('signal', '')} at {_short_url(ev.get('url', ''))}{status}{text}"
        )
    texts = result.remedy_text
    if result.remedy and texts:
        state = "verified" if result.remedy_verified else "not verified"
        lines.append(f"  remedy    {result.remedy} ({state})")
        lines.append(f"    ja: {texts['ja']}")
        lines.append(f"    en: {texts['en']}")
    if result.error:
        lines.append(f"  error     {result.error}")
    if signed.keep_at:
        lines.append(f"  artifacts {signed.keep_at}")
    return signed.redactor.redact(SECRETS.redact("\n".join(lines)))
