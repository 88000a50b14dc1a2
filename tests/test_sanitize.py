"""Traces and HARs are scrubbed by structure (cookies, secret fields) and by text."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from probe.redact import MASK, Redactor
from probe.sanitize import sanitize_har, sanitize_trace


def is_session(name: str) -> bool:
    return name in {"session-id", "session-token"}


def entry() -> dict[str, object]:
    return {
        "request": {
            "headers": [{"name": "Cookie", "value": "session-token=tok-AAAA; i18n-prefs=JPY"}],
            "cookies": [{"name": "session-id", "value": "355-1111111-2222222"}],
            "postData": {
                "text": "email=a%40example.jp&password=pw-secret-1",
                "params": [{"name": "email", "value": "a@example.jp"}, {"name": "password", "value": "pw-secret-1"}],
            },
        },
        "response": {
            "headers": [{"name": "Set-Cookie", "value": "session-token=tok-BBBB; Path=/; Secure\nlc-acbjp=ja_JP"}],
            "cookies": [],
            "content": {"text": "<p>echo tok-BBBB</p>"},
        },
    }


def test_har_cookies_and_secret_fields_are_masked_and_learned(tmp_path: Path) -> None:
    har = tmp_path / "network.har"
    har.write_text(json.dumps({"log": {"entries": [entry()]}}))
    redactor = Redactor()
    sanitize_har(har, is_session, redactor)
    text = har.read_text()
    for secret in ("tok-AAAA", "tok-BBBB", "355-1111111-2222222", "pw-secret-1"):
        assert secret not in text
    assert "i18n-prefs=JPY" in text
    assert "lc-acbjp=ja_JP" in text
    assert "a@example.jp" in text
    # The values it met are now known everywhere else too.
    assert redactor.redact("tok-BBBB") == MASK


def test_trace_members_are_scrubbed_and_still_parse(tmp_path: Path) -> None:
    trace = tmp_path / "trace.zip"
    fill = {"type": "before", "method": "fill", "params": {"selector": "#ap_password", "value": "pw-secret-1"}}
    with zipfile.ZipFile(trace, "w") as archive:
        archive.writestr("trace.trace", json.dumps(fill) + "\n")
        archive.writestr("trace.network", json.dumps({"type": "resource-snapshot", "snapshot": entry()}) + "\n")
        archive.writestr("resources/body.dat", "password=pw-secret-1&token=tok-AAAA")
        archive.writestr("resources/image.png", b"\x89PNG\r\n\x1a\n\x00\xff")
    redactor = Redactor()
    redactor.add("pw-secret-1")
    sanitize_trace(trace, is_session, redactor)
    with zipfile.ZipFile(trace) as archive:
        assert json.loads(archive.read("trace.trace"))["params"]["value"] == MASK
        json.loads(archive.read("trace.network"))
        assert archive.read("resources/body.dat") == f"password={MASK}&token={MASK}".encode()
        assert archive.read("resources/image.png") == b"\x89PNG\r\n\x1a\n\x00\xff"
    assert redactor.leaks([trace]) == []
