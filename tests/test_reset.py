"""`probe reset`: only Seller Central's and Amazon sign-in's data goes; other sites' stays; bad profiles refused."""

from __future__ import annotations

import http.server
import io
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

import probe.cli
from probe.browser import BrowserSession
from probe.cli import Environment, ExitStatus, main
from probe.remedies import _cache_key, cookie_belongs_to

from .conftest import run_async, run_cli

FUTURE = time.time() + 30 * 86400
COOKIES = [
    # A bank's cookie: not ours to touch.
    {"name": "bank-session", "value": "keep-me", "domain": ".mybank.co.jp", "path": "/"},
    {"name": "prefs", "value": "keep-me-too", "domain": "shop.example.net", "path": "/"},
    # Seller Central's and the Amazon sign-in's.
    {"name": "session-id", "value": "1", "domain": ".amazon.co.jp", "path": "/"},
    {"name": "sc-state", "value": "2", "domain": "sellercentral.amazon.co.jp", "path": "/"},
    {"name": "at-main", "value": "3", "domain": "www.amazon.co.jp", "path": "/ap"},
    {"name": "mock", "value": "4", "domain": "sellercentral.amazon.co.jp.localhost", "path": "/"},
    # A host named with --origin.
    {"name": "staging", "value": "5", "domain": "staging.example.com", "path": "/"},
]


def cookies_in(profile_dir: Path, add: list[dict[str, Any]] | None = None) -> set[str]:
    async def go() -> set[str]:
        async with BrowserSession() as session, session.persistent_context(profile_dir) as context:
            if add:
                await context.add_cookies([{**c, "expires": FUTURE, "secure": True} for c in add])  # type: ignore[misc]
            return {c.get("name", "") for c in await context.cookies()}

    return run_async(go())


def in_process(*argv: str, stdin: io.StringIO | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdout=out, stderr=err, env={}, stdin=stdin or io.StringIO())
    return main(list(argv), env), out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("domain", "belongs"),
    [
        (".amazon.co.jp", True),
        ("sellercentral.amazon.co.jp", True),
        ("www.amazon.co.jp", True),
        ("eu.sellercentral.amazon.co.jp", True),
        (".mybank.co.jp", False),
        ("amazon.co.jp.evil.example", False),
        ("notamazon.co.jp", False),
        (".co.jp", True),  # never a cookie's domain (a public suffix), but it would reach the hosts
    ],
)
def test_which_cookies_belong_to_the_sign_in_hosts(domain: str, belongs: bool) -> None:
    hosts = ["sellercentral.amazon.co.jp", "www.amazon.co.jp"]
    assert cookie_belongs_to(domain, hosts) is belongs


def test_reset_keeps_other_sites_cookies(tmp_path: Path) -> None:
    profile_dir = tmp_path / "profile"
    assert cookies_in(profile_dir, COOKIES) == {c["name"] for c in COOKIES}
    done = run_cli("reset", "--profile", str(profile_dir), "--origin", "https://staging.example.com/ap/signin")
    assert done.returncode == 0, done.stderr
    assert "cleared cookies (5)" in done.stdout
    assert cookies_in(profile_dir) == {"bank-session", "prefs"}


def test_reset_all_sites_clears_everything(tmp_path: Path) -> None:
    profile_dir = tmp_path / "profile"
    cookies_in(profile_dir, COOKIES)
    done = run_cli("reset", "--profile", str(profile_dir), "--all-sites")  # no terminal: no question
    assert done.returncode == 0, done.stderr
    assert "every site" in done.stdout
    assert cookies_in(profile_dir) == set()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def fake_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "chromium"
    folder.mkdir()
    (folder / "Local State").write_text("{}")

    class Refused:
        def __init__(self, **_: Any) -> None:
            raise AssertionError("a browser was started")

    monkeypatch.setattr(probe.cli, "BrowserSession", Refused)
    return folder


def test_all_sites_asks_first_on_a_terminal(fake_profile: Path) -> None:
    code, out, err = in_process("reset", "--profile", str(fake_profile), "--all-sites", stdin=Terminal("n\n"))
    assert code == ExitStatus.MISMATCH
    assert "EVERY site" in err
    assert "nothing deleted" in err
    assert out == ""


