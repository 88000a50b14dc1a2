"""Scrub Playwright's trace and HAR files before anyone sees them.

Playwright records what it is asked to type (``fill`` parameters, DOM
snapshots with input values), request bodies and cookie headers, by design:
https://playwright.dev/python/docs/trace-viewer and
https://playwright.dev/python/docs/api/class-browser#browser-new-context-option-record-har-path
So the probe rewrites both files: session cookie values and secret form
fields are masked by structure, and every registered secret is masked
wherever it appears as text. Cookie values met on the way are registered too,
so the final scan of all artifacts looks for them everywhere.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .redact import MASK, Redactor

# Form fields whose values are secrets whatever their content.
SECRET_FIELDS = frozenset({"password", "otpCode", "code", "passwordCheck", "password_check"})

IsSessionCookie = Callable[[str], bool]


def _mask_cookie_pairs(header: str, is_session: IsSessionCookie, redactor: Redactor) -> str:
    """``a=1; b=2`` with the session cookies' values masked (and registered)."""
    pairs = []
    for chunk in header.split(";"):
        name, sep, value = chunk.strip().partition("=")
        if sep and is_session(name) and value:
            redactor.add(value)
            value = MASK
        pairs.append(f"{name}{sep}{value}")
    return "; ".join(pairs)


def _mask_set_cookie(header: str, is_session: IsSessionCookie, redactor: Redactor) -> str:
    """``name=value; Path=/; ...`` (one cookie per line) with a session value masked."""
    lines = []
    for line in header.split("\n"):
        first, sep, attributes = line.partition(";")
        lines.append(_mask_cookie_pairs(first, is_session, redactor) + sep + attributes)
    return "\n".join(lines)


def _scrub_headers(headers: list[dict[str, Any]], is_session: IsSessionCookie, redactor: Redactor) -> None:
    for header in headers:
        name = str(header.get("name", "")).lower()
        value = str(header.get("value", ""))
        if name == "cookie":
            header["value"] = _mask_cookie_pairs(value, is_session, redactor)
        elif name == "set-cookie":
            header["value"] = _mask_set_cookie(value, is_session, redactor)


def _scrub_entry(entry: dict[str, Any], is_session: IsSessionCookie, redactor: Redactor) -> None:
    """One HAR entry (or a trace's network snapshot, which has the same shape)."""
    for side in ("request", "response"):
        message = entry.get(side) or {}
        _scrub_headers(message.get("headers", []), is_session, redactor)
        for cookie in message.get("cookies", []):
            if is_session(str(cookie.get("name", ""))) and cookie.get("value"):
                redactor.add(str(cookie["value"]))
                cookie["value"] = MASK
    post = (entry.get("request") or {}).get("postData") or {}
    for param in post.get("params", []):
        if param.get("name") in SECRET_FIELDS and param.get("value"):
            redactor.add(str(param["value"]))
            param["value"] = MASK


def sanitize_har(path: Path, is_session: IsSessionCookie, redactor: Redactor) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    for entry in data.get("log", {}).get("entries", []):
        _scrub_entry(entry, is_session, redactor)
    path.write_text(json.dumps(redactor.redact_obj(data), ensure_ascii=False), encoding="utf-8")


def _events(text: str, is_session: IsSessionCookie, redactor: Redactor) -> list[Any]:
    """A trace's JSON-lines log, its network snapshots scrubbed by structure."""
    events = [json.loads(line) for line in text.splitlines() if line.strip()]
    for event in events:
        if isinstance(event, dict) and isinstance(event.get("snapshot"), dict):
            _scrub_entry(event["snapshot"], is_session, redactor)
    return events


def sanitize_trace(path: Path, is_session: IsSessionCookie, redactor: Redactor) -> None:
    """Rewrite a trace zip: its event logs as JSON, its resources as text where they are text."""
    with zipfile.ZipFile(path) as source:
        members = {name: source.read(name) for name in source.namelist()}
    # Structure first, everywhere: that registers the cookie values met in any
    # event log before text masking runs over all members.
    logs = {
        name: _events(data.decode("utf-8"), is_session, redactor)
        for name, data in members.items()
        if name.endswith((".trace", ".network"))
    }
    scrubbed = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(scrubbed, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in members.items():
            if name in logs:
                lines = (json.dumps(redactor.redact_obj(e), ensure_ascii=False) for e in logs[name])
                target.writestr(name, "\n".join(lines) + "\n")
            else:
                target.writestr(name, _scrub_bytes(data, redactor))
    shutil.move(scrubbed, path)


def _scrub_bytes(data: bytes, redactor: Redactor) -> bytes:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data  # an image or other binary resource
    return redactor.redact(text).encode("utf-8")
