"""``probe ...``: a thin shell that parses, calls the library, renders, and maps to an exit code."""

from __future__ import annotations

import argparse
import asyncio
import binascii
import contextlib
import difflib
import enum
import getpass
import json
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import time
import traceback
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, TypeVar
from urllib.parse import urlsplit

import pyotp
from playwright.async_api import Error as PlaywrightError

from . import __version__
from . import log as probe_log
from .browser import DEVICES, NO_PROFILE_REMOTELY, BrowserSession, check_endpoint
from .diagnosis import RetryPolicy
from .errors import InfraError, UsageError
from .evidence import make_private_dir
from .fleet import Shard, parse_shard
from .flow import Credentials
from .otp import OtpSource
from .profile import load_profile
from .remedies import SIGN_IN_HOSTS
from .report import Result, junit_xml, many_to_json, render_many, render_text, to_json
from .runner import RunOptions, diagnose_url, reset_profile
from .saved import classify_saved, load_saved

if TYPE_CHECKING:
    from .scenarios import Scenario

T = TypeVar("T")


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
    stdin: TextIO = field(default_factory=lambda: sys.stdin)


EXIT_CODES = """\
exit codes:
  0  as expected (run), signed in (diagnose, classify), done
  1  a verdict differs from its expectation, or the sign-in failed;
     reproduce: the likeliest cause was not reproduced; search: no scenario matched
  2  bad input: a usage error, a bad scenario or file (one line on stderr)
  3  the probe's own failure: no browser, the mock did not start
"""


def _epilog(examples: str) -> str:
    return f"examples:\n{examples.rstrip()}\n\n{EXIT_CODES}"


MAIN_EXAMPLES = """\
  probe list                                 the bundled scenarios
  probe run --scenario cookies               play one against the bundled mock
  probe run --all --junit report.xml         every scenario, JUnit XML for CI
  probe diagnose --url https://sellercentral.amazon.co.jp/
  probe reproduce case.yaml --html case.html a seller's report: causes, reproduction, reply
  probe help run                             the options of one command

Without a command, probe prints this help on stderr and exits with 2.
"""
RUN_EXAMPLES = """\
  probe run --scenario cookies               a bundled scenario by name
  probe run --scenario ./my_case.yaml --json a file; stdout is one JSON object
  probe run --scenario 'otp_*' --scenario ok names and globs, repeatable
  probe run -k 'otp and not sms'             names matching an expression (as pytest -k)
  probe run --all --workers 2 --junit report.xml --out artifacts/
"""
DIAGNOSE_EXAMPLES = """\
  export PROBE_EMAIL=seller@example.jp
  read -rs PROBE_PASSWORD && export PROBE_PASSWORD
  probe diagnose --url https://sellercentral.amazon.co.jp/ --out evidence/
  probe diagnose --url http://sellercentral.amazon.co.jp.localhost:8000/ --json
"""
ACCESS_EXAMPLES = """\
  export PROBE_EMAIL=staff@example.jp
  read -rs PROBE_PASSWORD && export PROBE_PASSWORD
  probe access --url https://sellercentral.amazon.co.jp/                 every tool the profile knows
  probe access --url https://sellercentral.amazon.co.jp/ --tool inventory --tool orders
  probe access --url http://sellercentral.amazon.co.jp.localhost:8000/ --json
"""
CLASSIFY_EXAMPLES = """\
  probe classify ~/Downloads/sellercentral.html
  probe classify ~/Downloads/sellercentral.mhtml
  probe classify ~/Downloads/sellercentral.amazon.co.jp.har --json
"""
RESET_EXAMPLES = """\
  probe reset --profile ~/.config/chromium   Seller Central and Amazon sign-in data only
  probe reset --profile ~/.config/chromium --origin staging.example.com
  probe reset --profile ~/.config/chromium --all-sites   every site (asks first on a terminal)
"""
LIST_EXAMPLES = """\
  probe list
  probe list -k otp --json
"""
REPRODUCE_EXAMPLES = """\
  probe reproduce case.yaml                  ranked causes, reproductions on the mock, a reply draft
  probe reproduce case.yaml --html case.html a case page to read and forward (screenshots inside)
  probe reproduce case.yaml --json --out evidence/
  probe reproduce case.yaml --no-run         rank and draft only; no browser unless files are attached

case.yaml holds what the seller said, for example:
  says: スマホからは入れましたが、PCだとログイン画面に戻されます
  seen: セッションの有効期限が切れました
  device: desktop
"""
SEARCH_EXAMPLES = """\
  probe search コードが届かない
  probe search "logged in on my phone but not on the PC" --json
"""
FLEET_EXAMPLES = """\
  probe fleet accounts.yaml                  every account, a table of verdicts
  probe fleet accounts.yaml --json-lines     one JSON object per account, as each finishes
  probe fleet accounts.yaml --junit fleet.xml --workers 8 --per-marketplace 3
  probe fleet accounts.yaml --shard 2/4      the second of four stable shards (a CI matrix)
  probe fleet accounts.yaml --connect ws://grid.internal:3000/   on a Playwright browser server

accounts.yaml names where each secret comes from, never the secret:
  accounts:
    - name: sakura-zakka
      marketplace: jp
      email: sakura.zakka@example.jp
      password: {env: SAKURA_PASSWORD}
      totp_secret: {file: secrets/sakura.totp}     # mode 0600
    - name: kyoto-tea
      marketplace: jp
      email: kyoto.tea@example.jp
      password: {keyring: {service: sellercentral, username: kyoto.tea@example.jp}}
"""
SERVE_EXAMPLES = """\
  probe serve --fleet accounts.yaml                        on 127.0.0.1:9160
  probe serve --fleet accounts.yaml --port 9160 --bind 0.0.0.0
  curl 'http://127.0.0.1:9160/probe?target=sakura-zakka'   one check, Prometheus text
  curl http://127.0.0.1:9160/metrics                       the exporter's own metrics
"""
MOCK_EXAMPLES = """\
  probe mock                                 on port 8000, the accounts of scenario ok
  probe mock --port 0 --scenario otp_wrong_code
"""


