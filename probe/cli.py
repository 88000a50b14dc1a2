"""``probe ...``: a thin shell that parses, calls the library, renders, and maps to an exit code."""

from __future__ import annotations

import argparse
import asyncio
import binascii
import enum
import getpass
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn, TextIO
from urllib.parse import urlsplit

import pyotp

from . import log as probe_log
from .browser import DEVICES, BrowserSession
from .diagnosis import RetryPolicy
from .errors import InfraError, UsageError
from .flow import Credentials
from .otp import OtpSource
from .profile import load_profile
from .report import Result, junit_xml, many_to_json, render_many, render_text, to_json
from .runner import RunOptions, diagnose_url, play, play_all, reset_profile
from .saved import classify_saved, load_saved
from .scenarios import all_scenarios, load_scenario


class ExitStatus(enum.IntEnum):
    OK = 0
    MISMATCH = 1
    USAGE = 2
    INFRA = 3
    INTERRUPTED = 130


@dataclass
class Environment:
    """Where the CLI reads and writes, so tests can run it in-process."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="probe", description="Diagnose why a Seller Central (Japan) sign-in fails.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log each phase (-vv: debug)")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser("run", help="play scenarios against the bundled mock")
    which = run.add_mutually_exclusive_group(required=True)
    which.add_argument("--scenario", metavar="NAME|PATH", help="a scenario name or a YAML file")
    which.add_argument("--all", action="store_true", help="every bundled scenario, with a confusion table")
    run.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    run.add_argument("--junit", metavar="FILE", type=Path, help="write JUnit XML here")
    run.add_argument("--out", metavar="DIR", type=Path, help="keep artifacts (screenshots, log, result.json) here")
    run.add_argument("--workers", metavar="N", type=_positive, default=1, help="scenarios at a time (default 1)")
    run.add_argument("--headed", action="store_true", help="show the browser window")

    diagnose = commands.add_parser("diagnose", help="classify a live sign-in on any target")
    diagnose.add_argument(
        "--url", required=True, help="where the sign-in starts, e.g. https://sellercentral.amazon.co.jp/"
    )
    diagnose.add_argument("--device", choices=sorted(DEVICES), default="desktop", help="browser profile to emulate")
    diagnose.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    diagnose.add_argument("--out", metavar="DIR", type=Path, help="keep artifacts here")
    diagnose.add_argument("--headed", action="store_true", help="show the browser window")

    classify = commands.add_parser(
        "classify", help="the verdict from a page a customer saved (HTML, MHTML) or a HAR they exported"
    )
    classify.add_argument("path", metavar="PATH", type=Path, help="a saved page (.html, .mhtml) or a HAR file")
    classify.add_argument("--json", action="store_true", help="print one JSON object on stdout")

    reset = commands.add_parser("reset", help="delete cookies, cache and site data of a browser profile")
    reset.add_argument("--profile", metavar="DIR", type=Path, required=True, help="a Chromium user data folder")
    reset.add_argument(
        "--origin", action="append", metavar="URL", help="also clear site data of this origin (repeatable)"
    )

    commands.add_parser("list", help="list the bundled scenarios")

    mock = commands.add_parser("mock", help="serve the mock Seller Central for a person to click through")
    mock.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    mock.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    mock.add_argument("--scenario", metavar="NAME|PATH", help="load this scenario's accounts (default: ok)")
    return parser


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    # Input is checked before anything starts, so a bad scenario costs nothing.
    scenarios = all_scenarios() if args.all else [load_scenario(args.scenario)]
    if args.junit is not None and not args.junit.parent.is_dir():
        raise UsageError(f"no such folder for --junit {args.junit}")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
    options = RunOptions(out=args.out, workers=args.workers)

    async def play_them() -> list[Result]:
        async with BrowserSession(headed=args.headed, env=env.env) as session:
            if args.all:
                return await play_all(scenarios, session, options)
            return [await play(scenarios[0], session, options)]

    results = asyncio.run(play_them())
    _render(args, env, results)
    return ExitStatus.OK if all(r.match for r in results) else ExitStatus.MISMATCH


def _render(args: argparse.Namespace, env: Environment, results: list[Result]) -> None:
    if args.junit is not None:
        _write_atomic(args.junit, junit_xml(results))
    if args.json:
        env.stdout.write((many_to_json(results) if args.all else to_json(results[0])) + "\n")
    else:
        env.stdout.write((render_many(results) if args.all else render_text(results[0])) + "\n")


def read_credentials(env: Environment, stdin: TextIO | None = None) -> Credentials:
    """From PROBE_EMAIL / PROBE_PASSWORD / PROBE_TOTP_SECRET, else a prompt; never from argv."""
    stdin = stdin or sys.stdin
    values = {k: env.env.get(k, "") for k in ("PROBE_EMAIL", "PROBE_PASSWORD", "PROBE_TOTP_SECRET")}
    missing = [k for k in ("PROBE_EMAIL", "PROBE_PASSWORD") if not values[k]]
    if missing and not stdin.isatty():
        raise UsageError(f"set {' and '.join(missing)} in the environment (credentials are never read from argv)")
    if not values["PROBE_EMAIL"]:
        env.stderr.write("Email: ")
        env.stderr.flush()
        values["PROBE_EMAIL"] = stdin.readline().strip()
    if not values["PROBE_PASSWORD"]:
        values["PROBE_PASSWORD"] = getpass.getpass("Password: ", stream=env.stderr)
    if not values["PROBE_TOTP_SECRET"] and missing:
        values["PROBE_TOTP_SECRET"] = getpass.getpass("TOTP secret (empty if none): ", stream=env.stderr)
    secret = values["PROBE_TOTP_SECRET"].replace(" ", "").upper()
    if secret:
        try:
            pyotp.TOTP(secret).now()
        except (ValueError, binascii.Error):
            raise UsageError("PROBE_TOTP_SECRET is not a base32 TOTP secret of 112 bits or more") from None
    return Credentials(
        email=values["PROBE_EMAIL"], password=values["PROBE_PASSWORD"], totp=OtpSource(secret) if secret else None
    )


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--url needs an http(s) URL with a host, got {url!r}")
    return url


def _diagnose(args: argparse.Namespace, env: Environment) -> ExitStatus:
    url = _check_url(args.url)
    credentials = read_credentials(env)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
    options = RunOptions(out=args.out, retry=RetryPolicy())

    async def diagnose() -> Result:
        async with BrowserSession(headed=args.headed, env=env.env) as session:
            return await diagnose_url(url, credentials, session, options, device=args.device)

    result = asyncio.run(diagnose())
    env.stdout.write((to_json(result) if args.json else render_text(result)) + "\n")
    return ExitStatus.OK if result.verdict == "ok" else ExitStatus.MISMATCH


def _classify(args: argparse.Namespace, env: Environment) -> ExitStatus:
    # The file is read (and its secrets registered) before a browser starts.
    saved = load_saved(args.path)

    async def classify() -> Result:
        async with BrowserSession(env=env.env) as session:
            return await classify_saved(saved, session)

    result = asyncio.run(classify())
    env.stdout.write((to_json(result) if args.json else render_text(result)) + "\n")
    return ExitStatus.OK if result.verdict == "ok" else ExitStatus.MISMATCH


def _reset(args: argparse.Namespace, env: Environment) -> ExitStatus:
    if not args.profile.is_dir():
        raise UsageError(f"no browser profile folder at {args.profile}")
    profile = load_profile()
    origins = [f"https://{host}" for host in profile.marketplace_hosts] + [_check_url(u) for u in args.origin or ()]

    async def reset() -> None:
        async with BrowserSession(env=env.env) as session:
            await reset_profile(args.profile, origins, session)

    asyncio.run(reset())
    env.stdout.write(f"cleared cookies, cache and site data ({len(origins)} origins) in {args.profile}\n")
    return ExitStatus.OK


def _list(env: Environment) -> ExitStatus:
    for s in all_scenarios():
        env.stdout.write(f"{s.name:<28} {s.expect.verdict.value:<28} {s.title}\n")
    return ExitStatus.OK


def _mock(args: argparse.Namespace, env: Environment) -> ExitStatus:
    import secrets

    from fixtures.mock_site import ADMIN_PREFIX, JP, US, MockServer

    scenario = load_scenario(args.scenario or "ok")
    token = secrets.token_urlsafe(24)
    server = MockServer(scenario.site, host=args.bind, port=args.port, admin_token=token)
    try:
        server.start()
    except OSError as exc:
        raise InfraError(f"cannot listen on {args.bind}:{args.port}: {exc.strerror or exc}") from exc
    except RuntimeError as exc:
        raise InfraError(str(exc)) from exc
    env.stdout.write(
        f"mock Seller Central (accounts from scenario {scenario.name})\n"
        f"  Japan:  {server.url(JP)}\n"
        f"  US:     {server.url(US)}\n"
        f"  admin:  PUT {server.origin(JP.host)}{ADMIN_PREFIX}/state  (Authorization: Bearer {token})\n"
        "Ctrl-C stops it.\n"
    )
    env.stdout.flush()
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return ExitStatus.OK


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    env = env or Environment()
    try:
        args = build_parser().parse_args(argv)
        probe_log.configure(args.verbose, stream=env.stderr)
        handlers: dict[str, Callable[[], ExitStatus]] = {
            "run": lambda: _run(args, env),
            "list": lambda: _list(env),
            "diagnose": lambda: _diagnose(args, env),
            "classify": lambda: _classify(args, env),
            "reset": lambda: _reset(args, env),
            "mock": lambda: _mock(args, env),
        }
        return handlers[args.command]()
    except UsageError as exc:
        env.stderr.write(f"probe: error: {exc}\n")
        return ExitStatus.USAGE
    except InfraError as exc:
        env.stderr.write(f"probe: failed: {exc}\n")
        return ExitStatus.INFRA
    except KeyboardInterrupt:
        env.stderr.write("probe: interrupted\n")
        return ExitStatus.INTERRUPTED