def test_a_folder_that_is_not_a_chromium_profile_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    code, out, err = in_process("reset", "--profile", str(tmp_path))
    assert code == ExitStatus.USAGE
    assert out == ""
    assert err == (
        f"probe: error: {tmp_path} is not a Chromium profile (no 'Local State' file, no 'Default' folder);"
        " name Chromium's user data folder, such as ~/.config/chromium\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_profile_in_use_is_refused_with_one_line(fake_profile: Path) -> None:
    os.symlink(f"{socket.gethostname()}-{os.getpid()}", fake_profile / "SingletonLock")
    code, _out, err = in_process("reset", "--profile", str(fake_profile))
    assert code == ExitStatus.USAGE
    assert err == (
        f"probe: error: the profile {fake_profile} is in use by a running browser (pid {os.getpid()}):"
        " close the browser, then try again\n"
    )


@pytest.mark.parametrize("origin", ["http://[::1", "https://host:99999/", "not a host", "-"])
def test_a_bad_origin_is_a_usage_error(fake_profile: Path, origin: str) -> None:
    code, _, err = in_process("reset", "--profile", str(fake_profile), f"--origin={origin}")
    assert code == ExitStatus.USAGE
    assert err.startswith(f"probe: error: --origin {origin!r}")
    assert err.count("\n") == 1


def test_localhost_is_not_a_parent_of_the_stand_in_hosts() -> None:
    assert not cookie_belongs_to("localhost", ["sellercentral.amazon.co.jp.localhost"])


class Cacheable(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"<p>{self.headers['Host']}</p>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Cache-Control", "max-age=86400")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


def cached_hosts(profile_dir: Path) -> set[str]:
    folder = profile_dir / "Default" / "Cache" / "Cache_Data"
    keys = [_cache_key(p) or "" for p in folder.glob("*_0")]
    return {urlsplit(k.split(" ")[-1]).hostname or "" for k in keys}


def test_reset_deletes_only_the_sign_in_hosts_http_cache(tmp_path: Path) -> None:
    profile_dir = tmp_path / "profile"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Cacheable)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    hosts = ["sellercentral.amazon.co.jp.localhost", "mybank.localhost"]

    async def visit() -> None:
        async with BrowserSession() as session, session.persistent_context(profile_dir) as context:
            page = await context.new_page()
            for host in hosts:
                await page.goto(f"http://{host}:{port}/page.html")

    try:
        run_async(visit())
        assert set(hosts) <= cached_hosts(profile_dir)
        done = run_cli("reset", "--profile", str(profile_dir))
        assert done.returncode == 0, done.stderr
        assert "sellercentral.amazon.co.jp.localhost" not in cached_hosts(profile_dir)
        assert "mybank.localhost" in cached_hosts(profile_dir)
        run_async(visit())  # the cache left behind still works
    finally:
        server.shutdown()
        server.server_close()


def test_reset_clears_the_site_data_of_an_origin_with_a_port() -> None:
    """Site data is kept per origin, port included: an origin named as a URL with its port is cleared too."""
    from fixtures.mock_site import MockServer
    from probe.remedies import reset_hosts

    from .conftest import site_config

    async def go(origin: str) -> tuple[str | None, str | None]:
        async with BrowserSession() as session, session.context() as context:
            page = await context.new_page()
            await page.goto(origin + "/ap/signin")
            await page.evaluate("() => localStorage.setItem('probe-left', 'yes')")
            await reset_hosts(context, page, [origin])
            await page.reload()
            after_reset = await page.evaluate("() => localStorage.getItem('probe-left')")
            await page.evaluate("() => localStorage.setItem('probe-left', 'again')")
            await reset_hosts(context, page, ["example.com"])  # another host: this origin's data stays
            await page.reload()
            other_reset = await page.evaluate("() => localStorage.getItem('probe-left')")
            return after_reset, other_reset

    with MockServer(site_config()) as server:
        after_reset, other_reset = run_async(go(server.origin("sellercentral.amazon.co.jp")))
    assert after_reset is None
    assert other_reset == "again"
