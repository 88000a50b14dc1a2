"""What the probe remembers between runs, in its state folder.

``$XDG_STATE_HOME/probe`` (else ``~/.local/state/probe``), mode 0700. Nothing
secret is kept there: accounts are named by a hash, codes by their time step.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# A time step older than this says nothing about the codes a site still accepts.
KEEP_S = 24 * 3600


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    path = Path(base) / "probe"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def account_key(email: str, site: str = "") -> str:
    """An account on a site, never named in the clear: a hash of the site and the email."""
    return hashlib.sha256(f"{site.lower()}\0{email.strip().lower()}".encode()).hexdigest()


class CodeLedger:
    """The last TOTP time step submitted per account, so a code is never typed twice.

    ``path`` None keeps it in memory only (a site that lives as long as the run).
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._memory: dict[str, int] = {}

    @classmethod
    def in_memory(cls) -> CodeLedger:
        return cls(None)

    @classmethod
    def default(cls) -> CodeLedger:
        return cls(state_dir() / "otp-steps.json")

    def last(self, key: str) -> int:
        if self.path is None:
            return self._memory.get(key, -1)
        with self._locked():
            entry = self._read().get(key)
        return int(entry["step"]) if entry else -1

    def record(self, key: str, step: int) -> None:
        if self.path is None:
            self._memory[key] = max(step, self._memory.get(key, -1))
            return
        with self._locked():
            data = self._read()
            now = time.time()
            data = {k: v for k, v in data.items() if now - float(v.get("at", 0)) < KEEP_S}
            previous = int(data[key]["step"]) if key in data else -1
            data[key] = {"step": max(step, previous), "at": now}
            tmp = self.path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out)
            os.replace(tmp, self.path)

    def _read(self) -> dict[str, dict[str, float]]:
        assert self.path is not None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @contextmanager
    def _locked(self) -> Iterator[None]:
        assert self.path is not None
        fd = os.open(self.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
