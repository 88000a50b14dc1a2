"""Keep secrets out of everything the probe writes.

Every password, OTP code, TOTP seed and session cookie value the probe handles
is registered here. Logs and reports pass through ``redact``; artifacts are
scanned afterwards with ``leaks`` so a secret that slipped through fails the
run instead of being shared.
"""

from __future__ import annotations

import html
import json
import re
import threading
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "[REDACTED]"
MIN_SECRET_LENGTH = 4


def _variants(value: str) -> set[str]:
    """The forms a secret takes in URLs, form bodies, JSON and HTML."""
    forms = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1], html.escape(value)}
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


class Redactor:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, *values: str | None) -> None:
        with self._lock:
            for value in values:
                if value and len(value) >= MIN_SECRET_LENGTH:
                    self._values |= _variants(value)
            self._pattern = None

    def __len__(self) -> int:
        return len(self._values)

    def _compiled(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._values:
                # Longest first, and digits-only secrets (OTP codes) only where
                # they stand alone, so a timestamp is not mistaken for one.
                parts = []
                for value in sorted(self._values, key=len, reverse=True):
                    escaped = re.escape(value)
                    parts.append(rf"(?<!\d){escaped}(?!\d)" if value.isdigit() else escaped)
                self._pattern = re.compile("|".join(parts))
            return self._pattern

    def redact(self, text: str) -> str:
        pattern = self._compiled()
        return pattern.sub(MASK, text) if pattern else text

    def redact_obj(self, obj: Any) -> Any:
        if isinstance(obj, str):
            return self.redact(obj)
        if isinstance(obj, dict):
            return {k: self.redact_obj(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [self.redact_obj(v) for v in obj]
        return obj

    def found_in(self, text: str) -> bool:
        pattern = self._compiled()
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


def _contents(file: Path) -> Iterator[bytes]:
    """A file's bytes; for a zip (a Playwright trace), each member's."""
    if zipfile.is_zipfile(file):
        with zipfile.ZipFile(file) as archive:
            for name in archive.namelist():
                yield archive.read(name)
    else:
        yield file.read_bytes()


# One store for the whole process: the log processor and every run share it,
# so a secret registered anywhere is masked everywhere.
SECRETS = Redactor()
