"""`probe classify`: the verdict from a page a customer saved (HTML, MHTML) or a HAR they exported.

The files are made the way a customer makes them: a real Chromium signs in to
the mock, then the page is saved as HTML (with Chrome's ``saved from``
comment), as MHTML (``Page.captureSnapshot``), and the whole sign-in as a HAR
(Playwright's recorder). The tests check verdicts, not the mock's markup.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest

from fixtures.mock_site import JP, MockServer, SiteConfig
from probe.browser import BrowserSession
from probe.cli import Environment, ExitStatus, main
from probe.diagnosis import Target
from probe.errors import UsageError
from probe.flow import Credentials, LoginDriver
from probe.harness import plant_cookies
from probe.otp import OtpSource
from probe.profile import load_profile
from probe.redact import Redactor
from probe.saved import Document, har_events, load_saved
from probe.scenarios import CookieSpec, load_scenario

from .conftest import EMAIL, PASSWORD, TOTP_SECRET, run_async, run_cli, site_config

FORMATS = ("html", "mhtml", "har")


@dataclass(frozen=True)
class Situation:
    site: SiteConfig
    credentials: Callable[[], Credentials]
    cookies: tuple[CookieSpec, ...] = ()


def _with_faults(*faults: dict[str, Any]) -> SiteConfig:
    return SiteConfig.model_validate({**site_config().model_dump(), "faults": list(faults)})


def _seller(password: str = PASSWORD, otp: str | None = None) -> Callable[[], Credentials]:
    return lambda: Credentials(EMAIL, password, OtpSource(TOTP_SECRET), fixed_otp=otp)


_COOKIES = load_scenario("cookies")

SITUATIONS = {
    "wrong_password": Situation(site_config(), _seller(password="Sakura-Zakka-2023!")),
    "otp_wrong_code": Situation(site_config(), _seller(otp="314159")),
    "robot_check": Situation(_with_faults({"kind": "robot_check", "times": None}), _seller()),
    "server_error": Situation(_with_faults({"kind": "server_error", "path": "/ap/signin"}), _seller()),
    "home": Situation(site_config(), _seller()),
    "cookies": Situation(
        _COOKIES.site,
        lambda: Credentials(
            _COOKIES.credentials.email,
            _COOKIES.credentials.password,
            OtpSource(_COOKIES.credentials.totp_secret or ""),
        ),
        tuple(_COOKIES.browser.cookies),
    ),
}


def _saved_from(html: str, url: str) -> str:
    """What Chrome's "Save page as" writes: the page with a ``saved from`` comment after the doctype."""
    comment = f"<!-- saved from url=({len(url):04d}){url} -->"
    if html.lower().startswith("<!doctype"):
        doctype, _, rest = html.partition(">")
        return f"{doctype}>\n{comment}\n{rest.lstrip()}"
    return f"{comment}\n{html}"


