"""``probe serve``: a Prometheus exporter in the blackbox_exporter style.

``GET /probe?target=ACCOUNT`` signs in as one account of the fleet file, now,
and answers that check's metrics::

    probe_success 1
    probe_duration_seconds{phase="password"} 0.41      # each phase of the sign-in
    probe_check_duration_seconds 2.3                   # the whole check
    probe_login_verdict{verdict="ok"} 1
    probe_login_remedy_verified 0
    probe_login_attempts 1

``GET /metrics`` is the exporter's own: checks run by verdict, the probe's own
failures, checks in flight, their durations, the process. An unknown target is
a 400 with one line; a check the probe itself could not finish (its browser
gone, a secret unreadable) is a 503 with one line, so Prometheus marks the
scrape down (``up == 0``) instead of blaming the seller's account.

One browser serves every check (local, or remote with ``--connect``); each
check has its own context. Checks of one account never overlap, and the
per-marketplace and overall limits of ``probe fleet`` hold here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field

import uvicorn
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from .browser import BrowserSession, shown_endpoint
from .diagnosis import RetryPolicy
from .errors import InfraError
from .fleet import DEFAULT_PER_MARKETPLACE, DEFAULT_WORKERS, Fleet, FleetAccount, FleetResult, check_account

DEFAULT_PORT = 9160
CHECK_BUCKETS = (1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 55.0, 89.0, 144.0)


@dataclass
class ExporterOptions:
    workers: int = DEFAULT_WORKERS
    per_marketplace: int = DEFAULT_PER_MARKETPLACE
    device: str = "desktop"
    connect: str | None = None
    headed: bool = False
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def check_metrics(result: FleetResult) -> bytes:
    """The exposition text of one finished check (``/probe``)."""
    registry = CollectorRegistry(auto_describe=True)
    success = Gauge("probe_success", "1 if the account signed in to Seller Central, else 0", registry=registry)
    success.set(1 if result.ok else 0)
    if result.result is None:
        return generate_latest(registry)
    checked = result.result
    by_phase: dict[str, float] = {}
    for phase in checked.phases:
        name = str(phase.get("name") or "unknown")
        by_phase[name] = by_phase.get(name, 0.0) + float(phase.get("duration_ms") or 0) / 1000
    phases = Gauge(
        "probe_duration_seconds",
        "Seconds spent in each phase of the sign-in (navigate, email, password, 2sv, picker, home, remedy)",
        ["phase"],
        registry=registry,
    )
    for name, seconds in by_phase.items():
        phases.labels(phase=name).set(round(seconds, 3))
    Gauge("probe_check_duration_seconds", "Seconds the whole check took", registry=registry).set(checked.duration_s)
    verdict = Gauge(
        "probe_login_verdict", "The check's verdict: 1 for the verdict given", ["verdict"], registry=registry
    )
    verdict.labels(verdict=checked.verdict).set(1)
    Gauge(
        "probe_login_remedy_verified",
        "1 if the probe itself proved the remedy (the next sign-in worked)",
        registry=registry,
    ).set(1 if checked.remedy_verified else 0)
    Gauge("probe_login_attempts", "Sign-ins made (transient failures are retried)", registry=registry).set(
        checked.attempts
    )
    return generate_latest(registry)


class Exporter:
    """The exporter's state: the fleet, the browser, the limits, its own metrics."""

    def __init__(
        self,
        fleet: Fleet,
        env: Mapping[str, str],
        options: ExporterOptions | None = None,
        *,
        session_factory: Callable[[], BrowserSession] | None = None,
    ) -> None:
        self.fleet = fleet
        self.env = env
        self.options = options or ExporterOptions()
        self._session_factory = session_factory or (
            lambda: BrowserSession(headed=self.options.headed, env=env, connect=self.options.connect, skip_media=True)
        )
        self.session: BrowserSession | None = None
        self._session_lock = asyncio.Lock()
        self._overall = asyncio.Semaphore(max(1, self.options.workers))
        self._markets: dict[str, asyncio.Semaphore] = {}
        self._accounts: dict[str, asyncio.Lock] = {}

        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.checks = Counter("probe_exporter_checks", "Checks run, by verdict", ["verdict"], registry=self.registry)
        self.errors = Counter(
            "probe_exporter_errors",
            "Checks the probe itself could not finish (browser, driver, unreadable secret)",
            registry=self.registry,
        )
        self.bad_requests = Counter(
            "probe_exporter_bad_requests", "Requests for no target or an unknown one", registry=self.registry
        )
        self.in_flight = Gauge("probe_exporter_checks_in_flight", "Checks running now", registry=self.registry)
        self.durations = Histogram(
            "probe_exporter_check_duration_seconds",
            "How long checks took",
            buckets=CHECK_BUCKETS,
            registry=self.registry,
        )
        Gauge("probe_exporter_fleet_accounts", "Accounts in the fleet file", registry=self.registry).set(
            len(fleet.accounts)
        )
        self.app = Starlette(
            routes=[
                Route("/", self.index),
                Route("/probe", self.probe),
                Route("/metrics", self.metrics),
            ]
        )

    # -- the browser

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Exporter]:
        """The browser for the exporter's life (started first: a browser that cannot start is exit 3)."""
        self.session = await self._session_factory().__aenter__()
        try:
            yield self
        finally:
            session, self.session = self.session, None
            if session is not None:
                with contextlib.suppress(Exception):
                    await session.__aexit__(None, None, None)

    async def _browser(self) -> BrowserSession:
        """The session, started again if its browser went away (a remote browser server restarted)."""
        async with self._session_lock:
            session = self.session
            if session is not None and session.browser is not None and session.browser.is_connected():
                return session
            if session is not None:
                with contextlib.suppress(Exception):
                    await session.__aexit__(None, None, None)
                self.session = None
            self.session = await self._session_factory().__aenter__()
            return self.session

    # -- the endpoints

    async def index(self, request: Request) -> Response:
        names = "\n".join(f"  /probe?target={name}" for name in self.fleet.names()[:20])
        more = f"\n  ... {len(self.fleet.accounts) - 20} more" if len(self.fleet.accounts) > 20 else ""
        return PlainTextResponse(f"probe exporter\n\n/metrics  the exporter's own metrics\n{names}{more}\n")

    async def metrics(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

    async def probe(self, request: Request) -> Response:
        target = request.query_params.get("target")
        if not target:
            self.bad_requests.inc()
            return PlainTextResponse("no target: ask for /probe?target=ACCOUNT_NAME\n", status_code=400)
        account = self.fleet.get(target)
        if account is None:
            self.bad_requests.inc()
            shown = target if len(target) <= 80 else target[:77] + "..."
            # repr() keeps the line one line, whatever the target holds.
            return PlainTextResponse(f"unknown target {shown!r}: not an account of the fleet file\n", status_code=400)
        result = await self.check(account)
        if result.result is None:
            line = (result.error or "the check failed").replace("\n", " ")
            return PlainTextResponse(f"probe failed for {account.name}: {line}\n", status_code=503)
        return Response(check_metrics(result), media_type=CONTENT_TYPE_LATEST)

    async def check(self, account: FleetAccount) -> FleetResult:
        lock = self._accounts.setdefault(account.name, asyncio.Lock())
        market = self._markets.setdefault(account.marketplace, asyncio.Semaphore(max(1, self.options.per_marketplace)))
        async with lock, market, self._overall:
            self.in_flight.inc()
            started = time.perf_counter()
            try:
                try:
                    session = await self._browser()
                except InfraError as exc:
                    result = FleetResult(account, error=str(exc))
                else:
                    result = await check_account(
                        account, session, self.env, device=self.options.device, retry=self.options.retry
                    )
            finally:
                self.in_flight.dec()
                self.durations.observe(time.perf_counter() - started)
        if result.result is None:
            self.errors.inc()
        else:
            self.checks.labels(verdict=result.result.verdict).inc()
        return result


# -- serving


class _Server(uvicorn.Server):
    """uvicorn, telling when it listens, and ending quietly on SIGINT or SIGTERM (the browser is closed after)."""

    def __init__(self, config: uvicorn.Config, ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._ready()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        import signal

        loop = asyncio.get_running_loop()
        added = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.handle_exit, sig, None)
                added.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
                pass
        try:
            yield
        finally:
            for sig in added:
                loop.remove_signal_handler(sig)


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything starts (a taken port is a one-line error)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise InfraError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise InfraError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def serve(exporter: Exporter, sock: socket.socket, ready: Callable[[str], None]) -> None:
    """Serve until SIGINT or SIGTERM; the browser starts first and is closed last."""
    config = uvicorn.Config(exporter.app, log_level="warning", access_log=False, lifespan="off")
    server = _Server(config, lambda: ready(base_url(sock)))
    async with exporter.running():
        await server.serve(sockets=[sock])


def describe_browser(options: ExporterOptions) -> str:
    return f"the browser server at {shown_endpoint(options.connect)}" if options.connect else "a local Chromium"
