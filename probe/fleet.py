"""An agency's accounts, checked concurrently: the fleet file, where its secrets come from, the checks, the outputs.

A fleet file names each account and says where its password and 2-step seed
come from; it never holds them::

    accounts:
      - name: sakura-zakka
        marketplace: jp
        email: sakura.zakka@example.jp
        password: {env: SAKURA_PASSWORD}
        totp_secret: {file: secrets/sakura.totp}          # mode 0600, else refused
      - name: kyoto-tea
        marketplace: jp
        email: kyoto.tea@example.jp
        password: {keyring: {service: sellercentral, username: kyoto.tea@example.jp}}
        url: https://sellercentral.amazon.co.jp/

Each account is one live sign-in, as ``probe diagnose`` does it, in its own
browser context and with its own secret registry; at most ``workers`` run at
once, and at most ``per_marketplace`` against one marketplace.

Also here: shards (``--shard I/N``), a stable split of named items for CI
matrices, and a generator of mock fleets for tests and benchmarks.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import difflib
import hashlib
import json
import re
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import pyotp
import yaml

from .browser import BrowserSession, ContextPool
from .diagnosis import RetryPolicy
from .errors import InfraError, UsageError
from .flow import Credentials
from .otp import OtpSource
from .profile import load_profile
from .redact import SECRETS, run_secrets
from .report import Result, junit_xml, render_text
from .runner import RunOptions, diagnose_url

T = TypeVar("T")

ACCOUNT_KEYS = ("name", "marketplace", "email", "password", "totp_secret", "url")
SECRET_FORMS = "{env: VAR}, {file: PATH} (mode 0600) or {keyring: {service: S, username: U}}"
DEFAULT_WORKERS = 4
DEFAULT_PER_MARKETPLACE = 3


class FleetFileError(UsageError):
    """The fleet file cannot be used (exit 2): one line naming the file and the account."""


class SecretError(UsageError):
    """A secret the fleet file points at cannot be read (exit 2)."""


# -- the fleet file


@dataclass(frozen=True)
class SecretRef:
    """Where a secret comes from; never the secret itself."""

    kind: Literal["env", "file", "keyring"]
    env: str = ""
    path: Path | None = None
    service: str = ""
    username: str = ""

    def describe(self) -> str:
        if self.kind == "env":
            return f"${self.env}"
        if self.kind == "file":
            return f"file {self.path}"
        return f"keyring {self.service}/{self.username}"

    def read(self, env: Mapping[str, str]) -> str:
        if self.kind == "env":
            value = env.get(self.env, "")
            if not value:
                raise SecretError(f"the environment variable {self.env} is not set")
            return value
        if self.kind == "file":
            assert self.path is not None
            return _read_private_file(self.path)
        return _read_keyring(self.service, self.username)


def _read_private_file(path: Path) -> str:
    try:
        info = path.stat()
    except OSError as exc:
        raise SecretError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise SecretError(f"{path} is not a file")
    if info.st_mode & 0o077:
        mode = stat.S_IMODE(info.st_mode)
        raise SecretError(f"{path} can be read by others (mode {mode:04o}): run chmod 600 {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    # One line: the newline an editor or `echo` adds is not part of the secret.
    value = text[:-1] if text.endswith("\n") else text
    value = value[:-1] if value.endswith("\r") else value
    if not value:
        raise SecretError(f"{path} is empty")
    return value


def _read_keyring(service: str, username: str) -> str:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:  # pragma: no cover - a dependency of the package
        raise SecretError("the keyring package is not installed (pip install keyring)") from None
    try:
        value = keyring.get_password(service, username)
    except KeyringError as exc:
        raise SecretError(f"keyring {service}/{username}: {_first_line(exc)}") from None
    except Exception as exc:  # a backend's own failure (D-Bus gone, a locked collection, ...)
        raise SecretError(f"keyring {service}/{username}: {type(exc).__name__}: {_first_line(exc)}") from None
    if not value:
        raise SecretError(f"the keyring has no secret for service {service!r}, user {username!r}")
    return value


@dataclass(frozen=True)
class FleetAccount:
    name: str
    marketplace: str
    email: str
    password: SecretRef
    url: str
    totp_secret: SecretRef | None = None

    def credentials(self, env: Mapping[str, str]) -> Credentials:
        """Read the secrets (registered with the current run's redactor) and make the sign-in's credentials."""
        password = self._read("password", self.password, env)
        seed = self._read("totp_secret", self.totp_secret, env) if self.totp_secret else ""
        SECRETS.add(password, seed)
        totp = None
        if seed:
            secret = seed.replace(" ", "").upper()
            SECRETS.add(secret)
            try:
                pyotp.TOTP(secret).now()
            except (ValueError, binascii.Error):
                raise SecretError(
                    f"account {self.name!r}: totp_secret ({self.totp_secret.describe() if self.totp_secret else ''})"
                    " is not a base32 TOTP secret"
                ) from None
            totp = OtpSource(secret)
        return Credentials(email=self.email, password=password, totp=totp)

    def _read(self, key: str, ref: SecretRef | None, env: Mapping[str, str]) -> str:
        assert ref is not None
        try:
            return ref.read(env)
        except SecretError as exc:
            raise SecretError(f"account {self.name!r}: {key} ({ref.describe()}): {exc}") from None


@dataclass(frozen=True)
class Fleet:
    accounts: tuple[FleetAccount, ...]
    source: Path | None = None

    def names(self) -> list[str]:
        return [a.name for a in self.accounts]

    def get(self, name: str) -> FleetAccount | None:
        return next((a for a in self.accounts if a.name == name), None)

    def check_secrets(self, env: Mapping[str, str]) -> None:
        """Read every secret once, before a browser starts: a missing one is an error naming its account."""
        with run_secrets():  # what is read here is forgotten at once
            for account in self.accounts:
                account.credentials(env)

    def only(self, names: Sequence[str]) -> Fleet:
        keep = set(names)
        return replace(self, accounts=tuple(a for a in self.accounts if a.name in keep))


def marketplace_urls() -> dict[str, str]:
    """Each marketplace code of the site profile -> its Seller Central sign-in start."""
    urls: dict[str, str] = {}
    for host, code in load_profile().marketplace_hosts.items():
        urls.setdefault(code, f"https://{host}/")
    return urls


def load_fleet(path: Path) -> Fleet:
    """Read and check a fleet file; every problem is a ``FleetFileError`` of one line (exit 2)."""
    if path.is_dir():
        raise FleetFileError(f"{path} is a folder; name a fleet file (YAML)")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FleetFileError(f"no fleet file at {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FleetFileError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise FleetFileError(f"{path}: {problem}{where}") from None
    return parse_fleet(data, path)


def parse_fleet(data: Any, path: Path | None = None) -> Fleet:
    where = str(path) if path is not None else "fleet"
    base = path.parent if path is not None else Path.cwd()

    def fail(message: str) -> FleetFileError:
        return FleetFileError(f"{where}: {message}")

    if not isinstance(data, dict) or "accounts" not in data:
        raise fail("expected a mapping with `accounts:`, a list of accounts")
    extra = [k for k in data if k != "accounts"]
    if extra:
        raise fail(f"unknown key {extra[0]!r} at the top (only `accounts:`)")
    entries = data["accounts"]
    if not isinstance(entries, list) or not entries:
        raise fail("`accounts:` must be a list of one or more accounts")
    urls = marketplace_urls()
    accounts: list[FleetAccount] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, 1):
        label = f"account #{number}"
        if not isinstance(entry, dict):
            raise fail(f"{label}: expected a mapping with name, marketplace, email, password")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip() or any(ord(c) < 32 or c == "\x7f" for c in name):
            raise fail(f"{label}: `name` must be a non-empty line of text")
        if len(name) > 100:
            raise fail(f"{label}: `name` is longer than 100 characters")
        label = f"account {name!r}"
        if name in seen:
            raise fail(f"{label}: two accounts have this name")
        seen.add(name)
        for key in entry:
            if key not in ACCOUNT_KEYS:
                close = difflib.get_close_matches(str(key), ACCOUNT_KEYS, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise fail(f"{label}: unknown key {key!r}{hint}")
        for key in ("marketplace", "email", "password"):
            if key not in entry:
                raise fail(f"{label}: `{key}` is missing")
        marketplace = entry["marketplace"]
        if not isinstance(marketplace, str) or marketplace.lower() not in urls:
            known = ", ".join(sorted(urls))
            raise fail(f"{label}: unknown marketplace {marketplace!r} (one of {known})")
        marketplace = marketplace.lower()
        email = entry["email"]
        if not isinstance(email, str) or "@" not in email or email != email.strip():
            raise fail(f"{label}: `email` must be an email address")
        password = _secret_ref(entry["password"], "password", base, fail, label)
        totp = entry.get("totp_secret")
        totp_ref = _secret_ref(totp, "totp_secret", base, fail, label) if totp is not None else None
        url = entry.get("url", urls[marketplace])
        if not isinstance(url, str) or not _is_http_url(url):
            raise fail(f"{label}: `url` must be an http(s) URL with a host")
        accounts.append(FleetAccount(name, marketplace, email, password, url, totp_ref))
    return Fleet(tuple(accounts), path)


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _secret_ref(value: Any, key: str, base: Path, fail: Callable[[str], FleetFileError], label: str) -> SecretRef:
    if isinstance(value, str | int | float | bytes) and not isinstance(value, bool):
        # Never echoed: the value is a secret written where it must not be.
        raise fail(f"{label}: `{key}` is written in the file; a fleet file holds no secrets: use {SECRET_FORMS}")
    if not isinstance(value, dict) or len(value) != 1:
        raise fail(f"{label}: `{key}` must be one of {SECRET_FORMS}")
    ((kind, spec),) = value.items()
    if kind == "env":
        if not isinstance(spec, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", spec):
            raise fail(f"{label}: `{key}: {{env: ...}}` must name an environment variable")
        return SecretRef("env", env=spec)
    if kind == "file":
        if not isinstance(spec, str) or not spec.strip():
            raise fail(f"{label}: `{key}: {{file: ...}}` must be a path")
        path = Path(spec).expanduser()
        return SecretRef("file", path=path if path.is_absolute() else base / path)
    if kind == "keyring":
        ok = (
            isinstance(spec, dict)
            and set(spec) == {"service", "username"}
            and all(isinstance(v, str) and v for v in spec.values())
        )
        if not ok:
            raise fail(f"{label}: `{key}: {{keyring: ...}}` must be {{service: S, username: U}}")
        return SecretRef("keyring", service=spec["service"], username=spec["username"])
    raise fail(f"{label}: `{key}` must be one of {SECRET_FORMS}, not {str(kind)[:20]!r}")


# -- the checks


@dataclass
class FleetResult:
    """One account's check: the sign-in's result, or the probe's own failure on it (``error``)."""

    account: FleetAccount
    result: Result | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.result is not None and self.result.verdict == "ok"

    @property
    def verdict(self) -> str | None:
        return self.result.verdict if self.result is not None else None

    @property
    def duration_s(self) -> float:
        return self.result.duration_s if self.result is not None else 0.0

    def to_dict(self) -> dict[str, Any]:
        head: dict[str, Any] = {
            "account": self.account.name,
            "marketplace": self.account.marketplace,
            "url": self.account.url,
            "ok": self.ok,
            "verdict": self.verdict,
            "error": self.error,
        }
        if self.result is None:
            return head
        body = self.result.to_dict()
        for key in ("scenario", "title", "expected", "match", "verdict", "error", "artifacts"):
            body.pop(key, None)
        return {**head, **body}

    def as_result(self) -> Result:
        """A ``Result`` named after the account, for the JUnit report."""
        if self.result is not None:
            return replace(self.result, scenario=self.account.name, title=self.account.url, expected="ok")
        return Result(
            scenario=self.account.name,
            title=self.account.url,
            verdict="error",
            detail=self.error or "",
            expected="ok",
            match=False,
            remedy=None,
            remedy_verified=False,
            error=self.error,
        )


@dataclass
class FleetOptions:
    workers: int = DEFAULT_WORKERS
    per_marketplace: int = DEFAULT_PER_MARKETPLACE
    device: str = "desktop"
    # The real site's retry policy (as `probe diagnose`); tests and benchmarks may shorten it.
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    on_start: Callable[[FleetAccount], None] | None = None
    on_done: Callable[[FleetResult], None] | None = None
    # Each account's artifacts (log, result.json, screenshots, HAR, trace) in OUT/<account>.
    out: Path | None = None
    # Reuse browser contexts between accounts, wiped in between (see ``ContextPool``);
    # never with ``out``, whose HAR records a context's whole traffic.
    reuse_contexts: bool = True


def artifact_name(name: str) -> str:
    """An account's folder under ``--out``: its name when that is a safe file name, else a safe form and a hash.

    Names are free text (``../x``, ``a/b``, ``.``); two different names never share a folder.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name).strip(".")[:80]
    if safe == name:
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"{safe or 'account'}-{digest}"


async def check_account(
    account: FleetAccount,
    session: BrowserSession,
    env: Mapping[str, str],
    *,
    device: str = "desktop",
    retry: RetryPolicy | None = None,
    pool: ContextPool | None = None,
    out: Path | None = None,
) -> FleetResult:
    """One account's sign-in, with its own secret registry; the probe's own failure is ``error``, never a verdict.

    ``pool``: a wiped context of an earlier account instead of a new one. ``out``: the
    account's artifacts in ``out/<account>`` (see ``artifact_name``).
    """
    try:
        with run_secrets():
            credentials = account.credentials(env)
            result = await diagnose_url(
                account.url,
                credentials,
                session,
                RunOptions(out=out, retry=retry or RetryPolicy()),
                device=device,
                name=artifact_name(account.name),
                pool=pool,
            )
    except (InfraError, UsageError) as exc:
        return FleetResult(account, error=str(exc))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the browser or its driver went away
        return FleetResult(account, error=f"the browser or its driver failed: {_first_line(exc)}")
    return FleetResult(account, replace(result, scenario=account.name, title=account.url, expected="ok"))


async def check_fleet(
    fleet: Fleet, session: BrowserSession, env: Mapping[str, str], options: FleetOptions
) -> list[FleetResult]:
    """Every account of ``fleet``, concurrently within the limits; results in the file's order.

    Unless ``options.reuse_contexts`` is off (or ``options.out`` is set), the accounts
    share a pool of browser contexts, one per worker, wiped between accounts.
    """
    workers = max(1, options.workers)
    overall = asyncio.Semaphore(workers)
    per_market: dict[str, asyncio.Semaphore] = {}
    pool = ContextPool(session, workers) if options.reuse_contexts and options.out is None else None

    async def one(account: FleetAccount) -> FleetResult:
        market = per_market.setdefault(account.marketplace, asyncio.Semaphore(max(1, options.per_marketplace)))
        # The marketplace's turn first: an account waiting for it holds no overall slot.
        async with market, overall:
            if options.on_start is not None:
                options.on_start(account)
            result = await check_account(
                account, session, env, device=options.device, retry=options.retry, pool=pool, out=options.out
            )
        if options.on_done is not None:
            options.on_done(result)
        return result

    try:
        return list(await asyncio.gather(*(one(a) for a in fleet.accounts)))
    finally:
        if pool is not None:
            await pool.close()


# -- outputs


def render_table(results: Sequence[FleetResult], *, wall_s: float | None = None) -> str:
    rows = [("ACCOUNT", "MARKET", "VERDICT", "REMEDY", "TIME", "DETAIL")]
    for r in results:
        if r.result is None:
            rows.append((r.account.name, r.account.marketplace, "error", "-", "-", r.error or ""))
            continue
        remedy = r.result.remedy or "-"
        if r.result.remedy and r.result.remedy_verified:
            remedy += " ✓"
        detail = "" if r.ok else r.result.detail
        rows.append(
            (r.account.name, r.account.marketplace, r.result.verdict, remedy, f"{r.result.duration_s:.1f} s", detail)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:5])]
        detail = row[5] if len(row[5]) <= 100 else row[5][:97] + "..."
        lines.append("  ".join([*cells, detail]).rstrip())
    lines.append("")
    lines.append(summary_line(results, wall_s=wall_s))
    return SECRETS.redact("\n".join(lines))


def summary_line(results: Sequence[FleetResult], *, wall_s: float | None = None) -> str:
    ok = sum(r.ok for r in results)
    errors = sum(r.result is None for r in results)
    failed = len(results) - ok - errors
    wall = f" in {wall_s:.1f} s" if wall_s is not None else ""
    errored = f", {errors} not checked (the probe's own failure)" if errors else ""
    return f"{len(results)} accounts{wall}: {ok} signed in, {failed} cannot sign in{errored}"


def json_line(result: FleetResult) -> str:
    return SECRETS.redact(json.dumps(result.to_dict(), ensure_ascii=False, separators=(",", ":")))


def fleet_junit(results: Sequence[FleetResult], *, not_run: Sequence[str] = ()) -> str:
    return junit_xml([r.as_result() for r in results], name="fleet", not_run=not_run)


def text_of(result: FleetResult) -> str:
    return render_text(result.as_result())


# -- shards: a stable split of named items, for CI matrices


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    total: int

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"

    def holds(self, name: str) -> bool:
        return shard_of(name, self.total) == self.index

    def select(self, items: Sequence[T], name: Callable[[T], str]) -> list[T]:
        return [item for item in items if self.holds(name(item))]


MAX_SHARDS = 10_000


def shard_of(name: str, total: int) -> int:
    """The shard (1..total) that holds ``name``: a hash of the name, so adding or reordering items moves no other."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % total + 1


def parse_shard(text: str) -> Shard:
    """``"2/5"`` -> Shard(2, 5); anything else is a one-line ``UsageError``."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*/\s*(\d{1,6})\s*", text)
    if match is None:
        raise UsageError(f"--shard {text!r}: expected I/N, such as 1/4 (shard I of N, counting from 1)")
    index, total = int(match.group(1)), int(match.group(2))
    if total < 1:
        raise UsageError(f"--shard {text!r}: N must be 1 or more")
    if total > MAX_SHARDS:
        raise UsageError(f"--shard {text!r}: at most {MAX_SHARDS} shards")
    if not 1 <= index <= total:
        raise UsageError(f"--shard {text!r}: I must be from 1 to {total} (shards count from 1)")
    return Shard(index, total)


# -- a generated fleet for the mock: many accounts, mixed faults, secrets in environment variables

# What each kind of generated account looks like on the mock, and the verdict a correct probe gives it.
FAULTS: dict[str, tuple[dict[str, Any], str]] = {
    "ok": ({}, "ok"),
    "wrong_password": ({}, "credentials_invalid"),
    "two_step_off": ({"two_step": "none", "totp_secret": None}, "two_step_not_enabled"),
    "suspended": ({"status": "suspended"}, "account_suspended"),
    "closed": ({"status": "closed"}, "account_suspended"),
    "locked": ({"status": "locked"}, "account_takeover_suspected"),
    "dormant": ({"status": "dormant"}, "access_lost_dormant"),
    "reset_required": ({"status": "reset_required"}, "password_reset_required"),
    "invitation_pending": (
        {"role": "secondary", "invitation": "pending", "permissions": {"orders": "edit"}},
        "permission_denied",
    ),
}
# One in three accounts has a fault, the others sign in.
DEFAULT_MIX = (
    "ok",
    "wrong_password",
    "ok",
    "two_step_off",
    "ok",
    "suspended",
    "ok",
    "locked",
    "ok",
    "dormant",
    "ok",
    "reset_required",
    "ok",
    "invitation_pending",
    "ok",
    "closed",
)


@dataclass(frozen=True)
class GeneratedFleet:
    """A mock site with ``n`` accounts and the matching fleet, whose secrets are in ``env``."""

    site: dict[str, Any]  # the mock's SiteConfig, as data: SiteConfig.model_validate(site)
    entries: tuple[dict[str, Any], ...]  # fleet accounts without `url`
    env: dict[str, str]
    expected: dict[str, str]  # account name -> the verdict a correct probe gives
    faults: dict[str, str]  # account name -> the kind of account generated

    def fleet_data(self, url: str) -> dict[str, Any]:
        """The fleet file's content, every account starting at ``url`` (the mock's Seller Central)."""
        return {"accounts": [{**entry, "url": url} for entry in self.entries]}

    def write(self, path: Path, url: str) -> Path:
        path.write_text(yaml.safe_dump(self.fleet_data(url), sort_keys=False, allow_unicode=True), encoding="utf-8")
        return path


def generate_fleet(
    n: int, *, mix: Sequence[str] = DEFAULT_MIX, seed: str = "fleet", prefix: str = "shop"
) -> GeneratedFleet:
    """``n`` mock accounts, the kinds of ``mix`` in turn; reproducible for one ``seed``."""
    unknown = [kind for kind in mix if kind not in FAULTS]
    if unknown or not mix:
        raise ValueError(f"unknown kinds of account: {unknown} (known: {sorted(FAULTS)})")
    width = max(3, len(str(n)))
    accounts: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    env: dict[str, str] = {}
    expected: dict[str, str] = {}
    faults: dict[str, str] = {}
    for i in range(1, n + 1):
        kind = mix[(i - 1) % len(mix)]
        changes, verdict = FAULTS[kind]
        name = f"{prefix}-{i:0{width}d}"
        digest = hashlib.sha256(f"{seed}\0{name}".encode()).digest()
        password = "Pw-" + base64.urlsafe_b64encode(digest[:12]).decode().rstrip("=") + "!9"
        totp_secret = base64.b32encode(digest[12:32]).decode().rstrip("=")
        email = f"{name}@example.jp"
        account: dict[str, Any] = {
            "email": email,
            "password": password,
            "two_step": "totp",
            "totp_secret": totp_secret,
            "merchants": [{"name": f"テスト店舗 {i}", "marketplaces": ["jp"]}],
        }
        account.update(changes)
        accounts.append({k: v for k, v in account.items() if v is not None})
        var = re.sub(r"[^A-Z0-9]", "_", f"PROBE_FLEET_{name}".upper())
        typed = password + "x" if kind == "wrong_password" else password
        env[f"{var}_PASSWORD"] = typed
        entry: dict[str, Any] = {
            "name": name,
            "marketplace": "jp",
            "email": email,
            "password": {"env": f"{var}_PASSWORD"},
        }
        if account.get("totp_secret"):
            env[f"{var}_TOTP"] = totp_secret
            entry["totp_secret"] = {"env": f"{var}_TOTP"}
        entries.append(entry)
        expected[name] = verdict
        faults[name] = kind
    return GeneratedFleet({"accounts": accounts}, tuple(entries), env, expected, faults)


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return SECRETS.redact(lines[0][:200]) if lines else type(exc).__name__