async def _capture_all(mock: MockServer, folder: Path) -> None:
    profile = load_profile()
    async with BrowserSession() as session:
        for name, situation in SITUATIONS.items():
            mock.configure(situation.site)
            async with session.context("desktop", record_har_path=str(folder / f"{name}.har")) as context:
                await plant_cookies(context, situation.cookies, Target(mock.url(JP), profile), profile)
                page = await context.new_page()
                await LoginDriver(page, profile, situation.credentials()).run(mock.url(JP))
                html = _saved_from(await page.content(), page.url)
                (folder / f"{name}.html").write_text(html, encoding="utf-8")
                cdp = await context.new_cdp_session(page)
                snapshot = await cdp.send("Page.captureSnapshot", {"format": "mhtml"})
                (folder / f"{name}.mhtml").write_bytes(snapshot["data"].encode("utf-8"))


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every situation saved three ways, in one folder."""
    folder = tmp_path_factory.mktemp("saved")
    with MockServer(site_config()) as mock:
        run_async(_capture_all(mock, folder))
    return folder


def classify(*args: str) -> tuple[int, str, str]:
    """``probe classify ...`` in-process (on its own thread: the CLI runs its own event loop)."""
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdout=out, stderr=err, env=dict(os.environ))
    with ThreadPoolExecutor(max_workers=1) as pool:
        code = pool.submit(main, ["classify", *args], env).result()
    return code, out.getvalue(), err.getvalue()


def classify_json(path: Path) -> tuple[int, dict[str, Any]]:
    code, out, err = classify(str(path), "--json")
    assert code in (ExitStatus.OK, ExitStatus.MISMATCH), err
    result: dict[str, Any] = json.loads(out)
    return code, result


# -- verdicts from saved pages ----------------------------------------------------


@pytest.mark.parametrize("kind", FORMATS)
@pytest.mark.parametrize(
    ("situation", "verdict"),
    [
        ("wrong_password", "credentials_invalid"),
        ("otp_wrong_code", "otp_rejected"),
        ("robot_check", "captcha_challenge"),
        ("home", "ok"),
    ],
)
def test_a_saved_page_gets_the_verdict_of_a_live_run(saved: Path, situation: str, verdict: str, kind: str) -> None:
    code, result = classify_json(saved / f"{situation}.{kind}")
    assert result["verdict"] == verdict, result
    assert code == (ExitStatus.OK if verdict == "ok" else ExitStatus.MISMATCH)
    assert result["evidence"], "a verdict comes with the evidence that decided it"
    assert result["remedy_verified"] is False  # nothing was tried on a saved page
    if verdict != "ok":
        assert result["remedy_text"]["ja"]
        assert result["remedy_text"]["en"]


def test_the_server_error_page_in_a_har_is_a_system_error(saved: Path) -> None:
    code, result = classify_json(saved / "server_error.har")
    assert result["verdict"] == "system_error"
    assert code == ExitStatus.MISMATCH
    assert any(e["status"] == 503 for e in result["evidence"])


@pytest.mark.parametrize("kind", ["html", "mhtml"])
def test_a_saved_server_error_page_is_a_system_error_by_its_title(saved: Path, kind: str) -> None:
    """A saved page has no HTTP status and the "Sorry" page no h1: its title still says what it is."""
    code, result = classify_json(saved / f"server_error.{kind}")
    assert result["verdict"] == "system_error"
    assert result["rule"] == "server_error_title"
    assert code == ExitStatus.MISMATCH


def test_a_har_of_the_cookie_loop_is_stale_browser_data(saved: Path) -> None:
    code, result = classify_json(saved / "cookies.har")
    assert code == ExitStatus.MISMATCH
    assert result["verdict"] == "stale_browser_data"
    assert result["remedy"] == "reset_cookies"
    first = result["evidence"][0]
    assert first["signal"] == "event:signin_loop"
    assert "302" in first["text"]
    assert "/ap/signin" in first["url"]


def test_the_url_and_host_come_from_the_saved_page(saved: Path) -> None:
    """The page is shown at its original address, so host and path signals are right."""
    for kind in ("html", "mhtml"):
        _, result = classify_json(saved / f"wrong_password.{kind}")
        assert any("sellercentral.amazon.co.jp.localhost" in e["url"] for e in result["evidence"]), kind
        assert "/ap/" in result["evidence"][0]["url"]


def test_terminal_output_is_the_run_output(saved: Path) -> None:
    code, out, err = classify(str(saved / "wrong_password.mhtml"))
    assert code == ExitStatus.MISMATCH, err
    assert "verdict   credentials_invalid" in out
    assert "evidence  password_incorrect" in out or "evidence  " in out
    assert "ja: " in out
    assert "en: " in out
    assert "remedy    check_credentials — not verified (advice)" in out


def test_a_har_holds_the_password_otp_and_cookies_and_the_output_none(saved: Path) -> None:
    """End to end in a fresh process: nothing registered the secrets but the HAR reader."""
    har = saved / "home.har"
    text = har.read_text(encoding="utf-8")
    otp_codes = _posted(text, "otpCode")
    cookie_values = _cookie_values(text)
    assert PASSWORD in text
    assert otp_codes
    assert cookie_values
    for args in (("--json",), ()):
        done = run_cli("classify", str(har), *args)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["verdict"] == "ok" if args else "verdict   ok" in done.stdout
        for secret in (PASSWORD, TOTP_SECRET, *otp_codes, *cookie_values):
            assert secret not in done.stdout
            assert secret not in done.stderr


def test_reading_a_har_registers_its_secrets(saved: Path) -> None:
    redactor = Redactor()
    har = saved / "home.har"
    load_saved(har, redactor)
    text = har.read_text(encoding="utf-8")
    for secret in (PASSWORD, *_posted(text, "otpCode"), *_cookie_values(text)):
        assert redactor.found_in(secret), secret


def test_a_wrong_code_har_hides_the_typed_code(saved: Path) -> None:
    redactor = Redactor()
    load_saved(saved / "otp_wrong_code.har", redactor)
    assert redactor.found_in("314159")


def _entries(har_text: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(har_text)["log"]["entries"]
    return entries


def _posted(har_text: str, field: str) -> list[str]:
    values = []
    for entry in _entries(har_text):
        for param in (entry["request"].get("postData") or {}).get("params", []):
            if param["name"] == field and param["value"]:
                values.append(param["value"])
    return values


def _cookie_values(har_text: str) -> set[str]:
    values = set()
    for entry in _entries(har_text):
        for side in ("request", "response"):
            for cookie in entry[side].get("cookies", []):
                if len(cookie["value"]) >= 8:
                    values.add(cookie["value"])
    return values


# -- bad files -----------------------------------------------------------------------


def _truncated_har(saved: Path, tmp_path: Path) -> Path:
    text = (saved / "home.har").read_text(encoding="utf-8")
    path = tmp_path / "cut.har"
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    return path


def _har_without_pages(_: Path, tmp_path: Path) -> Path:
    entry = {
        "startedDateTime": "2025-01-01T00:00:00.000Z",
        "request": {"method": "GET", "url": "https://sellercentral.amazon.co.jp/static/sc.css", "headers": []},
        "response": {"status": 200, "headers": [], "content": {"mimeType": "text/css", "text": "p{}"}},
    }
    path = tmp_path / "styles.har"
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": [entry]}}), encoding="utf-8")
    return path


def _file(name: str, data: bytes) -> Callable[[Path, Path], Path]:
    def make(_: Path, tmp_path: Path) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return make


BAD_FILES: dict[str, tuple[Callable[[Path, Path], Path], str]] = {
    "missing": (lambda _, tmp: tmp / "nothing-here.html", "no such file"),
    "folder": (lambda _, tmp: tmp, "is a folder"),
    "empty": (_file("empty.html", b""), "is empty"),
    "blank": (_file("blank.mhtml", b" \n\n"), "is empty"),
    "image": (_file("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "not a saved web page"),
    "text": (_file("notes.txt", "ログインできません\n".encode()), "not a saved web page"),
    "truncated_har": (_truncated_har, "not valid HAR JSON"),
    "json_not_har": (_file("data.json", b'{"hello": "world"}'), "not a HAR file"),
    "har_without_pages": (_har_without_pages, "holds no HTML page"),
    "mhtml_without_html": (
        _file("x.mhtml", b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhello\r\n"),
        "not an MHTML file",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_file_exits_2_with_one_line(saved: Path, tmp_path: Path, case: str) -> None:
    make, message = BAD_FILES[case]
    path = make(saved, tmp_path)
    code, out, err = classify(str(path))
    assert code == ExitStatus.USAGE
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith("probe: error: ")
    assert message in err
    assert "Traceback" not in err


def test_an_unreadable_file_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.html"
    path.write_text("<html></html>", encoding="utf-8")

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(UsageError, match=r"cannot read .*locked.html: Permission denied"):
        load_saved(path)


def test_a_bad_file_costs_no_browser(tmp_path: Path) -> None:
    """Input is checked before a browser starts: a bad file fails even with no Chromium at all."""
    path = tmp_path / "x.har"
    path.write_text("{", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdout=out, stderr=err, env={"PROBE_CHROMIUM": str(tmp_path / "no-chromium")})
    assert main(["classify", str(path)], env) == ExitStatus.USAGE


def test_no_browser_exits_3(saved: Path, tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdout=out, stderr=err, env={**os.environ, "PROBE_CHROMIUM": str(tmp_path / "no-chromium")})
    with ThreadPoolExecutor(max_workers=1) as pool:
        code = pool.submit(main, ["classify", str(saved / "home.html")], env).result()
    assert code == ExitStatus.INFRA
    assert err.getvalue().startswith("probe: failed: PROBE_CHROMIUM=")


# -- parsing, without a browser ---------------------------------------------------


def test_the_saved_from_comment_gives_the_address(tmp_path: Path) -> None:
    url = "https://sellercentral.amazon.co.jp/ap/signin?openid.assoc_handle=sc_jp_amazon_v2"
    path = tmp_path / "page.html"
    path.write_text(_saved_from("<!DOCTYPE html><html><body><h1>x</h1></body></html>", url), encoding="utf-8")
    page = load_saved(path, Redactor())
    assert page.kind == "html"
    assert page.url == url
    assert page.status is None


def test_a_page_without_the_comment_has_no_address(tmp_path: Path) -> None:
    path = tmp_path / "page.htm"
    path.write_text("<html><body>hello</body></html>", encoding="utf-8")
    page = load_saved(path, Redactor())
    assert page.url is None
    assert "an unknown address" in page.title


def test_secret_query_values_are_masked_in_the_address(tmp_path: Path) -> None:
    url = "https://sellercentral.amazon.co.jp/ap/mfa?arb=0f3c9a77d1e2b4a5&session-token=abcdEFGH1234"
    path = tmp_path / "page.html"
    path.write_text(_saved_from("<html><body>x</body></html>", url), encoding="utf-8")
    redactor = Redactor()
    page = load_saved(path, redactor)
    assert page.url is not None
    assert "0f3c9a77d1e2b4a5" not in page.url
    assert "abcdEFGH1234" not in page.url
    assert redactor.found_in("0f3c9a77d1e2b4a5")
    assert page.url.startswith("https://sellercentral.amazon.co.jp/ap/mfa?arb=")


def test_mhtml_quoted_printable_html_is_decoded(tmp_path: Path) -> None:
    mhtml = (
        "From: <Saved by Blink>\r\n"
        "Snapshot-Content-Location: https://sellercentral.amazon.co.jp/ap/signin\r\n"
        "Subject: =?utf-8?Q?x?=\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/related; type="text/html"; boundary="----B"\r\n'
        "\r\n"
        "------B\r\n"
        "Content-Type: text/html\r\n"
        "Content-ID: <frame-1@mhtml.blink>\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "Content-Location: https://sellercentral.amazon.co.jp/ap/signin\r\n"
        "\r\n"
        '<html><head><meta charset=3D"utf-8"></head><body><h1>=E3=83=AD=E3=82=B0=\r\n'
        "=E3=82=A4=E3=83=B3</h1></body></html>\r\n"
        "------B\r\n"
        "Content-Type: text/css\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "Content-Location: https://sellercentral.amazon.co.jp/static/sc.css\r\n"
        "\r\n"
        ".a-hidden { display: none; }\r\n"
        "------B--\r\n"
    )
    path = tmp_path / "page.mhtml"
    path.write_text(mhtml, encoding="ascii", newline="")
    page = load_saved(path, Redactor())
    assert page.kind == "mhtml"
    assert page.url == "https://sellercentral.amazon.co.jp/ap/signin"
    assert page.document is not None
    assert "ログイン" in page.document.body.decode("utf-8")
    assert "https://sellercentral.amazon.co.jp/static/sc.css" in page.resources


def _doc(method: str, path: str, status: int, error: str = "") -> Document:
    return Document(method, f"https://sellercentral.amazon.co.jp{path}", status, error)


def test_a_redirect_back_to_sign_in_after_the_code_is_a_loop() -> None:
    chain = (
        _doc("GET", "/", 302),
        _doc("GET", "/ap/signin", 200),
        _doc("POST", "/ap/signin", 302),
        _doc("GET", "/ap/mfa", 200),
        _doc("POST", "/ap/signin", 302),
        _doc("GET", "/home", 302),
        _doc("GET", "/ap/signin", 200),
    )
    (event,) = har_events(chain, len(chain) - 1)
    assert event.name == "signin_loop"
    assert event.detail == "POST /ap/signin 302 -> GET /home 302 -> GET /ap/signin 200"


def test_a_loop_through_the_account_picker_is_a_loop() -> None:
    chain = (
        _doc("POST", "/ap/signin", 302),
        _doc("GET", "/account-switcher/default", 200),
        _doc("POST", "/account-switcher/default", 302),
        _doc("GET", "/home", 302),
        _doc("GET", "/ax/claim/signin", 200),
    )
    (event,) = har_events(chain, 4)
    assert event.name == "signin_loop"
    assert event.detail == "POST /account-switcher/default 302 -> GET /home 302 -> GET /ax/claim/signin 200"


@pytest.mark.parametrize(
    "chain",
    [
        # the unified page hands the email to the password page: still signing in
        (_doc("GET", "/ax/claim/signin", 200), _doc("POST", "/ax/claim", 303), _doc("GET", "/ap/signin", 200)),
        # a wrong password shows the password page again, no redirect outside
        (_doc("GET", "/ap/signin", 200), _doc("POST", "/ap/signin", 200)),
        # signed in and home
        (_doc("POST", "/ap/signin", 302), _doc("GET", "/home", 200)),
        # a refused password, then the seller opens Seller Central again: not signed in, so no loop
        (
            _doc("POST", "/ap/signin", 200),
            _doc("GET", "/home", 302),
            _doc("GET", "/ap/signin", 200),
        ),
    ],
)
def test_an_ordinary_sign_in_is_no_loop(chain: tuple[Document, ...]) -> None:
    assert har_events(chain, len(chain) - 1) == ()


def test_a_loop_the_seller_got_past_is_not_where_the_sign_in_stopped() -> None:
    chain = (
        _doc("POST", "/ap/signin", 302),
        _doc("GET", "/home", 302),
        _doc("GET", "/ap/signin", 200),
        _doc("POST", "/ap/signin", 302),
        _doc("GET", "/home", 200),
    )
    assert har_events(chain, 4) == ()


def test_a_document_without_a_response_after_the_last_page_is_a_network_error() -> None:
    chain = (
        _doc("GET", "/ap/signin", 200),
        _doc("POST", "/ap/signin", 0, "net::ERR_CONNECTION_RESET"),
    )
    (event,) = har_events(chain, 0)
    assert (event.name, event.detail) == ("network_error", "net::ERR_CONNECTION_RESET")
    aborted = (_doc("GET", "/ap/signin", 200), _doc("GET", "/home", 0, "net::ERR_ABORTED"))
    assert har_events(aborted, 0) == ()


def test_a_har_of_a_failed_connection_is_network_unreachable(tmp_path: Path) -> None:
    entry = {
        "startedDateTime": "2025-01-01T00:00:00.000Z",
        "_resourceType": "document",
        "request": {"method": "GET", "url": "https://sellercentral.amazon.co.jp/", "headers": []},
        "response": {
            "status": 0,
            "headers": [],
            "content": {"mimeType": "x-unknown"},
            "_error": "net::ERR_NAME_NOT_RESOLVED",
        },
    }
    path = tmp_path / "offline.har"
    path.write_text(json.dumps({"log": {"entries": [entry]}}), encoding="utf-8")
    page = load_saved(path, Redactor())
    assert page.document is None
    assert [(e.name, e.detail) for e in page.events] == [("network_error", "net::ERR_NAME_NOT_RESOLVED")]
    code, result = classify_json(path)
    assert result["verdict"] == "network_unreachable"
    assert code == ExitStatus.MISMATCH


def test_the_otp_seed_is_never_in_a_har(saved: Path) -> None:
    """The seed lives in the seller's app, not in the traffic; a code from it is what the HAR holds."""
    text = (saved / "home.har").read_text(encoding="utf-8")
    assert TOTP_SECRET not in text
    assert any(pyotp.TOTP(TOTP_SECRET).verify(code, valid_window=2) for code in _posted(text, "otpCode"))


