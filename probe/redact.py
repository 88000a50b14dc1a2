"""Keep secrets out of everything the probe writes.

Every password, OTP code, TOTP seed and session cookie value the probe handles
is registered here. Logs and reports pass through ``redact``; artifacts are
scanned afterwards with ``leaks`` so a secret that slipped through fails the
run instead of being shared.

Each run (a scenario played, a live diagnosis, a saved page classified) has
its own registry, held in a context variable: asyncio tasks started inside a
run inherit it, and many runs in one process never share their secrets.
``SECRETS`` always means the current run's registry.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import json
import re
import threading
import zipfile
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import quote, quote_plus

MASK = "[REDACTED]"
MIN_SECRET_LENGTH = 4


def _variants(value: str) -> set[str]:
    """The forms a secret takes in URLs, form bodies, JSON and HTML."""
    forms = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1], html.escape(value)}
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


class Redactor:
    """A set of secrets; with a ``parent``, the parent's secrets are masked too (never added to)."""

    def __init__(self, parent: Redactor | None = None) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._parent = parent
        # Bumped whenever the secrets change: the sorted secrets are made again only then.
        self._version = 0
        self._made_at: tuple[int, ...] | None = None
        self._sorted: tuple[str, ...] = ()
        # Patterns of the secrets found together in a text: the registry's own, so that no
        # secret outlives its run in a cache of the process.
        self._patterns: dict[tuple[str, ...], re.Pattern[str]] = {}

    def add(self, *values: str | None) -> None:
        with self._lock:
            before = len(self._values)
            for value in values:
                if value and len(value) >= MIN_SECRET_LENGTH:
                    self._values |= _variants(value)
            if len(self._values) != before:  # a secret known already needs no new pattern
                self._version += 1

    def clear(self) -> None:
        """Forget every secret this registry learnt (not its parent's)."""
        with self._lock:
            self._values = set()
            self._version += 1

    def _versions(self) -> tuple[int, ...]:
        """This registry's version and its ancestors': equal versions, equal secrets."""
        return (self._version, *(self._parent._versions() if self._parent is not None else ()))

    def __len__(self) -> int:
        return len(self._all())

    def __contains__(self, value: object) -> bool:
        return value in self._all()

    def _all(self) -> set[str]:
        inherited = self._parent._all() if self._parent is not None else set()
        with self._lock:
            return self._values | inherited

    def _known(self) -> tuple[str, ...]:
        """Every secret form, longest first (then in order); made again only when a secret is learnt."""
        versions = self._versions()
        if versions == self._made_at:
            return self._sorted
        inherited = self._parent._all() if self._parent is not None else set()
        with self._lock:
            self._sorted = tuple(sorted(self._values | inherited, key=lambda v: (-len(v), v)))
            self._patterns = {}
            self._made_at = versions
            return self._sorted

    def _pattern_in(self, text: str) -> re.Pattern[str] | None:
        """A pattern of the secrets that occur in ``text``; None when none does.

        Finding each secret as a plain substring first is many times faster than one
        pattern of them all, and the pattern is made of the few that are there.
        """
        present = tuple(value for value in self._known() if value in text)
        if not present:
            return None
        pattern = self._patterns.get(present)
        if pattern is None:
            pattern = self._patterns[present] = _pattern_of(present)
        return pattern

    def redact(self, text: str) -> str:
        pattern = self._pattern_in(text)
        return pattern.sub(MASK, text) if pattern else text

    def redact_obj(self, obj: Any) -> Any:
        return _masked(obj, self.redact) if self._known() else obj

    def found_in(self, text: str) -> bool:
        pattern = self._pattern_in(text)
        return bool(pattern and pattern.search(text))

    def leaks(self, paths: Iterable[Path]) -> list[Path]:
        """Files among ``paths`` (recursing into folders, and into zips) that contain a secret."""
        leaking = []
        for path in paths:
            files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
            for file in files:
                if any(self.found_in(blob.decode("utf-8", errors="replace")) for blob in _contents(file)):
                    leaking.append(file)
        return leaking


def _pattern_of(values: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern for ``values`` (longest first): digits-only secrets (OTP codes) only
    where they stand alone, so a timestamp is not mistaken for one."""
    parts = [rf"(?<!\d){re.escape(v)}(?!\d)" if v.isdigit() else re.escape(v) for v in values]
    return re.compile("|".join(parts))


def _masked(obj: Any, redact: Callable[[str], str]) -> Any:
    """``obj`` with the secrets in its strings masked (dicts and lists as new ones)."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {k: _masked(v, redact) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_masked(v, redact) for v in obj]
    return obj


def _contents(file: Path) -> Iterator[bytes]:
    """A file's bytes; for a zip (a Playwright trace), each member's."""
    if zipfile.is_zipfile(file):
        with zipfile.ZipFile(file) as archive:
            for name in archive.namelist():
                yield archive.read(name)
    else:
        yield file.read_bytes()


# Secrets registered outside any run (credentials read before a run starts, ...).
_PROCESS = Redactor()
_CURRENT: ContextVar[Redactor] = ContextVar("probe_secrets", default=_PROCESS)


def forget_process_secrets() -> None:
    """Forget what was registered outside any run: for a long-lived process (a test session)
    whose earlier, finished work must not mask or flag text in later work."""
    _PROCESS.clear()


def current() -> Redactor:
    """The registry of the run this code belongs to (the process's outside any run)."""
    return _CURRENT.get()


@contextmanager
def run_secrets() -> Iterator[Redactor]:
    """A registry for one run: what it learns stays in it and is gone after the run.

    It masks what the enclosing registry already holds (a password read before
    the run started), but a secret registered inside never reaches another run.
    """
    registry = Redactor(parent=current())
    token = _CURRENT.set(registry)
    try:
        yield registry
    finally:
        _CURRENT.reset(token)


P = ParamSpec("P")
R = TypeVar("R")


def own_secrets(run: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Make each call of the coroutine function ``run`` a run with its own secret registry.

    A dataclass it returns (a result) leaves the run redacted: the registry that
    knows the run's secrets is gone once the run is over.
    """

    @functools.wraps(run)
    async def scoped(*args: P.args, **kwargs: P.kwargs) -> R:
        with run_secrets() as registry:
            return _redacted(await run(*args, **kwargs), registry)

    return scoped


def _redacted(value: R, registry: Redactor) -> R:
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return value
    changes = {
        f.name: registry.redact_obj(getattr(value, f.name))
        for f in dataclasses.fields(value)
        if f.init and isinstance(getattr(value, f.name), str | list | dict)
    }
    return dataclasses.replace(value, **changes)


class _CurrentRun(Redactor):
    """``SECRETS``: every call goes to the current run's registry."""

    def add(self, *values: str | None) -> None:
        current().add(*values)

    def __len__(self) -> int:
        return len(current())

    def __contains__(self, value: object) -> bool:
        return value in current()

    def _all(self) -> set[str]:
        return current()._all()

    def _known(self) -> tuple[str, ...]:
        return current()._known()

    def _pattern_in(self, text: str) -> re.Pattern[str] | None:
        return current()._pattern_in(text)


# The log processor, the reports and every run use this one name.
SECRETS: Redactor = _CurrentRun()