def _reset_description() -> str:
    hosts = sorted(load_profile().marketplace_hosts) + list(SIGN_IN_HOSTS)
    listed = "\n".join(f"  {h}" for h in hosts)
    return (
        "Delete the cookies, HTTP cache entries, Cache Storage and site data of the Seller Central\n"
        "and Amazon sign-in hosts in a Chromium profile (and of their *.localhost stand-ins used by\n"
        "the mock); other sites' cookies, cache and data are kept. Close the browser first.\n\n"
        f"hosts:\n{listed}"
    )


class _Parser(argparse.ArgumentParser):
    """Errors as ``UsageError`` (one line), with suggestions for misspelled options and choices."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)
        self._seen: list[str] = []

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self._seen = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        unknown = unknown_option(self, self._seen)
        if unknown is not None:
            raise UsageError(unknown)
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if choice is not None:
            options = re.findall(r"'([^']*)'", choice.group(2))
            close = difflib.get_close_matches(choice.group(1), options, n=1)
            if close:
                message += f" (did you mean {close[0]}?)"
        raise UsageError(message)


def _known(parser: argparse.ArgumentParser, token: str) -> bool:
    actions = parser._option_string_actions
    if token.startswith("--"):
        name = token.split("=", 1)[0]
        longs = [o for o in actions if o.startswith("--")]
        return name in actions or sum(o.startswith(name) for o in longs) == 1
    return token[:2] in actions


def unknown_option(
    parser: argparse.ArgumentParser, argv: Sequence[str], *others: argparse.ArgumentParser
) -> str | None:
    """ "unknown option --scenaro (did you mean --scenario?)" for the first option no parser knows."""
    parsers = [parser, *others]
    for token in argv:
        if token == "--":
            break
        if not token.startswith("-") or token == "-" or re.fullmatch(r"-\d+(\.\d*)?", token):
            continue
        if any(_known(p, token) for p in parsers):
            continue
        name = token.split("=", 1)[0]
        flags = sorted({o for p in parsers for o in p._option_string_actions if o.startswith("--")})
        close = difflib.get_close_matches(name, flags, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        where = f" for `{parser.prog}`" if parser.prog != "probe" else ""
        return f"unknown option {name}{where}{hint}"
    return None


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="probe",
        description="Diagnose why a Seller Central (Japan) sign-in fails.",
        epilog=_epilog(MAIN_EXAMPLES),
    )
    parser.add_argument("--version", action="version", version=f"probe {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log each phase (-vv: debug)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, help: str, examples: str, description: str | None = None) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = commands.add_parser(
            name, help=help, description=description or help[:1].upper() + help[1:] + ".", epilog=_epilog(examples)
        )
        # -v is accepted after the command too (`probe run -v`), and adds to one given before it.
        sub.add_argument(
            "-v", "--verbose", dest="verbose_sub", action="count", default=0, help="log each phase (-vv: debug)"
        )
        return sub

    run = command("run", "play scenarios against the bundled mock", RUN_EXAMPLES)
    which = run.add_mutually_exclusive_group()
    which.add_argument(
        "--scenario",
        action="append",
        metavar="NAME|PATH|GLOB",
        help="a scenario name, a YAML file or a glob such as 'otp_*' (repeatable)",
    )
    which.add_argument("--all", action="store_true", help="every bundled scenario, with a confusion table")
    run.add_argument(
        "-k", metavar="EXPR", dest="keyword", help="only scenarios whose name matches, e.g. 'otp and not sms'"
    )
    run.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    run.add_argument("--junit", metavar="FILE", type=Path, help="write JUnit XML here")
    run.add_argument("--out", metavar="DIR", type=Path, help="keep artifacts (screenshots, log, result.json) here")
    run.add_argument("--workers", metavar="N", type=_positive, default=1, help="scenarios at a time (default 1)")
    run.add_argument("--headed", action="store_true", help="show the browser window")
    run.add_argument("--connect", metavar="WS_URL", type=_endpoint, help="use a Playwright browser server")
    run.add_argument(
        "--shard", metavar="I/N", type=_shard, help="only shard I of N (stable by scenario name; for CI matrices)"
    )

    diagnose = command("diagnose", "classify a live sign-in on any target", DIAGNOSE_EXAMPLES)
    diagnose.add_argument(
        "--url", required=True, help="where the sign-in starts, e.g. https://sellercentral.amazon.co.jp/"
    )
    diagnose.add_argument("--device", choices=sorted(DEVICES), default="desktop", help="browser profile to emulate")
    diagnose.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    diagnose.add_argument("--out", metavar="DIR", type=Path, help="keep artifacts here")
    diagnose.add_argument("--headed", action="store_true", help="show the browser window")
    diagnose.add_argument("--connect", metavar="WS_URL", type=_endpoint, help="use a Playwright browser server")
    diagnose.add_argument(
        "--allow-changes",
        action="store_true",
        help="let remedies change the account to verify them (turn 2-step verification on, set a new password)",
    )

    access = command("access", "which Seller Central tools a user may open, after signing in", ACCESS_EXAMPLES)
    access.add_argument(
        "--url", required=True, help="where the sign-in starts, e.g. https://sellercentral.amazon.co.jp/"
    )
    access.add_argument(
        "--tool",
        action="append",
        metavar="NAME",
        help=f"a tool to open: {', '.join(load_profile().tools)} (repeatable; default: all)",
    )
    access.add_argument("--device", choices=sorted(DEVICES), default="desktop", help="browser profile to emulate")
    access.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    access.add_argument("--out", metavar="DIR", type=Path, help="keep artifacts here")
    access.add_argument("--headed", action="store_true", help="show the browser window")

    classify = command(
        "classify", "the verdict from a page a customer saved (HTML, MHTML) or a HAR they exported", CLASSIFY_EXAMPLES
    )
    classify.add_argument("path", metavar="PATH", type=Path, help="a saved page (.html, .mhtml) or a HAR file")
    classify.add_argument("--json", action="store_true", help="print one JSON object on stdout")

    reset = command(
        "reset",
        "delete Seller Central's cookies, cache and site data in a browser profile",
        RESET_EXAMPLES,
        description=_reset_description(),
    )
    reset.add_argument("--profile", metavar="DIR", type=Path, required=True, help="a Chromium user data folder")
    reset.add_argument(
        "--origin",
        action="append",
        metavar="HOST|URL",
        help="also this host's data, e.g. staging.example.com (repeatable)",
    )
    reset.add_argument(
        "--all-sites", action="store_true", help="every site's cookies, the whole cache, and site data (asks first)"
    )
    reset.add_argument("--yes", action="store_true", help="do not ask before --all-sites")

    reproduce = command(
        "reproduce",
        "support mode: a seller's report in; ranked causes, reproductions and a reply draft out",
        REPRODUCE_EXAMPLES,
    )
    reproduce.add_argument("report", metavar="REPORT", type=Path, help="the seller's report (YAML or JSON)")
    reproduce.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    reproduce.add_argument("--out", metavar="DIR", type=Path, help="keep the reproductions' artifacts here")
    reproduce.add_argument("--html", metavar="FILE", type=Path, help="write a self-contained case page here")
    reproduce.add_argument("--no-run", action="store_true", help="rank and draft the reply without reproducing")
    reproduce.add_argument(
        "--workers", metavar="N", type=_positive, default=2, help="reproductions at a time (default 2)"
    )
    reproduce.add_argument("--headed", action="store_true", help="show the browser window")

    search = command("search", "the bundled scenarios ranked for a phrase", SEARCH_EXAMPLES)
    search.add_argument("words", metavar="WORDS", nargs="+", help="what the seller said, in Japanese or English")
    search.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    search.add_argument("--limit", metavar="N", type=_positive, default=10, help="at most N scenarios (default 10)")

    listing = command("list", "list the bundled scenarios", LIST_EXAMPLES)
    listing.add_argument("-k", metavar="EXPR", dest="keyword", help="only scenarios whose name matches")
    listing.add_argument("--json", action="store_true", help="name, title (ja), description (en), expected verdict")

    mock = command("mock", "serve the mock Seller Central for a person to click through", MOCK_EXAMPLES)
    mock.add_argument("--port", type=_port, default=8000, help="port (default 8000; 0 picks a free one)")
    mock.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    mock.add_argument("--scenario", metavar="NAME|PATH", help="load this scenario's accounts (default: ok)")

    fleet = command("fleet", "check that each account of an agency's fleet file can sign in", FLEET_EXAMPLES)
    fleet.add_argument(
        "file", metavar="FILE", type=Path, help="the fleet file (YAML): accounts and their secrets' places"
    )
    fleet.add_argument("--json-lines", action="store_true", help="one JSON object per account on stdout")
    fleet.add_argument("--junit", metavar="FILE", type=Path, help="write JUnit XML here")
    fleet.add_argument("--workers", metavar="N", type=_positive, default=4, help="accounts at a time (default 4)")
    fleet.add_argument(
        "--per-marketplace",
        metavar="N",
        type=_positive,
        default=3,
        help="at most N at a time per marketplace (default 3)",
    )
    fleet.add_argument("--connect", metavar="WS_URL", type=_endpoint, help="use a Playwright browser server")
    fleet.add_argument("--shard", metavar="I/N", type=_shard, help="only shard I of N (stable by account name)")
    fleet.add_argument("--device", choices=sorted(DEVICES), default="desktop", help="browser profile to emulate")
    fleet.add_argument(
        "--out", metavar="DIR", type=Path, help="keep each account's artifacts in DIR/ACCOUNT (log, result.json, ...)"
    )

    serve = command(
        "serve", "a Prometheus exporter: /probe?target=ACCOUNT signs in and answers metrics", SERVE_EXAMPLES
    )
    serve.add_argument("--fleet", metavar="FILE", type=Path, required=True, help="the fleet file (YAML)")
    serve.add_argument("--port", type=_port, default=9160, help="port (default 9160; 0 picks a free one)")
    serve.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--workers", metavar="N", type=_positive, default=4, help="checks at a time (default 4)")
    serve.add_argument(
        "--per-marketplace",
        metavar="N",
        type=_positive,
        default=3,
        help="at most N at a time per marketplace (default 3)",
    )
    serve.add_argument("--connect", metavar="WS_URL", type=_endpoint, help="use a Playwright browser server")
    serve.add_argument("--device", choices=sorted(DEVICES), default="desktop", help="browser profile to emulate")

    helper = command("help", "show the help of probe or of one command", "  probe help\n  probe help run\n")
    helper.add_argument("topic", metavar="COMMAND", nargs="?", help="a command")
    return parser


def _shard(value: str) -> Shard:
    try:
        return parse_shard(value)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[-1]) from None


def _endpoint(value: str) -> str:
    try:
        return check_endpoint(value)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--connect ")) from None


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def _port(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{number} is not a port: 0 to 65535 (0 picks a free one)")
    return number


# -- -k expressions, as pytest's: substrings of the name with and, or, not and parentheses.


def keyword_matcher(expression: str) -> Callable[[str], bool]:
    tokens = re.findall(r"\(|\)|[^\s()]+", expression)
    position = 0

    def fail(message: str) -> NoReturn:
        raise UsageError(f"-k {expression!r}: {message}")

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        token = peek()
        if token is None:
            fail("the expression ends too early")
        position += 1
        return token

    def either() -> Callable[[str], bool]:
        parts = [both()]
        while peek() == "or":
            take()
            parts.append(both())
        return lambda name: any(p(name) for p in parts)

    def both() -> Callable[[str], bool]:
        parts = [negated()]
        while peek() == "and":
            take()
            parts.append(negated())
        return lambda name: all(p(name) for p in parts)

    def negated() -> Callable[[str], bool]:
        token = take()
        if token == "not":
            inner = negated()
            return lambda name: not inner(name)
        if token == "(":
            inner = either()
            if take() != ")":
                fail("a '(' is not closed")
            return inner
        if token in ("and", "or", ")"):
            fail(f"unexpected {token!r}")
        word = token.lower()
        return lambda name: word in name.lower()

    if not tokens:
        return lambda name: True
    matcher = either()
    if peek() is not None:
        fail(f"unexpected {peek()!r}")
    return matcher


# -- output places, checked before anything runs


def _file_ancestor(path: Path) -> Path | None:
    for parent in [path, *path.parents]:
        if parent.exists() and not parent.is_dir():
            return parent
    return None


def _check_out(path: Path, flag: str = "--out") -> None:
    """A folder for artifacts: created if missing, and writable."""
    blocker = _file_ancestor(path)
    if blocker == path:
        raise UsageError(f"{flag} {path}: is a file, not a folder")
    if blocker is not None:
        raise UsageError(f"{flag} {path}: {blocker} is a file, not a folder")
    try:
        make_private_dir(path)  # what the probe creates is mode 0700
        with tempfile.TemporaryDirectory(dir=path, prefix=".probe-check-"):
            pass
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot write there: {exc.strerror or exc}") from None


def _check_junit(path: Path) -> None:
    if path.is_dir():
        raise UsageError(f"--junit {path}: is a folder; name a file, such as {path / 'junit.xml'}")
    parent = path.parent
    blocker = _file_ancestor(parent)
    if blocker is not None:
        raise UsageError(f"--junit {path}: {blocker} is a file, not a folder")
    if not parent.is_dir():
        raise UsageError(f"--junit {path}: no such folder {parent}")
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".probe-check-"):
            pass
    except OSError as exc:
        raise UsageError(f"--junit {path}: cannot write there: {exc.strerror or exc}") from None


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InfraError(f"cannot write {path}: {exc.strerror or exc}") from None


# -- colour and progress


def _colour(stream: TextIO, env: Mapping[str, str]) -> bool:
    """Colour only on a terminal, never with NO_COLOR set (https://no-color.org) or TERM=dumb."""
    return _isatty(stream) and not env.get("NO_COLOR") and env.get("TERM") != "dumb"


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


RED, GREEN, BOLD, RESET = "\x1b[31m", "\x1b[32m", "\x1b[1m", "\x1b[0m"


def paint(text: str, enabled: bool) -> str:
    """A mismatch in bold red, a match mark in green; lines otherwise as they are."""
    if not enabled:
        return text
    lines = []
    for line in text.split("\n"):
        if line.startswith("✗ ") or (line.startswith("verdict ") and line.endswith("✗")):
            line = f"{BOLD}{RED}{line}{RESET}"
        elif line.startswith("✓ ") or (line.startswith("verdict ") and line.endswith("✓")):
            line = line.replace("✓", f"{GREEN}✓{RESET}", 1)
        lines.append(line)
    return "\n".join(lines)


def result_line(result: Result) -> str:
    mark = "✓" if result.match else "✗"
    got = result.verdict if result.match else f"{result.verdict}, expected {result.expected}"
    return f"{mark} {result.scenario}  {got}  {result.duration_s:.1f} s"


class Progress:
    """One line per finished scenario on stderr; on a terminal also a live line of the running ones."""

    def __init__(self, total: int, stream: TextIO, env: Mapping[str, str]) -> None:
        self.total, self.stream = total, stream
        self.live = _isatty(stream)
        self.colour = _colour(stream, env)
        self.running: list[str] = []
        self.finished = 0

    def _write(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.stream.write(text)
            self.stream.flush()

    def _status(self) -> str:
        if not self.live or not self.running:
            return ""
        width = shutil.get_terminal_size((80, 20)).columns
        line = f"[{self.finished}/{self.total}] running: {', '.join(self.running)}"
        return line[: max(10, width - 1)]

    def start(self, scenario: Scenario) -> None:
        self.running.append(scenario.name)
        if self.live:
            self._write(f"\r\x1b[K{self._status()}")

    def done(self, result: Result) -> None:
        with contextlib.suppress(ValueError):
            self.running.remove(result.scenario)
        self.finished += 1
        width = len(str(self.total))
        line = f"[{self.finished:>{width}}/{self.total}] {result_line(result)}"
        if self.colour:
            line = f"{BOLD}{RED}{line}{RESET}" if not result.match else line.replace("✓", f"{GREEN}✓{RESET}", 1)
        clear = "\r\x1b[K" if self.live else ""
        self._write(f"{clear}{line}\n{self._status()}")

    def close(self) -> None:
        if self.live:
            self._write("\r\x1b[K")


# -- commands


def _select(args: argparse.Namespace) -> tuple[list[Scenario], bool]:
    """The scenarios to run, and whether the output is the many-scenario form."""
    from .scenarios import all_scenarios, load_many

    if not (args.all or args.scenario or args.keyword is not None):
        raise UsageError("one of --scenario, --all or -k is required")
    scenarios = load_many(args.scenario) if args.scenario else all_scenarios()
    many = (
        args.all
        or args.keyword is not None
        or len(args.scenario) > 1
        or any("*" in s or "?" in s for s in args.scenario)
    )
    if args.keyword is not None:
        matches = keyword_matcher(args.keyword)
        scenarios = [s for s in scenarios if matches(s.name)]
        if not scenarios:
            raise UsageError(f"-k {args.keyword!r} matches no scenario (see `probe list`)")
    seen: set[str] = set()
    for scenario in scenarios:
        if scenario.name in seen:  # results and artifacts are kept by name
            raise UsageError(f"two of the chosen scenarios are named {scenario.name!r}: rename one (its `name:`)")
        seen.add(scenario.name)
    return scenarios, bool(many)


def _first_line(exc: BaseException) -> str:
    return next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)[:200]


@contextlib.asynccontextmanager
async def _on_interrupt(told: Callable[[], None]) -> AsyncIterator[None]:
    """Ctrl-C cancels the run (as asyncio.run does) and is remembered, so the run ends as interrupted."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()

    interrupted = False

    def on_sigint() -> None:
        nonlocal interrupted
        interrupted = True
        told()
        if task is not None:
            task.cancel()

    def quiet_after_interrupt(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        # What the browser's driver leaves behind as it dies of the same Ctrl-C is noise.
        if not interrupted:
            loop.default_exception_handler(context)

    try:
        loop.add_signal_handler(signal.SIGINT, on_sigint)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
        yield
        return
    loop.set_exception_handler(quiet_after_interrupt)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)


def _interruptible(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run``, where Ctrl-C is always ``KeyboardInterrupt`` (even if the browser's driver dies of it first)."""
    interrupted = False

    def interrupt() -> None:
        nonlocal interrupted
        interrupted = True

    async def run() -> T:
        async with _on_interrupt(interrupt):
            return await make()

    try:
        return asyncio.run(run())
    except (asyncio.CancelledError, Exception):
        if interrupted:
            raise KeyboardInterrupt from None
        raise


def _run(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from .harness import play, play_all

    # Input and output places are checked before anything starts, so a mistake costs nothing.
    scenarios, many = _select(args)
    scenarios, many = _shard_and_remote(args, env, scenarios, many)
    if args.junit is not None:
        _check_junit(args.junit)
    if args.out is not None:
        _check_out(args.out)
    finished: dict[str, Result] = {}
    progress = Progress(len(scenarios), env.stderr, env.env) if many else None

    def done(result: Result) -> None:
        finished[result.scenario] = result
        if progress is not None:
            progress.done(result)

    options = RunOptions(
        out=args.out,
        workers=args.workers,
        on_start=progress.start if progress is not None else None,
        on_done=done,
    )

    interrupted = False

    def interrupt() -> None:
        nonlocal interrupted
        interrupted = True

    async def play_them() -> None:
        async with (
            _on_interrupt(interrupt),
            BrowserSession(headed=args.headed, env=env.env, connect=args.connect) as session,
        ):
            if many:
                await play_all(scenarios, session, options)
            else:
                done(await play(scenarios[0], session, options))

    started = time.perf_counter()
    stopped: BaseException | None = None
    try:
        asyncio.run(play_them())
    except (KeyboardInterrupt, asyncio.CancelledError):
        stopped = KeyboardInterrupt()
    except (InfraError, UsageError) as exc:
        # A UsageError raised while playing (a scenario the browser cannot play, such as a profile
        # on disk in a remote browser) is bad input, as everywhere else: exit 2, not the probe's failure.
        stopped = exc
    except Exception as exc:  # the browser or its driver went away mid-run (Chromium killed, ...)
        stopped = InfraError(f"the browser or its driver failed: {_first_line(exc)}")
    finally:
        if progress is not None:
            progress.close()
    if interrupted:
        # Ctrl-C on a terminal reaches the browser and its driver too: what they
        # raise while going away is the interruption, not a failure of their own.
        stopped = KeyboardInterrupt()
    wall_s = time.perf_counter() - started
    results = [finished[s.name] for s in scenarios if s.name in finished]
    not_run = [s.name for s in scenarios if s.name not in finished]
    if stopped is None:
        _render(args, env, results, many, wall_s)
        return ExitStatus.OK if all(r.match for r in results) else ExitStatus.MISMATCH
    # Interrupted, or the probe itself failed: what finished is still written, and what did not is said.
    if results or args.junit is not None:
        _render(args, env, results, many or bool(not_run and results), wall_s, not_run)
    kept = f"; results so far in {args.junit}" if args.junit is not None else ""
    tally = f"{len(results)} of {len(scenarios)} scenarios finished, {len(not_run)} not run{kept}"
    if isinstance(stopped, KeyboardInterrupt):
        env.stderr.write(f"probe: interrupted: {tally}\n")
        return ExitStatus.INTERRUPTED
    if isinstance(stopped, UsageError):
        env.stderr.write(f"probe: error: {_one_line(str(stopped))}\n")
        return ExitStatus.USAGE
    env.stderr.write(f"probe: failed: {_one_line(str(stopped))} ({tally})\n")
    return ExitStatus.INFRA


def _render(
    args: argparse.Namespace,
    env: Environment,
    results: list[Result],
    many: bool,
    wall_s: float | None = None,
    not_run: Sequence[str] = (),
) -> None:
    if args.junit is not None:
        _write_atomic(args.junit, junit_xml(results, not_run=not_run))
    if not results:
        return
    if args.json:
        text = many_to_json(results, wall_s=wall_s, not_run=len(not_run)) if many else to_json(results[0])
    else:
        text = render_many(results, wall_s=wall_s, not_run=len(not_run)) if many else render_text(results[0])
        text = paint(text, _colour(env.stdout, env.env))
    env.stdout.write(text + "\n")


def read_credentials(env: Environment, stdin: TextIO | None = None) -> Credentials:
    """From PROBE_EMAIL / PROBE_PASSWORD / PROBE_TOTP_SECRET, else a prompt; never from argv."""
    stdin = stdin or env.stdin
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


def _check_url(url: str, flag: str = "--url") -> str:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"{flag} {url!r}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{flag} needs an http(s) URL with a host, got {url!r}")
    if port == 0:
        raise UsageError(f"{flag} {url!r}: port 0 is not a port to connect to")
    return url


def _diagnose(args: argparse.Namespace, env: Environment) -> ExitStatus:
    url = _check_url(args.url)
    if args.out is not None:
        _check_out(args.out)
    credentials = read_credentials(env)
    options = RunOptions(out=args.out, retry=RetryPolicy(), allow_changes=args.allow_changes)

    async def diagnose() -> Result:
        async with BrowserSession(headed=args.headed, env=env.env, connect=args.connect) as session:
            return await diagnose_url(url, credentials, session, options, device=args.device)

    result = _interruptible(diagnose)
    text = to_json(result) if args.json else paint(render_text(result), _colour(env.stdout, env.env))
    env.stdout.write(text + "\n")
    return ExitStatus.OK if result.verdict == "ok" else ExitStatus.MISMATCH


def _access(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from .access import AccessReport, check_access, render_access, tool_paths

    url = _check_url(args.url)
    tool_paths(load_profile(), args.tool)  # an unknown tool is a usage error before any browser starts
    if args.out is not None:
        _check_out(args.out)
    credentials = read_credentials(env)
    options = RunOptions(out=args.out, retry=RetryPolicy())

    async def access() -> AccessReport:
        async with BrowserSession(headed=args.headed, env=env.env) as session:
            return await check_access(url, credentials, session, options, tools=args.tool, device=args.device)

    report = _interruptible(access)
    text = json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if args.json else render_access(report)
    env.stdout.write(text + "\n")
    return ExitStatus.OK if report.all_allowed else ExitStatus.MISMATCH


def _classify(args: argparse.Namespace, env: Environment) -> ExitStatus:
    # The file is read (and its secrets registered) before a browser starts.
    saved = load_saved(args.path)

    async def classify() -> Result:
        async with BrowserSession(env=env.env) as session:
            return await classify_saved(saved, session)

    result = _interruptible(classify)
    text = to_json(result) if args.json else paint(render_text(result), _colour(env.stdout, env.env))
    env.stdout.write(text + "\n")
    return ExitStatus.OK if result.verdict == "ok" else ExitStatus.MISMATCH


def _host_of(value: str) -> str:
    """``--origin`` takes a host (staging.example.com) or a URL (https://staging.example.com/ap/signin)."""
    text = value if "://" in value else f"https://{value}"
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise UsageError(f"--origin {value!r}: {exc}") from None
    host = (parts.hostname or "").rstrip(".")
    if not re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\]|[0-9a-f:.]+", host):
        raise UsageError(f"--origin {value!r}: not a host name or an http(s) URL")
    return host


def _profile_in_use(folder: Path) -> str | None:
    """Who holds a Chromium profile: its SingletonLock names "host-pid" while a browser runs."""
    lock = folder / "SingletonLock"
    try:
        target = os.readlink(lock)
    except OSError:
        return None
    host, _, pid = target.rpartition("-")
    if host != socket.gethostname():
        return f"a browser on {host or 'another machine'}"
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return None  # a stale lock: Chromium clears it itself
    except (ValueError, PermissionError):
        pass
    return f"a running browser (pid {pid})"


def _confirm(env: Environment, question: str) -> bool:
    env.stderr.write(f"{question} [y/N] ")
    env.stderr.flush()
    return env.stdin.readline().strip().lower() in ("y", "yes")


def _reset(args: argparse.Namespace, env: Environment) -> ExitStatus:
    folder: Path = args.profile
    if not folder.is_dir():
        raise UsageError(f"no browser profile folder at {folder}")
    if not ((folder / "Local State").is_file() or (folder / "Default").is_dir()):
        raise UsageError(
            f"{folder} is not a Chromium profile (no 'Local State' file, no 'Default' folder);"
            " name Chromium's user data folder, such as ~/.config/chromium"
        )
    holder = _profile_in_use(folder)
    if holder is not None:
        raise UsageError(f"the profile {folder} is in use by {holder}: close the browser, then try again")
    profile = load_profile()
    hosts = [*profile.marketplace_hosts, *SIGN_IN_HOSTS]
    hosts += [h + suffix for h in list(hosts) for suffix in profile.test_suffixes]
    hosts += [_host_of(o) for o in args.origin or ()]
    question = f"Delete the cookies, cache and site data of EVERY site in {folder}?"
    if args.all_sites and not args.yes and _isatty(env.stdin) and not _confirm(env, question):
        env.stderr.write("probe: nothing deleted\n")
        return ExitStatus.MISMATCH

    async def reset() -> int:
        async with BrowserSession(env=env.env) as session:
            return await reset_profile(folder, hosts, session, all_sites=args.all_sites)

    cookies = _interruptible(reset)
    what = "every site" if args.all_sites else f"{len(hosts)} Seller Central and sign-in hosts"
    env.stdout.write(f"cleared cookies ({cookies}), cache and site data of {what} in {folder}\n")
    return ExitStatus.OK


def _check_html(path: Path) -> None:
    if path.is_dir():
        raise UsageError(f"--html {path}: is a folder; name a file, such as {path / 'case.html'}")
    blocker = _file_ancestor(path.parent)
    if blocker is not None:
        raise UsageError(f"--html {path}: {blocker} is a file, not a folder")
    if not path.parent.exists():
        raise UsageError(f"--html {path}: no folder {path.parent}")


def _reproduce(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from .support.casepage import render_case_page
    from .support.report import load_report
    from .support.reproduce import Case, classify_attachments, rank_only, render_case, reproduce

    # The report, its attachments and the output places are checked before a browser starts.
    loaded = load_report(args.report)
    if args.html is not None:
        _check_html(args.html)
    if args.out is not None:
        _check_out(args.out)
    for path in loaded.attachment_paths():
        load_saved(path)

    def finish(case: Case) -> ExitStatus:
        if args.html is not None:
            _write_atomic(args.html, render_case_page(loaded.report, case.candidates, case.questions, case.reply))
        text = json.dumps(case.to_dict(), ensure_ascii=False, indent=2) if args.json else render_case(case)
        env.stdout.write(text + "\n")
        top = case.candidates[0] if case.candidates else None
        return ExitStatus.MISMATCH if top is not None and top.reproduced is False else ExitStatus.OK

    if args.no_run and not loaded.report.attachments:
        return finish(rank_only(loaded))

    async def run(out: Path | None) -> Case:
        async with BrowserSession(headed=args.headed, env=env.env) as session:
            if args.no_run:
                return rank_only(loaded, await classify_attachments(loaded, session))
            return await reproduce(loaded, session, out=out, workers=args.workers)

    if args.out is None and args.html is not None and not args.no_run:
        # The case page embeds the screenshots: they live in a scratch folder until it is written.
        with tempfile.TemporaryDirectory(prefix="probe-case-") as scratch:
            return finish(_interruptible(lambda: run(Path(scratch))))
    return finish(_interruptible(lambda: run(args.out)))


def _search(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from .support.search import search

    words = " ".join(args.words).strip()
    if not words:
        raise UsageError("search: give some words, such as: probe search コードが届かない")
    hits = search(words, limit=args.limit)
    if args.json:
        payload = {
            "query": words,
            "scenarios": [
                {
                    "name": h.scenario,
                    "title": h.title,
                    "score": round(h.score, 2),
                    "verdict": h.verdict,
                    "why": list(h.why),
                }
                for h in hits
            ],
        }
        env.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    elif hits:
        width = max(len(h.scenario) for h in hits)
        for h in hits:
            env.stdout.write(f"{h.score:5.1f}  {h.scenario:<{width}}  {h.title}\n")
    else:
        env.stderr.write(f"probe: no scenario matches {words!r}; see `probe list`\n")
    return ExitStatus.OK if hits else ExitStatus.MISMATCH


def _list(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from .scenarios import all_scenarios

    scenarios = all_scenarios()
    if args.keyword is not None:
        matches = keyword_matcher(args.keyword)
        scenarios = [s for s in scenarios if matches(s.name)]
    if args.json:
        rows = [
            {
                "name": s.name,
                "title": s.title,
                "description": " ".join(s.description.split()),
                "expected": s.expect.verdict.value if s.expect else None,
            }
            for s in scenarios
        ]
        env.stdout.write(json.dumps({"scenarios": rows}, ensure_ascii=False, indent=2) + "\n")
        return ExitStatus.OK
    env.stdout.write(f"{'NAME':<28} {'EXPECTED VERDICT':<28} TITLE\n")
    for s in scenarios:
        expected = s.expect.verdict.value if s.expect else "-"
        env.stdout.write(f"{s.name:<28} {expected:<28} {s.title}\n")
    return ExitStatus.OK


def _mock(args: argparse.Namespace, env: Environment) -> ExitStatus:
    import secrets

    from fixtures.mock_site import ADMIN_PREFIX, JP, US, MockServer

    from .scenarios import load_scenario

    scenario = load_scenario(args.scenario or "ok")
    token = secrets.token_urlsafe(24)
    server = MockServer(scenario.site, host=args.bind, port=args.port, admin_token=token)
    try:
        server.start()
    except OSError as exc:
        raise InfraError(f"cannot listen on {args.bind}:{args.port}: {exc.strerror or exc}") from exc
    except (RuntimeError, ValueError) as exc:
        raise InfraError(str(exc)) from exc
    env.stdout.write(
        f"mock Seller Central (accounts from scenario {scenario.name})\n"
        f"  Japan:  {server.url(JP)}\n"
        f"  US:     {server.url(US)}\n"
        f"  admin:  PUT {server.origin(JP.host)}{ADMIN_PREFIX}/state  (Authorization: Bearer {token})\n"
        f"{_mock_accounts(scenario)}"
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


def _mock_accounts(scenario: Scenario) -> str:
    """The mock's accounts, to sign in with (these are the mock's own, made-up credentials)."""
    lines = ["accounts (for `probe diagnose`: export PROBE_EMAIL, PROBE_PASSWORD, PROBE_TOTP_SECRET):"]
    for account in scenario.site.accounts:
        second = f"2-step {account.two_step}"
        if account.totp_secret:
            second += f", TOTP seed {account.totp_secret}"
        if account.two_step == "sms":
            second += f", texts to the phone ending {account.phone_last_digits}"
        lines.append(f"  {account.email}  password {account.password}  {second}  ({account.status})")
    return "\n".join(lines) + "\n"


def _shard_and_remote(
    args: argparse.Namespace, env: Environment, scenarios: list[Scenario], many: bool
) -> tuple[list[Scenario], bool]:
    """``--shard``: this shard's scenarios only. ``--connect``: a remote browser has no profile on disk."""
    if args.shard is not None:
        scenarios = args.shard.select(scenarios, lambda s: s.name)
        many = True
        if not scenarios:
            env.stderr.write(f"probe: shard {args.shard} holds none of the chosen scenarios\n")
    if args.connect:
        local = [s.name for s in scenarios if s.browser.persistent or s.browser.block_cookies]
        if local and not many:
            raise UsageError(f"scenario {local[0]}: {NO_PROFILE_REMOTELY}")
        if local:
            env.stderr.write(
                f"probe: --connect: not run, {len(local)} scenario(s) need a browser profile on disk,"
                f" which a remote browser does not have: {', '.join(local)}\n"
            )
            scenarios = [s for s in scenarios if s.name not in set(local)]
    return scenarios, many


def _fleet(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from .fleet import FleetOptions, FleetResult, check_fleet, fleet_junit, json_line, load_fleet, render_table

    # The file, its secrets and the output place are checked before a browser starts.
    fleet = load_fleet(args.file)
    if args.shard is not None:
        fleet = fleet.only(args.shard.select(fleet.names(), str))
    if args.junit is not None:
        _check_junit(args.junit)
    if args.out is not None:
        _check_out(args.out)
    fleet.check_secrets(env.env)
    finished: dict[str, FleetResult] = {}
    total = len(fleet.accounts)

    def done(result: FleetResult) -> None:
        finished[result.account.name] = result
        with contextlib.suppress(OSError, ValueError):
            if args.json_lines:
                env.stdout.write(json_line(result) + "\n")
                env.stdout.flush()
            else:
                what = result.verdict or f"error: {result.error}"
                env.stderr.write(
                    f"[{len(finished)}/{total}] {result.account.name}  {what}  {result.duration_s:.1f} s\n"
                )
                env.stderr.flush()

    options = FleetOptions(
        workers=args.workers, per_marketplace=args.per_marketplace, device=args.device, on_done=done, out=args.out
    )

    async def check() -> None:
        if not fleet.accounts:
            return
        # Images, fonts and media serve no verdict; with --out they are fetched for the screenshots.
        async with BrowserSession(env=env.env, connect=args.connect, skip_media=args.out is None) as session:
            await check_fleet(fleet, session, env.env, options)

    started = time.perf_counter()
    stopped: BaseException | None = None
    try:
        _interruptible(check)
    except KeyboardInterrupt as exc:
        stopped = exc
    except InfraError as exc:
        stopped = exc
    wall_s = time.perf_counter() - started
    results = [finished[a.name] for a in fleet.accounts if a.name in finished]
    not_run = [a.name for a in fleet.accounts if a.name not in finished]
    if args.junit is not None:
        _write_atomic(args.junit, fleet_junit(results, not_run=not_run))
    if not args.json_lines and (results or stopped is None):
        env.stdout.write(render_table(results, wall_s=wall_s) + "\n")
    if args.shard is not None and not fleet.accounts:
        env.stderr.write(f"probe: shard {args.shard} holds none of the accounts\n")
    if stopped is not None:
        tally = f"{len(results)} of {total} accounts checked, {len(not_run)} not run"
        if isinstance(stopped, KeyboardInterrupt):
            env.stderr.write(f"probe: interrupted: {tally}\n")
            return ExitStatus.INTERRUPTED
        env.stderr.write(f"probe: failed: {_one_line(str(stopped))} ({tally})\n")
        return ExitStatus.INFRA
    errors = [r for r in results if r.result is None]
    if errors:
        env.stderr.write(f"probe: failed: {len(errors)} account(s) not checked: {_one_line(errors[0].error or '')}\n")
        return ExitStatus.INFRA
    return ExitStatus.OK if all(r.ok for r in results) else ExitStatus.MISMATCH


def _serve(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from .exporter import Exporter, ExporterOptions, describe_browser, listen, serve
    from .fleet import load_fleet

    fleet = load_fleet(args.fleet)
    fleet.check_secrets(env.env)
    options = ExporterOptions(
        workers=args.workers, per_marketplace=args.per_marketplace, device=args.device, connect=args.connect
    )
    exporter = Exporter(fleet, env.env, options)
    sock = listen(args.bind, args.port)

    def ready(url: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            env.stdout.write(
                f"probe exporter on {url} ({len(fleet.accounts)} accounts, {describe_browser(options)})\n"
                f"  {url}/probe?target={fleet.accounts[0].name}\n"
                f"  {url}/metrics\n"
                "Ctrl-C stops it.\n"
            )
            env.stdout.flush()

    try:
        asyncio.run(serve(exporter, sock, ready))
    finally:
        sock.close()
    return ExitStatus.OK


def _help(parser: argparse.ArgumentParser, topic: str | None, env: Environment) -> ExitStatus:
    if topic is None:
        env.stdout.write(parser.format_help())
        return ExitStatus.OK
    commands = _subparsers(parser)
    if topic not in commands:
        close = difflib.get_close_matches(topic, list(commands), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UsageError(f"no command {topic!r}{hint}; see `probe help`")
    env.stdout.write(commands[topic].format_help())
    return ExitStatus.OK


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    args, extras = parser.parse_known_args(argv)
    if extras:
        sub = _subparsers(parser).get(args.command or "")
        unknown = unknown_option(sub, extras, parser) if sub is not None else unknown_option(parser, extras)
        raise UsageError(unknown or f"unrecognized arguments: {' '.join(extras)}")
    return args


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    env = env or Environment()
    verbose = 0
    try:
        parser = build_parser()
        try:
            # --help and --version print through sys.stdout and end in SystemExit.
            with contextlib.redirect_stdout(env.stdout), contextlib.redirect_stderr(env.stderr):
                args = _parse(parser, argv)
        except SystemExit as exc:
            return int(exc.code or 0) if isinstance(exc.code, int | None) else ExitStatus.USAGE
        verbose = args.verbose + getattr(args, "verbose_sub", 0)
        if args.command is None:
            env.stderr.write(parser.format_help())
            return ExitStatus.USAGE
        probe_log.configure(verbose, stream=env.stderr)
        handlers: dict[str, Callable[[], ExitStatus]] = {
            "run": lambda: _run(args, env),
            "list": lambda: _list(args, env),
            "diagnose": lambda: _diagnose(args, env),
            "access": lambda: _access(args, env),
            "classify": lambda: _classify(args, env),
            "reset": lambda: _reset(args, env),
            "reproduce": lambda: _reproduce(args, env),
            "search": lambda: _search(args, env),
            "mock": lambda: _mock(args, env),
            "fleet": lambda: _fleet(args, env),
            "serve": lambda: _serve(args, env),
            "help": lambda: _help(parser, args.topic, env),
        }
        return handlers[args.command]()
    except UsageError as exc:
        env.stderr.write(f"probe: error: {_one_line(str(exc))}\n")
        return ExitStatus.USAGE
    except InfraError as exc:
        env.stderr.write(f"probe: failed: {_one_line(str(exc))}\n")
        return ExitStatus.INFRA
    except KeyboardInterrupt:
        env.stderr.write("probe: interrupted\n")
        return ExitStatus.INTERRUPTED
    except PlaywrightError as exc:
        env.stderr.write(f"probe: failed: the browser or its driver failed: {_one_line(_first_line(exc))}\n")
        return ExitStatus.INFRA
    except RecursionError:
        env.stderr.write("probe: error: the input is nested too deeply\n")
        return ExitStatus.USAGE
    except BrokenPipeError:
        # The reader went away (`probe list | head`): what it wanted it got; say nothing more.
        _silence_stdout(env)
        return ExitStatus.OK
    except Exception as exc:
        # A bug of the probe: one line, and the traceback only when asked for (-vv).
        if verbose >= 2:
            traceback.print_exc(file=env.stderr)
        env.stderr.write(f"probe: failed: internal error: {type(exc).__name__}: {exc} (run with -vv for details)\n")
        return ExitStatus.INFRA


def _silence_stdout(env: Environment) -> None:
    """Point a closed standard output at /dev/null, so Python's own flush at exit stays quiet."""
    if env.stdout is not sys.stdout:
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