# -- showing a saved page: its own files only, nothing sent ---------------------------


class _Listener:
    """A local HTTP server that records every request it gets."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.paths: list[str] = []
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                listener.paths.append(self.path)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_complete_save_uses_its_files_and_nothing_leaves(tmp_path: Path) -> None:
    listener = _Listener()
    elsewhere = f"http://127.0.0.1:{listener.port}"
    url = "https://sellercentral.amazon.co.jp/ap/signin"
    page_html = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        "<link rel='stylesheet' href='./page_files/site.css'>"
        f"<link rel='stylesheet' href='{elsewhere}/remote.css'>"
        f"<meta http-equiv='refresh' content='0; url={elsewhere}/refresh'>"
        "</head><body><h1>ログイン</h1>"
        "<input id='ap_email' name='email'><input id='continue' type='submit'>"
        "<div id='auth-error-message-box' class='kept-hidden'>hidden by the saved stylesheet</div>"
        "<div id='auth-warning-message-box' class='a-hidden'>hidden by the site's utility class</div>"
        "<noscript><p>only without scripts</p></noscript>"
        f"<img src='{elsewhere}/pixel.gif'><iframe src='{elsewhere}/frame'></iframe>"
        "</body></html>"
    )
    path = tmp_path / "page.html"
    path.write_text(_saved_from(page_html, url), encoding="utf-8")
    (tmp_path / "page_files").mkdir()
    (tmp_path / "page_files" / "site.css").write_text(".kept-hidden { display: none }", encoding="utf-8")

    async def read() -> Any:
        from probe.saved import read_saved

        async with BrowserSession() as session:
            return await read_saved(load_saved(path, Redactor()), session, load_profile())

    try:
        signals = run_async(read())
    finally:
        listener.close()
    assert signals.url == url
    assert signals.host == "sellercentral.amazon.co.jp"
    assert {"ap_email", "continue"} <= signals.ids
    assert "auth-error-message-box" not in signals.ids
    assert "auth-warning-message-box" not in signals.ids
    assert signals.text("heading") == "ログイン"
    assert "only without scripts" not in signals.text("body")
    assert listener.paths == []


def test_secrets_shown_on_the_page_are_masked_in_the_output(tmp_path: Path) -> None:
    """A page that shows the typed password and a cookie value: the output carries neither."""
    token = "gZ7kQ2vX9pL4mN8rT1sW6yB3"
    code = "482913"
    entries = [
        {
            "startedDateTime": "2025-01-01T00:00:00.000Z",
            "_resourceType": "document",
            "request": {
                "method": "POST",
                "url": "https://sellercentral.amazon.co.jp/ap/signin",
                "headers": [{"name": "Cookie", "value": f"session-token={token}; i18n-prefs=JPY"}],
                "postData": {
                    "mimeType": "application/x-www-form-urlencoded",
                    "params": [
                        {"name": "email", "value": EMAIL},
                        {"name": "password", "value": PASSWORD},
                        {"name": "otpCode", "value": code},
                    ],
                },
            },
            "response": {
                "status": 200,
                "headers": [{"name": "Set-Cookie", "value": f"session-token={token}; Path=/; Secure"}],
                "content": {
                    "mimeType": "text/html; charset=utf-8",
                    "text": f"<html><head><title>{PASSWORD} {token} {code}</title></head><body>?</body></html>",
                },
            },
        }
    ]
    path = tmp_path / "shows-secrets.har"
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}), encoding="utf-8")
    for args in (("--json",), ()):
        done = run_cli("classify", str(path), *args)
        assert done.returncode == 1, done.stderr
        assert "[REDACTED]" in done.stdout
        for secret in (PASSWORD, token, code):
            assert secret not in done.stdout
